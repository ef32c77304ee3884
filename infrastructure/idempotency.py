"""Idempotency records: the first response to a POST with an ``Idempotency-Key``,
written in the same transaction as the events it caused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, Uuid, delete, select

from infrastructure.readmodels import from_us, to_us
from infrastructure.tables import metadata

idempotency_records = Table(
    "tutahi_idempotency",
    metadata,
    Column("holder_id", Uuid, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class IdempotencyRecord:
    holder_id: UUID
    key: str
    request_hash: str
    status: int
    body: str
    headers: dict[str, str]
    created_at: datetime


class SqlIdempotencyStore:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[idempotency_records], checkfirst=True)

    def find(self, holder_id: UUID, key: str) -> IdempotencyRecord | None:
        t = idempotency_records.c
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(idempotency_records).where(t.holder_id == holder_id, t.key == key)).first()
        if row is None:
            return None
        return IdempotencyRecord(
            holder_id=row.holder_id,
            key=row.key,
            request_hash=row.request_hash,
            status=row.status,
            body=row.body,
            headers=json.loads(row.headers),
            created_at=from_us(row.created_us),
        )

    def put(self, tx: Any, record: IdempotencyRecord, *, replacing_before: datetime) -> None:
        """Stores the record in the open transaction ``tx``, replacing an expired one.
        A concurrent first use of the same key makes the transaction fail as a whole."""
        t = idempotency_records.c
        tx.execute(
            delete(idempotency_records).where(
                t.holder_id == record.holder_id, t.key == record.key, t.created_us < to_us(replacing_before)
            )
        )
        tx.execute(
            idempotency_records.insert().values(
                holder_id=record.holder_id,
                key=record.key,
                request_hash=record.request_hash,
                status=record.status,
                body=record.body,
                headers=json.dumps(record.headers, sort_keys=True),
                created_us=to_us(record.created_at),
            )
        )
