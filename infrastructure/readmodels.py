"""The application's ``ReadModelStore`` on SQLAlchemy, in the event store's own
database and transactions. Rows written in a command's transaction go at the driver
level (one prepared statement each); a partner's copy of each timeline entry
(``rm_partner_timeline``) is kept by triggers in the database as timeline entries and
memberships come and go, so that no command pays a statement for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.engine import Row

from application.errors import BadQuery
from application.ports import (
    CommitmentSummary,
    Page,
    PartnerRow,
    TimelineEntry,
    Viewer,
)
from domain.values import fold
from infrastructure.driver import DriverSql
from infrastructure.store import engine_of
from infrastructure.tables import (
    READ_MODEL_TABLES,
    commitment_summaries,
    memberships,
    metadata,
    partner_timeline,
    partners,
    timeline_entries,
)

# The partner timeline's triggers: a timeline entry goes to every partner of its
# commitment; a partner who joins gains every entry of the commitment, one who leaves
# loses them (the partner timeline shows each partner's commitments as they are now).
FAN_OUT = {
    "timeline_entry": (
        "AFTER INSERT ON rm_timeline",
        "INSERT INTO rm_partner_timeline (partner_id, position, commitment_id) "
        "SELECT partner_id, NEW.position, NEW.commitment_id FROM rm_memberships "
        "WHERE commitment_id = NEW.commitment_id",
    ),
    "partner_joined": (
        "AFTER INSERT ON rm_memberships",
        "INSERT INTO rm_partner_timeline (partner_id, position, commitment_id) "
        "SELECT NEW.partner_id, position, commitment_id FROM rm_timeline WHERE commitment_id = NEW.commitment_id",
    ),
    "partner_left": (
        "AFTER DELETE ON rm_memberships",
        "DELETE FROM rm_partner_timeline WHERE partner_id = OLD.partner_id AND commitment_id = OLD.commitment_id",
    ),
}


def trigger_ddl(dialect: str) -> list[str]:
    """``FAN_OUT`` as each dialect writes triggers (PostgreSQL: a function each)."""
    statements = []
    for name, (when, body) in FAN_OUT.items():
        trigger = f"rm_partner_timeline_on_{name}"
        if dialect == "sqlite":
            statements.append(f"CREATE TRIGGER IF NOT EXISTS {trigger} {when} FOR EACH ROW BEGIN {body}; END")
        else:
            statements.append(
                f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {body}; RETURN NULL; END $$"
            )
            statements.append(f"CREATE OR REPLACE TRIGGER {trigger} {when} FOR EACH ROW EXECUTE FUNCTION {trigger}()")
    return statements


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
    """Read models in the event store's own database (see the module's notes)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.engine = engine_of(recorder)
        self.dialect = self.engine.dialect.name
        sql = self.sql = DriverSql(self.dialect)
        with self.recorder.transaction(commit=True) as session:
            connection = session.connection()
            if self.dialect == "postgresql":  # several processes may start at once
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7710321)")
            metadata.create_all(connection, tables=list(READ_MODEL_TABLES), checkfirst=True)
            for statement in trigger_ddl(self.dialect):
                connection.exec_driver_sql(statement)
        self._add_timeline = sql(
            "INSERT INTO rm_timeline (position, commitment_id, version, recorded_us, occurred_on, kind, actor_id, "
            "actor_name, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._upsert_partner = sql(
            "INSERT INTO rm_partners (id, name, kind, external_ref, registered_us, position, search_text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
            "external_ref = excluded.external_ref, search_text = excluded.search_text"
        )
        summary_columns = [c.name for c in commitment_summaries.columns]
        updated = ", ".join(
            f"{name} = excluded.{name}" for name in summary_columns if name not in ("id", "created_position")
        )
        marks = ", ".join("?" for _ in summary_columns)
        self._upsert_summary = sql(
            f"INSERT INTO rm_commitments ({', '.join(summary_columns)}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updated}"
        )
        self._join = sql("INSERT INTO rm_memberships (commitment_id, partner_id, role) VALUES (?, ?, ?)")
        self._leave = sql("DELETE FROM rm_memberships WHERE commitment_id = ? AND partner_id = ?")
        self._names = sql("SELECT id, name FROM rm_partners WHERE id = ?")

    def _read(self) -> Any:
        return self.recorder.transaction(commit=False)

    # -- writing, in the command's transaction ---------------------------------------------

    def put_partner(self, tx: Any, row: PartnerRow) -> None:
        tx.connection().exec_driver_sql(
            self._upsert_partner,
            (
                self.sql.uuid(row.id),
                row.name,
                row.kind,
                row.external_ref,
                to_us(row.registered_at),
                row.position,
                row.search_text,
            ),
        )

    def partner_name(self, tx: Any, partner_id: UUID) -> str | None:
        row = tx.connection().exec_driver_sql(self._names, (self.sql.uuid(partner_id),)).first()
        return None if row is None else str(row[1])

    def add_timeline_entries(self, tx: Any, entries: Sequence[TimelineEntry]) -> None:
        uuid, day = self.sql.uuid, self.sql.day
        rows = [
            (
                e.position,
                uuid(e.commitment_id),
                e.version,
                to_us(e.recorded_at),
                day(e.occurred_on),
                e.kind,
                uuid(e.actor_id),
                e.actor_name,
                e.summary,
            )
            for e in entries
        ]
        if rows:
            tx.connection().exec_driver_sql(self._add_timeline, rows if len(rows) > 1 else rows[0])

    def put_summary(self, tx: Any, summary: CommitmentSummary) -> None:
        values = {
            "id": self.sql.uuid(summary.id),
            "version": summary.version,
            "title": summary.title,
            "action_plan": summary.action_plan,
            "external_ref": summary.external_ref,
            "status": summary.status,
            "visibility": summary.visibility,
            "completion": summary.completion,
            "starts_on": self.sql.day(summary.starts_on),
            "ends_on": self.sql.day(summary.ends_on),
            "milestones_total": summary.milestones_total,
            "milestones_reached": summary.milestones_reached,
            "lead_names": summary.lead_names,
            "created_us": to_us(summary.created_at),
            "updated_us": to_us(summary.updated_at),
            "created_position": summary.created_position,
            "updated_position": summary.updated_position,
            "search_text": summary.search_text,
        }
        tx.connection().exec_driver_sql(
            self._upsert_summary, tuple(values[c.name] for c in commitment_summaries.columns)
        )

    def join(self, tx: Any, commitment_id: UUID, partner_id: UUID, role: str) -> None:
        """A partner joined the commitment (its timeline gains the commitment's entries)."""
        tx.connection().exec_driver_sql(self._join, (self.sql.uuid(commitment_id), self.sql.uuid(partner_id), role))

    def leave(self, tx: Any, commitment_id: UUID, partner_id: UUID) -> None:
        """A partner left the commitment (its timeline loses the commitment's entries)."""
        tx.connection().exec_driver_sql(self._leave, (self.sql.uuid(commitment_id), self.sql.uuid(partner_id)))

    def clear_read_models(self, tx: Any) -> None:
        for table in reversed(READ_MODEL_TABLES):
            tx.execute(table.delete())

    # -- reading ---------------------------------------------------------------------------

    def version_before(self, aggregate_id: UUID, recorded_after: datetime) -> int | None:
        """The commitment's last version recorded at or before the instant (None: it did
        not exist yet), from its timeline (every event of a commitment has an entry)."""
        at = to_us(recorded_after)
        t = timeline_entries.c
        mine = t.commitment_id == aggregate_id
        with self._read() as session:
            first_later = session.execute(select(func.min(t.version)).where(mine, t.recorded_us > at)).scalar()
            if first_later is None:
                first_later = (session.execute(select(func.max(t.version)).where(mine)).scalar() or 0) + 1
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
