"""RL2: several threads, and several server processes, writing one commitment at once.

Whatever the interleaving: the commitment's versions stay contiguous (1..n), the log's
positions dense, nothing is a 5xx, every answer is a 2xx, 409, 412 or 503, and every
2xx is exactly one recorded event (none lost, none extra)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import COMMITMENT, Callers, create_commitment, ledger_of
from tests.conftest import postgres_url, reset_postgres
from tests.e2e.server import running_server, tutahi

ALLOWED = {409, 412, 503}
JOIN_SECONDS = 300
WRITERS = 6
WRITES_EACH = 12


@dataclass
class Tally:
    """Every answer the writers got, by status, and what went wrong on the client side."""

    statuses: Counter[int] = field(default_factory=Counter)
    bad: list[tuple[int, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, body: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if not (200 <= status < 300 or status in ALLOWED):
                self.bad.append((status, body[:500]))

    @property
    def successes(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


# A writer sends (method, path, body, headers) and gets (status, body text, ETag).
Send = Callable[[str, str, dict[str, Any] | None, dict[str, str]], tuple[int, str, str | None]]


def writer(send: Send, commitment_id: str, token: str, number: int, tally: Tally, barrier: threading.Barrier) -> None:
    """Mixes commands with and without If-Match: progress reports, milestones, amendments."""
    base = f"/api/v1/commitments/{commitment_id}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        barrier.wait(timeout=JOIN_SECONDS)
        etag: str | None = None
        for i in range(WRITES_EACH):
            kind = (number + i) % 4
            if kind == 0:
                status, body, _ = send(
                    "POST", f"{base}/progress", {"completion": "limited", "note": f"w{number} #{i}"}, auth
                )
            elif kind == 1:
                status, body, _ = send(
                    "POST", f"{base}/milestones", {"title": f"w{number} #{i}", "due_on": "2016-03-31"}, auth
                )
            else:
                if etag is None or kind == 3:
                    _, _, etag = send("GET", base, None, {})
                headers = {**auth, "If-Match": etag or '"1"'}
                if kind == 2:
                    status, body, _ = send(
                        "PATCH", base, {"title": f"Title by w{number} #{i}", "reason": "Wording"}, headers
                    )
                else:
                    status, body, _ = send(
                        "POST", f"{base}/milestones", {"title": f"m w{number} #{i}", "due_on": "2016-04-30"}, headers
                    )
            tally.record(status, body)
            if 200 <= status < 300:
                etag = None
    except BaseException as error:  # reported by the test
        with tally.lock:
            tally.errors.append(error)


def run_writers(sends: list[Send], commitment_id: str, token: str, writers: int = WRITERS) -> Tally:
    tally = Tally()
    barrier = threading.Barrier(writers)
    threads = [
        threading.Thread(
            target=writer,
            args=(sends[n % len(sends)], commitment_id, token, n, tally, barrier),
            daemon=True,
        )
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish in time"
    assert not tally.errors, tally.errors
    return tally


def assert_invariants(events: list[dict[str, Any]], version_before: int, tally: Tally) -> None:
    print("statuses:", dict(tally.statuses))  # shown with -s, and on failure
    assert not tally.bad, tally.bad
    assert sum(tally.statuses.values()) == WRITERS * WRITES_EACH
    versions = [event["version"] for event in events]
    assert versions == list(range(1, len(versions) + 1)), versions
    assert len(versions) == version_before + tally.successes, (len(versions), version_before, tally.statuses)
    assert tally.successes > 0, tally.statuses


# -- in one process, through the WSGI app ---------------------------------------------------------


def client_sender(app: Flask) -> Send:
    local = threading.local()

    def send(
        method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, str, str | None]:
        if not hasattr(local, "client"):
            local.client = app.test_client()
        client: FlaskClient = local.client
        response = client.open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_data(as_text=True), response.headers.get("ETag")

    return send


def test_threads_writing_one_commitment(app: Flask, client: FlaskClient, callers: Callers) -> None:
    lead = callers.lead
    commitment = create_commitment(client, lead)
    other = create_commitment(client, lead, external_ref="NZ0005")
    before = commitment["version"]
    ledger = ledger_of(app)
    send = client_sender(app)
    # A bystander writing another commitment at the same time: positions must stay dense across both.
    stop = threading.Event()
    bystander = Tally()

    def write_other() -> None:
        for i in range(200):
            if stop.is_set():
                return
            status, body, _ = send(
                "POST",
                f"/api/v1/commitments/{other['id']}/progress",
                {"completion": "limited", "note": f"bystander #{i}"},
                lead.headers,
            )
            bystander.record(status, body)

    side = threading.Thread(target=write_other, daemon=True)
    side.start()
    try:
        tally = run_writers([send], commitment["id"], lead.token)
    finally:
        stop.set()
        side.join(timeout=JOIN_SECONDS)
    assert not side.is_alive()
    assert not bystander.bad, bystander.bad

    events = ledger.commitment_history(UUID(commitment["id"]))
    assert_invariants(events, before, tally)
    # The read models agree with the log, and the log's positions are dense.
    current = client.get(f"/api/v1/commitments/{commitment['id']}").get_json()
    assert current["version"] == len(events)
    timeline = client.get(f"/api/v1/commitments/{commitment['id']}/timeline", query_string={"limit": 1000})
    assert len(timeline.get_json()["items"]) == len(events)
    other_events = ledger.commitment_history(UUID(other["id"]))
    assert len(other_events) == other["version"] + bystander.successes
    size = ledger.log_size()
    positions = [row[0] for batch in ledger.event_log.scan() for row in batch]
    assert positions == list(range(size))
    verification = client.post("/api/v1/audit/verifications", headers=callers.auditor.headers).get_json()
    assert verification["ok"], verification


# -- several server processes on one store ---------------------------------------------------


def http_sender(base: str) -> Send:
    def send(
        method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, str, str | None]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=dict(headers))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode(), response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("ETag")

    return send


def last_line(completed: Any) -> str:
    return str(completed.stdout).strip().splitlines()[-1].strip()


@pytest.mark.reliability
@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_two_server_processes_writing_one_commitment(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store == "postgres":
        url = postgres_url()
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path}/tutahi.db"
    monkeypatch.setenv("TUTAHI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("TUTAHI_DATABASE_URL", raising=False)
    partner = last_line(tutahi(url, "partners", "add", "--name", "Department of Internal Affairs", "--kind", "agency"))
    token = last_line(tutahi(url, "tokens", "issue", "--role", "agency", "--partner", partner))
    auditor = last_line(
        tutahi(url, "tokens", "issue", "--role", "auditor", "--name", "Independent Reporting Mechanism")
    )
    with (
        running_server(url, tmp_path / "one.log", "--workers", "1") as (one, _),
        running_server(url, tmp_path / "two.log", "--workers", "1") as (two, _),
    ):
        sends = [http_sender(one), http_sender(two)]
        status, body, _ = sends[0]("POST", "/api/v1/commitments", COMMITMENT, {"Authorization": f"Bearer {token}"})
        assert status == 201, body
        commitment = json.loads(body)
        tally = run_writers(sends, commitment["id"], token)
        auth = {"Authorization": f"Bearer {auditor}"}
        histories = []
        for send in sends:
            status, body, _ = send("GET", f"/api/v1/commitments/{commitment['id']}/events", None, auth)
            assert status == 200, body
            histories.append(json.loads(body)["items"])
        assert histories[0] == histories[1], "both servers read the same log"
        assert_invariants(histories[0], commitment["version"], tally)
        for send in sends:
            status, body, _ = send("GET", f"/api/v1/commitments/{commitment['id']}", None, {})
            assert status == 200 and json.loads(body)["version"] == len(histories[0]), body
        status, body, _ = sends[1]("POST", "/api/v1/audit/verifications", None, auth)
        assert status == 200 and json.loads(body)["ok"], body
    for log in ("one.log", "two.log"):
        text = (tmp_path / log).read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]
