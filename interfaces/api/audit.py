"""The auditors' API: the ordered event log, checkpoints, proofs, verification and
exports. Checkpoints and proofs are public (they reveal hashes only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView

from domain.values import ActorRole
from interfaces.api.docs import problems
from interfaces.api.http import ApiBlueprint, Command, records, requires, services
from interfaces.api.schemas import (
    CheckpointHistoryQuery,
    CheckpointPage,
    CheckpointSchema,
    ConsistencyProof,
    ConsistencyQuery,
    EventList,
    InclusionProof,
    InclusionQuery,
    LogQuery,
    PublicKeySchema,
    VerificationSchema,
)

blp = ApiBlueprint("audit", __name__, url_prefix="/api/v1", description="The verifiable event log (auditors)")

AUDITORS = (ActorRole.AUDITOR, ActorRole.ADMIN)
# Those who read the whole record: auditors, independent assessors and admins.
READERS = tuple(role for role in ActorRole if role.sees_everything)
NDJSON = "application/x-ndjson"


@blp.route("/events")
class Events(MethodView):
    @requires(*READERS)
    @problems(blp, 403)
    @blp.arguments(LogQuery, location="query")
    @blp.response(200, EventList)
    @blp.doc(operationId="listEvents")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The whole log in order, by cursor (``after`` is a position)."""
        items, last = services().auditor.events(query["after"], query["limit"])
        return {"items": items, "next": str(last) if last is not None else None}


@blp.route("/audit/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(200, CheckpointSchema)
    @blp.doc(operationId="getCheckpoint")
    def get(self) -> dict[str, Any]:
        """A signed checkpoint at the log's current size."""
        return services().auditor.checkpoint().document()


@blp.route("/audit/checkpoints")
class CheckpointHistory(MethodView):
    @blp.arguments(CheckpointHistoryQuery, location="query")
    @blp.response(200, CheckpointPage)
    @blp.doc(operationId="listCheckpoints")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every checkpoint the service has issued, newest first (``next`` is a tree size)."""
        found = services().auditor.checkpoints.history(query["limit"] + 1, query["before"])
        items = found[: query["limit"]]
        more = len(found) > query["limit"]
        return {"items": [c.document() for c in items], "next": str(items[-1].tree_size) if more else None}


@blp.route("/audit/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeySchema)
    @blp.doc(operationId="getPublicKey")
    def get(self) -> dict[str, Any]:
        """The Ed25519 key that signs checkpoints (get it on a path of your own too).

        ``note_verifier_key`` is the same key as a signed-note verifier key, for the
        signed checkpoint at ``/log/checkpoint``."""
        return services().transparency.public_key()


@blp.route("/audit/proofs/inclusion")
class Inclusion(MethodView):
    @blp.arguments(InclusionQuery, location="query")
    @blp.response(200, InclusionProof)
    @blp.doc(operationId="getInclusionProof")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 2.1.3: the audit path of the leaf at ``position`` in the tree of ``tree_size``."""
        return services().auditor.inclusion(query["position"], query["tree_size"])


@blp.route("/audit/proofs/consistency")
class Consistency(MethodView):
    @blp.arguments(ConsistencyQuery, location="query")
    @blp.response(200, ConsistencyProof)
    @blp.doc(operationId="getConsistencyProof")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 2.1.4: proof that the tree of ``second`` leaves extends the tree of ``first``."""
        return services().auditor.consistency(query["first"], query["second"])


@blp.route("/audit/verifications")
class Verifications(MethodView):
    @requires(*AUDITORS)
    @problems(blp, 403)
    @records(blp, 200, VerificationSchema, etag=False)
    @blp.doc(operationId="verifyLog")
    def post(self) -> Command:
        """Recompute every leaf and root from the stored events.

        The report names the first bad position, if any."""
        return Command(lambda idempotency: services().auditor.verify(idempotency=idempotency), asdict)


@blp.route("/export/events.jsonl")
class ExportEvents(MethodView):
    @requires(*READERS)
    @problems(blp, 403)
    @blp.alt_response(
        200,
        success=True,
        description="The whole log, one event document per line, streamed.",
        content_type=NDJSON,
        schema={"type": "string"},
    )
    @blp.doc(operationId="exportEvents")
    def get(self) -> Response:
        """The whole log as JSON Lines, streamed in constant memory."""
        return Response(stream_with_context(services().auditor.export_chunks()), mimetype=NDJSON)
