"""Read-model projection: events to timeline entries, summaries, memberships and the
partner directory. The same code runs live (inside the write transaction) and in a
rebuild from the log, so both produce identical rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from application.ports import (
    CommitmentSummary,
    PartnerRow,
    ReadModelStore,
    TimelineEntry,
)
from domain.commitment import Commitment
from domain.partner import Partner
from domain.values import Actor, PartnerRole, fold

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
    """The event's name in product.md (its class name)."""
    return type(event).__name__


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def timeline_sentence(event: Any, commitment: Commitment, names: dict[UUID, str]) -> tuple[str, str, date | None]:
    """(kind, one human sentence naming the actor, the world date or None)."""
    actor: Actor = event.actor
    who = actor.name
    kind = event_type(event)
    if kind == "CommitmentCreated":
        return "created", f"{who} created the commitment “{event.title}”.", None
    if kind == "CommitmentAmended":
        # In a fixed order: the event's own order is not kept by its document (keys sorted).
        what = _names([FIELD_NAMES[name] for name in FIELD_NAMES if name in event.changes])
        return "amended", f"{who} amended {what}: {event.reason}", None
    if kind == "PartnerJoined":
        role = ROLE_NAMES[event.role]
        if event.partner_id == actor.id:
            return "partner_joined", f"{event.name} joined as {role}.", None
        return "partner_joined", f"{who} added {event.name} as {role}.", None
    if kind == "PartnerLeft":
        name = names.get(event.partner_id, "a former partner")
        if event.partner_id == actor.id:
            return "partner_left", f"{name} left the commitment: {event.reason}", None
        return "partner_left", f"{who} removed {name}: {event.reason}", None
    if kind == "MilestoneAdded":
        return (
            "milestone_added",
            f"{who} added the milestone “{event.title}”, due {long_date(event.due_on)}.",
            None,
        )
    if kind == "MilestoneReached":
        title = commitment.milestones[str(event.milestone_id)].title
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
    if kind in ("JointActionConfirmed", "JointActionDisputed"):
        summary = commitment.actions[str(event.action_id)].summary
        verb = "confirmed" if kind == "JointActionConfirmed" else "disputed"
        note = f" Note: {event.note}" if event.note else ""
        return f"joint_action_{verb}", f"{who} {verb} the joint action “{summary}”.{note}", None
    if kind == "ProgressReported":
        completion = event.completion.value.replace("_", " ")
        note = f": {event.note}" if event.note else "."
        return "progress_reported", f"{who} reported completion as {completion}{note}", None
    if kind == "CommitmentWithdrawn":
        return "withdrawn", f"{who} withdrew the commitment: {event.reason}", None
    raise ValueError(f"no timeline sentence for {kind}")


def summary_of(commitment: Commitment, created_position: int, updated_position: int) -> CommitmentSummary:
    leads = [m.name for m in commitment.partners.values() if m.role is PartnerRole.LEAD]
    partner_names = " ".join(m.name for m in commitment.partners.values())
    searchable = " ".join(
        [commitment.title, commitment.description, commitment.external_ref, commitment.action_plan, partner_names]
    )
    return CommitmentSummary(
        id=commitment.id,
        version=commitment.version,
        title=commitment.title,
        action_plan=commitment.action_plan,
        external_ref=commitment.external_ref,
        status=commitment.status.value,
        visibility=commitment.visibility.value,
        completion=commitment.completion.value if commitment.completion else None,
        starts_on=commitment.starts_on,
        ends_on=commitment.ends_on,
        milestones_total=len(commitment.milestones),
        milestones_reached=sum(1 for m in commitment.milestones.values() if m.reached_on),
        lead_names="; ".join(leads),
        created_at=commitment.created_on,
        updated_at=commitment.modified_on,
        created_position=created_position,
        updated_position=updated_position,
        search_text=fold(searchable),
    )


class Projector:
    """Writes the read models for events just placed in the log, in the transaction
    that placed them (and, in a rebuild, for the whole log in order)."""

    def __init__(self, store: ReadModelStore) -> None:
        self.store = store

    def project(self, tx: Any, placed: Sequence[tuple[int, Any]], aggregates: dict[UUID, Any]) -> None:
        """``placed``: (position, event) in log order; ``aggregates``: each event's
        aggregate after all of them (one command's events)."""
        rows = []
        spans: dict[UUID, list[int]] = {}
        for position, event in placed:
            rows.append(self.project_event(tx, position, event, aggregates[event.originator_id]))
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

    def project_event(self, tx: Any, position: int, event: Any, aggregate: Any) -> TimelineEntry | None:
        """Rows for one event: the partner directory's row or a membership change
        (written here), and the commitment's timeline entry (returned, for the caller to
        write many at once). ``aggregate`` is the aggregate's state at (or after, within
        one transaction) this event."""
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
            return None
        kind = event_type(event)
        names = {m.partner_id: m.name for m in aggregate.partners.values()}
        if kind == "PartnerJoined":
            self.store.join(tx, aggregate.id, event.partner_id, event.role.value)
        elif kind == "PartnerLeft":
            self.store.leave(tx, aggregate.id, event.partner_id)
        for partner_id in [*getattr(event, "partner_ids", []), getattr(event, "partner_id", None)]:
            if partner_id is not None and partner_id not in names:
                name = self.store.partner_name(tx, partner_id)
                if name is not None:
                    names[partner_id] = name
        kind_name, sentence, occurred_on = timeline_sentence(event, aggregate, names)
        return TimelineEntry(
            position=position,
            commitment_id=aggregate.id,
            version=event.originator_version,
            recorded_at=event.timestamp,
            occurred_on=occurred_on,
            kind=kind_name,
            actor_id=event.actor.id,
            actor_name=event.actor.name,
            summary=sentence,
        )


__all__ = ["Projector", "event_type", "summary_of", "timeline_sentence"]
