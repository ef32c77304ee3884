"""RL14: three ``tutahi serve`` processes on one PostgreSQL database, sharing one
instance folder (checkpoint signing key, session secret) and one Redis (rate limits),
act as one service: writes and reads taken in turn by each, every write seen at once by
every process, one log that verifies, a web session made on one process good on the
others, a token revoked on one refused at once by all, and the unknown-token limit
counted across all three. And processes that start at once on a database with no tables
yet all start."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import uuid4

import pytest

from tests.conftest import postgres_url, redis_url, reset_postgres
from tests.e2e.server import running_server, tutahi

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

SERVERS = 3
UNKNOWN_TOKEN_LIMIT = 12  # per minute, per client address, across all the processes
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "tutahi_session"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Server:
    """One ``tutahi serve`` process, called over plain HTTP (no redirects followed, so
    that a sign-in's cookie can be read from its 303)."""

    base: str
    name: str
    cookies: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cookie: str | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", **(headers or {})}
        data: bytes | None = None
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if cookie is not None:
            sent["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        where = urlsplit(self.base)
        connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                if name == SESSION_COOKIE:
                    self.cookies[name] = rest.split(";", 1)[0]
            return answer
        finally:
            connection.close()


@contextmanager
def three_servers(url: str, tmp_path: Path, env: dict[str, str]) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        servers = []
        for n in range(SERVERS):
            log = tmp_path / f"serve-{n}.log"
            base, _ = stack.enter_context(running_server(url, log, "--workers", "1", env=env))
            servers.append(Server(base, f"process {n}"))
        yield servers


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def sign_in(server: Server, token: str) -> str:
    """Signs in on ``server``'s web pages; the session cookie it set."""
    server.cookies.clear()
    form = server.call("GET", "/signin", headers={"Accept": "text/html"})
    assert form.status == 200
    found = CSRF.search(form.text)
    assert found, "the sign-in form carries a CSRF token"
    signed = server.call(
        "POST",
        "/signin",
        form={"csrf_token": found.group(1), "token": token, "next": "/"},
        headers={"Accept": "text/html"},
        cookie=server.cookies[SESSION_COOKIE],
    )
    assert signed.status == 303 and signed.headers["location"] == "/", signed.text[:500]
    return server.cookies[SESSION_COOKIE]


def signed_in_on(server: Server, cookie: str) -> bool:
    """Whether ``server``'s home page, sent with the session cookie, is a signed-in one."""
    page = server.call("GET", "/", headers={"Accept": "text/html"}, cookie=cookie)
    assert page.status == 200
    return "Sign out" in page.text


def test_three_processes_on_one_postgres_database_act_as_one_service(tmp_path: Path) -> None:
    url = postgres_url()
    reset_postgres(url)
    env = {
        "TUTAHI_INSTANCE_PATH": str(tmp_path / "instance"),
        "TUTAHI_RATE_LIMIT_STORAGE": redis_url(),
        "TUTAHI_RATE_LIMIT_PREFIX": f"tutahi-rl14-{uuid4().hex}",
        "TUTAHI_UNKNOWN_TOKEN_LIMIT": f"{UNKNOWN_TOKEN_LIMIT} per minute",
    }
    agency_id = last_line(
        tutahi(url, "partners", "add", "--name", "Te Tari Taiwhenua", "--kind", "agency", env=env).stdout
    )
    community_id = last_line(
        tutahi(url, "partners", "add", "--name", "Hui E!", "--kind", "community_organisation", env=env).stdout
    )
    agency = last_line(tutahi(url, "tokens", "issue", "--role", "agency", "--partner", agency_id, env=env).stdout)
    community = last_line(
        tutahi(url, "tokens", "issue", "--role", "community", "--partner", community_id, env=env).stdout
    )
    admin = last_line(tutahi(url, "tokens", "issue", "--role", "admin", "--name", "Ops", env=env).stdout)
    auditor = last_line(tutahi(url, "tokens", "issue", "--role", "auditor", "--name", "Audit NZ", env=env).stdout)
    refused = 0  # unknown-token answers so far: each counts against the shared limit

    with three_servers(url, tmp_path, env) as servers:
        a, b, c = servers

        # -- writes and reads in turn: each write is seen at once by every process -------------
        created = a.call(
            "POST",
            "/api/v1/commitments",
            token=agency,
            body={
                "title": "Open budgets",
                "action_plan": "2014-16",
                "external_ref": "RL14-1",
                "starts_on": "2014-07-01",
                "ends_on": "2016-06-30",
                "visibility": "partners",
            },
        )
        assert created.status == 201, created.text
        commitment = created.json()["id"]
        joined = b.call(
            "POST",
            f"/api/v1/commitments/{commitment}/partners",
            token=agency,
            body={"partner_id": community_id, "role": "community"},
        )
        assert joined.status == 201, joined.text
        for server in servers:  # a partners-only commitment: the new partner sees it on every process
            seen = server.call("GET", f"/api/v1/commitments/{commitment}", token=community)
            assert seen.status == 200, (server.name, seen.text)
            assert community_id in [member["id"] for member in seen.json()["partners"]], server.name

        milestones, actions = [], []
        written = {created.json()["position"], joined.json()["position"]}  # the log positions of the writes
        for turn in range(6):
            reader, writer = servers[turn % SERVERS], servers[(turn + 1) % SERVERS]
            # The version one process reads is the one the next process holds: its cached
            # aggregate was brought up to date from the store, so If-Match is not refused.
            etag = reader.call("GET", f"/api/v1/commitments/{commitment}", token=agency).headers["etag"]
            added = writer.call(
                "POST",
                f"/api/v1/commitments/{commitment}/milestones",
                token=agency,
                body={"title": f"Milestone {turn}", "due_on": "2015-06-30"},
                headers={"If-Match": etag},
            )
            assert added.status == 201, (writer.name, added.text)
            milestones.append(added.json()["id"])
            recorded = reader.call(
                "POST",
                f"/api/v1/commitments/{commitment}/actions",
                token=community if turn % 2 else agency,
                body={
                    "summary": f"Workshop {turn}",
                    "occurred_on": "2015-03-01",
                    "partner_ids": [agency_id if turn % 2 else community_id],
                },
            )
            assert recorded.status == 201, (reader.name, recorded.text)
            actions.append(recorded.json()["id"])
            written |= {added.json()["position"], recorded.json()["position"]}
            for server in servers:
                document = server.call("GET", f"/api/v1/commitments/{commitment}", token=agency)
                assert [m["id"] for m in document.json()["milestones"]] == milestones, server.name
                assert document.headers["etag"] == added.headers["etag"], server.name
                action = server.call("GET", f"/api/v1/commitments/{commitment}/actions/{actions[-1]}", token=agency)
                assert action.status == 200, (server.name, action.text)
        assert len(written) == 2 + 2 * 6  # no two writes of different processes took one position

        # -- one log, the same on every process, signed with one key, and verifying ---------
        logs, keys = [], set()
        for server in servers:
            page = server.call("GET", "/api/v1/events?limit=1000", token=auditor)
            assert page.status == 200
            logs.append([(event["position"], event["leaf_hash"]) for event in page.json()["items"]])
            keys.add(server.call("GET", "/api/v1/audit/public-key").json()["public_key"])
        assert logs[0] == logs[1] == logs[2] and len(keys) == 1
        positions = [position for position, _ in logs[0]]
        assert positions == list(range(len(positions))) and written <= set(positions)
        checkpoint = c.call("GET", "/api/v1/audit/checkpoint").json()
        assert checkpoint["tree_size"] == len(positions)
        (tmp_path / "checkpoint.json").write_text(json.dumps(checkpoint), encoding="utf-8")
        for server in servers:
            verified = server.call("POST", "/api/v1/audit/verifications", token=auditor)
            assert verified.status == 200 and verified.json()["ok"] is True, verified.text
        report = tutahi(url, "audit", "verify", "--checkpoint", str(tmp_path / "checkpoint.json"), env=env)
        assert f"tree size {len(positions)}" in report.stdout

        # -- a web session made on one process works on all -----------------------------------
        cookie = sign_in(a, community)
        assert all(signed_in_on(server, cookie) for server in servers)
        assert not signed_in_on(b, "not-a-session")

        # -- a token revoked on one process is refused at once by all ----------------------------
        listed = c.call("GET", "/api/v1/tokens", token=admin).json()["items"]
        (community_credential,) = [t["id"] for t in listed if t["role"] == "community"]
        for server in servers:
            assert server.call("GET", "/api/v1/commitments", token=community).status == 200
        revoked = b.call("DELETE", f"/api/v1/tokens/{community_credential}", token=admin)
        assert revoked.status == 200, revoked.text
        for server in servers:
            after = server.call("GET", f"/api/v1/commitments/{commitment}", token=community)
            assert after.status == 401, (server.name, after.status)
            refused += 1
            assert not signed_in_on(server, cookie), f"the revoked token's session still works on {server.name}"

        # -- the unknown-token limit is counted across the processes -------------------------------
        turn = 0
        while refused < UNKNOWN_TOKEN_LIMIT:
            guess = servers[turn % SERVERS].call("GET", "/api/v1/commitments", token=f"tutahi_{uuid4().hex}")
            assert guess.status == 401, guess.text
            refused += 1
            turn += 1
        for server in servers:
            # Past the limit on every process, even with a good token: one count, not three.
            limited = server.call("GET", "/api/v1/commitments", token=agency)
            assert limited.status == 429, (server.name, limited.status)
            assert int(limited.headers["retry-after"]) >= 1


def start_app(url: str, instance: str, barrier: Any) -> str:
    """Builds the service's app once ``barrier`` lets every process go: "ok", or the error."""
    from interfaces.app import create_app

    barrier.wait(60)
    try:
        services = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance}).extensions["tutahi"]
    except Exception as error:
        return f"{type(error).__name__}: {str(error)[:300]}"
    services.close()
    return "ok"


@pytest.mark.parametrize("attempt", range(2))
def test_processes_starting_at_once_on_a_new_database_all_start(tmp_path: Path, attempt: int) -> None:
    """Workers of one server, or servers on several hosts, start at once on a database
    with no tables yet: each would find a table missing and make it, and all but one
    would fail, unless they take turns."""
    url = postgres_url()
    reset_postgres(url)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(SERVERS)
        with context.Pool(SERVERS) as pool:
            started = [pool.apply_async(start_app, (url, str(tmp_path / "instance"), barrier)) for _ in range(SERVERS)]
            assert [each.get(120) for each in started] == ["ok"] * SERVERS
