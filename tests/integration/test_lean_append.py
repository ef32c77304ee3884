"""A lean append: every single-event command, on a warm aggregate, issues at most 7 SQL
statements, all on the one connection of its transaction: the cached aggregate's
fast-forward read, the log's head and the event row, and the read models' rows (the
partner timeline's copies are made by the database's triggers). Counted with
SQLAlchemy's ``before_cursor_execute`` event on the SQLite file and PostgreSQL stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from application.ledger import CommandResult, Ledger
from domain.values import Actor, AssessmentStage, Completion, PartnerRole, Response
from infrastructure.store import engine_of
from interfaces.composition import open_ledger
from tests.conftest import ADMIN, ASSESSOR, World, make_world, store_url_for

MOST = 7


@pytest.fixture(params=("sqlite", "postgres"))
def ledger(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Ledger]:
    app = open_ledger(store_url_for(request.param, tmp_path))
    try:
        yield app
    finally:
        app.close()


@contextmanager
def counted(ledger: Ledger) -> Iterator[list[tuple[int, str]]]:
    """The (connection, statement) of every SQL statement issued meanwhile."""
    statements: list[tuple[int, str]] = []

    def seen(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append((id(connection.connection.dbapi_connection), statement))

    engine = engine_of(ledger.recorder)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def setting(ledger: Ledger, world: World) -> tuple[UUID, UUID, UUID, UUID]:
    """A commitment led by DIA with TPK supporting, Hui E! and TINZ in it, a milestone
    and two joint actions naming Hui E! (by DIA and by TPK)."""
    dia = world.dia
    cid = ledger.create_commitment(
        title="Review progress of the Kia Tūtahi Relationship Accord",
        description="",
        action_plan="Plan",
        external_ref="NZ0004",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[],
        actor=dia,
        request_id="set-1",
    ).aggregate_id
    for partner, role in ((world.tpk, PartnerRole.SUPPORT), (world.hui_e, PartnerRole.COMMUNITY)):
        ledger.add_partner(cid, partner_id=partner.id, role=role, actor=dia, request_id="set-2")
    milestone = ledger.add_milestone(cid, title="Hui", due_on=date(2015, 3, 1), actor=dia, request_id="set-3")
    action = ledger.record_joint_action(
        cid, summary="Hui", occurred_on=date(2015, 3, 1), partner_ids=[world.hui_e.id], actor=dia, request_id="set-4"
    )
    second = ledger.record_joint_action(
        cid, summary="Hui", occurred_on=date(2015, 3, 2), partner_ids=[world.hui_e.id], actor=world.tpk, request_id="5"
    )
    assert milestone.created_id is not None and action.created_id is not None and second.created_id is not None
    return cid, milestone.created_id, action.created_id, second.created_id


def commands(
    world: World, cid: UUID, milestone: UUID, action: UUID, withdrawn: UUID
) -> dict[str, Callable[[Ledger], CommandResult]]:
    dia, tpk, hui_e = world.dia, world.tpk, world.hui_e
    rid = {"request_id": "counted"}
    return {
        "record a joint action": lambda led: led.record_joint_action(
            cid, summary="Wānanga", occurred_on=date(2015, 4, 1), partner_ids=[hui_e.id], actor=tpk, **rid
        ),
        "add a milestone": lambda led: led.add_milestone(
            cid, title="Report", due_on=date(2016, 1, 1), actor=dia, **rid
        ),
        "change a milestone": lambda led: led.change_milestone(
            cid, milestone, due_on=date(2015, 3, 3), reason="Moved", actor=dia, **rid
        ),
        "withdraw a joint action": lambda led: led.withdraw_action(
            cid, withdrawn, reason="Recorded twice", actor=tpk, **rid
        ),
        "reach a milestone": lambda led: led.reach_milestone(
            cid, milestone, reached_on=date(2015, 3, 2), actor=tpk, **rid
        ),
        "respond to an action": lambda led: led.respond_to_action(
            cid, action, response=Response.CONFIRMED, actor=hui_e, **rid
        ),
        "amend": lambda led: led.amend_commitment(
            cid, changes={"title": "Review of the accord"}, reason="Shorter", actor=dia, **rid
        ),
        "report progress": lambda led: led.report_progress(
            cid, completion=Completion.LIMITED, note="Under way", actor=dia, **rid
        ),
        "add a partner": lambda led: led.add_partner(
            cid, partner_id=world.tinz.id, role=PartnerRole.COMMUNITY, actor=dia, **rid
        ),
        "remove a partner": lambda led: led.remove_partner(
            cid, partner_id=world.tinz.id, reason="Stepped back", actor=dia, **rid
        ),
        "rename a partner": lambda led: led.rename_partner(
            world.tinz.id, name="TINZ", reason="Its short name", actor=ADMIN, **rid
        ),
        "record an assessment": lambda led: led.record_assessment(
            cid,
            stage=AssessmentStage.MID_TERM,
            assessed_on=date(2015, 12, 1),
            completion=Completion.LIMITED,
            actor=ASSESSOR,
            **rid,
        ),
        "withdraw": lambda led: led.withdraw_commitment(cid, reason="Folded into another", actor=dia, **rid),
    }


def warm(ledger: Ledger, actor: Actor, cid: UUID) -> None:
    """Loads the aggregates a command reads into the cache (a process's steady state)."""
    ledger.current_version(cid, actor)
    for partner_id in [m.partner_id for m in ledger.load_commitment(cid).partners.values()]:
        ledger.load_partner(partner_id)


def test_every_single_event_command_issues_at_most_seven_statements_on_one_connection(ledger: Ledger) -> None:
    world = make_world(ledger)
    cid, milestone, action, withdrawn = setting(ledger, world)
    ledger.load_partner(world.tinz.id)
    for name, command in commands(world, cid, milestone, action, withdrawn).items():
        warm(ledger, world.dia, cid)
        before = ledger.log_size()
        with counted(ledger) as statements:
            command(ledger)
        assert ledger.log_size() == before + 1, f"{name}: one event"
        shown = "\n".join(sql for _, sql in statements)
        assert len(statements) <= MOST, f"{name}: {len(statements)} statements:\n{shown}"
        assert len({connection for connection, _ in statements}) == 1, f"{name}: more than one connection"
        assert any("tutahi_event_log" in sql for _, sql in statements), f"{name}: the event was not counted"
