"""The rules added with joint actions as aggregates of their own, milestone changes,
dated progress reports, independent assessments and dated memberships, on the
aggregates alone (the rules of release 0.1.0 are in ``test_domain_rules.py``).

As there, each refusal must name its own error class and leave the aggregate exactly as
it was: same version, same state, and no pending event to save. A refused command on a
joint action leaves its commitment as it was too."""

from __future__ import annotations

import copy
import json
import pickle
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from application.logformat import document_bytes, read_event
from application.transcodings import register_domain_transcodings
from domain.commitment import Commitment, pack_parts, unpack_parts
from domain.errors import (
    ActionWithdrawn,
    CommitmentWithdrawn,
    DomainError,
    InvalidValue,
    MilestoneAlreadyReached,
    NothingChanged,
    NotNamedInAction,
    NotPartner,
    NotPermitted,
    UnknownJointAction,
    UnknownMilestone,
)
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import (
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    ActorRole,
    Assessment,
    AssessmentStage,
    Completion,
    Milestone,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    ProgressReport,
    Response,
    Status,
    Visibility,
)

ADMIN = Actor(ActorRole.ADMIN, uuid4(), "Tūtahi operator")
AUDITOR = Actor(ActorRole.AUDITOR, uuid4(), "Office of the Auditor-General")
ASSESSOR = Actor(ActorRole.ASSESSOR, uuid4(), "OGP Independent Reporting Mechanism")
DIA = Actor(ActorRole.AGENCY, uuid4(), "Department of Internal Affairs")
MSD = Actor(ActorRole.AGENCY, uuid4(), "Ministry of Social Development")
TPK = Actor(ActorRole.AGENCY, uuid4(), "Te Puni Kōkiri")  # an agency, not (yet) a partner
HUI_E = Actor(ActorRole.COMMUNITY, uuid4(), "Hui E! Community Aotearoa")
IWI = Actor(ActorRole.COMMUNITY, uuid4(), "Ngāti Whātua Ōrākei")
TINZ = Actor(ActorRole.COMMUNITY, uuid4(), "Transparency International New Zealand")  # not a partner

KINDS = {
    DIA.id: PartnerKind.AGENCY,
    MSD.id: PartnerKind.AGENCY,
    TPK.id: PartnerKind.AGENCY,
    HUI_E.id: PartnerKind.COMMUNITY_ORGANISATION,
    IWI.id: PartnerKind.IWI_HAPU,
    TINZ.id: PartnerKind.CIVIL_SOCIETY,
}

MILESTONE = uuid4()
ACTION = uuid4()
STARTS, ENDS = date(2014, 7, 1), date(2016, 6, 30)
TODAY = date(2016, 6, 30)
TOMORROW = TODAY + timedelta(days=1)
OUT_OF_RANGE = [date(1, 1, 1), date(1899, 12, 31), date(2200, 1, 1), date(9999, 12, 31)]
EDGES = [date(1900, 1, 1), date(2199, 12, 31)]
BLANK_REASONS = ["", "   ", "\n\t"]
BAD_URLS = [
    "ftp://example.org/report",
    "example.org",
    "https://",
    "https://a b",
    "https://evil.example/\u202egpj.exe",
    "https://www.dia.govt.nz/\x1b[2Jreport",
]
BAD_URL_IDS = ["ftp", "no scheme", "no host", "a space", "a bidirectional control", "a control character"]

Command = Callable[[Commitment], object]
ActionCommand = Callable[[JointAction, Commitment], object]


def started() -> Commitment:
    """A commitment just created by the Department of Internal Affairs, its lead."""
    return Commitment.start(
        title="Review progress of the Kia Tūtahi Relationship Accord",
        description="Review how the accord's principles are put into practice.",
        action_plan="New Zealand National Action Plan 2014–16",
        external_ref="NZ0004",
        starts_on=STARTS,
        ends_on=ENDS,
        ogp_values=[OgpValue.CIVIC_PARTICIPATION, OgpValue.PUBLIC_ACCOUNTABILITY],
        visibility=Visibility.PUBLIC,
        lead=(DIA.id, DIA.name, PartnerKind.AGENCY),
        actor=DIA,
        request_id="create",
    )


def join(commitment: Commitment, partner: Actor, role: PartnerRole, **dates: date | None) -> None:
    commitment.add_partner(
        partner_id=partner.id,
        name=partner.name,
        kind=KINDS[partner.id],
        role=role,
        actor=DIA,
        request_id="join",
        **dates,
    )


def populated(collect: bool = True) -> Commitment:
    """DIA leads; MSD supports; Hui E! and an iwi take part as community. One milestone
    (not reached). Its events are already collected, as if saved (unless not ``collect``)."""
    commitment = started()
    join(commitment, MSD, PartnerRole.SUPPORT)
    join(commitment, HUI_E, PartnerRole.COMMUNITY)
    join(commitment, IWI, PartnerRole.COMMUNITY)
    commitment.add_milestone(
        milestone_id=MILESTONE, title="Review report published", due_on=date(2015, 6, 30), actor=DIA, request_id="m"
    )
    if collect:
        commitment.collect_events()
    return commitment


def recorded_action(
    commitment: Commitment, recorder: Actor = MSD, named: tuple[Actor, ...] = (HUI_E, IWI)
) -> JointAction:
    """The joint action ``ACTION`` of the commitment, an aggregate of its own, recorded
    by ``recorder`` naming ``named``. Its event is already collected, as if saved."""
    action = JointAction.record(
        id=ACTION,
        commitment=commitment,
        summary="Hui on the accord's principles",
        occurred_on=date(2015, 8, 1),
        partner_ids=[partner.id for partner in named],
        evidence_url=None,
        actor=recorder,
        request_id="a",
    )
    action.collect_events()
    return action


def legacy_populated(collect: bool = True) -> Commitment:
    """``populated()`` with the joint action ``ACTION`` recorded in the commitment's own
    stream, as release 0.1.0 did: by MSD, naming Hui E! and the iwi."""
    commitment = populated(collect)
    commitment._joint_action_recorded(
        action_id=ACTION,
        summary="Hui on the accord's principles",
        occurred_on=date(2015, 8, 1),
        partner_ids=[HUI_E.id, IWI.id],
        evidence_url=None,
        actor=MSD,
        request_id="a",
    )
    if collect:
        commitment.collect_events()
    return commitment


def assert_refused(aggregate: Any, error: type[DomainError], command: Callable[[Any], object]) -> DomainError:
    """The command raises exactly ``error`` and triggers nothing: no pending event,
    the same version and the same state as before."""
    before = copy.deepcopy(aggregate)
    with pytest.raises(error) as refusal:
        command(aggregate)
    assert type(refusal.value) is error
    assert aggregate.collect_events() == []
    assert aggregate.version == before.version
    assert aggregate == before
    return refusal.value


def assert_action_refused(
    action: JointAction, commitment: Commitment, error: type[DomainError], command: ActionCommand
) -> DomainError:
    """``assert_refused`` for a joint action: it and its commitment stay as they were."""
    action_before, commitment_before = copy.deepcopy(action), copy.deepcopy(commitment)
    with pytest.raises(error) as refusal:
        command(action, commitment)
    assert type(refusal.value) is error
    assert action.collect_events() == [] and commitment.collect_events() == []
    assert (action.version, commitment.version) == (action_before.version, commitment_before.version)
    assert action == action_before
    assert commitment == commitment_before
    return refusal.value


def one_event(aggregate: Any, name: str) -> Any:
    """The single event a successful command triggered, checked by name."""
    events = aggregate.collect_events()
    assert [type(e).__name__ for e in events] == [name]
    return events[0]


def answer(actor: Actor, response: Response = Response.CONFIRMED, note: str | None = None) -> ActionCommand:
    return lambda a, c: a.respond(commitment=c, response=response, note=note, actor=actor, request_id="re")


def respond(actor: Actor, response: Response = Response.CONFIRMED) -> Command:
    """A response to the joint action ``ACTION`` the commitment recorded in its own stream."""
    return lambda c: c.respond_to_action(action_id=ACTION, response=response, note=None, actor=actor, request_id="re")


REASON = "recorded against the wrong commitment"


def withdraw(actor: Actor, reason: str = REASON) -> ActionCommand:
    return lambda a, c: a.withdraw(commitment=c, reason=reason, actor=actor, request_id="w")


def withdraw_legacy(actor: Actor, reason: str = REASON, action: UUID = ACTION) -> Command:
    return lambda c: c.withdraw_action(action_id=action, reason=reason, actor=actor, request_id="w")


def leave(partner: Actor, by: Actor) -> Command:
    return lambda c: c.remove_partner(partner_id=partner.id, reason="no capacity this year", actor=by, request_id="l")


# -- joint actions: any partner records, named partners that are still partners respond ----


def test_a_community_partner_records_a_joint_action_naming_an_agency_which_confirms_it() -> None:
    commitment = populated()
    untouched = copy.deepcopy(commitment)
    action = JointAction.record(
        id=ACTION,
        commitment=commitment,
        summary="Wānanga with whānau on the accord",
        occurred_on=date(2015, 11, 20),
        partner_ids=[MSD.id],
        evidence_url="https://huie.org.nz/wananga",
        actor=HUI_E,
        request_id="a",
    )
    recorded = one_event(action, "JointActionRecorded")
    assert (recorded.actor, recorded.partner_ids, recorded.commitment_id) == (HUI_E, [MSD.id], commitment.id)
    assert action.state == ActionState(
        ACTION,
        "Wānanga with whānau on the accord",
        date(2015, 11, 20),
        HUI_E.id,
        [MSD.id],
        "https://huie.org.nz/wananga",
    )
    assert_action_refused(action, commitment, NotNamedInAction, answer(HUI_E))  # not the recorder itself

    answer(MSD, Response.CONFIRMED, note="we ran it together")(action, commitment)
    confirmed = one_event(action, "JointActionResponded")
    assert (confirmed.response, confirmed.note, confirmed.actor) == (Response.CONFIRMED, "we ran it together", MSD)
    assert action.state.responses == {
        str(MSD.id): ActionResponse(MSD.id, Response.CONFIRMED, "we ran it together", confirmed.timestamp)
    }
    assert action.state.status is ActionStatus.RECORDED
    assert commitment.collect_events() == [] and commitment == untouched


@pytest.mark.parametrize("response", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize(("who", "by"), [(IWI, IWI), (IWI, DIA)], ids=["left", "removed by the lead"])
def test_a_partner_that_left_the_commitment_no_longer_responds_to_a_joint_action(
    who: Actor, by: Actor, response: Response
) -> None:
    commitment = populated()
    action = recorded_action(commitment)  # names Hui E! and the iwi
    leave(who, by)(commitment)
    commitment.collect_events()
    assert_action_refused(action, commitment, NotPartner, answer(who, response))
    answer(HUI_E, response)(action, commitment)  # a named partner that stayed still responds
    assert one_event(action, "JointActionResponded").actor == HUI_E


@pytest.mark.parametrize("response", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize(("who", "by"), [(IWI, IWI), (IWI, DIA)], ids=["left", "removed by the lead"])
def test_a_partner_that_left_the_commitment_no_longer_responds_to_a_legacy_joint_action(
    who: Actor, by: Actor, response: Response
) -> None:
    commitment = legacy_populated()
    leave(who, by)(commitment)
    commitment.collect_events()
    assert_refused(commitment, NotPartner, respond(who, response))
    respond(HUI_E, response)(commitment)
    assert one_event(commitment, "JointActionConfirmed" if response is Response.CONFIRMED else "JointActionDisputed")


def test_a_partner_that_left_may_not_be_named_in_a_new_joint_action() -> None:
    commitment = populated()
    leave(IWI, IWI)(commitment)
    commitment.collect_events()
    assert_refused(
        commitment,
        NotPartner,
        lambda c: recorded_action(c, recorder=MSD, named=(HUI_E, IWI)),
    )
    assert_refused(commitment, NotPermitted, lambda c: recorded_action(c, recorder=IWI, named=(HUI_E,)))


# -- withdrawing a joint action --------------------------------------------------------------

NOT_THE_RECORDER = {
    "a named partner": HUI_E,
    "another named partner": IWI,
    "the lead, not named": DIA,
    "an agency not a partner": TPK,
    "an admin": ADMIN,
}


@pytest.mark.parametrize("actor", NOT_THE_RECORDER.values(), ids=NOT_THE_RECORDER.keys())
def test_only_the_recorder_withdraws_a_joint_action(actor: Actor) -> None:
    commitment = populated()
    assert_action_refused(recorded_action(commitment), commitment, NotPermitted, withdraw(actor))


@pytest.mark.parametrize("actor", NOT_THE_RECORDER.values(), ids=NOT_THE_RECORDER.keys())
def test_only_the_recorder_withdraws_a_legacy_joint_action(actor: Actor) -> None:
    assert_refused(legacy_populated(), NotPermitted, withdraw_legacy(actor))


@pytest.mark.parametrize("reason", BLANK_REASONS, ids=["empty", "spaces", "whitespace"])
def test_withdrawing_a_joint_action_needs_a_reason(reason: str) -> None:
    commitment = populated()
    error = assert_action_refused(recorded_action(commitment), commitment, InvalidValue, withdraw(MSD, reason))
    assert isinstance(error, InvalidValue) and error.field == "reason"
    error = assert_refused(legacy_populated(), InvalidValue, withdraw_legacy(MSD, reason))
    assert isinstance(error, InvalidValue) and error.field == "reason"


@pytest.mark.parametrize(
    ("recorder", "named"), [(MSD, (HUI_E, IWI)), (HUI_E, (DIA,))], ids=["agency recorder", "community recorder"]
)
def test_the_recorder_withdraws_a_joint_action_once_giving_its_reason(recorder: Actor, named: tuple[Actor]) -> None:
    commitment = populated()
    untouched = copy.deepcopy(commitment)
    action = recorded_action(commitment, recorder, named)
    answer(named[0], Response.CONFIRMED)(action, commitment)
    confirmed = one_event(action, "JointActionResponded")
    withdraw(recorder, "Recorded against the wrong commitment\nsee NZ0005")(action, commitment)
    event = one_event(action, "JointActionWithdrawn")
    assert (event.reason, event.actor) == ("Recorded against the wrong commitment\nsee NZ0005", recorder)
    assert action.state.status is ActionStatus.WITHDRAWN
    assert action.state.withdrawal_reason == "Recorded against the wrong commitment\nsee NZ0005"
    # The responses given before the withdrawal are kept, as they were.
    assert action.state.responses == {
        str(named[0].id): ActionResponse(named[0].id, Response.CONFIRMED, None, confirmed.timestamp)
    }
    assert commitment.collect_events() == [] and commitment == untouched
    assert_action_refused(action, commitment, ActionWithdrawn, withdraw(recorder, "again"))


def test_the_recorder_withdraws_a_legacy_joint_action_once_giving_its_reason() -> None:
    commitment = legacy_populated()
    respond(HUI_E, Response.CONFIRMED)(commitment)
    commitment.collect_events()
    withdraw_legacy(MSD)(commitment)
    event = one_event(commitment, "JointActionWithdrawn")
    assert (event.action_id, event.reason, event.actor) == (ACTION, REASON, MSD)
    withdrawn = commitment.actions[str(ACTION)]
    assert (withdrawn.status, withdrawn.withdrawal_reason) == (ActionStatus.WITHDRAWN, REASON)
    assert list(withdrawn.responses) == [str(HUI_E.id)]
    assert_refused(commitment, ActionWithdrawn, withdraw_legacy(MSD, "again"))


def test_only_a_legacy_joint_action_of_the_commitment_can_be_withdrawn() -> None:
    assert_refused(legacy_populated(), UnknownJointAction, withdraw_legacy(MSD, action=uuid4()))


@pytest.mark.parametrize("response", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize("responder", [HUI_E, IWI], ids=["Hui E!", "iwi"])
def test_a_withdrawn_joint_action_takes_no_response(responder: Actor, response: Response) -> None:
    commitment = populated()
    action = recorded_action(commitment)
    answer(responder, response)(copy.deepcopy(action), copy.deepcopy(commitment))  # otherwise allowed
    withdraw(MSD)(action, commitment)
    action.collect_events()
    assert_action_refused(action, commitment, ActionWithdrawn, answer(responder, response))


@pytest.mark.parametrize("response", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize("responder", [HUI_E, IWI], ids=["Hui E!", "iwi"])
def test_a_withdrawn_legacy_joint_action_takes_no_response(responder: Actor, response: Response) -> None:
    commitment = legacy_populated()
    respond(responder, response)(copy.deepcopy(commitment))  # otherwise allowed
    withdraw_legacy(MSD)(commitment)
    commitment.collect_events()
    assert_refused(commitment, ActionWithdrawn, respond(responder, response))


def test_a_withdrawn_commitment_refuses_withdrawing_its_joint_actions() -> None:
    commitment = legacy_populated()
    action = recorded_action(commitment)
    withdraw(MSD)(copy.deepcopy(action), copy.deepcopy(commitment))  # otherwise allowed
    withdraw_legacy(MSD)(copy.deepcopy(commitment))
    commitment.withdraw(reason="superseded", actor=DIA, request_id="w")
    commitment.collect_events()
    assert_action_refused(action, commitment, CommitmentWithdrawn, withdraw(MSD))
    assert_refused(commitment, CommitmentWithdrawn, withdraw_legacy(MSD))


# -- changing a milestone ---------------------------------------------------------------------


def change(
    title: str | None = None,
    due_on: date | None = None,
    reason: str = "the review was rescheduled",
    actor: Actor = DIA,
    milestone: UUID = MILESTONE,
) -> Command:
    return lambda c: c.change_milestone(
        milestone_id=milestone, title=title, due_on=due_on, reason=reason, actor=actor, request_id="mc"
    )


def reach(c: Commitment) -> None:
    c.reach_milestone(
        milestone_id=MILESTONE, reached_on=date(2015, 7, 1), today=TODAY, evidence_url=None, note=None, actor=DIA,
        request_id="r",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "due_on", "changes"),
    [
        ("Review report tabled", None, {"title": "Review report tabled"}),
        (None, date(2015, 12, 31), {"due_on": date(2015, 12, 31)}),
        ("  Review report tabled\n", date(2015, 6, 30), {"title": "Review report tabled"}),
        ("Review report published", date(2015, 12, 31), {"due_on": date(2015, 12, 31)}),
        ("Review report tabled", date(2015, 12, 31), {"title": "Review report tabled", "due_on": date(2015, 12, 31)}),
    ],
    ids=["title", "due date", "title, same due date", "due date, same title", "both"],
)
def test_a_milestone_change_records_only_what_changes_and_why(
    title: str | None, due_on: date | None, changes: dict[str, Any]
) -> None:
    commitment = populated()
    change(title, due_on, reason="Cabinet moved the report back")(commitment)
    event = one_event(commitment, "MilestoneChanged")
    assert event.milestone_id == MILESTONE
    assert event.changes == changes
    assert (event.reason, event.actor) == ("Cabinet moved the report back", DIA)
    expected = Milestone(MILESTONE, "Review report published", date(2015, 6, 30))
    assert commitment.milestones[str(MILESTONE)] == replace(expected, **changes)


def test_a_milestone_title_is_changed_to_its_composed_form() -> None:
    commitment = populated()
    change(unicodedata.normalize("NFD", "Hui ā-rohe held"))(commitment)
    assert one_event(commitment, "MilestoneChanged").changes == {"title": "Hui \u0101-rohe held"}
    assert commitment.milestones[str(MILESTONE)].title == "Hui \u0101-rohe held"


@pytest.mark.parametrize("reason", BLANK_REASONS, ids=["empty", "spaces", "whitespace"])
def test_a_milestone_change_needs_a_reason(reason: str) -> None:
    error = assert_refused(populated(), InvalidValue, change("Review report tabled", reason=reason))
    assert isinstance(error, InvalidValue) and error.field == "reason"


@pytest.mark.parametrize(
    ("title", "due_on"),
    [
        (None, None),
        ("Review report published", None),
        ("  Review report published ", None),
        (None, date(2015, 6, 30)),
        ("Review report published", date(2015, 6, 30)),
    ],
    ids=["nothing given", "same title", "same title padded", "same due date", "same both"],
)
def test_a_milestone_change_must_change_something(title: str | None, due_on: date | None) -> None:
    assert_refused(populated(), NothingChanged, change(title, due_on))


@pytest.mark.parametrize(
    ("title", "due_on"),
    [("Review report tabled", None), (None, date(2015, 12, 31))],
    ids=["title", "due date"],
)
def test_a_reached_milestone_is_not_changed(title: str | None, due_on: date | None) -> None:
    commitment = populated()
    reach(commitment)
    commitment.collect_events()
    error = assert_refused(commitment, MilestoneAlreadyReached, change(title, due_on))
    assert "2015-07-01" in str(error)


def test_only_a_milestone_of_the_commitment_can_be_changed() -> None:
    assert_refused(populated(), UnknownMilestone, change("Review report tabled", milestone=uuid4()))


NOT_LEAD_OR_SUPPORT = {
    "community partner": HUI_E,
    "iwi partner": IWI,
    "agency not a partner": TPK,
    "stranger": TINZ,
    "admin": ADMIN,
    "assessor": ASSESSOR,
}


@pytest.mark.parametrize("actor", NOT_LEAD_OR_SUPPORT.values(), ids=NOT_LEAD_OR_SUPPORT.keys())
def test_only_a_lead_or_support_agency_may_change_a_milestone(actor: Actor) -> None:
    assert_refused(populated(), NotPermitted, change("Review report tabled", actor=actor))


@pytest.mark.parametrize("actor", [DIA, MSD], ids=["lead", "support"])
def test_lead_and_support_agencies_may_change_a_milestone(actor: Actor) -> None:
    commitment = populated()
    change(due_on=date(2015, 12, 31), actor=actor)(commitment)
    assert one_event(commitment, "MilestoneChanged").actor == actor


@pytest.mark.parametrize("title", ["", "  ", "x" * 201, "Review\x00report"], ids=["empty", "spaces", "201", "NUL"])
def test_a_changed_milestone_title_follows_the_title_rule(title: str) -> None:
    error = assert_refused(populated(), InvalidValue, change(title))
    assert isinstance(error, InvalidValue) and error.field == "title"


@pytest.mark.parametrize("day", OUT_OF_RANGE, ids=[d.isoformat() for d in OUT_OF_RANGE])
def test_a_changed_due_date_lies_between_1900_and_2199(day: date) -> None:
    error = assert_refused(populated(), InvalidValue, change(due_on=day))
    assert isinstance(error, InvalidValue) and error.field == "due_on"
    assert "1900-01-01" in error.message and "2199-12-31" in error.message


@pytest.mark.parametrize("day", EDGES, ids=["first", "last"])
def test_a_due_date_may_change_to_the_first_or_last_day_of_the_range(day: date) -> None:
    commitment = populated()
    change(due_on=day)(commitment)
    assert one_event(commitment, "MilestoneChanged").changes == {"due_on": day}


# -- progress as of a date ----------------------------------------------------------------------


def progress(as_of: date | None = None, today: date | None = TODAY) -> Command:
    return lambda c: c.report_progress(
        completion=Completion.SUBSTANTIAL, note="regional hui held", as_of=as_of, today=today, actor=DIA, request_id="p"
    )


@pytest.mark.parametrize("as_of", [date(2015, 12, 31), TODAY, date(1900, 1, 1)], ids=["past", "today", "earliest"])
def test_a_progress_report_records_the_date_it_describes(as_of: date) -> None:
    commitment = populated()
    progress(as_of)(commitment)
    event = one_event(commitment, "ProgressReported")
    assert (event.as_of, event.completion) == (as_of, Completion.SUBSTANTIAL)
    assert commitment.progress == [ProgressReport(Completion.SUBSTANTIAL, "regional hui held", event.timestamp, as_of)]


@pytest.mark.parametrize("today", [TODAY, None], ids=["today given", "today not given"])
def test_a_progress_report_without_a_date_describes_no_date(today: date | None) -> None:
    commitment = populated()
    progress(None, today)(commitment)
    assert one_event(commitment, "ProgressReported").as_of is None
    assert commitment.progress[-1].as_of is None


def test_a_progress_report_does_not_describe_the_future() -> None:
    error = assert_refused(populated(), InvalidValue, progress(TOMORROW))
    assert isinstance(error, InvalidValue) and error.field == "as_of"
    assert "future" in error.message


@pytest.mark.parametrize("day", OUT_OF_RANGE, ids=[d.isoformat() for d in OUT_OF_RANGE])
def test_a_progress_report_describes_a_date_between_1900_and_2199(day: date) -> None:
    error = assert_refused(populated(), InvalidValue, progress(day, today=max(day, TODAY)))
    assert isinstance(error, InvalidValue) and error.field == "as_of"
    assert "1900-01-01" in error.message and "2199-12-31" in error.message


def test_the_completion_is_the_report_about_the_latest_date_not_the_last_recorded() -> None:
    commitment = populated()
    report = lambda completion, as_of: commitment.report_progress(  # noqa: E731
        completion=completion, note="report", as_of=as_of, today=TODAY, actor=DIA, request_id="p"
    )
    report(Completion.COMPLETE, date(2016, 6, 1))
    report(Completion.LIMITED, date(2015, 1, 1))  # recorded late, about an earlier date
    assert commitment.completion is Completion.COMPLETE
    assert commitment.latest_report is not None and commitment.latest_report.as_of == date(2016, 6, 1)
    report(Completion.SUBSTANTIAL, date(2016, 6, 1))  # about the same day, recorded later
    assert commitment.completion is Completion.SUBSTANTIAL


# -- independent assessments ---------------------------------------------------------------------


def assess(
    assessed_on: date = date(2016, 3, 31),
    completion: Completion = Completion.LIMITED,
    actor: Actor = ASSESSOR,
    report_url: str | None = None,
    today: date = TODAY,
    stage: AssessmentStage = AssessmentStage.MID_TERM,
) -> Command:
    return lambda c: c.record_assessment(
        assessment_id=uuid4(),
        stage=stage,
        assessed_on=assessed_on,
        completion=completion,
        report_url=report_url,
        today=today,
        actor=actor,
        request_id="as",
    )


def test_an_assessor_records_an_assessment() -> None:
    commitment = populated()
    assessment = uuid4()
    commitment.record_assessment(
        assessment_id=assessment,
        stage=AssessmentStage.END_OF_TERM,
        assessed_on=TODAY,
        completion=Completion.SUBSTANTIAL,
        did_it_open_government=OpenedGovernment.MARGINAL,
        starred=True,
        report_url="  https://www.opengovpartnership.org/nz-end-of-term.pdf ",
        note=unicodedata.normalize("NFD", "Kia Tūtahi: marginal"),
        today=TODAY,
        actor=ASSESSOR,
        request_id="as",
    )
    event = one_event(commitment, "AssessmentRecorded")
    assert (event.assessment_id, event.actor, event.starred) == (assessment, ASSESSOR, True)
    assert commitment.assessments == [
        Assessment(
            assessment,
            AssessmentStage.END_OF_TERM,
            TODAY,
            Completion.SUBSTANTIAL,
            OpenedGovernment.MARGINAL,
            True,
            "https://www.opengovpartnership.org/nz-end-of-term.pdf",
            "Kia T\u016btahi: marginal",
            ASSESSOR.id,
            ASSESSOR.name,
            event.timestamp,
        )
    ]
    assert commitment.assessed_completion is Completion.SUBSTANTIAL
    assert commitment.completion is None  # an assessment is not a self-report


NOT_ASSESSORS = {
    "lead": DIA,
    "support agency": MSD,
    "community partner": HUI_E,
    "agency not a partner": TPK,
    "stranger": TINZ,
    "auditor": AUDITOR,
    "admin": ADMIN,
    "the assessor's own id and name in an auditor's role": Actor(ActorRole.AUDITOR, ASSESSOR.id, ASSESSOR.name),
}


@pytest.mark.parametrize("actor", NOT_ASSESSORS.values(), ids=NOT_ASSESSORS.keys())
def test_only_an_assessor_records_an_assessment(actor: Actor) -> None:
    assert_refused(populated(), NotPermitted, assess(actor=actor))


def test_an_assessment_is_not_made_in_the_future() -> None:
    error = assert_refused(populated(), InvalidValue, assess(assessed_on=TOMORROW))
    assert isinstance(error, InvalidValue) and error.field == "assessed_on"
    commitment = populated()
    assess(assessed_on=TODAY)(commitment)
    assert one_event(commitment, "AssessmentRecorded").assessed_on == TODAY


@pytest.mark.parametrize("day", OUT_OF_RANGE, ids=[d.isoformat() for d in OUT_OF_RANGE])
def test_an_assessment_is_made_between_1900_and_2199(day: date) -> None:
    error = assert_refused(populated(), InvalidValue, assess(assessed_on=day, today=max(day, TODAY)))
    assert isinstance(error, InvalidValue) and error.field == "assessed_on"


@pytest.mark.parametrize("url", BAD_URLS, ids=BAD_URL_IDS)
def test_an_assessment_report_must_be_an_http_url(url: str) -> None:
    error = assert_refused(populated(), InvalidValue, assess(report_url=url))
    assert isinstance(error, InvalidValue) and error.field == "report_url"


def test_a_withdrawn_commitment_takes_no_assessment() -> None:
    commitment = populated()
    assess()(copy.deepcopy(commitment))  # otherwise allowed
    commitment.withdraw(reason="superseded", actor=DIA, request_id="w")
    commitment.collect_events()
    assert_refused(commitment, CommitmentWithdrawn, assess())


def test_the_assessed_completion_is_the_latest_assessment_by_date_not_by_recording() -> None:
    commitment = populated()
    assert commitment.assessed_completion is None
    later_day = date(2016, 9, 30)
    assess(later_day, Completion.SUBSTANTIAL, stage=AssessmentStage.END_OF_TERM, today=later_day)(commitment)
    assess(date(2015, 10, 1), Completion.LIMITED, today=later_day)(commitment)  # recorded after, made before
    assert [a.completion for a in commitment.assessments] == [Completion.SUBSTANTIAL, Completion.LIMITED]
    assert commitment.assessed_completion is Completion.SUBSTANTIAL
    # Of two made on the same day, the one recorded later.
    assess(later_day, Completion.COMPLETE, stage=AssessmentStage.OTHER, today=later_day)(commitment)
    first, _, last = commitment.assessments
    assert last.recorded_at > first.recorded_at
    assert commitment.assessed_completion is Completion.COMPLETE
    # Self-reports do not change it, nor it them.
    progress(date(2016, 1, 1))(commitment)
    assert (commitment.assessed_completion, commitment.completion) == (Completion.COMPLETE, Completion.SUBSTANTIAL)


# -- the date a partnership began ----------------------------------------------------------------


def test_a_partner_joins_with_the_date_its_partnership_began() -> None:
    commitment = populated()
    join(commitment, TPK, PartnerRole.SUPPORT, joined_on=date(2015, 3, 1), today=TODAY)
    event = one_event(commitment, "PartnerJoined")
    assert event.joined_on == date(2015, 3, 1)
    membership = commitment.partners[str(TPK.id)]
    assert (membership.joined_on, membership.joined_at) == (date(2015, 3, 1), event.timestamp)


def test_a_partner_joined_without_a_date_has_none() -> None:
    commitment = populated()
    join(commitment, TPK, PartnerRole.SUPPORT, today=TODAY)
    assert one_event(commitment, "PartnerJoined").joined_on is None
    assert commitment.partners[str(TPK.id)].joined_on is None


def test_the_lead_joins_on_the_day_the_commitment_starts() -> None:
    commitment = started()
    _, lead_joined = commitment.collect_events()
    assert lead_joined.joined_on == STARTS
    assert commitment.partners[str(DIA.id)].joined_on == STARTS


def test_a_partnership_does_not_begin_in_the_future() -> None:
    error = assert_refused(
        populated(), InvalidValue, lambda c: join(c, TPK, PartnerRole.SUPPORT, joined_on=TOMORROW, today=TODAY)
    )
    assert isinstance(error, InvalidValue) and error.field == "joined_on"
    commitment = populated()
    join(commitment, TPK, PartnerRole.SUPPORT, joined_on=TODAY, today=TODAY)
    assert one_event(commitment, "PartnerJoined").joined_on == TODAY


@pytest.mark.parametrize("day", OUT_OF_RANGE, ids=[d.isoformat() for d in OUT_OF_RANGE])
def test_a_partnership_begins_between_1900_and_2199(day: date) -> None:
    error = assert_refused(
        populated(),
        InvalidValue,
        lambda c: join(c, TPK, PartnerRole.SUPPORT, joined_on=day, today=max(day, TODAY)),
    )
    assert isinstance(error, InvalidValue) and error.field == "joined_on"


# -- renaming a partner ---------------------------------------------------------------------------


def registered() -> Partner:
    partner = Partner.register(
        name="Te Puni Kōkiri", kind=PartnerKind.AGENCY, external_ref=None, actor=ADMIN, request_id="p"
    )
    partner.collect_events()
    return partner


@pytest.mark.parametrize("reason", BLANK_REASONS, ids=["empty", "spaces", "whitespace"])
def test_renaming_a_partner_needs_a_reason(reason: str) -> None:
    error = assert_refused(
        registered(),
        InvalidValue,
        lambda p: p.rename(name="Ministry for Māori Development", reason=reason, actor=ADMIN, request_id="r"),
    )
    assert isinstance(error, InvalidValue) and error.field == "reason"


def test_a_partner_is_renamed_with_its_reason() -> None:
    partner = registered()
    reason = unicodedata.normalize("NFD", "its English name, as Te Tūāpapa asked")
    partner.rename(name="Ministry for Māori Development", reason=reason, actor=ADMIN, request_id="r")
    event = one_event(partner, "PartnerRenamed")
    assert (event.name, event.reason, event.actor) == (
        "Ministry for Māori Development",
        unicodedata.normalize("NFC", reason),
        ADMIN,
    )
    assert partner.name == "Ministry for Māori Development"


# -- snapshots and copies ---------------------------------------------------------------------------


def mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()  # as the Ledger's: the library's transcodings and the domain's
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    register_domain_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def everything_new(collect: bool = True) -> Commitment:
    """A commitment with every part added since release 0.1.0: a withdrawn legacy joint
    action with a response, progress reports with and without ``as_of``, two
    assessments (one with every field, one with none of the optional ones), a
    membership with ``joined_on`` and one without, and a changed milestone. The events
    of these parts are not collected (nor, unless ``collect``, those before)."""
    commitment = legacy_populated(collect)
    respond(HUI_E, Response.CONFIRMED)(commitment)
    withdraw_legacy(MSD)(commitment)
    progress(date(2015, 12, 31))(commitment)
    progress(None)(commitment)
    commitment.record_assessment(
        assessment_id=uuid4(),
        stage=AssessmentStage.MID_TERM,
        assessed_on=date(2015, 10, 1),
        completion=Completion.LIMITED,
        did_it_open_government=OpenedGovernment.MAJOR,
        starred=True,
        report_url="https://www.opengovpartnership.org/nz-mid-term.pdf",
        note="on track",
        today=TODAY,
        actor=ASSESSOR,
        request_id="as",
    )
    assess(TODAY, Completion.SUBSTANTIAL, stage=AssessmentStage.END_OF_TERM)(commitment)
    join(commitment, TPK, PartnerRole.SUPPORT, joined_on=date(2015, 3, 1), today=TODAY)
    join(commitment, TINZ, PartnerRole.COMMUNITY)
    change("Review report tabled", date(2015, 12, 31))(commitment)
    return commitment


def test_a_snapshot_restores_action_status_progress_dates_assessments_and_joined_on_exactly() -> None:
    original = everything_new()
    original.collect_events()
    snapshot = Commitment.Snapshot.take(original)
    stored = mapper().to_stored_event(snapshot)
    restored = mapper().to_domain_event(stored).mutate(None)

    rows = json.loads(stored.state)["state"]
    assert rows["actions"][0][7:] == ["withdrawn", REASON]
    assert [row[3] for row in rows["progress"]] == ["2015-12-31", None]
    assert [row[2] for row in rows["assessments"]] == ["2015-10-01", TODAY.isoformat()]
    assert [row[4:8] for row in rows["assessments"]] == [
        ["major", True, "https://www.opengovpartnership.org/nz-mid-term.pdf", "on track"],
        [None, False, None, None],
    ]
    joined_on = {UUID(row[0]): row[5] for row in rows["partners"]}
    assert (joined_on[TPK.id], joined_on[TINZ.id], joined_on[DIA.id]) == ("2015-03-01", None, STARTS.isoformat())

    assert isinstance(restored, Commitment)
    assert restored == original
    assert vars(restored) == vars(original)
    action = restored.actions[str(ACTION)]
    assert (action.status, action.withdrawal_reason) == (ActionStatus.WITHDRAWN, REASON)
    assert [r.as_of for r in restored.progress] == [date(2015, 12, 31), None]
    assert restored.assessments == original.assessments and len(restored.assessments) == 2
    assert restored.assessed_completion is Completion.SUBSTANTIAL
    assert restored.partners[str(TPK.id)].joined_on == date(2015, 3, 1)
    assert restored.milestones[str(MILESTONE)].title == "Review report tabled"


def test_snapshot_rows_of_release_0_1_0_unpack_with_the_new_parts_unknown() -> None:
    """Rows packed before actions had a status, reports an ``as_of``, memberships a
    ``joined_on`` and commitments assessments."""
    original = everything_new()
    packed = pack_parts(dict(vars(original)))
    old = dict(packed)
    old["actions"] = [row[:7] for row in packed["actions"]]
    old["progress"] = [row[:3] for row in packed["progress"]]
    old["partners"] = [row[:5] for row in packed["partners"]]
    del old["assessments"]
    state = unpack_parts(old)
    assert state["actions"] == {
        key: replace(a, status=ActionStatus.RECORDED, withdrawal_reason=None) for key, a in original.actions.items()
    }
    assert state["progress"] == [replace(r, as_of=None) for r in original.progress]
    assert state["partners"] == {key: replace(m, joined_on=None) for key, m in original.partners.items()}
    assert state["assessments"] == []
    assert unpack_parts(packed)["assessments"] == original.assessments


def test_replaying_the_new_events_rebuilds_the_same_commitment() -> None:
    """As a repository does, from the events themselves and from the log's documents."""
    original = everything_new(collect=False)
    events = original.collect_events()
    assert [type(e).__name__ for e in events][:2] == ["CommitmentCreated", "PartnerJoined"]
    replayed: Any = None
    from_log: Any = None
    for position, event in enumerate(events, start=1):
        replayed = event.mutate(replayed)
        from_log = read_event(document_bytes(event, position)).mutate(from_log)
    assert replayed == original
    assert from_log == original


def acted_on() -> tuple[JointAction, Commitment, list[Any]]:
    """A joint action recorded by Hui E! naming MSD and the iwi, confirmed by MSD,
    disputed by the iwi and withdrawn by Hui E!, with all its events."""
    commitment = populated()
    action = JointAction.record(
        id=ACTION,
        commitment=commitment,
        summary="Wānanga with whānau on the accord",
        occurred_on=date(2015, 11, 20),
        partner_ids=[MSD.id, IWI.id],
        evidence_url="https://huie.org.nz/wananga",
        actor=HUI_E,
        request_id="a",
    )
    answer(MSD, Response.CONFIRMED, "we ran it together")(action, commitment)
    answer(IWI, Response.DISPUTED)(action, commitment)
    withdraw(HUI_E)(action, commitment)
    return action, commitment, list(action.collect_events())


def test_a_joint_action_snapshot_restores_its_state_exactly() -> None:
    action, _, _ = acted_on()
    snapshot = JointAction.Snapshot.take(action)
    stored = mapper().to_stored_event(snapshot)
    restored = mapper().to_domain_event(stored).mutate(None)
    assert isinstance(restored, JointAction)
    assert restored == action
    assert vars(restored) == vars(action)
    assert restored.state == action.state
    assert restored.state.status is ActionStatus.WITHDRAWN and len(restored.state.responses) == 2


def test_replaying_a_joint_action_s_events_rebuilds_the_same_action() -> None:
    action, _, events = acted_on()
    assert [type(e).__name__ for e in events] == [
        "JointActionRecorded",
        "JointActionResponded",
        "JointActionResponded",
        "JointActionWithdrawn",
    ]
    replayed: Any = None
    from_log: Any = None
    for position, event in enumerate(events, start=1):
        replayed = event.mutate(replayed)
        from_log = read_event(document_bytes(event, position)).mutate(from_log)
    assert replayed == action
    assert from_log == action
    assert from_log.state.withdrawal_reason == REASON


def test_commands_on_a_copy_of_a_joint_action_leave_the_original_as_it_was() -> None:
    commitment = populated()
    original = recorded_action(commitment)
    untouched = pickle.loads(pickle.dumps(original))
    clone = copy.deepcopy(original)
    assert clone == original and clone is not original
    answer(HUI_E, Response.CONFIRMED)(clone, commitment)
    withdraw(MSD)(clone, commitment)
    assert original == untouched
    assert original.state.responses == {} and original.state.status is ActionStatus.RECORDED
    assert original.collect_events() == []
    assert clone.state.status is ActionStatus.WITHDRAWN and list(clone.state.responses) == [str(HUI_E.id)]


# -- a withdrawn commitment refuses the new commands too -----------------------------------------------

NEW_COMMANDS: dict[str, Command] = {
    "change a milestone": change("Review report tabled"),
    "report progress as of a date": progress(date(2016, 1, 1)),
    "record an assessment": assess(),
    "add a partner joined on a date": lambda c: join(
        c, TPK, PartnerRole.SUPPORT, joined_on=date(2015, 3, 1), today=TODAY
    ),
    "withdraw a legacy joint action": withdraw_legacy(MSD),
    "record a joint action as community": lambda c: recorded_action(c, recorder=HUI_E, named=(MSD,)),
}


@pytest.mark.parametrize("command", NEW_COMMANDS.values(), ids=NEW_COMMANDS.keys())
def test_a_withdrawn_commitment_refuses_the_new_commands(command: Command) -> None:
    commitment = legacy_populated()
    command(copy.deepcopy(commitment))  # each command is otherwise allowed
    commitment.withdraw(reason="superseded by the next plan", actor=DIA, request_id="w")
    commitment.collect_events()
    assert commitment.status is Status.WITHDRAWN
    assert_refused(commitment, CommitmentWithdrawn, command)


def test_an_assessment_id_is_used_once_in_a_commitment() -> None:
    commitment = populated()
    assessment = uuid4()

    def record(c: Commitment) -> None:
        c.record_assessment(
            assessment_id=assessment,
            stage=AssessmentStage.MID_TERM,
            assessed_on=date(2016, 3, 31),
            completion=Completion.LIMITED,
            today=TODAY,
            actor=ASSESSOR,
            request_id="as",
        )

    record(commitment)
    commitment.collect_events()
    error = assert_refused(commitment, InvalidValue, record)
    assert isinstance(error, InvalidValue) and error.field == "assessment_id"


def test_a_joint_action_is_answered_and_withdrawn_only_against_its_own_commitment() -> None:
    own, other = populated(), populated()
    action = recorded_action(own)
    assert_action_refused(action, other, UnknownJointAction, answer(HUI_E))
    assert_action_refused(action, other, UnknownJointAction, withdraw(MSD))


def test_a_recorder_that_left_no_longer_withdraws_its_joint_action() -> None:
    commitment = populated()
    action = recorded_action(commitment)
    leave(MSD, DIA)(commitment)
    commitment.collect_events()
    assert_action_refused(action, commitment, NotPartner, withdraw(MSD))
    legacy = legacy_populated()
    leave(MSD, DIA)(legacy)
    legacy.collect_events()
    assert_refused(legacy, NotPartner, withdraw_legacy(MSD))
