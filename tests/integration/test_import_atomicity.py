"""An import is one unit of work on every store: a failure while its events are recorded
leaves nothing of it, and a concurrent write to one of its commitments makes the whole
file be planned again from the commitment as it then is (never half of it recorded, never
the other write lost)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from application.imports import ImportRefused, ImportRow
from application.ledger import Ledger
from domain.values import OgpValue
from tests.conftest import World

PLAN = "New Zealand National Action Plan 2016–18"


def rows(*specs: tuple[int, str, str]) -> list[ImportRow]:
    """Rows of new commitments with one milestone each: (line, external_ref, milestone title)."""
    return [
        ImportRow(
            line,
            {
                "external_ref": ref,
                "title": f"Commitment {ref}",
                "action_plan": PLAN,
                "starts_on": date(2016, 7, 1),
                "ends_on": date(2018, 6, 30),
                "ogp_values": [OgpValue.CIVIC_PARTICIPATION],
                "milestone_title": milestone,
                "milestone_due_on": date(2017, 6, 30),
            },
        )
        for line, ref, milestone in specs
    ]


def everything(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    return ledger.read_models.dump_read_models()


def test_a_failure_while_recording_leaves_nothing_of_the_import(
    ledger: Ledger, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, read_models = ledger.log_size(), everything(ledger)
    real = ledger.projector.project
    calls = []

    def failing(tx: Any, placed: Any, known: Any) -> None:
        calls.append(len(placed))
        real(tx, placed, known)  # the events are in the log and the read models, uncommitted
        raise OSError("the disk filled up")

    monkeypatch.setattr(ledger.projector, "project", failing)
    with pytest.raises(OSError):
        ledger.import_rows(
            rows((2, "NZ-A", "First"), (3, "NZ-B", "Second"), (4, "NZ-C", "Third")),
            actor=world.dia,
            request_id="atomic",
        )
    monkeypatch.undo()

    assert calls == [9], "all three commitments' events were appended in one go"
    assert ledger.log_size() == before
    assert everything(ledger) == read_models
    assert ledger.read_models.commitments_by_ref(["NZ-A", "NZ-B", "NZ-C"]) == {}


def test_a_concurrent_write_makes_the_file_be_planned_again(
    ledger: Ledger, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ledger.import_rows(rows((2, "NZ-A", "First")), actor=world.dia, request_id="first")
    assert len(first.events) == 3
    (commitment_id,) = ledger.read_models.commitments_by_ref(["NZ-A"])["NZ-A"]
    real = ledger.plan_import
    plans = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        if not plans:  # another request adds a milestone after the first plan was made
            ledger.add_milestone(
                commitment_id, title="Added meanwhile", due_on=date(2017, 1, 1), actor=world.dia, request_id="racer"
            )
        plans.append(plan)
        return plan

    monkeypatch.setattr(ledger, "plan_import", racing)
    outcome = ledger.import_rows(
        rows((2, "NZ-A", "Second"), (3, "NZ-B", "Other")), actor=world.dia, request_id="second"
    )

    assert len(plans) == 2, "the lost race was planned again"
    assert [(e.line, e.type) for e in outcome.events] == [
        (2, "MilestoneAdded"),
        (3, "CommitmentCreated"),
        (3, "PartnerJoined"),
        (3, "MilestoneAdded"),
    ]
    commitment = ledger.load_commitment(commitment_id)
    assert [m.title for m in commitment.milestones.values()] == ["First", "Added meanwhile", "Second"]
    assert ledger.read_models.commitments_by_ref(["NZ-B"]) != {}


def test_a_plan_made_again_after_a_race_can_find_bad_rows(
    ledger: Ledger, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.import_rows(rows((2, "NZ-A", "First")), actor=world.dia, request_id="first")
    (commitment_id,) = ledger.read_models.commitments_by_ref(["NZ-A"])["NZ-A"]
    real = ledger.plan_import
    plans = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        plan = real(*args, **kwargs)
        if not plans:  # the commitment is withdrawn meanwhile: it accepts no change now
            ledger.withdraw_commitment(commitment_id, reason="Merged", actor=world.dia, request_id="racer")
        plans.append(plan)
        return plan

    monkeypatch.setattr(ledger, "plan_import", racing)
    size = ledger.log_size()
    with pytest.raises(ImportRefused) as refused:
        ledger.import_rows(rows((2, "NZ-A", "Second"), (3, "NZ-B", "Other")), actor=world.dia, request_id="second")

    assert [(e.line, e.column) for e in refused.value.errors] == [(2, "milestone_title")]
    assert "withdrawn" in refused.value.errors[0].message
    assert ledger.log_size() == size + 1, "only the racer's withdrawal was recorded"
