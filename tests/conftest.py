"""Fixtures shared by every layer of tests: a ledger per test on each store
(in-memory SQLite, a SQLite file, PostgreSQL), and the partners of a small world."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import pytest
from sqlalchemy import create_engine, text

from application.ledger import Ledger
from domain.values import Actor, ActorRole, PartnerKind
from interfaces.composition import open_ledger

POSTGRES_ENV = "TUTAHI_TEST_POSTGRES_URL"
STORES = ("memory", "sqlite", "postgres")


def postgres_url() -> str:
    """The PostgreSQL test URL, or a skip with the reason (a failure in CI)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} must be set in CI: PostgreSQL tests may not be skipped there")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


REDIS_ENV = "TUTAHI_TEST_REDIS_URL"


def redis_url() -> str:
    """The Redis test URL, or a skip with the reason (a failure in CI)."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{REDIS_ENV} must be set in CI: Redis tests may not be skipped there")
        pytest.skip(f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379)")
    return url


def reset_postgres(url: str) -> None:
    """Drops every table of the test database, so each test starts from nothing."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            names = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            for name in list(names):
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


def store_url_for(kind: str, tmp_path: object) -> str:
    if kind == "memory":
        return "sqlite:///:memory:"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/tutahi.db"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """The URL of an empty store of each kind, in turn."""
    return store_url_for(request.param, tmp_path)


@pytest.fixture
def ledger(store_url: str) -> Iterator[Ledger]:
    app = open_ledger(store_url)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def memory_ledger() -> Iterator[Ledger]:
    """A ledger on an in-memory store, for tests of logic rather than storage."""
    app = open_ledger("sqlite:///:memory:")
    try:
        yield app
    finally:
        app.close()


ADMIN = Actor(ActorRole.ADMIN, UUID("00000000-0000-4000-8000-00000000a0a0"), "Tūtahi operator")
AUDITOR = Actor(ActorRole.AUDITOR, UUID("00000000-0000-4000-8000-00000000a0d1"), "Office of the Auditor-General")
ASSESSOR = Actor(ActorRole.ASSESSOR, UUID("00000000-0000-4000-8000-00000000a0a5"), "Independent Reporting Mechanism")


@dataclass(frozen=True)
class World:
    """Partners of a small world: two agencies, a community organisation, an iwi
    and a civil-society organisation, each as the actor its credential would make."""

    dia: Actor
    msd: Actor
    tpk: Actor
    hui_e: Actor
    iwi: Actor
    tinz: Actor
    assessor: Actor = ASSESSOR


def register(ledger: Ledger, name: str, kind: PartnerKind) -> Actor:
    result = ledger.register_partner(name=name, kind=kind, actor=ADMIN, request_id=f"register-{uuid4()}")
    role = ActorRole.AGENCY if kind is PartnerKind.AGENCY else ActorRole.COMMUNITY
    assert result.created_id is not None
    return Actor(role, result.created_id, name)


def make_world(ledger: Ledger) -> World:
    return World(
        dia=register(ledger, "Department of Internal Affairs", PartnerKind.AGENCY),
        msd=register(ledger, "Ministry of Social Development", PartnerKind.AGENCY),
        tpk=register(ledger, "Te Puni Kōkiri", PartnerKind.AGENCY),
        hui_e=register(ledger, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION),
        iwi=register(ledger, "Ngāti Whātua Ōrākei", PartnerKind.IWI_HAPU),
        tinz=register(ledger, "Transparency International New Zealand", PartnerKind.CIVIL_SOCIETY),
    )


@pytest.fixture
def world(ledger: Ledger) -> World:
    return make_world(ledger)


def record_legacy_action(
    ledger: Ledger,
    commitment_id: UUID,
    *,
    summary: str,
    occurred_on: date,
    partner_ids: Sequence[UUID],
    actor: Actor,
    request_id: str = "legacy-action",
) -> UUID:
    """Records a joint action in the commitment's own stream, as release 0.1.0 did (the
    commitment's own ``JointActionRecorded``), and returns its id. Today's ledger records
    joint actions as aggregates of their own and has no command for this; it still
    applies, shows and takes responses to the actions stores of 0.1.0 hold."""
    commitment = ledger.load_commitment(commitment_id)
    action_id = uuid4()
    commitment._joint_action_recorded(
        action_id=action_id,
        summary=summary,
        occurred_on=occurred_on,
        partner_ids=list(partner_ids),
        evidence_url=None,
        actor=actor,
        request_id=request_id,
    )
    ledger.commit(commitment)
    return action_id
