"""RL1: SIGKILL the server 20 times under write load. Every write that got a 2xx is
there afterwards, the log verifies, and the read models equal a rebuild."""

from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.audit import Auditor
from interfaces.composition import open_auditor, open_ledger
from tests.e2e.server import TUTAHI, free_port, tutahi, wait_ready

pytestmark = pytest.mark.reliability

KILLS = 20
CLIENTS = 4


def call(base: str, path: str, token: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError):
        # The server died under this request (before answering, or part-way through its
        # answer's body): the write may or may not have landed.
        return 0, None


def test_every_acknowledged_write_survives_twenty_sigkills(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    instance = str(tmp_path / "instance")
    agency = tutahi(url, "partners", "add", "--name", "Department of Internal Affairs", "--kind", "agency")
    agency_id = agency.stdout.strip().splitlines()[-1]
    token = tutahi(url, "tokens", "issue", "--role", "agency", "--partner", agency_id).stdout.strip().splitlines()[-1]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api/v1"
    acknowledged: list[str] = []  # milestone ids the server answered 2xx for
    unexpected: list[int] = []  # statuses other than 2xx, 409, 503 or a dropped connection
    lock = threading.Lock()
    rng = random.Random(20261127)
    log = (tmp_path / "server.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [TUTAHI, "--database-url", url, "--instance-path", instance, "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(base, process)
        return process

    server = start()
    try:
        status, created = call(
            api,
            "/commitments",
            token,
            {
                "title": "Survive crashes",
                "action_plan": "Reliability plan",
                "external_ref": "RL1",
                "starts_on": "2026-01-01",
                "ends_on": "2027-01-01",
            },
            "create-rl1",
        )
        assert status == 201 and created is not None
        commitment = created["id"]

        for _ in range(KILLS):
            stop = threading.Event()

            def writer(stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    key = uuid4().hex
                    code, body = call(
                        api,
                        f"/commitments/{commitment}/milestones",
                        token,
                        {"title": f"milestone {key[:8]}", "due_on": "2026-12-31"},
                        key,
                    )
                    if 200 <= code < 300 and body is not None:
                        with lock:
                            acknowledged.append(body["id"])
                    elif code not in (0, 409, 503):
                        with lock:
                            unexpected.append(code)

            threads = [threading.Thread(target=writer, daemon=True) for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 1.2))
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            # gunicorn's worker may outlive its killed master for a moment: kill the group's stragglers.
            subprocess.run(["pkill", "-KILL", "-f", "--", f"--port {port}"], check=False)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            server = start()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        subprocess.run(["pkill", "-KILL", "-f", "--", f"--port {port}"], check=False)
        log.close()

    assert unexpected == [], f"statuses other than 2xx/409/503: {sorted(set(unexpected))}"
    assert len(acknowledged) >= KILLS, "the load really wrote between the kills"
    ledger = open_ledger(url)
    try:
        document = ledger.get_commitment(ledger.list_commitments(None).items[0].id)
        stored = {m["id"] for m in document["milestones"]}
        missing = [m for m in acknowledged if m not in stored]
        assert missing == [], f"{len(missing)} acknowledged writes were lost"
        auditor: Auditor = open_auditor(ledger, instance)
        verdict = auditor.verify()
        assert verdict.ok, verdict.detail
        live = ledger.read_models.dump_read_models()
        ledger.rebuild_read_models()
        assert ledger.read_models.dump_read_models() == live
    finally:
        ledger.close()
