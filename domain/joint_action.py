"""The JointAction aggregate: something partners of a commitment did together, put on
the record by one of them (an agency or a community partner), naming the others, who
each confirm or dispute it, once. Its recorder may withdraw it, with a reason.

A joint action is an aggregate of its own, so that a commitment stays small however
many actions its partners record, and two partners answering two actions never
conflict with each other or with a change of the commitment. The rules that depend on
the commitment (its partners now, whether it was withdrawn) are the commitment's to
check; the action is given it when it changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.commitment import Commitment
from domain.errors import (
    ActionWithdrawn,
    AlreadyResponded,
    NotNamedInAction,
    NotPartner,
    NotPermitted,
    UnknownJointAction,
)
from domain.values import (
    NOTE_MAX,
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    Response,
    check_day,
    clean_optional,
    clean_text,
    clean_title,
    clean_url,
)


class JointAction(Aggregate):
    """A joint action of a commitment: the claim, the named partners' responses, and
    whether its recorder withdrew it."""

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # The state change may need the recorded time (``responded_at``).
            if aggregate is not None:
                aggregate.recorded_now = self.timestamp
            return super().mutate(aggregate)

    @event("JointActionRecorded")
    def __init__(
        self,
        id: UUID,
        commitment_id: UUID,
        summary: str,
        occurred_on: date,
        partner_ids: list[UUID],
        evidence_url: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        self.commitment_id = commitment_id
        self.summary = summary
        self.occurred_on = occurred_on
        self.recorded_by = actor.id
        self.partner_ids = list(partner_ids)
        self.evidence_url = evidence_url
        self.responses: dict[str, ActionResponse] = {}
        self.status = ActionStatus.RECORDED
        self.withdrawal_reason: str | None = None
        self.recorded_now: datetime | None = None

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        commitment: Commitment,
        summary: str,
        occurred_on: date,
        partner_ids: list[UUID],
        evidence_url: str | None,
        actor: Actor,
        request_id: str,
    ) -> JointAction:
        """A partner of the commitment records what it did with other current partners."""
        others = commitment.check_action_partners(actor, partner_ids)
        return cls(
            id=id,
            commitment_id=commitment.id,
            summary=clean_title(summary, "summary", NOTE_MAX),
            occurred_on=check_day(occurred_on, "occurred_on"),
            partner_ids=others,
            evidence_url=clean_url(evidence_url),
            actor=actor,
            request_id=request_id,
        )

    def check_commitment(self, commitment: Commitment) -> None:
        """The commitment given is the action's own."""
        if commitment.id != self.commitment_id:
            raise UnknownJointAction("no such joint action in this commitment")

    def check_recorded(self) -> None:
        if self.status is ActionStatus.WITHDRAWN:
            raise ActionWithdrawn("this joint action was withdrawn by its recorder")

    def respond(
        self, *, commitment: Commitment, response: Response, note: str | None, actor: Actor, request_id: str
    ) -> None:
        """A partner the action names, and still a partner of the commitment, confirms
        or disputes it, once."""
        self.check_commitment(commitment)
        if actor.id not in self.partner_ids:
            raise NotNamedInAction("only partners named in the joint action may respond to it")
        commitment.check_may_respond(actor)
        self.check_recorded()
        if str(actor.id) in self.responses:
            raise AlreadyResponded("this partner has already responded to the joint action")
        self._responded(
            response=response, note=clean_optional(note, "note", NOTE_MAX), actor=actor, request_id=request_id
        )

    @event("JointActionResponded")
    def _responded(self, response: Response, note: str | None, actor: Actor, request_id: str) -> None:
        responded_at = self.recorded_now or self.modified_on
        self.responses = {**self.responses, str(actor.id): ActionResponse(actor.id, response, note, responded_at)}

    def withdraw(self, *, commitment: Commitment, reason: str, actor: Actor, request_id: str) -> None:
        """The partner that recorded the action, while still a partner of the
        commitment, withdraws it, giving a reason."""
        self.check_commitment(commitment)
        commitment.check_active()
        if actor.id != self.recorded_by:
            raise NotPermitted("only the partner that recorded the joint action withdraws it")
        if not commitment.is_partner(actor.id):
            raise NotPartner("this partner has left the commitment and no longer withdraws its joint actions")
        self.check_recorded()
        self._withdrawn(
            reason=clean_text(reason, "reason", NOTE_MAX, required=True), actor=actor, request_id=request_id
        )

    @event("JointActionWithdrawn")
    def _withdrawn(self, reason: str, actor: Actor, request_id: str) -> None:
        self.status = ActionStatus.WITHDRAWN
        self.withdrawal_reason = reason

    @property
    def state(self) -> ActionState:
        """What the action is now, as the commitment document shows it."""
        return ActionState(
            self.id,
            self.summary,
            self.occurred_on,
            self.recorded_by,
            list(self.partner_ids),
            self.evidence_url,
            dict(self.responses),
            self.status,
            self.withdrawal_reason,
        )


__all__ = ["JointAction"]
