"""Marshmallow schemas of every request and response body of the REST API.

Requests and responses share their field types, so that the OpenAPI document types a
value the same way whichever way it travels: a date is a ``Day``, an instant an
``Instant``, a word of one of the domain's vocabularies an ``enum(...)`` (one named
component per vocabulary in the document)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from application.credentials import MadeWith
from application.documents import instant
from domain.values import (
    EARLIEST_DAY,
    LATEST_DAY,
    ActionStatus,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    PlanStatus,
    Response,
    Status,
    Visibility,
)


class EnumField(fields.Enum[Enum]):
    """A word of one of the domain's vocabularies, by its value. It loads the Enum member
    (or, with ``as_text``, its value, for the read models' queries); it dumps a member or
    a document's plain value alike."""

    def __init__(self, enum_type: type[Enum], *, as_text: bool = False, **kwargs: Any) -> None:
        super().__init__(enum_type, by_value=True, **kwargs)
        self.as_text = as_text

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        member = super()._deserialize(value, attr, data, **kwargs)
        return member.value if self.as_text else member


def enum(enum_type: type[Enum], **kwargs: Any) -> EnumField:
    return EnumField(enum_type, **kwargs)


class Day(fields.Date):
    """A calendar date, ``YYYY-MM-DD``; a document may already hold it as that text."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class Instant(fields.AwareDateTime):
    """An instant: any RFC 3339 time with its offset in; RFC 3339 UTC with microseconds
    out (``2026-11-27T02:09:45.123456Z``), kept as the document's own text when it is one
    (a checkpoint's ``issued_at`` is part of what was signed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return instant(value)


class Cursor(fields.Integer):
    """A list cursor that is a number (a log position, a tree size): digits on the wire,
    as every list's ``next`` is, and an int to the view."""

    DIGITS = re.compile(r"[0-9]{1,18}")

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(metadata={"pattern": f"^{self.DIGITS.pattern}$", **(metadata or {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not self.DIGITS.fullmatch(value):
            raise self.make_error("invalid")
        return int(value)


class QuerySchema(Schema):
    """Query parameters. A query string cannot say null, so an optional parameter is
    documented as optional, never as nullable, and reaches the view as None when absent."""

    @post_load
    def absent_as_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {**dict.fromkeys(self.load_fields), **data}


# -- problems ------------------------------------------------------------------


ROW_ERROR = {
    "type": "object",
    "required": ["line", "column", "message"],
    "properties": {
        "line": {"type": "integer", "description": "The row's line in the file (the header is line 1)."},
        "column": {"type": "string", "description": "The column at fault (empty for the row as a whole)."},
        "message": {"type": "string"},
    },
}


class ProblemSchema(Schema):
    """RFC 9457 problem details. ``errors`` names each field at fault with its messages;
    for the bad rows of an import, it lists each row's line, column and message."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Raw(
        metadata={
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                {"type": "array", "items": ROW_ERROR},
            ]
        }
    )
    request_id = fields.String()


# -- lists -----------------------------------------------------------------------


class PageQuery(QuerySchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    after = fields.String(validate=validate.Length(max=40))


class CommitmentListQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=200))
    action_plan = fields.String(validate=validate.Length(max=200))
    partner_id = fields.UUID()
    status = enum(Status, as_text=True)


class PartnerListQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=200))
    kind = enum(PartnerKind, as_text=True)


# -- partners ------------------------------------------------------------------


class PartnerCreate(Schema):
    name = fields.String(required=True)
    kind = enum(PartnerKind, required=True)
    external_ref = fields.String(load_default=None, allow_none=True)


class PartnerSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = enum(PartnerKind, required=True)
    external_ref = fields.String(required=True, allow_none=True)
    registered_at = Instant(required=True)


class PartnerCreated(PartnerSchema):
    version = fields.Integer(required=True)
    position = fields.Integer(required=True)


class PartnerRename(Schema):
    name = fields.String(required=True)
    reason = fields.String(required=True)


class PartnerPage(Schema):
    items = fields.List(fields.Nested(PartnerSchema), required=True)
    next = fields.String(required=True, allow_none=True)


# -- commitments -----------------------------------------------------------------


class CommitmentCreate(Schema):
    title = fields.String(required=True)
    description = fields.String(load_default="")
    action_plan = fields.String(required=True)
    external_ref = fields.String(required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    ogp_values = fields.List(enum(OgpValue), load_default=list)
    visibility = enum(Visibility, load_default=Visibility.PUBLIC)


class CommitmentAmend(Schema):
    title = fields.String()
    description = fields.String()
    starts_on = Day()
    ends_on = Day()
    ogp_values = fields.List(enum(OgpValue))
    visibility = enum(Visibility)
    reason = fields.String(required=True)


EARLIEST_INSTANT = datetime.combine(EARLIEST_DAY, time(), UTC)
LATEST_INSTANT = datetime.combine(LATEST_DAY, time.max, UTC)


def instant_in_range(value: datetime) -> None:
    """An instant from 1900-01-01 to 2199-12-31 (UTC). Its own offset is applied only once
    its date is known to be near the range: near year 1 or 9999 it would overflow."""
    near = EARLIEST_DAY - timedelta(days=1) <= value.date() <= LATEST_DAY + timedelta(days=1)
    if not near or not EARLIEST_INSTANT <= value.astimezone(UTC) <= LATEST_INSTANT:
        raise ValidationError(f"must be between {EARLIEST_DAY} and {LATEST_DAY}")


class CommitmentQuery(QuerySchema):
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    as_of = Instant(
        validate=instant_in_range,
        metadata={"description": "An instant from 1900-01-01T00:00:00Z to 2199-12-31T23:59:59.999999Z."},
    )


class PartnerAdd(Schema):
    partner_id = fields.UUID(required=True)
    role = enum(PartnerRole, required=True)
    joined_on = Day(
        load_default=None,
        allow_none=True,
        metadata={"description": "The date the partnership began, if not the day it is recorded (not in the future)."},
    )


class ReasonQuery(QuerySchema):
    # A query string must fit in a request line (see the 414 problem): long reasons go in the body.
    reason = fields.String(validate=validate.Length(max=500))


class ReasonBody(Schema):
    reason = fields.String(load_default=None)


class MilestoneAdd(Schema):
    title = fields.String(required=True)
    due_on = Day(required=True)


class MilestoneChange(Schema):
    title = fields.String()
    due_on = Day()
    reason = fields.String(required=True)


class MilestoneReach(Schema):
    reached_on = Day(required=True)
    evidence_url = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)


class ActionRecord(Schema):
    summary = fields.String(required=True)
    occurred_on = Day(required=True)
    partner_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=100))
    evidence_url = fields.String(load_default=None, allow_none=True)


class ActionRespond(Schema):
    response = enum(Response, required=True)
    note = fields.String(load_default=None, allow_none=True)


class ProgressReport(Schema):
    completion = enum(Completion, required=True)
    note = fields.String(required=True)
    as_of = Day(
        load_default=None,
        allow_none=True,
        metadata={"description": "The date the report describes (default: today in New Zealand; not in the future)."},
    )


class AssessmentRecord(Schema):
    stage = enum(AssessmentStage, required=True)
    assessed_on = Day(required=True)
    completion = enum(Completion, required=True)
    did_it_open_government = enum(OpenedGovernment, load_default=None, allow_none=True)
    starred = fields.Boolean(load_default=False)
    report_url = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)


class ActionWithdrawal(Schema):
    reason = fields.String(required=True)


class Withdrawal(Schema):
    reason = fields.String(required=True)


class DiffQuery(QuerySchema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1, max=2**31 - 1))
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class MembershipSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = enum(PartnerKind, required=True)
    role = enum(PartnerRole, required=True)
    joined_at = Instant(required=True, metadata={"description": "When the membership was recorded."})
    joined_on = Day(
        required=True, allow_none=True, metadata={"description": "The date the partnership began, where given."}
    )


class MilestoneSchema(Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    due_on = Day(required=True)
    reached_on = Day(required=True, allow_none=True)
    evidence_url = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)


class ResponseSchema(Schema):
    partner_id = fields.UUID(required=True)
    response = enum(Response, required=True)
    note = fields.String(required=True, allow_none=True)
    responded_at = Instant(required=True)


class ActionSchema(Schema):
    id = fields.UUID(required=True)
    commitment_id = fields.UUID(required=True)
    summary = fields.String(required=True)
    occurred_on = Day(required=True)
    recorded_by = fields.UUID(required=True)
    partner_ids = fields.List(fields.UUID(), required=True)
    evidence_url = fields.String(required=True, allow_none=True)
    responses = fields.List(fields.Nested(ResponseSchema), required=True)
    status = enum(ActionStatus, required=True)
    withdrawal_reason = fields.String(required=True, allow_none=True)
    version = fields.Integer(
        required=True, metadata={"description": "The action's own version (its ETag): it counts its events."}
    )


class AssessorRef(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class AssessmentSchema(Schema):
    id = fields.UUID(required=True)
    stage = enum(AssessmentStage, required=True)
    assessed_on = Day(required=True)
    completion = enum(Completion, required=True)
    did_it_open_government = enum(OpenedGovernment, required=True, allow_none=True)
    starred = fields.Boolean(required=True)
    report_url = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    assessor = fields.Nested(AssessorRef, required=True)
    recorded_at = Instant(required=True)


class AssessmentList(Schema):
    items = fields.List(fields.Nested(AssessmentSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class ProgressSchema(Schema):
    """A progress report as recorded: what the lead sent, the date it describes
    (null for reports recorded before reports said it) and when it was recorded."""

    completion = enum(Completion, required=True)
    note = fields.String(required=True)
    as_of = Day(required=True, allow_none=True)
    reported_at = Instant(required=True)


class CommitmentSchema(Schema):
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    action_plan = fields.String(required=True)
    external_ref = fields.String(required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    ogp_values = fields.List(enum(OgpValue), required=True)
    visibility = enum(Visibility, required=True)
    status = enum(Status, required=True)
    withdrawal_reason = fields.String(required=True, allow_none=True)
    completion = fields.Nested(ProgressSchema, required=True, allow_none=True)
    progress = fields.List(fields.Nested(ProgressSchema), required=True)
    assessed_completion = enum(
        Completion,
        required=True,
        allow_none=True,
        metadata={"description": "The latest independent assessment's completion (null: none yet)."},
    )
    assessments = fields.List(fields.Nested(AssessmentSchema), required=True)
    partners = fields.List(fields.Nested(MembershipSchema), required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


class CommitmentChanged(CommitmentSchema):
    """A commitment after a command: its new version, and the log position of the
    command's last event."""

    position = fields.Integer(required=True)


class CommandDone(Schema):
    commitment_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    position = fields.Integer(required=True)


class MilestoneAdded(CommandDone, MilestoneSchema):
    pass


class ActionRecorded(ActionSchema):
    """A joint action after a command, with the log position of the command's event."""

    position = fields.Integer(required=True)


class AssessmentRecorded(CommandDone, AssessmentSchema):
    """An assessment as recorded; ``version`` is the commitment's."""


class PartnerJoined(CommandDone):
    partner = fields.Nested(MembershipSchema, required=True)


class ResponseRecorded(CommandDone):
    """A response as recorded; ``version`` is the joint action's."""

    action_id = fields.UUID(required=True)
    response = fields.Nested(ResponseSchema, required=True)


class ProgressRecorded(CommandDone):
    report = fields.Nested(ProgressSchema, required=True)


class SummarySchema(Schema):
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    action_plan = fields.String(required=True)
    external_ref = fields.String(required=True)
    status = enum(Status, required=True)
    visibility = enum(Visibility, required=True)
    completion = enum(Completion, required=True, allow_none=True)
    assessed_completion = enum(Completion, required=True, allow_none=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    milestones_total = fields.Integer(required=True)
    milestones_reached = fields.Integer(required=True)
    lead_names = fields.String(required=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


class SummaryPage(Schema):
    items = fields.List(fields.Nested(SummarySchema), required=True)
    next = fields.String(required=True, allow_none=True)


class ActorRef(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class TimelineEntrySchema(Schema):
    position = fields.Integer(required=True)
    commitment_id = fields.UUID(required=True)
    aggregate_id = fields.UUID(
        required=True,
        metadata={"description": "The record the event belongs to: the commitment, or one of its joint actions."},
    )
    recorded_at = Instant(required=True)
    occurred_on = Day(required=True, allow_none=True)
    kind = fields.String(
        required=True,
        metadata={"description": "The name of the event the entry tells of; new kinds come with new events."},
    )
    actor = fields.Nested(ActorRef, required=True)
    summary = fields.String(required=True)
    version = fields.Integer(required=True)


class TimelinePage(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    next = fields.String(required=True, allow_none=True)


class EventActor(Schema):
    id = fields.UUID(required=True)
    role = enum(ActorRole, required=True)
    name = fields.String(required=True)


class EventSchema(Schema):
    leaf_hash = fields.String(required=True)
    position = fields.Integer(required=True)
    aggregate_id = fields.UUID(required=True)
    aggregate_type = fields.String(
        required=True, metadata={"description": "What the event belongs to; new kinds of record may appear."}
    )
    version = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "The event's name."})
    recorded_at = Instant(required=True)
    actor = fields.Nested(EventActor, required=True)
    request_id = fields.String(required=True, metadata={"description": "The service's id of the request."})
    client_request_id = fields.String(
        metadata={"description": "The X-Request-Id the client sent with the request, if it sent one."}
    )
    class_version = fields.Integer(
        metadata={"description": "The event class's version, where it changed after the first release."}
    )
    data = fields.Dict(required=True)


class EventList(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class Change(Schema):
    path = fields.String(required=True)
    before = fields.Raw(required=True, allow_none=True)
    after = fields.Raw(required=True, allow_none=True)


class DiffSchema(Schema):
    commitment_id = fields.UUID(required=True)
    from_ = fields.Integer(required=True, data_key="from")
    to = fields.Integer(required=True)
    changes = fields.List(fields.Nested(Change), required=True)


# -- tokens ----------------------------------------------------------------------


class TokenIssue(Schema):
    role = enum(ActorRole, required=True)
    partner_id = fields.UUID(load_default=None)
    name = fields.String(load_default=None)


class TokenSchema(Schema):
    id = fields.UUID(required=True)
    role = enum(ActorRole, required=True)
    partner_id = fields.UUID(required=True, allow_none=True)
    holder_name = fields.String(required=True)
    issued_at = Instant(required=True)
    revoked_at = Instant(required=True, allow_none=True)


class TokenIssued(TokenSchema):
    token = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The secret, shown once. A replay of the same Idempotency-Key returns null: "
            "only the token's hash is stored."
        },
    )


class TokenList(Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)
    next = fields.String(required=True, allow_none=True)


# -- system ----------------------------------------------------------------------


class Health(Schema):
    status = fields.String(required=True)


# -- the verifiable log --------------------------------------------------------------


class LogQuery(QuerySchema):
    after = Cursor(metadata={"description": "A position: the list starts after it."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CheckpointSchema(Schema):
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True)
    issued_at = Instant(
        required=True,
        metadata={"description": "Signed as this very text: RFC 3339 UTC with microseconds, ending in Z."},
    )
    key_id = fields.String(required=True)
    signature = fields.String(required=True)


class CheckpointPage(Schema):
    items = fields.List(fields.Nested(CheckpointSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class CheckpointHistoryQuery(QuerySchema):
    before = Cursor(metadata={"description": "A tree size: the list starts with the checkpoint before it."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PublicKeySchema(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    public_key = fields.String(required=True)
    note_verifier_key = fields.String(
        required=True,
        metadata={
            "description": "The same key as a C2SP signed-note verifier key, <origin>+<key id, 8 hex>+<base64 of "
            "0x01 and the public key>: it verifies the signed checkpoint at /log/checkpoint."
        },
    )


class InclusionQuery(QuerySchema):
    position = fields.Integer(required=True, validate=validate.Range(min=0, max=2**62))
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))


class InclusionProof(Schema):
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    audit_path = fields.List(fields.String(), required=True)


class ConsistencyQuery(QuerySchema):
    first = fields.Integer(required=True, validate=validate.Range(min=0, max=2**62))
    second = fields.Integer(required=True, validate=validate.Range(min=0, max=2**62))


class ConsistencyProof(Schema):
    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    proof = fields.List(fields.String(), required=True)


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    tree_size = fields.Integer(required=True)
    checked = fields.Integer(required=True)
    first_bad_position = fields.Integer(required=True, allow_none=True)
    detail = fields.String(required=True)


# -- feed tokens -------------------------------------------------------------------

FEED_TOKEN_DAYS = 3650


class FeedTokenIssue(Schema):
    expires_in_days = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=FEED_TOKEN_DAYS),
        metadata={"description": "The feed token stops working after this many days (none: when revoked)."},
    )


class FeedTokenSchema(Schema):
    id = fields.UUID(required=True)
    partner_id = fields.UUID(required=True)
    credential_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "The token that made it (directly or by signing in); null if made before 1.1."},
    )
    made_with = enum(MadeWith, required=True, allow_none=True)
    issued_at = Instant(required=True)
    expires_at = Instant(required=True, allow_none=True)
    revoked_at = Instant(required=True, allow_none=True)
    active = fields.Boolean(
        required=True,
        metadata={"description": "Whether it works now: not revoked or expired, and its credential not revoked."},
    )


class FeedTokenIssued(FeedTokenSchema):
    token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The secret for ?token= in feed URLs, shown once (null in a replayed response)."},
    )


class FeedTokenList(Schema):
    items = fields.List(fields.Nested(FeedTokenSchema), required=True)
    next = fields.String(required=True, allow_none=True)


# -- open data -------------------------------------------------------------------------


class ImportQuery(QuerySchema):
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "Check the file and list the events it would record; record none."}
    )


class ExportedCommitment(Schema):
    """A commitment in the open-data exports (one CSV row or JSON object)."""

    external_ref = fields.String(required=True)
    title = fields.String(required=True)
    action_plan = fields.String(required=True)
    lead = fields.String(required=True, metadata={"description": "The lead agencies' names, '; '-separated."})
    status = enum(Status, required=True)
    completion = enum(Completion, required=True, allow_none=True)
    assessed_completion = enum(Completion, required=True, allow_none=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    milestones_due = fields.Integer(required=True, metadata={"description": "How many milestones it has."})
    milestones_reached = fields.Integer(required=True)
    version = fields.Integer(required=True)
    id = fields.UUID(required=True)


class ImportedEvent(Schema):
    line = fields.Integer(required=True, metadata={"description": "The row's line in the file (the header is line 1)."})
    external_ref = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "The event's type, as in the log."})


class ImportResult(Schema):
    dry_run = fields.Boolean(required=True)
    rows = fields.Integer(required=True, metadata={"description": "The rows read (blank rows left out)."})
    events = fields.List(fields.Nested(ImportedEvent), required=True)


# -- action plans ------------------------------------------------------------------


class PlanCreate(Schema):
    name = fields.String(required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    status = enum(
        PlanStatus,
        load_default=PlanStatus.CONSULTATION,
        metadata={"description": "Where the plan stands: consultation (the default), adopted or ended."},
    )


class PlanAmend(Schema):
    name = fields.String()
    starts_on = Day()
    ends_on = Day()
    status = enum(PlanStatus, metadata={"description": "Moves forward only: consultation, adopted, ended."})
    reason = fields.String(required=True)
    occurred_on = Day(
        load_default=None,
        metadata={
            "description": "The date the change was made (not in the future); today in New Zealand if not given."
        },
    )


class PlanAmendmentSchema(Schema):
    changes = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "Each field the amendment changed, with its new value."},
    )
    reason = fields.String(required=True)
    occurred_on = Day(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = Instant(required=True)


def counts_field(empty: str, what: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={
            "description": f"How many of the plan's commitments (those the caller may see) {what}, per completion "
            f"value (not_started, limited, substantial, complete), and {empty}."
        },
    )


class PlanSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    former_names = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Names the plan had before; commitments naming any of them belong to it."},
    )
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    status = enum(PlanStatus, required=True)
    version = fields.Integer(required=True)
    created_at = Instant(required=True)
    amendments = fields.List(fields.Nested(PlanAmendmentSchema), required=True)
    commitments = fields.Integer(
        required=True, metadata={"description": "How many of the plan's commitments the caller may see."}
    )
    completion_counts = counts_field("not_reported", "last self-reported")
    assessed_completion_counts = counts_field("not_assessed", "were last independently assessed at")
    milestones_due = fields.Integer(
        required=True,
        metadata={"description": "The milestones of those commitments (each is due on its date)."},
    )
    milestones_reached = fields.Integer(required=True)
    milestones_overdue = fields.Integer(
        required=True,
        metadata={"description": "Those due on or before today (New Zealand's date) and not reached."},
    )


class PlanChanged(PlanSchema):
    position = fields.Integer(required=True)


class PlanList(Schema):
    items = fields.List(fields.Nested(PlanSchema), required=True)
