"""The log's side of C2SP *tlog-witness*: when the service makes a checkpoint, it asks
each witness it is configured with to cosign it, sending a consistency proof from the
last size that witness cosigned, and keeps the cosignatures that verify with the
witness's key, to serve them with the checkpoint.

Asking is bounded in time and never holds a transaction: the witnesses are asked in
parallel after the checkpoint is stored, and the service waits for them at most
``deadline`` seconds; a request still open then finishes on its own (within
``request_timeout``), and an answer that comes late is still kept. A witness that did
not cosign the latest checkpoint is asked again when the checkpoint is next read, at
most once per ``retry_after`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import Protocol

from application.notes import COSIGNATURE, Note, NoteError, NoteKey, NoteSignature, b64, decimal, signature_verifies

log = logging.getLogger("tutahi.witnesses")

SIZE_CONTENT_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class WitnessConfig:
    """A witness the log asks: its submission prefix (the log posts to
    ``<url>/add-checkpoint``) and its cosignature verifier key."""

    url: str
    key: NoteKey

    def __post_init__(self) -> None:
        if self.key.kind != COSIGNATURE:
            raise NoteError(f"the witness key {self.key.name} is not a cosignature (type 0x04) verifier key")
        if not self.url.startswith(("http://", "https://")):
            raise NoteError(f"the witness URL {self.url!r} is not an http(s) URL")

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/add-checkpoint"


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: bytes


class WitnessUnreachable(Exception):
    """The witness did not answer (connection refused, timed out...)."""


class WitnessTransport(Protocol):
    def post(self, url: str, body: bytes, timeout: float) -> WitnessAnswer: ...


class CosignatureStore(Protocol):
    """The cosignatures the log has gathered, by tree size and witness (verifier key)."""

    def add(self, tree_size: int, witness: str, line: str) -> None: ...
    def at_size(self, tree_size: int) -> list[str]: ...
    def latest_size(self, witness: str) -> int | None: ...


Consistency = Callable[[int, int], Sequence[bytes]]  # (old size, new size) -> RFC 9162 proof
Verify = Callable[[bytes, bytes, bytes], bool]


def add_checkpoint_body(old: int, proof: Sequence[bytes], note: Note) -> bytes:
    """A tlog-witness ``add-checkpoint`` request body."""
    lines = f"old {old}\n" + "".join(f"{b64(h)}\n" for h in proof) + "\n"
    return lines.encode("ascii") + note.encode()


class Witnesses:
    """Asks the configured witnesses for cosignatures and keeps the valid ones."""

    def __init__(
        self,
        witnesses: Sequence[WitnessConfig],
        store: CosignatureStore,
        transport: WitnessTransport,
        verify: Verify,
        *,
        deadline: float = 5.0,
        request_timeout: float = 30.0,
        retry_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.witnesses = list(witnesses)
        self.store = store
        self.transport = transport
        self.verify = verify
        self.deadline = deadline
        self.request_timeout = max(request_timeout, deadline)
        self.retry_after = retry_after
        self.clock = clock
        self._asked: dict[tuple[str, int], float] = {}  # (witness, size) -> when last asked
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(self.witnesses)), thread_name_prefix="witness")

    def ask(self, note: Note, size: int, consistency: Consistency, only_missing: bool = False) -> None:
        """Asks every witness (or, with ``only_missing``, those that have not cosigned
        this size and were not asked lately) to cosign ``note``, waiting at most the
        deadline for them all."""
        now = self.clock()
        chosen = []
        with self._lock:
            have = set(self._stored_witnesses(size)) if only_missing else set()
            for witness in self.witnesses:
                key = witness.key.verifier_key
                asked = self._asked.get((key, size))
                if only_missing and (key in have or (asked is not None and now - asked < self.retry_after)):
                    continue
                self._asked[(key, size)] = now
                chosen.append(witness)
        if not chosen:
            return
        futures = [self._pool.submit(self._ask_one, witness, note, size, consistency) for witness in chosen]
        wait_for(futures, timeout=self.deadline)

    def cosignatures(self, note: Note, size: int) -> list[NoteSignature]:
        """The stored cosignatures of the checkpoint of ``size`` by configured witnesses
        that verify over ``note``'s text."""
        found = []
        for line in self.store.at_size(size):
            try:
                signature = NoteSignature.parse_line(line.rstrip("\n"))
            except NoteError:
                continue
            for witness in self.witnesses:
                if signature_verifies(witness.key, note.text, signature, self.verify):
                    found.append(signature)
                    break
        return found

    def _stored_witnesses(self, size: int) -> list[str]:
        keys: list[str] = []
        for line in self.store.at_size(size):
            try:
                signature = NoteSignature.parse_line(line.rstrip("\n"))
            except NoteError:
                continue
            keys.extend(w.key.verifier_key for w in self.witnesses if signature.by(w.key))
        return keys

    def _ask_one(self, witness: WitnessConfig, note: Note, size: int, consistency: Consistency) -> bool:
        """One witness, from the size we last saw it cosign; once more from the size it
        says it holds, if that differs (it may have cosigned for another process, or
        lost its state). True if it cosigned."""
        vkey = witness.key.verifier_key
        old = self.store.latest_size(vkey) or 0
        for _ in range(2):
            if old > size:
                log.info("witness %s has cosigned size %d, beyond %d: not asked", witness.key.name, old, size)
                return False
            proof = list(consistency(old, size)) if old else []
            try:
                body = add_checkpoint_body(old, proof, note)
                answer = self.transport.post(witness.endpoint, body, self.request_timeout)
            except WitnessUnreachable as error:
                log.warning("witness %s did not answer: %s", witness.key.name, error)
                return False
            if answer.status == 200:
                return self._keep(witness, note, size, answer.body)
            if answer.status == 409 and answer.content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
                try:
                    held = decimal(answer.body.decode("ascii").strip(), "the witness's size")
                except (NoteError, UnicodeDecodeError):
                    break
                if held == old:
                    break  # same size, another root: the witness has seen another history
                old = held
                continue
            break
        log.warning(
            "witness %s refused the checkpoint at size %d: %s %s",
            witness.key.name,
            size,
            answer.status,
            answer.body[:200].decode("utf-8", "replace").strip(),
        )
        return False

    def _keep(self, witness: WitnessConfig, note: Note, size: int, body: bytes) -> bool:
        kept = False
        try:
            lines = body.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            lines = []
        for line in lines:
            try:
                signature = NoteSignature.parse_line(line)
            except NoteError:
                continue
            if signature_verifies(witness.key, note.text, signature, self.verify):
                self.store.add(size, witness.key.verifier_key, signature.line())
                kept = True
        if not kept:
            log.warning("witness %s answered without a valid cosignature", witness.key.name)
        return kept

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
