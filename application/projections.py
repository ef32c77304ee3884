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
    LogEntry,
    MemberRow,
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


def aggregate_type(event: Any) -> str:
    return "partner" if event_type(event).startswith("PartnerRe") else "commitment"


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
        what = _names([FIELD_NAMES.get(name, name) for name in event.changes])
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
    """Writes the read models for a sequence of events already placed in the log."""

    def __init__(self, store: ReadModelStore) -> None:
        self.store = store

    def project_event(self, tx: Any, entry: LogEntry, event: Any, aggregate: Any) -> TimelineEntry | None:
        """Rows for one event: the partner directory's row (written here), or the
        commitment's timeline entry (returned, for the caller to write many at once with
        ``add_timeline``). ``aggregate`` is the aggregate's state at (or after, within one
        transaction) this event."""
        if isinstance(aggregate, Partner):
            self.store.put_partner(
                tx,
                PartnerRow(
                    id=aggregate.id,
                    name=event.name,
                    kind=aggregate.kind.value,
                    external_ref=aggregate.external_ref,
                    registered_at=aggregate.created_on,
                    position=entry.position,
                    search_text=fold(event.name),
                ),
            )
            return None
        involved = [p for p in getattr(event, "partner_ids", [])]
        if event_type(event) == "PartnerLeft":
            involved.append(event.partner_id)
        names = self.store.partner_names(tx, involved) if involved else {}
        kind, sentence, occurred_on = timeline_sentence(event, aggregate, names)
        return TimelineEntry(
            position=entry.position,
            commitment_id=entry.aggregate_id,
            version=entry.version,
            recorded_at=entry.recorded_at,
            occurred_on=occurred_on,
            kind=kind,
            actor_id=event.actor.id,
            actor_name=event.actor.name,
            summary=sentence,
        )

    def add_timeline(self, tx: Any, entries: Sequence[TimelineEntry]) -> None:
        """Timeline entries in one statement."""
        self.store.add_timeline_entries(tx, entries)

    def project_state(
        self,
        tx: Any,
        commitment: Commitment,
        created_position: int,
        updated_position: int,
        memberships_changed: bool = True,
    ) -> None:
        """The summary of a commitment, and its memberships if they changed, from its state."""
        self.store.put_summary(tx, summary_of(commitment, created_position, updated_position))
        if not memberships_changed:
            return
        self.store.replace_memberships(
            tx,
            commitment.id,
            [MemberRow(commitment.id, m.partner_id, m.role.value) for m in commitment.partners.values()],
        )


MEMBERSHIP_EVENTS = frozenset({"CommitmentCreated", "PartnerJoined", "PartnerLeft"})

__all__ = ["MEMBERSHIP_EVENTS", "Projector", "aggregate_type", "event_type", "summary_of", "timeline_sentence"]
