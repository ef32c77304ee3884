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
    Actor,
    Completion,
    JointAction,
    Membership,
    Milestone,
    OgpValue,
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


def pack_parts(state: dict[str, Any]) -> dict[str, Any]:
    """A commitment's state with its parts as rows of strings (ids in hex, dates and
    instants in ISO 8601) and None; ``unpack_parts`` reverses it exactly."""
    packed = dict(state)
    packed["partners"] = [
        [m.partner_id.hex, m.name, m.kind.value, m.role.value, m.joined_at.isoformat()]
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
        ]
        for a in state["actions"].values()
    ]
    packed["progress"] = [[r.completion.value, r.note, r.reported_at.isoformat()] for r in state["progress"]]
    return packed


def unpack_parts(packed: dict[str, Any]) -> dict[str, Any]:
    state = dict(packed)
    day, instant = date.fromisoformat, datetime.fromisoformat
    state["partners"] = {
        str(m.partner_id): m
        for m in (
            Membership(UUID(pid), name, PartnerKind(kind), PartnerRole(role), instant(joined))
            for pid, name, kind, role, joined in packed["partners"]
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
            JointAction(
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
            )
            for aid, summary, occurred, recorder, named, evidence, responses in packed["actions"]
        )
    }
    state["progress"] = [
        ProgressReport(Completion(completion), note, instant(at)) for completion, note, at in packed["progress"]
    ]
    return state


def normalise_values(values: list[OgpValue]) -> list[OgpValue]:
    """OGP values are a set: kept unique and in a stable order."""
    return sorted(set(values), key=lambda value: value.value)


class Commitment(Aggregate):
    """A commitment of an action plan, with its partners, milestones, joint actions
    and progress reports. Withdrawn, it refuses every further change."""

    # v2 of the aggregate's state added ``visibility`` (v1 snapshots were all public).
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("visibility", Visibility.PUBLIC)

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
        self.actions: dict[str, JointAction] = {}
        self.progress: list[ProgressReport] = []
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
    def completion(self) -> Completion | None:
        return self.progress[-1].completion if self.progress else None

    # -- commands -------------------------------------------------------------

    def amend(self, *, changes: dict[str, Any], reason: str, actor: Actor, request_id: str) -> None:
        """Records the fields that really change, with the reason for changing them."""
        self.check_active()
        self.check_lead(actor)
        unknown = set(changes) - set(AMENDABLE)
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "cannot be amended")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
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
        if not cleaned:
            raise NothingChanged("the amendment changes nothing")
        check_period(cleaned.get("starts_on", self.starts_on), cleaned.get("ends_on", self.ends_on))
        self._amended(changes=cast(Amendment, cleaned), reason=reason, actor=actor, request_id=request_id)

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
        actor: Actor,
        request_id: str,
    ) -> None:
        """A lead invites a partner; the role must fit the partner's kind."""
        self.check_active()
        self.check_lead(actor)
        if self.is_partner(partner_id):
            raise AlreadyPartner("the partner already belongs to this commitment")
        if not role.fits(kind):
            raise RoleMismatch(
                f"a {kind.value} partner cannot take the {role.value} role"
                " (leads and supports are agencies; others take part as community)"
            )
        self._partner_joined(
            partner_id=partner_id, name=nfc(name), kind=kind, role=role, actor=actor, request_id=request_id
        )

    @event("PartnerJoined")
    def _partner_joined(
        self,
        partner_id: UUID,
        name: str,
        kind: PartnerKind,
        role: PartnerRole,
        actor: Actor,
        request_id: str,
    ) -> None:
        joined_at = self.recorded_now or self.modified_on
        self.partners[str(partner_id)] = Membership(partner_id, name, kind, role, joined_at)

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

    def record_joint_action(
        self,
        *,
        action_id: UUID,
        summary: str,
        occurred_on: date,
        partner_ids: list[UUID],
        evidence_url: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        """An agency partner records what it did with other partners of the commitment."""
        self.check_active()
        self.check_agency_member(actor, (PartnerRole.LEAD, PartnerRole.SUPPORT))
        if str(action_id) in self.actions:
            raise InvalidValue("action_id", "already used in this commitment")
        others: list[UUID] = []
        for partner_id in partner_ids:
            if partner_id != actor.id and partner_id not in others:
                others.append(partner_id)
        if not others:
            raise InvalidValue("partner_ids", "must name at least one other partner of this commitment")
        strangers = [str(p) for p in others if not self.is_partner(p)]
        if strangers:
            raise NotPartner(f"not partners of this commitment: {', '.join(strangers)}")
        self._joint_action_recorded(
            action_id=action_id,
            summary=clean_title(summary, "summary", NOTE_MAX),
            occurred_on=check_day(occurred_on, "occurred_on"),
            partner_ids=others,
            evidence_url=clean_url(evidence_url),
            actor=actor,
            request_id=request_id,
        )

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
        self.actions[str(action_id)] = JointAction(
            action_id, summary, occurred_on, actor.id, list(partner_ids), evidence_url
        )

    def respond_to_action(
        self, *, action_id: UUID, response: Response, note: str | None, actor: Actor, request_id: str
    ) -> None:
        """A partner named in a joint action confirms or disputes it, once."""
        self.check_active()
        action = self.actions.get(str(action_id))
        if action is None:
            raise UnknownJointAction("no such joint action in this commitment")
        if actor.id not in action.partner_ids:
            raise NotNamedInAction("only partners named in the joint action may respond to it")
        if str(actor.id) in action.responses:
            raise AlreadyResponded("this partner has already responded to the joint action")
        note = clean_optional(note, "note", NOTE_MAX)
        if response is Response.CONFIRMED:
            self._joint_action_confirmed(action_id=action_id, note=note, actor=actor, request_id=request_id)
        else:
            self._joint_action_disputed(action_id=action_id, note=note, actor=actor, request_id=request_id)

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

    def report_progress(self, *, completion: Completion, note: str, actor: Actor, request_id: str) -> None:
        """A lead reports completion on OGP's scale; every report is kept."""
        self.check_active()
        self.check_lead(actor)
        self._progress_reported(
            completion=completion, note=clean_text(note, "note", NOTE_MAX), actor=actor, request_id=request_id
        )

    @event("ProgressReported")
    def _progress_reported(self, completion: Completion, note: str, actor: Actor, request_id: str) -> None:
        reported_at = self.recorded_now or self.modified_on
        self.progress.append(ProgressReport(completion, note, reported_at))

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
