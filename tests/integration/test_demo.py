"""The demo data: New Zealand's 2014–16 plan, loaded once however often it runs, and
read models that a rebuild from the log reproduces row for row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from application.demo import PLAN, SECOND_PLAN, commitment_id, import_copies, load_demo, plan_copy, plan_id
from application.ledger import Ledger


def test_the_demo_loads_the_2014_16_plan_as_product_md_describes(ledger: Ledger) -> None:
    result = load_demo(ledger)

    summaries = ledger.list_commitments(None, action_plan=PLAN).items
    assert [s.external_ref for s in summaries] == ["NZ0001", "NZ0002", "NZ0003", "NZ0004"]
    assert sum(s.milestones_total for s in summaries) == 9
    assert result.commitments_added == 4 and result.partners_added == 9
    for summary in summaries:
        document = ledger.get_commitment(summary.id)
        # The lead agency's own report: the government's mid-term self-assessment.
        assert [(p["completion"], p["as_of"]) for p in document["progress"]] == [("substantial", "2015-09-22")]
        # The IRM's ratings are assessments by the IRM, never reports by the lead agency.
        assessments = [(a["stage"], a["completion"], a["assessor"]["name"]) for a in document["assessments"]]
        assert assessments == [
            ("mid_term", "limited", "Independent Reporting Mechanism"),
            ("end_of_term", "substantial", "Independent Reporting Mechanism"),
        ]
        assert document["assessed_completion"] == "substantial" and summary.assessed_completion == "substantial"
        for assessment in document["assessments"]:
            assert "illustrative" in assessment["note"], "the data says which dates are not published"
        entries = ledger.timeline(summary.id, limit=1000).items
        assessed = [e for e in entries if e.kind == "assessment_recorded"]
        assert len(assessed) == 2 and all(e.actor_name == "Independent Reporting Mechanism" for e in assessed)
        assert all(e.summary.startswith("Independent Reporting Mechanism assessed completion as") for e in assessed)
        lead_name = next(p["name"] for p in document["partners"] if p["role"] == "lead")
        assert not any(e.actor_name == lead_name and "Independent" in e.summary for e in entries)
        assert {e.occurred_on for e in assessed} == {date(2015, 6, 30), date(2017, 2, 28)}
        reported = [e for e in entries if e.kind == "progress_reported"]
        assert [e.occurred_on for e in reported] == [date(2015, 9, 22)]
        assert document["starts_on"] == "2014-07-01" and document["ends_on"] == "2016-06-30"
        for milestone in document["milestones"]:
            assert "illustrative" in milestone["title"]
            if milestone["reached_on"]:
                assert "2014" <= milestone["reached_on"][:4] <= "2016"
    accord = ledger.get_commitment(commitment_id("NZ0004"))
    assert accord["title"] == "Review progress of the Kia Tūtahi Relationship Accord"
    names = {p["name"]: p["role"] for p in accord["partners"]}
    assert names["Department of Internal Affairs"] == "lead"
    assert names["Te Puni Kōkiri"] == "support"
    assert names["Hui E! Community Aotearoa"] == "community"
    responses = [r["response"] for a in accord["actions"] for r in a["responses"]]
    assert responses == ["confirmed", "confirmed", "confirmed"]
    integrity = ledger.get_commitment(commitment_id("NZ0003"))
    assert [r["response"] for a in integrity["actions"] for r in a["responses"]] == ["confirmed", "disputed"]
    # A community partner records what it did with an agency, which confirms it.
    hui_e = names_to_ids(accord)["Hui E! Community Aotearoa"]
    by_community = [a for a in accord["actions"] if a["recorded_by"] == hui_e]
    assert len(by_community) == 1 and by_community[0]["responses"][0]["response"] == "confirmed"
    # The plan's own table of OGP values; what the published record does not say is marked.
    values = {s.external_ref: ledger.get_commitment(s.id)["ogp_values"] for s in summaries}
    assert len(values["NZ0001"]) == len(values["NZ0002"]) == 4 and len(values["NZ0003"]) == 3
    assert values["NZ0004"] == ["civic_participation"]
    assert "illustrative" in ledger.get_commitment(commitment_id("NZ0001"))["description"], "MSD's role"
    assert "illustrative" in integrity["description"], "which three values NZ0003 serves"


def test_the_demo_records_both_plans_with_their_amendments_and_the_first_plans_roll_up(ledger: Ledger) -> None:
    result = load_demo(ledger)
    assert result.plans_added == 2
    assert [row.name for row in ledger.plan_rows()] == [SECOND_PLAN, PLAN]  # the latest first

    first = ledger.get_plan(plan_id(PLAN))
    assert (first["starts_on"], first["ends_on"], first["status"]) == ("2014-07-01", "2016-06-30", "ended")
    assert [(a["occurred_on"], a["changes"]) for a in first["amendments"]] == [("2016-06-30", {"status": "ended"})]
    # Its four commitments and nine milestones, rolled up: all four self-reported and
    # assessed (the IRM's latest, end-of-term rating) as substantial.
    assert first["commitments"] == 4
    assert first["completion_counts"]["substantial"] == 4 and first["completion_counts"]["not_reported"] == 0
    assert first["assessed_completion_counts"]["substantial"] == 4
    assert (first["milestones_due"], first["milestones_reached"], first["milestones_overdue"]) == (9, 7, 2)

    second = ledger.get_plan(plan_id(SECOND_PLAN))
    extension, adopted, ended = second["amendments"]
    assert extension["occurred_on"] == "2016-04-21" and "extended the consultation" in extension["reason"]
    assert extension["changes"] == {"starts_on": "2016-10-01"}
    assert [adopted["changes"], ended["changes"]] == [{"status": "adopted"}, {"status": "ended"}]
    assert second["commitments"] == 0 and second["status"] == "ended"
    # Each plan's events are in the log, which verifies with them.
    types = [e["type"] for e in ledger.log_documents(None, 1000)[0] if e["aggregate_type"] == "action_plan"]
    assert types.count("ActionPlanCreated") == 2 and types.count("ActionPlanAmended") == 4


def names_to_ids(document: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["id"] for p in document["partners"]}


def test_running_the_demo_twice_changes_nothing_the_second_time(ledger: Ledger) -> None:
    load_demo(ledger)
    size = ledger.log_size()
    rows = ledger.read_models.dump_read_models()

    again = load_demo(ledger)

    assert (again.partners_added, again.plans_added, again.commitments_added, again.events_added) == (0, 0, 0, 0)
    assert ledger.log_size() == size
    assert ledger.read_models.dump_read_models() == rows


def test_search_ignores_case_and_macrons_in_the_demo(ledger: Ledger) -> None:
    load_demo(ledger)
    found = ledger.list_commitments(None, q="kia tutahi").items
    assert [s.external_ref for s in found] == ["NZ0004"]
    assert [s.external_ref for s in ledger.list_commitments(None, q="KŌKIRI").items] == ["NZ0004"]


def test_a_rebuild_after_the_demo_yields_exactly_the_rows_written_live(ledger: Ledger) -> None:
    load_demo(ledger)
    live = ledger.read_models.dump_read_models()
    assert all(live[table] for table in live), "every read model has rows after the demo"

    count = ledger.rebuild_read_models()

    assert count == ledger.log_size()
    assert ledger.read_models.dump_read_models() == live


def test_copies_of_the_plan_import_in_batches_once_each_and_verify(ledger: Ledger) -> None:
    seen: list[tuple[int, int]] = []
    first = import_copies(ledger, 5, per_transaction=2, progress=lambda done, total: seen.append((done, total)))
    per_plan = sum(commitment.version for commitment in plan_copy(1))

    assert (first.copies_added, first.events_added) == (5, 5 * per_plan)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    refs = sorted(s.external_ref for s in ledger.list_commitments(None, q="copy", limit=100).items)
    assert refs == sorted(f"NZ000{n}-copy-{c}" for n in range(1, 5) for c in range(1, 6))
    original = ledger.get_commitment(commitment_id("NZ0004"))
    copied = ledger.get_commitment(commitment_id("NZ0004-copy-3"))
    assert copied["title"] == original["title"] and copied["id"] != original["id"]
    assert [a["summary"] for a in copied["actions"]] == [a["summary"] for a in original["actions"]]
    size = ledger.log_size()

    again = import_copies(ledger, 6, per_transaction=4)  # copies 1-5 are there: only 6 is new

    assert (again.copies_added, again.events_added) == (1, per_plan)
    assert ledger.log_size() == size + per_plan
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


def test_copies_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        plan_copy(0)
