"""Plain documents of read-model rows and command results, as the API serves them."""

from __future__ import annotations

from typing import Any

from application.credentials import Credential, FeedToken
from application.documents import instant
from application.ledger import CommandResult
from application.ports import CommitmentSummary, Page, PartnerRow, TimelineEntry


def page(result: Page[Any], item: Any) -> dict[str, Any]:
    return {"items": [item(x) for x in result.items], "next": result.next}


def summary_doc(s: CommitmentSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "version": s.version,
        "title": s.title,
        "action_plan": s.action_plan,
        "external_ref": s.external_ref,
        "status": s.status,
        "visibility": s.visibility,
        "completion": s.completion,
        "assessed_completion": s.assessed_completion,
        "starts_on": s.starts_on,
        "ends_on": s.ends_on,
        "milestones_total": s.milestones_total,
        "milestones_reached": s.milestones_reached,
        "lead_names": s.lead_names,
        "created_at": instant(s.created_at),
        "updated_at": instant(s.updated_at),
    }


def entry_doc(e: TimelineEntry) -> dict[str, Any]:
    return {
        "position": e.position,
        "commitment_id": e.commitment_id,
        "aggregate_id": e.aggregate_id,
        "recorded_at": instant(e.recorded_at),
        "occurred_on": e.occurred_on,
        "kind": e.kind,
        "actor": {"id": e.actor_id, "name": e.actor_name},
        "summary": e.summary,
        "version": e.version,
    }


def partner_row_doc(row: PartnerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "external_ref": row.external_ref,
        "registered_at": instant(row.registered_at),
    }


def done(result: CommandResult, **extra: Any) -> dict[str, Any]:
    return {"commitment_id": result.aggregate_id, "version": result.version, "position": result.position, **extra}


def credential_doc(credential: Credential, token: str | None = None, *, with_token: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": credential.id,
        "role": credential.role.value,
        "partner_id": credential.partner_id,
        "holder_name": credential.holder_name,
        "issued_at": instant(credential.issued_at),
        "revoked_at": instant(credential.revoked_at) if credential.revoked_at else None,
    }
    if with_token:
        doc["token"] = token
    return doc


def feed_token_doc(
    feed: FeedToken, active: bool, token: str | None = None, *, with_token: bool = False
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": feed.id,
        "partner_id": feed.partner_id,
        "credential_id": feed.credential_id,
        "made_with": feed.made_with.value if feed.made_with else None,
        "issued_at": instant(feed.issued_at),
        "expires_at": instant(feed.expires_at) if feed.expires_at else None,
        "revoked_at": instant(feed.revoked_at) if feed.revoked_at else None,
        "active": active,
    }
    if with_token:
        doc["token"] = token
    return doc
