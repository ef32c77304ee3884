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

from application.errors import BadQuery, NotFound
from application.ledger import CommandResult, Ledger
from application.ports import Page
from domain.values import Actor, Completion, OgpValue, PartnerRole, Response, Visibility
from tests.conftest import ADMIN, AUDITOR, World
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
    is confirmed by one partner and disputed by another, progress is reported twice, the
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
    ledger.report_progress(cid, completion=Completion.LIMITED, note="Mid-term: limited", actor=w.dia, request_id="p1")
    ledger.amend_commitment(
        cid,
        changes={"title": "Review the Kia Tūtahi Relationship Accord", "ends_on": date(2016, 12, 31)},
        reason="extended after the mid-term review",
        actor=w.dia,
        request_id="amend",
    )
    ledger.report_progress(
        cid, completion=Completion.SUBSTANTIAL, note="End of term: substantial", actor=w.dia, request_id="p2"
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
    has every field api.md names, text composed, dates and instants in their formats."""
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
    assert added.occurred_on is None
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
    """Every kind of event becomes one sentence; world dates only where the event has one."""
    cid, _, _ = rich_history(ledger, world)
    entries = ledger.timeline(cid, limit=1000).items
    history = ledger.commitment_history(cid)

    assert [e.kind for e in reversed(entries)] == RICH_KINDS
    assert [e.version for e in entries] == list(range(len(history), 0, -1))
    assert [e.position for e in reversed(entries)] == [h["position"] for h in history]
    recorded = [e.recorded_at for e in entries]
    assert recorded == sorted(recorded, reverse=True) and all(r.tzinfo is not None for r in recorded)
    assert [e.recorded_at for e in reversed(entries)] == [parse_instant(h["recorded_at"]) for h in history]
    names = {w.id: w.name for w in (world.dia, world.msd, world.tpk, world.hui_e, world.iwi, world.tinz)}
    for entry, event in zip(reversed(entries), history, strict=True):
        assert entry.actor_id == UUID(event["actor"]["id"])
        assert entry.actor_name == names[entry.actor_id]
        assert entry.summary.startswith(entry.actor_name)
    dated = {e.kind: e.occurred_on for e in entries if e.occurred_on is not None}
    assert dated == {"milestone_reached": date(2015, 6, 12), "joint_action_recorded": date(2015, 8, 1)}
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

    ledger.rename_partner(world.msd.id, name="Manatū Whakahiato Ora", actor=ADMIN, request_id="rename")
    assert names() == [p.name if p is not world.msd else "Manatū Whakahiato Ora" for p in everyone]
    assert names(q="manatu whakahiato") == ["Manatū Whakahiato Ora"]
    assert names(q="social development") == []
    assert ledger.get_partner(world.msd.id)["name"] == "Manatū Whakahiato Ora"
    assert ledger.get_partner(world.msd.id)["version"] == 2


# -- read models rebuilt -------------------------------------------------------------------


def test_read_models_rebuilt_from_the_log_equal_those_written_live(ledger: Ledger, world: World) -> None:
    """After a rich history (responses, progress, a partner leaving, a rename, withdrawal,
    a partners-only commitment and a change of lead) the rebuild reproduces every row."""
    cid, _, _ = rich_history(ledger, world)
    five_commitments(ledger, world)
    ledger.rename_partner(
        world.tpk.id, name="Te Puni Kōkiri (Ministry of Māori Development)", actor=ADMIN, request_id="rename"
    )
    other = create(ledger, world.dia, ref="NZ0003")
    join(ledger, other, world.tpk, PartnerRole.LEAD, world.dia)
    join(ledger, other, world.tinz, PartnerRole.COMMUNITY, world.tpk)
    ledger.remove_partner(other, partner_id=world.dia.id, reason="handed to TPK", actor=world.dia, request_id="l")
    ledger.report_progress(other, completion=Completion.COMPLETE, note="Cabinet paper", actor=world.tpk, request_id="p")

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
