"""The ActionPlan aggregate's rules alone: admins record and amend plans; a period ends
on or after it starts; a status moves forward only; an amendment needs a reason, a date
not in the future and a real change; a renamed plan answers to its former names. Each
refusal names its own error class and leaves the plan as it was (same version, no
pending event). The plan's events read back from their log documents to the same plan."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from application.logformat import document_bytes, read_event
from domain.action_plan import ActionPlan
from domain.errors import DomainError, InvalidValue, NothingChanged, NotPermitted
from domain.values import Actor, ActorRole, PlanStatus

ADMIN = Actor(ActorRole.ADMIN, uuid4(), "Tūtahi operator")
AGENCY = Actor(ActorRole.AGENCY, uuid4(), "Department of Internal Affairs")
NAME = "New Zealand National Action Plan 2016–18"


def plan(status: PlanStatus = PlanStatus.CONSULTATION) -> ActionPlan:
    made = ActionPlan.create(
        id=uuid4(),
        name=NAME,
        starts_on=date(2016, 7, 1),
        ends_on=date(2018, 6, 30),
        status=status,
        actor=ADMIN,
        request_id="t-1",
    )
    made.collect_events()
    return made


def amend(p: ActionPlan, reason: str = "Consultation extended.", on: date = date(2016, 4, 21), **changes: Any) -> None:
    p.amend(changes=changes, reason=reason, occurred_on=on, today=date(2026, 1, 1), actor=ADMIN, request_id="t-2")


def refused(p: ActionPlan, error: type[DomainError], command: Any) -> DomainError:
    before = (p.version, p.name, p.starts_on, p.ends_on, p.status, list(p.amendments))
    with pytest.raises(error) as raised:
        command()
    assert type(raised.value) is error
    assert (p.version, p.name, p.starts_on, p.ends_on, p.status, list(p.amendments)) == before
    assert p.collect_events() == []
    return raised.value


def test_only_an_admin_records_a_plan() -> None:
    with pytest.raises(NotPermitted):
        ActionPlan.create(
            id=uuid4(), name=NAME, starts_on=date(2016, 7, 1), ends_on=date(2018, 6, 30), actor=AGENCY, request_id="t"
        )


@pytest.mark.parametrize(
    ("name", "starts_on", "ends_on", "field"),
    [
        ("", date(2016, 7, 1), date(2018, 6, 30), "name"),
        ("Plan\x00", date(2016, 7, 1), date(2018, 6, 30), "name"),
        (NAME, date(2018, 7, 1), date(2016, 6, 30), "ends_on"),
        (NAME, date(1899, 12, 31), date(2016, 6, 30), "starts_on"),
        (NAME, date(2016, 7, 1), date(2200, 1, 1), "ends_on"),
    ],
)
def test_a_plan_needs_a_name_and_a_period_in_range(name: str, starts_on: date, ends_on: date, field: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        ActionPlan.create(id=uuid4(), name=name, starts_on=starts_on, ends_on=ends_on, actor=ADMIN, request_id="t")
    assert raised.value.field == field


def test_an_amendment_records_what_changed_why_and_when() -> None:
    p = plan()
    amend(p, starts_on=date(2016, 10, 1), name=NAME)  # the name is unchanged: not recorded
    (amendment,) = p.amendments
    assert amendment.changes == {"starts_on": date(2016, 10, 1)}
    assert (amendment.reason, amendment.occurred_on, amendment.actor_name) == (
        "Consultation extended.",
        date(2016, 4, 21),
        ADMIN.name,
    )
    assert p.starts_on == date(2016, 10, 1) and p.version == 2


def test_a_status_moves_forward_only() -> None:
    p = plan()
    amend(p, status="adopted")
    assert p.status is PlanStatus.ADOPTED
    p.collect_events()
    error = refused(p, InvalidValue, lambda: amend(p, status=PlanStatus.CONSULTATION))
    assert isinstance(error, InvalidValue) and error.field == "status"
    amend(p, status=PlanStatus.ENDED)
    assert p.status is PlanStatus.ENDED


def test_a_renamed_plan_answers_to_its_former_names() -> None:
    p = plan()
    amend(p, name="Open Government Partnership plan 2016–18")
    amend(p, name="Mahere 2016–18")
    assert p.names == ["Mahere 2016–18", "Open Government Partnership plan 2016–18", NAME]


@pytest.mark.parametrize(
    ("error", "changes", "reason", "on"),
    [
        (NothingChanged, {"status": "consultation"}, "No change.", date(2016, 4, 21)),
        (NothingChanged, {}, "Nothing.", date(2016, 4, 21)),
        (InvalidValue, {"title": "Not a field of a plan"}, "Why not.", date(2016, 4, 21)),
        (InvalidValue, {"ends_on": date(2016, 1, 1)}, "Before it starts.", date(2016, 4, 21)),
        (InvalidValue, {"ends_on": date(2018, 12, 31)}, "", date(2016, 4, 21)),
        (InvalidValue, {"ends_on": date(2018, 12, 31)}, "In the future.", date(2026, 1, 2)),
        (InvalidValue, {"status": "withdrawn"}, "No such status.", date(2016, 4, 21)),
    ],
)
def test_amendments_that_break_a_rule_are_refused_and_record_nothing(
    error: type[DomainError], changes: dict[str, Any], reason: str, on: date
) -> None:
    p = plan()
    if changes.get("status") == "withdrawn":
        with pytest.raises(ValueError):
            amend(p, reason, on, **changes)
        assert p.version == 1 and p.collect_events() == []
        return
    refused(p, error, lambda: amend(p, reason, on, **changes))


def test_only_an_admin_amends_a_plan() -> None:
    p = plan()
    refused(
        p,
        NotPermitted,
        lambda: p.amend(
            changes={"status": "adopted"}, reason="R.", occurred_on=date(2016, 5, 1), actor=AGENCY, request_id="t"
        ),
    )


def test_a_plans_events_read_back_from_their_documents_to_the_same_plan() -> None:
    p = ActionPlan.create(
        id=uuid4(), name=NAME, starts_on=date(2016, 7, 1), ends_on=date(2018, 6, 30), actor=ADMIN, request_id="t-1"
    )
    amend(p, starts_on=date(2016, 10, 1), name="Mahere 2016–18")
    amend(p, status="adopted", on=date(2016, 10, 1), reason="Adopted.")
    events = p.collect_events()
    copy: Any = None
    for position, event in enumerate(events):
        copy = read_event(document_bytes(event, position)).mutate(copy)
    assert (copy.name, copy.names, copy.starts_on, copy.status, copy.version) == (
        p.name,
        p.names,
        p.starts_on,
        PlanStatus.ADOPTED,
        3,
    )
    assert [(a.changes, a.reason, a.occurred_on) for a in copy.amendments] == [
        (a.changes, a.reason, a.occurred_on) for a in p.amendments
    ]
