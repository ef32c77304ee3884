"""The event store: eventsourcing-sqlalchemy on a SQLite file (WAL,
``synchronous=FULL``) or PostgreSQL, chosen by URL, one code path."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

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


STORE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def keep_to_owner(database: str) -> None:
    """A SQLite store's files are the owner's alone (mode 0600): the file is made so before
    SQLite opens it (its write-ahead log and shared-memory files take the file's mode),
    and files an earlier release made 0644 are narrowed."""
    try:
        descriptor = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, STORE_FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(descriptor)  # an empty file is an empty SQLite database
    for suffix in SQLITE_COMPANIONS:
        path = database + suffix
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, STORE_FILE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError:
            continue  # another user's file: it stays as its owner set it


class FairLock:
    """A lock granted in the order it was asked for. Held from a write's first statement
    to its commit, it queues a process's writers on a SQLite file: first come, first
    served, so no writer waits behind many later ones (a plain semaphore lets a thread
    that comes late take it first, and the wait of an unlucky one grows without bound)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder's release(): the lock passes on, still held
        return True

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


class TutahiDatastore(SQLAlchemyDatastore):
    """The library's datastore, with SQLite connections made durable and patient, SQLite
    files kept to their owner, and a SQLite file's writers served in turn (``FairLock``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.write_lock is not None:
            self.write_lock = FairLock()  # type: ignore[assignment]
        engine = self.engine
        if isinstance(engine, Engine) and engine.dialect.name == "sqlite":
            database = engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                keep_to_owner(database)
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


# pg_advisory_lock's key for making tables: any number, the same in every process.
SCHEMA_LOCK = 7_497_245_318_640_001
_opening = threading.local()


@contextmanager
def schema_guard(url: str) -> Iterator[None]:
    """Held while a process opens its stores, which make their tables if missing: on
    PostgreSQL, processes that start at once (a server's workers, servers on several
    hosts) take turns (a session advisory lock on a connection of its own), so that two
    never both find a table missing and both make it, which fails one. Nested uses
    within one thread hold it once; on SQLite it does nothing (one writer at a time)."""
    depth = getattr(_opening, "depth", 0)
    if depth or not url.startswith("postgresql"):
        _opening.depth = depth + 1
        try:
            yield
        finally:
            _opening.depth -= 1
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            connection.commit()
            _opening.depth = 1
            try:
                yield
            finally:
                _opening.depth = 0
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
                connection.commit()
    finally:
        engine.dispose()


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
