"""``/api/v1/plans``: action plans with the roll-up of their commitments (anyone reads;
admins record and amend)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from application.core import CommandResult
from domain.action_plan import ActionPlan
from domain.values import ActorRole
from interfaces.api.commitments import request_id
from interfaces.api.docs import WRITE, if_match, problems
from interfaces.api.http import (
    ApiBlueprint,
    Command,
    current_actor,
    etag_of,
    expected_version,
    records,
    require_actor,
    requires,
    services,
)
from interfaces.api.schemas import PlanAmend, PlanChanged, PlanCreate, PlanList, PlanSchema

PLAN_ETAG = {"ETag": {"description": "The plan's version, quoted", "schema": {"type": "string"}}}

blp = ApiBlueprint("plans", __name__, url_prefix="/api/v1", description="Action plans and their roll-ups")


def changed(result: CommandResult) -> dict[str, Any]:
    """The plan after the command, rolled up for the admin who made it."""
    assert isinstance(result.aggregate, ActionPlan)
    rollup = services().ledger.rollup_of(result.aggregate, require_actor())
    return {**rollup.document, "position": result.position}


@blp.route("/plans")
class Plans(MethodView):
    @blp.response(200, PlanList)
    @blp.doc(operationId="listPlans")
    def get(self) -> dict[str, Any]:
        """Every action plan, the latest first, with its roll-up.

        Each roll-up counts the commitments the caller may see."""
        return {"items": services().ledger.list_plans(current_actor())}

    @requires(ActorRole.ADMIN)
    @problems(blp, *WRITE)
    @blp.arguments(PlanCreate)
    @records(blp, 201, PlanChanged, headers={"Location": {"schema": {"type": "string"}}, **PLAN_ETAG})
    @blp.doc(operationId="createPlan")
    def post(self, body: dict[str, Any]) -> Command:
        """Record an action plan (admins).

        Commitments whose ``action_plan`` is its name belong to it. No two plans share a
        name, now or formerly (409)."""
        return Command(
            lambda idempotency: services().ledger.create_plan(
                **body, actor=require_actor(), request_id=request_id(), idempotency=idempotency
            ),
            lambda result: (changed(result), {"Location": f"/api/v1/plans/{result.aggregate_id}"}),
        )


@blp.route("/plans/<uuid:plan_id>")
class PlanResource(MethodView):
    @blp.response(200, PlanSchema, headers=PLAN_ETAG)
    @blp.doc(operationId="getPlan")
    def get(self, plan_id: UUID) -> Any:
        """Read one action plan, its amendments and its roll-up.

        The roll-up counts the commitments the caller may see."""
        document = services().ledger.get_plan(plan_id, current_actor())
        return document, 200, {"ETag": etag_of(document["version"])}

    @requires(ActorRole.ADMIN)
    @problems(blp, *WRITE)
    @blp.arguments(PlanAmend)
    @records(blp, 200, PlanChanged, headers=PLAN_ETAG)
    @if_match(required=True)
    @blp.doc(operationId="amendPlan")
    def patch(self, body: dict[str, Any], plan_id: UUID) -> Command:
        """Amend a plan's name, period or status, giving a reason (admins).

        ``If-Match`` names the plan's version (its ETag). ``occurred_on`` is the date the
        change was made, today in New Zealand if not given. A status moves forward only;
        a renamed plan keeps its commitments (it answers to its former names)."""
        ledger = services().ledger
        version = expected_version(required=True, current=lambda: ledger.plan(plan_id).version)
        reason, occurred_on = body.pop("reason"), body.pop("occurred_on")
        return Command(
            lambda idempotency: ledger.amend_plan(
                plan_id,
                changes=body,
                reason=reason,
                occurred_on=occurred_on,
                actor=require_actor(),
                request_id=request_id(),
                expected_version=version,
                idempotency=idempotency,
            ),
            changed,
        )
