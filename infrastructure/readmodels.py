"""The application's ``ReadModelStore`` on SQLAlchemy, in the event store's own
database and transactions. Rows written in a command's transaction go at the driver
level (one prepared statement each); a partner's copy of each timeline entry
(``rm_partner_timeline``) is kept by triggers in the database as timeline entries and
memberships come and go, so that no command pays a statement for it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Select, and_, exists, func, inspect, or_, select
from sqlalchemy.engine import Row

from application.errors import BadQuery
from application.ports import (
    ActionRecord,
    CommitmentSummary,
    Page,
    PartnerRow,
    PlanRow,
    TimelineEntry,
    Viewer,
)
from domain.values import ActionResponse, ActionState, ActionStatus, Response, fold
from infrastructure.driver import DriverSql
from infrastructure.store import engine_of
from infrastructure.tables import (
    READ_MODEL_TABLES,
    action_responses,
    actions,
    commitment_summaries,
    memberships,
    metadata,
    partner_timeline,
    partners,
    plan_names,
    plans,
    read_model_schema,
    timeline_entries,
)

READ_MODEL_SCHEMA = 3  # raised when a read model's table changes: older tables are rebuilt from the log

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
        self.outdated = False  # the tables were made anew: the owner rebuilds them from the log
        with self.recorder.transaction(commit=True) as session:
            connection = session.connection()
            if self.dialect == "postgresql":  # several processes may start at once
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7710321)")
            self.outdated = self._make_tables(connection)
        self._add_timeline = sql(
            "INSERT INTO rm_timeline (position, commitment_id, aggregate_id, version, recorded_us, occurred_on, kind, "
            "actor_id, actor_name, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._upsert_partner = sql(
            "INSERT INTO rm_partners (id, name, kind, external_ref, registered_us, position, search_text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
            "external_ref = excluded.external_ref, search_text = excluded.search_text"
        )
        written = [c.name for c in commitment_summaries.columns if c.name != "lead_names"]
        updated = ", ".join(f"{name} = excluded.{name}" for name in written if name not in ("id", "created_position"))
        marks = ", ".join("?" for _ in written)
        self._summary_columns = written
        # The lead names are made from the lead memberships, which follow renames.
        aggregate = "string_agg(name, '; ' ORDER BY partner_id)" if sql.postgres else "group_concat(name, '; ')"

        def leads_of(commitment: str) -> str:
            return (
                f"(SELECT COALESCE({aggregate}, '') FROM (SELECT name, partner_id FROM rm_memberships "
                f"WHERE commitment_id = {commitment} AND role = 'lead' ORDER BY partner_id) AS leads)"
            )

        self._upsert_summary = sql(
            f"INSERT INTO rm_commitments ({', '.join(written)}, lead_names) VALUES ({marks}, {leads_of('?')}) "
            f"ON CONFLICT (id) DO UPDATE SET {updated}, lead_names = excluded.lead_names"
        )
        self._renamed_leads = sql(
            f"UPDATE rm_commitments SET lead_names = {leads_of('rm_commitments.id')} WHERE id IN "
            "(SELECT commitment_id FROM rm_memberships WHERE partner_id = ? AND role = 'lead')"
        )
        self._join = sql(
            "INSERT INTO rm_memberships (commitment_id, partner_id, role, name, name_key) VALUES (?, ?, ?, ?, ?)"
        )
        self._leave = sql("DELETE FROM rm_memberships WHERE commitment_id = ? AND partner_id = ? RETURNING name")
        self._rename = sql("UPDATE rm_memberships SET name = ?, name_key = ? WHERE partner_id = ?")
        self._add_action = sql(
            "INSERT INTO rm_actions (action_id, commitment_id, position, recorded_us, summary, occurred_on, "
            "recorded_by, partner_ids, evidence_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._add_response = sql(
            "INSERT INTO rm_action_responses (action_id, partner_id, commitment_id, position, recorded_us, response, "
            "note) SELECT ?, ?, commitment_id, ?, ?, ?, ? FROM rm_actions WHERE action_id = ?"
        )
        self._withdraw_action = sql("UPDATE rm_actions SET withdrawn_us = ?, withdrawal_reason = ? WHERE action_id = ?")

    def _make_tables(self, connection: Any) -> bool:
        """Creates the tables and triggers; tables of an older schema are dropped first.
        True if tables were made over existing ones (their rows must be rebuilt)."""
        present = set(inspect(connection).get_table_names())
        version = None
        if read_model_schema.name in present:
            version = connection.execute(select(read_model_schema.c.version)).scalar()
        older = [t for t in (*READ_MODEL_TABLES, read_model_schema) if t.name in present]
        outdated = version != READ_MODEL_SCHEMA and any(t is not read_model_schema for t in older)
        if version != READ_MODEL_SCHEMA:
            for table in reversed(older):
                table.drop(connection)
        metadata.create_all(connection, tables=[*READ_MODEL_TABLES, read_model_schema], checkfirst=True)
        if version != READ_MODEL_SCHEMA and not outdated:
            connection.execute(read_model_schema.insert().values(version=READ_MODEL_SCHEMA))
        for statement in trigger_ddl(self.dialect):
            connection.exec_driver_sql(statement)
        return outdated

    def mark_current(self, tx: Any) -> None:
        """After a rebuild: the tables are of this schema."""
        tx.execute(read_model_schema.delete())
        tx.execute(read_model_schema.insert().values(version=READ_MODEL_SCHEMA))
        self.outdated = False

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

    def partner_names(self, tx: Any, ids: Sequence[UUID]) -> dict[UUID, str]:
        """Partners' names now, by id."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = tx.connection().exec_driver_sql(
            self.sql(f"SELECT id, name FROM rm_partners WHERE id IN ({marks})"), tuple(self.sql.uuid(i) for i in ids)
        )
        return {self.sql.uuid_out(row[0]): row[1] for row in rows}

    def add_timeline_entries(self, tx: Any, entries: Sequence[TimelineEntry]) -> None:
        uuid, day = self.sql.uuid, self.sql.day
        rows = [
            (
                e.position,
                uuid(e.commitment_id),
                uuid(e.aggregate_id),
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
            "assessed_completion": summary.assessed_completion,
            "starts_on": self.sql.day(summary.starts_on),
            "ends_on": self.sql.day(summary.ends_on),
            "milestones_total": summary.milestones_total,
            "milestones_reached": summary.milestones_reached,
            "created_us": to_us(summary.created_at),
            "updated_us": to_us(summary.updated_at),
            "created_position": summary.created_position,
            "updated_position": summary.updated_position,
            "search_text": summary.search_text,
        }
        params = (*(values[name] for name in self._summary_columns), values["id"])
        tx.connection().exec_driver_sql(self._upsert_summary, params)

    def join(self, tx: Any, commitment_id: UUID, partner_id: UUID, role: str, name: str) -> None:
        """A partner joined the commitment (its timeline gains the commitment's entries)."""
        tx.connection().exec_driver_sql(
            self._join, (self.sql.uuid(commitment_id), self.sql.uuid(partner_id), role, name, fold(name))
        )

    def leave(self, tx: Any, commitment_id: UUID, partner_id: UUID) -> str | None:
        """A partner left the commitment (its timeline loses the commitment's entries);
        its name, as the membership had it."""
        row = tx.connection().exec_driver_sql(self._leave, (self.sql.uuid(commitment_id), self.sql.uuid(partner_id)))
        found = row.first()
        return None if found is None else str(found[0])

    def rename_member(self, tx: Any, partner_id: UUID, name: str) -> None:
        """A partner's new name reaches its memberships and the lead names of its commitments."""
        connection = tx.connection()
        connection.exec_driver_sql(self._rename, (name, fold(name), self.sql.uuid(partner_id)))
        connection.exec_driver_sql(self._renamed_leads, (self.sql.uuid(partner_id),))

    def add_action(
        self, tx: Any, position: int, recorded_at: datetime, commitment_id: UUID, state: ActionState
    ) -> None:
        uuid = self.sql.uuid
        tx.connection().exec_driver_sql(
            self._add_action,
            (
                uuid(state.id),
                uuid(commitment_id),
                position,
                to_us(recorded_at),
                state.summary,
                self.sql.day(state.occurred_on),
                uuid(state.recorded_by),
                json.dumps([str(p) for p in state.partner_ids]),
                state.evidence_url,
            ),
        )

    def add_action_response(self, tx: Any, action_id: UUID, position: int, response: ActionResponse) -> None:
        uuid = self.sql.uuid
        tx.connection().exec_driver_sql(
            self._add_response,
            (
                uuid(action_id),
                uuid(response.partner_id),
                position,
                to_us(response.responded_at),
                response.response.value,
                response.note,
                uuid(action_id),
            ),
        )

    def withdraw_action(self, tx: Any, action_id: UUID, position: int, recorded_at: datetime, reason: str) -> None:
        tx.connection().exec_driver_sql(self._withdraw_action, (to_us(recorded_at), reason, self.sql.uuid(action_id)))

    def put_plan(self, tx: Any, row: PlanRow) -> None:
        """The plan's row and names now (its first row's position is kept)."""
        values = {
            "name": row.name,
            "status": row.status,
            "starts_on": row.starts_on,
            "ends_on": row.ends_on,
            "version": row.version,
        }
        if not tx.execute(plans.update().where(plans.c.id == row.id).values(**values)).rowcount:
            tx.execute(plans.insert().values(id=row.id, created_position=row.created_position, **values))
        tx.execute(plan_names.delete().where(plan_names.c.plan_id == row.id))
        tx.execute(
            plan_names.insert(), [{"name_key": fold(name), "name": name, "plan_id": row.id} for name in row.names]
        )

    def clear_read_models(self, tx: Any) -> None:
        for table in reversed(READ_MODEL_TABLES):
            tx.execute(table.delete())

    # -- reading ---------------------------------------------------------------------------

    def version_before(self, aggregate_id: UUID, recorded_after: datetime) -> int | None:
        """The commitment's last version recorded at or before the instant (None: it did
        not exist yet), from its own timeline entries (every event of a commitment has one)."""
        at = to_us(recorded_after)
        t = timeline_entries.c
        mine = t.aggregate_id == aggregate_id
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
            named = exists().where(memberships.c.commitment_id == c.id, memberships.c.name_key.like(term, escape="\\"))
            conditions.append(or_(c.search_text.like(term, escape="\\"), named))
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

    def commitments_by_ref(self, refs: Sequence[str]) -> dict[str, list[UUID]]:
        c = commitment_summaries.c
        found: dict[str, list[UUID]] = {}
        wanted = sorted(set(refs))
        with self._read() as session:
            for first in range(0, len(wanted), 500):
                chunk = wanted[first : first + 500]
                query = select(c.external_ref, c.id).where(c.external_ref.in_(chunk)).order_by(c.created_position)
                for ref, commitment_id in session.execute(query):
                    found.setdefault(ref, []).append(commitment_id)
        return found

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
            assessed_completion=row.assessed_completion,
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
            aggregate_id=row.aggregate_id,
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

    def member_names(self, commitment_id: UUID) -> dict[str, str]:
        """The names now of the commitment's partners, by id (as canonical strings)."""
        m = memberships.c
        with self._read() as session:
            rows = session.execute(select(m.partner_id, m.name).where(m.commitment_id == commitment_id))
            return {str(row.partner_id): row.name for row in rows}

    def actions_of(self, commitment_id: UUID, at: datetime | None = None) -> list[ActionRecord]:
        """The commitment's joint actions as they are, or were at the instant ``at``, in
        the order recorded."""
        a, r = actions.c, action_responses.c
        found = select(actions).where(a.commitment_id == commitment_id).order_by(a.position)
        answered = select(action_responses).where(r.commitment_id == commitment_id).order_by(r.position)
        return self._actions(found, answered, at)

    def action_record(self, action_id: UUID, at: datetime | None = None) -> ActionRecord | None:
        a, r = actions.c, action_responses.c
        found = select(actions).where(a.action_id == action_id)
        answered = select(action_responses).where(r.action_id == action_id).order_by(r.position)
        records = self._actions(found, answered, at)
        return records[0] if records else None

    def _actions(self, found: Select[Any], answered: Select[Any], at: datetime | None) -> list[ActionRecord]:
        cutoff = to_us(at) if at is not None else None
        with self._read() as session:
            rows = list(session.execute(found))
            responses = list(session.execute(answered))
        by_action: dict[UUID, list[Row[Any]]] = {}
        for row in responses:
            if cutoff is None or row.recorded_us <= cutoff:
                by_action.setdefault(row.action_id, []).append(row)
        records = []
        for row in rows:
            if cutoff is not None and row.recorded_us > cutoff:
                continue
            withdrawn = row.withdrawn_us is not None and (cutoff is None or row.withdrawn_us <= cutoff)
            answers = by_action.get(row.action_id, [])
            state = ActionState(
                row.action_id,
                row.summary,
                row.occurred_on,
                row.recorded_by,
                [UUID(p) for p in json.loads(row.partner_ids)],
                row.evidence_url,
                {
                    str(x.partner_id): ActionResponse(
                        x.partner_id, Response(x.response), x.note, from_us(x.recorded_us)
                    )
                    for x in answers
                },
                ActionStatus.WITHDRAWN if withdrawn else ActionStatus.RECORDED,
                row.withdrawal_reason if withdrawn else None,
            )
            version = 1 + len(answers) + (1 if withdrawn else 0)
            records.append(ActionRecord(state, row.commitment_id, from_us(row.recorded_us), row.position, version))
        return records

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

    def plan_rows(self) -> list[PlanRow]:
        """Every plan, the latest first (by start, then by name)."""
        with self._read() as session:
            rows = session.execute(select(plans).order_by(plans.c.starts_on.desc(), plans.c.name)).all()
            names = session.execute(select(plan_names).order_by(plan_names.c.plan_id)).all()
        return [self._plan(row, names) for row in rows]

    def plan_row(self, plan_id: UUID) -> PlanRow | None:
        with self._read() as session:
            row = session.execute(select(plans).where(plans.c.id == plan_id)).first()
            names = session.execute(select(plan_names).where(plan_names.c.plan_id == plan_id)).all()
        return self._plan(row, names) if row else None

    def plan_named(self, name: str) -> UUID | None:
        """The plan that answers to ``name`` (compared as searches compare), if any."""
        with self._read() as session:
            found = session.execute(select(plan_names.c.plan_id).where(plan_names.c.name_key == fold(name))).scalar()
        return cast(UUID | None, found)

    @staticmethod
    def _plan(row: Row[Any], names: Sequence[Row[Any]]) -> PlanRow:
        own = [n.name for n in names if n.plan_id == row.id]
        return PlanRow(
            id=row.id,
            name=row.name,
            names=[row.name, *sorted(n for n in own if n != row.name)],
            status=row.status,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            version=row.version,
            created_position=row.created_position,
        )

    def dump_read_models(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model row, in primary-key order (to compare live with rebuilt)."""
        dump: dict[str, list[tuple[Any, ...]]] = {}
        with self._read() as session:
            for table in READ_MODEL_TABLES:
                query = select(table).order_by(*table.primary_key.columns)
                dump[table.name] = [tuple(row) for row in session.execute(query)]
        return dump
