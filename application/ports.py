"""The storage interfaces the application owns. Infrastructure implements them;
the composition root plugs them in. ``tx`` is the store's open transaction (the
same one the events are written in), opaque to the application."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

T = TypeVar("T")


@dataclass(frozen=True)
class LogEntry:
    """One event's place in the global log (positions are dense, from 0)."""

    position: int
    notification_id: int
    aggregate_id: UUID
    aggregate_type: str
    version: int
    type: str
    recorded_at: datetime
    leaf_hash: str = ""  # hex SHA-256 leaf of the event's document (RFC 9162)


@dataclass(frozen=True)
class TimelineEntry:
    position: int
    commitment_id: UUID
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
class MemberRow:
    commitment_id: UUID
    partner_id: UUID
    role: str


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
    """Read models and the log index, written in the events' own transaction."""

    # -- writing, inside the unit of work --
    def next_position(self, tx: Any) -> int: ...
    def node(self, level: int, index: int) -> bytes: ...
    def nodes(self, wanted: Sequence[tuple[int, int]], tx: Any = None) -> dict[tuple[int, int], bytes]: ...
    def add_nodes(self, tx: Any, nodes: Sequence[tuple[int, int, bytes]]) -> None: ...
    def add_log_entries(self, tx: Any, entries: Sequence[LogEntry]) -> None: ...
    def put_partner(self, tx: Any, row: PartnerRow) -> None: ...
    def partner_names(self, tx: Any, ids: Sequence[UUID]) -> dict[UUID, str]: ...
    def add_timeline_entries(self, tx: Any, entries: Sequence[TimelineEntry]) -> None: ...
    def put_summary(self, tx: Any, summary: CommitmentSummary) -> None: ...
    def replace_memberships(self, tx: Any, commitment_id: UUID, members: Sequence[MemberRow]) -> None: ...
    def clear_read_models(self, tx: Any) -> None: ...

    # -- reading --
    def log_entries(self, after: int | None, limit: int) -> list[LogEntry]: ...
    def log_size(self) -> int: ...
    def aggregate_log(self, aggregate_id: UUID) -> list[LogEntry]: ...
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
    def commitment_timeline(self, commitment_id: UUID, limit: int, after: str | None) -> Page[TimelineEntry]: ...
    def partner_timeline(
        self, partner_id: UUID, viewer: Viewer, limit: int, after: str | None
    ) -> Page[TimelineEntry]: ...
    def partner_row(self, partner_id: UUID) -> PartnerRow | None: ...
    def list_partners(self, *, q: str | None, kind: str | None, limit: int, after: str | None) -> Page[PartnerRow]: ...
    def dump_read_models(self) -> dict[str, list[tuple[Any, ...]]]: ...
    def iter_log(self, batch: int = 1000) -> Iterator[LogEntry]: ...
