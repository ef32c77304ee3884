"""Plain documents (JSON types only) of aggregates and events: what queries return,
what diffs compare and what every interface serialises."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from domain.commitment import Commitment
from domain.partner import Partner
from domain.values import JointAction, Membership, Milestone


def instant(value: datetime) -> str:
    """RFC 3339 UTC with microseconds: ``2026-11-27T02:09:45.123456Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value: Any) -> Any:
    """Converts stored values to JSON types: ids and enums to strings, dates to ISO."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"no plain form for {type(value).__name__}")


def progress_document(commitment: Commitment, index: int) -> dict[str, Any]:
    report = commitment.progress[index]
    return {
        "completion": report.completion.value,
        "note": report.note,
        "reported_at": instant(report.reported_at),
    }


def membership_document(m: Membership) -> dict[str, Any]:
    return {
        "id": str(m.partner_id),
        "name": m.name,
        "kind": m.kind.value,
        "role": m.role.value,
        "joined_at": instant(m.joined_at),
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


def action_document(a: JointAction) -> dict[str, Any]:
    return {
        "id": str(a.id),
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
    }


def part_document(commitment: Commitment, collection: str, item_id: Any) -> dict[str, Any]:
    """One partner, milestone or joint action of the commitment document, by id."""
    key = str(item_id)
    if collection == "partners":
        return membership_document(commitment.partners[key])
    if collection == "milestones":
        return milestone_document(commitment.milestones[key])
    if collection == "actions":
        return action_document(commitment.actions[key])
    raise KeyError(collection)


def commitment_document(commitment: Commitment) -> dict[str, Any]:
    """The commitment document of api.md, as it is at the aggregate's version."""
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
        "completion": progress_document(commitment, -1) if commitment.progress else None,
        "progress": [progress_document(commitment, i) for i in range(len(commitment.progress))],
        "partners": [membership_document(m) for m in commitment.partners.values()],
        "milestones": [milestone_document(m) for m in commitment.milestones.values()],
        "actions": [action_document(a) for a in commitment.actions.values()],
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


KEYED = {"partners": "id", "milestones": "id", "actions": "id"}


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
