"""Narratives of real use, through the Ledger's use cases and queries, on every store:
what agencies record, what community partners and auditors then read, as documents,
versions, instants, histories, diffs, timelines, lists and rebuilt read models."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID

import pytest

from application.errors import BadQuery, NotFound, VersionMismatch
from application.ledger import CommandResult, Ledger
from application.log import documents_of
from application.ports import Page
from domain.errors import ActionWithdrawn, AlreadyResponded, NotPartner
from domain.values import (
    Actor,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerRole,
    Response,
    Visibility,
)
from tests.conftest import ADMIN, AUDITOR, World, record_legacy_action
from tests.contract import COMMITMENT_FIELDS

T = TypeVar("T")

PLAN_2014 = "New Zealand National Action Plan 2014–16"
PLAN_2016 = "New Zealand National Action Plan 2016–18"
KIA_TUTAHI = "Review progress of the Kia Tūtahi Relationship Accord"
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NZDT = timezone(timedelta(hours=13))


def create(
    ledger: Ledger,
    lead: Actor,
    *,
    title: str = KIA_TUTAHI,
    ref: str = "NZ0004",
    plan: str = PLAN_2014,
    visibility: Visibility = Visibility.PUBLIC,
    request_id: str | None = None,
) -> UUID:
    result = ledger.create_commitment(
        title=title,
        description="Review how the accord's principles are put into practice.",
        action_plan=plan,
        external_ref=ref,
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.PUBLIC_ACCOUNTABILITY, OgpValue.CIVIC_PARTICIPATION],
        visibility=visibility,
        actor=lead,
        request_id=request_id or f"create-{ref}",
    )
    return result.aggregate_id


def made(result: CommandResult) -> UUID:
    assert result.created_id is not None
    return result.created_id


def join(ledger: Ledger, cid: UUID, partner: Actor, role: PartnerRole, by: Actor) -> CommandResult:
    return ledger.add_partner(cid, partner_id=partner.id, role=role, actor=by, request_id=f"join-{partner.name}")


def parse_instant(text: str) -> datetime:
    assert INSTANT.match(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def instant_between_commands() -> datetime:
    """An instant strictly after everything recorded so far and before anything next."""
    time.sleep(0.002)
    now = datetime.now(UTC)
    time.sleep(0.002)
    return now


def follow(fetch: Callable[[str | None], Page[T]]) -> list[Page[T]]:
    """Every page of a cursor list, from the first to the one whose ``next`` is None."""
    pages: list[Page[T]] = []
    after: str | None = None
    while True:
        page = fetch(after)
        pages.append(page)
        if page.next is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"
        after = page.next


def rich_history(ledger: Ledger, w: World) -> tuple[UUID, UUID, UUID]:
    """NZ0004 as it might have gone: partners join, a milestone is reached, a joint action
    (an aggregate of its own) is confirmed by one partner and disputed by another,
    progress is reported twice (as at the mid-term and the end of term), the
    title amended, a partner leaves, and the commitment is withdrawn. Returns the
    commitment, its milestone and its joint action."""
    cid = create(ledger, w.dia)
    join(ledger, cid, w.msd, PartnerRole.SUPPORT, w.dia)
    join(ledger, cid, w.hui_e, PartnerRole.COMMUNITY, w.dia)
    join(ledger, cid, w.iwi, PartnerRole.COMMUNITY, w.dia)
    milestone = made(
        ledger.add_milestone(
            cid, title="Accord review published", due_on=date(2015, 6, 30), actor=w.dia, request_id="m"
        )
    )
    ledger.reach_milestone(
        cid,
        milestone,
        reached_on=date(2015, 6, 12),
        evidence_url="https://www.dia.govt.nz/kia-tutahi",
        actor=w.msd,
        request_id="reach",
    )
    action = made(
        ledger.record_joint_action(
            cid,
            summary="Hui on the accord's principles at Parliament",
            occurred_on=date(2015, 8, 1),
            partner_ids=[w.hui_e.id, w.iwi.id],
            actor=w.msd,
            request_id="action",
        )
    )
    ledger.respond_to_action(cid, action, response=Response.CONFIRMED, note="Tautoko", actor=w.hui_e, request_id="c")
    ledger.respond_to_action(
        cid, action, response=Response.DISPUTED, note="We were not at that hui", actor=w.iwi, request_id="d"
    )
    ledger.report_progress(
        cid,
        completion=Completion.LIMITED,
        note="Mid-term: limited",
        as_of=date(2015, 6, 30),
        actor=w.dia,
        request_id="p1",
    )
    ledger.amend_commitment(
        cid,
        changes={"title": "Review the Kia Tūtahi Relationship Accord", "ends_on": date(2016, 12, 31)},
        reason="extended after the mid-term review",
        actor=w.dia,
        request_id="amend",
    )
    ledger.report_progress(
        cid,
        completion=Completion.SUBSTANTIAL,
        note="End of term: substantial",
        as_of=date(2016, 6, 30),
        actor=w.dia,
        request_id="p2",
    )
    ledger.remove_partner(cid, partner_id=w.hui_e.id, reason="no capacity this year", actor=w.hui_e, request_id="l")
    ledger.withdraw_commitment(cid, reason="folded into the 2016–18 plan", actor=w.dia, request_id="w")
    return cid, milestone, action


RICH_KINDS = [
    "created",
    "partner_joined",
    "partner_joined",
    "partner_joined",
    "partner_joined",
    "milestone_added",
    "milestone_reached",
    "joint_action_recorded",
    "joint_action_confirmed",
    "joint_action_disputed",
    "progress_reported",
    "amended",
    "progress_reported",
    "partner_left",
    "withdrawn",
]


# -- documents, versions, instants ---------------------------------------------------


def test_a_new_commitment_is_a_document_with_every_field_of_the_contract(ledger: Ledger, world: World) -> None:
    """DIA creates NZ0004 (its title given decomposed) and becomes its lead; the document
    has every field docs/api.md names, text composed, dates and instants in their formats."""
    started = datetime.now(UTC)
    result = ledger.create_commitment(
        title=unicodedata.normalize("NFD", KIA_TUTAHI),
        description="Review how the accord's principles are put into practice.",
        action_plan=PLAN_2014,
        external_ref=" NZ0004 ",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.PUBLIC_ACCOUNTABILITY, OgpValue.CIVIC_PARTICIPATION, OgpValue.CIVIC_PARTICIPATION],
        actor=world.dia,
        request_id="create",
    )
    document = ledger.get_commitment(result.aggregate_id)
    assert set(document) >= COMMITMENT_FIELDS
    assert result.created_id == result.aggregate_id
    assert UUID_TEXT.match(document["id"]) and document["id"] == str(result.aggregate_id)
    assert document["version"] == result.version == 2  # created, then its lead joined
    assert document["title"] == KIA_TUTAHI and unicodedata.is_normalized("NFC", document["title"])
    assert document["description"] == "Review how the accord's principles are put into practice."
    assert document["action_plan"] == PLAN_2014
    assert document["external_ref"] == "NZ0004"
    assert (document["starts_on"], document["ends_on"]) == ("2014-07-01", "2016-06-30")
    assert document["ogp_values"] == ["civic_participation", "public_accountability"]
    assert (document["visibility"], document["status"], document["completion"]) == ("public", "active", None)
    assert (document["milestones"], document["actions"]) == ([], [])
    [lead] = document["partners"]
    assert {k: lead[k] for k in ("id", "name", "role")} == {
        "id": str(world.dia.id),
        "name": "Department of Internal Affairs",
        "role": "lead",
    }
    created_at, updated_at = parse_instant(document["created_at"]), parse_instant(document["updated_at"])
    joined_at = parse_instant(lead["joined_at"])
    assert started <= created_at <= joined_at == updated_at <= datetime.now(UTC)
    assert result.position == ledger.commitment_history(result.aggregate_id)[-1]["position"]


def test_the_lead_adds_a_milestone_a_support_agency_reaches_it_the_community_partner_sees_it(
    ledger: Ledger, world: World
) -> None:
    """The timeline a community partner reads names who reached the milestone, and when
    it was reached in the world as well as when it was recorded."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    milestone = made(
        ledger.add_milestone(
            cid, title="Accord review published", due_on=date(2015, 6, 30), actor=world.dia, request_id="m"
        )
    )
    reached = ledger.reach_milestone(
        cid,
        milestone,
        reached_on=date(2015, 6, 12),
        evidence_url="https://www.dia.govt.nz/kia-tutahi",
        note="Published on the department's site",
        actor=world.msd,
        request_id="reach",
    )

    newest, added = ledger.timeline(cid, world.hui_e).items[:2]
    assert newest.kind == "milestone_reached"
    assert (newest.actor_id, newest.actor_name) == (world.msd.id, "Ministry of Social Development")
    assert newest.summary == (
        "Ministry of Social Development reported the milestone “Accord review published” reached on 12 June 2015."
    )
    assert newest.occurred_on == date(2015, 6, 12)
    assert (newest.version, newest.position) == (reached.version, reached.position)
    assert added.kind == "milestone_added" and added.actor_name == "Department of Internal Affairs"
    assert added.summary == (
        "Department of Internal Affairs added the milestone “Accord review published”, due 30 June 2015."
    )
    assert added.occurred_on == date(2015, 6, 30)  # the date it describes: when it is due
    assert ledger.partner_timeline(world.hui_e.id, world.hui_e).items[0] == newest

    [document_milestone] = ledger.get_commitment(cid, world.hui_e)["milestones"]
    assert document_milestone == {
        "id": str(milestone),
        "title": "Accord review published",
        "due_on": "2015-06-30",
        "reached_on": "2015-06-12",
        "evidence_url": "https://www.dia.govt.nz/kia-tutahi",
        "note": "Published on the department's site",
    }
    [summary] = ledger.list_commitments(world.hui_e, partner_id=world.hui_e.id).items
    assert (summary.milestones_total, summary.milestones_reached, summary.version) == (1, 1, reached.version)


def test_a_joint_action_shows_the_claim_and_each_partners_response(ledger: Ledger, world: World) -> None:
    """MSD records a hui with Hui E! and an iwi; one confirms, the other disputes; the
    document and the timeline show the claim and both answers."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    join(ledger, cid, world.iwi, PartnerRole.COMMUNITY, world.dia)
    action = made(
        ledger.record_joint_action(
            cid,
            summary="Hui on the accord's principles",
            occurred_on=date(2015, 8, 1),
            partner_ids=[world.hui_e.id, world.iwi.id],
            evidence_url="https://example.org/hui",
            actor=world.msd,
            request_id="action",
        )
    )
    ledger.respond_to_action(
        cid, action, response=Response.CONFIRMED, note="Tautoko", actor=world.hui_e, request_id="c"
    )
    ledger.respond_to_action(
        cid, action, response=Response.DISPUTED, note="We were not there", actor=world.iwi, request_id="d"
    )

    [document_action] = ledger.get_commitment(cid)["actions"]
    assert document_action["id"] == str(action)
    assert document_action["summary"] == "Hui on the accord's principles"
    assert document_action["occurred_on"] == "2015-08-01"
    assert document_action["recorded_by"] == str(world.msd.id)
    assert document_action["partner_ids"] == [str(world.hui_e.id), str(world.iwi.id)]
    assert [(r["partner_id"], r["response"], r["note"]) for r in document_action["responses"]] == [
        (str(world.hui_e.id), "confirmed", "Tautoko"),
        (str(world.iwi.id), "disputed", "We were not there"),
    ]
    disputed, confirmed, recorded = ledger.timeline(cid).items[:3]
    assert disputed.kind == "joint_action_disputed" and disputed.occurred_on is None
    assert disputed.summary == "Ngāti Whātua Ōrākei disputed the joint action “Hui on the accord's principles”. " + (
        "Note: We were not there"
    )
    assert confirmed.kind == "joint_action_confirmed"
    assert confirmed.summary.startswith("Hui E! Community Aotearoa confirmed the joint action")
    assert recorded.kind == "joint_action_recorded" and recorded.occurred_on == date(2015, 8, 1)
    assert recorded.summary == (
        "Ministry of Social Development recorded a joint action with Hui E! Community Aotearoa and "
        "Ngāti Whātua Ōrākei on 1 August 2015: Hui on the accord's principles"
    )


def test_a_joint_action_changes_as_an_aggregate_of_its_own_and_never_moves_the_commitment(
    ledger: Ledger, world: World
) -> None:
    """Hui E! (a community partner) records a hui with MSD and the iwi; MSD confirms, the
    iwi disputes, Hui E! withdraws it. Each command moves the action's version (what
    ``expected_version`` is checked against) and leaves the commitment's as it was; the
    commitment's document shows the action as it is, or was at an instant."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    join(ledger, cid, world.iwi, PartnerRole.COMMUNITY, world.dia)
    version = ledger.current_version(cid)
    history = ledger.commitment_history(cid)

    recorded = ledger.record_joint_action(
        cid,
        summary="Wānanga on the accord at the marae",
        occurred_on=date(2015, 9, 12),
        partner_ids=[world.msd.id, world.iwi.id],
        actor=world.hui_e,
        request_id="action",
        expected_version=version,
    )
    action = made(recorded)
    confirmed = ledger.respond_to_action(
        cid, action, response=Response.CONFIRMED, actor=world.msd, request_id="c", expected_version=1
    )
    between = instant_between_commands()
    disputed = ledger.respond_to_action(
        cid,
        action,
        response=Response.DISPUTED,
        note="Not a wānanga",
        actor=world.iwi,
        request_id="d",
        expected_version=2,
    )
    withdrawn = ledger.withdraw_action(
        cid, action, reason="Recorded on the wrong commitment", actor=world.hui_e, request_id="w", expected_version=3
    )

    results = [recorded, confirmed, disputed, withdrawn]
    assert [(r.aggregate_id, r.version, r.commitment_version) for r in results] == [
        (action, 1, version),
        (action, 2, version),
        (action, 3, version),
        (action, 4, version),
    ]
    assert recorded.created_id == action
    assert ledger.current_version(cid) == version
    assert ledger.commitment_history(cid) == history, "the commitment's own stream is as it was"
    shown = ledger.get_action(cid, action)
    assert ledger.get_commitment(cid)["actions"] == [shown] and withdrawn.document == shown
    assert (shown["version"], shown["status"], shown["withdrawal_reason"]) == (
        4,
        "withdrawn",
        "Recorded on the wrong commitment",
    )
    assert (shown["recorded_by"], shown["partner_ids"]) == (str(world.hui_e.id), [str(world.msd.id), str(world.iwi.id)])
    assert [(r["partner_id"], r["response"]) for r in shown["responses"]] == [
        (str(world.msd.id), "confirmed"),
        (str(world.iwi.id), "disputed"),
    ]
    [then] = ledger.get_commitment(cid, as_of=between)["actions"]
    assert (then["version"], then["status"], len(then["responses"])) == (2, "recorded", 1)
    assert ledger.get_commitment(cid, as_of=between)["version"] == version

    entries = ledger.timeline(cid).items[:4]
    assert [(e.kind, e.aggregate_id, e.version) for e in entries] == [
        ("joint_action_withdrawn", action, version),
        ("joint_action_disputed", action, version),
        ("joint_action_confirmed", action, version),
        ("joint_action_recorded", action, version),
    ]
    assert [e.position for e in entries] == [r.position for r in reversed(results)]
    assert entries[0].summary == (
        "Hui E! Community Aotearoa withdrew the joint action “Wānanga on the accord at the marae”: "
        "Recorded on the wrong commitment"
    )
    assert entries[3].summary == (
        "Hui E! Community Aotearoa recorded a joint action with Ministry of Social Development and "
        "Ngāti Whātua Ōrākei on 12 September 2015: Wānanga on the accord at the marae"
    )
    with pytest.raises(ActionWithdrawn):
        ledger.respond_to_action(cid, action, response=Response.CONFIRMED, actor=world.msd, request_id="late")
    with pytest.raises(VersionMismatch):
        ledger.withdraw_action(cid, action, reason="again", actor=world.hui_e, request_id="w2", expected_version=3)

    # A partner named in an action that then leaves the commitment no longer answers it.
    second = made(
        ledger.record_joint_action(
            cid,
            summary="Second hui",
            occurred_on=date(2015, 10, 1),
            partner_ids=[world.iwi.id],
            actor=world.dia,
            request_id="second",
        )
    )
    ledger.remove_partner(cid, partner_id=world.iwi.id, reason="stepped back", actor=world.iwi, request_id="left")
    with pytest.raises(NotPartner):
        ledger.respond_to_action(cid, second, response=Response.CONFIRMED, actor=world.iwi, request_id="after")
    assert ledger.get_action(cid, second)["version"] == 1
    other = create(ledger, world.dia, ref="NZ0002")
    with pytest.raises(NotFound):
        ledger.get_action(other, second)
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


def test_a_commitment_shows_its_legacy_and_its_new_joint_actions_together(ledger: Ledger, world: World) -> None:
    """A commitment of a store of release 0.1.0 holds joint actions in its own stream;
    recorded today, they are aggregates of their own. Its document lists both kinds, in
    the order recorded; a response to the legacy one is the commitment's next event, a
    response to the new one the action's; both reach the timeline and the rebuilt read models."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    join(ledger, cid, world.iwi, PartnerRole.COMMUNITY, world.dia)
    legacy = record_legacy_action(
        ledger,
        cid,
        summary="Hui recorded in 2015",
        occurred_on=date(2015, 8, 1),
        partner_ids=[world.hui_e.id, world.iwi.id],
        actor=world.dia,
    )
    new = made(
        ledger.record_joint_action(
            cid,
            summary="Hui recorded today",
            occurred_on=date(2016, 2, 1),
            partner_ids=[world.hui_e.id],
            actor=world.iwi,
            request_id="new",
        )
    )
    version = ledger.current_version(cid)

    to_legacy = ledger.respond_to_action(
        cid, legacy, response=Response.DISPUTED, note="Not us", actor=world.hui_e, request_id="r1", expected_version=1
    )
    to_new = ledger.respond_to_action(
        cid, new, response=Response.CONFIRMED, actor=world.hui_e, request_id="r2", expected_version=1
    )

    assert (to_legacy.aggregate_id, to_legacy.version) == (cid, version + 1)
    assert to_legacy.action(legacy)["version"] == 2
    assert (to_new.aggregate_id, to_new.version, to_new.commitment_version) == (new, 2, version + 1)
    assert ledger.current_version(cid) == version + 1
    assert ledger.commitment_history(cid)[-1]["type"] == "JointActionDisputed"
    document = ledger.get_commitment(cid)
    assert [(a["id"], a["summary"], a["version"]) for a in document["actions"]] == [
        (str(legacy), "Hui recorded in 2015", 2),
        (str(new), "Hui recorded today", 2),
    ]
    assert document["actions"] == [ledger.get_action(cid, legacy), ledger.get_action(cid, new)]
    assert document["actions"][0]["responses"][0]["response"] == "disputed"
    newest = ledger.timeline(cid).items[:2]
    assert [(e.kind, e.aggregate_id, e.version) for e in newest] == [
        ("joint_action_confirmed", new, version + 1),
        ("joint_action_disputed", cid, version + 1),
    ]
    assert newest[1].summary == (
        "Hui E! Community Aotearoa disputed the joint action “Hui recorded in 2015”. Note: Not us"
    )
    with pytest.raises(AlreadyResponded):
        ledger.respond_to_action(cid, legacy, response=Response.CONFIRMED, actor=world.hui_e, request_id="again")
    with pytest.raises(VersionMismatch):
        ledger.respond_to_action(
            cid, legacy, response=Response.CONFIRMED, actor=world.iwi, request_id="stale", expected_version=1
        )
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


def test_reports_assessments_and_milestone_changes_say_the_dates_they_describe(ledger: Ledger, world: World) -> None:
    """DIA reports progress as at the end of term, then (late) as at the mid-term: the
    commitment's completion is the report about the latest date, not the last recorded.
    The IRM records its assessments apart from the lead's reports; MSD reschedules a
    milestone, giving a reason; Hui E! joined on a date of its own."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)
    ledger.add_partner(
        cid,
        partner_id=world.hui_e.id,
        role=PartnerRole.COMMUNITY,
        joined_on=date(2014, 9, 1),
        actor=world.dia,
        request_id="joined",
    )
    milestone = made(
        ledger.add_milestone(cid, title="Review", due_on=date(2015, 6, 30), actor=world.dia, request_id="m")
    )
    changed = ledger.change_milestone(
        cid, milestone, due_on=date(2015, 9, 30), reason="after the election", actor=world.msd, request_id="ch"
    )
    for completion, note, as_of in (
        (Completion.SUBSTANTIAL, "End of term", date(2016, 6, 30)),
        (Completion.LIMITED, "Mid-term, recorded late", date(2015, 6, 30)),
    ):
        ledger.report_progress(cid, completion=completion, note=note, as_of=as_of, actor=world.dia, request_id=note)
    assessed = ledger.record_assessment(
        cid,
        stage=AssessmentStage.END_OF_TERM,
        assessed_on=date(2017, 2, 28),
        completion=Completion.SUBSTANTIAL,
        did_it_open_government=OpenedGovernment.MARGINAL,
        note="End-of-term report.",
        actor=world.assessor,
        request_id="a1",
    )
    ledger.record_assessment(
        cid,
        stage=AssessmentStage.MID_TERM,
        assessed_on=date(2015, 6, 30),
        completion=Completion.LIMITED,
        actor=world.assessor,
        request_id="a2",
    )

    document = ledger.get_commitment(cid)
    assert document["milestones"][0]["due_on"] == "2015-09-30" and changed.version == document["version"] - 4
    assert [(p["completion"], p["as_of"]) for p in document["progress"]] == [
        ("substantial", "2016-06-30"),
        ("limited", "2015-06-30"),
    ]
    assert (document["completion"]["completion"], document["completion"]["as_of"]) == ("substantial", "2016-06-30")
    assert [(a["stage"], a["completion"]) for a in document["assessments"]] == [
        ("end_of_term", "substantial"),
        ("mid_term", "limited"),
    ]
    assert document["assessed_completion"] == "substantial", "the latest by the date assessed"
    assert document["assessments"][0]["id"] == str(assessed.created_id)
    assert document["assessments"][0]["assessor"] == {"id": str(world.assessor.id), "name": world.assessor.name}
    assert ledger.assessments(cid) == document["assessments"]
    joined = {p["id"]: p["joined_on"] for p in document["partners"]}
    assert joined == {str(world.dia.id): "2014-07-01", str(world.msd.id): None, str(world.hui_e.id): "2014-09-01"}
    [summary] = ledger.list_commitments(q="kia tutahi").items
    assert (summary.completion, summary.assessed_completion) == ("substantial", "substantial")

    entries = list(reversed(ledger.timeline(cid, limit=1000).items))
    [changed_entry] = [e for e in entries if e.kind == "milestone_changed"]
    assert changed_entry.summary == (
        "Ministry of Social Development rescheduled the milestone “Review” to 30 September 2015: after the election"
    )
    assert (changed_entry.occurred_on, changed_entry.position) == (date(2015, 9, 30), changed.position)
    dated = [(e.kind, e.occurred_on) for e in entries if e.kind in ("progress_reported", "assessment_recorded")]
    assert dated == [
        ("progress_reported", date(2016, 6, 30)),
        ("progress_reported", date(2015, 6, 30)),
        ("assessment_recorded", date(2017, 2, 28)),
        ("assessment_recorded", date(2015, 6, 30)),
    ]
    [end_of_term] = [e for e in entries if e.position == assessed.position]
    assert end_of_term.summary == (
        "Independent Reporting Mechanism assessed completion as substantial in its end-of-term assessment of "
        "28 February 2017; did it open government: marginal. End-of-term report."
    )
    assert end_of_term.actor_id == world.assessor.id
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


def test_the_state_at_each_version_is_the_state_after_that_many_events(ledger: Ledger, world: World) -> None:
    """Version 1 is the bare creation, version 2 has its lead, and so on to the current one."""
    cid = create(ledger, world.dia)
    ledger.amend_commitment(
        cid, changes={"title": "Kia Tūtahi accord review"}, reason="shorter", actor=world.dia, request_id="a1"
    )
    milestone = made(
        ledger.add_milestone(cid, title="Report", due_on=date(2015, 6, 30), actor=world.dia, request_id="m")
    )
    ledger.amend_commitment(
        cid, changes={"description": "Now with regional hui."}, reason="scope", actor=world.dia, request_id="a2"
    )

    states = {v: ledger.get_commitment(cid, version=v) for v in range(1, 6)}
    assert [states[v]["version"] for v in states] == [1, 2, 3, 4, 5]
    assert states[1]["partners"] == [] and states[2]["partners"][0]["id"] == str(world.dia.id)
    assert [states[v]["title"] for v in states] == [KIA_TUTAHI, KIA_TUTAHI] + ["Kia Tūtahi accord review"] * 3
    assert [len(states[v]["milestones"]) for v in states] == [0, 0, 0, 1, 1]
    assert states[4]["milestones"][0]["id"] == str(milestone)
    assert states[4]["description"] == "Review how the accord's principles are put into practice."
    assert states[5] == ledger.get_commitment(cid)
    assert states[5]["created_at"] == states[1]["created_at"] < states[5]["updated_at"]
    for missing in (0, 6, -1):
        with pytest.raises(NotFound):
            ledger.get_commitment(cid, version=missing)
    with pytest.raises(BadQuery):
        ledger.get_commitment(cid, version=2, as_of=datetime.now(UTC))


def test_the_state_as_of_an_instant_is_what_had_been_recorded_by_then(ledger: Ledger, world: World) -> None:
    """An auditor asks what the record said at given instants, in any time zone."""
    before_creation = instant_between_commands()
    cid = create(ledger, world.dia)
    after_creation = instant_between_commands()
    ledger.amend_commitment(cid, changes={"title": "Kia Tūtahi review"}, reason="r", actor=world.dia, request_id="a")
    after_amendment = instant_between_commands()
    ledger.add_milestone(cid, title="Report", due_on=date(2015, 6, 30), actor=world.dia, request_id="m")

    with pytest.raises(NotFound):
        ledger.get_commitment(cid, as_of=before_creation)
    assert ledger.get_commitment(cid, as_of=after_creation) == ledger.get_commitment(cid, version=2)
    assert ledger.get_commitment(cid, as_of=after_amendment) == ledger.get_commitment(cid, version=3)
    assert ledger.get_commitment(cid, as_of=after_amendment.astimezone(NZDT))["version"] == 3
    assert ledger.get_commitment(cid, as_of=after_amendment)["title"] == "Kia Tūtahi review"
    assert ledger.get_commitment(cid, as_of=after_creation)["title"] == KIA_TUTAHI
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert ledger.get_commitment(cid, as_of=tomorrow) == ledger.get_commitment(cid)
    amended_at = parse_instant(ledger.commitment_history(cid)[2]["recorded_at"])
    assert ledger.get_commitment(cid, as_of=amended_at)["version"] == 3  # at or before the instant
    assert ledger.get_commitment(cid, as_of=amended_at - timedelta(microseconds=1))["version"] == 2
    with pytest.raises(BadQuery):
        ledger.get_commitment(cid, as_of=after_amendment.replace(tzinfo=None))


# -- history and diffs ---------------------------------------------------------------


def test_the_full_history_lists_every_event_with_its_actor_and_request(ledger: Ledger, world: World) -> None:
    """Each command's events, in version order, at dense increasing log positions."""
    results = [
        ledger.create_commitment(
            title=KIA_TUTAHI,
            description="",
            action_plan=PLAN_2014,
            external_ref="NZ0004",
            starts_on=date(2014, 7, 1),
            ends_on=date(2016, 6, 30),
            ogp_values=[OgpValue.CIVIC_PARTICIPATION],
            actor=world.dia,
            request_id="req-create",
        )
    ]
    cid = results[0].aggregate_id
    results.append(join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia))
    milestone = made(
        ledger.add_milestone(cid, title="Report", due_on=date(2015, 6, 30), actor=world.dia, request_id="req-m")
    )
    results.append(
        ledger.reach_milestone(cid, milestone, reached_on=date(2015, 6, 1), actor=world.msd, request_id="req-reach")
    )
    results.append(
        ledger.amend_commitment(
            cid, changes={"title": "Kia Tūtahi review"}, reason="shorter", actor=world.dia, request_id="req-amend"
        )
    )

    history = ledger.commitment_history(cid, AUDITOR)
    assert [e["version"] for e in history] == [1, 2, 3, 4, 5, 6]
    assert [e["type"] for e in history] == [
        "CommitmentCreated",
        "PartnerJoined",
        "PartnerJoined",
        "MilestoneAdded",
        "MilestoneReached",
        "CommitmentAmended",
    ]
    assert [e["request_id"] for e in history] == [
        "req-create",
        "req-create",
        "join-Ministry of Social Development",
        "req-m",
        "req-reach",
        "req-amend",
    ]
    assert [e["actor"]["id"] for e in history] == [str(world.dia.id)] * 4 + [str(world.msd.id), str(world.dia.id)]
    assert {e["actor"]["role"] for e in history} == {"agency"}
    assert {(e["aggregate_id"], e["aggregate_type"]) for e in history} == {(str(cid), "commitment")}
    positions = [e["position"] for e in history]
    assert positions == list(range(positions[0], positions[0] + 6))
    assert positions[-1] == ledger.log_size() - 1
    assert [r.position for r in results] == [positions[1], positions[2], positions[4], positions[5]]
    recorded = [parse_instant(e["recorded_at"]) for e in history]
    assert recorded == sorted(recorded)
    assert history[4]["data"] == {
        "milestone_id": str(milestone),
        "reached_on": "2015-06-01",
        "evidence_url": None,
        "note": None,
    }
    assert history[5]["data"] == {"changes": {"title": "Kia Tūtahi review"}, "reason": "shorter"}
    assert ledger.commitment_history(cid, world.msd) == history


def test_a_diff_shows_field_level_changes_between_any_two_versions(ledger: Ledger, world: World) -> None:
    """Scalars by name, relations by id: a partner or milestone appearing, a milestone's
    reached date filling in, a partner leaving."""
    cid = create(ledger, world.dia)  # v2
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)  # v3
    milestone = made(
        ledger.add_milestone(cid, title="Report", due_on=date(2015, 6, 30), actor=world.dia, request_id="m")
    )  # v4
    ledger.reach_milestone(
        cid,
        milestone,
        reached_on=date(2015, 6, 12),
        evidence_url="https://www.dia.govt.nz/kia-tutahi",
        actor=world.msd,
        request_id="r",
    )  # v5
    ledger.amend_commitment(
        cid,
        changes={"title": "Kia Tūtahi review", "ends_on": date(2016, 12, 31)},
        reason="extended",
        actor=world.dia,
        request_id="a",
    )  # v6
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)  # v7
    ledger.remove_partner(cid, partner_id=world.hui_e.id, reason="no capacity", actor=world.hui_e, request_id="l")

    msd = ledger.get_commitment(cid)["partners"][1]
    assert ledger.diff(cid, 2, 3) == [{"path": f"partners.{world.msd.id}", "before": None, "after": msd}]
    [added] = ledger.diff(cid, 3, 4)
    assert added["path"] == f"milestones.{milestone}" and added["before"] is None
    assert added["after"]["title"] == "Report" and added["after"]["reached_on"] is None
    assert ledger.diff(cid, 4, 5) == [
        {"path": f"milestones.{milestone}.reached_on", "before": None, "after": "2015-06-12"},
        {"path": f"milestones.{milestone}.evidence_url", "before": None, "after": "https://www.dia.govt.nz/kia-tutahi"},
    ]
    amended = ledger.diff(cid, 5, 6)
    assert sorted(amended, key=lambda c: c["path"]) == [
        {"path": "ends_on", "before": "2016-06-30", "after": "2016-12-31"},
        {"path": "title", "before": KIA_TUTAHI, "after": "Kia Tūtahi review"},
    ]
    assert ledger.diff(cid, 6, 5) == [{**c, "before": c["after"], "after": c["before"]} for c in amended]
    [left] = ledger.diff(cid, 7, 8)
    assert left["path"] == f"partners.{world.hui_e.id}" and left["after"] is None
    assert left["before"]["name"] == "Hui E! Community Aotearoa"
    assert ledger.diff(cid, 6, 8) == []  # joined and left again: no net change
    assert ledger.diff(cid, 4, 4) == []
    assert {c["path"] for c in ledger.diff(cid, 1, 8)} == {
        "title",
        "ends_on",
        f"partners.{world.dia.id}",
        f"partners.{world.msd.id}",
        f"milestones.{milestone}",
    }
    with pytest.raises(NotFound):
        ledger.diff(cid, 1, 9)


# -- timelines -----------------------------------------------------------------------------


def test_the_timeline_is_newest_first_and_each_entry_a_sentence_naming_its_actor(ledger: Ledger, world: World) -> None:
    """Every kind of event becomes one sentence; the date it describes where it has one.
    The commitment's own events and its joint action's share the timeline: each entry of
    the commitment is one event of its history, at that version; each entry of the action
    is one event of the action's, at the commitment's version when it was recorded."""
    cid, _, action = rich_history(ledger, world)
    entries = ledger.timeline(cid, limit=1000).items
    history = ledger.commitment_history(cid)
    action_history = documents_of(ledger.event_log.aggregate_documents(action))

    assert [e.kind for e in reversed(entries)] == RICH_KINDS
    positions = [e.position for e in entries]
    assert positions == sorted(positions, reverse=True)
    assert sorted(positions) == sorted(h["position"] for h in history + action_history)
    own = [e for e in reversed(entries) if e.aggregate_id == cid]
    of_action = [e for e in reversed(entries) if e.aggregate_id == action]
    assert len(own) + len(of_action) == len(entries)
    assert [e.version for e in own] == [h["version"] for h in history] == list(range(1, len(history) + 1))
    assert [e.position for e in own] == [h["position"] for h in history]
    assert [e.recorded_at for e in own] == [parse_instant(h["recorded_at"]) for h in history]
    assert [(h["aggregate_type"], h["type"], h["version"]) for h in action_history] == [
        ("joint_action", "JointActionRecorded", 1),
        ("joint_action", "JointActionResponded", 2),
        ("joint_action", "JointActionResponded", 3),
    ]
    assert [e.position for e in of_action] == [h["position"] for h in action_history]
    assert [e.recorded_at for e in of_action] == [parse_instant(h["recorded_at"]) for h in action_history]
    for entry in of_action:
        assert entry.version == max(h["version"] for h in history if h["position"] < entry.position)
    recorded = [e.recorded_at for e in entries]
    assert recorded == sorted(recorded, reverse=True) and all(r.tzinfo is not None for r in recorded)
    names = {w.id: w.name for w in (world.dia, world.msd, world.tpk, world.hui_e, world.iwi, world.tinz)}
    events = sorted(history + action_history, key=lambda h: h["position"])
    for entry, event in zip(reversed(entries), events, strict=True):
        assert entry.actor_id == UUID(event["actor"]["id"])
        assert entry.actor_name == names[entry.actor_id]
        assert entry.summary.startswith(entry.actor_name)
    dated = [(e.kind, e.occurred_on) for e in reversed(entries) if e.occurred_on is not None]
    assert dated == [
        ("created", date(2014, 7, 1)),  # its start
        ("partner_joined", date(2014, 7, 1)),  # the lead, from the start; the others joined on no date given
        ("milestone_added", date(2015, 6, 30)),  # when it is due
        ("milestone_reached", date(2015, 6, 12)),
        ("joint_action_recorded", date(2015, 8, 1)),
        ("progress_reported", date(2015, 6, 30)),  # the dates the reports describe
        ("progress_reported", date(2016, 6, 30)),
    ]
    by_kind = {e.kind: e.summary for e in entries}
    assert by_kind["partner_left"] == "Hui E! Community Aotearoa left the commitment: no capacity this year"
    assert by_kind["withdrawn"] == (
        "Department of Internal Affairs withdrew the commitment: folded into the 2016–18 plan"
    )
    assert by_kind["amended"] == (
        "Department of Internal Affairs amended the title and the end date: extended after the mid-term review"
    )
    assert entries[2].summary == (
        "Department of Internal Affairs reported completion as substantial: End of term: substantial"
    )


def test_the_timeline_pages_by_cursor_without_gaps_or_duplicates(ledger: Ledger, world: World) -> None:
    cid, _, _ = rich_history(ledger, world)
    everything = ledger.timeline(cid, limit=1000).items
    total = len(everything)
    assert total == len(RICH_KINDS) == 15

    pages = follow(lambda after: ledger.timeline(cid, limit=2, after=after))
    assert len(pages) == 8
    assert [len(p.items) for p in pages] == [2] * 7 + [1]
    assert [e for p in pages for e in p.items] == everything
    assert pages[-1].next is None and all(p.next is not None for p in pages[:-1])

    exact = ledger.timeline(cid, limit=total)
    assert exact.items == everything and exact.next is None
    short = ledger.timeline(cid, limit=total - 1)
    assert short.next is not None
    rest = ledger.timeline(cid, limit=total, after=short.next)
    assert rest.items == everything[-1:] and rest.next is None
    with pytest.raises(BadQuery):
        ledger.timeline(cid, after="not-a-cursor")


def test_a_partners_timeline_gathers_every_commitment_it_belongs_to(ledger: Ledger, world: World) -> None:
    """Hui E! belongs to a public commitment and a partners-only one: it and auditors see
    both on its timeline, the public only the public one; commitments it is not in never."""
    public = create(ledger, world.dia, ref="NZ0004")
    join(ledger, public, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    private = create(ledger, world.msd, ref="NZ-PRIVATE", visibility=Visibility.PARTNERS)
    join(ledger, private, world.hui_e, PartnerRole.COMMUNITY, world.msd)
    elsewhere = create(ledger, world.tpk, ref="NZ0002")
    ledger.add_milestone(public, title="Hui", due_on=date(2015, 1, 1), actor=world.dia, request_id="m1")
    ledger.add_milestone(private, title="Wānanga", due_on=date(2015, 2, 1), actor=world.msd, request_id="m2")
    ledger.add_milestone(elsewhere, title="ICT", due_on=date(2015, 3, 1), actor=world.tpk, request_id="m3")

    own = ledger.partner_timeline(world.hui_e.id, world.hui_e, limit=1000).items
    assert {e.commitment_id for e in own} == {public, private}
    assert len(own) == 2 * 4  # created, lead joined, Hui E! joined, milestone added; twice
    assert [e.position for e in own] == sorted((e.position for e in own), reverse=True)
    assert own[0].summary == "Ministry of Social Development added the milestone “Wānanga”, due 1 February 2015."
    assert ledger.partner_timeline(world.hui_e.id, AUDITOR, limit=1000).items == own
    public_view = ledger.partner_timeline(world.hui_e.id, None, limit=1000).items
    assert public_view == [e for e in own if e.commitment_id == public]
    pages = follow(lambda after: ledger.partner_timeline(world.hui_e.id, world.hui_e, limit=3, after=after))
    assert [e for p in pages for e in p.items] == own and [len(p.items) for p in pages] == [3, 3, 2]
    assert {e.commitment_id for e in ledger.partner_timeline(world.tpk.id, AUDITOR).items} == {elsewhere}


def test_a_partner_that_leaves_loses_the_commitment_from_its_timeline_and_gets_it_all_back_on_rejoining(
    ledger: Ledger, world: World
) -> None:
    """The partner timeline shows the commitments the partner belongs to now, each with
    its whole history (what was recorded before the partner joined included)."""
    accord = create(ledger, world.dia, ref="NZ0004")
    other = create(ledger, world.msd, ref="NZ0001")
    join(ledger, other, world.hui_e, PartnerRole.COMMUNITY, world.msd)
    ledger.add_milestone(accord, title="Before Hui E! joined", due_on=date(2015, 1, 1), actor=world.dia, request_id="b")
    join(ledger, accord, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    ledger.add_milestone(accord, title="After Hui E! joined", due_on=date(2015, 2, 1), actor=world.dia, request_id="a")

    def commitments_on_timeline() -> dict[UUID, int]:
        seen: dict[UUID, int] = {}
        for entry in ledger.partner_timeline(world.hui_e.id, AUDITOR, limit=1000).items:
            seen[entry.commitment_id] = seen.get(entry.commitment_id, 0) + 1
        return seen

    assert commitments_on_timeline() == {accord: 5, other: 3}  # created, lead, milestone, Hui E!, milestone
    ledger.remove_partner(accord, partner_id=world.hui_e.id, reason="stepped back", actor=world.hui_e, request_id="l")
    assert commitments_on_timeline() == {other: 3}
    ledger.add_milestone(accord, title="While away", due_on=date(2015, 3, 1), actor=world.dia, request_id="w")
    assert commitments_on_timeline() == {other: 3}
    join(ledger, accord, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    assert commitments_on_timeline() == {accord: 8, other: 3}  # + left, milestone while away, joined again
    own = ledger.partner_timeline(world.hui_e.id, AUDITOR, limit=1000).items
    assert own == sorted(own, key=lambda e: e.position, reverse=True)
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


# -- lists and search ----------------------------------------------------------------------


def five_commitments(ledger: Ledger, w: World) -> dict[str, UUID]:
    """Four public commitments of two plans (one withdrawn) and one partners-only."""
    ids = {
        "accord": create(ledger, w.dia, ref="NZ0004", title=KIA_TUTAHI),
        "bps": create(ledger, w.msd, ref="NZ0001", title="Better Public Services (BPS) Results programme"),
        "ict": create(ledger, w.dia, ref="NZ0002", title="Government ICT Strategy and Action Plan to 2017"),
        "data": create(ledger, w.tpk, ref="NZ0007", title="Open data and Māori data", plan=PLAN_2016),
        "iwi": create(
            ledger, w.dia, ref="NZ-IWI", title="Iwi data sovereignty", plan=PLAN_2016, visibility=Visibility.PARTNERS
        ),
    }
    join(ledger, ids["accord"], w.hui_e, PartnerRole.COMMUNITY, w.dia)
    join(ledger, ids["accord"], w.msd, PartnerRole.SUPPORT, w.dia)
    join(ledger, ids["iwi"], w.iwi, PartnerRole.COMMUNITY, w.dia)
    ledger.withdraw_commitment(ids["ict"], reason="superseded", actor=w.dia, request_id="w")
    return ids


def listed(page: Page[Any]) -> list[UUID]:
    return [summary.id for summary in page.items]


def test_the_list_of_commitments_pages_by_cursor(ledger: Ledger, world: World) -> None:
    """Summaries come in creation order, two at a time, to the end and no further."""
    ids = five_commitments(ledger, world)
    for viewer, expected in (
        (None, [ids["accord"], ids["bps"], ids["ict"], ids["data"]]),
        (AUDITOR, list(ids.values())),
    ):
        pages = follow(lambda after, viewer=viewer: ledger.list_commitments(viewer, limit=2, after=after))
        assert [i for p in pages for i in listed(p)] == expected
        assert all(len(p.items) == 2 for p in pages[:-1]) and pages[-1].next is None
    assert ledger.list_commitments(AUDITOR, limit=5).next is None
    assert ledger.list_commitments(AUDITOR, limit=4).next is not None
    with pytest.raises(BadQuery):
        ledger.list_commitments(after="-1")


def test_the_list_of_commitments_filters_by_plan_partner_and_status(ledger: Ledger, world: World) -> None:
    ids = five_commitments(ledger, world)
    assert listed(ledger.list_commitments(action_plan=PLAN_2016)) == [ids["data"]]
    assert listed(ledger.list_commitments(AUDITOR, action_plan=PLAN_2016)) == [ids["data"], ids["iwi"]]
    assert listed(ledger.list_commitments(AUDITOR, action_plan=PLAN_2014)) == [ids["accord"], ids["bps"], ids["ict"]]
    assert listed(ledger.list_commitments(partner_id=world.hui_e.id)) == [ids["accord"]]
    assert listed(ledger.list_commitments(partner_id=world.msd.id)) == [ids["accord"], ids["bps"]]
    assert listed(ledger.list_commitments(AUDITOR, partner_id=world.dia.id)) == [ids["accord"], ids["ict"], ids["iwi"]]
    assert listed(ledger.list_commitments(partner_id=world.tinz.id)) == []
    assert listed(ledger.list_commitments(status="withdrawn")) == [ids["ict"]]
    assert listed(ledger.list_commitments(status="active")) == [ids["accord"], ids["bps"], ids["data"]]
    assert listed(ledger.list_commitments(status="active", action_plan=PLAN_2014, partner_id=world.dia.id)) == [
        ids["accord"]
    ]
    [ict] = ledger.list_commitments(status="withdrawn").items
    assert (ict.status, ict.title, ict.external_ref, ict.lead_names) == (
        "withdrawn",
        "Government ICT Strategy and Action Plan to 2017",
        "NZ0002",
        "Department of Internal Affairs",
    )


SEARCHES = [
    ("kia tutahi", ["accord"]),
    ("KIA TŪTAHI", ["accord"]),
    (unicodedata.normalize("NFD", "Kia Tūtahi"), ["accord"]),
    ("tutahi accord", ["accord"]),
    ("maori", ["data"]),
    ("MĀORI DATA", ["data"]),
    ("nz000", ["accord", "bps", "ict", "data"]),
    ("data", ["data"]),
    ("kia tutahi ict", []),
    ("100%", []),
    ("nz_", []),
]


def test_search_ignores_case_and_macrons(ledger: Ledger, world: World) -> None:
    """`kia tutahi` finds “Kia Tūtahi”; every word must match; LIKE wildcards are plain
    characters; the public sees no partners-only commitment (“Iwi data sovereignty”)."""
    ids = five_commitments(ledger, world)
    for q, expected in SEARCHES:
        assert listed(ledger.list_commitments(q=q)) == [ids[name] for name in expected], q
    assert listed(ledger.list_commitments(AUDITOR, q="data")) == [ids["data"], ids["iwi"]]
    assert listed(ledger.list_commitments(AUDITOR, q="data", limit=1)) == [ids["data"]]


def test_a_partners_only_commitment_is_listed_only_for_its_partners_and_those_who_see_everything(
    ledger: Ledger, world: World
) -> None:
    """The iwi's commitment is hidden from the public and from partners not in it; when
    the iwi leaves, the iwi no longer sees it either."""
    ids = five_commitments(ledger, world)
    hidden = ids["iwi"]
    for viewer in (None, world.tpk, world.msd, world.hui_e, world.tinz):
        assert hidden not in listed(ledger.list_commitments(viewer, limit=1000))
        assert hidden not in listed(ledger.list_commitments(viewer, q="sovereignty"))
    for viewer in (world.iwi, world.dia, AUDITOR, ADMIN):
        assert hidden in listed(ledger.list_commitments(viewer, limit=1000))
        assert listed(ledger.list_commitments(viewer, q="sovereignty")) == [hidden]
    assert listed(ledger.list_commitments(world.iwi)) == [ids["accord"], ids["bps"], ids["ict"], ids["data"], hidden]

    ledger.remove_partner(hidden, partner_id=world.iwi.id, reason="done", actor=world.iwi, request_id="leave")
    assert hidden not in listed(ledger.list_commitments(world.iwi))
    with pytest.raises(NotFound):
        ledger.get_commitment(hidden, world.iwi)
    assert hidden in listed(ledger.list_commitments(world.dia))

    ledger.amend_commitment(
        ids["bps"], changes={"visibility": Visibility.PARTNERS}, reason="drafts", actor=world.msd, request_id="v"
    )
    assert listed(ledger.list_commitments(status="active")) == [ids["accord"], ids["data"]]
    assert ids["bps"] in listed(ledger.list_commitments(world.msd))
    with pytest.raises(NotFound):
        ledger.get_commitment(ids["bps"], world.dia)


def test_partners_are_listed_by_name_and_kind_and_a_rename_shows_at_once(ledger: Ledger, world: World) -> None:
    everyone = [world.dia, world.msd, world.tpk, world.hui_e, world.iwi, world.tinz]

    def names(**query: Any) -> list[str]:
        return [row.name for row in ledger.list_partners(**query).items]

    assert names() == [p.name for p in everyone]
    assert names(q="kokiri") == names(q="TE PUNI KŌKIRI") == ["Te Puni Kōkiri"]
    assert names(q="whatua orakei") == ["Ngāti Whātua Ōrākei"]
    assert names(kind="agency") == [
        "Department of Internal Affairs",
        "Ministry of Social Development",
        "Te Puni Kōkiri",
    ]
    assert names(kind="iwi_hapu") == ["Ngāti Whātua Ōrākei"]
    assert names(q="ministry", kind="agency") == ["Ministry of Social Development"]
    assert names(q="ministry", kind="civil_society") == []
    pages = follow(lambda after: ledger.list_partners(limit=4, after=after))
    assert [[row.id for row in p.items] for p in pages] == [[p.id for p in everyone[:4]], [p.id for p in everyone[4:]]]
    [row] = ledger.list_partners(q="hui e").items
    assert (row.id, row.kind, row.external_ref) == (world.hui_e.id, "community_organisation", None)

    ledger.rename_partner(
        world.msd.id, name="Manatū Whakahiato Ora", reason="Its name in te reo Māori", actor=ADMIN, request_id="rename"
    )
    assert names() == [p.name if p is not world.msd else "Manatū Whakahiato Ora" for p in everyone]
    assert names(q="manatu whakahiato") == ["Manatū Whakahiato Ora"]
    assert names(q="social development") == []
    assert ledger.get_partner(world.msd.id)["name"] == "Manatū Whakahiato Ora"
    assert ledger.get_partner(world.msd.id)["version"] == 2


def test_a_renamed_partner_is_shown_and_found_by_its_new_name_and_earlier_entries_keep_the_old_one(
    ledger: Ledger, world: World
) -> None:
    """An admin renames MSD, and DIA (a lead), giving reasons: the commitment's document,
    the list's lead names, search and every timeline entry recorded from then on use the
    new names; the entries recorded before keep the names they were recorded under, and
    so does the log."""
    cid = create(ledger, world.dia)
    join(ledger, cid, world.msd, PartnerRole.SUPPORT, world.dia)
    join(ledger, cid, world.hui_e, PartnerRole.COMMUNITY, world.dia)
    ledger.record_joint_action(
        cid,
        summary="Hui before the rename",
        occurred_on=date(2015, 8, 1),
        partner_ids=[world.msd.id],
        actor=world.hui_e,
        request_id="before",
    )
    before = ledger.timeline(cid, limit=1000).items
    assert listed(ledger.list_commitments(q="social development")) == [cid]

    renamed = ledger.rename_partner(
        world.msd.id, name="Manatū Whakahiato Ora", reason="Its name in te reo Māori", actor=ADMIN, request_id="r1"
    )
    ledger.rename_partner(
        world.dia.id, name="Te Tari Taiwhenua", reason="Its name in te reo Māori", actor=ADMIN, request_id="r2"
    )
    # What a credential of each acts as from now on: the partner as it is called now.
    msd = Actor(world.msd.role, world.msd.id, ledger.get_partner(world.msd.id)["name"])
    dia = Actor(world.dia.role, world.dia.id, ledger.get_partner(world.dia.id)["name"])
    assert (msd.name, dia.name, renamed.version) == ("Manatū Whakahiato Ora", "Te Tari Taiwhenua", 2)
    milestone = made(ledger.add_milestone(cid, title="Report", due_on=date(2015, 6, 30), actor=dia, request_id="m"))
    ledger.reach_milestone(cid, milestone, reached_on=date(2015, 6, 1), actor=msd, request_id="reach")
    ledger.record_joint_action(
        cid,
        summary="Hui after the rename",
        occurred_on=date(2015, 9, 1),
        partner_ids=[msd.id],
        actor=world.hui_e,
        request_id="after",
    )
    ledger.remove_partner(cid, partner_id=msd.id, reason="done", actor=dia, request_id="removed")

    entries = ledger.timeline(cid, limit=1000).items
    assert entries[len(entries) - len(before) :] == before, "earlier entries keep the names they had"
    assert [e.summary for e in entries[: len(entries) - len(before)]] == [
        "Te Tari Taiwhenua removed Manatū Whakahiato Ora: done",
        "Hui E! Community Aotearoa recorded a joint action with Manatū Whakahiato Ora on 1 September 2015: "
        "Hui after the rename",
        "Manatū Whakahiato Ora reported the milestone “Report” reached on 1 June 2015.",
        "Te Tari Taiwhenua added the milestone “Report”, due 30 June 2015.",
    ]
    assert [e.summary for e in before][:2] == [
        "Hui E! Community Aotearoa recorded a joint action with Ministry of Social Development on 1 August 2015: "
        "Hui before the rename",
        "Department of Internal Affairs added Hui E! Community Aotearoa as community partner.",
    ]
    partners = {p["id"]: p["name"] for p in ledger.get_commitment(cid)["partners"]}
    assert partners == {str(world.dia.id): "Te Tari Taiwhenua", str(world.hui_e.id): "Hui E! Community Aotearoa"}
    as_it_was = {p["id"]: p["name"] for p in ledger.get_commitment(cid, version=3)["partners"]}
    assert as_it_was[str(world.dia.id)] == "Te Tari Taiwhenua", "a past version names partners as they are now"
    [summary] = ledger.list_commitments(q="te tari taiwhenua").items
    assert (summary.id, summary.lead_names) == (cid, "Te Tari Taiwhenua")
    assert listed(ledger.list_commitments(q="internal affairs")) == []
    join(ledger, cid, msd, PartnerRole.SUPPORT, dia)
    assert listed(ledger.list_commitments(q="whakahiato")) == [cid]
    assert listed(ledger.list_commitments(q="social development")) == []
    assert (
        ledger.timeline(cid).items[0].summary == "Te Tari Taiwhenua added Manatū Whakahiato Ora as supporting agency."
    )
    joined = [e for e in ledger.commitment_history(cid) if e["type"] == "PartnerJoined"]
    assert [e["data"]["name"] for e in joined] == [
        "Department of Internal Affairs",
        "Ministry of Social Development",
        "Hui E! Community Aotearoa",
        "Manatū Whakahiato Ora",
    ], "the log keeps what was recorded"
    rows = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == rows


# -- read models rebuilt -------------------------------------------------------------------


def test_read_models_rebuilt_from_the_log_equal_those_written_live(ledger: Ledger, world: World) -> None:
    """After a rich history (responses, progress, a partner leaving, a rename, withdrawal,
    a partners-only commitment and a change of lead) the rebuild reproduces every row."""
    cid, _, _ = rich_history(ledger, world)
    five_commitments(ledger, world)
    ledger.rename_partner(
        world.tpk.id,
        name="Te Puni Kōkiri (Ministry of Māori Development)",
        reason="Its English name added",
        actor=ADMIN,
        request_id="rename",
    )
    other = create(ledger, world.dia, ref="NZ0003")
    join(ledger, other, world.tpk, PartnerRole.LEAD, world.dia)
    join(ledger, other, world.tinz, PartnerRole.COMMUNITY, world.tpk)
    ledger.remove_partner(other, partner_id=world.dia.id, reason="handed to TPK", actor=world.dia, request_id="l")
    ledger.report_progress(other, completion=Completion.COMPLETE, note="Cabinet paper", actor=world.tpk, request_id="p")
    plan = ledger.create_plan(
        name="New Zealand National Action Plan 2014–16",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        actor=ADMIN,
        request_id="plan",
    )
    ledger.amend_plan(
        plan.aggregate_id, changes={"name": "Mahere 2014–16"}, reason="Its name in te reo", actor=ADMIN, request_id="pa"
    )

    live = ledger.read_models.dump_read_models()
    assert all(live.values()), "every read model has rows"
    timeline = ledger.timeline(cid, limit=1000).items
    log_size = ledger.log_size()

    assert ledger.rebuild_read_models() == log_size
    assert ledger.read_models.dump_read_models() == live
    assert ledger.log_size() == log_size
    assert ledger.timeline(cid, limit=1000).items == timeline
    assert ledger.rebuild_read_models() == log_size
    assert ledger.read_models.dump_read_models() == live

    document = ledger.get_commitment(cid)
    assert document["status"] == "withdrawn"
    assert document["completion"]["completion"] == "substantial"
    assert [p["completion"] for p in document["progress"]] == ["limited", "substantial"]
    assert {p["id"] for p in document["partners"]} == {str(world.dia.id), str(world.msd.id), str(world.iwi.id)}
    assert [s.external_ref for s in ledger.list_commitments(partner_id=world.tpk.id).items] == ["NZ0007", "NZ0003"]
