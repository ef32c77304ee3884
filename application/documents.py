"""Plain documents (JSON types only) of aggregates: what queries return, what diffs
compare and what every interface serialises. (The log's own event documents are
``application.logformat``'s, and do not change with these.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.action_plan import ActionPlan
from domain.commitment import Commitment
from domain.partner import Partner
from domain.values import ActionState, ActionStatus, Assessment, Membership, Milestone, ProgressReport


def instant(value: datetime) -> str:
    """RFC 3339 UTC with microseconds: ``2026-11-27T02:09:45.123456Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def report_document(report: ProgressReport) -> dict[str, Any]:
    """A self-report; ``as_of`` is the date it describes (null for reports recorded
    before reports said it: their day is the day they were recorded)."""
    return {
        "completion": report.completion.value,
        "note": report.note,
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "reported_at": instant(report.reported_at),
    }


def progress_document(commitment: Commitment, index: int) -> dict[str, Any]:
    return report_document(commitment.progress[index])


def assessment_document(a: Assessment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "stage": a.stage.value,
        "assessed_on": a.assessed_on.isoformat(),
        "completion": a.completion.value,
        "did_it_open_government": a.did_it_open_government.value if a.did_it_open_government else None,
        "starred": a.starred,
        "report_url": a.report_url,
        "note": a.note,
        "assessor": {"id": str(a.assessor_id), "name": a.assessor_name},
        "recorded_at": instant(a.recorded_at),
    }


def membership_document(m: Membership, name: str | None = None) -> dict[str, Any]:
    return {
        "id": str(m.partner_id),
        "name": name or m.name,
        "kind": m.kind.value,
        "role": m.role.value,
        "joined_at": instant(m.joined_at),
        "joined_on": m.joined_on.isoformat() if m.joined_on else None,
    }


def milestone_document(m: Milestone) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "title": m.title,
        "due_on": m.due_on.isoformat(),
        "reached_on": m.reached_on.isoformat() if m.reached_on else None,
        "evidence_url": m.evidence_url,
        "note": m.note,
    }


def action_version(a: ActionState) -> int:
    """A joint action's version counts its events: recorded, each response, a withdrawal
    (the same whether it is an aggregate of its own or was recorded in its commitment's
    stream by release 0.1.0)."""
    return 1 + len(a.responses) + (1 if a.status is ActionStatus.WITHDRAWN else 0)


def action_document(a: ActionState, commitment_id: Any) -> dict[str, Any]:
    """A joint action as it is (or was), with its version (``action_version``)."""
    return {
        "id": str(a.id),
        "commitment_id": str(commitment_id),
        "summary": a.summary,
        "occurred_on": a.occurred_on.isoformat(),
        "recorded_by": str(a.recorded_by),
        "partner_ids": [str(p) for p in a.partner_ids],
        "evidence_url": a.evidence_url,
        "responses": [
            {
                "partner_id": str(r.partner_id),
                "response": r.response.value,
                "note": r.note,
                "responded_at": instant(r.responded_at),
            }
            for r in a.responses.values()
        ],
        "status": a.status.value,
        "withdrawal_reason": a.withdrawal_reason,
        "version": action_version(a),
    }


def part_document(commitment: Commitment, collection: str, item_id: Any) -> dict[str, Any]:
    """One partner or milestone of the commitment document, by id."""
    key = str(item_id)
    if collection == "partners":
        return membership_document(commitment.partners[key])
    if collection == "milestones":
        return milestone_document(commitment.milestones[key])
    raise KeyError(collection)


def commitment_document(commitment: Commitment, names: dict[str, str] | None = None) -> dict[str, Any]:
    """The commitment document as it is at the aggregate's version, but for its joint
    actions (aggregates of their own: the queries add them). ``names``: partners' names
    now, by id, where they differ from the names they joined under."""
    current = names or {}
    return {
        "id": str(commitment.id),
        "version": commitment.version,
        "title": commitment.title,
        "description": commitment.description,
        "action_plan": commitment.action_plan,
        "external_ref": commitment.external_ref,
        "starts_on": commitment.starts_on.isoformat(),
        "ends_on": commitment.ends_on.isoformat(),
        "ogp_values": [value.value for value in commitment.ogp_values],
        "visibility": commitment.visibility.value,
        "status": commitment.status.value,
        "withdrawal_reason": commitment.withdrawal_reason,
        "completion": report_document(commitment.latest_report) if commitment.latest_report else None,
        "progress": [report_document(report) for report in commitment.progress],
        "assessed_completion": commitment.assessed_completion.value if commitment.assessed_completion else None,
        "assessments": [assessment_document(a) for a in commitment.assessments],
        "partners": [membership_document(m, current.get(key)) for key, m in commitment.partners.items()],
        "milestones": [milestone_document(m) for m in commitment.milestones.values()],
        "created_at": instant(commitment.created_on),
        "updated_at": instant(commitment.modified_on),
    }


def partner_document(partner: Partner) -> dict[str, Any]:
    return {
        "id": str(partner.id),
        "name": partner.name,
        "kind": partner.kind.value,
        "external_ref": partner.external_ref,
        "registered_at": instant(partner.created_on),
        "version": partner.version,
    }


def plan_document(plan: ActionPlan) -> dict[str, Any]:
    """An action plan as it is, with its former names and its amendments, oldest first."""
    return {
        "id": str(plan.id),
        "name": plan.name,
        "former_names": list(plan.former_names),
        "starts_on": plan.starts_on.isoformat(),
        "ends_on": plan.ends_on.isoformat(),
        "status": plan.status.value,
        "amendments": [
            {
                "changes": {
                    name: value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)
                    for name, value in a.changes.items()
                },
                "reason": a.reason,
                "occurred_on": a.occurred_on.isoformat(),
                "recorded_by": a.actor_name,
                "recorded_at": instant(a.recorded_at),
            }
            for a in plan.amendments
        ],
        "created_at": instant(plan.created_on),
        "version": plan.version,
    }


KEYED = {"partners": "id", "milestones": "id", "actions": "id", "assessments": "id"}


def _flatten(document: dict[str, Any]) -> dict[str, Any]:
    """Paths of a commitment document: scalars by name, relations by id
    (``partners.<id>``, ``milestones.<id>``, ``actions.<id>.responses``)."""
    flat: dict[str, Any] = {}
    for name, value in document.items():
        if name in ("version", "updated_at"):
            continue
        if name in KEYED:
            for item in value:
                flat[f"{name}.{item[KEYED[name]]}"] = item
        elif name == "progress":
            for index, report in enumerate(value):
                flat[f"progress.{index}"] = report
        else:
            flat[name] = value
    return flat


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes between two commitment documents. A relation present on
    both sides is compared field by field (``milestones.<id>.reached_on``); one that
    appears or disappears is a single change with ``null`` on the other side."""
    old, new = _flatten(before), _flatten(after)
    changes: list[dict[str, Any]] = []
    for path in list(old) + [p for p in new if p not in old]:
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and path.split(".")[0] in KEYED:
            for key in list(a) + [k for k in b if k not in a]:
                if a.get(key) != b.get(key):
                    changes.append({"path": f"{path}.{key}", "before": a.get(key), "after": b.get(key)})
        else:
            changes.append({"path": path, "before": a, "after": b})
    return changes
