"""The Commitment aggregate: a promise made under an action plan, and everything
its partners then did about it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypedDict, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event
from eventsourcing.domain import Snapshot as LibrarySnapshot

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
    DESCRIPTION_MAX,
    NOTE_MAX,
    REF_MAX,
    TITLE_MAX,
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    ActorRole,
    Assessment,
    AssessmentStage,
    Completion,
    Membership,
    Milestone,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    ProgressReport,
    Response,
    Status,
    Visibility,
    check_day,
    check_period,
    clean_optional,
    clean_text,
    clean_title,
    clean_url,
    nfc,
)

AMENDABLE = ("title", "description", "starts_on", "ends_on", "ogp_values", "visibility")


class Amendment(TypedDict, total=False):
    """The fields an amendment changes (``CommitmentAmended.changes``), with their types."""

    title: str
    description: str
    starts_on: date
    ends_on: date
    ogp_values: list[OgpValue]
    visibility: Visibility


class MilestoneChange(TypedDict, total=False):
    """What a change of a milestone changes (``MilestoneChanged.changes``)."""

    title: str
    due_on: date


def pack_parts(state: dict[str, Any]) -> dict[str, Any]:
    """A commitment's state with its parts as rows of strings (ids in hex, dates and
    instants in ISO 8601) and None; ``unpack_parts`` reverses it exactly."""
    packed = dict(state)
    packed["partners"] = [
        [
            m.partner_id.hex,
            m.name,
            m.kind.value,
            m.role.value,
            m.joined_at.isoformat(),
            m.joined_on.isoformat() if m.joined_on else None,
        ]
        for m in state["partners"].values()
    ]
    packed["milestones"] = [
        [
            m.id.hex,
            m.title,
            m.due_on.isoformat(),
            m.reached_on.isoformat() if m.reached_on else None,
            m.evidence_url,
            m.note,
        ]
        for m in state["milestones"].values()
    ]
    packed["actions"] = [
        [
            a.id.hex,
            a.summary,
            a.occurred_on.isoformat(),
            a.recorded_by.hex,
            [p.hex for p in a.partner_ids],
            a.evidence_url,
            [[r.partner_id.hex, r.response.value, r.note, r.responded_at.isoformat()] for r in a.responses.values()],
            a.status.value,
            a.withdrawal_reason,
        ]
        for a in state["actions"].values()
    ]
    packed["progress"] = [
        [r.completion.value, r.note, r.reported_at.isoformat(), r.as_of.isoformat() if r.as_of else None]
        for r in state["progress"]
    ]
    packed["assessments"] = [
        [
            a.id.hex,
            a.stage.value,
            a.assessed_on.isoformat(),
            a.completion.value,
            a.did_it_open_government.value if a.did_it_open_government else None,
            a.starred,
            a.report_url,
            a.note,
            a.assessor_id.hex,
            a.assessor_name,
            a.recorded_at.isoformat(),
        ]
        for a in state["assessments"]
    ]
    return packed


def unpack_parts(packed: dict[str, Any]) -> dict[str, Any]:
    state = dict(packed)
    day, instant = date.fromisoformat, datetime.fromisoformat
    state["partners"] = {
        str(m.partner_id): m
        for m in (
            Membership(
                UUID(pid),
                name,
                PartnerKind(kind),
                PartnerRole(role),
                instant(joined),
                day(rest[0]) if rest and rest[0] else None,
            )
            for pid, name, kind, role, joined, *rest in packed["partners"]
        )
    }
    state["milestones"] = {
        str(m.id): m
        for m in (
            Milestone(UUID(mid), title, day(due), day(reached) if reached else None, evidence, note)
            for mid, title, due, reached, evidence, note in packed["milestones"]
        )
    }
    state["actions"] = {
        str(a.id): a
        for a in (
            ActionState(
                UUID(aid),
                summary,
                day(occurred),
                UUID(recorder),
                [UUID(p) for p in named],
                evidence,
                {
                    str(UUID(pid)): ActionResponse(UUID(pid), Response(response), note, instant(at))
                    for pid, response, note, at in responses
                },
                ActionStatus(rest[0]) if rest else ActionStatus.RECORDED,
                rest[1] if rest else None,
            )
            for aid, summary, occurred, recorder, named, evidence, responses, *rest in packed["actions"]
        )
    }
    state["progress"] = [
        ProgressReport(Completion(completion), note, instant(at), day(rest[0]) if rest and rest[0] else None)
        for completion, note, at, *rest in packed["progress"]
    ]
    state["assessments"] = [
        Assessment(
            UUID(aid),
            AssessmentStage(stage),
            day(assessed),
            Completion(completion),
            OpenedGovernment(opened) if opened else None,
            starred,
            report,
            note,
            UUID(assessor),
            assessor_name,
            instant(at),
        )
        for aid, stage, assessed, completion, opened, starred, report, note, assessor, assessor_name, at in packed.get(
            "assessments", []
        )
    ]
    return state


def normalise_values(values: list[OgpValue]) -> list[OgpValue]:
    """OGP values are a set: kept unique and in a stable order."""
    return sorted(set(values), key=lambda value: value.value)


class Commitment(Aggregate):
    """A commitment of an action plan, with its partners, milestones, progress reports
    and independent assessments. Joint actions are aggregates of their own
    (``domain.joint_action``); ``actions`` holds only those recorded in the commitment's
    own stream, as release 0.1.0 did, which keep their rules here. Withdrawn, a
    commitment refuses every further change."""

    # v2 of the aggregate's state added ``visibility`` (v1 snapshots were all public);
    # v3 added ``assessments``.
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("visibility", Visibility.PUBLIC)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state.setdefault("assessments", [])

    def __deepcopy__(self, memo: dict[int, Any]) -> Commitment:
        """Commands work on a copy of the cached aggregate (the repository deep-copies
        it). Its parts (memberships, milestones, joint actions, responses, reports) are
        frozen values that events replace rather than change, so copying the containers
        that hold them copies the whole state, in time linear in their number instead
        of in every field of every value."""
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            if isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, list):
                value = list(value)
            clone.__dict__[name] = value
        memo[id(self)] = clone
        return clone

    class Snapshot(LibrarySnapshot):
        """A snapshot whose partners, milestones, joint actions and reports are stored
        as rows of plain JSON values (``pack_parts``), not as one transcoded object per
        value and per id, date and instant in it: decoding a 10,000-event
        commitment's snapshot went mostly into the transcoder's per-object hooks.
        Snapshots stored before (the library's ``Snapshot``) still load as they were."""

        @classmethod
        def take(cls, aggregate: Any) -> Any:
            snapshot = super().take(aggregate)
            return replace(snapshot, state=pack_parts(snapshot.state))

        def mutate(self, _: None) -> Any:
            unpacked = replace(self, state=unpack_parts(self.state))
            return LibrarySnapshot.mutate(unpacked, None)

    class Event(Aggregate.Event):
        """Every event of a commitment names who recorded it and in which request."""

        def mutate(self, aggregate: Any) -> Any:
            # The state change may need the recorded time (e.g. ``joined_at``).
            if aggregate is not None:
                aggregate.recorded_now = self.timestamp
            return super().mutate(aggregate)

    class CommitmentCreated(Aggregate.Created):
        """``CommitmentCreated``. Version 1 had no ``visibility``: every commitment
        was public until partners-only commitments were added."""

        class_version = 2
        title: str
        description: str
        action_plan: str
        external_ref: str
        starts_on: date
        ends_on: date
        ogp_values: list[OgpValue]
        visibility: Visibility
        actor: Actor
        request_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["visibility"] = Visibility.PUBLIC

    @event(CommitmentCreated)
    def __init__(
        self,
        id: UUID,
        title: str,
        description: str,
        action_plan: str,
        external_ref: str,
        starts_on: date,
        ends_on: date,
        ogp_values: list[OgpValue],
        visibility: Visibility,
        actor: Actor,
        request_id: str,
    ) -> None:
        self.title = title
        self.description = description
        self.action_plan = action_plan
        self.external_ref = external_ref
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.ogp_values = list(ogp_values)
        self.visibility = visibility
        self.status = Status.ACTIVE
        self.withdrawal_reason: str | None = None
        self.partners: dict[str, Membership] = {}
        self.milestones: dict[str, Milestone] = {}
        self.actions: dict[str, ActionState] = {}  # recorded in this stream (release 0.1.0)
        self.progress: list[ProgressReport] = []
        self.assessments: list[Assessment] = []
        self.created_by = actor.id
        self.recorded_now: datetime | None = None

    # -- creation -------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        id: UUID | None = None,
        title: str,
        description: str,
        action_plan: str,
        external_ref: str,
        starts_on: date,
        ends_on: date,
        ogp_values: list[OgpValue],
        visibility: Visibility,
        lead: tuple[UUID, str, PartnerKind],
        actor: Actor,
        request_id: str,
    ) -> Commitment:
        """Creates a commitment; the agency creating it becomes its lead."""
        check_period(check_day(starts_on, "starts_on"), check_day(ends_on, "ends_on"))
        lead_id, lead_name, lead_kind = lead
        if not PartnerRole.LEAD.fits(lead_kind):
            raise RoleMismatch("only an agency can lead a commitment")
        commitment = cls(
            id=id or uuid4(),
            title=clean_title(title),
            description=clean_text(description, "description", DESCRIPTION_MAX),
            action_plan=clean_title(action_plan, "action_plan"),
            external_ref=clean_text(external_ref.strip(), "external_ref", REF_MAX),
            starts_on=starts_on,
            ends_on=ends_on,
            ogp_values=normalise_values(ogp_values),
            visibility=visibility,
            actor=actor,
            request_id=request_id,
        )
        # The lead joins at the very instant of creation, so that no instant (as_of)
        # shows a commitment without its lead.
        commitment.trigger_event(
            getattr(cls, "PartnerJoined"),  # noqa: B009 - made by @event, unknown to type checkers
            partner_id=lead_id,
            name=lead_name,
            kind=lead_kind,
            role=PartnerRole.LEAD,
            joined_on=starts_on,
            actor=actor,
            request_id=request_id,
            timestamp=commitment.created_on,
        )
        return commitment

    # -- guards ---------------------------------------------------------------

    def check_active(self) -> None:
        if self.status is Status.WITHDRAWN:
            raise CommitmentWithdrawn("this commitment was withdrawn and accepts no changes")

    def role_of(self, partner_id: UUID) -> PartnerRole | None:
        membership = self.partners.get(str(partner_id))
        return membership.role if membership else None

    def is_partner(self, partner_id: UUID) -> bool:
        return str(partner_id) in self.partners

    def leads(self) -> list[UUID]:
        return [m.partner_id for m in self.partners.values() if m.role is PartnerRole.LEAD]

    def check_lead(self, actor: Actor) -> None:
        if self.role_of(actor.id) is not PartnerRole.LEAD:
            raise NotPermitted("only a lead agency of this commitment may do this")

    def check_agency_member(self, actor: Actor, roles: tuple[PartnerRole, ...]) -> None:
        if self.role_of(actor.id) not in roles:
            wanted = " or ".join(role.value for role in roles)
            raise NotPermitted(f"only a {wanted} agency of this commitment may do this")

    @property
    def latest_report(self) -> ProgressReport | None:
        """The self-report about the latest date: by ``as_of`` (a report without one, as
        release 0.1.0 recorded them, is about the day it was recorded), the later
        recorded among reports about the same day. A report recorded late about an
        earlier date does not replace a newer one."""
        if not self.progress:
            return None
        return max(self.progress, key=lambda r: (r.as_of or r.reported_at.date(), r.reported_at))

    @property
    def completion(self) -> Completion | None:
        latest = self.latest_report
        return latest.completion if latest is not None else None

    # -- commands -------------------------------------------------------------

    def amend(self, *, changes: dict[str, Any], reason: str, actor: Actor, request_id: str) -> None:
        """Records the fields that really change, with the reason for changing them."""
        self.check_active()
        self.check_lead(actor)
        unknown = set(changes) - set(AMENDABLE)
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "cannot be amended")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
        cleaned = self.amended_fields(changes)
        if not cleaned:
            raise NothingChanged("the amendment changes nothing")
        check_period(cleaned.get("starts_on", self.starts_on), cleaned.get("ends_on", self.ends_on))
        self._amended(changes=cast(Amendment, cleaned), reason=reason, actor=actor, request_id=request_id)

    def amended_fields(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The fields of ``changes`` whose values, cleaned as ``amend`` records them,
        really differ from the commitment's (what an amendment would record)."""
        unknown = set(changes) - set(AMENDABLE)
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "cannot be amended")
        cleaned: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "title":
                value = clean_title(value)
            elif name == "description":
                value = clean_text(value, "description", DESCRIPTION_MAX)
            elif name == "ogp_values":
                value = normalise_values(value)
            elif name in ("starts_on", "ends_on"):
                value = check_day(value, name)
            if getattr(self, name) != value:
                cleaned[name] = value
        return cleaned

    @event("CommitmentAmended")
    def _amended(self, changes: Amendment, reason: str, actor: Actor, request_id: str) -> None:
        for name, value in changes.items():
            setattr(self, name, list(cast(list[OgpValue], value)) if name == "ogp_values" else value)

    def add_partner(
        self,
        *,
        partner_id: UUID,
        name: str,
        kind: PartnerKind,
        role: PartnerRole,
        joined_on: date | None = None,
        today: date | None = None,
        actor: Actor,
        request_id: str,
    ) -> None:
        """A lead invites a partner; the role must fit the partner's kind. ``joined_on``
        is the date the partnership began in the world, if it is not the day it is
        recorded (not in the future)."""
        self.check_active()
        self.check_lead(actor)
        if self.is_partner(partner_id):
            raise AlreadyPartner("the partner already belongs to this commitment")
        if not role.fits(kind):
            raise RoleMismatch(
                f"a {kind.value} partner cannot take the {role.value} role"
                " (leads and supports are agencies; others take part as community)"
            )
        if joined_on is not None:
            check_day(joined_on, "joined_on")
            if today is not None and joined_on > today:
                raise InvalidValue("joined_on", "must not be in the future")
        self._partner_joined(
            partner_id=partner_id,
            name=nfc(name),
            kind=kind,
            role=role,
            joined_on=joined_on,
            actor=actor,
            request_id=request_id,
        )

    class PartnerJoined(Event):
        """``PartnerJoined``. Version 1 had no ``joined_on`` (the date the partnership
        began in the world): it reads as unknown."""

        class_version = 2
        partner_id: UUID
        name: str
        kind: PartnerKind
        role: PartnerRole
        joined_on: date | None
        actor: Actor
        request_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("joined_on", None)

    @event(PartnerJoined)
    def _partner_joined(
        self,
        partner_id: UUID,
        name: str,
        kind: PartnerKind,
        role: PartnerRole,
        joined_on: date | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        joined_at = self.recorded_now or self.modified_on
        self.partners[str(partner_id)] = Membership(partner_id, name, kind, role, joined_at, joined_on)

    def remove_partner(self, *, partner_id: UUID, reason: str, actor: Actor, request_id: str) -> None:
        """A lead removes a partner, or a partner leaves; the last lead cannot."""
        self.check_active()
        if actor.id != partner_id:
            self.check_lead(actor)
        if not self.is_partner(partner_id):
            raise NotPartner("that partner does not belong to this commitment")
        if self.role_of(partner_id) is PartnerRole.LEAD and len(self.leads()) == 1:
            raise LastLeadCannotLeave("the last lead cannot leave; add another lead first")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
        self._partner_left(partner_id=partner_id, reason=reason, actor=actor, request_id=request_id)

    @event("PartnerLeft")
    def _partner_left(self, partner_id: UUID, reason: str, actor: Actor, request_id: str) -> None:
        del self.partners[str(partner_id)]

    def add_milestone(self, *, milestone_id: UUID, title: str, due_on: date, actor: Actor, request_id: str) -> None:
        """A lead or support agency adds a dated deliverable."""
        self.check_active()
        self.check_agency_member(actor, (PartnerRole.LEAD, PartnerRole.SUPPORT))
        if str(milestone_id) in self.milestones:
            raise InvalidValue("milestone_id", "already used in this commitment")
        self._milestone_added(
            milestone_id=milestone_id,
            title=clean_title(title),
            due_on=check_day(due_on, "due_on"),
            actor=actor,
            request_id=request_id,
        )

    @event("MilestoneAdded")
    def _milestone_added(self, milestone_id: UUID, title: str, due_on: date, actor: Actor, request_id: str) -> None:
        self.milestones[str(milestone_id)] = Milestone(milestone_id, title, due_on)

    def change_milestone(
        self,
        *,
        milestone_id: UUID,
        title: str | None = None,
        due_on: date | None = None,
        reason: str,
        actor: Actor,
        request_id: str,
    ) -> None:
        """A lead or support agency retitles or reschedules a milestone not yet reached,
        giving a reason."""
        self.check_active()
        self.check_agency_member(actor, (PartnerRole.LEAD, PartnerRole.SUPPORT))
        milestone = self.milestones.get(str(milestone_id))
        if milestone is None:
            raise UnknownMilestone("no such milestone in this commitment")
        if milestone.reached_on is not None:
            raise MilestoneAlreadyReached(f"this milestone was reached on {milestone.reached_on}: it stays as it was")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
        changes: MilestoneChange = {}
        if title is not None and clean_title(title) != milestone.title:
            changes["title"] = clean_title(title)
        if due_on is not None and due_on != milestone.due_on:
            changes["due_on"] = check_day(due_on, "due_on")
        if not changes:
            raise NothingChanged("the change changes nothing")
        self._milestone_changed(
            milestone_id=milestone_id, changes=changes, reason=reason, actor=actor, request_id=request_id
        )

    @event("MilestoneChanged")
    def _milestone_changed(
        self, milestone_id: UUID, changes: MilestoneChange, reason: str, actor: Actor, request_id: str
    ) -> None:
        key = str(milestone_id)
        self.milestones[key] = replace(self.milestones[key], **changes)

    def reach_milestone(
        self,
        *,
        milestone_id: UUID,
        reached_on: date,
        today: date,
        evidence_url: str | None,
        note: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        """A milestone is reached once, on a real date that is not in the future."""
        self.check_active()
        self.check_agency_member(actor, (PartnerRole.LEAD, PartnerRole.SUPPORT))
        milestone = self.milestones.get(str(milestone_id))
        if milestone is None:
            raise UnknownMilestone("no such milestone in this commitment")
        if milestone.reached_on is not None:
            raise MilestoneAlreadyReached(f"this milestone was already reached on {milestone.reached_on}")
        if reached_on > today:
            raise InvalidValue("reached_on", "must not be in the future")
        check_day(reached_on, "reached_on")
        self._milestone_reached(
            milestone_id=milestone_id,
            reached_on=reached_on,
            evidence_url=clean_url(evidence_url),
            note=clean_optional(note, "note", NOTE_MAX),
            actor=actor,
            request_id=request_id,
        )

    @event("MilestoneReached")
    def _milestone_reached(
        self,
        milestone_id: UUID,
        reached_on: date,
        evidence_url: str | None,
        note: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        key = str(milestone_id)
        self.milestones[key] = replace(
            self.milestones[key], reached_on=reached_on, evidence_url=evidence_url, note=note
        )

    # -- joint actions ---------------------------------------------------------
    # New joint actions are aggregates of their own (``domain.joint_action``), recorded
    # after ``check_action_partners``. The events below are those release 0.1.0 recorded
    # in the commitment's own stream: the commitment still applies them, and its partners
    # still respond to those actions (and their recorders withdraw them) here.

    def check_action_partners(self, actor: Actor, partner_ids: list[UUID]) -> list[UUID]:
        """For a new joint action recorded by ``actor``: the commitment is active, the
        actor is one of its partners, and the others named (at least one) are current
        partners too. Returns the others, each once, in the order given."""
        self.check_active()
        if not actor.is_partner or not self.is_partner(actor.id):
            raise NotPermitted("only a partner of this commitment records its joint actions")
        others: list[UUID] = []
        for partner_id in partner_ids:
            if partner_id != actor.id and partner_id not in others:
                others.append(partner_id)
        if not others:
            raise InvalidValue("partner_ids", "must name at least one other partner of this commitment")
        strangers = [str(p) for p in others if not self.is_partner(p)]
        if strangers:
            raise NotPartner(f"not partners of this commitment: {', '.join(strangers)}")
        return others

    def check_may_respond(self, actor: Actor) -> None:
        """A partner named in a joint action responds only while the commitment is
        active and it is still one of the commitment's partners."""
        self.check_active()
        if not actor.is_partner:
            raise NotPermitted("only partners named in the joint action may respond to it")
        if not self.is_partner(actor.id):
            raise NotPartner("this partner has left the commitment and no longer responds to its joint actions")

    @event("JointActionRecorded")
    def _joint_action_recorded(
        self,
        action_id: UUID,
        summary: str,
        occurred_on: date,
        partner_ids: list[UUID],
        evidence_url: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        self.actions[str(action_id)] = ActionState(
            action_id, summary, occurred_on, actor.id, list(partner_ids), evidence_url
        )

    def respond_to_action(
        self, *, action_id: UUID, response: Response, note: str | None, actor: Actor, request_id: str
    ) -> None:
        """A partner named in a joint action of this stream confirms or disputes it, once."""
        action = self.actions.get(str(action_id))
        if action is None:
            raise UnknownJointAction("no such joint action in this commitment")
        if actor.id not in action.partner_ids:
            raise NotNamedInAction("only partners named in the joint action may respond to it")
        self.check_may_respond(actor)
        if action.status is ActionStatus.WITHDRAWN:
            raise ActionWithdrawn("this joint action was withdrawn by its recorder")
        if str(actor.id) in action.responses:
            raise AlreadyResponded("this partner has already responded to the joint action")
        note = clean_optional(note, "note", NOTE_MAX)
        if response is Response.CONFIRMED:
            self._joint_action_confirmed(action_id=action_id, note=note, actor=actor, request_id=request_id)
        else:
            self._joint_action_disputed(action_id=action_id, note=note, actor=actor, request_id=request_id)

    def withdraw_action(self, *, action_id: UUID, reason: str, actor: Actor, request_id: str) -> None:
        """The partner that recorded a joint action of this stream, while still a
        partner, withdraws it."""
        self.check_active()
        action = self.actions.get(str(action_id))
        if action is None:
            raise UnknownJointAction("no such joint action in this commitment")
        if actor.id != action.recorded_by:
            raise NotPermitted("only the partner that recorded the joint action withdraws it")
        if not self.is_partner(actor.id):
            raise NotPartner("this partner has left the commitment and no longer withdraws its joint actions")
        if action.status is ActionStatus.WITHDRAWN:
            raise ActionWithdrawn("this joint action was already withdrawn")
        self._joint_action_withdrawn(
            action_id=action_id,
            reason=clean_text(reason, "reason", NOTE_MAX, required=True),
            actor=actor,
            request_id=request_id,
        )

    @event("JointActionWithdrawn")
    def _joint_action_withdrawn(self, action_id: UUID, reason: str, actor: Actor, request_id: str) -> None:
        key = str(action_id)
        self.actions[key] = replace(self.actions[key], status=ActionStatus.WITHDRAWN, withdrawal_reason=reason)

    def _record_response(self, action_id: UUID, response: Response, note: str | None, actor: Actor) -> None:
        responded_at = self.recorded_now or self.modified_on
        key = str(action_id)
        action = self.actions[key]
        responses = {**action.responses, str(actor.id): ActionResponse(actor.id, response, note, responded_at)}
        self.actions[key] = replace(action, responses=responses)

    @event("JointActionConfirmed")
    def _joint_action_confirmed(self, action_id: UUID, note: str | None, actor: Actor, request_id: str) -> None:
        self._record_response(action_id, Response.CONFIRMED, note, actor)

    @event("JointActionDisputed")
    def _joint_action_disputed(self, action_id: UUID, note: str | None, actor: Actor, request_id: str) -> None:
        self._record_response(action_id, Response.DISPUTED, note, actor)

    def report_progress(
        self,
        *,
        completion: Completion,
        note: str,
        as_of: date | None = None,
        today: date | None = None,
        actor: Actor,
        request_id: str,
    ) -> None:
        """A lead reports completion on OGP's scale, as at the date the report describes
        (not in the future); every report is kept."""
        self.check_active()
        self.check_lead(actor)
        if as_of is not None:
            check_day(as_of, "as_of")
            if today is not None and as_of > today:
                raise InvalidValue("as_of", "must not be in the future")
        self._progress_reported(
            completion=completion,
            note=clean_text(note, "note", NOTE_MAX),
            as_of=as_of,
            actor=actor,
            request_id=request_id,
        )

    class ProgressReported(Event):
        """``ProgressReported``. Version 1 had no ``as_of`` (the date the report
        describes): it reads as unknown."""

        class_version = 2
        completion: Completion
        note: str
        as_of: date | None
        actor: Actor
        request_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("as_of", None)

    @event(ProgressReported)
    def _progress_reported(
        self, completion: Completion, note: str, as_of: date | None, actor: Actor, request_id: str
    ) -> None:
        reported_at = self.recorded_now or self.modified_on
        self.progress.append(ProgressReport(completion, note, reported_at, as_of))

    def record_assessment(
        self,
        *,
        assessment_id: UUID,
        stage: AssessmentStage,
        assessed_on: date,
        completion: Completion,
        did_it_open_government: OpenedGovernment | None = None,
        starred: bool = False,
        report_url: str | None = None,
        note: str | None = None,
        today: date,
        actor: Actor,
        request_id: str,
    ) -> None:
        """An independent assessor records its assessment of the commitment (on the
        IRM's scales), as at the date it was made (not in the future)."""
        self.check_active()
        if actor.role is not ActorRole.ASSESSOR:
            raise NotPermitted("only an independent assessor records assessments")
        if any(a.id == assessment_id for a in self.assessments):
            raise InvalidValue("assessment_id", "already used in this commitment")
        if check_day(assessed_on, "assessed_on") > today:
            raise InvalidValue("assessed_on", "must not be in the future")
        self._assessment_recorded(
            assessment_id=assessment_id,
            stage=stage,
            assessed_on=assessed_on,
            completion=completion,
            did_it_open_government=did_it_open_government,
            starred=starred,
            report_url=clean_url(report_url, "report_url"),
            note=clean_optional(note, "note", NOTE_MAX),
            actor=actor,
            request_id=request_id,
        )

    @event("AssessmentRecorded")
    def _assessment_recorded(
        self,
        assessment_id: UUID,
        stage: AssessmentStage,
        assessed_on: date,
        completion: Completion,
        did_it_open_government: OpenedGovernment | None,
        starred: bool,
        report_url: str | None,
        note: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        recorded_at = self.recorded_now or self.modified_on
        self.assessments.append(
            Assessment(
                assessment_id,
                stage,
                assessed_on,
                completion,
                did_it_open_government,
                starred,
                report_url,
                note,
                actor.id,
                actor.name,
                recorded_at,
            )
        )

    @property
    def assessed_completion(self) -> Completion | None:
        """The latest assessment's completion (by the date assessed, then recorded)."""
        if not self.assessments:
            return None
        return max(self.assessments, key=lambda a: (a.assessed_on, a.recorded_at)).completion

    def withdraw(self, *, reason: str, actor: Actor, request_id: str) -> None:
        """A lead withdraws the commitment; it is frozen from then on."""
        self.check_active()
        self.check_lead(actor)
        self._withdrawn(
            reason=clean_text(reason, "reason", NOTE_MAX, required=True), actor=actor, request_id=request_id
        )

    @event("CommitmentWithdrawn")
    def _withdrawn(self, reason: str, actor: Actor, request_id: str) -> None:
        self.status = Status.WITHDRAWN
        self.withdrawal_reason = reason


__all__ = ["AMENDABLE", "TITLE_MAX", "Commitment", "normalise_values"]
