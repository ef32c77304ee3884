"""Imports: an agency's commitments and milestones from rows of a spreadsheet, keyed by
the OGP id (``external_ref``), recorded all or nothing.

The rows arrive parsed and checked field by field (the interfaces read the CSV). The
whole file is then planned before anything is recorded: each commitment it names is
loaded (or started, led by the importing agency), and the changes its rows ask for are
applied to it in memory through the same domain commands, with the same rules, as the
API's use cases (``application.commands``). A row that breaks a rule is a bad row; with
any bad row, nothing is recorded and every bad row is reported. Otherwise every event of
the file is appended in ONE unit of work: the import is recorded whole or not at all. A
concurrent write to one of its commitments makes the append fail as a whole; the file is
then planned again from the commitments as they are now (a few times) before the
conflict is reported. What the rows ask for that already holds records nothing, so
importing the same file twice records nothing the second time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from application.commands import LedgerCommands, milestone_added, milestone_reached, started
from application.core import RETRIES
from application.errors import ApplicationError, ConcurrentWrite, Forbidden, KeyInUse, NotFound
from application.idempotency import Idempotency
from application.logformat import event_type_of
from domain.commitment import Commitment
from domain.errors import DomainError, InvalidValue, NotPermitted
from domain.partner import Partner
from domain.values import Actor, ActorRole, Milestone, Visibility, clean_title, nfc

# The import format's columns (header names), in the order the documentation lists them.
COMMITMENT_COLUMNS = ("title", "description", "action_plan", "starts_on", "ends_on", "ogp_values")
MILESTONE_COLUMNS = ("milestone_title", "milestone_due_on", "milestone_reached_on", "evidence_url")
IMPORT_COLUMNS = ("external_ref", *COMMITMENT_COLUMNS, *MILESTONE_COLUMNS, "reason")
NEW_COMMITMENT_NEEDS = ("title", "action_plan", "starts_on", "ends_on")
# A domain rule's field, as the column of the import format that holds it.
MILESTONE_FIELDS = {
    "title": "milestone_title",
    "due_on": "milestone_due_on",
    "reached_on": "milestone_reached_on",
    "evidence_url": "evidence_url",
    "reason": "reason",
}


@dataclass(frozen=True)
class ImportRow:
    """One row of the file: its physical line (the header is line 1) and its non-empty
    cells, by column, as values (dates, lists of OGP values, texts)."""

    line: int
    cells: dict[str, Any]

    @property
    def external_ref(self) -> str:
        return nfc(str(self.cells["external_ref"])).strip()


@dataclass(frozen=True)
class RowError:
    """What is wrong with a row: its line, the column at fault, and why."""

    line: int
    column: str
    message: str


@dataclass(frozen=True)
class ImportedEvent:
    """An event the import records (or, in a dry run, would record), with the row it comes from."""

    line: int
    external_ref: str
    type: str


@dataclass(frozen=True)
class ImportOutcome:
    dry_run: bool
    rows: int
    events: list[ImportedEvent]
    positions: list[int] = field(default_factory=list)  # of the recorded events, in the log


class ImportRefused(ApplicationError):
    """At least one bad row: nothing from the file was recorded."""

    code = "bad-rows"

    def __init__(self, errors: Sequence[RowError]) -> None:
        ordered = sorted(errors, key=lambda error: (error.line, error.column))
        lines = len({error.line for error in ordered})
        super().__init__(f"{lines} bad row(s), {len(ordered)} error(s): nothing from the file was recorded")
        self.errors = ordered


class BadRows(Exception):
    """Raised while a commitment's rows are planned: the rows at fault."""

    def __init__(self, *errors: RowError) -> None:
        super().__init__(errors)
        self.errors = list(errors)


@dataclass
class Plan:
    aggregates: list[Commitment] = field(default_factory=list)
    events: list[ImportedEvent] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class Recorder:
    """Applies domain commands to one commitment, noting which row each new event comes
    from and turning a refusal into a bad row."""

    def __init__(self, commitment: Commitment, external_ref: str, events: list[ImportedEvent]) -> None:
        self.commitment = commitment
        self.external_ref = external_ref
        self.events = events
        self.noted = 0

    def note(self, line: int) -> None:
        """Attributes the commitment's events pending since the last note to ``line``."""
        pending = self.commitment.pending_events
        for event in pending[self.noted :]:
            self.events.append(ImportedEvent(line, self.external_ref, event_type_of(type(event)).name))
        self.noted = len(pending)

    def apply(self, line: int, column: str, command: Callable[[], Any], fields: dict[str, str] | None = None) -> Any:
        """Runs ``command`` for the row on ``line``; a refusal is a bad row at ``column``
        (an invalid value at its own field's column, named through ``fields``)."""
        try:
            result = command()
        except InvalidValue as error:
            raise BadRows(RowError(line, (fields or {}).get(error.field, error.field), error.message)) from None
        except DomainError as error:
            raise BadRows(RowError(line, column, str(error))) from None
        self.note(line)
        return result


class LedgerImports(LedgerCommands):
    """The import use case (see the module's notes)."""

    def import_rows(
        self,
        rows: Sequence[ImportRow],
        *,
        bad_rows: Sequence[RowError] = (),
        actor: Actor,
        request_id: str,
        dry_run: bool = False,
        idempotency: Idempotency | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportOutcome:
        """Plans the rows (with ``bad_rows``, those the interface found unreadable) and,
        unless it is a dry run or a row is bad, records them in one unit of work.
        ``progress(n)`` is called as the rows are planned (n rows more each time)."""
        if actor.role is not ActorRole.AGENCY:
            raise Forbidden("only an agency imports commitments")
        for attempt in range(RETRIES):
            plan = self.plan_import(rows, bad_rows=bad_rows, actor=actor, request_id=request_id, progress=progress)
            progress = None  # a plan made again after a lost race is not progress
            if plan.errors:
                raise ImportRefused(plan.errors)
            outcome = ImportOutcome(dry_run, len(rows), plan.events)
            if dry_run or not plan.aggregates:
                if idempotency is not None:
                    with self.unit_of_work() as tx:
                        idempotency.keep(tx, self.idempotency, outcome)
                return outcome
            try:
                with self.unit_of_work() as tx:
                    positions = self.append(tx, plan.aggregates)
                    outcome = ImportOutcome(dry_run, len(rows), plan.events, positions)
                    if idempotency is not None:
                        idempotency.keep(tx, self.idempotency, outcome)
            except KeyInUse:
                raise
            except ConcurrentWrite:
                if attempt + 1 >= RETRIES:
                    raise
                continue
            self.take_snapshots(plan.aggregates)
            return outcome
        raise AssertionError("unreachable")

    def plan_import(
        self,
        rows: Sequence[ImportRow],
        *,
        bad_rows: Sequence[RowError] = (),
        actor: Actor,
        request_id: str,
        progress: Callable[[int], None] | None = None,
    ) -> Plan:
        """The commitments the rows change, as they would be after the import (their
        new events pending), the events, and the bad rows."""
        plan = Plan(errors=list(bad_rows))
        unreadable = {error.line for error in bad_rows}
        groups: dict[str, list[ImportRow]] = {}
        for row in rows:
            groups.setdefault(row.external_ref, []).append(row)
        known = self.read_models.commitments_by_ref(list(groups))
        lead: list[Partner] = []

        def importer() -> Partner:
            if not lead:
                lead.append(self.load_partner(actor.id))
            return lead[0]

        for ref, group in groups.items():
            if not any(row.line in unreadable for row in group):
                events: list[ImportedEvent] = []
                try:
                    commitment = self._plan_commitment(
                        ref, group, known.get(ref, []), importer, actor, request_id, events
                    )
                except BadRows as bad:
                    plan.errors.extend(bad.errors)
                else:
                    if events:
                        plan.aggregates.append(commitment)
                        plan.events.extend(events)
            if progress is not None:
                progress(len(group))
        plan.events.sort(key=lambda event: event.line)  # stable: a row's events stay in order
        return plan

    def _plan_commitment(
        self,
        ref: str,
        rows: list[ImportRow],
        ids: list[UUID],
        importer: Callable[[], Partner],
        actor: Actor,
        request_id: str,
        events: list[ImportedEvent],
    ) -> Commitment:
        first = rows[0].line
        cells, given_on = agreed_cells(rows)
        reason = next((row.cells["reason"] for row in rows if "reason" in row.cells), None)
        if len(ids) > 1:
            message = f"{len(ids)} commitments have this external_ref: change them one by one through the API"
            raise BadRows(RowError(first, "external_ref", message))
        if ids:
            commitment = self._known(ids[0], actor, first)
            recorder = Recorder(commitment, ref, events)
            self._amend(recorder, cells, given_on, reason, actor, request_id, first)
        else:
            missing = [column for column in NEW_COMMITMENT_NEEDS if column not in cells]
            if missing:
                raise BadRows(*(RowError(first, column, "must be given for a new commitment") for column in missing))
            lead = importer()
            try:
                commitment = started(
                    lead,
                    title=cells["title"],
                    description=cells.get("description", ""),
                    action_plan=cells["action_plan"],
                    external_ref=ref,
                    starts_on=cells["starts_on"],
                    ends_on=cells["ends_on"],
                    ogp_values=cells.get("ogp_values", []),
                    visibility=Visibility.PUBLIC,
                    actor=actor,
                    request_id=request_id,
                )
            except InvalidValue as error:
                raise BadRows(RowError(given_on.get(error.field, first), error.field, error.message)) from None
            except DomainError as error:
                raise BadRows(RowError(first, "external_ref", str(error))) from None
            recorder = Recorder(commitment, ref, events)
            recorder.note(first)
        self._milestones(recorder, rows, reason, actor, request_id)
        return recorder.commitment

    def _known(self, commitment_id: UUID, actor: Actor, line: int) -> Commitment:
        """A commitment the importing agency leads (any other is a bad row, alike whether
        the agency may see it or not)."""
        refused = RowError(line, "external_ref", "belongs to a commitment that this agency does not lead")
        try:
            commitment = self.load_commitment(commitment_id)
            commitment.check_lead(actor)
        except (NotFound, NotPermitted):
            raise BadRows(refused) from None
        return commitment

    @staticmethod
    def _amend(
        recorder: Recorder,
        cells: dict[str, Any],
        given_on: dict[str, int],
        reason: str | None,
        actor: Actor,
        request_id: str,
        first: int,
    ) -> None:
        commitment = recorder.commitment
        if "action_plan" in cells:
            try:
                plan = clean_title(cells["action_plan"], "action_plan")
            except InvalidValue as error:
                raise BadRows(RowError(given_on["action_plan"], "action_plan", error.message)) from None
            if plan != commitment.action_plan:
                raise BadRows(RowError(given_on["action_plan"], "action_plan", "cannot be changed by an import"))
        changes = {
            column: cells[column] for column in COMMITMENT_COLUMNS if column in cells and column != "action_plan"
        }
        try:
            differing = commitment.amended_fields(changes)
        except InvalidValue as error:
            raise BadRows(RowError(given_on.get(error.field, first), error.field, error.message)) from None
        if not differing:
            return
        if reason is None:
            names = ", ".join(sorted(differing))
            raise BadRows(RowError(first, "reason", f"must be given to amend the commitment ({names} differ)"))
        line = min(given_on[name] for name in differing)
        recorder.apply(
            line,
            "external_ref",
            lambda: commitment.amend(changes=changes, reason=reason, actor=actor, request_id=request_id),
        )

    @staticmethod
    def _milestones(
        recorder: Recorder, rows: list[ImportRow], reason: str | None, actor: Actor, request_id: str
    ) -> None:
        commitment = recorder.commitment
        by_title: dict[str, list[Milestone]] = {}
        for milestone in commitment.milestones.values():
            by_title.setdefault(milestone.title, []).append(milestone)
        seen: dict[str, int] = {}
        errors: list[RowError] = []
        for row in rows:
            cells = row.cells
            if "milestone_title" not in cells:
                errors.extend(
                    RowError(row.line, column, "needs a milestone_title on its row")
                    for column in MILESTONE_COLUMNS[1:]
                    if column in cells
                )
                continue
            try:
                title = clean_title(cells["milestone_title"], "milestone_title")
            except InvalidValue as error:
                errors.append(RowError(row.line, "milestone_title", error.message))
                continue
            if title in seen:
                errors.append(RowError(row.line, "milestone_title", f"is already on line {seen[title]}"))
                continue
            seen[title] = row.line
            try:
                LedgerImports._milestone(recorder, row, title, by_title.get(title, []), reason, actor, request_id)
            except BadRows as bad:
                errors.extend(bad.errors)
        if errors:
            raise BadRows(*errors)

    @staticmethod
    def _milestone(
        recorder: Recorder,
        row: ImportRow,
        title: str,
        matches: list[Milestone],
        reason: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        commitment, cells, line = recorder.commitment, row.cells, row.line
        due_on: date | None = cells.get("milestone_due_on")
        reached_on: date | None = cells.get("milestone_reached_on")
        evidence_url: str | None = cells.get("evidence_url")
        if len(matches) > 1:
            message = f"{len(matches)} milestones of this commitment have this title: change them through the API"
            raise BadRows(RowError(line, "milestone_title", message))
        if matches:
            milestone = matches[0]
            if due_on is not None and due_on != milestone.due_on:
                why = cells.get("reason", reason)
                if why is None:
                    raise BadRows(RowError(line, "reason", "must be given to reschedule the milestone"))
                recorder.apply(
                    line,
                    "milestone_due_on",
                    lambda: commitment.change_milestone(
                        milestone_id=milestone.id, due_on=due_on, reason=why, actor=actor, request_id=request_id
                    ),
                    MILESTONE_FIELDS,
                )
            if milestone.reached_on is not None:
                if reached_on is not None and reached_on != milestone.reached_on:
                    message = f"the milestone was reached on {milestone.reached_on}: it stays as it was"
                    raise BadRows(RowError(line, "milestone_reached_on", message))
                return
            milestone_id = milestone.id
        else:
            if due_on is None:
                raise BadRows(RowError(line, "milestone_due_on", "must be given for a new milestone"))
            milestone_id = recorder.apply(
                line,
                "milestone_title",
                lambda: milestone_added(commitment, title=title, due_on=due_on, actor=actor, request_id=request_id),
                MILESTONE_FIELDS,
            )
        if reached_on is None:
            if evidence_url is not None:
                raise BadRows(RowError(line, "evidence_url", "goes with a milestone_reached_on"))
            return
        recorder.apply(
            line,
            "milestone_reached_on",
            lambda: milestone_reached(
                commitment,
                milestone_id,
                reached_on=reached_on,
                evidence_url=evidence_url,
                note=None,
                actor=actor,
                request_id=request_id,
            ),
            MILESTONE_FIELDS,
        )


def agreed_cells(rows: list[ImportRow]) -> tuple[dict[str, Any], dict[str, int]]:
    """A commitment's own cells, from its rows (an empty cell takes the others' value),
    and the line each was first given on. Rows that give another value are bad rows."""
    cells: dict[str, Any] = {}
    given_on: dict[str, int] = {}
    errors: list[RowError] = []
    for row in rows:
        for column in COMMITMENT_COLUMNS:
            if column not in row.cells:
                continue
            value = row.cells[column]
            if column not in cells:
                cells[column], given_on[column] = value, row.line
            elif value != cells[column]:
                message = f"differs from line {given_on[column]}: a commitment's cells must agree across its rows"
                errors.append(RowError(row.line, column, message))
    if errors:
        raise BadRows(*errors)
    return cells, given_on
