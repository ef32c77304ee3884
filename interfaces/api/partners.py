"""``/api/v1/partners``: the partner directory (admins register, any token reads)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from domain.values import ActorRole
from interfaces.api.commitments import request_id
from interfaces.api.docs import WRITE, if_match, problems
from interfaces.api.http import (
    ApiBlueprint,
    Command,
    etag_of,
    expected_version,
    records,
    require_actor,
    requires,
    services,
)
from interfaces.api.problems import Problem
from interfaces.api.schemas import (
    PageQuery,
    PartnerCreate,
    PartnerCreated,
    PartnerListQuery,
    PartnerPage,
    PartnerRename,
    PartnerSchema,
    TimelinePage,
)
from interfaces.api.views import entry_doc, page, partner_row_doc

PARTNER_ETAG = {"ETag": {"description": "The partner's version, quoted", "schema": {"type": "string"}}}

blp = ApiBlueprint("partners", __name__, url_prefix="/api/v1", description="Partners: agencies and community partners")


@blp.route("/partners")
class Partners(MethodView):
    @requires()
    @blp.arguments(PartnerListQuery, location="query")
    @blp.response(200, PartnerPage)
    @blp.doc(operationId="listPartners")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List registered partners (search ignores case and macrons)."""
        return page(services().ledger.list_partners(**query), partner_row_doc)

    @requires(ActorRole.ADMIN)
    @problems(blp, *WRITE)
    @blp.arguments(PartnerCreate)
    @records(blp, 201, PartnerCreated, headers={"Location": {"schema": {"type": "string"}}}, etag=False)
    @blp.doc(operationId="registerPartner")
    def post(self, body: dict[str, Any]) -> Command:
        """Register a partner (admins)."""
        return Command(
            lambda idempotency: services().ledger.register_partner(
                **body, actor=require_actor(), request_id=request_id(), idempotency=idempotency
            ),
            lambda result: (
                {**result.document, "position": result.position},
                {"Location": f"/api/v1/partners/{result.aggregate_id}"},
            ),
        )


@blp.route("/partners/<uuid:partner_id>")
class PartnerResource(MethodView):
    @requires()
    @blp.response(200, PartnerSchema, headers=PARTNER_ETAG)
    @blp.doc(operationId="getPartner")
    def get(self, partner_id: UUID) -> Any:
        """Read one partner."""
        document = services().ledger.get_partner(partner_id)
        return document, 200, {"ETag": etag_of(document["version"])}

    @requires(ActorRole.ADMIN)
    @problems(blp, *WRITE)
    @blp.arguments(PartnerRename)
    @records(blp, 200, PartnerCreated, headers=PARTNER_ETAG)
    @if_match()
    @blp.doc(operationId="renamePartner")
    def patch(self, body: dict[str, Any], partner_id: UUID) -> Command:
        """Rename a partner, giving a reason (admins).

        Commitment documents, search and later timeline sentences use the new name;
        earlier timeline entries keep the name as it was. ``If-Match``, if sent, names
        the partner's version."""
        ledger = services().ledger
        version = expected_version(required=False, current=lambda: int(ledger.get_partner(partner_id)["version"]))
        return Command(
            lambda idempotency: ledger.rename_partner(
                partner_id,
                **body,
                actor=require_actor(),
                request_id=request_id(),
                expected_version=version,
                idempotency=idempotency,
            ),
            lambda result: {**result.document, "position": result.position},
        )


@blp.route("/partners/<uuid:partner_id>/timeline")
class PartnerTimeline(MethodView):
    @requires()
    @problems(blp, 403)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, TimelinePage)
    @blp.doc(operationId="getPartnerTimeline")
    def get(self, query: dict[str, Any], partner_id: UUID) -> dict[str, Any]:
        """Timeline entries of every commitment the partner belongs to, newest first.

        For that partner, auditors, assessors and admins."""
        actor = require_actor()
        if not actor.role.sees_everything and actor.id != partner_id:
            raise Problem(
                403, "only the partner itself, auditors, assessors and admins read this timeline", code="forbidden"
            )
        return page(services().ledger.partner_timeline(partner_id, actor, **query), entry_doc)
