"""RL8: a POST retried with the same ``Idempotency-Key`` records its events once and
answers the first response again (same status, same body), also when the retries
arrive at the same time; the same key with another body is 422; another caller's
use of the same key is independent of the first. Every POST route of the API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from domain.values import ActorRole
from tests.api.conftest import Caller, Callers, create_commitment, ledger_of, named_caller, services_of

THREADS = 8
JOIN_SECONDS = 120


@dataclass(frozen=True)
class World:
    """Two commitments (``main`` and ``spare``), each with two leads (DIA and TPK), and
    two community partners (Hui E! and Ngāti Whātua); two milestones and an action
    naming both community partners on ``main``; a second admin."""

    app: Flask
    client: FlaskClient
    callers: Callers
    co_lead: Caller
    second_admin: Caller
    main: str
    spare: str
    milestones: tuple[str, str]
    action: str

    def records(self) -> int:
        """What commands leave behind: events in the log, and credentials (tokens are not events)."""
        return ledger_of(self.app).log_size() + len(services_of(self.app).credentials.list())

    def version(self, commitment_id: str) -> int:
        history = ledger_of(self.app).commitment_history(UUID(commitment_id))
        assert [event["version"] for event in history] == list(range(1, len(history) + 1))
        return len(history)


def _ok(response: TestResponse) -> dict[str, Any]:
    assert response.status_code < 300, (response.status_code, response.get_data()[:500])
    return response.get_json()  # type: ignore[no-any-return]


@pytest.fixture
def world(app: Flask, client: FlaskClient, callers: Callers) -> World:
    lead, co_lead = callers.lead, callers.support
    ids = []
    for ref in ("NZ0004", "NZ0005"):
        commitment = create_commitment(client, lead, external_ref=ref)
        base = f"/api/v1/commitments/{commitment['id']}"
        for partner, role in ((co_lead, "lead"), (callers.community, "community"), (callers.stranger, "community")):
            _ok(
                client.post(
                    f"{base}/partners", json={"partner_id": str(partner.id), "role": role}, headers=lead.headers
                )
            )
        ids.append(commitment["id"])
    base = f"/api/v1/commitments/{ids[0]}"
    milestones = tuple(
        _ok(client.post(f"{base}/milestones", json={"title": title, "due_on": "2015-06-30"}, headers=lead.headers))[
            "id"
        ]
        for title in ("Accord reviewed", "Report published")
    )
    action = _ok(
        client.post(
            f"{base}/actions",
            json={
                "summary": "Hui at Te Papa",
                "occurred_on": "2015-02-01",
                "partner_ids": [str(callers.community.id), str(callers.stranger.id)],
            },
            headers=lead.headers,
        )
    )["id"]
    return World(
        app=app,
        client=client,
        callers=callers,
        co_lead=co_lead,
        second_admin=named_caller(app, ActorRole.ADMIN, "Second operator"),
        main=ids[0],
        spare=ids[1],
        milestones=(milestones[0], milestones[1]),
        action=action,
    )


@dataclass(frozen=True)
class Call:
    caller: Caller
    path: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class PostRoute:
    """A POST route: a first call, a different body for the same path and caller, and a
    second caller's own call (that succeeds on its own); ``records``: what one call records."""

    name: str
    first: Callable[[World], Call]
    other_body: Callable[[World], dict[str, Any]] | None
    second: Callable[[World], Call]
    records: int = 1
    commitment: Callable[[World], str] | None = None
    secret: str | None = None  # a field the first response has and replays cannot (only its hash is kept)


def _commitment_body(ref: str) -> dict[str, Any]:
    return {
        "title": f"Open budget {ref}",
        "action_plan": "New Zealand National Action Plan 2016–18",
        "external_ref": ref,
        "starts_on": "2016-07-01",
        "ends_on": "2018-06-30",
        "ogp_values": ["access_to_information"],
    }


def _main(w: World, tail: str) -> str:
    return f"/api/v1/commitments/{w.main}{tail}"


ROUTES = [
    PostRoute(
        "create commitment",
        lambda w: Call(w.callers.lead, "/api/v1/commitments", _commitment_body("NZ0101")),
        lambda w: _commitment_body("NZ0102"),
        lambda w: Call(w.co_lead, "/api/v1/commitments", _commitment_body("NZ0103")),
        records=2,  # the commitment starts, and its lead joins
    ),
    PostRoute(
        "add partner",
        lambda w: Call(
            w.callers.lead, _main(w, "/partners"), {"partner_id": str(w.callers.other_agency.id), "role": "support"}
        ),
        lambda w: {"partner_id": str(w.callers.other_agency.id), "role": "lead"},
        lambda w: Call(
            w.co_lead,
            f"/api/v1/commitments/{w.spare}/partners",
            {"partner_id": str(w.callers.other_agency.id), "role": "support"},
        ),
        commitment=lambda w: w.main,
    ),
    PostRoute(
        "add milestone",
        lambda w: Call(w.callers.lead, _main(w, "/milestones"), {"title": "Hui held", "due_on": "2016-01-31"}),
        lambda w: {"title": "Hui held", "due_on": "2016-02-29"},
        lambda w: Call(w.co_lead, _main(w, "/milestones"), {"title": "Hui held", "due_on": "2016-01-31"}),
        commitment=lambda w: w.main,
    ),
    PostRoute(
        "reach milestone",
        lambda w: Call(
            w.callers.lead, _main(w, f"/milestones/{w.milestones[0]}/reached"), {"reached_on": "2015-06-01"}
        ),
        lambda w: {"reached_on": "2015-06-02"},
        lambda w: Call(w.co_lead, _main(w, f"/milestones/{w.milestones[1]}/reached"), {"reached_on": "2015-06-01"}),
        commitment=lambda w: w.main,
    ),
    PostRoute(
        "record action",
        lambda w: Call(
            w.callers.lead,
            _main(w, "/actions"),
            {"summary": "Second hui", "occurred_on": "2015-03-01", "partner_ids": [str(w.callers.community.id)]},
        ),
        lambda w: {"summary": "Third hui", "occurred_on": "2015-03-01", "partner_ids": [str(w.callers.community.id)]},
        lambda w: Call(
            w.co_lead,
            _main(w, "/actions"),
            {"summary": "Second hui", "occurred_on": "2015-03-01", "partner_ids": [str(w.callers.community.id)]},
        ),
        # A joint action is a record of its own: the commitment's version does not move.
    ),
    PostRoute(
        "respond to action",
        lambda w: Call(w.callers.community, _main(w, f"/actions/{w.action}/responses"), {"response": "confirmed"}),
        lambda w: {"response": "disputed"},
        lambda w: Call(w.callers.stranger, _main(w, f"/actions/{w.action}/responses"), {"response": "confirmed"}),
    ),
    PostRoute(
        "report progress",
        lambda w: Call(w.callers.lead, _main(w, "/progress"), {"completion": "limited", "note": "Started"}),
        lambda w: {"completion": "substantial", "note": "Started"},
        lambda w: Call(w.co_lead, _main(w, "/progress"), {"completion": "limited", "note": "Started"}),
        commitment=lambda w: w.main,
    ),
    PostRoute(
        "withdraw",
        lambda w: Call(w.callers.lead, _main(w, "/withdrawal"), {"reason": "Superseded"}),
        lambda w: {"reason": "Merged into NZ0005"},
        lambda w: Call(w.co_lead, f"/api/v1/commitments/{w.spare}/withdrawal", {"reason": "Superseded"}),
        commitment=lambda w: w.main,
    ),
    PostRoute(
        "register partner",
        lambda w: Call(
            w.callers.admin, "/api/v1/partners", {"name": "Citizens Advice Bureau", "kind": "civil_society"}
        ),
        lambda w: {"name": "Citizens Advice Bureau", "kind": "community_organisation"},
        lambda w: Call(w.second_admin, "/api/v1/partners", {"name": "Citizens Advice Bureau", "kind": "civil_society"}),
    ),
    PostRoute(
        "issue token",
        lambda w: Call(w.callers.admin, "/api/v1/tokens", {"role": "auditor", "name": "Office of the Auditor-General"}),
        lambda w: {"role": "auditor", "name": "Ombudsman"},
        lambda w: Call(w.second_admin, "/api/v1/tokens", {"role": "auditor", "name": "Office of the Auditor-General"}),
        secret="token",
    ),
    PostRoute(
        "verify the log",
        lambda w: Call(w.callers.auditor, "/api/v1/audit/verifications", None),
        None,
        lambda w: Call(w.callers.admin, "/api/v1/audit/verifications", None),
        records=0,  # a verification records nothing, but its first report is what a retry gets back
    ),
]


def post(client: FlaskClient, call: Call, key: str | None, body: dict[str, Any] | None = None) -> TestResponse:
    headers = dict(call.caller.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    payload = call.body if body is None else body
    if payload is None:
        return client.post(call.path, headers=headers)
    return client.post(call.path, json=payload, headers=headers)


def comparable(response: TestResponse, secret: str | None) -> tuple[int, Any, str | None, str | None]:
    body = response.get_json()
    if secret is not None:
        body = {**body, secret: None}
    return response.status_code, body, response.headers.get("ETag"), response.headers.get("Location")


def assert_replay_of(first: TestResponse, again: TestResponse, route: PostRoute) -> None:
    assert comparable(again, route.secret) == comparable(first, route.secret)
    assert again.headers.get("Idempotent-Replayed") == "true"
    if route.secret is not None:
        assert first.get_json()[route.secret], "the first response carries the secret"
        assert again.get_json()[route.secret] is None, "a replay cannot carry the secret (only its hash is kept)"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_retries_record_once(world: World, route: PostRoute) -> None:
    client, first_call = world.client, route.first(world)
    commitment = route.commitment(world) if route.commitment else None
    size = world.records()
    first = post(client, first_call, "retry-1")
    assert first.status_code < 300, first.get_json()
    assert world.records() == size + route.records
    version = world.version(commitment) if commitment else None
    for _ in range(3):
        assert_replay_of(first, post(client, first_call, "retry-1"), route)
        assert world.records() == size + route.records
        if commitment:
            assert world.version(commitment) == version

    if route.other_body is not None:
        # The same key with another body: 422, nothing recorded; the key still replays the first response.
        reused = post(client, first_call, "retry-1", route.other_body(world))
        assert reused.status_code == 422, reused.get_json()
        assert reused.mimetype == "application/problem+json"
        assert "Idempotency-Key" in reused.get_json()["errors"]
        assert world.records() == size + route.records
        assert_replay_of(first, post(client, first_call, "retry-1"), route)

    # Another caller's use of the same key is its own request, with its own response and replays.
    second_call = route.second(world)
    second = post(client, second_call, "retry-1")
    assert second.status_code < 300, second.get_json()
    assert second.headers.get("Idempotent-Replayed") is None
    assert world.records() == size + 2 * route.records
    if route.records:
        assert second.get_json() != first.get_json()
    assert_replay_of(second, post(client, second_call, "retry-1"), route)
    assert world.records() == size + 2 * route.records

    # Without a key a retry is a new request (the control: the key is what made the difference).
    if route.records == 0:
        return
    fresh = post(client, first_call, None)
    assert fresh.status_code in (201, 409), fresh.get_json()


@dataclass
class Outcome:
    responses: list[TestResponse] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def race(app: Flask, call: Call, key: str, threads: int = THREADS) -> Outcome:
    """``threads`` clients send the same request at the same moment."""
    outcome = Outcome()
    barrier = threading.Barrier(threads)

    def send() -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=JOIN_SECONDS)
            response = post(client, call, key)
            with outcome.lock:
                outcome.responses.append(response)
        except BaseException as error:  # reported by the test
            with outcome.lock:
                outcome.errors.append(error)

    workers = [threading.Thread(target=send, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=JOIN_SECONDS)
    assert not any(worker.is_alive() for worker in workers), "a request did not finish in time"
    return outcome


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_concurrent_retries_record_once(world: World, route: PostRoute) -> None:
    call = route.first(world)
    commitment = route.commitment(world) if route.commitment else None
    size = world.records()
    version = world.version(commitment) if commitment else None
    outcome = race(world.app, call, "same-moment")
    assert not outcome.errors, outcome.errors
    assert len(outcome.responses) == THREADS
    statuses = sorted(r.status_code for r in outcome.responses)
    assert all(s < 300 for s in statuses), [(r.status_code, r.get_json()) for r in outcome.responses]
    assert world.records() == size + route.records
    if commitment:
        assert world.version(commitment) == (version or 0) + route.records
    expected = comparable(outcome.responses[0], route.secret)
    assert all(comparable(r, route.secret) == expected for r in outcome.responses)
    if route.secret is not None:
        assert sum(1 for r in outcome.responses if r.get_json()[route.secret]) == 1
    originals = [r for r in outcome.responses if r.headers.get("Idempotent-Replayed") is None]
    assert len(originals) == 1, "exactly one request did the work; the others replayed it"
    # And afterwards a plain retry still replays it.
    again = post(world.client, call, "same-moment")
    assert comparable(again, route.secret) == expected
    assert world.records() == size + route.records
