"""RL9: bad input of every kind answers a 4xx with a problem document, records nothing,
and leaves the service serving (``/healthz`` is 200 and a normal command still works).

Each table is one test per store; each row is a subtest, so every failing row is
reported on its own."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.conftest import Caller, Callers, create_commitment, ledger_of

PROBLEM_JSON = "application/problem+json"
MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def assert_problem(response: TestResponse, statuses: set[int]) -> dict[str, Any]:
    """A 4xx from ``statuses``, served as an RFC 9457 problem document."""
    assert response.status_code in statuses, (response.status_code, response.get_data()[:500])
    assert 400 <= response.status_code < 500
    assert response.mimetype == PROBLEM_JSON, (response.mimetype, response.get_data()[:500])
    body = json.loads(response.get_data())
    assert isinstance(body, dict)
    for name in ("type", "title", "detail"):
        assert isinstance(body.get(name), str) and body[name], (name, body)
    assert body.get("status") == response.status_code, body
    if response.status_code == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    return body


@dataclass(frozen=True)
class Target:
    """A commitment with a support agency, a community partner, a milestone and an
    action naming the community partner."""

    app: Flask
    client: FlaskClient
    callers: Callers
    commitment_id: str
    milestone_id: str
    action_id: str

    def version(self) -> int:
        return int(self.client.get(f"/api/v1/commitments/{self.commitment_id}").get_json()["version"])

    def log_size(self) -> int:
        return ledger_of(self.app).log_size()


@pytest.fixture
def target(app: Flask, client: FlaskClient, callers: Callers) -> Target:
    lead = callers.lead
    commitment = create_commitment(client, lead)
    base = f"/api/v1/commitments/{commitment['id']}"
    for partner, role in ((callers.support, "support"), (callers.community, "community")):
        added = client.post(
            f"{base}/partners", json={"partner_id": str(partner.id), "role": role}, headers=lead.headers
        )
        assert added.status_code == 201, added.get_json()
    milestone = client.post(
        f"{base}/milestones", json={"title": "Accord reviewed", "due_on": "2015-06-30"}, headers=lead.headers
    )
    assert milestone.status_code == 201, milestone.get_json()
    action = client.post(
        f"{base}/actions",
        json={"summary": "Hui at Te Papa", "occurred_on": "2015-02-01", "partner_ids": [str(callers.community.id)]},
        headers=lead.headers,
    )
    assert action.status_code == 201, action.get_json()
    return Target(app, client, callers, commitment["id"], milestone.get_json()["id"], action.get_json()["id"])


def assert_still_serving(target: Target, log_size_before: int) -> None:
    """Nothing was recorded by the bad requests; the service is up and takes a normal command."""
    assert target.log_size() == log_size_before
    assert target.client.get("/healthz").status_code == 200
    response = target.client.post(
        f"/api/v1/commitments/{target.commitment_id}/progress",
        json={"completion": "limited", "note": "Still serving after bad input."},
        headers=target.callers.lead.headers,
    )
    assert response.status_code == 201, response.get_json()
    assert target.log_size() == log_size_before + 1


# -- bodies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A command route, who may use it, and a body it would accept."""

    name: str
    method: str
    path: str  # formatted with the target's ids
    caller: Callable[[Callers], Caller]
    body: dict[str, Any]
    if_match: bool = False


def routes(target: Target) -> list[Route]:
    callers = target.callers
    community = str(callers.community.id)
    return [
        Route(
            "create commitment",
            "POST",
            "/api/v1/commitments",
            lambda c: c.lead,
            {
                "title": "A new commitment",
                "description": "",
                "action_plan": "Plan",
                "external_ref": "NZ0100",
                "starts_on": "2016-07-01",
                "ends_on": "2018-06-30",
                "ogp_values": ["civic_participation"],
                "visibility": "public",
            },
        ),
        Route(
            "amend",
            "PATCH",
            "/api/v1/commitments/{commitment_id}",
            lambda c: c.lead,
            {"title": "New title", "reason": "Wording"},
            if_match=True,
        ),
        Route(
            "add partner",
            "POST",
            "/api/v1/commitments/{commitment_id}/partners",
            lambda c: c.lead,
            {"partner_id": str(callers.other_agency.id), "role": "support"},
        ),
        Route(
            "remove partner",
            "DELETE",
            "/api/v1/commitments/{commitment_id}/partners/" + community,
            lambda c: c.lead,
            {"reason": "Moved on"},
        ),
        Route(
            "add milestone",
            "POST",
            "/api/v1/commitments/{commitment_id}/milestones",
            lambda c: c.lead,
            {"title": "Report published", "due_on": "2016-01-31"},
        ),
        Route(
            "reach milestone",
            "POST",
            "/api/v1/commitments/{commitment_id}/milestones/{milestone_id}/reached",
            lambda c: c.lead,
            {"reached_on": "2015-06-01", "evidence_url": "https://www.dia.govt.nz/", "note": "Done"},
        ),
        Route(
            "record action",
            "POST",
            "/api/v1/commitments/{commitment_id}/actions",
            lambda c: c.lead,
            {"summary": "Second hui", "occurred_on": "2015-03-01", "partner_ids": [community]},
        ),
        Route(
            "respond to action",
            "POST",
            "/api/v1/commitments/{commitment_id}/actions/{action_id}/responses",
            lambda c: c.community,
            {"response": "confirmed", "note": "Yes"},
        ),
        Route(
            "report progress",
            "POST",
            "/api/v1/commitments/{commitment_id}/progress",
            lambda c: c.lead,
            {"completion": "substantial", "note": "Most done"},
        ),
        Route(
            "withdraw",
            "POST",
            "/api/v1/commitments/{commitment_id}/withdrawal",
            lambda c: c.lead,
            {"reason": "Superseded"},
        ),
        Route(
            "register partner",
            "POST",
            "/api/v1/partners",
            lambda c: c.admin,
            {"name": "Citizens Advice Bureau", "kind": "community_organisation", "external_ref": "CAB"},
        ),
        Route("issue token", "POST", "/api/v1/tokens", lambda c: c.admin, {"role": "auditor", "name": "Office"}),
    ]


def send(target: Target, route: Route, **kwargs: Any) -> TestResponse:
    path = route.path.format(
        commitment_id=target.commitment_id, milestone_id=target.milestone_id, action_id=target.action_id
    )
    headers = {**route.caller(target.callers).headers, **kwargs.pop("headers", {})}
    if route.if_match and "If-Match" not in headers:
        headers["If-Match"] = f'"{target.version()}"'
    return target.client.open(path, method=route.method, headers=headers, **kwargs)


def nested(levels: int, *, objects: bool) -> bytes:
    if objects:
        return b'{"a":' * levels + b"1" + b"}" * levels
    return b"[" * levels + b"]" * levels


def multipart() -> dict[str, Any]:
    return {"data": {"title": "x", "file": (io.BytesIO(b"{}"), "body.json")}}


def chunked(size: int) -> Callable[[], dict[str, Any]]:
    """A streamed body with no Content-Length, as a server that reads chunked bodies hands it
    on (gunicorn marks such a stream as ended by the server: ``wsgi.input_terminated``)."""
    body = b'{"title": "' + b"x" * size + b'"}'
    return lambda: {
        "input_stream": io.BytesIO(body),
        "headers": {**JSON, "Transfer-Encoding": "chunked"},
        "environ_overrides": {"wsgi.input_terminated": True},
    }


# (name, request arguments, statuses any route may answer); a callable makes fresh arguments.
RAW_BODIES: list[tuple[str, dict[str, Any] | Callable[[], dict[str, Any]], set[int]]] = [
    ("invalid UTF-8", {"data": b'{"title": "\xff\xfe"}', "headers": JSON}, {400}),
    ("overlong UTF-8", {"data": b'{"title": "\xc0\xaf"}', "headers": JSON}, {400}),
    ("truncated UTF-8", {"data": b'{"title": "T\xc5"}', "headers": JSON}, {400}),
    ("UTF-16", {"data": '{"title": "x"}'.encode("utf-16"), "headers": JSON}, {400}),
    ("10 MiB", {"data": b'{"title": "' + b"x" * (10 * MIB) + b'"}', "headers": JSON}, {413}),
    ("just over 1 MiB", {"data": b" " * (MIB + 1), "headers": JSON}, {413}),
    ("chunked, just over 1 MiB", chunked(MIB), {413}),  # was 400: cut at 1 MiB, then broken JSON
    ("chunked, 3 MiB", chunked(3 * MIB), {413}),
    ("100000 nested arrays", {"data": nested(100_000, objects=False), "headers": JSON}, {400}),
    ("100000 nested objects", {"data": nested(100_000, objects=True), "headers": JSON}, {400}),
    ("100 nested objects", {"data": nested(100, objects=True), "headers": JSON}, {400}),
    ("not JSON", {"data": b"title=x", "headers": JSON}, {400}),
    ("truncated JSON", {"data": b'{"title": ', "headers": JSON}, {400}),
    ("two documents", {"data": b"{}{}", "headers": JSON}, {400}),
    ("array", {"data": b"[]", "headers": JSON}, {400}),
    ("string", {"data": b'"title"', "headers": JSON}, {400}),
    ("number", {"data": b"42", "headers": JSON}, {400}),
    ("null", {"data": b"null", "headers": JSON}, {400}),
    ("true", {"data": b"true", "headers": JSON}, {400}),
    ("text/plain", {"data": b'{"title": "x"}', "headers": {"Content-Type": "text/plain"}}, {415}),
    ("form", {"data": {"title": "x"}}, {415}),
    ("multipart", multipart, {415}),
    ("no content type", {"data": b'{"title": "x"}'}, {415}),
    ("XML", {"data": b"<title>x</title>", "headers": {"Content-Type": "application/xml"}}, {415}),
    ("empty object", {"json": {}}, {422}),
]


def test_bad_bodies(target: Target, subtests: Any) -> None:
    before = target.log_size()
    for route in routes(target):
        for name, arguments, statuses in RAW_BODIES:
            with subtests.test(route=route.name, body=name):
                kwargs = arguments() if callable(arguments) else dict(arguments)
                assert_problem(send(target, route, **kwargs), statuses)
    assert_still_serving(target, before)


WRONG_TYPES: list[Any] = [12345, 1.5, True, None, ["a"], {"a": "b"}]


def wrong_types_for(value: Any) -> list[Any]:
    """Values of another JSON type than ``value`` (None only where the field is not nullable)."""
    return [v for v in WRONG_TYPES if type(v) is not type(value)]


NULLABLE = {"evidence_url", "note", "external_ref"}
DATE_FIELDS = {"starts_on", "ends_on", "due_on", "reached_on", "occurred_on"}
BAD_DATES = [
    "2015-02-30",
    "2015-13-01",
    "15-01-01",
    "2015/01/01",
    "yesterday",
    "",
    "2015-01-01T00:00:00Z",
    "+02015-01-01",
]
HUGE = "x" * 600_000  # under the body limit, far over any field's


def test_bad_fields(target: Target, subtests: Any) -> None:
    """Unknown fields, wrong types, bad dates and huge strings: 422 naming the field."""
    before = target.log_size()
    for route in routes(target):
        with subtests.test(route=route.name, case="unknown field"):
            body = assert_problem(send(target, route, json={**route.body, "surprise": 1}), {422})
            assert "surprise" in body.get("errors", {}), body
        for field, value in route.body.items():
            bad_values = wrong_types_for(value)
            if field in NULLABLE:
                bad_values = [v for v in bad_values if v is not None]
            for bad in bad_values:
                with subtests.test(route=route.name, field=field, value=repr(bad)):
                    body = assert_problem(send(target, route, json={**route.body, field: bad}), {422})
                    assert any(key.split(".")[0] == field for key in body.get("errors", {})), body
            if field in DATE_FIELDS:
                for bad in BAD_DATES:
                    with subtests.test(route=route.name, field=field, date=bad):
                        body = assert_problem(send(target, route, json={**route.body, field: bad}), {422})
                        assert field in body.get("errors", {}), body
            if isinstance(value, str):
                with subtests.test(route=route.name, field=field, case="huge string"):
                    assert_problem(send(target, route, json={**route.body, field: HUGE}), {422})
            if isinstance(value, list) and field != "ogp_values":  # values are a set: repeats collapse
                with subtests.test(route=route.name, field=field, case="huge list"):
                    assert_problem(send(target, route, json={**route.body, field: [value[0]] * 20_000}), {422})
    assert_still_serving(target, before)


# -- queries ------------------------------------------------------------------------------

LIST_ROUTES = [
    "/api/v1/commitments",
    "/api/v1/partners",
    "/api/v1/commitments/{commitment_id}/timeline",
    "/api/v1/partners/{partner_id}/timeline",
    "/api/v1/events",
    "/api/v1/audit/checkpoints",
]
# marshmallow reads " 1", "1_000" and "١٠" (Arabic-Indic digits) as numbers, as Python's int() does:
# lenient, not absurd, so they are not here.
BAD_LIMITS = ["0", "-1", "1001", str(10**30), "abc", "1.5", "1e3", "", "0x10", "²"]
BAD_CURSORS = ["abc", "-1", "1.5", "9" * 19, "x" * 41, "\x00", "1e3", str(2**63), "%", "²"]


def test_bad_queries(target: Target, subtests: Any) -> None:
    before = target.log_size()
    auditor = target.callers.auditor.headers
    ids = {"commitment_id": target.commitment_id, "partner_id": str(target.callers.lead.id)}
    for route in LIST_ROUTES:
        path = route.format(**ids)
        for limit in BAD_LIMITS:
            with subtests.test(route=route, limit=limit):
                assert_problem(target.client.get(path, query_string={"limit": limit}, headers=auditor), {422})
        cursor_name = "before" if route.endswith("checkpoints") else "after"
        for cursor in BAD_CURSORS:
            with subtests.test(route=route, cursor=cursor):
                response = target.client.get(path, query_string={cursor_name: cursor}, headers=auditor)
                assert_problem(response, {422})
    commitment = f"/api/v1/commitments/{target.commitment_id}"
    others: list[tuple[str, dict[str, str], set[int]]] = [
        (commitment, {"version": "0"}, {422}),
        (commitment, {"version": "-1"}, {422}),
        (commitment, {"version": "abc"}, {422}),
        (commitment, {"version": str(10**30)}, {422}),
        (commitment, {"version": "999"}, {404}),
        (commitment, {"as_of": "yesterday"}, {422}),
        (commitment, {"as_of": "2015-02-30T00:00:00Z"}, {422}),
        (commitment, {"as_of": "2015-01-01T00:00:00"}, {422}),
        (commitment, {"as_of": "99999-01-01T00:00:00Z"}, {422}),
        (commitment, {"version": "1", "as_of": "2030-01-01T00:00:00Z"}, {422}),
        (f"{commitment}/diff", {"from": "1"}, {422}),
        (f"{commitment}/diff", {"from": "a", "to": "1"}, {422}),
        (f"{commitment}/diff", {"from": "0", "to": "1"}, {422}),
        (f"{commitment}/diff", {"from": "1", "to": str(10**30)}, {422}),
        (f"{commitment}/diff", {"from": "1", "to": "999"}, {404}),
        ("/api/v1/commitments", {"partner_id": "not-a-uuid"}, {422}),
        ("/api/v1/commitments", {"status": "sleeping"}, {422}),
        ("/api/v1/commitments", {"q": "x" * 201}, {422}),
        ("/api/v1/commitments", {"q": "x" * 10_000}, {414}),
        ("/api/v1/partners", {"q": "ā" * 201}, {422}),
        ("/api/v1/partners", {"q": "ā" * 1_400}, {414}),  # 8,400 bytes percent-encoded
        ("/api/v1/commitments", {"action_plan": "x" * 201}, {422}),
        ("/api/v1/partners", {"kind": "martian"}, {422}),
        ("/api/v1/audit/proofs/inclusion", {"position": "-1", "tree_size": "1"}, {422}),
        ("/api/v1/audit/proofs/inclusion", {"position": "0", "tree_size": "0"}, {422}),
        ("/api/v1/audit/proofs/inclusion", {"position": "5", "tree_size": "2"}, {422}),
        ("/api/v1/audit/proofs/inclusion", {"position": "0", "tree_size": str(10**30)}, {422}),
        ("/api/v1/audit/proofs/inclusion", {"position": "0", "tree_size": "100000"}, {422}),
        ("/api/v1/audit/proofs/consistency", {"first": "3", "second": "1"}, {422}),
        ("/api/v1/audit/proofs/consistency", {"first": "1", "second": "100000"}, {422}),
        ("/api/v1/audit/proofs/consistency", {"first": "x", "second": "1"}, {422}),
    ]
    for path, query, statuses in others:
        with subtests.test(path=path, query=query):
            assert_problem(target.client.get(path, query_string=query, headers=auditor), statuses)
    assert_still_serving(target, before)


# -- paths and methods ----------------------------------------------------------------------

BAD_IDS = [
    "not-a-uuid",
    "1234",
    "00000000-0000-0000-0000-00000000000g",
    "00000000000000000000000000000000x",
    "%00",
    "%FF%FE",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 5000,
    "ā",
]
ID_ROUTES: list[tuple[str, str]] = [
    ("GET", "/api/v1/commitments/{id}"),
    ("PATCH", "/api/v1/commitments/{id}"),
    ("GET", "/api/v1/commitments/{id}/timeline"),
    ("GET", "/api/v1/commitments/{id}/events"),
    ("GET", "/api/v1/commitments/{id}/diff"),
    ("POST", "/api/v1/commitments/{id}/partners"),
    ("DELETE", "/api/v1/commitments/{commitment_id}/partners/{id}"),
    ("POST", "/api/v1/commitments/{id}/milestones"),
    ("POST", "/api/v1/commitments/{commitment_id}/milestones/{id}/reached"),
    ("POST", "/api/v1/commitments/{id}/actions"),
    ("POST", "/api/v1/commitments/{commitment_id}/actions/{id}/responses"),
    ("POST", "/api/v1/commitments/{id}/progress"),
    ("POST", "/api/v1/commitments/{id}/withdrawal"),
    ("GET", "/api/v1/partners/{id}"),
    ("GET", "/api/v1/partners/{id}/timeline"),
    ("DELETE", "/api/v1/tokens/{id}"),
]
UNKNOWN_ID = "0b0e8d1c-6a43-4a4e-9d7e-3f8f5b2a9c10"


def test_bad_paths_and_methods(target: Target, subtests: Any) -> None:
    before = target.log_size()
    admin, lead = target.callers.admin.headers, target.callers.lead.headers
    for method, route in ID_ROUTES:
        for bad in [*BAD_IDS, UNKNOWN_ID]:
            path = route.format(id=bad, commitment_id=target.commitment_id)
            with subtests.test(method=method, path=path[:120]):
                body = {"reason": "x"} if method in ("PATCH", "DELETE") else {}
                caller = lead if route.startswith("/api/v1/commitments/") else admin
                headers = {**caller, "If-Match": '"1"'} if method == "PATCH" else caller
                response = target.client.open(path, method=method, json=body, headers=headers)
                # A malformed id matches no route: 404. A well-formed unknown one reaches the view,
                # which may refuse the (empty) body first, or the command (not a partner: 409).
                assert_problem(response, {404, 409, 422} if bad == UNKNOWN_ID else {404})
    for method, path in [
        ("PUT", "/api/v1/commitments"),
        ("DELETE", "/api/v1/commitments"),
        ("PUT", f"/api/v1/commitments/{target.commitment_id}"),
        ("GET", f"/api/v1/commitments/{target.commitment_id}/progress"),
        ("PATCH", "/api/v1/partners"),
    ]:
        with subtests.test(method=method, path=path):
            response = target.client.open(path, method=method, json={}, headers=admin)
            assert_problem(response, {405})
            assert response.headers.get("Allow"), response.headers
    for path in ["/api/v1/commitments/", "/api/v1/nothing-here", "/api/v2/commitments"]:
        with subtests.test(method="POST", path=path):
            response = target.client.post(path, json={}, headers=target.callers.lead.headers)
            assert_problem(response, {404})
    assert_still_serving(target, before)


# -- headers --------------------------------------------------------------------------------

BAD_IF_MATCH = ['W/"{v}"', '"abc"', "{v}", '"{v}', '{v}"', "", " ", '"-1"', '"' + "9" * 20 + '"', '"{v}" "x"', "*x"]
BAD_KEYS = ["", " ", "x" * 201, "kā", "key with spaces", "tab\tkey", "\x7f", "ключ"]
BAD_AUTHORIZATION = ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 10_000, "Bearer tūtahi", "token"]


def test_bad_headers(target: Target, subtests: Any) -> None:
    before = target.log_size()
    lead = target.callers.lead.headers
    commitment = f"/api/v1/commitments/{target.commitment_id}"
    version = target.version()
    for template in BAD_IF_MATCH:
        value = template.replace("{v}", str(version))
        with subtests.test(route="PATCH", if_match=value):
            response = target.client.patch(
                commitment, json={"title": "Changed", "reason": "x"}, headers={**lead, "If-Match": value}
            )
            assert_problem(response, {412, 428} if not value.strip() else {412})
        with subtests.test(route="POST milestones", if_match=value):
            response = target.client.post(
                f"{commitment}/milestones",
                json={"title": "Extra", "due_on": "2016-01-01"},
                headers={**lead, "If-Match": value},
            )
            if value.strip():
                assert_problem(response, {412})
            elif response.status_code < 300:  # an empty If-Match may count as none: then it worked
                before += 1
            else:
                assert_problem(response, {412, 428})
    for route in (r for r in routes(target) if r.method == "POST"):
        for key in BAD_KEYS:
            with subtests.test(route=route.name, idempotency_key=key):
                assert_problem(send(target, route, json=route.body, headers={"Idempotency-Key": key}), {400})
    for value in BAD_AUTHORIZATION:
        for method, path in [("GET", "/api/v1/partners"), ("POST", f"{commitment}/progress")]:
            with subtests.test(authorization=value[:40], path=path):
                response = target.client.open(
                    path,
                    method=method,
                    json={"completion": "limited", "note": "x"},
                    headers={"Authorization": value},
                )
                assert_problem(response, {401})
    assert_still_serving(target, before)
