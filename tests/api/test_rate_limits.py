"""Security review, finding 6: sign-in attempts and requests with an unknown token are
rate-limited per client address, with 429 and Retry-After past the limit, and the limit
holds across worker processes. Counted in memory (one process) and in Redis (shared by
processes and hosts), each test both ways."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from domain.values import PartnerKind
from interfaces.api.throttle import RateLimitStorageUnreachable
from interfaces.app import create_app
from interfaces.cli import main
from tests.api.conftest import create_commitment, feed_token_for, partner_caller, services_of
from tests.conftest import redis_url

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HERE, ELSEWHERE = "192.0.2.10", "198.51.100.7"  # documentation addresses (RFC 5737)
UNKNOWN = {"Authorization": "Bearer tutahi_not-a-token"}
MakeApp = Callable[..., Flask]


@pytest.fixture(params=["memory", "redis"])
def make_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeApp]:
    """Apps on one SQLite store whose limits are counted in memory or in one Redis (with
    a key prefix of this test's own), as several worker processes of one service are."""
    storage = "memory://" if request.param == "memory" else redis_url()
    prefix = f"tutahi-test-{uuid4().hex}"
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path}/tutahi.db",
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "RATE_LIMIT_STORAGE": storage,
                "RATELIMIT_KEY_PREFIX": prefix,
                "SIGN_IN_RATE_LIMIT": "3 per minute",
                "UNKNOWN_TOKEN_RATE_LIMIT": "5 per minute",
                **settings,
            }
        )
        made.append(app)
        return app

    make.storage = request.param  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for app in made:
            services_of(app).close()


def at(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_too_many(response: TestResponse, problem: bool = True) -> int:
    assert response.status_code == 429, (response.status_code, response.get_data(as_text=True)[:300])
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    if problem:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 429 and "too many" in response.get_json()["detail"]
    return wait


def test_unknown_tokens_past_the_limit_get_429_and_so_does_every_token_from_that_address(
    make_app: MakeApp,
) -> None:
    app = make_app()
    agency = partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY)
    guesser = at(app.test_client(), HERE)
    for _ in range(5):
        assert guesser.get("/api/v1/partners", headers=UNKNOWN).status_code == 401
    assert_too_many(guesser.get("/api/v1/partners", headers=UNKNOWN))
    # No oracle: a right token from the same address is refused alike, before it is checked.
    assert_too_many(guesser.get("/api/v1/partners", headers=agency.headers))
    assert_too_many(guesser.get("/api/v1/partners", headers={"Authorization": "Basic dXNlcjpwYXNz"}))
    # Reading without a token is not limited; another address is not limited.
    assert guesser.get("/api/v1/commitments").status_code == 200
    elsewhere = at(app.test_client(), ELSEWHERE)
    assert elsewhere.get("/api/v1/partners", headers=agency.headers).status_code == 200
    assert elsewhere.get("/api/v1/partners", headers=UNKNOWN).status_code == 401


def test_known_tokens_do_not_count(make_app: MakeApp) -> None:
    app = make_app()
    agency = partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY)
    client = at(app.test_client(), HERE)
    for _ in range(20):
        assert client.get("/api/v1/partners", headers=agency.headers).status_code == 200
    for _ in range(5):
        assert client.get("/api/v1/partners", headers=UNKNOWN).status_code == 401
    assert_too_many(client.get("/api/v1/partners", headers=UNKNOWN))


def test_unknown_feed_tokens_count_as_unknown_tokens(make_app: MakeApp) -> None:
    app = make_app()
    lead = partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY)
    commitment = create_commitment(app.test_client(), lead)["id"]
    _, feed = feed_token_for(app, lead)
    reader = at(app.test_client(), HERE)
    for guess in range(5):
        assert reader.get(f"/commitments/{commitment}/feed.atom?token=tutahi_feed_{guess}").status_code == 404
    assert_too_many(reader.get(f"/commitments/{commitment}/milestones.ics?token=tutahi_feed_x"))
    assert_too_many(reader.get(f"/commitments/{commitment}/feed.atom?token={feed}"))
    assert at(app.test_client(), ELSEWHERE).get(f"/commitments/{commitment}/feed.atom?token={feed}").status_code == 200


def sign_in(client: FlaskClient, token: str) -> TestResponse:
    csrf = CSRF.search(client.get("/signin").get_data(as_text=True))
    assert csrf
    return client.post("/signin", data={"csrf_token": csrf.group(1), "token": token, "next": "/"})


def test_failed_sign_ins_past_the_limit_get_429_even_with_the_right_token(make_app: MakeApp) -> None:
    app = make_app()
    community = partner_caller(app, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION)
    browser = at(app.test_client(), HERE)
    for guess in range(3):
        failed = sign_in(browser, f"tutahi_guess_{guess}")
        assert failed.status_code == 303 and failed.headers["Location"].startswith("/signin")
    refused = sign_in(browser, community.token)
    assert_too_many(refused, problem=False)
    assert refused.mimetype == "text/html" and "Too many attempts" in refused.get_data(as_text=True)
    assert "tutahi_session" not in refused.headers.get("Set-Cookie", "")
    assert "Sign out" not in browser.get("/").get_data(as_text=True)
    other = at(app.test_client(), ELSEWHERE)
    assert sign_in(other, community.token).headers["Location"] == "/"
    assert "Sign out" in other.get("/").get_data(as_text=True)


def test_the_limit_holds_across_worker_processes_when_they_share_its_storage(make_app: MakeApp) -> None:
    """Two apps on one store stand for two worker processes (or hosts) of one service."""
    first, second = make_app(), make_app()
    for _ in range(3):
        assert at(first.test_client(), HERE).get("/api/v1/partners", headers=UNKNOWN).status_code == 401
    for _ in range(2):
        assert at(second.test_client(), HERE).get("/api/v1/partners", headers=UNKNOWN).status_code == 401
    answer = at(second.test_client(), HERE).get("/api/v1/partners", headers=UNKNOWN)
    if make_app.storage == "redis":  # type: ignore[attr-defined]
        assert_too_many(answer)
    else:  # in memory, each process counts its own: why several workers need Redis
        assert answer.status_code == 401


def test_the_window_passes(make_app: MakeApp) -> None:
    app = make_app(UNKNOWN_TOKEN_RATE_LIMIT="2 per 2 seconds")
    client = at(app.test_client(), HERE)
    for _ in range(2):
        assert client.get("/api/v1/partners", headers=UNKNOWN).status_code == 401
    wait = assert_too_many(client.get("/api/v1/partners", headers=UNKNOWN))
    assert wait <= 2
    time.sleep(wait + 0.1)
    assert client.get("/api/v1/partners", headers=UNKNOWN).status_code == 401


def test_the_service_does_not_start_without_its_rate_limit_storage(tmp_path: Path) -> None:
    with pytest.raises(RateLimitStorageUnreachable, match=re.escape("redis://127.0.0.1:1")):
        create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path}/tutahi.db",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "RATE_LIMIT_STORAGE": "redis://127.0.0.1:1",
            }
        )


def test_serving_several_workers_needs_a_shared_rate_limit_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never reached: it fails before
    monkeypatch.delenv("TUTAHI_RATE_LIMIT_STORAGE", raising=False)
    refused = CliRunner().invoke(main, ["--database-url", nowhere, "serve", "--workers", "2"], obj={})
    assert refused.exit_code != 0
    assert "TUTAHI_RATE_LIMIT_STORAGE=redis://" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("TUTAHI_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379")
    passed = CliRunner().invoke(main, ["--database-url", nowhere, "serve", "--workers", "2"], obj={})
    assert passed.exit_code != 0 and "cannot open the store" in passed.stderr, "it got past the check"


def test_behind_a_proxy_the_limit_counts_the_address_the_proxy_forwards(make_app: MakeApp) -> None:
    """Behind one reverse proxy (``TUTAHI_PROXIES=1``) every request comes from the proxy's
    address: each client is counted by the address the proxy puts in X-Forwarded-For."""
    proxy = "10.0.0.2"
    behind = make_app(PROXIES=1)
    for _ in range(5):
        guess = at(behind.test_client(), proxy).get("/api/v1/partners", headers={**UNKNOWN, "X-Forwarded-For": HERE})
        assert guess.status_code == 401
    assert_too_many(
        at(behind.test_client(), proxy).get("/api/v1/partners", headers={**UNKNOWN, "X-Forwarded-For": HERE})
    )
    other = at(behind.test_client(), proxy).get("/api/v1/partners", headers={**UNKNOWN, "X-Forwarded-For": ELSEWHERE})
    assert other.status_code == 401, "another client behind the same proxy is not limited"


def test_without_proxies_a_client_cannot_pose_as_another_address(make_app: MakeApp) -> None:
    app = make_app()
    for n in range(5):
        forged = {**UNKNOWN, "X-Forwarded-For": f"203.0.113.{n}"}
        assert at(app.test_client(), HERE).get("/api/v1/partners", headers=forged).status_code == 401
    forged = {**UNKNOWN, "X-Forwarded-For": "203.0.113.99"}
    assert_too_many(at(app.test_client(), HERE).get("/api/v1/partners", headers=forged))


@pytest.mark.parametrize("setting", ["two", "-1", "11"])
def test_serve_refuses_a_proxy_count_that_is_not_a_small_whole_number(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTAHI_PROXIES", setting)
    refused = CliRunner().invoke(main, ["--database-url", "sqlite:///:memory:", "serve"], obj={})
    assert refused.exit_code != 0
    assert "TUTAHI_PROXIES must be a whole number" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
