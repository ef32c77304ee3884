"""Read-model projection: events to timeline entries, summaries, memberships and the
partner directory. The same code runs live (inside the write transaction) and in a
rebuild from the log, so both produce identical rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from application.ports import (
    CommitmentSummary,
    PartnerRow,
    PlanRow,
    ReadModelStore,
    TimelineEntry,
)
from domain.action_plan import ActionPlan
from domain.commitment import Commitment
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import ActionStatus, Actor, PartnerRole, fold

FIELD_NAMES = {
    "title": "the title",
    "description": "the description",
    "starts_on": "the start date",
    "ends_on": "the end date",
    "ogp_values": "the OGP values",
    "visibility": "the visibility",
}

ROLE_NAMES = {
    PartnerRole.LEAD: "lead agency",
    PartnerRole.SUPPORT: "supporting agency",
    PartnerRole.COMMUNITY: "community partner",
}


def event_type(event: Any) -> str:
    """The event's name in docs/domain.md (its class name)."""
    return type(event).__name__


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _completion(value: Any) -> str:
    return str(value.value).replace("_", " ")


STAGES = {"mid_term": "mid-term", "end_of_term": "end-of-term", "other": "independent"}


def timeline_sentence(event: Any, aggregate: Any, names: dict[UUID, str]) -> tuple[str, str, date | None]:
    """(kind, one human sentence naming the actor, the date the event describes or None).
    ``aggregate``: the event's aggregate (a commitment or a joint action) at or after the
    event; ``names``: partners' names now, by id."""
    actor: Actor = event.actor
    who = actor.name
    kind = event_type(event)
    if kind == "CommitmentCreated":
        return "created", f"{who} created the commitment “{event.title}”.", event.starts_on
    if kind == "CommitmentAmended":
        # In a fixed order: the event's own order is not kept by its document (keys sorted).
        what = _names([FIELD_NAMES[name] for name in FIELD_NAMES if name in event.changes])
        return "amended", f"{who} amended {what}: {event.reason}", None
    if kind == "PartnerJoined":
        role = ROLE_NAMES[event.role]
        if event.partner_id == actor.id:
            return "partner_joined", f"{event.name} joined as {role}.", event.joined_on
        return "partner_joined", f"{who} added {event.name} as {role}.", event.joined_on
    if kind == "PartnerLeft":
        name = names.get(event.partner_id, "a former partner")
        if event.partner_id == actor.id:
            return "partner_left", f"{name} left the commitment: {event.reason}", None
        return "partner_left", f"{who} removed {name}: {event.reason}", None
    if kind == "MilestoneAdded":
        return (
            "milestone_added",
            f"{who} added the milestone “{event.title}”, due {long_date(event.due_on)}.",
            event.due_on,
        )
    if kind == "MilestoneChanged":
        milestone = aggregate.milestones[str(event.milestone_id)]
        if "title" in event.changes and "due_on" in event.changes:
            what = f"retitled a milestone as “{milestone.title}” and rescheduled it to {long_date(milestone.due_on)}"
        elif "title" in event.changes:
            what = f"retitled a milestone as “{milestone.title}”"
        else:
            what = f"rescheduled the milestone “{milestone.title}” to {long_date(milestone.due_on)}"
        return "milestone_changed", f"{who} {what}: {event.reason}", milestone.due_on
    if kind == "MilestoneReached":
        title = aggregate.milestones[str(event.milestone_id)].title
        return (
            "milestone_reached",
            f"{who} reported the milestone “{title}” reached on {long_date(event.reached_on)}.",
            event.reached_on,
        )
    if kind == "JointActionRecorded":
        others = _names([names.get(p, "a former partner") for p in event.partner_ids])
        return (
            "joint_action_recorded",
            f"{who} recorded a joint action with {others} on {long_date(event.occurred_on)}: {event.summary}",
            event.occurred_on,
        )
    if kind in ("JointActionConfirmed", "JointActionDisputed", "JointActionResponded"):
        summary = action_of(aggregate, event).summary
        if kind == "JointActionResponded":
            verb = str(event.response.value)
        else:
            verb = "confirmed" if kind == "JointActionConfirmed" else "disputed"
        note = f" Note: {event.note}" if event.note else ""
        return f"joint_action_{verb}", f"{who} {verb} the joint action “{summary}”.{note}", None
    if kind == "JointActionWithdrawn":
        summary = action_of(aggregate, event).summary
        return "joint_action_withdrawn", f"{who} withdrew the joint action “{summary}”: {event.reason}", None
    if kind == "ProgressReported":
        note = f": {event.note}" if event.note else "."
        return "progress_reported", f"{who} reported completion as {_completion(event.completion)}{note}", event.as_of
    if kind == "AssessmentRecorded":
        stage = STAGES[event.stage.value]
        opened = (
            f"; did it open government: {_completion(event.did_it_open_government)}"
            if event.did_it_open_government
            else ""
        )
        star = " (starred)" if event.starred else ""
        note = f" {event.note}" if event.note else ""
        return (
            "assessment_recorded",
            f"{who} assessed completion as {_completion(event.completion)} in its {stage} assessment of "
            f"{long_date(event.assessed_on)}{opened}{star}.{note}",
            event.assessed_on,
        )
    if kind == "CommitmentWithdrawn":
        return "withdrawn", f"{who} withdrew the commitment: {event.reason}", None
    raise ValueError(f"no timeline sentence for {kind}")


def action_of(aggregate: Any, event: Any) -> Any:
    """The joint action an event is about: the aggregate itself, or (for actions a
    commitment recorded in its own stream) the commitment's record of it."""
    if isinstance(aggregate, JointAction):
        return aggregate.state
    return aggregate.actions[str(event.action_id)]


def summary_of(commitment: Commitment, created_position: int, updated_position: int) -> CommitmentSummary:
    """The commitment's row in the list. Its partners' names are not in it: searches
    and lead names read the memberships, which follow partners' renames."""
    searchable = " ".join([commitment.title, commitment.description, commitment.external_ref, commitment.action_plan])
    return CommitmentSummary(
        id=commitment.id,
        version=commitment.version,
        title=commitment.title,
        action_plan=commitment.action_plan,
        external_ref=commitment.external_ref,
        status=commitment.status.value,
        visibility=commitment.visibility.value,
        completion=commitment.completion.value if commitment.completion else None,
        assessed_completion=commitment.assessed_completion.value if commitment.assessed_completion else None,
        starts_on=commitment.starts_on,
        ends_on=commitment.ends_on,
        milestones_total=len(commitment.milestones),
        milestones_reached=sum(1 for m in commitment.milestones.values() if m.reached_on),
        lead_names="",  # made from the lead memberships as the row is written
        created_at=commitment.created_on,
        updated_at=commitment.modified_on,
        created_position=created_position,
        updated_position=updated_position,
        search_text=fold(searchable),
    )


def plan_row(plan: ActionPlan, event: Any, position: int) -> PlanRow:
    """The plan's row after ``event``, at ``position`` (the aggregate may be further on,
    within one transaction: the row is written again for its later events; the store
    keeps the position of the first)."""
    return PlanRow(
        id=plan.id,
        name=plan.name,
        names=plan.names,
        status=plan.status.value,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        version=plan.version,
        created_position=position,
    )


class Projector:
    """Writes the read models for events just placed in the log, in the transaction
    that placed them (and, in a rebuild, for the whole log in order)."""

    def __init__(self, store: ReadModelStore) -> None:
        self.store = store

    def project(self, tx: Any, placed: Sequence[tuple[int, Any]], aggregates: dict[UUID, Any]) -> None:
        """``placed``: (position, event) in log order; ``aggregates``: each event's
        aggregate after all of them (one command's events), and the commitment of any
        joint action among them."""
        rows = []
        spans: dict[UUID, list[int]] = {}
        for position, event in placed:
            rows.append(self.project_event(tx, position, event, aggregates))
            spans.setdefault(event.originator_id, [position, position])[1] = position
        self.write(tx, rows, spans, aggregates)

    def write(
        self,
        tx: Any,
        rows: Sequence[TimelineEntry | None],
        spans: dict[UUID, list[int]],
        aggregates: dict[UUID, Any],
    ) -> None:
        """The timeline entries ``project_event`` returned, in one statement, and the
        summary of each commitment whose events span ``spans[id]`` (first, last position)."""
        self.store.add_timeline_entries(tx, [row for row in rows if row is not None])
        for aggregate_id, (first, last) in spans.items():
            aggregate = aggregates[aggregate_id]
            if isinstance(aggregate, Commitment):
                self.store.put_summary(tx, summary_of(aggregate, first, last))

    def project_event(self, tx: Any, position: int, event: Any, aggregates: dict[UUID, Any]) -> TimelineEntry | None:
        """Rows for one event: the partner directory's, a membership's, a joint action's
        (written here), and the commitment's timeline entry (returned, for the caller to
        write many at once). ``aggregates``: the event's aggregate at (or after, within
        one transaction) this event, by id, with the commitment of a joint action."""
        aggregate = aggregates[event.originator_id]
        kind = event_type(event)
        if isinstance(aggregate, Partner):
            self.store.put_partner(
                tx,
                PartnerRow(
                    id=aggregate.id,
                    name=event.name,
                    kind=aggregate.kind.value,
                    external_ref=aggregate.external_ref,
                    registered_at=aggregate.created_on,
                    position=position,
                    search_text=fold(event.name),
                ),
            )
            if kind == "PartnerRenamed":
                self.store.rename_member(tx, aggregate.id, event.name)
            return None
        if isinstance(aggregate, ActionPlan):
            self.store.put_plan(tx, plan_row(aggregate, event, position))
            return None
        commitment = aggregate if isinstance(aggregate, Commitment) else aggregates[aggregate.commitment_id]
        names: dict[UUID, str] = {}
        if kind == "PartnerJoined":
            self.store.join(tx, commitment.id, event.partner_id, event.role.value, event.name)
        elif kind == "PartnerLeft":
            left = self.store.leave(tx, commitment.id, event.partner_id)
            if left is not None:
                names[event.partner_id] = left
        elif kind == "JointActionRecorded":
            names.update(self.store.partner_names(tx, event.partner_ids))
        self._project_action(tx, position, event, aggregate, commitment)
        kind_name, sentence, occurred_on = timeline_sentence(event, aggregate, names)
        return TimelineEntry(
            position=position,
            commitment_id=commitment.id,
            aggregate_id=aggregate.id,
            # The commitment's version this entry is of (for a joint action's event: the
            # commitment's version when it happened; the action has versions of its own).
            version=event.originator_version if aggregate is commitment else commitment.version,
            recorded_at=event.timestamp,
            occurred_on=occurred_on,
            kind=kind_name,
            actor_id=event.actor.id,
            actor_name=event.actor.name,
            summary=sentence,
        )

    def _project_action(self, tx: Any, position: int, event: Any, aggregate: Any, commitment: Commitment) -> None:
        """A joint action's rows, whether it is an aggregate or in its commitment's stream."""
        kind = event_type(event)
        if kind == "JointActionRecorded":
            action = action_of(aggregate, event)
            recorded = replace(action, responses={}, status=ActionStatus.RECORDED, withdrawal_reason=None)
            self.store.add_action(tx, position, event.timestamp, commitment.id, recorded)
        elif kind in ("JointActionConfirmed", "JointActionDisputed", "JointActionResponded"):
            action = action_of(aggregate, event)
            self.store.add_action_response(tx, action.id, position, action.responses[str(event.actor.id)])
        elif kind == "JointActionWithdrawn":
            self.store.withdraw_action(tx, action_of(aggregate, event).id, position, event.timestamp, event.reason)


__all__ = ["Projector", "event_type", "summary_of", "timeline_sentence"]
