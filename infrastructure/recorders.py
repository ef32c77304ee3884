"""The event store's recorders.

``LogRecorder`` is the application recorder: the log itself. Each event is stored once,
as the bytes of its document (``application.logformat``), at the next position of the
log, with its Merkle leaf. An append is two statements at the driver level: advancing
the log's head (which also serialises appends, on SQLite and PostgreSQL alike, so that
positions commit in order) and inserting the rows. Every read checks each document's
bytes against its leaf, so an edit made behind the service's back is refused where it
is read (``LogIntegrityError``) rather than served.

``CoreAggregateRecorder`` keeps snapshots: the library's recorder, reading with one
Core ``SELECT`` instead of an ORM object per row.

The library's own recorder test suites run against both classes
(tests/integration/test_recorder_contract.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyAggregateRecorder,
    SQLAlchemyApplicationRecorder,
    SQLAlchemyRecorder,
)
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from application.errors import LogIntegrityError
from application.log import DraftedEvent
from application.logformat import leaf_hash
from infrastructure.driver import DriverSql
from infrastructure.tables import event_log, log_head


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _bytes(state: Any) -> bytes:
    return bytes(state) if isinstance(state, memoryview) else state


class CoreAggregateRecorder(SQLAlchemyAggregateRecorder):
    """Snapshots (and any aggregate recorder): the library's, reading with Core."""

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        table: Table = self.events_record_cls.__table__
        c = table.c
        query = select(c.originator_id, c.originator_version, c.topic, c.state).where(c.originator_id == originator_id)
        if gt is not None:
            query = query.where(c.originator_version > gt)
        if lte is not None:
            query = query.where(c.originator_version <= lte)
        query = query.order_by(c.originator_version.desc() if desc else c.originator_version)
        if limit is not None:
            query = query.limit(limit)
        with self.transaction(commit=False) as session:
            return [
                StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=_bytes(row[3]))
                for row in session.execute(query)
            ]


class LogRecorder(SQLAlchemyApplicationRecorder):
    """The log as the event store's application recorder (see the module's notes).
    Notification ids are positions + 1 (the library numbers them from 1)."""

    def __init__(self, datastore: SQLAlchemyDatastore, *, events_table_name: str, schema_name: str | None = None):
        # Not the library's table: the log's own (``infrastructure.tables``).
        SQLAlchemyRecorder.__init__(self, datastore, schema_name=schema_name)
        self.events_table_name = events_table_name
        self.channel_name = events_table_name.replace(".", "_")
        self._has_autoincrementing_ids = True
        self.tables = [event_log, log_head]
        assert datastore.engine is not None
        self.sql = DriverSql(datastore.engine.dialect.name)
        sql = self.sql
        self._advance = sql("UPDATE tutahi_log_head SET size = size + ? WHERE name = 'events' RETURNING size")
        self._insert = sql(
            "INSERT INTO tutahi_event_log (position, originator_id, originator_version, topic, document, leaf) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._selects: dict[tuple[bool, bool, bool, bool], str] = {}

    def create_table(self) -> None:
        super().create_table()
        engine = self.datastore.engine
        assert isinstance(engine, Engine)
        with engine.connect() as connection:
            for statement in (
                "INSERT INTO tutahi_log_head (name, size) SELECT 'events', COALESCE(MAX(position) + 1, 0) "
                "FROM tutahi_event_log WHERE 1 = 1 ON CONFLICT (name) DO NOTHING",
                "INSERT INTO tutahi_log_head (name, size) VALUES ('nodes', 0) ON CONFLICT (name) DO NOTHING",
            ):
                connection.exec_driver_sql(self.sql(statement))
            connection.commit()

    # -- appending -------------------------------------------------------------------

    def _lock_table(self, session: Session) -> None:
        """Advancing the head row is the lock (see ``_insert_stored_events``)."""

    def _notify_channel(self, session: Session) -> None:
        """No notifications: read models are written in the events' own transaction, so
        nothing listens, and an append costs no extra round trip."""

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Any:
        raise NotImplementedError("the log offers no subscriptions: read models are written with the events")

    def _insert_stored_events(self, session: Session, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int]:
        if not stored_events:
            self._notify_channel(session)
            return []
        connection = session.connection()
        size = connection.exec_driver_sql(self._advance, (len(stored_events),)).scalar_one()
        first = int(size) - len(stored_events)
        uuid = self.sql.uuid
        rows = []
        for position, stored in enumerate(stored_events, start=first):
            draft = stored.draft if isinstance(stored, DraftedEvent) else None
            document = draft.placed(position) if draft is not None else stored.state
            rows.append(
                (
                    position,
                    uuid(_uuid(stored.originator_id)),
                    stored.originator_version,
                    stored.topic,
                    document,
                    leaf_hash(document),
                )
            )
        connection.exec_driver_sql(self._insert, rows if len(rows) > 1 else rows[0])
        self._notify_channel(session)
        return [position + 1 for position in range(first, first + len(rows))]

    # -- reading ---------------------------------------------------------------------

    def _select_sql(self, gt: bool, lte: bool, desc: bool, limit: bool) -> str:
        key = (gt, lte, desc, limit)
        sql = self._selects.get(key)
        if sql is None:
            where = ["originator_id = ?"]
            if gt:
                where.append("originator_version > ?")
            if lte:
                where.append("originator_version <= ?")
            order = "DESC" if desc else "ASC"
            sql = self.sql(
                "SELECT position, originator_version, topic, document, leaf FROM tutahi_event_log "
                f"WHERE {' AND '.join(where)} ORDER BY originator_version {order}" + (" LIMIT ?" if limit else "")
            )
            self._selects[key] = sql
        return sql

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        aggregate_id = _uuid(originator_id)
        params: list[Any] = [self.sql.uuid(aggregate_id)]
        for value in (gt, lte):
            if value is not None:
                params.append(value)
        if limit is not None:
            params.append(limit)
        sql = self._select_sql(gt is not None, lte is not None, desc, limit is not None)
        with self.transaction(commit=False) as session:
            rows = session.connection().exec_driver_sql(sql, tuple(params)).fetchall()
        events = []
        for position, version, topic, document, leaf in rows:
            document = _bytes(document)
            if leaf_hash(document) != _bytes(leaf):
                raise LogIntegrityError(position, "the stored event does not match its leaf hash")
            events.append(
                StoredEvent(originator_id=aggregate_id, originator_version=version, topic=topic, state=document)
            )
        return events

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        c = event_log.c
        query = select(c.position, c.originator_id, c.originator_version, c.topic, c.document, c.leaf)
        if start is not None:
            first = start - 1 if inclusive_of_start else start
            query = query.where(c.position >= first)
        if stop is not None:
            query = query.where(c.position <= stop - 1)
        if topics:
            query = query.where(c.topic.in_(topics))
        query = query.order_by(c.position).limit(limit)
        with self.transaction(commit=False) as session:
            rows = session.execute(query).fetchall()
        notifications = []
        for position, originator_id, version, topic, document, leaf in rows:
            document = _bytes(document)
            if leaf_hash(document) != _bytes(leaf):
                raise LogIntegrityError(position, "the stored event does not match its leaf hash")
            notifications.append(
                Notification(
                    id=position + 1,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=document,
                )
            )
        return notifications

    def max_notification_id(self) -> int | None:
        with self.transaction(commit=False) as session:
            size = session.execute(select(log_head.c.size).where(log_head.c.name == "events")).scalar()
        return int(size) if size else None
