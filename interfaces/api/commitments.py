"""``/api/v1/commitments``: agencies record commitments, milestones and progress;
partners record joint actions and respond to them; assessors record assessments; anyone
reads what it may."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from flask import g
from flask.views import MethodView

from application.ledger import CommandResult
from domain.values import ActorRole
from interfaces.api.docs import WRITE, if_match, problems
from interfaces.api.http import (
    ApiBlueprint,
    Command,
    current_actor,
    etag_of,
    expected_version,
    json_body,
    records,
    require_actor,
    requires,
    services,
)
from interfaces.api.problems import Problem
from interfaces.api.schemas import (
    ActionRecord,
    ActionRecorded,
    ActionRespond,
    ActionSchema,
    ActionWithdrawal,
    AssessmentList,
    AssessmentRecord,
    AssessmentRecorded,
    CommitmentAmend,
    CommitmentChanged,
    CommitmentCreate,
    CommitmentListQuery,
    CommitmentQuery,
    CommitmentSchema,
    DiffQuery,
    DiffSchema,
    EventList,
    MilestoneAdd,
    MilestoneAdded,
    MilestoneChange,
    MilestoneReach,
    PageQuery,
    PartnerAdd,
    PartnerJoined,
    ProgressRecorded,
    ProgressReport,
    ReasonQuery,
    ResponseRecorded,
    SummaryPage,
    TimelinePage,
    Withdrawal,
)
from interfaces.api.views import done, entry_doc, page, summary_doc

blp = ApiBlueprint("commitments", __name__, url_prefix="/api/v1", description="Commitments and their history")

ETAG_HEADER = {"ETag": {"description": "The commitment's version, quoted", "schema": {"type": "string"}}}
ACTION_ETAG = {"ETag": {"description": "The joint action's version, quoted", "schema": {"type": "string"}}}


def request_id() -> str:
    return str(g.get("request_id") or uuid4().hex)


def version_for(commitment_id: UUID, *, required: bool = False) -> int | None:
    ledger = services().ledger
    return expected_version(required=required, current=lambda: ledger.current_version(commitment_id, current_actor()))


def by_caller(commitment_id: UUID) -> dict[str, Any]:
    """Who is changing the commitment, in which request, from which version (If-Match)."""
    return {"actor": require_actor(), "request_id": request_id(), "expected_version": version_for(commitment_id)}


def changed(result: CommandResult) -> dict[str, Any]:
    """A commitment after a command, with the log position of its last event."""
    return services().ledger.changed_document(result)


def by_caller_of_action(commitment_id: UUID, action_id: UUID) -> dict[str, Any]:
    """Who is changing the joint action, in which request, from which of the action's
    versions (``If-Match`` names the action's ETag)."""
    ledger = services().ledger
    version = expected_version(
        required=False,
        current=lambda: int(ledger.get_action(commitment_id, action_id, current_actor())["version"]),
    )
    return {"actor": require_actor(), "request_id": request_id(), "expected_version": version}


def action_changed(result: CommandResult, action_id: UUID) -> tuple[dict[str, Any], dict[str, str]]:
    """A joint action after a command, with the log position of the command's event and
    the action's own ETag."""
    action = result.action(action_id)
    return {**action, "position": result.position}, {"ETag": etag_of(action["version"])}


@blp.route("/commitments")
class Commitments(MethodView):
    @blp.arguments(CommitmentListQuery, location="query")
    @blp.response(200, SummaryPage)
    @blp.doc(operationId="listCommitments")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the commitments the caller may see (search ignores case and macrons)."""
        result = services().ledger.list_commitments(current_actor(), **query)
        return page(result, summary_doc)

    @requires(ActorRole.AGENCY)
    @problems(blp, *WRITE)
    @blp.arguments(CommitmentCreate)
    @records(blp, 201, CommitmentChanged, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
    @blp.doc(operationId="createCommitment")
    def post(self, body: dict[str, Any]) -> Command:
        """Create a commitment; the calling agency becomes its lead."""
        return Command(
            lambda idempotency: services().ledger.create_commitment(
                **body, actor=require_actor(), request_id=request_id(), idempotency=idempotency
            ),
            lambda result: (changed(result), {"Location": f"/api/v1/commitments/{result.aggregate_id}"}),
        )


@blp.route("/commitments/<uuid:commitment_id>")
class CommitmentResource(MethodView):
    @blp.arguments(CommitmentQuery, location="query")
    @blp.response(200, CommitmentSchema, headers=ETAG_HEADER)
    @blp.doc(operationId="getCommitment")
    def get(self, query: dict[str, Any], commitment_id: UUID) -> Any:
        """Read a commitment as it is, or as it was.

        As it was at ``version``, or as it was recorded to be at the instant ``as_of``."""
        if query["version"] is not None and query["as_of"] is not None:
            raise Problem(
                422,
                "give version or as_of, not both",
                code="conflicting-query",
                errors={"version": ["give version or as_of, not both"]},
            )
        document = services().ledger.get_commitment(commitment_id, current_actor(), **query)
        return document, 200, {"ETag": etag_of(document["version"])}

    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(CommitmentAmend)
    @blp.response(200, CommitmentChanged, headers=ETAG_HEADER)
    @if_match(required=True)
    @blp.doc(operationId="amendCommitment")
    def patch(self, body: dict[str, Any], commitment_id: UUID) -> Any:
        """Amend fields of the commitment (a lead; ``reason`` and ``If-Match`` required)."""
        reason = body.pop("reason")
        result = services().ledger.amend_commitment(
            commitment_id,
            changes=body,
            reason=reason,
            actor=require_actor(),
            request_id=request_id(),
            expected_version=version_for(commitment_id, required=True),
        )
        return changed(result), 200, {"ETag": etag_of(result.version)}


@blp.route("/commitments/<uuid:commitment_id>/partners")
class CommitmentPartners(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(PartnerAdd)
    @records(blp, 201, PartnerJoined, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="addPartner")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """A lead brings a registered partner into the commitment."""
        caller = by_caller(commitment_id)
        return Command(
            lambda idempotency: services().ledger.add_partner(commitment_id, **body, **caller, idempotency=idempotency),
            lambda result: done(result, partner=result.part("partners", body["partner_id"])),
        )


@blp.route("/commitments/<uuid:commitment_id>/partners/<uuid:partner_id>")
class CommitmentPartner(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(ReasonQuery, location="query")
    @blp.response(200, CommitmentChanged, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(
        operationId="removePartner",
        requestBody={
            "required": False,
            "content": {"application/json": {"schema": "ReasonBody"}},
        },
    )
    def delete(self, query: dict[str, Any], commitment_id: UUID, partner_id: UUID) -> Any:
        """A lead removes a partner, or the partner leaves.

        The ``reason`` goes in the query or in the body."""
        body = json_body()
        unknown = sorted(set(body) - {"reason"})
        if unknown:
            raise Problem(422, "unknown fields", code="unknown-fields", errors={k: ["Unknown field."] for k in unknown})
        reason = query.get("reason") or body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise Problem(422, "a reason is required", code="missing-reason", errors={"reason": ["Required."]})
        result = services().ledger.remove_partner(
            commitment_id,
            partner_id=partner_id,
            reason=reason,
            actor=require_actor(),
            request_id=request_id(),
            expected_version=version_for(commitment_id),
        )
        return changed(result), 200, {"ETag": etag_of(result.version)}


@blp.route("/commitments/<uuid:commitment_id>/milestones")
class Milestones(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(MilestoneAdd)
    @records(blp, 201, MilestoneAdded, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="addMilestone")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """A lead or support agency adds a milestone."""
        caller = by_caller(commitment_id)
        return Command(
            lambda idempotency: services().ledger.add_milestone(
                commitment_id, **body, **caller, idempotency=idempotency
            ),
            lambda result: done(result, **result.part("milestones", result.created_id)),
        )


@blp.route("/commitments/<uuid:commitment_id>/milestones/<uuid:milestone_id>")
class MilestoneResource(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(MilestoneChange)
    @records(blp, 200, MilestoneAdded, headers=ETAG_HEADER)
    @if_match(required=True)
    @blp.doc(operationId="changeMilestone")
    def patch(self, body: dict[str, Any], commitment_id: UUID, milestone_id: UUID) -> Command:
        """A lead or support agency retitles or reschedules a milestone, giving a reason.

        ``If-Match`` (the commitment's ETag) is required. A reached milestone stays as
        it was (409)."""
        caller = {**by_caller(commitment_id), "expected_version": version_for(commitment_id, required=True)}
        return Command(
            lambda idempotency: services().ledger.change_milestone(
                commitment_id, milestone_id, **body, **caller, idempotency=idempotency
            ),
            lambda result: done(result, **result.part("milestones", milestone_id)),
        )


@blp.route("/commitments/<uuid:commitment_id>/milestones/<uuid:milestone_id>/reached")
class MilestoneReached(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(MilestoneReach)
    @records(blp, 200, MilestoneAdded, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="reachMilestone")
    def post(self, body: dict[str, Any], commitment_id: UUID, milestone_id: UUID) -> Command:
        """A lead or support agency reports the milestone reached (once)."""
        caller = by_caller(commitment_id)
        return Command(
            lambda idempotency: services().ledger.reach_milestone(
                commitment_id, milestone_id, **body, **caller, idempotency=idempotency
            ),
            lambda result: done(result, **result.part("milestones", milestone_id)),
        )


@blp.route("/commitments/<uuid:commitment_id>/actions")
class Actions(MethodView):
    @requires(ActorRole.AGENCY, ActorRole.COMMUNITY)
    @problems(blp, *WRITE)
    @blp.arguments(ActionRecord)
    @records(blp, 201, ActionRecorded, headers={**ACTION_ETAG, "Location": {"schema": {"type": "string"}}})
    @if_match()
    @blp.doc(operationId="recordAction")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """A partner (an agency or a community partner) records a joint action.

        It names at least one other current partner of the commitment, who each confirm
        or dispute it. ``If-Match``, if sent, names the commitment's version; the
        response's ``ETag`` is the new action's."""
        caller = by_caller(commitment_id)

        def render(result: CommandResult) -> tuple[dict[str, Any], dict[str, str]]:
            assert result.created_id is not None
            body, headers = action_changed(result, result.created_id)
            return body, {**headers, "Location": f"/api/v1/commitments/{commitment_id}/actions/{result.created_id}"}

        return Command(
            lambda idempotency: services().ledger.record_joint_action(
                commitment_id, **body, **caller, idempotency=idempotency
            ),
            render,
        )


@blp.route("/commitments/<uuid:commitment_id>/actions/<uuid:action_id>")
class ActionResource(MethodView):
    @blp.response(200, ActionSchema, headers=ACTION_ETAG)
    @blp.doc(operationId="getAction")
    def get(self, commitment_id: UUID, action_id: UUID) -> Any:
        """Read one joint action of a commitment: its claim, responses and status."""
        document = services().ledger.get_action(commitment_id, action_id, current_actor())
        return document, 200, {"ETag": etag_of(document["version"])}


@blp.route("/commitments/<uuid:commitment_id>/actions/<uuid:action_id>/withdrawal")
class ActionWithdraw(MethodView):
    @requires(ActorRole.AGENCY, ActorRole.COMMUNITY)
    @problems(blp, *WRITE)
    @blp.arguments(ActionWithdrawal)
    @records(blp, 200, ActionRecorded, headers=ACTION_ETAG)
    @if_match()
    @blp.doc(operationId="withdrawAction")
    def post(self, body: dict[str, Any], commitment_id: UUID, action_id: UUID) -> Command:
        """The partner that recorded a joint action withdraws it, giving a reason.

        A withdrawn action stays on the record, marked so, and takes no responses.
        ``If-Match``, if sent, names the action's version."""
        caller = by_caller_of_action(commitment_id, action_id)
        return Command(
            lambda idempotency: services().ledger.withdraw_action(
                commitment_id, action_id, **body, **caller, idempotency=idempotency
            ),
            lambda result: action_changed(result, action_id),
        )


@blp.route("/commitments/<uuid:commitment_id>/actions/<uuid:action_id>/responses")
class ActionResponses(MethodView):
    @requires(ActorRole.AGENCY, ActorRole.COMMUNITY)
    @problems(blp, *WRITE)
    @blp.arguments(ActionRespond)
    @records(blp, 201, ResponseRecorded, headers=ACTION_ETAG)
    @if_match()
    @blp.doc(operationId="respondToAction")
    def post(self, body: dict[str, Any], commitment_id: UUID, action_id: UUID) -> Command:
        """A partner named in the joint action, still a partner, confirms or disputes it.

        Once, and not after it has left the commitment (409). ``If-Match``, if sent,
        names the action's version."""
        caller = by_caller_of_action(commitment_id, action_id)
        responder = str(caller["actor"].id)

        def render(result: CommandResult) -> tuple[dict[str, Any], dict[str, str]]:
            action, headers = action_changed(result, action_id)
            response = next(r for r in action["responses"] if r["partner_id"] == responder)
            body = {
                "commitment_id": commitment_id,
                "version": action["version"],
                "position": result.position,
                "action_id": action_id,
                "response": response,
            }
            return body, headers

        return Command(
            lambda idempotency: services().ledger.respond_to_action(
                commitment_id, action_id, **body, **caller, idempotency=idempotency
            ),
            render,
        )


@blp.route("/commitments/<uuid:commitment_id>/assessments")
class Assessments(MethodView):
    @blp.response(200, AssessmentList)
    @blp.doc(operationId="listAssessments")
    def get(self, commitment_id: UUID) -> dict[str, Any]:
        """The commitment's independent assessments, oldest first."""
        return {"items": services().ledger.assessments(commitment_id, current_actor()), "next": None}

    @requires(ActorRole.ASSESSOR)
    @problems(blp, *WRITE)
    @blp.arguments(AssessmentRecord)
    @records(blp, 201, AssessmentRecorded, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="recordAssessment")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """An independent assessor records its assessment of the commitment.

        On the OGP Independent Reporting Mechanism's scales; shown apart from the
        agencies' own progress reports."""
        caller = by_caller(commitment_id)

        def render(result: CommandResult) -> dict[str, Any]:
            assessment = next(a for a in result.assessments() if a["id"] == str(result.created_id))
            return done(result, **assessment)

        return Command(
            lambda idempotency: services().ledger.record_assessment(
                commitment_id, **body, **caller, idempotency=idempotency
            ),
            render,
        )


@blp.route("/commitments/<uuid:commitment_id>/progress")
class Progress(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(ProgressReport)
    @records(blp, 201, ProgressRecorded, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="reportProgress")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """A lead reports completion on OGP's scale, as at the date the report describes."""
        caller = by_caller(commitment_id)
        return Command(
            lambda idempotency: services().ledger.report_progress(
                commitment_id, **body, **caller, idempotency=idempotency
            ),
            lambda result: done(result, report=result.completion()),
        )


@blp.route("/commitments/<uuid:commitment_id>/withdrawal")
class Withdraw(MethodView):
    @requires()
    @problems(blp, *WRITE)
    @blp.arguments(Withdrawal)
    @records(blp, 200, CommitmentChanged, headers=ETAG_HEADER)
    @if_match()
    @blp.doc(operationId="withdrawCommitment")
    def post(self, body: dict[str, Any], commitment_id: UUID) -> Command:
        """A lead withdraws the commitment; it then accepts no further change."""
        caller = by_caller(commitment_id)
        return Command(
            lambda idempotency: services().ledger.withdraw_commitment(
                commitment_id, **body, **caller, idempotency=idempotency
            ),
            changed,
        )


@blp.route("/commitments/<uuid:commitment_id>/timeline")
class Timeline(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, TimelinePage)
    @blp.doc(operationId="getCommitmentTimeline")
    def get(self, query: dict[str, Any], commitment_id: UUID) -> dict[str, Any]:
        """The commitment's shared timeline, newest first."""
        result = services().ledger.timeline(commitment_id, current_actor(), **query)
        return page(result, entry_doc)


@blp.route("/commitments/<uuid:commitment_id>/events")
class Events(MethodView):
    @requires()
    @problems(blp, 403)
    @blp.response(200, EventList)
    @blp.doc(operationId="getCommitmentEvents")
    def get(self, commitment_id: UUID) -> dict[str, Any]:
        """Every event of the commitment in version order.

        For auditors, assessors, admins and the commitment's partners."""
        actor = require_actor()
        ledger = services().ledger
        document = ledger.get_commitment(commitment_id, actor)
        if not actor.role.sees_everything and not any(p["id"] == str(actor.id) for p in document["partners"]):
            raise Problem(
                403, "only auditors, assessors, admins and the commitment's partners read its events", code="forbidden"
            )
        return {"items": ledger.commitment_history(commitment_id, actor), "next": None}


@blp.route("/commitments/<uuid:commitment_id>/diff")
class Diff(MethodView):
    @blp.arguments(DiffQuery, location="query")
    @blp.response(200, DiffSchema)
    @blp.doc(operationId="diffCommitment")
    def get(self, query: dict[str, Any], commitment_id: UUID) -> dict[str, Any]:
        """Field-level changes between two versions, relations included."""
        changes = services().ledger.diff(commitment_id, query["from_"], query["to"], current_actor())
        return {"commitment_id": commitment_id, "from_": query["from_"], "to": query["to"], "changes": changes}
