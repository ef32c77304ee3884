"""Marshmallow schemas of every request and response body of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from marshmallow import Schema, ValidationError, fields, validate

from domain.values import (
    EARLIEST_DAY,
    LATEST_DAY,
    Completion,
    OgpValue,
    PartnerKind,
    PartnerRole,
    Response,
    Visibility,
)

ROLES = ["agency", "community", "auditor", "admin"]


def enum(enum_type: type, **kwargs: object) -> fields.Enum:  # type: ignore[type-arg]
    return fields.Enum(enum_type, by_value=True, **kwargs)  # type: ignore[arg-type]


# -- problems ------------------------------------------------------------------


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    request_id = fields.String()


# -- lists -----------------------------------------------------------------------


class PageQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    after = fields.String(load_default=None, validate=validate.Length(max=40))


class CommitmentListQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    action_plan = fields.String(load_default=None, validate=validate.Length(max=200))
    partner_id = fields.UUID(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["active", "withdrawn"]))


class PartnerListQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    kind = fields.String(load_default=None, validate=validate.OneOf([k.value for k in PartnerKind]))


# -- partners ------------------------------------------------------------------


class PartnerCreate(Schema):
    name = fields.String(required=True)
    kind = enum(PartnerKind, required=True)
    external_ref = fields.String(load_default=None, allow_none=True)


class PartnerSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    external_ref = fields.String(required=True, allow_none=True)
    registered_at = fields.String(required=True)


class PartnerCreated(PartnerSchema):
    version = fields.Integer(required=True)
    position = fields.Integer(required=True)


class PartnerPage(Schema):
    items = fields.List(fields.Nested(PartnerSchema), required=True)
    next = fields.String(required=True, allow_none=True)


# -- commitments -----------------------------------------------------------------


class CommitmentCreate(Schema):
    title = fields.String(required=True)
    description = fields.String(load_default="")
    action_plan = fields.String(required=True)
    external_ref = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    ogp_values = fields.List(enum(OgpValue), load_default=list)
    visibility = enum(Visibility, load_default=Visibility.PUBLIC)


class CommitmentAmend(Schema):
    title = fields.String()
    description = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
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


class CommitmentQuery(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    as_of = fields.AwareDateTime(
        load_default=None,
        format="iso",
        validate=instant_in_range,
        metadata={"description": "An instant from 1900-01-01T00:00:00Z to 2199-12-31T23:59:59.999999Z."},
    )


class PartnerAdd(Schema):
    partner_id = fields.UUID(required=True)
    role = enum(PartnerRole, required=True)


class ReasonQuery(Schema):
    # A query string must fit in a request line (see the 414 problem): long reasons go in the body.
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class ReasonBody(Schema):
    reason = fields.String(load_default=None)


class MilestoneAdd(Schema):
    title = fields.String(required=True)
    due_on = fields.Date(required=True)


class MilestoneReach(Schema):
    reached_on = fields.Date(required=True)
    evidence_url = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True)


class ActionRecord(Schema):
    summary = fields.String(required=True)
    occurred_on = fields.Date(required=True)
    partner_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=100))
    evidence_url = fields.String(load_default=None, allow_none=True)


class ActionRespond(Schema):
    response = enum(Response, required=True)
    note = fields.String(load_default=None, allow_none=True)


class ProgressReport(Schema):
    completion = enum(Completion, required=True)
    note = fields.String(required=True)


class Withdrawal(Schema):
    reason = fields.String(required=True)


class DiffQuery(Schema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1, max=2**31 - 1))
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class MembershipSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    role = fields.String(required=True)
    joined_at = fields.String(required=True)


class MilestoneSchema(Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    due_on = fields.String(required=True)
    reached_on = fields.String(required=True, allow_none=True)
    evidence_url = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)


class ResponseSchema(Schema):
    partner_id = fields.UUID(required=True)
    response = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    responded_at = fields.String(required=True)


class ActionSchema(Schema):
    id = fields.UUID(required=True)
    summary = fields.String(required=True)
    occurred_on = fields.String(required=True)
    recorded_by = fields.UUID(required=True)
    partner_ids = fields.List(fields.UUID(), required=True)
    evidence_url = fields.String(required=True, allow_none=True)
    responses = fields.List(fields.Nested(ResponseSchema), required=True)


class ProgressSchema(Schema):
    completion = fields.String(required=True)
    note = fields.String(required=True)
    reported_at = fields.String(required=True)


class CommitmentSchema(Schema):
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    action_plan = fields.String(required=True)
    external_ref = fields.String(required=True)
    starts_on = fields.String(required=True)
    ends_on = fields.String(required=True)
    ogp_values = fields.List(fields.String(), required=True)
    visibility = fields.String(required=True)
    status = fields.String(required=True)
    withdrawal_reason = fields.String(required=True, allow_none=True)
    completion = fields.Nested(ProgressSchema, required=True, allow_none=True)
    progress = fields.List(fields.Nested(ProgressSchema), required=True)
    partners = fields.List(fields.Nested(MembershipSchema), required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


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


class ActionRecorded(CommandDone, ActionSchema):
    pass


class PartnerJoined(CommandDone):
    partner = fields.Nested(MembershipSchema, required=True)


class ResponseRecorded(CommandDone):
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
    status = fields.String(required=True)
    visibility = fields.String(required=True)
    completion = fields.String(required=True, allow_none=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    milestones_total = fields.Integer(required=True)
    milestones_reached = fields.Integer(required=True)
    lead_names = fields.String(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class SummaryPage(Schema):
    items = fields.List(fields.Nested(SummarySchema), required=True)
    next = fields.String(required=True, allow_none=True)


class ActorRef(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class TimelineEntrySchema(Schema):
    position = fields.Integer(required=True)
    commitment_id = fields.UUID(required=True)
    recorded_at = fields.String(required=True)
    occurred_on = fields.Date(required=True, allow_none=True)
    kind = fields.String(required=True)
    actor = fields.Nested(ActorRef, required=True)
    summary = fields.String(required=True)
    version = fields.Integer(required=True)


class TimelinePage(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    next = fields.String(required=True, allow_none=True)


class EventActor(Schema):
    id = fields.UUID(required=True)
    role = fields.String(required=True)
    name = fields.String(required=True)


class EventSchema(Schema):
    leaf_hash = fields.String(required=True)
    position = fields.Integer(required=True)
    aggregate_id = fields.UUID(required=True)
    aggregate_type = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    recorded_at = fields.String(required=True)
    actor = fields.Nested(EventActor, required=True)
    request_id = fields.String(required=True)
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
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    partner_id = fields.UUID(load_default=None)
    name = fields.String(load_default=None)


class TokenSchema(Schema):
    id = fields.UUID(required=True)
    role = fields.String(required=True)
    partner_id = fields.UUID(required=True, allow_none=True)
    holder_name = fields.String(required=True)
    issued_at = fields.String(required=True)
    revoked_at = fields.String(required=True, allow_none=True)


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


class LogQuery(Schema):
    after = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CheckpointSchema(Schema):
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True)
    issued_at = fields.String(required=True)
    key_id = fields.String(required=True)
    signature = fields.String(required=True)


class CheckpointPage(Schema):
    items = fields.List(fields.Nested(CheckpointSchema), required=True)
    next = fields.String(required=True, allow_none=True)


class CheckpointHistoryQuery(Schema):
    before = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PublicKeySchema(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    public_key = fields.String(required=True)


class InclusionQuery(Schema):
    position = fields.Integer(required=True, validate=validate.Range(min=0, max=2**62))
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))


class InclusionProof(Schema):
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    audit_path = fields.List(fields.String(), required=True)


class ConsistencyQuery(Schema):
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
    made_with = fields.String(required=True, allow_none=True, validate=validate.OneOf(["token", "session"]))
    issued_at = fields.String(required=True)
    expires_at = fields.String(required=True, allow_none=True)
    revoked_at = fields.String(required=True, allow_none=True)
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
