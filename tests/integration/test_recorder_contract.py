"""RL7, the store contract: the eventsourcing library's own recorder test suites
(``eventsourcing.tests.persistence``) run against the event store exactly as Tūtahi
configures it: ``infrastructure.store.TutahiFactory`` (with its ``TutahiDatastore``),
constructed from ``store_env(url)`` under the ledger's application name, so the suites
exercise the ledger's own tables (the log ``tutahi_event_log`` and ``tutahi_log_head``,
``tutahi_snapshots``, and the library's ``tutahi_events`` and ``tutahi_tracking`` for its
other recorder kinds). Each suite runs on

- a fresh SQLite *file* per test; every time a connection is checked out of the engine
  its pragmas are read, and the test fails unless each was in WAL mode with
  ``synchronous=FULL``, the project's busy timeout and ``foreign_keys`` on (the last
  proving that the project's connect listener, not a build default, set them);
- PostgreSQL at ``TUTAHI_TEST_POSTGRES_URL`` (skipped with a reason outside CI when it
  is unset, a failure in CI: the rule of ``tests.conftest.postgres_url``), every table
  of that database dropped before each test.

The application recorder is the log (``infrastructure.recorders.LogRecorder``): its
notification ids are log positions + 1, and it offers no subscriptions on either store
(``test_subscribe_is_not_available`` pins that; the library's optional LISTEN/NOTIFY test
is therefore not run).
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyApplicationRecorder,
    SQLAlchemyProcessRecorder,
    SQLAlchemyTrackingRecorder,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

from infrastructure.recorders import CoreAggregateRecorder, LogRecorder
from infrastructure.store import SQLITE_BUSY_TIMEOUT_MS, TutahiDatastore, TutahiFactory, store_env
from tests.conftest import postgres_url, reset_postgres

APP_NAME = "Tutahi"  # the Ledger application's name: its env prefix and table-name prefix
# journal_mode, synchronous (2 = FULL), busy_timeout, foreign_keys. This SQLite build's defaults
# are already synchronous=FULL and (Python's) a 5 s busy timeout, so foreign_keys=1, which only
# the project's connect listener sets, is what shows that the listener ran on the connection.
PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
EXPECTED_SQLITE_PRAGMAS = ("wal", 2, SQLITE_BUSY_TIMEOUT_MS, 1)


def build_factory(env: Environment) -> TutahiFactory:
    """The infrastructure factory the ledger gets from ``store_env``, built the same way
    ``Application`` builds it (``InfrastructureFactory.construct`` on the environment)."""
    factory = InfrastructureFactory.construct(env)
    assert type(factory) is TutahiFactory, type(factory)
    assert type(factory.datastore) is TutahiDatastore, type(factory.datastore)
    return factory


def factory_engine(factory: InfrastructureFactory[Any]) -> Engine:
    engine = factory.datastore.engine  # type: ignore[attr-defined]
    assert isinstance(engine, Engine)
    return engine


class PragmaWatch:
    """Records the ``PRAGMAS`` of every connection each time it is checked out of the
    engine's pool, i.e. of every connection the recorders use."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[tuple[Any, ...]] = []
        event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                found = tuple(cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS)
            finally:
                cursor.close()
        except Exception as error:  # recorded, so that the test fails on it at teardown
            found = ("error", repr(error))
        self.seen.append((str(found[0]).lower(), *found[1:]))

    def problems(self, *, require_use: bool) -> list[str]:
        seen = list(self.seen)
        problems = [
            f"checkout {i}: {PRAGMAS} = {found}, not {EXPECTED_SQLITE_PRAGMAS}"
            for i, found in enumerate(seen)
            if found != EXPECTED_SQLITE_PRAGMAS
        ]
        if require_use and not seen:
            problems.append("no connection was checked out: the suite did not use the store")
        return problems


# -- where the stores live ------------------------------------------------------------
# Mixins for ``unittest.TestCase`` subclasses (they use ``addCleanup``); not test cases
# themselves, so pytest collects only the concrete ``Test*`` classes below.


class SQLiteFileStore:
    """A fresh SQLite file per test, in a temporary folder removed afterwards; the pragmas
    of every connection checked out of the engine are checked at teardown."""

    require_use = True  # False where a suite's tests may never connect (the factory's mapper tests)

    def open_store(self) -> str:
        folder = tempfile.TemporaryDirectory(prefix="tutahi-rl7-")
        self.addCleanup(folder.cleanup)  # type: ignore[attr-defined]
        return f"sqlite:///{folder.name}/tutahi.db"

    def watch_store(self, factory: InfrastructureFactory[Any]) -> None:
        engine = factory_engine(factory)
        assert engine.dialect.name == "sqlite", engine.url
        assert engine.url.database and engine.url.database.endswith("/tutahi.db"), engine.url
        self._watch = PragmaWatch(engine)

    def check_store(self) -> None:
        problems = self._watch.problems(require_use=self.require_use)
        assert not problems, "SQLite connections not durable as configured:\n" + "\n".join(problems[:20])


@pytest.mark.postgres
class PostgresStore:
    """The PostgreSQL test database, emptied before each test: fresh tables and sequences,
    which the suites need (they expect notification ids to start at 1)."""

    def open_store(self) -> str:
        url = postgres_url()  # a skip with the reason outside CI when unset; a failure in CI
        reset_postgres(url)
        return url

    def watch_store(self, factory: InfrastructureFactory[Any]) -> None:
        assert factory_engine(factory).dialect.name == "postgresql"

    def check_store(self) -> None:
        pass


# -- the suites' set-up, store-independent -----------------------------------------------


class RecorderSuite:
    """For the recorder suites: the store, then the project's factory on it; each
    ``create_recorder()`` asks that factory for the recorder its suite tests."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.url = self.open_store()  # type: ignore[attr-defined]
        self.factory = build_factory(Environment(APP_NAME, store_env(self.url)))
        # Disposed before the store is removed (cleanups run last-in, first-out), and so
        # that no pooled connection blocks the next PostgreSQL test's DROP TABLE.
        self.addCleanup(factory_engine(self.factory).dispose)  # type: ignore[attr-defined]
        self.watch_store(self.factory)  # type: ignore[attr-defined]

    def tearDown(self) -> None:
        try:
            self.check_store()  # type: ignore[attr-defined]
        finally:
            super().tearDown()  # type: ignore[misc]


class EventsRecorder(RecorderSuite):
    """The aggregate-recorder contract on the events table (``tutahi_events``)."""

    def create_recorder(self) -> AggregateRecorder:
        recorder = self.factory.aggregate_recorder("events")
        assert type(recorder) is CoreAggregateRecorder
        return recorder


class SnapshotRecorder(RecorderSuite):
    """The aggregate-recorder contract on the ledger's snapshots table (``tutahi_snapshots``)."""

    def create_recorder(self) -> AggregateRecorder:
        recorder = self.factory.aggregate_recorder("snapshots")
        assert type(recorder) is CoreAggregateRecorder
        return recorder


class ApplicationRecorderOfLedger(RecorderSuite):
    """The application-recorder contract: the recorder the ledger's events and
    notification log go through (``tutahi_events``)."""

    def create_recorder(self) -> SQLAlchemyApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert type(recorder) is LogRecorder
        return recorder


class ProcessRecorderOfLedger(RecorderSuite):
    """The process-recorder contract (``tutahi_events`` with ``tutahi_tracking``)."""

    def create_recorder(self) -> ProcessRecorder:
        recorder = self.factory.process_recorder()
        assert type(recorder) is SQLAlchemyProcessRecorder
        return recorder


class TrackingRecorderOfLedger(RecorderSuite):
    """The tracking-recorder contract (``tutahi_tracking``), what a projection records its position in."""

    def create_recorder(self) -> TrackingRecorder:
        recorder = self.factory.tracking_recorder()
        assert type(recorder) is SQLAlchemyTrackingRecorder
        return recorder


class NonInterleaving(RecorderSuite):
    """Two threads insert a batch of ``insert_num`` (1,000) events each at the same moment:
    each batch's notification ids must form one block, not interleaved with the other's."""

    def create_recorder(self) -> ApplicationRecorder:
        return self.factory.application_recorder()


class TrackingRecorderSubclass(SQLAlchemyTrackingRecorder):
    """For the factory suite: a tracking recorder class given by argument and by topic."""


class FactoryOfLedger:
    """The infrastructure-factory contract for ``TutahiFactory`` on ``store_env(url)``."""

    def setUp(self) -> None:
        self.url = self.open_store()  # type: ignore[attr-defined]
        self.env = Environment(APP_NAME, store_env(self.url))
        super().setUp()  # type: ignore[misc]  # constructs self.factory from self.env, checks its class
        self.addCleanup(factory_engine(self.factory).dispose)  # type: ignore[attr-defined]
        assert type(self.factory.datastore) is TutahiDatastore, type(self.factory.datastore)
        self.watch_store(self.factory)  # type: ignore[attr-defined]

    def tearDown(self) -> None:
        try:
            self.check_store()  # type: ignore[attr-defined]
        finally:
            super().tearDown()  # type: ignore[misc]

    def expected_factory_class(self) -> type[TutahiFactory]:
        return TutahiFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return CoreAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return LogRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLAlchemyTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SQLAlchemyProcessRecorder


# -- SQLite file -----------------------------------------------------------------------


class TestSQLiteFileEventsRecorder(SQLiteFileStore, EventsRecorder, AggregateRecorderTestCase):
    pass


class TestSQLiteFileSnapshotRecorder(SQLiteFileStore, SnapshotRecorder, AggregateRecorderTestCase):
    pass


class TestSQLiteFileApplicationRecorder(
    SQLiteFileStore, ApplicationRecorderOfLedger, ApplicationRecorderTestCase[SQLAlchemyApplicationRecorder]
):
    def test_subscribe_is_not_available(self) -> None:
        """Why ``optional_test_insert_subscribe`` is not run on SQLite: if this starts
        failing, the store has gained subscriptions and that test should run here too."""
        recorder = self.create_recorder()
        with self.assertRaises(NotImplementedError):
            recorder.subscribe(gt=None)

    def test_store_is_the_durable_sqlite_file(self) -> None:
        """The factory's datastore is the project's, on a file (not in memory), and a
        connection of its engine reports WAL and ``synchronous=FULL``."""
        recorder = self.create_recorder()
        recorder.insert_events([])
        datastore = self.factory.datastore
        self.assertIsInstance(datastore, TutahiDatastore)
        self.assertTrue(datastore.is_sqlite_filedb)
        self.assertFalse(datastore.is_sqlite_in_memory_db)
        with factory_engine(self.factory).connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            self.assertEqual(raw.execute("PRAGMA journal_mode").fetchone()[0].lower(), "wal")
            self.assertEqual(raw.execute("PRAGMA synchronous").fetchone()[0], 2)


class TestSQLiteFileProcessRecorder(SQLiteFileStore, ProcessRecorderOfLedger, ProcessRecorderTestCase):
    pass


class TestSQLiteFileTrackingRecorder(SQLiteFileStore, TrackingRecorderOfLedger, TrackingRecorderTestCase):
    pass


class TestSQLiteFileNonInterleaving(SQLiteFileStore, NonInterleaving, NonInterleavingNotificationIDsBaseCase):
    pass


class TestSQLiteFileFactory(SQLiteFileStore, FactoryOfLedger, InfrastructureFactoryTestCase[TutahiFactory]):
    require_use = False  # the mapper tests never connect


# -- PostgreSQL ------------------------------------------------------------------------


class TestPostgresEventsRecorder(PostgresStore, EventsRecorder, AggregateRecorderTestCase):
    pass


class TestPostgresSnapshotRecorder(PostgresStore, SnapshotRecorder, AggregateRecorderTestCase):
    pass


class TestPostgresApplicationRecorder(
    PostgresStore, ApplicationRecorderOfLedger, ApplicationRecorderTestCase[SQLAlchemyApplicationRecorder]
):
    def test_subscribe_is_not_available(self) -> None:
        """Why ``optional_test_insert_subscribe`` is not run: the log offers no
        subscriptions (read models are written in the events' transaction, and appends
        send no NOTIFY). If this starts failing, that test should run here."""
        recorder = self.create_recorder()
        with self.assertRaises(NotImplementedError):
            recorder.subscribe(gt=None)


class TestPostgresProcessRecorder(PostgresStore, ProcessRecorderOfLedger, ProcessRecorderTestCase):
    pass


class TestPostgresTrackingRecorder(PostgresStore, TrackingRecorderOfLedger, TrackingRecorderTestCase):
    pass


class TestPostgresNonInterleaving(PostgresStore, NonInterleaving, NonInterleavingNotificationIDsBaseCase):
    pass


class TestPostgresFactory(PostgresStore, FactoryOfLedger, InfrastructureFactoryTestCase[TutahiFactory]):
    pass


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del InfrastructureFactoryTestCase
del NonInterleavingNotificationIDsBaseCase
del ProcessRecorderTestCase
del TrackingRecorderTestCase
