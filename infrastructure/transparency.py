"""What the transparency log needs from outside: its origin (``TUTAHI_LOG_ORIGIN``), the
witnesses it asks (``TUTAHI_WITNESSES``), the cosignatures it gathered (a table beside
the checkpoints) and an HTTP client for the witnesses' ``add-checkpoint``."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from application.notes import NoteError, NoteKey, check_name
from application.transparency import DEFAULT_ORIGIN
from application.witnessing import WitnessAnswer, WitnessConfig, WitnessUnreachable
from infrastructure.tables import cosignatures, metadata

MAX_ANSWER = 64 * 1024


class SqlCosignatureStore:
    """``application.witnessing.CosignatureStore`` in the store's database."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[cosignatures], checkfirst=True)

    def add(self, tree_size: int, witness: str, line: str) -> None:
        """Keeps a cosignature (the first one kept for a size and witness stays)."""
        try:
            with self.recorder.transaction(commit=True) as session:
                session.execute(cosignatures.insert().values(tree_size=tree_size, witness=witness, line=line))
        except (IntegrityError, StoreIntegrityError):
            pass

    def at_size(self, tree_size: int) -> list[str]:
        query = (
            select(cosignatures.c.line).where(cosignatures.c.tree_size == tree_size).order_by(cosignatures.c.witness)
        )
        with self.recorder.transaction(commit=False) as session:
            return [str(line) for line in session.execute(query).scalars()]

    def latest_size(self, witness: str) -> int | None:
        query = select(func.max(cosignatures.c.tree_size)).where(cosignatures.c.witness == witness)
        with self.recorder.transaction(commit=False) as session:
            found = session.execute(query).scalar()
        return None if found is None else int(found)


class UrllibTransport:
    """``application.witnessing.WitnessTransport`` over the standard library's HTTP."""

    def post(self, url: str, body: bytes, timeout: float) -> WitnessAnswer:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return WitnessAnswer(
                    response.status, response.headers.get("Content-Type", ""), response.read(MAX_ANSWER)
                )
        except urllib.error.HTTPError as error:
            with error:
                return WitnessAnswer(error.code, error.headers.get("Content-Type", ""), error.read(MAX_ANSWER))
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise WitnessUnreachable(str(error)) from None


class TransparencySettingsError(ValueError):
    """``TUTAHI_LOG_ORIGIN`` or ``TUTAHI_WITNESSES`` cannot be used."""


def log_origin(given: str | None = None) -> str:
    """The log's origin: the given one, else ``TUTAHI_LOG_ORIGIN``, else
    ``localhost/tutahi``. It names the log in its checkpoints and its note key."""
    origin = given or os.environ.get("TUTAHI_LOG_ORIGIN") or DEFAULT_ORIGIN
    try:
        return check_name(origin)
    except NoteError as error:
        raise TransparencySettingsError(f"TUTAHI_LOG_ORIGIN: {error}") from None


def witness_settings(given: str | None = None) -> list[WitnessConfig]:
    """The witnesses the given JSON, else ``TUTAHI_WITNESSES``, names: a list of
    ``{"url", "verifier_key"}`` (none when unset or blank)."""
    text = given if given is not None else os.environ.get("TUTAHI_WITNESSES")
    if text is None or not text.strip():
        return []
    try:
        entries = json.loads(text)
    except ValueError as error:
        raise TransparencySettingsError(f"TUTAHI_WITNESSES is not JSON: {error}") from None
    if not isinstance(entries, list):
        raise TransparencySettingsError('TUTAHI_WITNESSES is a JSON list of {"url", "verifier_key"}')
    found = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) != {"url", "verifier_key"}:
            raise TransparencySettingsError(f'witness {number} of TUTAHI_WITNESSES is not {{"url", "verifier_key"}}')
        try:
            found.append(WitnessConfig(str(entry["url"]), NoteKey.parse(str(entry["verifier_key"]))))
        except NoteError as error:
            raise TransparencySettingsError(f"witness {number} of TUTAHI_WITNESSES: {error}") from None
    return found
