"""``tutahi import FILE --as PARTNER_ID [--dry-run]`` on a SQLite file and on PostgreSQL:
an agency's spreadsheet recorded all or nothing, each bad row a line of its own on
standard error, and the same file a second time recording nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from application.demo import DIA, HUI_E, commitment_id, partner_id
from interfaces.cli import main
from interfaces.composition import open_ledger
from tests.conftest import store_url_for

HEADER = "external_ref,title,action_plan,starts_on,ends_on,milestone_title,milestone_due_on,milestone_reached_on,reason"
PLAN = "New Zealand National Action Plan 2016–18"
GOOD = (
    f"{HEADER}\r\n"
    f"NZ-CLI-1,Open budget data,{PLAN},2016-07-01,2018-06-30,Data published,2017-03-31,2017-03-20,\r\n"
    f"NZ-CLI-1,Open budget data,{PLAN},2016-07-01,2018-06-30,Portal reviewed,2018-02-28,,\r\n"
    # A commitment of the demo that the Department of Internal Affairs leads: amended.
    "NZ0004,,,,2016-12-31,,,,The accord review runs on\r\n"
)


@pytest.fixture(params=("sqlite", "postgres"))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = store_url_for(request.param, tmp_path)
    assert run(url, "demo").exit_code == 0
    yield url


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", url, *args], obj={})


def log_size(url: str) -> int:
    ledger = open_ledger(url)
    try:
        return ledger.log_size()
    finally:
        ledger.close()


def test_an_import_records_the_file_and_a_second_run_records_nothing(url: str, tmp_path: Path) -> None:
    file = tmp_path / "plan.csv"
    file.write_text(GOOD, encoding="utf-8")
    before = log_size(url)

    dry = run(url, "import", str(file), "--as", str(partner_id(DIA)), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.strip().splitlines() == [
        "line 2: NZ-CLI-1 CommitmentCreated",
        "line 2: NZ-CLI-1 PartnerJoined",
        "line 2: NZ-CLI-1 MilestoneAdded",
        "line 2: NZ-CLI-1 MilestoneReached",
        "line 3: NZ-CLI-1 MilestoneAdded",
        "line 4: NZ0004 CommitmentAmended",
        f"{file}: 3 rows; 6 events would be recorded (1 CommitmentCreated, 1 PartnerJoined, 2 MilestoneAdded, "
        "1 MilestoneReached, 1 CommitmentAmended).",
    ]
    assert log_size(url) == before

    first = run(url, "import", str(file), "--as", str(partner_id(DIA)))
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == (
        f"{file}: 3 rows; 6 events recorded (1 CommitmentCreated, 1 PartnerJoined, 2 MilestoneAdded, "
        "1 MilestoneReached, 1 CommitmentAmended)."
    )
    assert log_size(url) == before + 6
    ledger = open_ledger(url)
    try:
        assert str(ledger.load_commitment(commitment_id("NZ0004")).ends_on) == "2016-12-31"
    finally:
        ledger.close()

    second = run(url, "import", str(file), "--as", str(partner_id(DIA)))
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == f"{file}: 3 rows; 0 events recorded."
    assert log_size(url) == before + 6


def test_bad_rows_are_one_line_each_and_nothing_is_recorded(url: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(
        f"{HEADER}\r\n"
        f"NZ-CLI-2,Fine on its own,{PLAN},2016-07-01,2018-06-30,,,,\r\n"
        f"NZ-CLI-3,Bad date,{PLAN},2016-07-01,2016-13-01,,,,\r\n"
        # The State Services Commission leads NZ0003: not the importing agency.
        "NZ0003,,,,2016-12-31,,,,Not ours\r\n",
        encoding="utf-8",
    )
    before = log_size(url)

    result = run(url, "import", str(file), "--as", str(partner_id(DIA)))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{file}:3: ends_on: Not a valid date.",
        f"{file}:4: external_ref: belongs to a commitment that this agency does not lead",
        f"Error: 2 bad row(s) in {file}: nothing was recorded",
    ]
    assert result.stdout == ""
    assert log_size(url) == before


def test_only_an_agency_imports_and_the_file_must_be_utf8(url: str, tmp_path: Path) -> None:
    file = tmp_path / "plan.csv"
    file.write_text(GOOD, encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("external_ref,title\r\nNZ-1,Māori\r\n".encode("latin-1", errors="replace") + b"\xff\r\n")
    before = log_size(url)

    community = run(url, "import", str(file), "--as", str(partner_id(HUI_E)))
    unknown = run(url, "import", str(file), "--as", "00000000-0000-0000-0000-000000000000")
    not_utf8 = run(url, "import", str(latin), "--as", str(partner_id(DIA)))

    assert community.exit_code == 1 and "is not an agency" in community.stderr
    assert unknown.exit_code == 1 and "no partner" in unknown.stderr
    assert not_utf8.exit_code == 1 and "is not UTF-8" in not_utf8.stderr
    for result in (community, unknown, not_utf8):
        assert len(result.stderr.strip().splitlines()) == 1
    assert log_size(url) == before
