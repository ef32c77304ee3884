"""The read models' rows and storage interface, which the application owns.
Infrastructure implements it; the composition root plugs it in. ``tx`` is the store's
open transaction (the same one the events are written in), opaque to the application.
The log's own interface is ``application.log.LogStore``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from domain.values import ActionResponse, ActionState

T = TypeVar("T")


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of a commitment's shared timeline: an event of the commitment, or of
    one of its joint actions (``aggregate_id``); ``version`` is the commitment's then."""

    position: int
    commitment_id: UUID
    aggregate_id: UUID
    version: int
    recorded_at: datetime
    occurred_on: date | None
    kind: str
    actor_id: UUID
    actor_name: str
    summary: str


@dataclass(frozen=True)
class PartnerRow:
    id: UUID
    name: str
    kind: str
    external_ref: str | None
    registered_at: datetime
    position: int
    search_text: str


@dataclass(frozen=True)
class CommitmentSummary:
    id: UUID
    version: int
    title: str
    action_plan: str
    external_ref: str
    status: str
    visibility: str
    completion: str | None
    assessed_completion: str | None
    starts_on: date
    ends_on: date
    milestones_total: int
    milestones_reached: int
    lead_names: str
    created_at: datetime
    updated_at: datetime
    created_position: int
    updated_position: int
    search_text: str


@dataclass(frozen=True)
class PlanRow:
    """An action plan as the read models hold it: ``names`` is every name it answers
    to, its name now first."""

    id: UUID
    name: str
    names: list[str]
    status: str
    starts_on: date
    ends_on: date
    version: int
    created_position: int


@dataclass(frozen=True)
class ActionRecord:
    """A joint action as the read models hold it, as it is or was at some instant."""

    state: ActionState
    commitment_id: UUID
    recorded_at: datetime
    position: int
    version: int  # its events: recorded, each response, a withdrawal


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a cursor list: ``next`` is the cursor of the following page, or None."""

    items: list[T]
    next: str | None


@dataclass(frozen=True)
class Viewer:
    """Who is reading: used to filter what a list shows (None id: the public)."""

    partner_id: UUID | None
    sees_everything: bool


class ReadModelStore(Protocol):
    """Read models, written in the events' own transaction and rebuilt from the log."""

    outdated: bool  # made anew over tables of an older schema: to be rebuilt from the log

    # -- writing, inside the unit of work --
    def put_partner(self, tx: Any, row: PartnerRow) -> None: ...
    def add_timeline_entries(self, tx: Any, entries: Sequence[TimelineEntry]) -> None: ...
    def put_summary(self, tx: Any, summary: CommitmentSummary) -> None: ...
    def partner_names(self, tx: Any, ids: Sequence[UUID]) -> dict[UUID, str]: ...
    def join(self, tx: Any, commitment_id: UUID, partner_id: UUID, role: str, name: str) -> None: ...
    def leave(self, tx: Any, commitment_id: UUID, partner_id: UUID) -> str | None: ...
    def rename_member(self, tx: Any, partner_id: UUID, name: str) -> None: ...
    def add_action(
        self, tx: Any, position: int, recorded_at: datetime, commitment_id: UUID, state: ActionState
    ) -> None: ...
    def add_action_response(self, tx: Any, action_id: UUID, position: int, response: ActionResponse) -> None: ...
    def withdraw_action(self, tx: Any, action_id: UUID, position: int, recorded_at: datetime, reason: str) -> None: ...
    def put_plan(self, tx: Any, row: PlanRow) -> None: ...
    def clear_read_models(self, tx: Any) -> None: ...
    def mark_current(self, tx: Any) -> None: ...

    # -- reading --
    def version_before(self, aggregate_id: UUID, recorded_after: datetime) -> int | None: ...
    def list_commitments(
        self,
        viewer: Viewer,
        *,
        q: str | None,
        action_plan: str | None,
        partner_id: UUID | None,
        status: str | None,
        limit: int,
        after: str | None,
    ) -> Page[CommitmentSummary]: ...
    def commitments_by_ref(self, refs: Sequence[str]) -> dict[str, list[UUID]]:
        """The ids of the commitments with each of these external refs (any visibility),
        oldest first; a ref no commitment has is left out."""
        ...

    def commitment_timeline(self, commitment_id: UUID, limit: int, after: str | None) -> Page[TimelineEntry]: ...
    def partner_timeline(
        self, partner_id: UUID, viewer: Viewer, limit: int, after: str | None
    ) -> Page[TimelineEntry]: ...
    def partner_row(self, partner_id: UUID) -> PartnerRow | None: ...
    def member_names(self, commitment_id: UUID) -> dict[str, str]: ...
    def actions_of(self, commitment_id: UUID, at: datetime | None = None) -> list[ActionRecord]: ...
    def action_record(self, action_id: UUID, at: datetime | None = None) -> ActionRecord | None: ...
    def list_partners(self, *, q: str | None, kind: str | None, limit: int, after: str | None) -> Page[PartnerRow]: ...
    def plan_rows(self) -> list[PlanRow]: ...
    def plan_row(self, plan_id: UUID) -> PlanRow | None: ...
    def plan_named(self, name: str) -> UUID | None: ...
    def dump_read_models(self) -> dict[str, list[tuple[Any, ...]]]: ...
