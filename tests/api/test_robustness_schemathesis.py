"""RL3: schemathesis over the service's own OpenAPI document, every operation, through
the WSGI app, on the SQLite file store and on PostgreSQL.

Each operation gets a bounded number of generated requests (positive and negative
data), sent with real tokens of several roles and, often, real ids in the path so that
requests reach real resources. Every response must not be a 5xx, must have a documented
status code, and must match the documented content type and body schema."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from application.errors import NotFound
from domain.values import ActorRole, PartnerKind
from interfaces.app import create_app
from tests.api.conftest import Callers, create_commitment, ledger_of, named_caller, partner_caller, services_of
from tests.conftest import store_url_for

OPENAPI = "/api/v1/openapi.json"
# Per operation and store; raise it (TUTAHI_FUZZ_EXAMPLES=200) for a deeper run.
EXAMPLES_PER_OPERATION = int(os.environ.get("TUTAHI_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Who sends the request: a role's token, no token, or whatever schemathesis generated.
SENDERS = ("lead", "admin", "support", "community", "auditor", "anonymous", "generated")
# Path parameters: real ids of existing resources, or whatever schemathesis generated.
PATH_CHOICES = ("real", "real", "generated")


@dataclass(frozen=True)
class FuzzService:
    """One app per store for the whole module, its callers and its parsed OpenAPI document."""

    app: Flask
    callers: Callers
    schema: Any


@dataclass(frozen=True)
class FuzzWorld:
    """Real tokens and ids the fuzzer may plug into its requests."""

    app: Flask
    tokens: dict[str, str]
    ids: dict[str, list[str]]


@pytest.fixture(scope="module", params=("sqlite", "postgres"))
def fuzz_service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        {
            "DATABASE_URL": store_url_for(request.param, folder),
            "TESTING": True,
            "INSTANCE_PATH": str(folder / "key"),
            # The fuzzer sends made-up tokens from one address all module long: with the real
            # limit, most of what follows would be 429s (documented, but it would explore less).
            "UNKNOWN_TOKEN_RATE_LIMIT": "100000 per minute",
        }
    )
    try:
        callers = Callers(
            lead=partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY),
            support=partner_caller(app, "Te Puni Kōkiri", PartnerKind.AGENCY),
            other_agency=partner_caller(app, "Ministry of Health", PartnerKind.AGENCY),
            community=partner_caller(app, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION),
            stranger=partner_caller(app, "Ngāti Whātua Ōrākei", PartnerKind.IWI_HAPU),
            auditor=named_caller(app, ActorRole.AUDITOR, "Office of the Auditor-General"),
            assessor=named_caller(app, ActorRole.ASSESSOR, "Independent Reporting Mechanism"),
            admin=named_caller(app, ActorRole.ADMIN, "Tūtahi operator"),
        )
        yield FuzzService(app, callers, schemathesis.openapi.from_wsgi(OPENAPI, app))
    finally:
        services_of(app).close()


@pytest.fixture
def fuzz_world(fuzz_service: FuzzService) -> FuzzWorld:
    """Fresh commitments for each operation (earlier operations may have withdrawn theirs)."""
    app, callers = fuzz_service.app, fuzz_service.callers
    client = app.test_client()
    lead, support, community = callers.lead, callers.support, callers.community
    public = create_commitment(client, lead)
    private = create_commitment(client, lead, visibility="partners", external_ref="NZ0099")
    for commitment in (public, private):
        base = f"/api/v1/commitments/{commitment['id']}"
        for partner, role in ((support, "support"), (community, "community")):
            response = client.post(
                f"{base}/partners", json={"partner_id": str(partner.id), "role": role}, headers=lead.headers
            )
            assert response.status_code == 201, response.get_json()
    base = f"/api/v1/commitments/{public['id']}"
    milestone = client.post(
        f"{base}/milestones", json={"title": "Accord reviewed", "due_on": "2015-06-30"}, headers=lead.headers
    )
    assert milestone.status_code == 201, milestone.get_json()
    action = client.post(
        f"{base}/actions",
        json={"summary": "Hui at Te Papa", "occurred_on": "2015-02-01", "partner_ids": [str(community.id)]},
        headers=lead.headers,
    )
    assert action.status_code == 201, action.get_json()
    plan = client.post(
        "/api/v1/plans",
        json={"name": f"Fuzz plan {uuid4().hex[:8]}", "starts_on": "2014-07-01", "ends_on": "2016-06-30"},
        headers=callers.admin.headers,
    )
    assert plan.status_code == 201, plan.get_json()
    # Tokens the fuzzer may revoke without locking itself out.
    spare = [
        services_of(app).credentials.issue(ActorRole.AUDITOR, name=f"spare {n}", now=datetime.now(UTC)).credential.id
        for n in range(3)
    ]
    return FuzzWorld(
        app=app,
        tokens={
            "admin": callers.admin.token,
            "lead": lead.token,
            "support": support.token,
            "community": community.token,
            "auditor": callers.auditor.token,
        },
        ids={
            "commitment_id": [public["id"], private["id"]],
            "partner_id": [str(lead.id), str(support.id), str(community.id), str(callers.stranger.id)],
            "milestone_id": [milestone.get_json()["id"]],
            "action_id": [action.get_json()["id"]],
            "token_id": [str(token_id) for token_id in spare],
            "plan_id": [plan.get_json()["id"]],
        },
    )


def _operation_labels() -> list[str]:
    """Every operation of the OpenAPI document (read from an app on an in-memory store)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": "sqlite:///:memory:", "TESTING": True, "INSTANCE_PATH": folder})
        try:
            document = app.test_client().get(OPENAPI).get_json()
        finally:
            services_of(app).close()
    return [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "put", "post", "patch", "delete")
    ]


OPERATIONS = _operation_labels()


def aim(case: Any, world: FuzzWorld, sender: str, path_choice: str, pick: int, fresh_etag: bool) -> None:
    """Points the generated case at real resources, with a real token."""
    headers = dict(case.headers or {})
    if sender == "anonymous":
        headers.pop("Authorization", None)
    elif sender != "generated":
        headers["Authorization"] = f"Bearer {world.tokens[sender]}"
    if path_choice == "real" and case.path_parameters:
        for name in list(case.path_parameters):
            if name in world.ids:
                choices = world.ids[name]
                case.path_parameters[name] = choices[pick % len(choices)]
    if fresh_etag and case.path_parameters and "commitment_id" in case.path_parameters:
        try:
            version = ledger_of(world.app).current_version(UUID(str(case.path_parameters["commitment_id"])))
        except (ValueError, NotFound):  # a generated id that names no commitment: keep the generated header
            version = None
        if version is not None:
            headers["If-Match"] = f'"{version}"'
    if fresh_etag and case.path_parameters and "plan_id" in case.path_parameters:
        try:
            version = ledger_of(world.app).plan(UUID(str(case.path_parameters["plan_id"]))).version
        except (ValueError, NotFound):
            version = None
        if version is not None:
            headers["If-Match"] = f'"{version}"'
    case.headers = headers


def test_the_document_has_every_route() -> None:
    assert len(OPERATIONS) >= 22, OPERATIONS


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_conforms(label: str, fuzz_service: FuzzService, fuzz_world: FuzzWorld) -> None:
    method, path = label.split(" ", 1)
    operation = fuzz_service.schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(
        case=cases,
        sender=st.sampled_from(SENDERS),
        path_choice=st.sampled_from(PATH_CHOICES),
        pick=st.integers(min_value=0, max_value=7),
        fresh_etag=st.booleans(),
    )
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any, sender: str, path_choice: str, pick: int, fresh_etag: bool) -> None:
        aim(case, fuzz_world, sender, path_choice, pick, fresh_etag)
        case.call_and_validate(checks=CHECKS)

    run()
    # The service is still up after whatever it was sent.
    assert fuzz_world.app.test_client().get("/healthz").status_code == 200
