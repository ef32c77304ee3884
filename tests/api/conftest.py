"""API fixtures: a Flask app per test on a SQLite file and on PostgreSQL, and tokens
for every role (issued through the application, as ``tutahi tokens issue`` does)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from application.credentials import FeedToken, FeedTokens, MadeWith
from application.ledger import Ledger
from domain.values import ActorRole, PartnerKind
from interfaces.api.http import Services
from interfaces.app import create_app
from tests.conftest import ADMIN, store_url_for


@pytest.fixture(params=("sqlite", "postgres"))
def api_store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    return store_url_for(request.param, tmp_path)


@pytest.fixture
def app(api_store_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {"DATABASE_URL": api_store_url, "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")}
    )
    try:
        yield application
    finally:
        application.extensions["tutahi"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Caller:
    """A token and whose it is."""

    token: str
    role: ActorRole
    id: UUID
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def services_of(app: Flask) -> Services:
    return app.extensions["tutahi"]  # type: ignore[no-any-return]


def partner_caller(app: Flask, name: str, kind: PartnerKind) -> Caller:
    svc = services_of(app)
    result = svc.ledger.register_partner(name=name, kind=kind, actor=ADMIN, request_id="test-register")
    assert result.created_id is not None
    role = ActorRole.AGENCY if kind is PartnerKind.AGENCY else ActorRole.COMMUNITY
    issued = svc.credentials.issue(role, partner_id=result.created_id, now=datetime.now(UTC))
    return Caller(issued.token, role, result.created_id, name)


def named_caller(app: Flask, role: ActorRole, name: str) -> Caller:
    issued = services_of(app).credentials.issue(role, name=name, now=datetime.now(UTC))
    return Caller(issued.token, role, issued.credential.id, name)


@dataclass(frozen=True)
class Callers:
    lead: Caller  # Department of Internal Affairs (agency)
    support: Caller  # Te Puni Kōkiri (agency)
    other_agency: Caller  # Ministry of Health (agency, not a partner of anything yet)
    community: Caller  # Hui E! Community Aotearoa
    stranger: Caller  # Ngāti Whātua Ōrākei (iwi, not a partner of anything yet)
    auditor: Caller
    assessor: Caller  # the OGP's Independent Reporting Mechanism
    admin: Caller


@pytest.fixture
def callers(app: Flask) -> Callers:
    return Callers(
        lead=partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY),
        support=partner_caller(app, "Te Puni Kōkiri", PartnerKind.AGENCY),
        other_agency=partner_caller(app, "Ministry of Health", PartnerKind.AGENCY),
        community=partner_caller(app, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION),
        stranger=partner_caller(app, "Ngāti Whātua Ōrākei", PartnerKind.IWI_HAPU),
        auditor=named_caller(app, ActorRole.AUDITOR, "Office of the Auditor-General"),
        assessor=named_caller(app, ActorRole.ASSESSOR, "Independent Reporting Mechanism"),
        admin=named_caller(app, ActorRole.ADMIN, "Tūtahi operator"),
    )


COMMITMENT = {
    "title": "Review progress of the Kia Tūtahi Relationship Accord",
    "description": "Communities and government standing together.",
    "action_plan": "New Zealand National Action Plan 2014–16",
    "external_ref": "NZ0004",
    "starts_on": "2014-07-01",
    "ends_on": "2016-06-30",
    "ogp_values": ["civic_participation"],
}


def create_commitment(client: FlaskClient, lead: Caller, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/commitments", json={**COMMITMENT, **changes}, headers=lead.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def ledger_of(app: Flask) -> Ledger:
    return services_of(app).ledger


def feed_token_for(app: Flask, caller: Caller) -> tuple[FeedToken, str]:
    """A feed token made with the caller's bearer token (as ``POST /feed-tokens`` makes one)."""
    svc = services_of(app)
    checked = svc.credentials.check(caller.token)
    assert checked is not None
    credential, actor = checked
    return FeedTokens(svc.feed_tokens, svc.credentials).issue(actor, credential, MadeWith.TOKEN, datetime.now(UTC))
