"""Field lists that api.md names, shared by the tests that check documents against it."""

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
        "created_at",
        "updated_at",
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
