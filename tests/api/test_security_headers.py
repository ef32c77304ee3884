"""Security review, finding 6: pages carry a Content-Security-Policy (this site's own
scripts, styles and images only; no framing by another site), ``nosniff`` and a
Referrer-Policy; and no response to a request that carried a token or a session may be
kept by a cache."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.conftest import Callers, create_commitment, feed_token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def policy_of(response: TestResponse) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, (response.request.path, dict(response.headers))
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.fixture
def commitment(client: FlaskClient, callers: Callers) -> str:
    made = create_commitment(client, callers.lead)
    base = f"/api/v1/commitments/{made['id']}"
    client.post(f"{base}/milestones", json={"title": "Survey", "due_on": "2015-03-31"}, headers=callers.lead.headers)
    client.post(f"{base}/progress", json={"completion": "limited", "note": "Mid-term."}, headers=callers.lead.headers)
    return str(made["id"])


def test_every_page_carries_the_security_headers(client: FlaskClient, callers: Callers, commitment: str) -> None:
    pages = [
        "/",
        f"/commitments/{commitment}",
        f"/commitments/{commitment}/history",
        f"/commitments/{commitment}/diff?from=1&to=1",
        f"/commitments/{commitment}?as_of=2199-12-31",
        f"/partners/{callers.lead.id}",
        "/signin",
        "/nowhere",
        "/api/v1/docs",
    ]
    for path in pages:
        response = client.get(path)
        assert response.mimetype == "text/html", path
        policy = policy_of(response)
        assert policy["default-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["script-src"] == ["'self'"], f"{path}: no inline script may run"
        assert "'unsafe-inline'" not in policy["style-src"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path


def test_inline_styles_need_the_responses_nonce_and_pages_run_no_inline_script(
    client: FlaskClient, commitment: str
) -> None:
    first, second = client.get(f"/commitments/{commitment}"), client.get(f"/commitments/{commitment}")
    nonces = []
    for response in (first, second):
        (nonce,) = [v.removeprefix("'nonce-").removesuffix("'") for v in policy_of(response)["style-src"][1:]]
        html = response.get_data(as_text=True)
        styles = re.findall(r"<style\b[^>]*>", html)
        assert styles and all(f'nonce="{nonce}"' in tag for tag in styles), styles
        assert " style=" not in html, "a style attribute the policy would block"
        assert not re.search(r"<script\b(?![^>]*\bsrc=)", html), "an inline script"
        nonces.append(nonce)
    assert nonces[0] != nonces[1], "a fresh nonce for every response"
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert re.findall(r"<script\b[^>]*>", docs) and all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", docs))


def test_api_answers_are_not_sniffed(client: FlaskClient) -> None:
    for path in ("/api/v1/commitments", "/api/v1/openapi.json", "/healthz", "/api/v1/nothing-here"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff", path


def sign_in(client: FlaskClient, token: str) -> TestResponse:
    csrf = CSRF.search(client.get("/signin").get_data(as_text=True))
    assert csrf
    return client.post("/signin", data={"csrf_token": csrf.group(1), "token": token, "next": "/"})


def test_what_a_token_or_session_got_back_is_never_stored_by_a_cache(
    app: Flask, client: FlaskClient, callers: Callers, commitment: str
) -> None:
    anonymous: list[Any] = [
        client.get("/"),
        client.get(f"/commitments/{commitment}"),
        client.get(f"/commitments/{commitment}/feed.atom"),
        client.get("/api/v1/commitments"),
    ]
    for response in anonymous:
        assert "no-store" not in response.headers.get("Cache-Control", ""), response.request.path

    bearer = callers.community.headers
    _, feed = feed_token_for(app, callers.community)
    carried: list[Any] = [
        client.get("/api/v1/commitments", headers=bearer),
        client.get(f"/api/v1/commitments/{commitment}", headers=bearer),
        client.get(f"/commitments/{commitment}", headers=bearer),
        client.get("/api/v1/partners", headers={"Authorization": "Bearer tutahi_unknown"}),  # a 401 too
        client.get(f"/commitments/{commitment}/feed.atom?token={feed}"),
        client.get(f"/commitments/{commitment}/milestones.ics?token={feed}"),
    ]
    member = app.test_client()
    carried.append(sign_in(member, callers.community.token))
    carried += [member.get("/"), member.get(f"/commitments/{commitment}"), member.get(f"/partners/{callers.lead.id}")]
    for response in carried:
        assert response.headers.get("Cache-Control") == "no-store", (response.request.path, response.status_code)
