"""The demo data: New Zealand's 2014–16 plan, loaded once however often it runs, and
read models that a rebuild from the log reproduces row for row."""

from __future__ import annotations

import pytest

from application.demo import PLAN, commitment_id, import_copies, load_demo, plan_copy
from application.ledger import Ledger


def test_the_demo_loads_the_2014_16_plan_as_product_md_describes(ledger: Ledger) -> None:
    result = load_demo(ledger)

    summaries = ledger.list_commitments(None, action_plan=PLAN).items
    assert [s.external_ref for s in summaries] == ["NZ0001", "NZ0002", "NZ0003", "NZ0004"]
    assert sum(s.milestones_total for s in summaries) == 9
    assert result.commitments_added == 4 and result.partners_added == 9
    for summary in summaries:
        document = ledger.get_commitment(summary.id)
        assert [p["completion"] for p in document["progress"]] == ["limited", "substantial"]
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
    assert responses == ["confirmed", "confirmed"]
    integrity = ledger.get_commitment(commitment_id("NZ0003"))
    assert [r["response"] for a in integrity["actions"] for r in a["responses"]] == ["confirmed", "disputed"]


def test_running_the_demo_twice_changes_nothing_the_second_time(ledger: Ledger) -> None:
    load_demo(ledger)
    size = ledger.log_size()
    rows = ledger.read_models.dump_read_models()

    again = load_demo(ledger)

    assert (again.partners_added, again.commitments_added, again.events_added) == (0, 0, 0)
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
