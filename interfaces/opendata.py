"""Open data in and out: the exports of commitments and milestones (CSV and JSON), and
the reading of an import file, for the API and the command line alike.

CSV is written with CRLF line ends, a header row and UTF-8; a cell a spreadsheet would
take for a formula gets a leading ``'`` (``interfaces.rendering.csv_cell``). An import
file is read with the standard library's ``csv`` module and each row checked with a
marshmallow schema whose rules are the domain's own (the JSON API meets the same ones);
the ``'`` an export put before such a cell is taken off again, so that an exported file
can be edited and imported back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields

from application.imports import IMPORT_COLUMNS, ImportRow, RowError
from application.ledger import Ledger
from application.ports import CommitmentSummary
from domain.errors import InvalidValue
from domain.values import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    REF_MAX,
    Actor,
    OgpValue,
    check_day,
    clean_text,
    clean_title,
    clean_url,
)
from interfaces.api.schemas import Day, enum
from interfaces.rendering import FORMULA_STARTS, csv_cell, escaped_json

COMMITMENT_FIELDS = (
    "external_ref",
    "title",
    "action_plan",
    "lead",
    "status",
    "completion",
    "assessed_completion",
    "starts_on",
    "ends_on",
    "milestones_due",
    "milestones_reached",
    "version",
    "id",
)
MILESTONE_FIELDS = ("external_ref", "milestone_id", "title", "due_on", "reached_on", "evidence_url")
# Columns of the commitments export that an import reads past: an exported file, with a
# ``reason`` column added, imports as it is.
EXPORT_ONLY = frozenset(COMMITMENT_FIELDS) - set(IMPORT_COLUMNS)
PAGE = 500


# -- exports ---------------------------------------------------------------------------------


def summaries(ledger: Ledger, viewer: Actor | None) -> Iterator[CommitmentSummary]:
    """Every commitment the viewer may see, in the order they were created, a page at a time."""
    after: str | None = None
    while True:
        page = ledger.list_commitments(viewer, limit=PAGE, after=after)
        yield from page.items
        if page.next is None:
            return
        after = page.next


def commitment_record(s: CommitmentSummary) -> dict[str, Any]:
    """One commitment of the exports."""
    return {
        "external_ref": s.external_ref,
        "title": s.title,
        "action_plan": s.action_plan,
        "lead": s.lead_names,
        "status": s.status,
        "completion": s.completion,
        "assessed_completion": s.assessed_completion,
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat(),
        "milestones_due": s.milestones_total,
        "milestones_reached": s.milestones_reached,
        "version": s.version,
        "id": str(s.id),
    }


def milestone_records(ledger: Ledger, viewer: Actor | None) -> Iterator[dict[str, Any]]:
    """Every milestone of the commitments the viewer may see, commitment by commitment."""
    for summary in summaries(ledger, viewer):
        if summary.milestones_total == 0:
            continue
        commitment = ledger.load_commitment(summary.id)
        for milestone in commitment.milestones.values():
            yield {
                "external_ref": commitment.external_ref,
                "milestone_id": str(milestone.id),
                "title": milestone.title,
                "due_on": milestone.due_on.isoformat(),
                "reached_on": milestone.reached_on.isoformat() if milestone.reached_on else None,
                "evidence_url": milestone.evidence_url,
            }


def csv_chunks(columns: tuple[str, ...], records: Iterator[dict[str, Any]], per_chunk: int = PAGE) -> Iterator[str]:
    """CSV text, a header and then the records, in chunks (constant memory): CRLF line
    ends, an empty cell for a missing value, formula-like cells made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for count, record in enumerate(records, start=1):
        writer.writerow(csv_cell("" if record[name] is None else record[name]) for name in columns)
        if count % per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array of the records, in chunks (constant memory); characters no renderer
    shows are written as ``\\u`` escapes."""
    yield "["
    separator = "\n"
    for record in records:
        yield separator + escaped_json(json.dumps(record, ensure_ascii=False))
        separator = ",\n"
    yield "\n]\n"


def commitments_csv(ledger: Ledger, viewer: Actor | None) -> Iterator[str]:
    return csv_chunks(COMMITMENT_FIELDS, (commitment_record(s) for s in summaries(ledger, viewer)))


def commitments_json(ledger: Ledger, viewer: Actor | None) -> Iterator[str]:
    return json_chunks(commitment_record(s) for s in summaries(ledger, viewer))


def milestones_csv(ledger: Ledger, viewer: Actor | None) -> Iterator[str]:
    return csv_chunks(MILESTONE_FIELDS, milestone_records(ledger, viewer))


# -- imports ----------------------------------------------------------------------------------


def domain_rule(clean: Callable[..., Any], *args: Any) -> Callable[[Any], None]:
    """A validator that applies one of the domain's cleaning rules (the rules every
    command meets): its refusal is the field's error."""

    def check(value: Any) -> None:
        try:
            clean(value, *args)
        except InvalidValue as error:
            raise ValidationError(error.message) from None

    return check


class Listed(fields.List):  # type: ignore[type-arg]
    """A list in one cell, its items separated by ``;`` (spaces around them ignored)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        items = [item.strip() for item in value.split(";") if item.strip()]
        return list(super()._deserialize(items, attr, data, **kwargs))


class CommitmentCells(Schema):
    """A row's cells that belong to its commitment (repeated on each of its rows)."""

    external_ref = fields.String(
        required=True, validate=domain_rule(lambda v: clean_text(v.strip(), "external_ref", REF_MAX, required=True))
    )
    title = fields.String(validate=domain_rule(clean_title))
    description = fields.String(validate=domain_rule(clean_text, "description", DESCRIPTION_MAX))
    action_plan = fields.String(validate=domain_rule(clean_title, "action_plan"))
    starts_on = Day(validate=domain_rule(check_day, "starts_on"))
    ends_on = Day(validate=domain_rule(check_day, "ends_on"))
    ogp_values = Listed(enum(OgpValue))


class RowCells(Schema):
    """A row's own cells: its milestone, and the reason for what it changes."""

    milestone_title = fields.String(validate=domain_rule(clean_title, "milestone_title"))
    milestone_due_on = Day(validate=domain_rule(check_day, "milestone_due_on"))
    milestone_reached_on = Day(validate=domain_rule(check_day, "milestone_reached_on"))
    evidence_url = fields.String(validate=domain_rule(clean_url))
    reason = fields.String(validate=domain_rule(clean_text, "reason", NOTE_MAX, True))


def unescaped(cell: str) -> str:
    """A cell without the ``'`` an export writes before a formula-like cell."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1:2] in FORMULA_STARTS else cell


def read_import(text: str, progress: Callable[[int], None] | None = None) -> tuple[list[ImportRow], list[RowError]]:
    """The rows of an import file and the errors of those that cannot be read (a line is
    the physical line a row starts on; the header is line 1). Blank rows are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as error:
        return [], [RowError(1, "", f"is not CSV: {error}")]
    if header is None or not any(name.strip() for name in header):
        return [], [RowError(1, "external_ref", "the file has no header row")]
    columns = [name.strip() for name in header]
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            errors.append(RowError(1, name, "appears twice in the header"))
        elif name not in IMPORT_COLUMNS and name not in EXPORT_ONLY:
            errors.append(RowError(1, name, f"is not a column of the import format ({', '.join(IMPORT_COLUMNS)})"))
        seen.add(name)
    if "external_ref" not in seen:
        errors.append(RowError(1, "external_ref", "the header must name this column"))
    if errors:
        return [], errors
    commitment_cells, row_cells = CommitmentCells(), RowCells()
    # The rows of a commitment repeat its cells: those are checked once for the run of rows.
    last: tuple[tuple[tuple[str, str], ...], dict[str, Any], dict[str, Any]] = ((), {}, {})
    rows: list[ImportRow] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(RowError(start, "", f"is not CSV: {error}"))
            break
        line = reader.line_num
        if progress is not None:
            progress(1)
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            errors.append(RowError(start, "", f"has {len(cells)} cells; the header has {len(columns)}"))
            continue
        given = {
            name: unescaped(cell)
            for name, cell in zip(columns, cells, strict=True)
            if name not in EXPORT_ONLY and cell.strip()
        }
        own = tuple((name, cell) for name, cell in given.items() if name in commitment_cells.fields)
        if not own or own != last[0]:
            try:
                last = (own, commitment_cells.load(dict(own)), {})
            except ValidationError as error:
                last = (own, {}, cast(dict[str, Any], error.messages))
        _, loaded, messages = last
        try:
            loaded = {
                **loaded,
                **row_cells.load({name: cell for name, cell in given.items() if name in row_cells.fields}),
            }
        except ValidationError as error:
            messages = {**messages, **cast(dict[str, Any], error.messages)}
        if messages:
            errors.extend(RowError(start, name, first_message(messages[name])) for name in sorted(messages))
            continue
        rows.append(ImportRow(start, loaded))
    return rows, errors


def first_message(messages: Any) -> str:
    """The first message of a field's (possibly nested) messages."""
    while isinstance(messages, dict):
        messages = next(iter(messages.values()))
    if isinstance(messages, list):
        return "; ".join(str(first_message(message)) for message in messages)
    return str(messages)


def outcome_document(outcome: Any) -> dict[str, Any]:
    """The answer to an import: ``{dry_run, rows, events: [{line, external_ref, type}]}``."""
    return {
        "dry_run": outcome.dry_run,
        "rows": outcome.rows,
        "events": [{"line": e.line, "external_ref": e.external_ref, "type": e.type} for e in outcome.events],
    }


def error_documents(errors: list[RowError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "column": e.column, "message": e.message} for e in errors]
