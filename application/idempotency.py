"""Idempotency keys: the first response to a POST with an ``Idempotency-Key`` is kept,
in the same transaction as the change it answers, so that a retry gets that response
again instead of making the change twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class KeptResponse:
    """A response as it was sent: status, body (JSON text) and the headers worth keeping."""

    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class IdempotencyRecord:
    holder_id: UUID
    key: str
    request_hash: str
    response: KeptResponse
    created_at: datetime


class IdempotencyStore(Protocol):
    def find(self, holder_id: UUID, key: str) -> IdempotencyRecord | None: ...
    def put(self, tx: Any, record: IdempotencyRecord, *, replacing_before: datetime) -> None: ...


class Idempotency:
    """A request's key, handed to the use case. The use case calls ``keep`` inside its
    transaction with its result; ``respond`` (the caller's) turns the result into the
    response, which is recorded there when it is a success and kept in ``response``."""

    def __init__(
        self,
        holder_id: UUID,
        key: str,
        request_hash: str,
        respond: Callable[[Any], KeptResponse],
        now: datetime,
    ) -> None:
        self.holder_id = holder_id
        self.key = key
        self.request_hash = request_hash
        self.respond = respond
        self.now = now
        self.response: KeptResponse | None = None
        # What of the response is recorded (e.g. without a secret shown only once).
        self.redact: Callable[[KeptResponse], KeptResponse] = lambda response: response

    def keep(self, tx: Any, store: IdempotencyStore, result: Any) -> None:
        response = self.respond(result)
        if response.status < 300:
            record = IdempotencyRecord(self.holder_id, self.key, self.request_hash, self.redact(response), self.now)
            store.put(tx, record, replacing_before=self.now - WINDOW)
        self.response = response

    def earlier(self, store: IdempotencyStore) -> IdempotencyRecord | None:
        """The response kept for this key within the window, if any."""
        record = store.find(self.holder_id, self.key)
        if record is None or record.created_at < self.now - WINDOW:
            return None
        return record
