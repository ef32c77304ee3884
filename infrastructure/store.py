"""The event store: eventsourcing-sqlalchemy on a SQLite file (WAL,
``synchronous=FULL``) or PostgreSQL, chosen by URL, one code path."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from infrastructure.recorders import CoreAggregateRecorder, LogRecorder

DEFAULT_DATABASE_URL = "sqlite:///tutahi.db"
MEMORY_URL = "sqlite:///:memory:"
SQLITE_BUSY_TIMEOUT_MS = 5000


class StoreMisconfigured(RuntimeError):
    """The store does not have the durability settings Tūtahi requires."""


def database_url(given: str | None = None) -> str:
    """The store URL: the given one, else ``TUTAHI_DATABASE_URL``, else ``tutahi.db``
    in the current folder. ``postgresql://`` is taken to mean the psycopg 3 driver."""
    url = given or os.environ.get("TUTAHI_DATABASE_URL") or DEFAULT_DATABASE_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


class TutahiDatastore(SQLAlchemyDatastore):
    """The library's datastore, with SQLite connections made durable and patient."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        engine = self.engine
        if isinstance(engine, Engine) and engine.dialect.name == "sqlite":
            event.listen(engine, "connect", sqlite_pragmas)


class TutahiFactory(SQLAlchemyFactory):
    datastore_class = TutahiDatastore
    aggregate_recorder_class = CoreAggregateRecorder
    application_recorder_class = LogRecorder


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL."""
    return {
        "PERSISTENCE_MODULE": f"{__name__}:TutahiFactory",
        "SQLALCHEMY_URL": url,
        # Aggregates stay cached between requests and are fast-forwarded from the store
        # before each use (so other processes' writes are seen); commands get a copy.
        "AGGREGATE_CACHE_MAXSIZE": "500",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }


def engine_of(recorder: Any) -> Engine:
    engine = recorder.datastore.engine
    assert isinstance(engine, Engine)
    return engine


def check_durability(recorder: Any) -> dict[str, str]:
    """Checks at start that a SQLite file store runs in WAL mode with
    ``synchronous=FULL``; returns what it found."""
    engine = engine_of(recorder)
    if engine.dialect.name != "sqlite":
        return {"dialect": engine.dialect.name}
    with engine.connect() as connection:
        journal = str(connection.execute(text("PRAGMA journal_mode")).scalar())
        synchronous = int(connection.execute(text("PRAGMA synchronous")).scalar() or 0)
    found = {"dialect": "sqlite", "journal_mode": journal, "synchronous": str(synchronous)}
    in_memory = engine.url.database in (None, "", ":memory:")
    if synchronous != 2:
        raise StoreMisconfigured(f"SQLite synchronous is {synchronous}, not FULL (2)")
    if not in_memory and journal.lower() != "wal":
        raise StoreMisconfigured(f"SQLite journal_mode is {journal}, not WAL")
    return found
