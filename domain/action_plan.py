"""The ActionPlan aggregate: a country's two- or four-year set of commitments, with its
name, its period and where it stands (``consultation``, ``adopted``, ``ended``), and
every amendment made to it since, each with its reason and the date it was made.

Commitments belong to a plan by name (``Commitment.action_plan``): a plan answers to
its name and to every name it had before, so that renaming it keeps its commitments.
No two plans share a name; that rule spans plans and is the application's to check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, cast
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, NothingChanged, NotPermitted
from domain.values import (
    NAME_MAX,
    NOTE_MAX,
    Actor,
    ActorRole,
    PlanStatus,
    check_day,
    check_period,
    clean_text,
    clean_title,
)


class PlanChanges(TypedDict, total=False):
    """The fields an amendment changes (``ActionPlanAmended.changes``), with their types."""

    name: str
    starts_on: date
    ends_on: date
    status: PlanStatus


AMENDABLE = ("name", "starts_on", "ends_on", "status")


@dataclass(frozen=True)
class PlanAmendment:
    """One amendment: what it changed (each field's new value), why, the date it was
    made in the world, who recorded it and when."""

    changes: dict[str, Any]
    reason: str
    occurred_on: date
    actor_name: str
    recorded_at: datetime


def _admin(actor: Actor) -> None:
    if actor.role is not ActorRole.ADMIN:
        raise NotPermitted("only an admin records and amends action plans")


class ActionPlan(Aggregate):
    """An action plan: name, period, status and its amendments (see the module's notes)."""

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # An amendment keeps the instant it was recorded.
            if aggregate is not None:
                aggregate.recorded_now = self.timestamp
            return super().mutate(aggregate)

    @event("ActionPlanCreated")
    def __init__(
        self,
        id: UUID,
        name: str,
        starts_on: date,
        ends_on: date,
        status: PlanStatus,
        actor: Actor,
        request_id: str,
    ) -> None:
        self.name = name
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.status = status
        self.former_names: list[str] = []
        self.amendments: list[PlanAmendment] = []
        self.recorded_now: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        name: str,
        starts_on: date,
        ends_on: date,
        status: PlanStatus = PlanStatus.CONSULTATION,
        actor: Actor,
        request_id: str,
    ) -> ActionPlan:
        """An admin records a plan: at any status, as plans are often recorded after
        they began."""
        _admin(actor)
        check_day(starts_on, "starts_on")
        check_day(ends_on, "ends_on")
        check_period(starts_on, ends_on)
        return cls(
            id=id,
            name=clean_title(name, "name", NAME_MAX),
            starts_on=starts_on,
            ends_on=ends_on,
            status=status,
            actor=actor,
            request_id=request_id,
        )

    @property
    def names(self) -> list[str]:
        """Every name the plan answers to: its name now, then its former ones."""
        return [self.name, *self.former_names]

    def amend(
        self,
        *,
        changes: dict[str, Any],
        reason: str,
        occurred_on: date,
        today: date | None = None,
        actor: Actor,
        request_id: str,
    ) -> None:
        """An admin amends the plan's name, period or status, giving a reason and the
        date the change was made (not in the future). A status moves forward only:
        consultation, adopted, ended."""
        _admin(actor)
        unknown = set(changes) - set(AMENDABLE)
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "cannot be amended")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
        check_day(occurred_on, "occurred_on")
        if today is not None and occurred_on > today:
            raise InvalidValue("occurred_on", "must not be in the future")
        cleaned: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "name":
                value = clean_title(value, "name", NAME_MAX)
            elif name in ("starts_on", "ends_on"):
                value = check_day(value, name)
            elif name == "status":
                value = PlanStatus(value)
                if value.rank < self.status.rank:
                    raise InvalidValue("status", f"a plan does not go back from {self.status.value} to {value.value}")
            if getattr(self, name) != value:
                cleaned[name] = value
        if not cleaned:
            raise NothingChanged("the amendment changes nothing")
        check_period(cleaned.get("starts_on", self.starts_on), cleaned.get("ends_on", self.ends_on))
        self._amended(
            changes=cast(PlanChanges, cleaned),
            reason=reason,
            occurred_on=occurred_on,
            actor=actor,
            request_id=request_id,
        )

    @event("ActionPlanAmended")
    def _amended(self, changes: PlanChanges, reason: str, occurred_on: date, actor: Actor, request_id: str) -> None:
        if "name" in changes:
            self.former_names = [self.name, *self.former_names]
        for name, value in changes.items():
            setattr(self, name, value)
        self.amendments = [
            *self.amendments,
            PlanAmendment(dict(changes), reason, occurred_on, actor.name, self.recorded_now or self.modified_on),
        ]


__all__ = ["AMENDABLE", "ActionPlan", "PlanAmendment", "PlanChanges"]
