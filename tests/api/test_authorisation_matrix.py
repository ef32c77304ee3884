"""RL4: every endpoint × every role × a public and a partners-only commitment, each
answering exactly the status docs/api.md and the README's roles grant, and nothing more.

The tables below are the whole expectation, one row per endpoint and one column per
role; read them against docs/api.md. API paths are written as docs/api.md writes them (under
``/api/v1``, except ``/healthz`` and ``/readyz``); the web pages and feeds have their own
tables (served from the root, the token sent as ``Authorization``). The roles, each with
its own bearer token:

- ``none``: no token at all (the public);
- ``lead``: the agency that created the commitment (Department of Internal Affairs);
- ``supp``: a support agency of it (Te Puni Kōkiri);
- ``othr``: an agency that is not a partner of it (Ministry of Health);
- ``comm``: a community partner of it (Hui E! Community Aotearoa);
- ``strg``: an iwi that is not a partner of it (Ngāti Whātua Ōrākei);
- ``audt``: an auditor; ``asmt``: an independent assessor; ``admn``: an admin.

Every commitment row runs against a commitment built fresh for it (commands change
state): the lead created it, invited the support agency and the community partner, added
a milestone, and recorded a joint action (an aggregate of its own) naming the support
agency and the community partner; the assessor recorded an assessment. ``{community}``
in a path is the community partner's id. A refused command must also record nothing,
and a 404 must not leak the commitment's title.

Not in the tables: the web's sign-in and its CSRF-protected forms (``SESSION_FORMS``),
which take a session cookie rather than a bearer token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from application.ledger import Ledger
from domain.values import (
    Actor,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    PartnerKind,
    PartnerRole,
    Visibility,
)
from interfaces.app import create_app
from tests.api.conftest import Caller, feed_token_for, ledger_of, named_caller, partner_caller, services_of
from tests.conftest import store_url_for

ROLES = ("none", "lead", "supp", "othr", "comm", "strg", "audt", "asmt", "admn")

# fmt: off
# endpoint                                                  none  lead  supp  othr  comm  strg  audt  asmt  admn
PUBLIC: list[tuple[str, int, int, int, int, int, int, int, int, int]] = [
    ("POST /partners",                                          401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("GET /partners",                                           401,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /partners/{community}",                               401,  200,  200,  200,  200,  200,  200,  200,  200),
    ("PATCH /partners/{community}",                             401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("GET /partners/{community}/timeline",                      401,  403,  403,  403,  200,  403,  200,  200,  200),
    ("GET /plans",                                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /plans",                                             401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("GET /plans/{plan}",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("PATCH /plans/{plan}",                                     401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("POST /commitments",                                       401,  201,  201,  201,  403,  403,  403,  403,  403),
    ("GET /commitments",                                        200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("PATCH /commitments/{id}",                                 401,  200,  403,  403,  403,  403,  403,  403,  403),
    ("POST /commitments/{id}/partners",                         401,  201,  403,  403,  403,  403,  403,  403,  403),
    ("DELETE /commitments/{id}/partners/{community}",           401,  200,  403,  403,  200,  403,  403,  403,  403),
    ("POST /commitments/{id}/milestones",                       401,  201,  201,  403,  403,  403,  403,  403,  403),
    ("PATCH /commitments/{id}/milestones/{milestone}",          401,  200,  200,  403,  403,  403,  403,  403,  403),
    ("POST /commitments/{id}/milestones/{milestone}/reached",   401,  200,  200,  403,  403,  403,  403,  403,  403),
    ("POST /commitments/{id}/actions",                          401,  201,  201,  403,  201,  403,  403,  403,  403),
    ("GET /commitments/{id}/actions/{action}",                  200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /commitments/{id}/actions/{action}/withdrawal",      401,  200,  403,  403,  403,  403,  403,  403,  403),
    ("POST /commitments/{id}/actions/{action}/responses",       401,  403,  201,  403,  201,  403,  403,  403,  403),
    ("POST /commitments/{id}/progress",                         401,  201,  403,  403,  403,  403,  403,  403,  403),
    ("GET /commitments/{id}/assessments",                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /commitments/{id}/assessments",                      401,  403,  403,  403,  403,  403,  403,  201,  403),
    ("POST /commitments/{id}/withdrawal",                       401,  200,  403,  403,  403,  403,  403,  403,  403),
    ("GET /commitments/{id}/timeline",                          200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/events",                            401,  200,  200,  403,  200,  403,  200,  200,  200),
    ("GET /commitments/{id}/diff",                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /events",                                             401,  403,  403,  403,  403,  403,  200,  200,  200),
    ("GET /audit/checkpoint",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/checkpoints",                                  200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/public-key",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/proofs/inclusion",                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/proofs/consistency",                           200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /audit/verifications",                               401,  403,  403,  403,  403,  403,  200,  403,  200),
    ("GET /export/events.jsonl",                                401,  403,  403,  403,  403,  403,  200,  200,  200),
    ("GET /export/commitments.csv",                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /export/commitments.json",                            200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /export/milestones.csv",                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /imports",                                           401,  200,  200,  200,  403,  403,  403,  403,  403),
    ("GET /tokens",                                             401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("POST /tokens",                                            401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("DELETE /tokens/{token}",                                  401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("GET /feed-tokens",                                        401,  200,  200,  200,  200,  200,  403,  403,  200),
    ("POST /feed-tokens",                                       401,  201,  201,  201,  201,  201,  403,  403,  403),
    ("DELETE /feed-tokens/{feed}",                              401,  404,  404,  404,  200,  404,  403,  403,  200),
    ("GET /healthz",                                            200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /readyz",                                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /openapi.json",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /docs",                                               200,  200,  200,  200,  200,  200,  200,  200,  200),
]

# The same endpoints when the commitment is partners-only: to the public and to
# non-partners it does not exist (404), except that a command still needs a token first.
# endpoint                                                  none  lead  supp  othr  comm  strg  audt  asmt  admn
PARTNERS_ONLY: list[tuple[str, int, int, int, int, int, int, int, int, int]] = [
    ("POST /partners",                                          401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("GET /partners",                                           401,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /partners/{community}",                               401,  200,  200,  200,  200,  200,  200,  200,  200),
    ("PATCH /partners/{community}",                             401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("GET /partners/{community}/timeline",                      401,  403,  403,  403,  200,  403,  200,  200,  200),
    ("GET /plans",                                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /plans",                                             401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("GET /plans/{plan}",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("PATCH /plans/{plan}",                                     401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("POST /commitments",                                       401,  201,  201,  201,  403,  403,  403,  403,  403),
    ("GET /commitments",                                        200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}",                                   404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("PATCH /commitments/{id}",                                 401,  200,  403,  404,  403,  404,  403,  403,  403),
    ("POST /commitments/{id}/partners",                         401,  201,  403,  404,  403,  404,  403,  403,  403),
    ("DELETE /commitments/{id}/partners/{community}",           401,  200,  403,  404,  200,  404,  403,  403,  403),
    ("POST /commitments/{id}/milestones",                       401,  201,  201,  404,  403,  404,  403,  403,  403),
    ("PATCH /commitments/{id}/milestones/{milestone}",          401,  200,  200,  404,  403,  404,  403,  403,  403),
    ("POST /commitments/{id}/milestones/{milestone}/reached",   401,  200,  200,  404,  403,  404,  403,  403,  403),
    ("POST /commitments/{id}/actions",                          401,  201,  201,  404,  201,  404,  403,  403,  403),
    ("GET /commitments/{id}/actions/{action}",                  404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("POST /commitments/{id}/actions/{action}/withdrawal",      401,  200,  403,  404,  403,  404,  403,  403,  403),
    ("POST /commitments/{id}/actions/{action}/responses",       401,  403,  201,  404,  201,  404,  403,  403,  403),
    ("POST /commitments/{id}/progress",                         401,  201,  403,  404,  403,  404,  403,  403,  403),
    ("GET /commitments/{id}/assessments",                       404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("POST /commitments/{id}/assessments",                      401,  403,  403,  403,  403,  403,  403,  201,  403),
    ("POST /commitments/{id}/withdrawal",                       401,  200,  403,  404,  403,  404,  403,  403,  403),
    ("GET /commitments/{id}/timeline",                          404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /commitments/{id}/events",                            401,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /commitments/{id}/diff",                              404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /events",                                             401,  403,  403,  403,  403,  403,  200,  200,  200),
    ("GET /audit/checkpoint",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/checkpoints",                                  200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/public-key",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/proofs/inclusion",                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /audit/proofs/consistency",                           200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /audit/verifications",                               401,  403,  403,  403,  403,  403,  200,  403,  200),
    ("GET /export/events.jsonl",                                401,  403,  403,  403,  403,  403,  200,  200,  200),
    ("GET /export/commitments.csv",                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /export/commitments.json",                            200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /export/milestones.csv",                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("POST /imports",                                           401,  200,  200,  200,  403,  403,  403,  403,  403),
    ("GET /tokens",                                             401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("POST /tokens",                                            401,  403,  403,  403,  403,  403,  403,  403,  201),
    ("DELETE /tokens/{token}",                                  401,  403,  403,  403,  403,  403,  403,  403,  200),
    ("GET /feed-tokens",                                        401,  200,  200,  200,  200,  200,  403,  403,  200),
    ("POST /feed-tokens",                                       401,  201,  201,  201,  201,  201,  403,  403,  403),
    ("DELETE /feed-tokens/{feed}",                              401,  404,  404,  404,  200,  404,  403,  403,  200),
    ("GET /healthz",                                            200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /readyz",                                             200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /openapi.json",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /docs",                                               200,  200,  200,  200,  200,  200,  200,  200,  200),
]

# The web pages and feeds: public commitments need no token; a partners-only one is a 404
# to whoever may not see it.
# page                                                      none  lead  supp  othr  comm  strg  audt  asmt  admn
PAGES_PUBLIC: list[tuple[str, int, int, int, int, int, int, int, int, int]] = [
    ("GET /",                                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}",                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/history",                           200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/diff",                              200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /plans/{plan}",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /partners/{community}",                               200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/feed.atom",                         200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/milestones.ics",                    200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /log/checkpoint",                                     200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /log/tile/{tile}",                                    200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /log/tile/entries/{bundle}",                          401,  403,  403,  403,  403,  403,  200,  200,  200),
]
PAGES_PARTNERS_ONLY: list[tuple[str, int, int, int, int, int, int, int, int, int]] = [
    ("GET /",                                                   200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}",                                   404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /commitments/{id}/history",                           404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /commitments/{id}/diff",                              404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /plans/{plan}",                                       200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /partners/{community}",                               200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /commitments/{id}/feed.atom",                         404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /commitments/{id}/milestones.ics",                    404,  200,  200,  404,  200,  404,  200,  200,  200),
    ("GET /log/checkpoint",                                     200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /log/tile/{tile}",                                    200,  200,  200,  200,  200,  200,  200,  200,  200),
    ("GET /log/tile/entries/{bundle}",                          401,  403,  403,  403,  403,  403,  200,  200,  200),
]

# Whether the commitment appears in GET /commitments (and on the web's plan and partner
# pages) for each role.
# visibility                                    none   lead  supp  othr   comm  strg   audt  asmt  admn
LISTED: list[tuple[str, bool, bool, bool, bool, bool, bool, bool, bool, bool]] = [
    ("public",                                      True,  True, True, True,  True, True,  True, True, True),
    ("partners",                                    False, True, True, False, True, False, True, True, True),
]
# fmt: on

TABLES = {"public": PUBLIC, "partners": PARTNERS_ONLY}
PAGES = {"public": PAGES_PUBLIC, "partners": PAGES_PARTNERS_ONLY}
SESSION_FORMS = {
    "GET /signin",
    "POST /signin",
    "POST /signout",
    "POST /commitments/{id}/actions/{action}/response",
    "POST /feeds",
    "POST /feeds/{token}/revocation",
}

# Who may do what is decided above the store, so the status matrix runs on the SQLite
# file store (set TUTAHI_RL4_ALL_STORES=1 to run it on PostgreSQL too: about twice the
# time). What a list or timeline shows is filtered in SQL, so that runs on both stores.
ALL_STORES = ("sqlite", "postgres")
MATRIX_STORES = ALL_STORES if os.environ.get("TUTAHI_RL4_ALL_STORES") else ("sqlite",)
UNVERSIONED = {"/healthz", "/readyz"}  # served outside /api/v1
QUERIES = {
    "DELETE /commitments/{id}/partners/{community}": "?reason=RL4",
    "GET /commitments/{id}/diff": "?from=1&to=2",
    "GET /audit/proofs/inclusion": "?position=0&tree_size=2",
    "GET /audit/proofs/consistency": "?first=1&second=2",
}
WEB_QUERIES = {"GET /commitments/{id}/diff": "?from=1&to=2"}
PLAN_NAME = "New Zealand National Action Plan 2014–16"  # the scenes' commitments' plan


def cases() -> list[Any]:
    found = []
    for surface, tables in (("api", TABLES), ("web", PAGES)):
        for visibility, table in tables.items():
            for endpoint, *statuses in table:
                for role, status in zip(ROLES, statuses, strict=True):
                    found.append(
                        pytest.param(
                            visibility, surface, endpoint, role, status, id=f"{visibility}|{surface}|{endpoint}|{role}"
                        )
                    )
    return found


def test_the_tables_cover_every_route_of_the_service(tmp_path: Path) -> None:
    """A route added to the service but not to the tables fails here."""
    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    try:
        api_routes, web_routes = set(), set()
        for rule in app.url_map.iter_rules():
            if rule.endpoint.endswith("static") or "/docs/assets/" in rule.rule:
                continue
            path = rule.rule.replace("<uuid:commitment_id>", "{id}").replace("<uuid:milestone_id>", "{milestone}")
            path = path.replace("<uuid:action_id>", "{action}").replace("<uuid:token_id>", "{token}")
            path = path.replace("<uuid:partner_id>", "{community}").replace("<uuid:feed_token_id>", "{feed}")
            path = path.replace("<uuid:plan_id>", "{plan}")
            path = path.replace("/entries/<path:path>", "/entries/{bundle}").replace("<path:path>", "{tile}")
            on_api = path.startswith("/api/v1/") or path in UNVERSIONED
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                if on_api:
                    api_routes.add(f"{method} {path.removeprefix('/api/v1')}")
                else:
                    web_routes.add(f"{method} {path}")
    finally:
        app.extensions["tutahi"].close()
    for table in TABLES.values():
        assert [row[0] for row in table] == [row[0] for row in PUBLIC]
        assert {row[0] for row in table} == api_routes
    for table in PAGES.values():
        assert {row[0] for row in table} | SESSION_FORMS == web_routes


# -- the world: one service per store, tokens for every role ------------------------------


@dataclass(frozen=True)
class Matrix:
    app: Flask
    client: FlaskClient
    callers: dict[str, Caller]
    shared: dict[str, Scene]  # read-only scenes, one per visibility
    refusals: dict[str, Scene]  # scenes for commands that must be refused, one per visibility
    plan: UUID  # the plan the scenes' commitments belong to (by its name)

    @property
    def ledger(self) -> Ledger:
        return ledger_of(self.app)


@dataclass(frozen=True)
class Scene:
    """A commitment with a lead, a support agency, a community partner, a milestone and
    a joint action (recorded by the lead, naming the support agency and the community)."""

    commitment_id: UUID
    milestone_id: UUID
    action_id: UUID
    version: int
    title: str


def actor_of(caller: Caller) -> Actor:
    return Actor(caller.role, caller.id, caller.name)


def build_scene(matrix: Matrix, visibility: str) -> Scene:
    ledger, people = matrix.ledger, matrix.callers
    lead = actor_of(people["lead"])
    title = f"Matrix commitment {uuid4().hex[:8]}"
    created = ledger.create_commitment(
        title=title,
        description="Built for one row of the authorisation matrix.",
        action_plan="New Zealand National Action Plan 2014–16",
        external_ref="NZ-RL4",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.CIVIC_PARTICIPATION],
        visibility=Visibility(visibility),
        actor=lead,
        request_id="rl4-setup",
    )
    commitment_id = created.aggregate_id
    for who, role in (("supp", PartnerRole.SUPPORT), ("comm", PartnerRole.COMMUNITY)):
        ledger.add_partner(commitment_id, partner_id=people[who].id, role=role, actor=lead, request_id="rl4-setup")
    milestone = ledger.add_milestone(
        commitment_id, title="Accord reviewed", due_on=date(2016, 3, 31), actor=lead, request_id="rl4-setup"
    )
    action = ledger.record_joint_action(
        commitment_id,
        summary="Hui on the accord review",
        occurred_on=date(2015, 9, 12),
        partner_ids=[people["supp"].id, people["comm"].id],
        actor=lead,
        request_id="rl4-setup",
    )
    assessed = ledger.record_assessment(
        commitment_id,
        stage=AssessmentStage.MID_TERM,
        assessed_on=date(2015, 12, 1),
        completion=Completion.LIMITED,
        actor=actor_of(people["asmt"]),
        request_id="rl4-setup",
    )
    assert milestone.created_id is not None and action.created_id is not None
    return Scene(commitment_id, milestone.created_id, action.created_id, assessed.version, title)


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """One service per store for the whole module (each row builds what it needs)."""
    folder = tmp_path_factory.mktemp("rl4")
    url = store_url_for(request.param, folder)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(folder / "instance")})
    try:
        people: dict[str, Caller] = {
            "lead": partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY),
            "supp": partner_caller(app, "Te Puni Kōkiri", PartnerKind.AGENCY),
            "othr": partner_caller(app, "Ministry of Health", PartnerKind.AGENCY),
            "comm": partner_caller(app, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION),
            "strg": partner_caller(app, "Ngāti Whātua Ōrākei", PartnerKind.IWI_HAPU),
            "audt": named_caller(app, ActorRole.AUDITOR, "Office of the Auditor-General"),
            "asmt": named_caller(app, ActorRole.ASSESSOR, "Independent Reporting Mechanism"),
            "admn": named_caller(app, ActorRole.ADMIN, "Tūtahi operator"),
        }
        plan = ledger_of(app).create_plan(
            name=PLAN_NAME,
            starts_on=date(2014, 7, 1),
            ends_on=date(2016, 6, 30),
            actor=actor_of(people["admn"]),
            request_id="rl4-plan",
        )
        world = Matrix(app, app.test_client(), people, {}, {}, plan.aggregate_id)
        for visibility in TABLES:
            world.shared[visibility] = build_scene(world, visibility)
        yield world
    finally:
        app.extensions["tutahi"].close()


# -- one request per endpoint ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    data: str | None = None  # a body other than JSON (its Content-Type in headers)


def request_for(endpoint: str, matrix: Matrix, scene: Scene | None, visibility: str, role: str, surface: str) -> Call:
    """The request a caller in ``role`` makes to ``endpoint``: valid in every way except,
    perhaps, who is asking."""
    people = matrix.callers
    community = str(people["comm"].id)
    method, template = endpoint.split(" ")
    ids = {"community": community, "tile": "0/000.p/1", "bundle": "000.p/1"}
    if scene is not None:
        ids |= {"id": str(scene.commitment_id), "milestone": str(scene.milestone_id), "action": str(scene.action_id)}
    if "{token}" in template:
        issued = services_of(matrix.app).credentials.issue(
            ActorRole.AUDITOR, name=f"Auditor to revoke {uuid4().hex[:8]}", now=datetime.now(UTC)
        )
        ids["token"] = str(issued.credential.id)
    if "{plan}" in template:  # a command changes a plan of its own; reads read the scenes' plan
        ids["plan"] = str(matrix.plan if method == "GET" else fresh_plan(matrix))
    if "{feed}" in template:  # a feed token of the community partner, made with its token
        ids["feed"] = str(feed_token_for(matrix.app, people["comm"])[0].id)
    path = template.format(**ids)
    if surface == "api" and template not in UNVERSIONED:
        path = "/api/v1" + path
    bodies: dict[str, dict[str, Any]] = {
        "POST /partners": {"name": f"Partner by {role} {uuid4().hex[:6]}", "kind": "civil_society"},
        "POST /commitments": {
            "title": f"Created by {role}",
            "action_plan": "New Zealand National Action Plan 2016–18",
            "external_ref": "NZ-RL4-NEW",
            "starts_on": "2016-07-01",
            "ends_on": "2018-06-30",
            "visibility": visibility,
        },
        "PATCH /commitments/{id}": {"title": f"Amended by {role}", "reason": "RL4"},
        "POST /commitments/{id}/partners": {"partner_id": str(people["strg"].id), "role": "community"},
        "POST /commitments/{id}/milestones": {"title": f"Milestone by {role}", "due_on": "2016-05-01"},
        "POST /commitments/{id}/milestones/{milestone}/reached": {"reached_on": "2016-02-01"},
        "POST /commitments/{id}/actions": {
            "summary": f"Workshop recorded by {role}",
            "occurred_on": "2015-10-01",
            "partner_ids": [community, str(people["supp"].id)],
        },
        "POST /commitments/{id}/actions/{action}/withdrawal": {"reason": "RL4"},
        "PATCH /commitments/{id}/milestones/{milestone}": {"due_on": "2016-04-30", "reason": "RL4"},
        "POST /commitments/{id}/assessments": {
            "stage": "mid_term",
            "assessed_on": "2015-12-01",
            "completion": "limited",
            "did_it_open_government": "marginal",
        },
        "PATCH /partners/{community}": {"name": f"Hui E! Community Aotearoa {uuid4().hex[:6]}", "reason": "RL4"},
        "POST /commitments/{id}/actions/{action}/responses": {"response": "confirmed"},
        "POST /commitments/{id}/progress": {"completion": "substantial", "note": "Most of it is done."},
        "POST /commitments/{id}/withdrawal": {"reason": "RL4"},
        "POST /tokens": {"role": "auditor", "name": f"Auditor issued by {role} {uuid4().hex[:6]}"},
        "POST /feed-tokens": {"expires_in_days": 30},
        "POST /plans": {
            "name": f"Plan by {role} {uuid4().hex[:6]}",
            "starts_on": "2018-07-01",
            "ends_on": "2020-06-30",
        },
        "PATCH /plans/{plan}": {"status": "adopted", "reason": "RL4"},
    }
    headers: dict[str, str] = {}
    if method == "PATCH" and scene is not None:  # the commitment's version (a milestone is part of it)
        headers["If-Match"] = f'"{scene.version}"'
    if "{plan}" in template and method == "PATCH":  # a fresh plan is at version 1
        headers["If-Match"] = '"1"'
    if surface == "web":
        return Call(method, path + WEB_QUERIES.get(endpoint, ""))
    path += QUERIES.get(endpoint, "")
    if endpoint == "POST /imports":  # a new commitment, led by the importing agency
        headers["Content-Type"] = "text/csv"
        data = (
            "external_ref,title,action_plan,starts_on,ends_on\r\n"
            f"NZ-RL4-IMPORT-{uuid4().hex[:8]},Imported by {role},New Zealand National Action Plan 2016–18,"
            "2016-07-01,2018-06-30\r\n"
        )
        return Call(method, path, None, headers, data)
    return Call(method, path, bodies.get(endpoint), headers)


def fresh_plan(matrix: Matrix) -> UUID:
    """A plan of its own for a command on a plan (at version 1)."""
    made = matrix.ledger.create_plan(
        name=f"RL4 plan {uuid4().hex[:8]}",
        starts_on=date(2018, 7, 1),
        ends_on=date(2020, 6, 30),
        actor=actor_of(matrix.callers["admn"]),
        request_id="rl4-plan",
    )
    return made.aggregate_id


def send(matrix: Matrix, call: Call, role: str) -> TestResponse:
    headers = dict(call.headers or {})
    if role != "none":
        headers |= matrix.callers[role].headers
    if call.data is not None:
        return matrix.client.open(call.path, method=call.method, data=call.data.encode(), headers=headers)
    return matrix.client.open(call.path, method=call.method, json=call.body, headers=headers)


def refusal_scene(matrix: Matrix, visibility: str) -> Scene:
    """A scene shared by the rows whose command must be refused (a refusal records
    nothing, so they all see the same state); rebuilt if a row broke that promise."""
    scene = matrix.refusals.get(visibility)
    admin = actor_of(matrix.callers["admn"])
    if scene is None or matrix.ledger.current_version(scene.commitment_id, admin) != scene.version:
        scene = matrix.refusals[visibility] = build_scene(matrix, visibility)
    return scene


@pytest.mark.parametrize("matrix", MATRIX_STORES, indirect=True)
@pytest.mark.parametrize(("visibility", "surface", "endpoint", "role", "expected"), cases())
def test_each_role_gets_exactly_what_api_md_grants(
    matrix: Matrix, visibility: str, surface: str, endpoint: str, role: str, expected: int
) -> None:
    changes_state = not endpoint.startswith("GET ")
    scene: Scene | None = None
    if "{id}" in endpoint:
        if not changes_state:
            scene = matrix.shared[visibility]
        elif expected < 400:
            scene = build_scene(matrix, visibility)  # this command will change it
        else:
            scene = refusal_scene(matrix, visibility)

    call = request_for(endpoint, matrix, scene, visibility, role, surface)
    response = send(matrix, call, role)

    assert response.status_code == expected, (response.status_code, response.get_data(as_text=True)[:500])
    if expected >= 400 and surface == "api":
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == expected and {"type", "title", "detail"} <= set(problem)
    if expected == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if scene is not None and expected >= 400:
        assert scene.title not in response.get_data(as_text=True), "a refusal must not leak the commitment"
        if changes_state:
            assert matrix.ledger.current_version(scene.commitment_id, actor_of(matrix.callers["admn"])) == (
                scene.version
            ), "a refused command recorded something"
    if "{plan}" in endpoint and changes_state:
        plan_id = UUID(call.path.split("/plans/")[1].split("?")[0])
        assert matrix.ledger.plan(plan_id).version == (1 if expected >= 400 else 2), "a refused command recorded"
    if scene is not None and expected < 300 and not changes_state:
        shown = (
            "Accord reviewed"
            if endpoint.endswith(".ics")
            else scene.title
            if surface == "web"
            else "Independent Reporting Mechanism"
            if endpoint.endswith("/assessments")
            else scene.commitment_id
        )
        assert str(shown) in response.get_data(as_text=True)


def listed_cases() -> list[Any]:
    return [
        pytest.param(visibility, role, listed, id=f"{visibility}|{role}")
        for visibility, *flags in LISTED
        for role, listed in zip(ROLES, flags, strict=True)
    ]


@pytest.mark.parametrize("matrix", ALL_STORES, indirect=True)
@pytest.mark.parametrize(("visibility", "role", "listed"), listed_cases())
def test_lists_and_timelines_show_a_commitment_only_to_those_who_may_see_it(
    matrix: Matrix, visibility: str, role: str, listed: bool
) -> None:
    scene = matrix.shared[visibility]
    headers = matrix.callers[role].headers if role != "none" else {}

    found = matrix.client.get(f"/api/v1/commitments?q={scene.title.split()[-1]}&limit=1000", headers=headers)
    assert found.status_code == 200
    assert (str(scene.commitment_id) in [item["id"] for item in found.get_json()["items"]]) is listed
    community = matrix.callers["comm"].id
    by_partner = matrix.client.get(f"/api/v1/commitments?partner_id={community}&limit=1000", headers=headers)
    assert (str(scene.commitment_id) in [item["id"] for item in by_partner.get_json()["items"]]) is listed
    for export in ("commitments.csv", "commitments.json", "milestones.csv"):
        exported = matrix.client.get(f"/api/v1/export/{export}", headers=headers).get_data(as_text=True)
        shown = str(scene.milestone_id) if export == "milestones.csv" else str(scene.commitment_id)
        assert (shown in exported) is listed, export
    words = f"q={scene.title.split()[-1]}"
    assert (scene.title in matrix.client.get(f"/?{words}", headers=headers).get_data(as_text=True)) is listed
    partner_page = matrix.client.get(f"/partners/{community}", headers=headers).get_data(as_text=True)
    assert (scene.title in partner_page) is listed
    plan_page = matrix.client.get(f"/plans/{matrix.plan}", headers=headers).get_data(as_text=True)
    assert (scene.title in plan_page) is listed
    # The plan's roll-up counts what the caller may see: every public commitment of the
    # plan, and the partners-only ones only for those who may see them.
    rollup = matrix.client.get(f"/api/v1/plans/{matrix.plan}", headers=headers).get_json()
    visible = matrix.client.get(f"/api/v1/commitments?action_plan={PLAN_NAME}&limit=1000", headers=headers).get_json()[
        "items"
    ]
    assert rollup["commitments"] == len(visible)
    if role in ("comm", "audt", "asmt", "admn"):
        # The community partner's own timeline: those who may read it see the commitment's entries.
        timeline = matrix.client.get(f"/api/v1/partners/{community}/timeline?limit=1000", headers=headers)
        assert timeline.status_code == 200
        assert str(scene.commitment_id) in [entry["commitment_id"] for entry in timeline.get_json()["items"]]


@pytest.mark.parametrize("matrix", ALL_STORES, indirect=True)
def test_the_per_row_scene_is_what_the_tables_assume(matrix: Matrix) -> None:
    """The tables rest on the scene: check it once through the API itself."""
    scene = build_scene(matrix, "partners")
    people = matrix.callers
    got = matrix.client.get(f"/api/v1/commitments/{scene.commitment_id}", headers=people["admn"].headers).get_json()
    roles = {p["id"]: p["role"] for p in got["partners"]}
    assert roles == {
        str(people["lead"].id): "lead",
        str(people["supp"].id): "support",
        str(people["comm"].id): "community",
    }
    assert got["visibility"] == "partners" and got["version"] == scene.version
    assert [m["id"] for m in got["milestones"]] == [str(scene.milestone_id)]
    (action,) = got["actions"]
    assert action["id"] == str(scene.action_id) and action["recorded_by"] == str(people["lead"].id)
    assert sorted(action["partner_ids"]) == sorted([str(people["supp"].id), str(people["comm"].id)])
