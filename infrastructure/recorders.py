"""The event store's recorders: eventsourcing-sqlalchemy's, with the statements on the
hot path issued as SQLAlchemy Core statements over the same tables (one compiled
statement, rows as tuples) instead of ORM objects. The library's own recorder test
suites run against these classes (tests/integration/test_recorder_contract.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.recorders import SQLAlchemyAggregateRecorder, SQLAlchemyApplicationRecorder
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session


def _bytes(state: Any) -> bytes:
    return bytes(state) if isinstance(state, memoryview) else state


def select_events_core(
    recorder: SQLAlchemyAggregateRecorder,
    originator_id: UUID | str,
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> list[StoredEvent]:
    """``select_events`` as one Core ``SELECT``: building an ORM object per stored event
    cost more than reading it (an aggregate's load, a cached aggregate's fast-forward)."""
    table: Table = recorder.events_record_cls.__table__
    c = table.c
    query = select(c.originator_id, c.originator_version, c.topic, c.state).where(c.originator_id == originator_id)
    if gt is not None:
        query = query.where(c.originator_version > gt)
    if lte is not None:
        query = query.where(c.originator_version <= lte)
    query = query.order_by(c.originator_version.desc() if desc else c.originator_version)
    if limit is not None:
        query = query.limit(limit)
    with recorder.transaction(commit=False) as session:
        return [
            StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=_bytes(row[3]))
            for row in session.execute(query)
        ]


class CoreEventReads:
    """``select_events`` through ``select_events_core``, for both recorders below."""

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        assert isinstance(self, SQLAlchemyAggregateRecorder)
        return select_events_core(self, originator_id, gt, lte, desc, limit)


class CoreAggregateRecorder(CoreEventReads, SQLAlchemyAggregateRecorder):
    """Snapshots (and any aggregate recorder): the library's, reading with Core."""


class CoreApplicationRecorder(CoreEventReads, SQLAlchemyApplicationRecorder):
    """Events and the notification log: the library's recorder, inserting and reading
    with Core statements. Inserts keep the library's table lock (PostgreSQL: insert
    and commit order agree) and its NOTIFY."""

    def _insert_stored_events(self, session: Session, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int]:
        table: Table = self.events_record_cls.__table__
        self._lock_table(session)
        if not stored_events:
            self._notify_channel(session)
            return []
        rows = [
            {
                "originator_id": e.originator_id,
                "originator_version": e.originator_version,
                "topic": e.topic,
                "state": e.state,
            }
            for e in stored_events
        ]
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = [row[0] for row in session.execute(statement, rows)]
        self._notify_channel(session)
        return ids

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        table: Table = self.events_record_cls.__table__
        c = table.c
        query = select(c.id, c.originator_id, c.originator_version, c.topic, c.state)
        if start is not None:
            query = query.where(c.id >= start if inclusive_of_start else c.id > start)
        if stop is not None:
            query = query.where(c.id <= stop)
        if topics:
            query = query.where(c.topic.in_(topics))
        query = query.order_by(c.id).limit(limit)
        with self.transaction(commit=False) as session:
            return [
                Notification(
                    id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=_bytes(row[4])
                )
                for row in session.execute(query)
            ]
