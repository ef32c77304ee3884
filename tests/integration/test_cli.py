"""The ``tutahi`` command line on a SQLite file: what a person at a terminal sees."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from click.testing import CliRunner, Result

from interfaces.cli import main
from interfaces.composition import open_ledger


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", url, *args], obj={})


def test_demo_then_timeline_prints_the_plan_with_macrons(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"

    first = run(url, "demo")
    second = run(url, "demo")
    shown = run(url, "timeline")

    assert first.exit_code == 0, first.output
    assert "4 commitments" in first.stdout
    assert second.exit_code == 0 and "0 commitments, 0 events added" in second.stdout
    assert shown.exit_code == 0, shown.output
    assert "Kia Tūtahi" in shown.stdout and "Te Puni Kōkiri" in shown.stdout
    assert "2015-09-12" in shown.stdout, "the world date of the hui appears in the happened column"


def test_demo_copies_imports_the_plan_again_under_new_references(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"

    result = run(url, "demo", "--copies", "3")
    refused = run(url, "demo", "--copies", "-1")

    assert result.exit_code == 0, result.output
    assert "Copies: 3 of 3 imported" in result.stdout
    ledger = open_ledger(url)
    try:
        assert len(ledger.list_commitments(None, q="copy", limit=100).items) == 12
    finally:
        ledger.close()
    assert refused.exit_code == 2 and "-1" in refused.output


def test_partners_add_prints_the_new_id_alone_on_the_last_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"

    result = run(url, "partners", "add", "--name", "Ngāti Whātua Ōrākei", "--kind", "iwi_hapu")

    assert result.exit_code == 0, result.output
    partner_id = UUID(result.stdout.strip().splitlines()[-1])
    ledger = open_ledger(url)
    try:
        assert ledger.get_partner(partner_id)["name"] == "Ngāti Whātua Ōrākei"
    finally:
        ledger.close()
    listed = run(url, "partners", "list", "--q", "ngati whatua")
    assert "Ngāti Whātua Ōrākei" in listed.stdout


def test_refusals_are_one_line_errors_with_a_non_zero_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"

    empty_name = run(url, "partners", "add", "--name", "   ", "--kind", "iwi_hapu")
    bad_kind = run(url, "partners", "add", "--name", "X", "--kind", "charity")
    unknown = run(url, "timeline", "not-a-uuid")
    no_server = run("postgresql+psycopg://nobody@127.0.0.1:1/none", "demo")

    for result in (empty_name, bad_kind, unknown, no_server):
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert empty_name.stderr.strip().splitlines() == ["Error: name: must not be empty"]
    assert "not a UUID" in unknown.stderr
    assert no_server.stderr.strip().startswith("Error: cannot open the store")
    assert len(no_server.stderr.strip().splitlines()) == 1


def test_projections_rebuild_reproduces_the_read_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    run(url, "demo")
    ledger = open_ledger(url)
    try:
        before = ledger.read_models.dump_read_models()
        size = ledger.log_size()
    finally:
        ledger.close()

    result = run(url, "projections", "rebuild")

    assert result.exit_code == 0, result.output
    assert size > 0 and f"from {size} events" in result.stdout
    ledger = open_ledger(url)
    try:
        assert ledger.read_models.dump_read_models() == before
    finally:
        ledger.close()


def test_tokens_issue_speaks_good_english_and_tokens_list_prints_json_for_scripts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    auditor = run(url, "tokens", "issue", "--role", "auditor", "--name", "Office of the Auditor-General")
    admin = run(url, "tokens", "issue", "--role", "admin", "--name", "Tūtahi operator")
    added = run(url, "partners", "add", "--name", "Te Puni Kōkiri", "--kind", "agency")
    partner = added.stdout.strip().splitlines()[-1]
    agency = run(url, "tokens", "issue", "--role", "agency", "--partner", partner)

    assert auditor.exit_code == admin.exit_code == agency.exit_code == 0
    assert "Issued an auditor token" in auditor.stderr
    assert "Issued an admin token" in admin.stderr
    assert "Issued an agency token" in agency.stderr
    listed = run(url, "tokens", "list", "--json")
    assert listed.exit_code == 0, listed.output
    documents = json.loads(listed.stdout)
    assert [(d["role"], d["holder_name"]) for d in documents] == [
        ("auditor", "Office of the Auditor-General"),
        ("admin", "Tūtahi operator"),
        ("agency", "Te Puni Kōkiri"),
    ]
    assert all(set(d) == {"id", "role", "partner_id", "holder_name", "issued_at", "revoked_at"} for d in documents)
    assert documents[2]["partner_id"] == partner
    secret = agency.stdout.strip().splitlines()[-1]
    assert secret not in listed.stdout
    partners = json.loads(run(url, "partners", "list", "--json").stdout)
    assert [(p["id"], p["name"], p["kind"]) for p in partners] == [(partner, "Te Puni Kōkiri", "agency")]
    assert json.loads(run(url, "feeds", "list", "--json").stdout) == []


def test_plans_add_amend_and_list_and_their_mistakes_as_one_line_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/plans.db"
    assert run(url, "demo").exit_code == 0
    added = run(url, "plans", "add", "--name", "Mahere 2018–20", "--starts-on", "2018-07-01", "--ends-on", "2020-06-30")
    assert added.exit_code == 0, added.output
    plan_id = UUID(added.stdout.strip().splitlines()[-1])
    amended = run(
        url, "plans", "amend", str(plan_id), "--reason", "Adopted.", "--status", "adopted", "--on", "2018-09-01"
    )
    assert amended.exit_code == 0 and "version 2" in amended.stderr, amended.output

    listed = json.loads(run(url, "plans", "list", "--json").stdout)
    assert [p["name"] for p in listed] == [
        "Mahere 2018–20",
        "New Zealand National Action Plan 2016–18",
        "New Zealand National Action Plan 2014–16",
    ]
    assert listed[0]["status"] == "adopted" and listed[0]["amendments"][0]["occurred_on"] == "2018-09-01"
    assert listed[2]["commitments"] == 4  # the command line counts every commitment

    for args, message in (
        (("amend", str(plan_id), "--reason", "Back?", "--status", "consultation"), "does not go back"),
        (("add", "--name", "MAHERE 2018–20", "--starts-on", "2018-07-01", "--ends-on", "2020-06-30"), "that name"),
        (("add", "--name", "P", "--starts-on", "2020-07-01", "--ends-on", "2018-06-30"), "ends_on"),
        (("amend", "nope", "--reason", "R", "--status", "ended"), "not a UUID"),
        (("amend", str(plan_id), "--reason", "R"), "changes nothing"),
    ):
        failed = run(url, "plans", *args)
        assert failed.exit_code != 0 and message in failed.output, (args, failed.output)
        assert len(failed.output.strip().splitlines()) == 1 and "Traceback" not in failed.output
    with open_ledger(url) as ledger:
        assert ledger.plan(plan_id).version == 2
