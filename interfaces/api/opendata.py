"""Open data: the exports of commitments and milestones, which anyone may fetch (they
show what the caller may see), and imports of an agency's spreadsheet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, g, request, stream_with_context
from flask.views import MethodView

from domain.values import ActorRole
from interfaces.api.docs import problems
from interfaces.api.http import MAX_BODY, ApiBlueprint, Command, reader, records, require_actor, requires, services
from interfaces.api.problems import PROBLEM_JSON, Problem
from interfaces.api.schemas import ExportedCommitment, ImportQuery, ImportResult, ProblemSchema
from interfaces.opendata import (
    commitments_csv,
    commitments_json,
    milestones_csv,
    outcome_document,
    read_import,
)

blp = ApiBlueprint(
    "opendata", __name__, url_prefix="/api/v1", description="Open data: exports for anyone, imports by agencies"
)

CSV = "text/csv"
JSON = "application/json"
WHO = "Public commitments, and the partners-only ones the caller (token or web session) may see."


def streamed(chunks: Iterator[str], mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blp.route("/export/commitments.csv")
class ExportCommitments(MethodView):
    @blp.alt_response(
        200, success=True, description=f"One row per commitment. {WHO}", content_type=CSV, schema={"type": "string"}
    )
    @blp.doc(operationId="exportCommitments")
    def get(self) -> Response:
        """Every commitment the caller may see, as CSV (anyone; streamed).

        Columns: ``external_ref``, ``title``, ``action_plan``, ``lead``, ``status``,
        ``completion``, ``assessed_completion``, ``starts_on``, ``ends_on``,
        ``milestones_due`` (the commitment's milestones), ``milestones_reached``,
        ``version``, ``id``. CRLF line ends, a header row, UTF-8; a cell starting with
        ``=``, ``+``, ``-``, ``@``, tab or CR is written with a leading ``'``."""
        return streamed(commitments_csv(services().ledger, reader()), CSV, "commitments.csv")


@blp.route("/export/commitments.json")
class ExportCommitmentsJson(MethodView):
    @blp.alt_response(
        200,
        success=True,
        description=f"An array of commitments, with the CSV's fields. {WHO}",
        content_type=JSON,
        schema=ExportedCommitment(many=True),
    )
    @blp.doc(operationId="exportCommitmentsJson")
    def get(self) -> Response:
        """Every commitment the caller may see, as a JSON array (anyone; streamed)."""
        return streamed(commitments_json(services().ledger, reader()), JSON, "commitments.json")


@blp.route("/export/milestones.csv")
class ExportMilestones(MethodView):
    @blp.alt_response(
        200, success=True, description=f"One row per milestone. {WHO}", content_type=CSV, schema={"type": "string"}
    )
    @blp.doc(operationId="exportMilestones")
    def get(self) -> Response:
        """Every milestone of the commitments the caller may see, as CSV (anyone; streamed).

        Columns: ``external_ref``, ``milestone_id``, ``title``, ``due_on``, ``reached_on``,
        ``evidence_url``."""
        return streamed(milestones_csv(services().ledger, reader()), CSV, "milestones.csv")


def csv_body() -> str:
    """The request body as CSV text: 413 over 1 MiB, 415 if it is not ``text/csv``, 400
    if it is not UTF-8 (a byte-order mark is skipped)."""
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise Problem(413, "the body is larger than 1 MiB", code="too-large")
    if request.mimetype != CSV:
        raise Problem(415, "send the file as text/csv", code="unsupported-media-type")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(400, "the body is not valid UTF-8", code="bad-csv") from None


@blp.route("/imports")
class Imports(MethodView):
    @requires(ActorRole.AGENCY)
    @problems(blp, 403, 409)
    @blp.alt_response(415, schema=ProblemSchema, content_type=PROBLEM_JSON, description="The body is not text/csv.")
    @blp.alt_response(
        422,
        schema=ProblemSchema,
        content_type=PROBLEM_JSON,
        description="Bad rows: ``errors`` lists each one's line, column and message, and nothing was recorded "
        "(or a bad query, or an Idempotency-Key used before with another request).",
    )
    @blp.arguments(ImportQuery, location="query")
    @records(blp, 200, ImportResult, etag=False)
    @blp.doc(
        operationId="importCommitments",
        requestBody={
            "required": True,
            "description": "The import file (at most 1 MiB).",
            "content": {CSV: {"schema": {"type": "string"}}},
        },
    )
    def post(self, query: dict[str, Any]) -> Command:
        """Import commitments and milestones from CSV, all or nothing (an agency).

        Columns (header names exact, order free): ``external_ref``, ``title``,
        ``description``, ``action_plan``, ``starts_on``, ``ends_on``, ``ogp_values``
        (``;``-separated), ``milestone_title``, ``milestone_due_on``,
        ``milestone_reached_on``, ``evidence_url``, ``reason``; one row per milestone.
        A new ``external_ref`` creates a commitment led by the calling agency; a known one
        it leads is amended where cells differ (``reason`` needed); milestones are matched
        by title: new ones are added, a changed due date reschedules, a
        ``milestone_reached_on`` marks one reached. One bad row and nothing is recorded;
        importing the same file again records nothing. ``dry_run=true`` lists the events
        it would record."""
        text = csv_body()
        actor = require_actor()
        rows, bad_rows = read_import(text)
        request_id = str(g.get("request_id"))
        return Command(
            lambda idempotency: services().ledger.import_rows(
                rows,
                bad_rows=bad_rows,
                actor=actor,
                request_id=request_id,
                dry_run=query["dry_run"],
                idempotency=idempotency,
            ),
            outcome_document,
        )
