"""Idempotency records: the first response to a POST with an ``Idempotency-Key``,
written in the same transaction as the events it caused."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, Uuid, select

from application.errors import KeyInUse
from application.idempotency import IdempotencyRecord, KeptResponse
from infrastructure.driver import DriverSql
from infrastructure.readmodels import from_us, to_us
from infrastructure.store import engine_of
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


class SqlIdempotencyStore:
    """``application.idempotency.IdempotencyStore`` in the event store's database."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[idempotency_records], checkfirst=True)
        self.sql = DriverSql(engine_of(recorder).dialect.name)
        self._put = self.sql(
            "INSERT INTO tutahi_idempotency (holder_id, key, request_hash, status, body, headers, created_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (holder_id, key) DO UPDATE SET "
            "request_hash = excluded.request_hash, status = excluded.status, body = excluded.body, "
            "headers = excluded.headers, created_us = excluded.created_us "
            "WHERE tutahi_idempotency.created_us < ?"
        )

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
            response=KeptResponse(row.status, row.body, json.loads(row.headers)),
            created_at=from_us(row.created_us),
        )

    def put(self, tx: Any, record: IdempotencyRecord, *, replacing_before: datetime) -> None:
        """Stores the record in the open transaction ``tx`` (one statement), replacing an
        expired one. A live record for the same key (a concurrent first use that won)
        fails the whole transaction: nothing it did is recorded."""
        written = (
            tx.connection()
            .exec_driver_sql(
                self._put,
                (
                    self.sql.uuid(record.holder_id),
                    record.key,
                    record.request_hash,
                    record.response.status,
                    record.response.body,
                    json.dumps(record.response.headers, sort_keys=True),
                    to_us(record.created_at),
                    to_us(replacing_before),
                ),
            )
            .rowcount
        )
        if written != 1:
            raise KeyInUse("this Idempotency-Key was just used by another request")
