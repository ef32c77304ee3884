"""The store's configuration: a ledger on a SQLite file runs every connection in WAL mode
with ``synchronous=FULL``; ``check_durability`` refuses a store that does not; and
``database_url`` picks the URL (given, else ``TUTAHI_DATABASE_URL``, else ``tutahi.db``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from application.ledger import Ledger
from domain.values import PartnerKind
from infrastructure.store import (
    DEFAULT_DATABASE_URL,
    SQLITE_BUSY_TIMEOUT_MS,
    StoreMisconfigured,
    TutahiDatastore,
    check_durability,
    database_url,
    engine_of,
)
from interfaces.composition import open_ledger
from tests.conftest import register

FULL = 2
PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")


def pragmas(connection: Connection) -> dict[str, Any]:
    found = {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in PRAGMAS}
    found["journal_mode"] = str(found["journal_mode"]).lower()
    return found


DURABLE = {"journal_mode": "wal", "synchronous": FULL, "busy_timeout": SQLITE_BUSY_TIMEOUT_MS, "foreign_keys": 1}


def fake_recorder(engine: Engine) -> Any:
    """What ``check_durability`` and ``engine_of`` look at: ``recorder.datastore.engine``."""
    return SimpleNamespace(datastore=SimpleNamespace(engine=engine))


@pytest.fixture
def plain_engine(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Makes plain SQLAlchemy engines on new SQLite files, each connection set up by the
    given statements alone: no project listener."""
    engines: list[Engine] = []

    def make(*statements: str) -> Engine:
        engine = create_engine(f"sqlite:///{tmp_path}/plain-{len(engines)}.db")
        if statements:

            def set_up(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
                for statement in statements:
                    dbapi_connection.execute(statement)

            event.listen(engine, "connect", set_up)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


# -- the ledger on a SQLite file ---------------------------------------------------------


@pytest.fixture
def file_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = open_ledger(f"sqlite:///{tmp_path}/tutahi.db")
    try:
        yield ledger
    finally:
        ledger.close()


def test_ledger_on_a_sqlite_file_is_wal_and_synchronous_full(file_ledger: Ledger, tmp_path: Path) -> None:
    register(file_ledger, "Department of Internal Affairs", PartnerKind.AGENCY)  # a write through the ledger
    engine = engine_of(file_ledger.recorder)
    assert engine.dialect.name == "sqlite"
    assert Path(str(engine.url.database)) == tmp_path / "tutahi.db"

    # Several connections of the pool at once, so that more than one connection is looked at.
    with ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(3)]
        assert len({id(c.connection.dbapi_connection) for c in connections}) == 3
        for connection in connections:
            assert pragmas(connection) == DURABLE

    # And the connection of the ledger's own unit of work, the one its events are written on.
    with file_ledger.transaction() as session:
        assert pragmas(session.connection()) == DURABLE

    assert check_durability(file_ledger.recorder) == {"dialect": "sqlite", "journal_mode": "wal", "synchronous": "2"}


def test_project_listener_overrides_non_durable_connection_defaults(tmp_path: Path) -> None:
    """This SQLite build already defaults to ``synchronous=FULL``, so a check of the value
    alone cannot tell the project's settings from the build's: here every connection is
    made with ``synchronous=OFF``, rollback journal and no busy timeout, and the project's
    datastore must still hand out durable connections."""
    path = tmp_path / "hostile.db"

    def hostile_connection() -> sqlite3.Connection:
        connection = sqlite3.connect(path, check_same_thread=False, timeout=0)
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA journal_mode=DELETE")
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 0
        return connection

    datastore = TutahiDatastore(url=f"sqlite:///{path}", creator=hostile_connection)
    assert isinstance(datastore.engine, Engine)
    try:
        with datastore.engine.connect() as connection:
            assert pragmas(connection) == DURABLE
        check_durability(SimpleNamespace(datastore=datastore))
    finally:
        datastore.engine.dispose()


# -- check_durability ----------------------------------------------------------------------


def test_check_durability_accepts_wal_and_full(plain_engine: Callable[..., Engine]) -> None:
    engine = plain_engine("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")
    assert check_durability(fake_recorder(engine)) == {"dialect": "sqlite", "journal_mode": "wal", "synchronous": "2"}


@pytest.mark.parametrize(("setting", "value"), [("NORMAL", 1), ("OFF", 0)])
def test_check_durability_refuses_synchronous_not_full(
    plain_engine: Callable[..., Engine], setting: str, value: int
) -> None:
    engine = plain_engine("PRAGMA journal_mode=WAL", f"PRAGMA synchronous={setting}")
    with pytest.raises(StoreMisconfigured, match=rf"synchronous is {value}, not FULL"):
        check_durability(fake_recorder(engine))


def test_check_durability_refuses_an_engine_without_the_project_listener(
    plain_engine: Callable[..., Engine],
) -> None:
    """A plain engine on a new file: no WAL (and on builds whose default is not FULL, no
    ``synchronous=FULL`` either). Either way the store is refused."""
    engine = plain_engine()
    with pytest.raises(StoreMisconfigured, match=r"journal_mode is delete, not WAL|synchronous is \d, not FULL"):
        check_durability(fake_recorder(engine))


def test_check_durability_refuses_full_without_wal_on_a_file(plain_engine: Callable[..., Engine]) -> None:
    engine = plain_engine("PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL")
    with pytest.raises(StoreMisconfigured, match="journal_mode is delete, not WAL"):
        check_durability(fake_recorder(engine))


def test_check_durability_leaves_postgresql_alone() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/never")  # never connected
    try:
        assert check_durability(fake_recorder(engine)) == {"dialect": "postgresql"}
    finally:
        engine.dispose()


# -- database_url ----------------------------------------------------------------------------


def test_database_url_prefers_the_given_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTAHI_DATABASE_URL", "sqlite:///from-env.db")
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"


def test_database_url_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTAHI_DATABASE_URL", "sqlite:///from-env.db")
    assert database_url() == "sqlite:///from-env.db"
    assert database_url(None) == "sqlite:///from-env.db"


def test_database_url_defaults_to_tutahi_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTAHI_DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL == "sqlite:///tutahi.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/tutahi", "postgresql+psycopg://u:p@db:5432/tutahi"),
        ("postgres://u@db/tutahi", "postgresql+psycopg://u@db/tutahi"),
        ("postgresql+psycopg://u@db/tutahi", "postgresql+psycopg://u@db/tutahi"),
        ("postgresql+psycopg2://u@db/tutahi", "postgresql+psycopg2://u@db/tutahi"),
        ("sqlite:///postgresql://odd.db", "sqlite:///postgresql://odd.db"),
    ],
)
def test_database_url_means_psycopg_3_by_postgresql(monkeypatch: pytest.MonkeyPatch, given: str, expected: str) -> None:
    monkeypatch.delenv("TUTAHI_DATABASE_URL", raising=False)
    assert database_url(given) == expected


def test_database_url_rewrites_postgresql_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTAHI_DATABASE_URL", "postgresql://u@db/tutahi")
    assert database_url() == "postgresql+psycopg://u@db/tutahi"
