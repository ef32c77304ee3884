"""The domain's rules and the application's refusals, through the Ledger's use cases on
every store (in-memory SQLite, a SQLite file, PostgreSQL).

A refused command raises its own error class and records nothing: the commitment's
version and document (its joint actions, each at its own version, among it), the event
store, the log index, the timeline and every read-model row are as they were. Since a
refusal changes nothing, one store per kind, with one scene built in it, serves the
whole module (a refusal that did record something fails its own test)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.errors import ConcurrentWrite, Forbidden, NotFound, VersionMismatch
from application.ledger import CommandResult, Ledger, latest_world_day
from application.ports import TimelineEntry
from domain.errors import (
    ActionWithdrawn,
    AlreadyPartner,
    AlreadyResponded,
    CommitmentWithdrawn,
    InvalidValue,
    LastLeadCannotLeave,
    MilestoneAlreadyReached,
    NothingChanged,
    NotNamedInAction,
    NotPartner,
    NotPermitted,
    RoleMismatch,
    UnknownJointAction,
    UnknownMilestone,
)
from domain.values import (
    Actor,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    PartnerKind,
    PartnerRole,
    Response,
    Visibility,
)
from interfaces.composition import open_ledger
from tests.conftest import ADMIN, ASSESSOR, AUDITOR, STORES, World, make_world, record_legacy_action, store_url_for

TITLE = "Review progress of the Kia Tūtahi Relationship Accord"
PLAN = "New Zealand National Action Plan 2014–16"
REFUSED = "refused-request"


@dataclass(frozen=True)
class Scene:
    """One store with the world's partners and four commitments.

    ``commitment`` (public): DIA leads, MSD supports, Hui E! and the iwi take part as
    community; ``open_milestone`` is not reached, ``reached_milestone`` is; ``action`` (a
    joint action of its own) was recorded by MSD naming Hui E! and the iwi, and Hui E!
    confirmed it; ``legacy_action`` is the same, recorded in the commitment's own stream
    as release 0.1.0 did; ``retracted`` and ``retracted_legacy`` were recorded by MSD
    naming Hui E!, one of each kind, and MSD withdrew them.
    ``hidden`` (partners only): DIA leads, Hui E! takes part.
    ``withdrawn``: like ``commitment`` with a milestone and an unanswered joint action of
    each kind naming Hui E! (``withdrawn_action``, ``withdrawn_legacy``), then withdrawn by DIA.
    ``parted``: DIA leads, Hui E! and the iwi took part; joint actions of each kind
    recorded by DIA naming both (``parted_action``, ``parted_legacy``) and by the iwi
    naming Hui E! (``parted_own``, ``parted_own_legacy``), then the iwi left."""

    kind: str
    url: str
    ledger: Ledger
    world: World
    commitment: UUID
    open_milestone: UUID
    reached_milestone: UUID
    action: UUID
    hidden: UUID
    withdrawn: UUID
    withdrawn_milestone: UUID
    withdrawn_action: UUID
    legacy_action: UUID
    retracted: UUID
    retracted_legacy: UUID
    withdrawn_legacy: UUID
    parted: UUID
    parted_action: UUID
    parted_legacy: UUID
    parted_own: UUID
    parted_own_legacy: UUID


def create(ledger: Ledger, lead: Actor, *, visibility: Visibility = Visibility.PUBLIC, ref: str = "NZ0004") -> UUID:
    result = ledger.create_commitment(
        title=TITLE,
        description="Review how the accord's principles are put into practice.",
        action_plan=PLAN,
        external_ref=ref,
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.CIVIC_PARTICIPATION],
        visibility=visibility,
        actor=lead,
        request_id=f"create-{ref}",
    )
    return result.aggregate_id


def created_id(result: CommandResult) -> UUID:
    assert result.created_id is not None
    return result.created_id


def build_scene(kind: str, url: str, ledger: Ledger) -> Scene:
    w = make_world(ledger)
    cid = create(ledger, w.dia)
    ledger.add_partner(cid, partner_id=w.msd.id, role=PartnerRole.SUPPORT, actor=w.dia, request_id="s1")
    ledger.add_partner(cid, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s2")
    ledger.add_partner(cid, partner_id=w.iwi.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s3")
    open_milestone = created_id(
        ledger.add_milestone(cid, title="Regional hui held", due_on=date(2015, 6, 30), actor=w.dia, request_id="s4")
    )
    reached = created_id(
        ledger.add_milestone(cid, title="Review published", due_on=date(2015, 3, 31), actor=w.dia, request_id="s5")
    )
    ledger.reach_milestone(cid, reached, reached_on=date(2015, 3, 20), actor=w.msd, request_id="s6")
    action = created_id(
        ledger.record_joint_action(
            cid,
            summary="Hui on the accord's principles",
            occurred_on=date(2015, 8, 1),
            partner_ids=[w.hui_e.id, w.iwi.id],
            actor=w.msd,
            request_id="s7",
        )
    )
    ledger.respond_to_action(cid, action, response=Response.CONFIRMED, actor=w.hui_e, request_id="s8")
    legacy = record_legacy_action(
        ledger,
        cid,
        summary="Hui on the accord's principles (0.1.0)",
        occurred_on=date(2015, 8, 1),
        partner_ids=[w.hui_e.id, w.iwi.id],
        actor=w.msd,
    )
    ledger.respond_to_action(cid, legacy, response=Response.CONFIRMED, actor=w.hui_e, request_id="s8-legacy")
    retracted = created_id(
        ledger.record_joint_action(
            cid,
            summary="A hui that did not happen",
            occurred_on=date(2015, 8, 2),
            partner_ids=[w.hui_e.id],
            actor=w.msd,
            request_id="s8-retracted",
        )
    )
    ledger.withdraw_action(cid, retracted, reason="recorded in error", actor=w.msd, request_id="s8-withdraw")
    retracted_legacy = record_legacy_action(
        ledger,
        cid,
        summary="A hui that did not happen (0.1.0)",
        occurred_on=date(2015, 8, 2),
        partner_ids=[w.hui_e.id],
        actor=w.msd,
    )
    ledger.withdraw_action(cid, retracted_legacy, reason="in error", actor=w.msd, request_id="s8-withdraw-legacy")

    hidden = create(ledger, w.dia, visibility=Visibility.PARTNERS, ref="NZ-PRIVATE")
    ledger.add_partner(hidden, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s9")

    gone = create(ledger, w.dia, ref="NZ-WITHDRAWN")
    ledger.add_partner(gone, partner_id=w.msd.id, role=PartnerRole.SUPPORT, actor=w.dia, request_id="s10")
    ledger.add_partner(gone, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s11")
    gone_milestone = created_id(
        ledger.add_milestone(gone, title="Never reached", due_on=date(2015, 6, 30), actor=w.dia, request_id="s12")
    )
    gone_action = created_id(
        ledger.record_joint_action(
            gone,
            summary="Planning hui",
            occurred_on=date(2015, 2, 1),
            partner_ids=[w.hui_e.id],
            actor=w.dia,
            request_id="s13",
        )
    )
    gone_legacy = record_legacy_action(
        ledger,
        gone,
        summary="Planning hui (0.1.0)",
        occurred_on=date(2015, 2, 1),
        partner_ids=[w.hui_e.id],
        actor=w.dia,
    )
    ledger.withdraw_commitment(gone, reason="merged into NZ0004", actor=w.dia, request_id="s14")

    parted = create(ledger, w.dia, ref="NZ-PARTED")
    ledger.add_partner(parted, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s15")
    ledger.add_partner(parted, partner_id=w.iwi.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="s16")
    both = [w.hui_e.id, w.iwi.id]
    parted_action = created_id(
        ledger.record_joint_action(
            parted, summary="Wānanga", occurred_on=date(2015, 4, 1), partner_ids=both, actor=w.dia, request_id="s17"
        )
    )
    parted_legacy = record_legacy_action(
        ledger, parted, summary="Wānanga (0.1.0)", occurred_on=date(2015, 4, 1), partner_ids=both, actor=w.dia
    )
    parted_own = created_id(
        ledger.record_joint_action(
            parted,
            summary="The iwi's hui",
            occurred_on=date(2015, 4, 2),
            partner_ids=[w.hui_e.id],
            actor=w.iwi,
            request_id="s18",
        )
    )
    parted_own_legacy = record_legacy_action(
        ledger,
        parted,
        summary="The iwi's hui (0.1.0)",
        occurred_on=date(2015, 4, 2),
        partner_ids=[w.hui_e.id],
        actor=w.iwi,
    )
    ledger.remove_partner(parted, partner_id=w.iwi.id, reason="stepped back", actor=w.iwi, request_id="s19")
    return Scene(
        kind,
        url,
        ledger,
        w,
        cid,
        open_milestone,
        reached,
        action,
        hidden,
        gone,
        gone_milestone,
        gone_action,
        legacy,
        retracted,
        retracted_legacy,
        gone_legacy,
        parted,
        parted_action,
        parted_legacy,
        parted_own,
        parted_own_legacy,
    )


@pytest.fixture(scope="module", params=STORES)
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """The ``ledger`` fixture's three stores, built once per module (see the docstring)."""
    url = store_url_for(request.param, tmp_path_factory.mktemp(f"store-{request.param}"))
    ledger = open_ledger(url)
    try:
        yield build_scene(request.param, url, ledger)
    finally:
        ledger.close()


@dataclass(frozen=True)
class Record:
    """Everything a command could have written."""

    version: int
    document: dict[str, Any]  # its joint actions, each at its own version, among it
    log_size: int
    last_notification_id: int
    timeline: list[TimelineEntry]
    read_models: dict[str, list[tuple[Any, ...]]]


def record_of(ledger: Ledger, commitment_id: UUID) -> Record:
    return Record(
        version=ledger.current_version(commitment_id, AUDITOR),
        document=ledger.get_commitment(commitment_id, AUDITOR),
        log_size=ledger.log_size(),
        last_notification_id=ledger.recorder.max_notification_id() or 0,
        timeline=ledger.timeline(commitment_id, AUDITOR, limit=1000).items,
        read_models=ledger.read_models.dump_read_models(),
    )


def assert_records_nothing(
    scene: Scene, error: type[Exception], command: Callable[[Scene], object], commitment_id: UUID | None = None
) -> Exception:
    """The command raises exactly ``error``, and nothing at all was recorded."""
    watched = commitment_id or scene.commitment
    before = record_of(scene.ledger, watched)
    with pytest.raises(error) as refusal:
        command(scene)
    assert type(refusal.value) is error
    after = record_of(scene.ledger, watched)
    assert after.version == before.version
    assert after.document == before.document
    assert after.log_size == before.log_size
    assert after.last_notification_id == before.last_notification_id
    assert after.timeline == before.timeline
    assert after.read_models == before.read_models
    return refusal.value


Command = Callable[[Scene], object]


def amend(changes: dict[str, Any], reason: str = "as the plan foresaw", who: str = "dia") -> Command:
    return lambda s: s.ledger.amend_commitment(
        s.commitment, changes=changes, reason=reason, actor=getattr(s.world, who), request_id=REFUSED
    )


def add_partner(partner: str, role: PartnerRole, who: str = "dia", joined_on: date | None = None) -> Command:
    return lambda s: s.ledger.add_partner(
        s.commitment,
        partner_id=getattr(s.world, partner).id,
        role=role,
        joined_on=joined_on,
        actor=getattr(s.world, who),
        request_id=REFUSED,
    )


def remove(partner: str, who: str, reason: str = "no longer involved") -> Command:
    return lambda s: s.ledger.remove_partner(
        s.commitment,
        partner_id=getattr(s.world, partner).id,
        reason=reason,
        actor=getattr(s.world, who),
        request_id=REFUSED,
    )


def reach(which: str = "open", on: date | None = None, who: str = "msd") -> Command:
    def command(s: Scene) -> object:
        milestone = {"open": s.open_milestone, "reached": s.reached_milestone}.get(which, uuid4())
        return s.ledger.reach_milestone(
            s.commitment,
            milestone,
            reached_on=on or date(2015, 6, 1),
            actor=getattr(s.world, who),
            request_id=REFUSED,
        )

    return command


def record(names: list[str], who: str = "msd", where: str = "commitment") -> Command:
    return lambda s: s.ledger.record_joint_action(
        getattr(s, where),
        summary="Another hui",
        occurred_on=date(2015, 9, 1),
        partner_ids=[getattr(s.world, name).id for name in names],
        actor=someone(s, who),
        request_id=REFUSED,
    )


def someone(s: Scene, who: str) -> Actor:
    """A partner of the world by name, or the auditor, admin or assessor."""
    return {"auditor": AUDITOR, "admin": ADMIN, "assessor": ASSESSOR}.get(who) or getattr(s.world, who)


# The joint actions of the scene by name (``Scene``), and ``unknown``: an id never used.
def action_named(s: Scene, which: str) -> UUID:
    return uuid4() if which == "unknown" else getattr(s, which)


def respond(
    who: str, response: Response = Response.DISPUTED, which: str = "action", where: str = "commitment"
) -> Command:
    """``who`` answers the joint action ``which`` of the commitment ``where``."""
    return lambda s: s.ledger.respond_to_action(
        getattr(s, where), action_named(s, which), response=response, actor=someone(s, who), request_id=REFUSED
    )


def withdraw_action(who: str, which: str, reason: str = "recorded in error", where: str = "commitment") -> Command:
    return lambda s: s.ledger.withdraw_action(
        getattr(s, where), action_named(s, which), reason=reason, actor=someone(s, who), request_id=REFUSED
    )


def change_milestone(
    which: str = "open", title: str | None = "Renamed milestone", reason: str = "as agreed", who: str = "msd"
) -> Command:
    def command(s: Scene) -> object:
        milestone = {"open": s.open_milestone, "reached": s.reached_milestone}.get(which, uuid4())
        return s.ledger.change_milestone(
            s.commitment, milestone, title=title, reason=reason, actor=someone(s, who), request_id=REFUSED
        )

    return command


def assess(on: date = date(2015, 7, 1), who: str = "assessor") -> Command:
    return lambda s: s.ledger.record_assessment(
        s.commitment,
        stage=AssessmentStage.MID_TERM,
        assessed_on=on,
        completion=Completion.LIMITED,
        actor=someone(s, who),
        request_id=REFUSED,
    )


def rename(name: str = "Ministry for Māori Development", reason: str = "its new name", who: str = "admin") -> Command:
    return lambda s: s.ledger.rename_partner(
        s.world.tpk.id, name=name, reason=reason, actor=someone(s, who), request_id=REFUSED
    )


TOMORROW = latest_world_day() + timedelta(days=1)  # the first day that is in the future everywhere


def add_milestone(who: str) -> Command:
    return lambda s: s.ledger.add_milestone(
        s.commitment, title="A new milestone", due_on=date(2016, 1, 1), actor=getattr(s.world, who), request_id=REFUSED
    )


def report(who: str, as_of: date | None = None) -> Command:
    return lambda s: s.ledger.report_progress(
        s.commitment,
        completion=Completion.LIMITED,
        note="mid-term",
        as_of=as_of,
        actor=getattr(s.world, who),
        request_id=REFUSED,
    )


def withdraw(who: str) -> Command:
    return lambda s: s.ledger.withdraw_commitment(
        s.commitment, reason="no longer needed", actor=getattr(s.world, who), request_id=REFUSED
    )


RULES = [
    pytest.param(amend({"title": "   "}), InvalidValue, id="blank title"),
    pytest.param(amend({"title": "x" * 201}), InvalidValue, id="title of 201 characters"),
    pytest.param(amend({"description": "x" * 10_001}), InvalidValue, id="description of 10001 characters"),
    pytest.param(amend({"ends_on": date(2014, 6, 30)}), InvalidValue, id="ends before it starts"),
    pytest.param(amend({"title": TITLE}), NothingChanged, id="amendment that changes nothing"),
    pytest.param(amend({}), NothingChanged, id="amendment of no fields"),
    pytest.param(amend({"title": "New title"}, reason="  "), InvalidValue, id="amendment without a reason"),
    pytest.param(amend({"status": "withdrawn"}), InvalidValue, id="amendment of a field not amendable"),
    pytest.param(add_partner("msd", PartnerRole.SUPPORT), AlreadyPartner, id="support agency joining twice"),
    pytest.param(add_partner("dia", PartnerRole.LEAD), AlreadyPartner, id="lead joining twice"),
    pytest.param(add_partner("tpk", PartnerRole.COMMUNITY), RoleMismatch, id="agency as community"),
    pytest.param(add_partner("tinz", PartnerRole.SUPPORT), RoleMismatch, id="civil society as support"),
    pytest.param(remove("dia", who="dia"), LastLeadCannotLeave, id="last lead leaving"),
    pytest.param(remove("tinz", who="dia"), NotPartner, id="removing a partner it does not have"),
    pytest.param(remove("iwi", who="iwi", reason=""), InvalidValue, id="leaving without a reason"),
    pytest.param(reach("reached", who="dia"), MilestoneAlreadyReached, id="milestone reached twice"),
    pytest.param(reach(on=latest_world_day() + timedelta(days=1)), InvalidValue, id="milestone reached in the future"),
    pytest.param(reach("unknown"), UnknownMilestone, id="unknown milestone"),
    pytest.param(reach(on=date(1899, 12, 31), who="dia"), InvalidValue, id="milestone reached before 1900"),
    pytest.param(add_partner("tpk", PartnerRole.SUPPORT, joined_on=TOMORROW), InvalidValue, id="joining in the future"),
    pytest.param(report("dia", as_of=TOMORROW), InvalidValue, id="progress reported as at a future date"),
    pytest.param(change_milestone("reached"), MilestoneAlreadyReached, id="change of a milestone reached"),
    pytest.param(change_milestone("unknown"), UnknownMilestone, id="change of an unknown milestone"),
    pytest.param(change_milestone(title="Regional hui held"), NothingChanged, id="change that changes nothing"),
    pytest.param(change_milestone(title=None), NothingChanged, id="change of no field"),
    pytest.param(change_milestone(title="  "), InvalidValue, id="change to a blank title"),
    pytest.param(change_milestone(reason=" "), InvalidValue, id="change of a milestone without a reason"),
    pytest.param(assess(on=TOMORROW), InvalidValue, id="assessment made in the future"),
    pytest.param(rename(reason=" "), InvalidValue, id="rename without a reason"),
    pytest.param(rename(name="Te Puni Kōkiri"), NothingChanged, id="rename to the same name"),
    pytest.param(record([]), InvalidValue, id="joint action naming nobody"),
    pytest.param(record(["msd"]), InvalidValue, id="joint action naming only its recorder"),
    pytest.param(record(["hui_e", "tinz"]), NotPartner, id="joint action naming a stranger"),
    pytest.param(respond("iwi", which="unknown"), UnknownJointAction, id="response to an unknown joint action"),
    pytest.param(
        respond("hui_e", which="withdrawn_action"), UnknownJointAction, id="response to another commitment's action"
    ),
    pytest.param(
        respond("hui_e", which="withdrawn_legacy"),
        UnknownJointAction,
        id="response to another commitment's legacy action",
    ),
    pytest.param(withdraw_action("msd", "unknown"), UnknownJointAction, id="withdrawal of an unknown joint action"),
    pytest.param(
        withdraw_action("dia", "withdrawn_action"), UnknownJointAction, id="withdrawal of another commitment's action"
    ),
]

# The rules of joint actions, for an action of its own (``action``, ``retracted``) and
# one recorded in the commitment's stream as release 0.1.0 did (``legacy_action``,
# ``retracted_legacy``): the same rules hold for both.
ACTION_RULES: list[tuple[Callable[[str, str], Command], type[Exception], str]] = [
    (lambda action, _: respond("dia", which=action), NotNamedInAction, "response by a partner not named"),
    (lambda action, _: respond("msd", which=action), NotNamedInAction, "response by the recorder"),
    (lambda action, _: respond("hui_e", which=action), AlreadyResponded, "second response of a named partner"),
    (lambda action, _: respond("auditor", which=action), NotNamedInAction, "response by an auditor"),
    (lambda action, _: respond("admin", which=action), NotNamedInAction, "response by an admin"),
    (lambda _, retracted: respond("hui_e", which=retracted), ActionWithdrawn, "response to a withdrawn action"),
    (lambda action, _: withdraw_action("dia", action), NotPermitted, "withdrawal by the lead, not its recorder"),
    (lambda action, _: withdraw_action("hui_e", action), NotPermitted, "withdrawal by a partner named in it"),
    (lambda action, _: withdraw_action("msd", action, reason=" "), InvalidValue, "withdrawal without a reason"),
    (lambda _, retracted: withdraw_action("msd", retracted), ActionWithdrawn, "second withdrawal"),
]
for make, refusal, name in ACTION_RULES:
    RULES.append(pytest.param(make("action", "retracted"), refusal, id=name))
    RULES.append(pytest.param(make("legacy_action", "retracted_legacy"), refusal, id=f"{name} (legacy)"))


@pytest.mark.parametrize(("command", "error"), RULES)
def test_a_rule_refuses_and_records_nothing(scene: Scene, command: Command, error: type[Exception]) -> None:
    assert_records_nothing(scene, error, command)


WHO_MAY = [
    pytest.param(amend({"title": "Support's title"}, who="msd"), id="support agency amends"),
    pytest.param(amend({"title": "Hui E!'s title"}, who="hui_e"), id="community partner amends"),
    pytest.param(add_partner("tpk", PartnerRole.SUPPORT, who="msd"), id="support agency adds a partner"),
    pytest.param(report("msd"), id="support agency reports progress"),
    pytest.param(withdraw("msd"), id="support agency withdraws"),
    pytest.param(remove("iwi", who="msd"), id="support agency removes a partner"),
    pytest.param(remove("iwi", who="hui_e"), id="community partner removes another partner"),
    pytest.param(add_milestone("hui_e"), id="community partner adds a milestone"),
    pytest.param(add_milestone("tpk"), id="agency not a partner adds a milestone"),
    pytest.param(reach(who="iwi"), id="community partner reaches a milestone"),
    pytest.param(record(["dia"], who="tpk"), id="agency not a partner records a joint action"),
    pytest.param(record(["dia"], who="tinz"), id="stranger records a joint action"),
    pytest.param(record(["dia"], who="auditor"), id="auditor records a joint action"),
    pytest.param(record(["dia"], who="admin"), id="admin records a joint action"),
    pytest.param(change_milestone(who="hui_e"), id="community partner changes a milestone"),
    pytest.param(change_milestone(who="tpk"), id="agency not a partner changes a milestone"),
    pytest.param(reach(who="assessor"), id="assessor reaches a milestone"),
    pytest.param(report("msd", as_of=date(2015, 6, 30)), id="support agency reports progress as at a date"),
]


@pytest.mark.parametrize("command", WHO_MAY)
def test_who_may_do_what_refuses_and_records_nothing(scene: Scene, command: Command) -> None:
    assert_records_nothing(scene, NotPermitted, command)


def on_withdrawn(command: Callable[[Scene, UUID], object]) -> Command:
    return lambda s: command(s, s.withdrawn)


WITHDRAWN = [
    pytest.param(
        lambda s, c: s.ledger.amend_commitment(
            c, changes={"title": "Revived"}, reason="r", actor=s.world.dia, request_id=REFUSED
        ),
        id="amend",
    ),
    pytest.param(
        lambda s, c: s.ledger.add_partner(
            c, partner_id=s.world.tpk.id, role=PartnerRole.SUPPORT, actor=s.world.dia, request_id=REFUSED
        ),
        id="add a partner",
    ),
    pytest.param(
        lambda s, c: s.ledger.remove_partner(
            c, partner_id=s.world.msd.id, reason="r", actor=s.world.dia, request_id=REFUSED
        ),
        id="remove a partner",
    ),
    pytest.param(
        lambda s, c: s.ledger.remove_partner(
            c, partner_id=s.world.hui_e.id, reason="r", actor=s.world.hui_e, request_id=REFUSED
        ),
        id="leave",
    ),
    pytest.param(
        lambda s, c: s.ledger.add_milestone(
            c, title="Late", due_on=date(2016, 1, 1), actor=s.world.msd, request_id=REFUSED
        ),
        id="add a milestone",
    ),
    pytest.param(
        lambda s, c: s.ledger.reach_milestone(
            c, s.withdrawn_milestone, reached_on=date(2015, 6, 1), actor=s.world.msd, request_id=REFUSED
        ),
        id="reach a milestone",
    ),
    pytest.param(
        lambda s, c: s.ledger.record_joint_action(
            c,
            summary="After the end",
            occurred_on=date(2016, 1, 1),
            partner_ids=[s.world.hui_e.id],
            actor=s.world.dia,
            request_id=REFUSED,
        ),
        id="record a joint action",
    ),
    pytest.param(
        lambda s, c: s.ledger.respond_to_action(
            c, s.withdrawn_action, response=Response.CONFIRMED, actor=s.world.hui_e, request_id=REFUSED
        ),
        id="confirm a joint action",
    ),
    pytest.param(
        lambda s, c: s.ledger.respond_to_action(
            c, s.withdrawn_legacy, response=Response.DISPUTED, actor=s.world.hui_e, request_id=REFUSED
        ),
        id="dispute a legacy joint action",
    ),
    pytest.param(
        lambda s, c: s.ledger.withdraw_action(c, s.withdrawn_action, reason="r", actor=s.world.dia, request_id=REFUSED),
        id="withdraw a joint action",
    ),
    pytest.param(
        lambda s, c: s.ledger.withdraw_action(c, s.withdrawn_legacy, reason="r", actor=s.world.dia, request_id=REFUSED),
        id="withdraw a legacy joint action",
    ),
    pytest.param(
        lambda s, c: s.ledger.change_milestone(
            c, s.withdrawn_milestone, due_on=date(2016, 1, 1), reason="r", actor=s.world.msd, request_id=REFUSED
        ),
        id="change a milestone",
    ),
    pytest.param(
        lambda s, c: s.ledger.record_assessment(
            c,
            stage=AssessmentStage.END_OF_TERM,
            assessed_on=date(2016, 7, 1),
            completion=Completion.LIMITED,
            actor=ASSESSOR,
            request_id=REFUSED,
        ),
        id="record an assessment",
    ),
    pytest.param(
        lambda s, c: s.ledger.report_progress(
            c, completion=Completion.COMPLETE, note="done", actor=s.world.dia, request_id=REFUSED
        ),
        id="report progress",
    ),
    pytest.param(
        lambda s, c: s.ledger.withdraw_commitment(c, reason="again", actor=s.world.dia, request_id=REFUSED),
        id="withdraw again",
    ),
]


@pytest.mark.parametrize("command", WITHDRAWN)
def test_a_withdrawn_commitment_refuses_every_command(scene: Scene, command: Callable[[Scene, UUID], object]) -> None:
    assert scene.ledger.get_commitment(scene.withdrawn)["status"] == "withdrawn"
    assert_records_nothing(scene, CommitmentWithdrawn, on_withdrawn(command), scene.withdrawn)


# A partner that has left the commitment (the iwi, of ``parted``) no longer answers the
# joint actions that name it, withdraws those it recorded or records new ones: for
# actions of their own and those of the commitment's stream (release 0.1.0) alike.
PARTED = [
    pytest.param(respond("iwi", which="parted_action", where="parted"), NotPartner, id="response"),
    pytest.param(respond("iwi", which="parted_legacy", where="parted"), NotPartner, id="response (legacy)"),
    pytest.param(withdraw_action("iwi", "parted_own", where="parted"), NotPartner, id="withdrawal"),
    pytest.param(withdraw_action("iwi", "parted_own_legacy", where="parted"), NotPartner, id="withdrawal (legacy)"),
    pytest.param(record(["hui_e"], who="iwi", where="parted"), NotPermitted, id="a new joint action"),
]


@pytest.mark.parametrize(("command", "error"), PARTED)
def test_a_partner_that_left_no_longer_acts_on_joint_actions(
    scene: Scene, command: Command, error: type[Exception]
) -> None:
    assert_records_nothing(scene, error, command, scene.parted)


def test_a_permitted_command_changes_every_part_of_the_record(scene: Scene) -> None:
    """The control for every test above: what they watch does move when something is recorded."""
    before = record_of(scene.ledger, scene.commitment)
    result = scene.ledger.report_progress(
        scene.commitment,
        completion=Completion.LIMITED,
        note="rated limited at mid-term",
        actor=scene.world.dia,
        request_id="control",
        expected_version=before.version,
    )
    after = record_of(scene.ledger, scene.commitment)
    assert result.version == after.version == before.version + 1
    assert after.log_size == before.log_size + 1 == result.position + 1
    assert after.last_notification_id > before.last_notification_id
    assert after.timeline[1:] == before.timeline
    assert after.timeline[0].kind == "progress_reported"
    assert after.read_models != before.read_models
    assert after.document != before.document


def test_a_permitted_change_of_a_joint_action_changes_every_part_of_the_record_but_the_commitments_version(
    scene: Scene,
) -> None:
    """The control for the joint actions' tests: an answer moves the action's version and
    everything else they watch, but not the commitment's version."""
    recorded = scene.ledger.record_joint_action(
        scene.commitment,
        summary="Control hui",
        occurred_on=date(2015, 9, 2),
        partner_ids=[scene.world.msd.id],
        actor=scene.world.hui_e,
        request_id="control-action",
    )
    action = created_id(recorded)
    before = record_of(scene.ledger, scene.commitment)
    result = scene.ledger.respond_to_action(
        scene.commitment,
        action,
        response=Response.CONFIRMED,
        actor=scene.world.msd,
        request_id="control-answer",
        expected_version=1,
    )
    after = record_of(scene.ledger, scene.commitment)
    assert (result.aggregate_id, result.version, result.commitment_version) == (action, 2, before.version)
    assert after.version == before.version
    assert after.log_size == before.log_size + 1 == result.position + 1
    assert after.last_notification_id > before.last_notification_id
    assert after.timeline[1:] == before.timeline
    assert (after.timeline[0].kind, after.timeline[0].aggregate_id) == ("joint_action_confirmed", action)
    assert after.read_models != before.read_models
    [shown] = [a for a in after.document["actions"] if a["id"] == str(action)]
    assert shown["version"] == 2


# -- refusals of the application ---------------------------------------------------------


def create_as(actor: Callable[[Scene], Actor]) -> Command:
    return lambda s: s.ledger.create_commitment(
        title="A commitment",
        description="",
        action_plan=PLAN,
        external_ref="NZ9999",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[],
        actor=actor(s),
        request_id=REFUSED,
    )


def register_as(actor: Callable[[Scene], Actor]) -> Command:
    return lambda s: s.ledger.register_partner(
        name="Sport New Zealand", kind=PartnerKind.AGENCY, actor=actor(s), request_id=REFUSED
    )


FORBIDDEN = [
    pytest.param(create_as(lambda s: s.world.hui_e), id="community partner creates a commitment"),
    pytest.param(create_as(lambda s: AUDITOR), id="auditor creates a commitment"),
    pytest.param(create_as(lambda s: ADMIN), id="admin creates a commitment"),
    pytest.param(register_as(lambda s: s.world.dia), id="agency registers a partner"),
    pytest.param(register_as(lambda s: AUDITOR), id="auditor registers a partner"),
    pytest.param(rename(who="tpk"), id="partner renames itself"),
    pytest.param(rename(who="auditor"), id="auditor renames a partner"),
    pytest.param(assess(who="dia"), id="lead agency records an assessment"),
    pytest.param(assess(who="hui_e"), id="community partner records an assessment"),
    pytest.param(assess(who="auditor"), id="auditor records an assessment"),
    pytest.param(assess(who="admin"), id="admin records an assessment"),
]


@pytest.mark.parametrize("command", FORBIDDEN)
def test_a_role_that_may_not_use_a_use_case_is_forbidden(scene: Scene, command: Command) -> None:
    assert_records_nothing(scene, Forbidden, command)


UNKNOWN = uuid4()

NOT_FOUND = [
    pytest.param(
        lambda s: s.ledger.amend_commitment(
            UNKNOWN, changes={"title": "x"}, reason="r", actor=s.world.dia, request_id=REFUSED
        ),
        id="amend an unknown commitment",
    ),
    pytest.param(
        lambda s: s.ledger.add_milestone(
            UNKNOWN, title="x", due_on=date(2016, 1, 1), actor=s.world.dia, request_id=REFUSED
        ),
        id="add a milestone to an unknown commitment",
    ),
    pytest.param(
        lambda s: s.ledger.withdraw_commitment(UNKNOWN, reason="r", actor=s.world.dia, request_id=REFUSED),
        id="withdraw an unknown commitment",
    ),
    pytest.param(
        lambda s: s.ledger.amend_commitment(
            s.world.dia.id, changes={"title": "x"}, reason="r", actor=s.world.dia, request_id=REFUSED
        ),
        id="amend a partner as if a commitment",
    ),
    pytest.param(
        lambda s: s.ledger.add_partner(
            s.commitment, partner_id=UNKNOWN, role=PartnerRole.SUPPORT, actor=s.world.dia, request_id=REFUSED
        ),
        id="add an unknown partner",
    ),
    pytest.param(
        lambda s: s.ledger.rename_partner(UNKNOWN, name="Nobody", reason="r", actor=ADMIN, request_id=REFUSED),
        id="rename an unknown partner",
    ),
    pytest.param(
        create_as(lambda s: Actor(ActorRole.AGENCY, UNKNOWN, "Unregistered Agency")),
        id="an unregistered agency creates a commitment",
    ),
    pytest.param(
        lambda s: s.ledger.add_milestone(
            s.hidden, title="x", due_on=date(2016, 1, 1), actor=s.world.tpk, request_id=REFUSED
        ),
        id="an agency not a partner adds a milestone to a partners-only commitment",
    ),
    pytest.param(
        lambda s: s.ledger.amend_commitment(
            s.hidden, changes={"title": "x"}, reason="r", actor=s.world.msd, request_id=REFUSED
        ),
        id="an agency not a partner amends a partners-only commitment",
    ),
    pytest.param(
        lambda s: s.ledger.remove_partner(
            s.hidden, partner_id=s.world.tinz.id, reason="r", actor=s.world.tinz, request_id=REFUSED
        ),
        id="a stranger leaves a partners-only commitment",
    ),
    pytest.param(
        lambda s: s.ledger.record_joint_action(
            s.hidden,
            summary="x",
            occurred_on=date(2015, 1, 1),
            partner_ids=[s.world.dia.id],
            actor=s.world.tpk,
            request_id=REFUSED,
        ),
        id="an agency not a partner records a joint action of a partners-only commitment",
    ),
    pytest.param(
        lambda s: s.ledger.respond_to_action(
            UNKNOWN, s.action, response=Response.CONFIRMED, actor=s.world.iwi, request_id=REFUSED
        ),
        id="respond to a joint action of an unknown commitment",
    ),
    pytest.param(
        lambda s: s.ledger.record_assessment(
            UNKNOWN,
            stage=AssessmentStage.OTHER,
            assessed_on=date(2015, 1, 1),
            completion=Completion.LIMITED,
            actor=ASSESSOR,
            request_id=REFUSED,
        ),
        id="assess an unknown commitment",
    ),
]


@pytest.mark.parametrize("command", NOT_FOUND)
def test_what_does_not_exist_or_may_not_be_seen_is_not_found(scene: Scene, command: Command) -> None:
    assert_records_nothing(scene, NotFound, command)


QUERIES: dict[str, Callable[[Ledger, UUID, Actor | None], object]] = {
    "get": lambda ledger, cid, viewer: ledger.get_commitment(cid, viewer),
    "get at version 1": lambda ledger, cid, viewer: ledger.get_commitment(cid, viewer, version=1),
    "current version": lambda ledger, cid, viewer: ledger.current_version(cid, viewer),
    "history": lambda ledger, cid, viewer: ledger.commitment_history(cid, viewer),
    "diff": lambda ledger, cid, viewer: ledger.diff(cid, 1, 2, viewer),
    "timeline": lambda ledger, cid, viewer: ledger.timeline(cid, viewer),
}
STRANGERS: dict[str, Callable[[World], Actor | None]] = {
    "the public": lambda w: None,
    "an agency not a partner": lambda w: w.tpk,
    "a civil-society stranger": lambda w: w.tinz,
}
ALLOWED: dict[str, Callable[[World], Actor | None]] = {
    "its lead": lambda w: w.dia,
    "its community partner": lambda w: w.hui_e,
    "an auditor": lambda w: AUDITOR,
    "an admin": lambda w: ADMIN,
}


@pytest.mark.parametrize("stranger", STRANGERS.values(), ids=STRANGERS.keys())
@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_a_partners_only_commitment_is_not_found_by_strangers(
    scene: Scene, query: Callable[[Ledger, UUID, Actor | None], object], stranger: Callable[[World], Actor | None]
) -> None:
    with pytest.raises(NotFound):
        query(scene.ledger, scene.hidden, stranger(scene.world))
    query(scene.ledger, scene.commitment, stranger(scene.world))  # a public one they do see


@pytest.mark.parametrize("viewer", ALLOWED.values(), ids=ALLOWED.keys())
@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_a_partners_only_commitment_is_seen_by_its_partners_auditors_and_admins(
    scene: Scene, query: Callable[[Ledger, UUID, Actor | None], object], viewer: Callable[[World], Actor | None]
) -> None:
    assert query(scene.ledger, scene.hidden, viewer(scene.world))


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_an_unknown_commitment_is_not_found(
    scene: Scene, query: Callable[[Ledger, UUID, Actor | None], object]
) -> None:
    for missing in (UNKNOWN, scene.world.dia.id):  # nothing at all; a partner, not a commitment
        with pytest.raises(NotFound):
            query(scene.ledger, missing, AUDITOR)


def test_an_unknown_partner_is_not_found(scene: Scene) -> None:
    with pytest.raises(NotFound):
        scene.ledger.get_partner(UNKNOWN)
    with pytest.raises(NotFound):
        scene.ledger.get_partner(scene.commitment)
    with pytest.raises(NotFound):
        scene.ledger.partner_timeline(UNKNOWN, AUDITOR)


STALE_COMMANDS: dict[str, Callable[[Scene, int], object]] = {
    "amend": lambda s, v: s.ledger.amend_commitment(
        s.commitment,
        changes={"title": "Title from a stale page"},
        reason="r",
        actor=s.world.dia,
        request_id=REFUSED,
        expected_version=v,
    ),
    "add a milestone": lambda s, v: s.ledger.add_milestone(
        s.commitment, title="Stale", due_on=date(2016, 1, 1), actor=s.world.dia, request_id=REFUSED, expected_version=v
    ),
    "reach a milestone": lambda s, v: s.ledger.reach_milestone(
        s.commitment,
        s.open_milestone,
        reached_on=date(2015, 6, 1),
        actor=s.world.msd,
        request_id=REFUSED,
        expected_version=v,
    ),
    "record a joint action": lambda s, v: s.ledger.record_joint_action(
        s.commitment,
        summary="Stale",
        occurred_on=date(2015, 9, 1),
        partner_ids=[s.world.iwi.id],
        actor=s.world.hui_e,
        request_id=REFUSED,
        expected_version=v,
    ),
    "change a milestone": lambda s, v: s.ledger.change_milestone(
        s.commitment,
        s.open_milestone,
        due_on=date(2015, 12, 31),
        reason="stale",
        actor=s.world.msd,
        request_id=REFUSED,
        expected_version=v,
    ),
    "record an assessment": lambda s, v: s.ledger.record_assessment(
        s.commitment,
        stage=AssessmentStage.MID_TERM,
        assessed_on=date(2015, 7, 1),
        completion=Completion.LIMITED,
        actor=ASSESSOR,
        request_id=REFUSED,
        expected_version=v,
    ),
    "report progress": lambda s, v: s.ledger.report_progress(
        s.commitment,
        completion=Completion.SUBSTANTIAL,
        note="stale",
        actor=s.world.dia,
        request_id=REFUSED,
        expected_version=v,
    ),
    "withdraw": lambda s, v: s.ledger.withdraw_commitment(
        s.commitment, reason="stale", actor=s.world.dia, request_id=REFUSED, expected_version=v
    ),
}


STALE = [pytest.param(command, -1, id=f"{name}, one behind") for name, command in STALE_COMMANDS.items()]
STALE.append(pytest.param(STALE_COMMANDS["amend"], +1, id="amend, one ahead"))


@pytest.mark.parametrize(("command", "offset"), STALE)
def test_a_stale_expected_version_is_refused(
    scene: Scene, offset: int, command: Callable[[Scene, int], object]
) -> None:
    current = scene.ledger.current_version(scene.commitment)
    error = assert_records_nothing(scene, VersionMismatch, lambda s: command(s, current + offset))
    assert isinstance(error, VersionMismatch)
    assert (error.expected, error.current) == (current + offset, current)


# A change of a joint action names the ACTION's version (its events: recorded, each
# answer, a withdrawal), whether the action is an aggregate of its own or was recorded
# in the commitment's stream; the commitment's version is not what it is checked against.
ACTION_STALE_COMMANDS: dict[str, Callable[[Scene, str, int], object]] = {
    "respond": lambda s, which, v: s.ledger.respond_to_action(
        s.commitment,
        getattr(s, which),
        response=Response.CONFIRMED,
        actor=s.world.iwi,
        request_id=REFUSED,
        expected_version=v,
    ),
    "withdraw": lambda s, which, v: s.ledger.withdraw_action(
        s.commitment, getattr(s, which), reason="stale", actor=s.world.msd, request_id=REFUSED, expected_version=v
    ),
}
ACTION_STALE = [
    pytest.param(command, which, offset, id=f"{name} {which.replace('_', ' ')}, {label}")
    for name, command in ACTION_STALE_COMMANDS.items()
    for which in ("action", "legacy_action")
    for offset, label in ((-1, "one behind"), (+1, "one ahead"))
]


@pytest.mark.parametrize(("command", "which", "offset"), ACTION_STALE)
def test_a_stale_expected_version_of_a_joint_action_is_refused(
    scene: Scene, which: str, offset: int, command: Callable[[Scene, str, int], object]
) -> None:
    current = scene.ledger.get_action(scene.commitment, getattr(scene, which))["version"]
    assert current == 2  # recorded, and answered by Hui E!
    error = assert_records_nothing(scene, VersionMismatch, lambda s: command(s, which, current + offset))
    assert isinstance(error, VersionMismatch)
    assert (error.expected, error.current) == (current + offset, current)
    commitment = scene.ledger.current_version(scene.commitment)
    if commitment != current:  # the commitment's version is not the one checked
        with pytest.raises(VersionMismatch):
            command(scene, which, commitment)


# -- two ledgers on one store ------------------------------------------------------------

# Two in-memory ledgers do not share a database: these tests run on the stores that can
# be shared (no test is generated that could not run).
SHARED_STORES = pytest.mark.parametrize("scene", [kind for kind in STORES if kind != "memory"], indirect=True)


@pytest.fixture
def rival(scene: Scene) -> Iterator[Ledger]:
    """A second ledger on the same store, as another process or host would have."""
    assert scene.kind != "memory", "two in-memory ledgers do not share a database"
    other = open_ledger(scene.url)
    try:
        yield other
    finally:
        other.close()


def dense_log(ledger: Ledger) -> list[int]:
    positions = [row[0] for batch in ledger.event_log.scan() for row in batch]
    assert positions == list(range(ledger.log_size()))
    return positions


def race(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, rival_writes: Any) -> None:
    """Makes ``rival_writes()`` happen once, between the ledger's load of what it changes
    and its append of the change, in a context of its own (as another process's write
    would: not in the ledger's open transaction)."""
    append = ledger.append
    raced: list[bool] = []

    def rival_first(tx: Any, aggregates: Any, context: Any = None) -> list[int]:
        if not raced:
            raced.append(True)
            contextvars.Context().run(rival_writes)
        positions: list[int] = append(tx, aggregates, context)
        return positions

    monkeypatch.setattr(ledger, "append", rival_first)


@SHARED_STORES
def test_of_two_concurrent_writes_with_if_match_one_wins_and_the_other_is_refused(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ledgers load the commitment at version 2; the rival saves first, so the
    other's save of version 3 (made on version 2, as its If-Match said) is refused and
    nothing of it is kept."""
    ledger, dia = scene.ledger, scene.world.dia
    cid = create(ledger, dia, ref="NZ-RACE")
    race(
        ledger,
        monkeypatch,
        lambda: rival.add_milestone(
            cid, title="The rival's milestone", due_on=date(2016, 1, 1), actor=dia, request_id="rival"
        ),
    )
    log_size = ledger.log_size()
    with pytest.raises(ConcurrentWrite):
        ledger.add_milestone(
            cid,
            title="The loser's milestone",
            due_on=date(2016, 2, 1),
            actor=dia,
            request_id="loser",
            expected_version=2,
        )
    monkeypatch.undo()

    for reader in (ledger, rival):
        document = reader.get_commitment(cid)
        assert document["version"] == 3
        assert [m["title"] for m in document["milestones"]] == ["The rival's milestone"]
    history = ledger.commitment_history(cid)
    assert [e["version"] for e in history] == [1, 2, 3]
    assert [e["request_id"] for e in history] == ["create-NZ-RACE", "create-NZ-RACE", "rival"]
    assert ledger.log_size() == log_size + 1
    newest = ledger.timeline(cid).items[0]
    assert newest.summary.endswith("“The rival's milestone”, due 1 January 2016.")
    dense_log(ledger)

    retried = ledger.add_milestone(
        cid, title="The loser's milestone", due_on=date(2016, 2, 1), actor=dia, request_id="retry", expected_version=3
    )
    assert retried.version == 4
    assert [e["version"] for e in rival.commitment_history(cid)] == [1, 2, 3, 4]
    assert dense_log(rival)[-1] == retried.position


@SHARED_STORES
def test_a_write_without_if_match_that_loses_a_race_is_run_again_on_the_new_version(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service retries a change that named no version: the loser's milestone is
    added on top of the rival's, once, and the log stays dense."""
    ledger, dia = scene.ledger, scene.world.dia
    cid = create(ledger, dia, ref="NZ-RETRY")
    race(
        ledger,
        monkeypatch,
        lambda: rival.add_milestone(
            cid, title="The rival's milestone", due_on=date(2016, 1, 1), actor=dia, request_id="rival"
        ),
    )
    log_size = ledger.log_size()

    result = ledger.add_milestone(
        cid, title="The later milestone", due_on=date(2016, 2, 1), actor=dia, request_id="later"
    )

    monkeypatch.undo()
    assert result.version == 4
    history = rival.commitment_history(cid)
    assert [e["request_id"] for e in history] == ["create-NZ-RETRY", "create-NZ-RETRY", "rival", "later"]
    assert [m["title"] for m in rival.get_commitment(cid)["milestones"]] == [
        "The rival's milestone",
        "The later milestone",
    ]
    assert ledger.log_size() == log_size + 2
    assert dense_log(ledger)[-1] == result.position


@SHARED_STORES
def test_writes_to_different_commitments_from_two_ledgers_both_land_in_one_dense_log(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, dia = scene.ledger, scene.world.dia
    mine = create(ledger, dia, ref="NZ-MINE")
    theirs = create(rival, dia, ref="NZ-THEIRS")
    race(
        ledger,
        monkeypatch,
        lambda: rival.add_milestone(theirs, title="Theirs", due_on=date(2016, 1, 1), actor=dia, request_id="theirs"),
    )
    result = ledger.add_milestone(mine, title="Mine", due_on=date(2016, 1, 1), actor=dia, request_id="mine")
    monkeypatch.undo()

    assert result.version == 3
    assert rival.current_version(theirs) == 3
    positions = dense_log(ledger)
    assert positions[-1] == result.position
    assert ledger.commitment_history(theirs)[-1]["position"] == result.position - 1


def answers_scene(ledger: Ledger, w: World, ref: str) -> tuple[UUID, list[UUID]]:
    """A commitment led by DIA with MSD, Hui E! and the iwi, and four joint actions, each
    naming Hui E! and the iwi, none answered yet."""
    cid = create(ledger, w.dia, ref=ref)
    ledger.add_partner(cid, partner_id=w.msd.id, role=PartnerRole.SUPPORT, actor=w.dia, request_id=f"{ref}-1")
    ledger.add_partner(cid, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id=f"{ref}-2")
    ledger.add_partner(cid, partner_id=w.iwi.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id=f"{ref}-3")
    actions = [
        created_id(
            ledger.record_joint_action(
                cid,
                summary=f"Hui {n}",
                occurred_on=date(2015, 9, n),
                partner_ids=[w.hui_e.id, w.iwi.id],
                actor=w.msd if n % 2 else w.dia,
                request_id=f"{ref}-action-{n}",
            )
        )
        for n in range(1, 5)
    ]
    return cid, actions


@SHARED_STORES
def test_answers_to_different_joint_actions_and_an_amendment_of_their_commitment_never_conflict(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hui E! confirms one joint action while, between its load and its save, the iwi
    confirms another of the same commitment and the lead amends the commitment; then the
    lead amends it again while both partners answer two more actions in the middle of
    it. Every command names the version it read (If-Match), so a lost race would not be
    retried but refused: none is, because none changes what another read. (An answer
    whose commitment moved is checked again against it, which its If-Match allows.)"""
    ledger, w = scene.ledger, scene.world
    cid, (first, second, third, fourth) = answers_scene(ledger, w, "NZ-ANSWERS")
    version = ledger.current_version(cid)
    size = ledger.log_size()
    rivals: list[CommandResult] = []

    def answer_and_amend() -> None:
        rivals.append(
            rival.respond_to_action(
                cid, second, response=Response.CONFIRMED, actor=w.iwi, request_id="rival-answer", expected_version=1
            )
        )
        rivals.append(
            rival.amend_commitment(
                cid,
                changes={"title": "Kia Tūtahi accord review"},
                reason="shorter",
                actor=w.dia,
                request_id="rival-amend",
                expected_version=version,
            )
        )

    race(ledger, monkeypatch, answer_and_amend)
    answered = ledger.respond_to_action(
        cid, first, response=Response.CONFIRMED, actor=w.hui_e, request_id="answer", expected_version=1
    )
    monkeypatch.undo()

    assert [(r.aggregate_id, r.version) for r in rivals] == [(second, 2), (cid, version + 1)]
    # Its commitment moved under it, so its rules were checked again on the amended
    # commitment (the action's own version, which its If-Match named, had not moved).
    assert (answered.aggregate_id, answered.version, answered.commitment_version) == (first, 2, version + 1)
    assert [r.position for r in rivals] == [size, size + 1] and answered.position == size + 2

    def answer_both() -> None:
        rivals.append(
            rival.respond_to_action(
                cid, third, response=Response.DISPUTED, actor=w.hui_e, request_id="rival-3", expected_version=1
            )
        )
        rivals.append(
            rival.respond_to_action(
                cid, fourth, response=Response.CONFIRMED, actor=w.iwi, request_id="rival-4", expected_version=1
            )
        )

    race(ledger, monkeypatch, answer_both)
    amended = ledger.amend_commitment(
        cid,
        changes={"ends_on": date(2016, 12, 31)},
        reason="extended",
        actor=w.dia,
        request_id="amend",
        expected_version=version + 1,
    )
    monkeypatch.undo()

    assert [(r.aggregate_id, r.version) for r in rivals[2:]] == [(third, 2), (fourth, 2)]
    assert (amended.aggregate_id, amended.version) == (cid, version + 2)
    for reader in (ledger, rival):
        document = reader.get_commitment(cid)
        assert document["version"] == version + 2
        assert (document["title"], document["ends_on"]) == ("Kia Tūtahi accord review", "2016-12-31")
        assert [[(r["partner_id"], r["response"]) for r in a["responses"]] for a in document["actions"]] == [
            [(str(w.hui_e.id), "confirmed")],
            [(str(w.iwi.id), "confirmed")],
            [(str(w.hui_e.id), "disputed")],
            [(str(w.iwi.id), "confirmed")],
        ]
        assert [a["version"] for a in document["actions"]] == [2, 2, 2, 2]
    history = ledger.commitment_history(cid)
    assert [e["request_id"] for e in history[-2:]] == ["rival-amend", "amend"]
    assert ledger.log_size() == size + 6
    assert dense_log(ledger)[-1] == amended.position


@SHARED_STORES
def test_two_answers_to_one_joint_action_with_if_match_conflict(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control of the test above: its race does interleave the writers, and answers
    to ONE action, at the version each read, do conflict (one is refused, nothing of it
    kept); without If-Match the loser is run again on the action's new version."""
    ledger, w = scene.ledger, scene.world
    cid, (first, second, _, _) = answers_scene(ledger, w, "NZ-ONE-ACTION")
    race(
        ledger,
        monkeypatch,
        lambda: rival.respond_to_action(
            cid, first, response=Response.CONFIRMED, actor=w.iwi, request_id="rival", expected_version=1
        ),
    )
    size = ledger.log_size()
    with pytest.raises(ConcurrentWrite):
        ledger.respond_to_action(
            cid, first, response=Response.DISPUTED, actor=w.hui_e, request_id="loser", expected_version=1
        )
    monkeypatch.undo()
    assert ledger.log_size() == size + 1
    shown = rival.get_action(cid, first)
    assert (shown["version"], [r["partner_id"] for r in shown["responses"]]) == (2, [str(w.iwi.id)])

    race(
        ledger,
        monkeypatch,
        lambda: rival.respond_to_action(cid, second, response=Response.CONFIRMED, actor=w.iwi, request_id="rival-2"),
    )
    retried = ledger.respond_to_action(cid, second, response=Response.DISPUTED, actor=w.hui_e, request_id="later")
    monkeypatch.undo()
    assert (retried.aggregate_id, retried.version) == (second, 3)
    assert [r["response"] for r in rival.get_action(cid, second)["responses"]] == ["confirmed", "disputed"]
    dense_log(ledger)


@SHARED_STORES
def test_read_models_written_live_during_concurrent_answers_and_amendments_equal_those_rebuilt(
    scene: Scene, rival: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read models are the same whether written as commands land or rebuilt from the
    log: also when an answer to a joint action lands after an amendment its command did
    not see (the timeline entry says the commitment's version when the answer was
    recorded, which the log says is the amended one)."""
    ledger, w = scene.ledger, scene.world
    cid, (first, _, _, _) = answers_scene(ledger, w, "NZ-REBUILT")
    version = ledger.current_version(cid)
    race(
        ledger,
        monkeypatch,
        lambda: rival.amend_commitment(
            cid, changes={"title": "Amended meanwhile"}, reason="r", actor=w.dia, request_id="rival-amend"
        ),
    )
    ledger.respond_to_action(cid, first, response=Response.CONFIRMED, actor=w.hui_e, request_id="answer")
    monkeypatch.undo()

    newest = ledger.timeline(cid).items[0]
    live = ledger.read_models.dump_read_models()
    ledger.rebuild_read_models()
    rebuilt = ledger.read_models.dump_read_models()
    assert (newest.kind, newest.aggregate_id) == ("joint_action_confirmed", first)
    assert ledger.timeline(cid).items[0].version == version + 1, "the version the log says it was recorded at"
    assert newest.version == version + 1, "as written live"
    assert rebuilt == live


RACED_AWAY: dict[str, tuple[Callable[[Ledger, UUID, World], object], type[Exception]]] = {
    "the answering partner leaves": (
        lambda rival, cid, w: rival.remove_partner(
            cid, partner_id=w.hui_e.id, reason="stepped back", actor=w.hui_e, request_id="rival-leave"
        ),
        NotPartner,
    ),
    "the lead withdraws the commitment": (
        lambda rival, cid, w: rival.withdraw_commitment(cid, reason="superseded", actor=w.dia, request_id="rival-w"),
        CommitmentWithdrawn,
    ),
}


@SHARED_STORES
@pytest.mark.parametrize("raced", RACED_AWAY.values(), ids=RACED_AWAY.keys())
def test_an_answer_whose_commitment_changed_its_rules_meanwhile_is_refused(
    scene: Scene,
    rival: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    raced: tuple[Callable[[Ledger, UUID, World], object], type[Exception]],
) -> None:
    """The rules an answer depends on are the commitment's (its partners now, whether it
    was withdrawn). When the commitment changes them between the answer's load and its
    save, the answer is not recorded after the change that forbids it: run again on the
    new state, it is refused."""
    ledger, w = scene.ledger, scene.world
    ref = "NZ-LEFT" if raced[1] is NotPartner else "NZ-GONE"
    cid, (first, _, _, _) = answers_scene(ledger, w, ref)
    change, refusal = raced
    race(ledger, monkeypatch, lambda: change(rival, cid, w))
    size = ledger.log_size()
    with pytest.raises(refusal):
        ledger.respond_to_action(cid, first, response=Response.CONFIRMED, actor=w.hui_e, request_id="in-flight")
    monkeypatch.undo()
    assert ledger.log_size() == size + 1, "only the rival's change was recorded"
    assert rival.get_action(cid, first)["responses"] == []
