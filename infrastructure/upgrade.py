"""Upgrading a store written by release 0.1.0.

Release 0.1.0 kept each event twice over: the event store's row (the library's JSON of
the event's attributes) and, in ``tutahi_log``, the leaf hash of the event's document,
a document it recomputed from that row whenever it verified or exported. This release
stores the document's bytes themselves. The upgrade, run when such a store is opened:

1. rebuilds each event's document from its 0.1.0 row exactly as 0.1.0 did (the rules
   are frozen here, apart from today's code), in RFC 8785 form;
2. checks that its leaf is the leaf 0.1.0 stored: if one is not, the store does not
   verify, and the upgrade refuses, changing nothing (upgrading would bury the evidence);
3. writes the documents and leaves into the log, keeps 0.1.0's Merkle nodes above the
   leaves (the tree, its roots and every checkpoint stay as they were), and drops the
   tables the log replaces.

All in one transaction, under a lock, so that it happens once, completely or not at all,
however many processes open the store at the same moment."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import rfc8785
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine

from infrastructure.driver import DriverSql
from infrastructure.store import sqlite_pragmas
from infrastructure.tables import event_log, log_head, merkle_nodes, metadata

Progress = Callable[[int, int], None]
BATCH = 5_000


class UpgradeRefused(RuntimeError):
    """A 0.1.0 store that does not verify: it is left as it was."""


def _plain(value: Any) -> Any:
    """A value of a 0.1.0 row (the library's JSON, with typed values as
    ``{"_type_", "_data_"}``) as 0.1.0's documents showed it."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            kind, data = value["_type_"], value["_data_"]
            if kind == "uuid_hex":
                return str(UUID(hex=data))
            if kind == "datetime_iso":
                return datetime.fromisoformat(data).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return _plain(data)  # dates, enums (their values) and value objects (their fields)
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def document_v010(position: int, aggregate_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The RFC 8785 bytes of the document 0.1.0 made of a stored event."""
    fields = {name: _plain(value) for name, value in json.loads(state).items()}
    class_version = fields.pop("class_version", 1)
    name = topic.rsplit(".", 1)[-1]
    if name == "CommitmentCreated" and class_version < 2:
        fields["visibility"] = "public"  # 0.1.0 upcast version 1, written before visibility
    actor = fields.pop("actor")
    document = {
        "position": position,
        "aggregate_id": str(aggregate_id),
        "aggregate_type": "partner" if name.startswith("PartnerRe") else "commitment",
        "version": version,
        "type": name,
        "recorded_at": fields.pop("timestamp"),
        "actor": {"id": actor["id"], "role": actor["role"], "name": actor["name"]},
        "request_id": fields.pop("request_id"),
        "data": {k: v for k, v in sorted(fields.items()) if k != "originator_topic"},
    }
    return bytes(rfc8785.dumps(document))


def _engine(url: str) -> Engine:
    """An engine whose transactions take the write lock at BEGIN (SQLite) and include
    their DDL, so that the upgrade is one transaction on either store."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def connect(dbapi_connection: Any, record: Any) -> None:
            sqlite_pragmas(dbapi_connection, record)
            dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver

        @event.listens_for(engine, "begin")
        def begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _is_v010(connection: Connection) -> bool:
    found = inspect(connection)
    return found.has_table("tutahi_log") and "notification_id" in {c["name"] for c in found.get_columns("tutahi_log")}


def upgrade_store(url: str, progress: Progress | None = None) -> int:
    """Upgrades the store at ``url`` if release 0.1.0 wrote it; the number of events
    moved into the log (0: nothing to do)."""
    if url.startswith("sqlite") and ":memory:" in url:
        return 0
    engine = _engine(url)
    try:
        with engine.connect() as probe:
            if not _is_v010(probe):
                return 0
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7710322)")
            if not _is_v010(connection):  # another process upgraded it meanwhile
                return 0
            return _upgrade(connection, DriverSql(engine.dialect.name), progress)
    finally:
        engine.dispose()


def _upgrade(connection: Connection, sql: DriverSql, progress: Progress | None) -> int:
    metadata.create_all(connection, tables=[event_log, log_head, merkle_nodes], checkfirst=True)
    total = int(connection.exec_driver_sql("SELECT COUNT(*) FROM tutahi_log").scalar_one())
    rows = connection.exec_driver_sql(
        "SELECT l.position, l.leaf_hash, e.originator_id, e.originator_version, e.topic, e.state "
        "FROM tutahi_log l LEFT JOIN tutahi_events e ON e.id = l.notification_id ORDER BY l.position",
        execution_options={"stream_results": True},
    )
    insert = sql(
        "INSERT INTO tutahi_event_log (position, originator_id, originator_version, topic, document, leaf) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    moved = 0
    while True:
        batch = rows.fetchmany(BATCH)
        if not batch:
            break
        written = []
        for position, leaf_hex, raw_id, version, topic, state in batch:
            if position != moved:
                raise UpgradeRefused(f"the 0.1.0 log has no event at position {moved}; verify it with release 0.1.0")
            if state is None:
                raise UpgradeRefused(f"the 0.1.0 event at position {position} is missing; verify it with release 0.1.0")
            aggregate_id = raw_id if isinstance(raw_id, UUID) else UUID(bytes=bytes(raw_id))
            try:
                document = document_v010(position, aggregate_id, version, topic, bytes(state))
            except (ValueError, KeyError, TypeError, rfc8785.CanonicalizationError) as error:
                raise UpgradeRefused(f"the 0.1.0 event at position {position} cannot be read: {error}") from None
            leaf = hashlib.sha256(b"\x00" + document).digest()
            if leaf.hex() != leaf_hex:
                raise UpgradeRefused(
                    f"the 0.1.0 log does not verify at position {position}: the store was changed after it was "
                    "written; it is left as it was (verify it with release 0.1.0)"
                )
            written.append((position, sql.uuid(aggregate_id), version, topic, document, leaf))
            moved += 1
        connection.exec_driver_sql(insert, written)
        if progress is not None:
            progress(moved, total)
    connection.exec_driver_sql("DELETE FROM tutahi_merkle_nodes WHERE level = 0")  # the leaves are in the log now
    for name, size in (("events", moved), ("nodes", moved)):  # 0.1.0 stored every node as it went
        connection.exec_driver_sql(
            sql("INSERT INTO tutahi_log_head (name, size) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET size = ?"),
            (name, size, size),
        )
    connection.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS rm_timeline_recorded ON rm_timeline (commitment_id, recorded_us)"
    )
    connection.exec_driver_sql("DROP TABLE tutahi_log")
    connection.exec_driver_sql("DROP TABLE tutahi_events")
    return moved
