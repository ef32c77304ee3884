"""A witness's folder, all it needs, as files:

- ``witness-key.pem``: its Ed25519 key (mode 0600, made by ``tutahi witness init``);
- ``witness.json``: its name and the logs it knows (origin and the log's verifier key);
- ``state.json``: per log, the last checkpoint it cosigned (size and root), replaced
  atomically and flushed to disk before any cosignature leaves the process;
- ``evidence.jsonl``: checkpoints it refused that the log had signed (a split view or a
  broken proof is evidence against the log, worth keeping);
- ``lock``: held by the one process that serves the folder, so there is one writer.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.notes import COSIGNATURE, ED25519, NoteError, NoteKey, check_name
from application.witness import Cosigned
from infrastructure.keys import Ed25519Signer, load_or_create_ed25519

KEY_FILE = "witness-key.pem"
CONFIG_FILE = "witness.json"
STATE_FILE = "state.json"
EVIDENCE_FILE = "evidence.jsonl"
LOCK_FILE = "lock"


class WitnessFolderError(Exception):
    """The folder is not a witness's, or cannot be used as one."""


def _write_durably(path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data``: a new file, flushed, renamed over the old one,
    and the folder flushed, so that a crash leaves the old contents or the new."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise WitnessFolderError(f"cannot read {path}: {error}") from None


class WitnessFolder:
    """The witness whose files are in ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def init(self, name: str, origin: str, log_key: NoteKey) -> NoteKey:
        """Makes the folder a witness named ``name`` (its key made now, or kept) that
        knows the log ``origin`` signed by ``log_key``; returns the witness's key. Run
        again with another origin, it adds that log; it never changes a known one."""
        try:
            check_name(name)
            check_name(origin)
        except NoteError as error:
            raise WitnessFolderError(str(error)) from None
        if log_key.kind != ED25519:
            raise WitnessFolderError("the log's key is a signed-note verifier key of type 0x01 (Ed25519)")
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = _read_json(self.path / CONFIG_FILE) or {"name": name, "logs": {}}
        if config.get("name") != name:
            raise WitnessFolderError(f"{self.path} already holds the witness {config.get('name')!r}")
        known = config["logs"].get(origin)
        if known is not None and known != log_key.verifier_key:
            raise WitnessFolderError(f"{self.path} already knows the log {origin} with another key")
        config["logs"][origin] = log_key.verifier_key
        signer = load_or_create_ed25519(self.path / KEY_FILE)
        _write_durably(self.path / CONFIG_FILE, (json.dumps(config, indent=2, ensure_ascii=False) + "\n").encode())
        return NoteKey(name, COSIGNATURE, signer.public_bytes)

    def _config(self) -> dict[str, Any]:
        config = _read_json(self.path / CONFIG_FILE)
        if not isinstance(config, dict) or not (self.path / KEY_FILE).exists():
            raise WitnessFolderError(f"{self.path} is not a witness's folder (make one with: tutahi witness init)")
        return config

    def logs(self) -> dict[str, NoteKey]:
        """The logs the witness knows: origin -> the log's verifier key."""
        try:
            return {origin: NoteKey.parse(vkey) for origin, vkey in self._config()["logs"].items()}
        except (NoteError, KeyError, AttributeError) as error:
            raise WitnessFolderError(f"{self.path / CONFIG_FILE} is damaged: {error}") from None

    def signer(self) -> Ed25519Signer:
        self._config()
        try:
            return load_or_create_ed25519(self.path / KEY_FILE)
        except ValueError as error:
            raise WitnessFolderError(str(error)) from None

    def key(self) -> NoteKey:
        """The witness's cosignature key (type 0x04) under its name."""
        return NoteKey(str(self._config()["name"]), COSIGNATURE, self.signer().public_bytes)

    def lock(self) -> int:
        """Takes the folder's lock for this process (held until it exits), or refuses if
        another process holds it. Returns the lock's file descriptor."""
        self._config()
        descriptor = os.open(self.path / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise WitnessFolderError(f"another process is serving the witness in {self.path}") from None
        return descriptor


class FileWitnessState:
    """``application.witness.WitnessState`` in the folder's ``state.json`` (read once:
    the process holding the folder's lock is its only writer)."""

    def __init__(self, folder: WitnessFolder) -> None:
        self.folder = folder
        found = _read_json(folder.path / STATE_FILE) or {}
        try:
            self._latest = {
                origin: Cosigned(int(entry["size"]), base64.b64decode(entry["root"], validate=True))
                for origin, entry in found.items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise WitnessFolderError(f"{folder.path / STATE_FILE} is damaged: {error}") from None

    def latest(self, origin: str) -> Cosigned | None:
        return self._latest.get(origin)

    def advance(self, origin: str, cosigned: Cosigned) -> None:
        latest = {**self._latest, origin: cosigned}
        document = {
            name: {"size": entry.size, "root": base64.b64encode(entry.root).decode("ascii")}
            for name, entry in sorted(latest.items())
        }
        _write_durably(self.folder.path / STATE_FILE, (json.dumps(document, indent=2) + "\n").encode())
        self._latest = latest

    def keep_evidence(self, origin: str, reason: str, request: bytes) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(),
            "origin": origin,
            "reason": reason,
            "request": request.decode("utf-8", "replace"),
        }
        descriptor = os.open(self.folder.path / EVIDENCE_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
