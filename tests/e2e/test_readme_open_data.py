"""The README's open-data block, run as written against a real ``tutahi serve`` process
on the demo data: the exports download with no token, and the import it shows records
its events once."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path

from tests.e2e.server import BIN, running_server, tutahi

README = Path(__file__).resolve().parents[2] / "README.md"


def open_data_block() -> str:
    section = README.read_text(encoding="utf-8").split("## Open data", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README's open-data section has a shell block"
    return match.group(1)


def test_the_readme_open_data_block_runs_against_a_real_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/open.db"
    tutahi(url, "demo")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text(f'PATH="{BIN}:$PATH"\n')

    with running_server(url, tmp_path / "server.log") as (base, _):
        env = {**os.environ, "API": f"{base}/api/v1", "TUTAHI_DATABASE_URL": url}
        block = ["bash", "-euo", "pipefail", "-c", open_data_block()]
        first = subprocess.run(block, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip().splitlines()[-1] == "4 events recorded"

    with (tmp_path / "commitments.csv").open(newline="", encoding="utf-8") as handle:
        refs = [row["external_ref"] for row in csv.DictReader(handle)]
    assert refs == ["NZ0001", "NZ0002", "NZ0003", "NZ0004"]
    assert (tmp_path / "commitments.csv").read_bytes().count(b"\r\n") == 5
    with (tmp_path / "milestones.csv").open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 9, "the demo's nine milestones"
    assert [item["external_ref"] for item in json.loads((tmp_path / "commitments.json").read_text())] == refs
