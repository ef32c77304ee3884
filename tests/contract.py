"""Field lists that the contract (docs/api.md) names, shared by the tests that check documents against it."""

from __future__ import annotations

# "A commitment document has at least: ..."
COMMITMENT_FIELDS = frozenset(
    {
        "id",
        "version",
        "title",
        "description",
        "action_plan",
        "external_ref",
        "starts_on",
        "ends_on",
        "ogp_values",
        "visibility",
        "status",
        "completion",
        "partners",
        "milestones",
        "actions",
        "assessments",
        "assessed_completion",
        "created_at",
        "updated_at",
    }
)
# A joint action, as GET /commitments/{id}/actions/{action_id} serves it.
ACTION_FIELDS = frozenset(
    {
        "id",
        "commitment_id",
        "summary",
        "occurred_on",
        "recorded_by",
        "partner_ids",
        "evidence_url",
        "responses",
        "status",
        "version",
    }
)
# An independent assessment.
ASSESSMENT_FIELDS = frozenset(
    {
        "id",
        "stage",
        "assessed_on",
        "completion",
        "did_it_open_government",
        "starred",
        "report_url",
        "note",
        "assessor",
        "recorded_at",
    }
)

# "An event document: ..." (with its leaf hash)
EVENT_FIELDS = frozenset(
    {
        "position",
        "aggregate_id",
        "aggregate_type",
        "version",
        "type",
        "recorded_at",
        "actor",
        "request_id",
        "data",
        "leaf_hash",
    }
)
# Fields an event document has only sometimes: the client's X-Request-Id, if it sent one,
# and the event class's version, where the class changed after the first release.
EVENT_OPTIONAL_FIELDS = frozenset({"client_request_id", "class_version"})
