"""The application's ``ReadModelStore`` on SQLAlchemy Core, sharing the event
store's engine and its transactions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, Uuid, and_, bindparam, delete, exists, func, literal, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from application.errors import BadQuery
from application.ports import (
    CommitmentSummary,
    LogEntry,
    MemberRow,
    Page,
    PartnerRow,
    TimelineEntry,
    Viewer,
)
from domain.values import fold
from infrastructure.store import engine_of
from infrastructure.tables import (
    READ_MODEL_TABLES,
    commitment_summaries,
    log_entries,
    memberships,
    merkle_nodes,
    metadata,
    partner_timeline,
    partners,
    timeline_entries,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(value: datetime) -> int:
    delta = value.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def parse_cursor(after: str | None) -> int | None:
    """Cursors are log positions, as decimal strings (ASCII digits only: ``str.isdigit``
    also takes digits such as "²" that ``int`` refuses)."""
    if after is None or after == "":
        return None
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise BadQuery("after: not a cursor this list gave out")
    return int(after)


def _like_terms(q: str | None) -> list[str]:
    if not q:
        return []
    terms = []
    for word in fold(q).split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        terms.append(f"%{escaped}%")
    return terms


class SqlReadModels:
    """Read models and the log index in the event store's own database."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.engine = engine_of(recorder)
        self.dialect = self.engine.dialect.name
        self._upserts: dict[str, Any] = {}
        with self.recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), checkfirst=True)
            self._fill_partner_timeline(session)

    def _fill_partner_timeline(self, tx: Any) -> None:
        """Fills ``rm_partner_timeline`` from the timeline and memberships of a store
        written before it existed (once: when it is empty and the timeline is not)."""
        if tx.execute(select(partner_timeline.c.position).limit(1)).first() is not None:
            return
        if tx.execute(select(timeline_entries.c.position).limit(1)).first() is None:
            return
        t, m = timeline_entries.c, memberships.c
        rows = select(m.partner_id, t.position, t.commitment_id).join_from(
            timeline_entries, memberships, m.commitment_id == t.commitment_id
        )
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        tx.execute(
            insert(partner_timeline)
            .from_select(["partner_id", "position", "commitment_id"], rows)
            .on_conflict_do_nothing()  # another process filling it at the same start
        )

    def _read(self) -> Any:
        return self.recorder.transaction(commit=False)

    def _upsert(self, tx: Any, table: Any, row: dict[str, Any], keys: list[str], keep: Sequence[str] = ()) -> None:
        """Insert or update one row. ``INSERT ... ON CONFLICT DO UPDATE`` is the same
        SQL in SQLite and PostgreSQL; it is written once per table as a textual
        statement with typed parameters, which SQLAlchemy caches (its dialect upsert
        constructs were compiled again on every call, about 1 ms each)."""
        statement = self._upserts.get(table.name)
        if statement is None:
            names = list(row)
            updates = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n not in keys and n not in keep)
            columns = ", ".join(f'"{n}"' for n in names)
            values = ", ".join(f":{n}" for n in names)
            conflict = ", ".join(f'"{k}"' for k in keys)
            sql = (
                f'INSERT INTO "{table.name}" ({columns}) VALUES ({values}) '
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
            )
            statement = text(sql).bindparams(*(bindparam(n, type_=table.c[n].type) for n in names))
            self._upserts[table.name] = statement
        tx.execute(statement, row)

    # -- writing -------------------------------------------------------------

    def next_position(self, tx: Any) -> int:
        value = tx.execute(select(func.max(log_entries.c.position))).scalar()
        return 0 if value is None else int(value) + 1

    def add_log_entries(self, tx: Any, entries: Sequence[LogEntry]) -> None:
        if entries:
            tx.execute(
                log_entries.insert(),
                [
                    {
                        "position": e.position,
                        "notification_id": e.notification_id,
                        "aggregate_id": e.aggregate_id,
                        "aggregate_type": e.aggregate_type,
                        "version": e.version,
                        "type": e.type,
                        "recorded_us": to_us(e.recorded_at),
                        "leaf_hash": e.leaf_hash,
                    }
                    for e in entries
                ],
            )

    def node(self, level: int, index: int) -> bytes:
        query = select(merkle_nodes.c.hash).where(merkle_nodes.c.level == level, merkle_nodes.c.index == index)
        with self._read() as session:
            value = session.execute(query).scalar()
        if value is None:
            raise LookupError(f"no Merkle node at level {level}, index {index}")
        return bytes(value)

    def nodes(self, wanted: Sequence[tuple[int, int]], tx: Any = None) -> dict[tuple[int, int], bytes]:
        """Many nodes in one query (a proof needs O(log n) of them), in the given
        transaction or a read of their own."""
        if not wanted:
            return {}
        # One OR term per node: both SQLite and PostgreSQL answer each from the primary
        # key (a row-value IN list makes SQLite scan the table).
        n = merkle_nodes.c
        query = select(n.level, n.index, n.hash).where(or_(*(and_(n.level == lv, n.index == ix) for lv, ix in wanted)))
        if tx is not None:
            return {(row.level, row.index): bytes(row.hash) for row in tx.execute(query)}
        with self._read() as session:
            return {(row.level, row.index): bytes(row.hash) for row in session.execute(query)}

    def add_nodes(self, tx: Any, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        if nodes:
            tx.execute(
                merkle_nodes.insert(),
                [{"level": level, "index": index, "hash": digest} for level, index, digest in nodes],
            )

    def put_partner(self, tx: Any, row: PartnerRow) -> None:
        values = {
            "id": row.id,
            "name": row.name,
            "kind": row.kind,
            "external_ref": row.external_ref,
            "registered_us": to_us(row.registered_at),
            "position": row.position,
            "search_text": row.search_text,
        }
        self._upsert(tx, partners, values, ["id"], keep=("position", "registered_us"))

    def partner_names(self, tx: Any, ids: Sequence[UUID]) -> dict[UUID, str]:
        rows = tx.execute(select(partners.c.id, partners.c.name).where(partners.c.id.in_(list(ids))))
        return {row.id: row.name for row in rows}

    def add_timeline_entries(self, tx: Any, entries: Sequence[TimelineEntry]) -> None:
        if entries:
            tx.execute(
                timeline_entries.insert(),
                [
                    {
                        "position": e.position,
                        "commitment_id": e.commitment_id,
                        "version": e.version,
                        "recorded_us": to_us(e.recorded_at),
                        "occurred_on": e.occurred_on,
                        "kind": e.kind,
                        "actor_id": e.actor_id,
                        "actor_name": e.actor_name,
                        "summary": e.summary,
                    }
                    for e in entries
                ],
            )
            t, m = timeline_entries.c, memberships.c
            first, last = min(e.position for e in entries), max(e.position for e in entries)
            fanned = (
                select(m.partner_id, t.position, t.commitment_id)
                .join_from(timeline_entries, memberships, m.commitment_id == t.commitment_id)
                .where(t.position.between(first, last))
            )
            tx.execute(partner_timeline.insert().from_select(["partner_id", "position", "commitment_id"], fanned))

    def put_summary(self, tx: Any, summary: CommitmentSummary) -> None:
        values = {
            "id": summary.id,
            "version": summary.version,
            "title": summary.title,
            "action_plan": summary.action_plan,
            "external_ref": summary.external_ref,
            "status": summary.status,
            "visibility": summary.visibility,
            "completion": summary.completion,
            "starts_on": summary.starts_on,
            "ends_on": summary.ends_on,
            "milestones_total": summary.milestones_total,
            "milestones_reached": summary.milestones_reached,
            "lead_names": summary.lead_names,
            "created_us": to_us(summary.created_at),
            "updated_us": to_us(summary.updated_at),
            "created_position": summary.created_position,
            "updated_position": summary.updated_position,
            "search_text": summary.search_text,
        }
        self._upsert(tx, commitment_summaries, values, ["id"], keep=("created_position",))

    def replace_memberships(self, tx: Any, commitment_id: UUID, members: Sequence[MemberRow]) -> None:
        """The commitment's partners now; a partner who left loses the commitment's
        entries from its timeline, one who joined gains all of them."""
        before = {
            row[0]
            for row in tx.execute(select(memberships.c.partner_id).where(memberships.c.commitment_id == commitment_id))
        }
        after = {m.partner_id for m in members}
        tx.execute(delete(memberships).where(memberships.c.commitment_id == commitment_id))
        if members:
            tx.execute(
                memberships.insert(),
                [{"commitment_id": m.commitment_id, "partner_id": m.partner_id, "role": m.role} for m in members],
            )
        pt, t = partner_timeline.c, timeline_entries.c
        for gone in before - after:
            tx.execute(delete(partner_timeline).where(pt.commitment_id == commitment_id, pt.partner_id == gone))
        for joined in after - before:
            entries = select(literal(joined, Uuid), t.position, t.commitment_id).where(t.commitment_id == commitment_id)
            tx.execute(partner_timeline.insert().from_select(["partner_id", "position", "commitment_id"], entries))

    def clear_read_models(self, tx: Any) -> None:
        for table in READ_MODEL_TABLES:
            tx.execute(delete(table))

    # -- reading -------------------------------------------------------------

    @staticmethod
    def _log_entry(row: Row[Any]) -> LogEntry:
        return LogEntry(
            position=row.position,
            notification_id=row.notification_id,
            aggregate_id=row.aggregate_id,
            aggregate_type=row.aggregate_type,
            version=row.version,
            type=row.type,
            recorded_at=from_us(row.recorded_us),
            leaf_hash=row.leaf_hash,
        )

    def log_entries(self, after: int | None, limit: int) -> list[LogEntry]:
        query = select(log_entries).order_by(log_entries.c.position).limit(limit)
        if after is not None:
            query = query.where(log_entries.c.position > after)
        with self._read() as session:
            return [self._log_entry(row) for row in session.execute(query)]

    def iter_log(self, batch: int = 1000) -> Iterator[LogEntry]:
        after: int | None = None
        while True:
            entries = self.log_entries(after, batch)
            yield from entries
            if len(entries) < batch:
                return
            after = entries[-1].position

    def log_size(self) -> int:
        with self._read() as session:
            value = session.execute(select(func.max(log_entries.c.position))).scalar()
        return 0 if value is None else int(value) + 1

    def aggregate_log(self, aggregate_id: UUID) -> list[LogEntry]:
        query = select(log_entries).where(log_entries.c.aggregate_id == aggregate_id).order_by(log_entries.c.version)
        with self._read() as session:
            return [self._log_entry(row) for row in session.execute(query)]

    def version_before(self, aggregate_id: UUID, recorded_after: datetime) -> int | None:
        at = to_us(recorded_after)
        mine = log_entries.c.aggregate_id == aggregate_id
        with self._read() as session:
            first_later = session.execute(
                select(func.min(log_entries.c.version)).where(mine, log_entries.c.recorded_us > at)
            ).scalar()
            if first_later is None:
                first_later = (session.execute(select(func.max(log_entries.c.version)).where(mine)).scalar() or 0) + 1
        version = int(first_later) - 1
        return version if version >= 1 else None

    def _visible_to(self, viewer: Viewer, commitment_id: Any, visibility: Any) -> Any:
        if viewer.sees_everything:
            return True
        if viewer.partner_id is None:
            return visibility == "public"
        # An alias, so that a query already joining memberships (a partner's timeline)
        # does not correlate this subquery with its own join.
        viewer_membership = memberships.alias("viewer_membership")
        member = exists().where(
            viewer_membership.c.commitment_id == commitment_id, viewer_membership.c.partner_id == viewer.partner_id
        )
        return or_(visibility == "public", member)

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
    ) -> Page[CommitmentSummary]:
        c = commitment_summaries.c
        conditions: list[Any] = []
        visible = self._visible_to(viewer, c.id, c.visibility)
        if visible is not True:
            conditions.append(visible)
        for term in _like_terms(q):
            conditions.append(c.search_text.like(term, escape="\\"))
        if action_plan:
            conditions.append(c.action_plan == action_plan)
        if status:
            conditions.append(c.status == status)
        if partner_id is not None:
            conditions.append(
                exists().where(memberships.c.commitment_id == c.id, memberships.c.partner_id == partner_id)
            )
        cursor = parse_cursor(after)
        if cursor is not None:
            conditions.append(c.created_position > cursor)
        query = select(commitment_summaries).where(and_(True, *conditions)).order_by(c.created_position)
        rows = self._page(query, limit)
        items = [self._summary(row) for row in rows[:limit]]
        return Page(items, str(items[-1].created_position) if len(rows) > limit else None)

    def _page(self, query: Select[Any], limit: int) -> list[Row[Any]]:
        with self._read() as session:
            return list(session.execute(query.limit(limit + 1)))

    @staticmethod
    def _summary(row: Row[Any]) -> CommitmentSummary:
        return CommitmentSummary(
            id=row.id,
            version=row.version,
            title=row.title,
            action_plan=row.action_plan,
            external_ref=row.external_ref,
            status=row.status,
            visibility=row.visibility,
            completion=row.completion,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            milestones_total=row.milestones_total,
            milestones_reached=row.milestones_reached,
            lead_names=row.lead_names,
            created_at=from_us(row.created_us),
            updated_at=from_us(row.updated_us),
            created_position=row.created_position,
            updated_position=row.updated_position,
            search_text=row.search_text,
        )

    @staticmethod
    def _entry(row: Row[Any]) -> TimelineEntry:
        return TimelineEntry(
            position=row.position,
            commitment_id=row.commitment_id,
            version=row.version,
            recorded_at=from_us(row.recorded_us),
            occurred_on=row.occurred_on,
            kind=row.kind,
            actor_id=row.actor_id,
            actor_name=row.actor_name,
            summary=row.summary,
        )

    def _timeline_page(
        self, query: Select[Any], limit: int, after: str | None, position: Any = timeline_entries.c.position
    ) -> Page[TimelineEntry]:
        """Newest first, by ``position`` (the column of the index the page is read from)."""
        cursor = parse_cursor(after)
        if cursor is not None:
            query = query.where(position < cursor)
        rows = self._page(query.order_by(position.desc()), limit)
        items = [self._entry(row) for row in rows[:limit]]
        return Page(items, str(items[-1].position) if len(rows) > limit else None)

    def commitment_timeline(self, commitment_id: UUID, limit: int, after: str | None) -> Page[TimelineEntry]:
        query = select(timeline_entries).where(timeline_entries.c.commitment_id == commitment_id)
        return self._timeline_page(query, limit, after)

    def partner_timeline(self, partner_id: UUID, viewer: Viewer, limit: int, after: str | None) -> Page[TimelineEntry]:
        t, pt, c = timeline_entries.c, partner_timeline.c, commitment_summaries.c
        query = (
            select(timeline_entries)
            .select_from(partner_timeline)
            .join(timeline_entries, t.position == pt.position)
            .join(commitment_summaries, c.id == pt.commitment_id)
            .where(pt.partner_id == partner_id)
        )
        visible = self._visible_to(viewer, c.id, c.visibility)
        if visible is not True:
            query = query.where(visible)
        return self._timeline_page(query, limit, after, pt.position)

    def partner_row(self, partner_id: UUID) -> PartnerRow | None:
        with self._read() as session:
            row = session.execute(select(partners).where(partners.c.id == partner_id)).first()
        return self._partner(row) if row else None

    @staticmethod
    def _partner(row: Row[Any]) -> PartnerRow:
        return PartnerRow(
            id=row.id,
            name=row.name,
            kind=row.kind,
            external_ref=row.external_ref,
            registered_at=from_us(row.registered_us),
            position=row.position,
            search_text=row.search_text,
        )

    def list_partners(self, *, q: str | None, kind: str | None, limit: int, after: str | None) -> Page[PartnerRow]:
        p = partners.c
        conditions: list[Any] = [p.search_text.like(term, escape="\\") for term in _like_terms(q)]
        if kind:
            conditions.append(p.kind == kind)
        cursor = parse_cursor(after)
        if cursor is not None:
            conditions.append(p.position > cursor)
        rows = self._page(select(partners).where(and_(True, *conditions)).order_by(p.position), limit)
        items = [self._partner(row) for row in rows[:limit]]
        return Page(items, str(items[-1].position) if len(rows) > limit else None)

    def dump_read_models(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model row, in primary-key order (to compare live with rebuilt)."""
        dump: dict[str, list[tuple[Any, ...]]] = {}
        with self._read() as session:
            for table in READ_MODEL_TABLES:
                query = select(table).order_by(*table.primary_key.columns)
                dump[table.name] = [tuple(row) for row in session.execute(query)]
        return dump
