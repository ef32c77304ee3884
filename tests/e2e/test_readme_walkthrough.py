"""The README's curl walk-through, run as written against a real ``tutahi serve``
process on the demo data: if the README drifts from the service, this fails."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

from tests.e2e.server import BIN, running_server, tutahi

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Walk-through", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README has a walk-through shell block"
    return match.group(1)


def test_the_readme_walkthrough_runs_against_a_real_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/walk.db"
    tutahi(url, "demo")
    # The block activates ./.venv; point that at the interpreter running these tests.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text(f'PATH="{BIN}:$PATH"\n')
    log = tmp_path / "server.log"

    with running_server(url, log) as (base, process):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough_block()],
            cwd=tmp_path,
            env={**os.environ, "API": f"{base}/api/v1", "TUTAHI_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-2] == "1", "the plan rolls up the walk-through's commitment"
        assert result.stdout.strip().splitlines()[-1] == (
            "Ministry for the Environment reported the milestone “First data set published”"
            " reached on 20 November 2026."
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "SIGTERM stops the server gracefully"

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    posts = [line for line in lines if line["method"] == "POST"]
    assert len(posts) == 4 and all(line["status"] in (200, 201) for line in posts)
    assert [line["status"] for line in lines if line["method"] == "PATCH"] == [200], "the plan was amended"
    assert all(line["request_id"] for line in lines), "every request is logged with its request id"
