"""Every rule of the domain (docs/domain.md, "Rules"), on the aggregates alone.

Each refusal must name its own error class and leave the aggregate exactly as it was:
same version, same state, and no pending event to save."""

from __future__ import annotations

import copy
import json
import pickle
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from application.transcodings import register_domain_transcodings
from domain.commitment import Commitment
from domain.errors import (
    AlreadyPartner,
    AlreadyResponded,
    CommitmentWithdrawn,
    DomainError,
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
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import (
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    ActorRole,
    Completion,
    OgpValue,
    PartnerKind,
    PartnerRole,
    Response,
    Status,
    Visibility,
)

ADMIN = Actor(ActorRole.ADMIN, uuid4(), "Tūtahi operator")
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
TODAY = date(2016, 6, 30)

# "Kia Tūtahi" in both normal forms: decomposed (u + combining macron) and composed (ū).
KIA_TUTAHI_NFD = "Kia Tu\u0304tahi"
KIA_TUTAHI_NFC = "Kia T\u016btahi"

Command = Callable[[Commitment], object]
# A command on a joint action aggregate, given the commitment it belongs to.
ActionCommand = Callable[[JointAction, Commitment], object]


def started(**overrides: Any) -> Commitment:
    """A commitment just created by the Department of Internal Affairs, its lead."""
    fields: dict[str, Any] = {
        "title": "Review progress of the Kia Tūtahi Relationship Accord",
        "description": "Review how the accord's principles are put into practice.",
        "action_plan": "New Zealand National Action Plan 2014–16",
        "external_ref": "NZ0004",
        "starts_on": date(2014, 7, 1),
        "ends_on": date(2016, 6, 30),
        "ogp_values": [OgpValue.CIVIC_PARTICIPATION, OgpValue.PUBLIC_ACCOUNTABILITY],
        "visibility": Visibility.PUBLIC,
        "lead": (DIA.id, DIA.name, PartnerKind.AGENCY),
        "actor": DIA,
        "request_id": "create",
    }
    fields.update(overrides)
    return Commitment.start(**fields)


def join(commitment: Commitment, partner: Actor, role: PartnerRole, by: Actor = DIA) -> None:
    commitment.add_partner(
        partner_id=partner.id, name=partner.name, kind=KINDS[partner.id], role=role, actor=by, request_id="join"
    )


def populated() -> Commitment:
    """DIA leads; MSD supports; Hui E! and an iwi take part as community. One milestone
    (not reached). Its events are already collected, as if saved."""
    commitment = started()
    join(commitment, MSD, PartnerRole.SUPPORT)
    join(commitment, HUI_E, PartnerRole.COMMUNITY)
    join(commitment, IWI, PartnerRole.COMMUNITY)
    commitment.add_milestone(
        milestone_id=MILESTONE, title="Review report published", due_on=date(2015, 6, 30), actor=DIA, request_id="m"
    )
    commitment.collect_events()
    return commitment


def recorded_action(commitment: Commitment) -> JointAction:
    """The joint action ``ACTION`` of the commitment, an aggregate of its own: recorded by
    MSD naming Hui E! and the iwi. Its event is already collected, as if saved."""
    action = JointAction.record(
        id=ACTION,
        commitment=commitment,
        summary="Hui on the accord's principles",
        occurred_on=date(2015, 8, 1),
        partner_ids=[HUI_E.id, IWI.id],
        evidence_url=None,
        actor=MSD,
        request_id="a",
    )
    action.collect_events()
    return action


def legacy_populated() -> Commitment:
    """``populated()`` with the joint action ``ACTION`` recorded in the commitment's own
    stream, as release 0.1.0 did: by MSD, naming Hui E! and the iwi."""
    commitment = populated()
    commitment._joint_action_recorded(
        action_id=ACTION,
        summary="Hui on the accord's principles",
        occurred_on=date(2015, 8, 1),
        partner_ids=[HUI_E.id, IWI.id],
        evidence_url=None,
        actor=MSD,
        request_id="a",
    )
    commitment.collect_events()
    return commitment


def assert_refused(commitment: Commitment, error: type[DomainError], command: Command) -> DomainError:
    """The command raises exactly ``error`` and triggers nothing: no pending event,
    the same version and the same state as before."""
    before = copy.deepcopy(commitment)
    with pytest.raises(error) as refusal:
        command(commitment)
    assert type(refusal.value) is error
    assert commitment.collect_events() == []
    assert commitment.version == before.version
    assert commitment == before
    return refusal.value


def assert_action_refused(
    action: JointAction, commitment: Commitment, error: type[DomainError], command: ActionCommand
) -> DomainError:
    """``assert_refused`` for a joint action: the command raises exactly ``error`` and
    leaves both the action and its commitment as they were (no pending event, the same
    versions, the same states)."""
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


def amend(changes: dict[str, Any], reason: str = "the plan said it would be amended", actor: Actor = DIA) -> Command:
    return lambda c: c.amend(changes=changes, reason=reason, actor=actor, request_id="amend")


# -- title, description, period ---------------------------------------------------


@pytest.mark.parametrize(
    "title",
    ["", "   ", "\t\n", "x" * 201, "  " + "x" * 201 + "  "],
    ids=["empty", "spaces", "whitespace", "201 characters", "201 characters padded"],
)
def test_a_title_must_have_1_to_200_characters_after_trimming(title: str) -> None:
    with pytest.raises(InvalidValue) as refusal:
        started(title=title)
    assert refusal.value.field == "title"
    assert_refused(populated(), InvalidValue, amend({"title": title}))


@pytest.mark.parametrize("title", ["x", "x" * 200, "   " + "x" * 200 + "\n"], ids=["1", "200", "200 padded"])
def test_a_title_of_1_to_200_characters_is_kept_trimmed(title: str) -> None:
    assert started(title=title).title == title.strip()
    commitment = populated()
    commitment.amend(changes={"title": title}, reason="shorter", actor=DIA, request_id="amend")
    assert one_event(commitment, "CommitmentAmended").changes == {"title": title.strip()}


def test_a_title_is_measured_after_normalisation() -> None:
    """200 macronised vowels are 400 code points decomposed, but 200 characters."""
    decomposed = unicodedata.normalize("NFD", "ū" * 200)
    assert len(decomposed) == 400
    assert started(title=decomposed).title == "\u016b" * 200


def test_a_description_may_have_up_to_10000_characters() -> None:
    assert len(started(description="x" * 10_000).description) == 10_000
    with pytest.raises(InvalidValue) as refusal:
        started(description="x" * 10_001)
    assert refusal.value.field == "description"
    assert_refused(populated(), InvalidValue, amend({"description": "x" * 10_001}))


def test_a_commitment_may_not_end_before_it_starts() -> None:
    with pytest.raises(InvalidValue) as refusal:
        started(starts_on=date(2016, 7, 1), ends_on=date(2016, 6, 30))
    assert refusal.value.field == "ends_on"
    assert started(starts_on=date(2016, 6, 30), ends_on=date(2016, 6, 30)).ends_on == date(2016, 6, 30)


@pytest.mark.parametrize(
    "changes",
    [
        {"ends_on": date(2014, 6, 30)},
        {"starts_on": date(2016, 7, 1)},
        {"starts_on": date(2017, 1, 1), "ends_on": date(2016, 12, 31)},
    ],
    ids=["ends before the start", "starts after the end", "both moved, crossed"],
)
def test_an_amendment_may_not_make_it_end_before_it_starts(changes: dict[str, Any]) -> None:
    error = assert_refused(populated(), InvalidValue, amend(changes))
    assert isinstance(error, InvalidValue) and error.field == "ends_on"


def test_both_dates_may_move_together() -> None:
    commitment = populated()
    commitment.amend(
        changes={"starts_on": date(2017, 1, 1), "ends_on": date(2018, 6, 30)},
        reason="moved to the next plan",
        actor=DIA,
        request_id="amend",
    )
    assert (commitment.starts_on, commitment.ends_on) == (date(2017, 1, 1), date(2018, 6, 30))


# -- text is stored NFC -------------------------------------------------------------


def test_text_given_decomposed_is_stored_composed_with_macrons_kept() -> None:
    nfd = unicodedata.normalize("NFD", "Ngā Mahinga: Te Puni Kōkiri and Kia Tūtahi")
    assert not unicodedata.is_normalized("NFC", nfd)
    commitment = started(title=nfd, description=nfd, action_plan=nfd)
    created = commitment.collect_events()[0]
    expected = unicodedata.normalize("NFC", nfd)
    assert expected == "Ng\u0101 Mahinga: Te Puni K\u014dkiri and Kia T\u016btahi"
    for stored in (commitment.title, commitment.description, commitment.action_plan):
        assert stored == expected
    for recorded in (created.title, created.description, created.action_plan):
        assert recorded == expected


def test_every_kind_of_text_is_normalised() -> None:
    commitment = populated()
    commitment.amend(changes={"description": KIA_TUTAHI_NFD}, reason=KIA_TUTAHI_NFD, actor=DIA, request_id="amend")
    amended = one_event(commitment, "CommitmentAmended")
    assert amended.changes == {"description": KIA_TUTAHI_NFC}
    assert amended.reason == KIA_TUTAHI_NFC
    milestone = uuid4()
    commitment.add_milestone(milestone_id=milestone, title=KIA_TUTAHI_NFD, due_on=TODAY, actor=DIA, request_id="m")
    commitment.reach_milestone(
        milestone_id=milestone,
        reached_on=TODAY,
        today=TODAY,
        evidence_url=None,
        note=KIA_TUTAHI_NFD,
        actor=DIA,
        request_id="r",
    )
    assert commitment.milestones[str(milestone)].title == KIA_TUTAHI_NFC
    assert commitment.milestones[str(milestone)].note == KIA_TUTAHI_NFC
    action = JointAction.record(
        id=uuid4(),
        commitment=commitment,
        summary=KIA_TUTAHI_NFD,
        occurred_on=TODAY,
        partner_ids=[HUI_E.id],
        evidence_url=None,
        actor=DIA,
        request_id="a",
    )
    assert action.summary == KIA_TUTAHI_NFC
    assert action.collect_events()[0].summary == KIA_TUTAHI_NFC
    commitment.add_partner(
        partner_id=TPK.id,
        name=unicodedata.normalize("NFD", TPK.name),
        kind=PartnerKind.AGENCY,
        role=PartnerRole.SUPPORT,
        actor=DIA,
        request_id="j",
    )
    assert commitment.partners[str(TPK.id)].name == "Te Puni K\u014dkiri"
    commitment.report_progress(completion=Completion.LIMITED, note=KIA_TUTAHI_NFD, actor=DIA, request_id="p")
    assert commitment.progress[-1].note == KIA_TUTAHI_NFC


def test_an_amendment_to_the_same_text_in_another_normal_form_changes_nothing() -> None:
    commitment = populated()
    commitment.amend(changes={"title": KIA_TUTAHI_NFC}, reason="rename", actor=DIA, request_id="amend")
    commitment.collect_events()
    assert_refused(commitment, NothingChanged, amend({"title": KIA_TUTAHI_NFD}))


def test_a_partner_name_is_stored_composed() -> None:
    partner = Partner.register(
        name=unicodedata.normalize("NFD", "Te Puni Kōkiri"),
        kind=PartnerKind.AGENCY,
        external_ref=None,
        actor=ADMIN,
        request_id="p",
    )
    assert partner.name == "Te Puni K\u014dkiri"
    assert partner.collect_events()[0].name == "Te Puni K\u014dkiri"


def test_a_partner_renamed_to_its_own_name_changes_nothing() -> None:
    partner = Partner.register(
        name="Te Puni Kōkiri", kind=PartnerKind.AGENCY, external_ref=None, actor=ADMIN, request_id="p"
    )
    partner.collect_events()
    version = partner.version
    for same in ("Te Puni Kōkiri", "  Te Puni Kōkiri ", unicodedata.normalize("NFD", "Te Puni Kōkiri")):
        with pytest.raises(NothingChanged):
            partner.rename(name=same, reason="a typing mistake", actor=ADMIN, request_id="r")
    with pytest.raises(InvalidValue):
        partner.rename(name="  ", reason="a typing mistake", actor=ADMIN, request_id="r")
    assert partner.collect_events() == []
    assert partner.version == version
    partner.rename(name="Ministry for Māori Development", reason="its English name", actor=ADMIN, request_id="r")
    assert partner.collect_events()[0].name == "Ministry for Māori Development"


# -- amendments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"title": "Review progress of the Kia Tūtahi Relationship Accord"},
        {"title": "  Review progress of the Kia Tūtahi Relationship Accord  "},
        {"starts_on": date(2014, 7, 1), "ends_on": date(2016, 6, 30)},
        {"ogp_values": [OgpValue.PUBLIC_ACCOUNTABILITY, OgpValue.CIVIC_PARTICIPATION, OgpValue.CIVIC_PARTICIPATION]},
        {"visibility": Visibility.PUBLIC},
    ],
    ids=["no fields", "same title", "same title padded", "same dates", "same values reordered", "same visibility"],
)
def test_an_amendment_must_change_something(changes: dict[str, Any]) -> None:
    assert_refused(populated(), NothingChanged, amend(changes))


@pytest.mark.parametrize("reason", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_an_amendment_must_give_a_reason(reason: str) -> None:
    error = assert_refused(populated(), InvalidValue, amend({"title": "A new title"}, reason=reason))
    assert isinstance(error, InvalidValue) and error.field == "reason"


@pytest.mark.parametrize("field", ["status", "action_plan", "external_ref", "partners", "version"])
def test_only_the_amendable_fields_may_be_amended(field: str) -> None:
    error = assert_refused(populated(), InvalidValue, amend({field: "something else"}))
    assert isinstance(error, InvalidValue) and error.field == field


def test_an_amendment_records_only_the_fields_that_change() -> None:
    commitment = populated()
    commitment.amend(
        changes={
            "title": "  Review progress of the Kia Tūtahi Relationship Accord ",
            "description": "Now with a public hui in each region.",
            "ogp_values": [OgpValue.PUBLIC_ACCOUNTABILITY, OgpValue.CIVIC_PARTICIPATION],
            "ends_on": date(2016, 12, 31),
            "visibility": Visibility.PUBLIC,
        },
        reason="extended after the mid-term review",
        actor=DIA,
        request_id="amend",
    )
    event = one_event(commitment, "CommitmentAmended")
    assert event.changes == {"description": "Now with a public hui in each region.", "ends_on": date(2016, 12, 31)}
    assert event.reason == "extended after the mid-term review"
    assert event.actor == DIA and event.request_id == "amend"
    assert commitment.ends_on == date(2016, 12, 31)
    assert commitment.title == "Review progress of the Kia Tūtahi Relationship Accord"


# -- partners -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "role"),
    [(MSD, PartnerRole.SUPPORT), (MSD, PartnerRole.LEAD), (HUI_E, PartnerRole.COMMUNITY), (DIA, PartnerRole.LEAD)],
    ids=["support again", "support as lead", "community again", "the lead itself"],
)
def test_a_partner_joins_at_most_once(partner: Actor, role: PartnerRole) -> None:
    assert_refused(populated(), AlreadyPartner, lambda c: join(c, partner, role))


def test_a_partner_that_left_may_join_again() -> None:
    commitment = populated()
    commitment.remove_partner(partner_id=IWI.id, reason="changed its mind", actor=IWI, request_id="leave")
    commitment.collect_events()
    join(commitment, IWI, PartnerRole.COMMUNITY)
    assert one_event(commitment, "PartnerJoined").partner_id == IWI.id
    assert commitment.role_of(IWI.id) is PartnerRole.COMMUNITY


MISFITS = [
    (kind, role)
    for kind in PartnerKind
    for role in PartnerRole
    if (kind is PartnerKind.AGENCY) == (role is PartnerRole.COMMUNITY)
]


@pytest.mark.parametrize(("kind", "role"), MISFITS, ids=[f"{k.value} as {r.value}" for k, r in MISFITS])
def test_the_role_must_fit_the_partner_kind(kind: PartnerKind, role: PartnerRole) -> None:
    newcomer = uuid4()
    assert_refused(
        populated(),
        RoleMismatch,
        lambda c: c.add_partner(
            partner_id=newcomer, name="Newcomer", kind=kind, role=role, actor=DIA, request_id="join"
        ),
    )


def test_every_fitting_role_is_accepted() -> None:
    for kind in PartnerKind:
        for role in PartnerRole:
            if (kind, role) in MISFITS:
                continue
            commitment = populated()
            commitment.add_partner(
                partner_id=uuid4(), name="Newcomer", kind=kind, role=role, actor=DIA, request_id="join"
            )
            assert one_event(commitment, "PartnerJoined").role is role


def test_only_an_agency_can_lead_a_new_commitment() -> None:
    with pytest.raises(RoleMismatch):
        started(lead=(HUI_E.id, HUI_E.name, PartnerKind.COMMUNITY_ORGANISATION), actor=HUI_E)


def test_the_last_lead_cannot_leave() -> None:
    commitment = populated()
    assert_refused(
        commitment,
        LastLeadCannotLeave,
        lambda c: c.remove_partner(partner_id=DIA.id, reason="handing over", actor=DIA, request_id="leave"),
    )
    join(commitment, TPK, PartnerRole.LEAD)
    commitment.collect_events()
    commitment.remove_partner(partner_id=DIA.id, reason="handing over", actor=DIA, request_id="leave")
    assert one_event(commitment, "PartnerLeft").partner_id == DIA.id
    assert commitment.leads() == [TPK.id]
    assert_refused(
        commitment,
        LastLeadCannotLeave,
        lambda c: c.remove_partner(partner_id=TPK.id, reason="me too", actor=TPK, request_id="leave"),
    )


def test_only_a_partner_can_be_removed() -> None:
    assert_refused(
        populated(),
        NotPartner,
        lambda c: c.remove_partner(partner_id=TINZ.id, reason="not ours", actor=DIA, request_id="remove"),
    )


def test_leaving_needs_a_reason() -> None:
    error = assert_refused(
        populated(),
        InvalidValue,
        lambda c: c.remove_partner(partner_id=IWI.id, reason=" ", actor=IWI, request_id="leave"),
    )
    assert isinstance(error, InvalidValue) and error.field == "reason"


# -- milestones -----------------------------------------------------------------------


def reach(milestone: UUID = MILESTONE, on: date = TODAY, actor: Actor = MSD, evidence: str | None = None) -> Command:
    return lambda c: c.reach_milestone(
        milestone_id=milestone,
        reached_on=on,
        today=TODAY,
        evidence_url=evidence,
        note=None,
        actor=actor,
        request_id="r",
    )


def test_a_milestone_is_reached_once() -> None:
    commitment = populated()
    reach(on=date(2015, 7, 1))(commitment)
    assert one_event(commitment, "MilestoneReached").reached_on == date(2015, 7, 1)
    error = assert_refused(commitment, MilestoneAlreadyReached, reach(on=date(2015, 8, 1), actor=DIA))
    assert "2015-07-01" in str(error)
    assert commitment.milestones[str(MILESTONE)].reached_on == date(2015, 7, 1)


def test_a_milestone_is_not_reached_in_the_future() -> None:
    error = assert_refused(populated(), InvalidValue, reach(on=TODAY + timedelta(days=1)))
    assert isinstance(error, InvalidValue) and error.field == "reached_on"
    commitment = populated()
    reach(on=TODAY)(commitment)
    assert one_event(commitment, "MilestoneReached").reached_on == TODAY


def test_only_a_milestone_of_the_commitment_can_be_reached() -> None:
    assert_refused(populated(), UnknownMilestone, reach(milestone=uuid4()))


@pytest.mark.parametrize("url", ["ftp://example.org/report", "example.org", "https://", "https://a b"])
def test_evidence_must_be_an_http_url(url: str) -> None:
    assert_refused(populated(), InvalidValue, reach(evidence=url))


def test_a_milestone_title_follows_the_title_rule() -> None:
    for title in ("", "  ", "x" * 201):
        assert_refused(
            populated(),
            InvalidValue,
            lambda c, title=title: c.add_milestone(
                milestone_id=uuid4(), title=title, due_on=TODAY, actor=DIA, request_id="m"
            ),
        )


# -- joint actions --------------------------------------------------------------------
# A joint action is an aggregate of its own (``JointAction``); its commitment checks who
# may record it and name whom, and whether a named partner may still respond. The actions
# release 0.1.0 recorded in the commitment's own stream keep their rules on the commitment
# (the "legacy" tests).


def record(partner_ids: list[UUID], actor: Actor = MSD) -> Command:
    """Records a new joint action of the commitment (returns the new aggregate)."""
    return lambda c: JointAction.record(
        id=uuid4(),
        commitment=c,
        summary="Regional hui",
        occurred_on=date(2015, 9, 1),
        partner_ids=partner_ids,
        evidence_url=None,
        actor=actor,
        request_id="a",
    )


@pytest.mark.parametrize("recorder", [MSD, HUI_E], ids=["agency recorder", "community recorder"])
@pytest.mark.parametrize("times", [0, 1, 2], ids=["nobody", "only the recorder", "the recorder twice"])
def test_a_joint_action_names_another_partner_besides_the_recorder(recorder: Actor, times: int) -> None:
    error = assert_refused(populated(), InvalidValue, record([recorder.id] * times, actor=recorder))
    assert isinstance(error, InvalidValue) and error.field == "partner_ids"


@pytest.mark.parametrize(
    "names",
    [[TINZ.id], [HUI_E.id, TINZ.id], [TPK.id, IWI.id]],
    ids=["a stranger", "a partner and a stranger", "an agency that is not a partner"],
)
def test_everyone_named_in_a_joint_action_is_a_partner(names: list[UUID]) -> None:
    assert_refused(populated(), NotPartner, record(names))


def test_a_joint_action_keeps_the_others_once_each_without_the_recorder() -> None:
    commitment = populated()
    untouched = copy.deepcopy(commitment)
    action = record([MSD.id, HUI_E.id, DIA.id, HUI_E.id])(commitment)
    assert isinstance(action, JointAction)
    event = one_event(action, "JointActionRecorded")
    assert event.partner_ids == [HUI_E.id, DIA.id]
    assert event.actor == MSD
    assert event.commitment_id == commitment.id
    assert action.state == ActionState(action.id, "Regional hui", date(2015, 9, 1), MSD.id, [HUI_E.id, DIA.id])
    # The action is an aggregate of its own: recording it leaves the commitment as it was.
    assert commitment.collect_events() == [] and commitment == untouched and commitment.actions == {}


def answer(actor: Actor, response: Response = Response.CONFIRMED, note: str | None = None) -> ActionCommand:
    """A response to a joint action aggregate, given its commitment."""
    return lambda a, c: a.respond(commitment=c, response=response, note=note, actor=actor, request_id="re")


@pytest.mark.parametrize(
    "actor",
    [MSD, DIA, TPK, TINZ, ADMIN],
    ids=["the recorder", "a partner not named", "an agency not a partner", "a stranger", "an admin"],
)
def test_only_partners_named_in_a_joint_action_may_respond(actor: Actor) -> None:
    commitment = populated()
    assert_action_refused(recorded_action(commitment), commitment, NotNamedInAction, answer(actor))


@pytest.mark.parametrize("second", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize("first", list(Response), ids=[r.value for r in Response])
def test_each_named_partner_responds_once(first: Response, second: Response) -> None:
    commitment = populated()
    action = recorded_action(commitment)
    answer(HUI_E, first, note="we were there")(action, commitment)
    event = one_event(action, "JointActionResponded")
    assert (event.response, event.note, event.actor) == (first, "we were there", HUI_E)
    assert commitment.collect_events() == []
    assert_action_refused(action, commitment, AlreadyResponded, answer(HUI_E, second))
    assert action.responses == {str(HUI_E.id): ActionResponse(HUI_E.id, first, "we were there", event.timestamp)}


def test_every_named_partner_may_respond_its_own_way() -> None:
    commitment = populated()
    action = recorded_action(commitment)
    answer(HUI_E, Response.CONFIRMED)(action, commitment)
    answer(IWI, Response.DISPUTED)(action, commitment)
    assert [e.response for e in action.collect_events()] == [Response.CONFIRMED, Response.DISPUTED]
    assert {key: r.response for key, r in action.state.responses.items()} == {
        str(HUI_E.id): Response.CONFIRMED,
        str(IWI.id): Response.DISPUTED,
    }


# -- joint actions recorded in the commitment's own stream (release 0.1.0) ----------------


def respond(actor: Actor, response: Response = Response.CONFIRMED, action: UUID = ACTION) -> Command:
    """A response to a joint action the commitment recorded in its own stream."""
    return lambda c: c.respond_to_action(action_id=action, response=response, note=None, actor=actor, request_id="re")


def test_a_legacy_joint_action_is_kept_in_the_commitment() -> None:
    commitment = legacy_populated()
    assert commitment.actions == {
        str(ACTION): ActionState(
            ACTION, "Hui on the accord's principles", date(2015, 8, 1), MSD.id, [HUI_E.id, IWI.id], None
        )
    }
    assert commitment.actions[str(ACTION)].status is ActionStatus.RECORDED


@pytest.mark.parametrize(
    "actor",
    [MSD, DIA, TPK, TINZ, ADMIN],
    ids=["the recorder", "a partner not named", "an agency not a partner", "a stranger", "an admin"],
)
def test_only_partners_named_in_a_legacy_joint_action_may_respond(actor: Actor) -> None:
    assert_refused(legacy_populated(), NotNamedInAction, respond(actor))


@pytest.mark.parametrize("second", list(Response), ids=[r.value for r in Response])
@pytest.mark.parametrize("first", list(Response), ids=[r.value for r in Response])
def test_each_named_partner_responds_once_to_a_legacy_joint_action(first: Response, second: Response) -> None:
    commitment = legacy_populated()
    respond(HUI_E, first)(commitment)
    expected = "JointActionConfirmed" if first is Response.CONFIRMED else "JointActionDisputed"
    one_event(commitment, expected)
    assert_refused(commitment, AlreadyResponded, respond(HUI_E, second))
    assert commitment.actions[str(ACTION)].responses[str(HUI_E.id)].response is first


def test_every_named_partner_may_respond_its_own_way_to_a_legacy_joint_action() -> None:
    commitment = legacy_populated()
    respond(HUI_E, Response.CONFIRMED)(commitment)
    respond(IWI, Response.DISPUTED)(commitment)
    assert [type(e).__name__ for e in commitment.collect_events()] == ["JointActionConfirmed", "JointActionDisputed"]
    responses = commitment.actions[str(ACTION)].responses
    assert {key: r.response for key, r in responses.items()} == {
        str(HUI_E.id): Response.CONFIRMED,
        str(IWI.id): Response.DISPUTED,
    }


def test_only_a_joint_action_of_the_commitment_can_be_answered() -> None:
    assert_refused(legacy_populated(), UnknownJointAction, respond(HUI_E, action=uuid4()))
    # A joint action that is an aggregate of its own is not answered through the commitment.
    commitment = populated()
    action = recorded_action(commitment)
    assert_refused(commitment, UnknownJointAction, respond(HUI_E, action=action.id))


# -- withdrawal -------------------------------------------------------------------------

EVERY_COMMAND: dict[str, Command] = {
    "amend": amend({"title": "Revived"}),
    "add a partner": lambda c: join(c, TPK, PartnerRole.SUPPORT),
    "remove a partner": lambda c: c.remove_partner(partner_id=IWI.id, reason="r", actor=DIA, request_id="x"),
    "leave": lambda c: c.remove_partner(partner_id=HUI_E.id, reason="r", actor=HUI_E, request_id="x"),
    "add a milestone": lambda c: c.add_milestone(
        milestone_id=uuid4(), title="Late", due_on=TODAY, actor=MSD, request_id="x"
    ),
    "reach a milestone": reach(),
    "record a joint action": record([HUI_E.id], actor=DIA),
    "record a joint action as community": record([DIA.id], actor=HUI_E),
    "confirm a legacy joint action": respond(HUI_E, Response.CONFIRMED),
    "dispute a legacy joint action": respond(IWI, Response.DISPUTED),
    "report progress": lambda c: c.report_progress(
        completion=Completion.COMPLETE, note="done after all", actor=DIA, request_id="x"
    ),
    "withdraw again": lambda c: c.withdraw(reason="again", actor=DIA, request_id="x"),
}


@pytest.mark.parametrize("command", EVERY_COMMAND.values(), ids=EVERY_COMMAND.keys())
def test_a_withdrawn_commitment_refuses_every_command(command: Command) -> None:
    commitment = legacy_populated()
    command(copy.deepcopy(commitment))  # each command is otherwise allowed
    commitment.withdraw(reason="superseded by the next plan", actor=DIA, request_id="w")
    assert one_event(commitment, "CommitmentWithdrawn").reason == "superseded by the next plan"
    assert commitment.status is Status.WITHDRAWN
    assert_refused(commitment, CommitmentWithdrawn, command)


ACTION_RESPONSES: dict[str, ActionCommand] = {
    "confirm": answer(HUI_E, Response.CONFIRMED),
    "dispute": answer(IWI, Response.DISPUTED),
}


@pytest.mark.parametrize("command", ACTION_RESPONSES.values(), ids=ACTION_RESPONSES.keys())
def test_the_joint_actions_of_a_withdrawn_commitment_take_no_response(command: ActionCommand) -> None:
    commitment = populated()
    action = recorded_action(commitment)  # recorded while the commitment was active
    command(copy.deepcopy(action), copy.deepcopy(commitment))  # each response is otherwise allowed
    commitment.withdraw(reason="superseded by the next plan", actor=DIA, request_id="w")
    one_event(commitment, "CommitmentWithdrawn")
    assert_action_refused(action, commitment, CommitmentWithdrawn, command)


# -- who may do what -------------------------------------------------------------------

LEAD_ONLY: dict[str, Callable[[Commitment, Actor], object]] = {
    "amend": lambda c, a: amend({"title": "A new title"}, actor=a)(c),
    "add a partner": lambda c, a: join(c, TPK, PartnerRole.SUPPORT, by=a),
    "remove another partner": lambda c, a: c.remove_partner(partner_id=IWI.id, reason="r", actor=a, request_id="x"),
    "report progress": lambda c, a: c.report_progress(
        completion=Completion.LIMITED, note="mid-term", actor=a, request_id="x"
    ),
    "withdraw": lambda c, a: c.withdraw(reason="r", actor=a, request_id="x"),
}
NON_LEADS = {"support agency": MSD, "community partner": HUI_E, "agency not a partner": TPK, "stranger": TINZ}


@pytest.mark.parametrize("command", LEAD_ONLY.values(), ids=LEAD_ONLY.keys())
@pytest.mark.parametrize("actor", NON_LEADS.values(), ids=NON_LEADS.keys())
def test_only_a_lead_may_amend_invite_remove_report_or_withdraw(
    actor: Actor, command: Callable[[Commitment, Actor], object]
) -> None:
    assert_refused(populated(), NotPermitted, lambda c: command(c, actor))


@pytest.mark.parametrize("command", LEAD_ONLY.values(), ids=LEAD_ONLY.keys())
def test_a_lead_may_amend_invite_remove_report_and_withdraw(command: Callable[[Commitment, Actor], object]) -> None:
    commitment = populated()
    command(commitment, DIA)
    assert len(commitment.collect_events()) == 1


AGENCY_PARTNER_ONLY: dict[str, Callable[[Commitment, Actor], object]] = {
    "add a milestone": lambda c, a: c.add_milestone(
        milestone_id=uuid4(), title="Community hui", due_on=TODAY, actor=a, request_id="x"
    ),
    "reach a milestone": lambda c, a: reach(actor=a)(c),
}
NOT_AGENCY_PARTNERS = {"community partner": HUI_E, "iwi partner": IWI, "agency not a partner": TPK, "stranger": TINZ}


@pytest.mark.parametrize("command", AGENCY_PARTNER_ONLY.values(), ids=AGENCY_PARTNER_ONLY.keys())
@pytest.mark.parametrize("actor", NOT_AGENCY_PARTNERS.values(), ids=NOT_AGENCY_PARTNERS.keys())
def test_only_a_lead_or_support_agency_may_add_or_reach_milestones(
    actor: Actor, command: Callable[[Commitment, Actor], object]
) -> None:
    assert_refused(populated(), NotPermitted, lambda c: command(c, actor))


@pytest.mark.parametrize("command", AGENCY_PARTNER_ONLY.values(), ids=AGENCY_PARTNER_ONLY.keys())
@pytest.mark.parametrize("actor", [DIA, MSD], ids=["lead", "support"])
def test_lead_and_support_agencies_may_add_and_reach_milestones(
    actor: Actor, command: Callable[[Commitment, Actor], object]
) -> None:
    commitment = populated()
    command(commitment, actor)
    assert len(commitment.collect_events()) == 1


PARTNERS = {"lead": DIA, "support agency": MSD, "community partner": HUI_E, "iwi partner": IWI}
NOT_PARTNERS = {"agency not a partner": TPK, "stranger": TINZ, "admin": ADMIN}


@pytest.mark.parametrize("actor", NOT_PARTNERS.values(), ids=NOT_PARTNERS.keys())
def test_only_a_partner_may_record_a_joint_action(actor: Actor) -> None:
    assert_refused(populated(), NotPermitted, record([HUI_E.id, DIA.id], actor=actor))


@pytest.mark.parametrize("actor", PARTNERS.values(), ids=PARTNERS.keys())
def test_every_partner_agency_or_community_may_record_a_joint_action(actor: Actor) -> None:
    commitment = populated()
    action = record([HUI_E.id, DIA.id], actor=actor)(commitment)
    event = one_event(action, "JointActionRecorded")
    assert event.actor == actor
    assert event.partner_ids == [p for p in (HUI_E.id, DIA.id) if p != actor.id]
    assert isinstance(action, JointAction) and action.recorded_by == actor.id
    assert commitment.collect_events() == []


def test_a_partner_may_leave_of_its_own_accord_but_not_remove_another() -> None:
    commitment = populated()
    assert_refused(
        commitment,
        NotPermitted,
        lambda c: c.remove_partner(partner_id=IWI.id, reason="r", actor=HUI_E, request_id="x"),
    )
    commitment.remove_partner(partner_id=HUI_E.id, reason="no capacity this year", actor=HUI_E, request_id="leave")
    event = one_event(commitment, "PartnerLeft")
    assert (event.partner_id, event.reason) == (HUI_E.id, "no capacity this year")
    assert not commitment.is_partner(HUI_E.id)


# -- text every renderer can show, and dates in range (security review, findings 1 and 5) ---


def progress_note(text: str) -> Command:
    return lambda c: c.report_progress(completion=Completion.LIMITED, note=text, actor=DIA, request_id="p")


def milestone_titled(text: str, due_on: date = TODAY) -> Command:
    return lambda c: c.add_milestone(milestone_id=uuid4(), title=text, due_on=due_on, actor=DIA, request_id="m")


def joint_action(summary: str, occurred_on: date = TODAY) -> Command:
    return lambda c: JointAction.record(
        id=uuid4(),
        commitment=c,
        summary=summary,
        occurred_on=occurred_on,
        partner_ids=[HUI_E.id],
        evidence_url=None,
        actor=DIA,
        request_id="a",
    )


def registered(name: str = "Citizens Advice Bureau", external_ref: str | None = None) -> Command:
    return lambda c: Partner.register(
        name=name, kind=PartnerKind.CIVIL_SOCIETY, external_ref=external_ref, actor=ADMIN, request_id="p"
    )


# Each text field and a command that sets it (a new commitment or partner stands apart).
TEXT_FIELDS: dict[str, Callable[[str], Command]] = {
    "title": lambda text: amend({"title": text}),
    "description": lambda text: amend({"description": text}),
    "reason": lambda text: amend({"title": "Renamed"}, reason=text),
    "action_plan": lambda text: lambda c: started(action_plan=text),
    "external_ref": lambda text: lambda c: started(external_ref=text),
    "milestone title": milestone_titled,
    "note": progress_note,
    "summary": joint_action,
    "partner name": registered,
    "partner external_ref": lambda text: registered(external_ref=text),
}
LONG_TEXT_FIELDS = {"description", "reason", "note", "summary"}
# C0 (NUL, bell, backspace, vertical tab, form feed, carriage return, escape, unit separator),
# DEL and C1 (padding, next line, string terminator, application program command).
CONTROLS = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9c", "\x9f"]


def recorded_values(outcome: object, commitment: Commitment) -> list[Any]:
    """The field values of the event a command recorded (an amendment's changes included)."""
    aggregate = outcome if isinstance(outcome, (Commitment, Partner, JointAction)) else commitment
    event = aggregate.collect_events()[0 if aggregate is not commitment else -1]
    values = list(vars(event).values())
    return values + [v for value in values if isinstance(value, dict) for v in value.values()]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize("field", TEXT_FIELDS, ids=TEXT_FIELDS.keys())
def test_no_text_may_hold_a_control_character(field: str, control: str) -> None:
    error = assert_refused(populated(), InvalidValue, TEXT_FIELDS[field](f"Kia Tūtahi{control}hui"))
    assert isinstance(error, InvalidValue)
    assert f"U+{ord(control):04X}" in error.message


@pytest.mark.parametrize("field", TEXT_FIELDS, ids=TEXT_FIELDS.keys())
def test_only_the_long_texts_keep_line_feeds_and_tabs(field: str) -> None:
    for text in ("First line\nsecond line", "Column\tcolumn"):
        commitment = populated()
        if field in LONG_TEXT_FIELDS:
            outcome = TEXT_FIELDS[field](text)(commitment)
            assert text in recorded_values(outcome, commitment)
        else:
            assert_refused(commitment, InvalidValue, TEXT_FIELDS[field](text))


def test_right_to_left_text_combining_marks_and_astral_characters_are_kept() -> None:
    """Only controls are refused: bidirectional marks, emoji and combining marks are writing."""
    text = "Kia Tu\u0304tahi \u200fשלום\u200f 𝌆 🌿 \u202bمرحبا\u202c"
    commitment = populated()
    progress_note(text)(commitment)
    assert commitment.progress[-1].note == unicodedata.normalize("NFC", text)


BIDI_CONTROLS = [
    *("\u061c", "\u200e", "\u200f"),
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
]


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_CONTROLS])
def test_an_evidence_url_may_not_hold_a_bidirectional_control(control: str) -> None:
    # With U+202E, "https://evil.example/<U+202E>gpj.exe" reads as "https://evil.example/exe.jpg".
    error = assert_refused(populated(), InvalidValue, reach(evidence=f"https://evil.example/{control}gpj.exe"))
    assert isinstance(error, InvalidValue) and error.field == "evidence_url"
    assert "bidirectional" in error.message


def test_an_evidence_url_may_not_hold_a_control_character() -> None:
    assert_refused(populated(), InvalidValue, reach(evidence="https://www.dia.govt.nz/\x1b[2Jreport"))


OUT_OF_RANGE = [date(1, 1, 1), date(1899, 12, 31), date(2200, 1, 1), date(9999, 12, 31)]
STARTS, ENDS = date(2014, 7, 1), date(2016, 6, 30)


def reached_on(day: date) -> Command:
    return lambda c: c.reach_milestone(
        milestone_id=MILESTONE,
        reached_on=day,
        today=max(day, TODAY),
        evidence_url=None,
        note=None,
        actor=DIA,
        request_id="r",
    )


def period(starts_on: date | None = None, ends_on: date | None = None) -> dict[str, date]:
    """A period with one end given, the other end kept in range and in order."""
    if starts_on is not None:
        return {"starts_on": starts_on, "ends_on": max(starts_on, ENDS)}
    assert ends_on is not None
    return {"starts_on": max(date(1900, 1, 1), min(ends_on, STARTS)), "ends_on": ends_on}


DATE_FIELDS: dict[str, Callable[[date], Command]] = {
    "starts_on": lambda day: lambda c: started(**period(starts_on=day)),
    "ends_on": lambda day: lambda c: started(**period(ends_on=day)),
    "amended starts_on": lambda day: amend(period(starts_on=day)),
    "amended ends_on": lambda day: amend(period(ends_on=day)),
    "due_on": lambda day: milestone_titled("Due", due_on=day),
    "reached_on": reached_on,
    "occurred_on": lambda day: joint_action("Hui", occurred_on=day),
}


@pytest.mark.parametrize("day", OUT_OF_RANGE, ids=[d.isoformat() for d in OUT_OF_RANGE])
@pytest.mark.parametrize("field", DATE_FIELDS, ids=DATE_FIELDS.keys())
def test_dates_lie_between_1900_and_2199(field: str, day: date) -> None:
    error = assert_refused(populated(), InvalidValue, DATE_FIELDS[field](day))
    assert isinstance(error, InvalidValue)
    assert error.field == field.removeprefix("amended ")
    assert "1900-01-01" in error.message and "2199-12-31" in error.message


@pytest.mark.parametrize("day", [date(1900, 1, 1), date(2199, 12, 31)], ids=["first", "last"])
@pytest.mark.parametrize("field", DATE_FIELDS, ids=DATE_FIELDS.keys())
def test_the_first_and_last_dates_of_the_range_are_accepted(field: str, day: date) -> None:
    commitment = populated()
    outcome = DATE_FIELDS[field](day)(commitment)
    assert day in recorded_values(outcome, commitment)


# -- copies of the aggregate (the repository hands commands a copy of its cache) ----------


def test_commands_on_a_copy_leave_the_original_as_it_was() -> None:
    original = legacy_populated()
    join(original, TINZ, PartnerRole.COMMUNITY)  # a pending event, copied too
    untouched = pickle.loads(pickle.dumps(original))  # an independent full copy to compare with
    clone = copy.deepcopy(original)
    assert clone == original and clone is not original
    clone.reach_milestone(
        milestone_id=MILESTONE,
        reached_on=TODAY,
        today=TODAY,
        evidence_url=None,
        note="published",
        actor=DIA,
        request_id="r",
    )
    clone.respond_to_action(action_id=ACTION, response=Response.CONFIRMED, note=None, actor=HUI_E, request_id="c")
    join(clone, TPK, PartnerRole.SUPPORT)
    clone.report_progress(completion=Completion.LIMITED, note="mid-term", actor=DIA, request_id="p")
    clone.withdraw(reason="superseded", actor=DIA, request_id="w")
    assert original == untouched
    assert original.milestones[str(MILESTONE)].reached_on is None
    assert original.actions[str(ACTION)].responses == {}
    assert str(TPK.id) not in original.partners and original.progress == []
    assert [type(e).__name__ for e in original.collect_events()] == ["PartnerJoined"]
    assert clone.status is Status.WITHDRAWN and original.status is Status.ACTIVE


def test_a_snapshot_stores_the_parts_as_plain_rows_and_restores_the_state_exactly() -> None:
    original = legacy_populated()
    original.reach_milestone(
        milestone_id=MILESTONE, reached_on=TODAY, today=TODAY, evidence_url="https://example.govt.nz/r", note="done",
        actor=DIA, request_id="r",
    )  # fmt: skip
    original.respond_to_action(
        action_id=ACTION, response=Response.DISPUTED, note="not quite", actor=IWI, request_id="d"
    )
    original.report_progress(completion=Completion.LIMITED, note="mid-term", actor=DIA, request_id="p")
    original.remove_partner(partner_id=MSD.id, reason="moved on", actor=MSD, request_id="l")
    original.collect_events()
    transcoder = JSONTranscoder()  # as the Ledger's: the library's transcodings and the domain's
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    register_domain_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)

    snapshot = Commitment.Snapshot.take(original)
    stored = mapper.to_stored_event(snapshot)
    restored = mapper.to_domain_event(stored).mutate(None)

    assert stored.topic == "domain.commitment:Commitment.Snapshot"
    rows = json.loads(stored.state)["state"]
    assert rows["actions"][0][0] == ACTION.hex and rows["milestones"][0][3] == TODAY.isoformat()
    assert isinstance(restored, Commitment)
    assert restored == original
    assert vars(restored) == vars(original)
