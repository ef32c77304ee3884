"""The auditors' API (docs/api.md, the audit operations) through the Flask test client, on a
SQLite file and on PostgreSQL: the log by cursor, checkpoints, the public key,
inclusion and consistency proofs checked here against the signed roots, verification,
and the two exports. Hashes are recomputed here with hashlib and rfc8785 alone."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from application.merkle import verify_consistency, verify_inclusion
from tests.api.conftest import Caller, Callers, create_commitment, ledger_of
from tests.contract import EVENT_FIELDS, EVENT_OPTIONAL_FIELDS

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SECRET_TITLE = "Kōrero tapu o te marae (partners only)"
SECRET_DESCRIPTION = "Only the partners of this commitment may read this sentence."


def leaf_of(document: dict[str, Any]) -> str:
    """docs/log.md: SHA-256(0x00 || RFC 8785 canonical JSON of the document without its leaf_hash)."""
    body = {k: v for k, v in document.items() if k != "leaf_hash"}
    return hashlib.sha256(b"\x00" + rfc8785.dumps(body)).hexdigest()


def signature_ok(public_key: dict[str, Any], checkpoint: dict[str, Any]) -> bool:
    message = (
        f"tutahi-checkpoint\n{checkpoint['tree_size']}\n{checkpoint['root_hash']}\n{checkpoint['issued_at']}\n"
    ).encode()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key["public_key"]))
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Scene:
    public_id: str
    secret_id: str


def build_scene(client: FlaskClient, callers: Callers) -> Scene:
    """A public commitment and a partners-only one, with a few events each (on top of
    the partners' registrations, which are in the log too)."""
    lead = callers.lead.headers
    public = create_commitment(client, callers.lead)
    secret = create_commitment(
        client,
        callers.lead,
        title=SECRET_TITLE,
        description=SECRET_DESCRIPTION,
        external_ref="NZ9999",
        visibility="partners",
    )
    for commitment in (public, secret):
        cid = commitment["id"]
        joined = client.post(
            f"/api/v1/commitments/{cid}/partners",
            json={"partner_id": str(callers.community.id), "role": "community"},
            headers=lead,
        )
        assert joined.status_code == 201, joined.get_json()
        milestone = client.post(
            f"/api/v1/commitments/{cid}/milestones", json={"title": "First hui", "due_on": "2015-06-01"}, headers=lead
        )
        assert milestone.status_code == 201, milestone.get_json()
        progress = client.post(
            f"/api/v1/commitments/{cid}/progress", json={"completion": "limited", "note": "Under way"}, headers=lead
        )
        assert progress.status_code == 201, progress.get_json()
    return Scene(public["id"], secret["id"])


def all_events(client: FlaskClient, caller: Caller, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        query = f"?limit={limit}" + (f"&after={after}" if after is not None else "")
        response = client.get(f"/api/v1/events{query}", headers=caller.headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        assert pages < 1000
        if body["next"] is None:
            return items
        assert body["next"] == str(body["items"][-1]["position"])
        after = body["next"]


def log_size(app: Flask) -> int:
    return ledger_of(app).log_size()


def assert_refused_without_the_right_role(
    client: FlaskClient, callers: Callers, method: str, path: str, *, ok: int = 200
) -> None:
    """401 (with WWW-Authenticate: Bearer) without a token, 403 for agency and community
    tokens, ``ok`` for auditor and admin tokens."""
    send = getattr(client, method)
    anonymous = send(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.mimetype == "application/problem+json"
    for caller in (callers.lead, callers.community, callers.stranger):
        refused = send(path, headers=caller.headers)
        assert refused.status_code == 403, (caller.role, refused.get_json())
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["status"] == 403
    for caller in (callers.auditor, callers.admin):
        allowed = send(path, headers=caller.headers)
        assert allowed.status_code == ok, (caller.role, allowed.get_data()[:500])
        allowed.close()  # a streamed body is read to its end, inside its request context


# -- GET /events ----------------------------------------------------------------------------------


def test_the_log_is_for_auditors_and_admins_only(client: FlaskClient, callers: Callers) -> None:
    assert_refused_without_the_right_role(client, callers, "get", "/api/v1/events")


def test_the_log_is_every_event_in_dense_positions_from_zero_by_cursor(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    scene = build_scene(client, callers)
    size = log_size(app)

    whole = all_events(client, callers.auditor, 1000)
    paged = all_events(client, callers.admin, 4)

    assert [e["position"] for e in whole] == list(range(size))
    assert paged == whole
    assert {e["aggregate_type"] for e in whole} == {"partner", "commitment"}
    partner_events = [e for e in whole if e["aggregate_type"] == "partner"]
    assert {e["aggregate_id"] for e in partner_events} >= {str(c.id) for c in (callers.lead, callers.community)}
    assert {e["aggregate_id"] for e in whole} >= {scene.public_id, scene.secret_id}, "partners-only events too"
    for event in whole:
        assert EVENT_FIELDS <= set(event) <= EVENT_FIELDS | EVENT_OPTIONAL_FIELDS
        assert set(event["actor"]) >= {"id", "role"}
        assert HEX64.match(event["leaf_hash"])
        assert event["leaf_hash"] == leaf_of(event), f"position {event['position']}"
    versions: dict[str, list[int]] = {}
    for event in whole:
        versions.setdefault(event["aggregate_id"], []).append(event["version"])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), "each aggregate's versions in log order"
    created = next(e for e in whole if e["aggregate_id"] == scene.secret_id)
    assert created["type"] == "CommitmentCreated" and created["data"]["title"] == SECRET_TITLE
    assert created["actor"]["id"] == str(callers.lead.id) and created["actor"]["role"] == "agency"

    after_last = client.get(f"/api/v1/events?after={size - 1}", headers=callers.auditor.headers).get_json()
    assert after_last == {"items": [], "next": None}
    middle = client.get("/api/v1/events?after=2&limit=3", headers=callers.auditor.headers).get_json()
    assert [e["position"] for e in middle["items"]] == [3, 4, 5] and middle["next"] == "5"


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "after=-1", "after=abc"])
def test_a_bad_log_query_is_a_422(client: FlaskClient, callers: Callers, query: str) -> None:
    response = client.get(f"/api/v1/events?{query}", headers=callers.auditor.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_commitments_events_are_its_log_entries_with_leaf_hashes(client: FlaskClient, callers: Callers) -> None:
    scene = build_scene(client, callers)
    whole = {e["position"]: e for e in all_events(client, callers.auditor, 1000)}

    for caller in (callers.auditor, callers.admin, callers.lead, callers.community):
        response = client.get(f"/api/v1/commitments/{scene.secret_id}/events", headers=caller.headers)
        assert response.status_code == 200, (caller.role, response.get_json())
        items = response.get_json()["items"]
        assert [e["version"] for e in items] == list(range(1, len(items) + 1))
        assert len(items) == 5, "created, the lead joined, a partner joined, a milestone, a progress report"
        for event in items:
            assert event == whole[event["position"]]
            assert event["leaf_hash"] == leaf_of(event)
    assert client.get(f"/api/v1/commitments/{scene.secret_id}/events").status_code == 401
    assert (
        client.get(f"/api/v1/commitments/{scene.public_id}/events", headers=callers.support.headers).status_code == 403
    )


# -- checkpoints and the public key (anyone) -------------------------------------------------------


def test_checkpoints_and_the_public_key_need_no_token_and_verify(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    first = client.get("/api/v1/audit/checkpoint")
    public_key = client.get("/api/v1/audit/public-key")
    build_scene(client, callers)
    second = client.get("/api/v1/audit/checkpoint").get_json()
    again = client.get("/api/v1/audit/checkpoint", headers=callers.community.headers).get_json()
    history = client.get("/api/v1/audit/checkpoints").get_json()

    assert first.status_code == 200 and public_key.status_code == 200
    key = public_key.get_json()
    assert set(key) == {"key_id", "algorithm", "public_key", "note_verifier_key"} and key["algorithm"] == "ed25519"
    assert len(base64.b64decode(key["public_key"])) == 32
    first_doc = first.get_json()
    assert set(first_doc) == {"tree_size", "root_hash", "issued_at", "key_id", "signature"}
    assert first_doc["tree_size"] == 5, "the five partners' registrations"
    assert second["tree_size"] == log_size(app) > first_doc["tree_size"]
    assert again == second, "one checkpoint per size"
    for checkpoint in (first_doc, second):
        assert HEX64.match(checkpoint["root_hash"]) and checkpoint["key_id"] == key["key_id"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", checkpoint["issued_at"])
        assert signature_ok(key, checkpoint)
    assert not signature_ok(key, {**second, "tree_size": second["tree_size"] - 1})
    assert history["items"] == [second, first_doc] and history["next"] is None, "newest first"
    paged = client.get("/api/v1/audit/checkpoints?limit=1").get_json()
    assert paged == {"items": [second], "next": str(second["tree_size"])}
    rest = client.get(f"/api/v1/audit/checkpoints?limit=1&before={paged['next']}").get_json()
    assert rest == {"items": [first_doc], "next": None}
    size = second["tree_size"]
    public_paths = [
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/checkpoints",
        "/api/v1/audit/public-key",
        f"/api/v1/audit/proofs/inclusion?position=0&tree_size={size}",
        f"/api/v1/audit/proofs/consistency?first=1&second={size}",
    ]
    for caller in (callers.lead, callers.community, callers.stranger, callers.auditor, callers.admin):
        for path in public_paths:
            assert client.get(path, headers=caller.headers).status_code == 200, (caller.role, path)


# -- proofs (anyone) ---------------------------------------------------------------------------------


def test_inclusion_proofs_of_every_leaf_verify_against_the_signed_roots(client: FlaskClient, callers: Callers) -> None:
    early = client.get("/api/v1/audit/checkpoint").get_json()
    build_scene(client, callers)
    late = client.get("/api/v1/audit/checkpoint").get_json()
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in all_events(client, callers.auditor, 1000)]

    for checkpoint in (early, late):
        size, root = checkpoint["tree_size"], bytes.fromhex(checkpoint["root_hash"])
        for position in range(size):
            response = client.get(f"/api/v1/audit/proofs/inclusion?position={position}&tree_size={size}")
            assert response.status_code == 200, response.get_json()
            proof = response.get_json()
            assert proof["leaf_index"] == position and proof["tree_size"] == size
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert verify_inclusion(leaves[position], position, size, path, root), (size, position)
            other = leaves[(position + 1) % size]
            assert size == 1 or not verify_inclusion(other, position, size, path, root)


def test_consistency_proofs_link_every_older_checkpoint_to_the_latest(client: FlaskClient, callers: Callers) -> None:
    held = [client.get("/api/v1/audit/checkpoint").get_json()]
    lead = callers.lead.headers
    commitment = create_commitment(client, callers.lead)
    held.append(client.get("/api/v1/audit/checkpoint").get_json())
    for n in range(3):
        client.post(
            f"/api/v1/commitments/{commitment['id']}/milestones",
            json={"title": f"Milestone {n}", "due_on": "2015-06-01"},
            headers=lead,
        )
        held.append(client.get("/api/v1/audit/checkpoint").get_json())

    for i, old in enumerate(held):
        for new in held[i:]:
            response = client.get(
                f"/api/v1/audit/proofs/consistency?first={old['tree_size']}&second={new['tree_size']}"
            )
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            assert (body["first"], body["second"]) == (old["tree_size"], new["tree_size"])
            proof = [bytes.fromhex(h) for h in body["proof"]]
            args = (old["tree_size"], new["tree_size"], proof)
            assert verify_consistency(*args, bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]))
            if old["tree_size"] != new["tree_size"]:
                assert not verify_consistency(*args, bytes.fromhex(new["root_hash"]), bytes.fromhex(new["root_hash"]))
    empty = client.get(f"/api/v1/audit/proofs/consistency?first=0&second={held[-1]['tree_size']}").get_json()
    assert empty["proof"] == []


@pytest.mark.parametrize(
    "query",
    [
        "inclusion?position={size}&tree_size={size}",  # position >= tree_size
        "inclusion?position={last}&tree_size={last}",
        "inclusion?position=0&tree_size={beyond}",  # tree_size beyond the log
        "inclusion?position=0&tree_size=0",
        "inclusion?position=-1&tree_size=1",
        "inclusion?tree_size=1",
        "inclusion?position=0",
        "inclusion?position=x&tree_size=1",
        "consistency?first=2&second=1",  # first > second
        "consistency?first=1&second={beyond}",  # second beyond the log
        "consistency?first={beyond}&second={beyond}",
        "consistency?first=-1&second=1",
        "consistency?first=1",
        "consistency?second=1",
    ],
)
def test_impossible_proofs_are_a_422(app: Flask, client: FlaskClient, callers: Callers, query: str) -> None:
    size = log_size(app)
    path = "/api/v1/audit/proofs/" + query.format(size=size, last=size - 1, beyond=size + 1)

    response = client.get(path)

    assert response.status_code == 422, (path, response.get_json())
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 422


def test_the_largest_possible_proofs_are_served(app: Flask, client: FlaskClient, callers: Callers) -> None:
    size = log_size(app)
    assert client.get(f"/api/v1/audit/proofs/inclusion?position={size - 1}&tree_size={size}").status_code == 200
    assert client.get(f"/api/v1/audit/proofs/consistency?first={size}&second={size}").status_code == 200
    assert client.get("/api/v1/audit/proofs/consistency?first=0&second=0").status_code == 200


def test_proofs_and_checkpoints_never_reveal_a_partners_only_commitment(client: FlaskClient, callers: Callers) -> None:
    scene = build_scene(client, callers)
    checkpoint = client.get("/api/v1/audit/checkpoint").get_json()
    size = checkpoint["tree_size"]
    responses = [client.get("/api/v1/audit/checkpoint"), client.get("/api/v1/audit/checkpoints")]
    for position in range(size):
        responses.append(client.get(f"/api/v1/audit/proofs/inclusion?position={position}&tree_size={size}"))
    for first in range(size + 1):
        responses.append(client.get(f"/api/v1/audit/proofs/consistency?first={first}&second={size}"))
    secret_events = client.get(f"/api/v1/commitments/{scene.secret_id}/events", headers=callers.auditor.headers)
    secret_leaves = {e["leaf_hash"] for e in secret_events.get_json()["items"]}

    for response in responses:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        for secret in (SECRET_TITLE, SECRET_DESCRIPTION, scene.secret_id, scene.secret_id.replace("-", ""), "NZ9999"):
            assert secret not in body
        document = response.get_json()
        for digest in document.get("audit_path", []) + document.get("proof", []):
            assert HEX64.match(digest), "hashes only"
    # and the hashes cannot be turned back into the commitment without its contents
    assert client.get(f"/api/v1/commitments/{scene.secret_id}").status_code == 404
    assert all(HEX64.match(leaf) for leaf in secret_leaves)


# -- POST /audit/verifications -------------------------------------------------------------------------


def test_verification_is_for_auditors_and_admins_and_finds_an_edit(
    app: Flask, client: FlaskClient, callers: Callers, api_store_url: str
) -> None:
    build_scene(client, callers)
    size = log_size(app)
    assert_refused_without_the_right_role(client, callers, "post", "/api/v1/audit/verifications")

    fine = client.post("/api/v1/audit/verifications", headers=callers.auditor.headers).get_json()
    client.get("/api/v1/audit/checkpoint")
    engine = create_engine(api_store_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE tutahi_event_log SET leaf = :leaf WHERE position = :position"),
                {"leaf": bytes(32), "position": size // 2},
            )
    finally:
        engine.dispose()
    bad = client.post("/api/v1/audit/verifications", headers=callers.admin.headers)

    assert fine == {
        "ok": True,
        "tree_size": size,
        "checked": size,
        "first_bad_position": None,
        "detail": fine["detail"],
    }
    assert bad.status_code == 200
    verdict = bad.get_json()
    assert verdict["ok"] is False and verdict["first_bad_position"] == size // 2
    assert verdict["tree_size"] == size and verdict["checked"] == size // 2
    assert isinstance(verdict["detail"], str) and verdict["detail"]


# -- exports ---------------------------------------------------------------------------------------------


def test_the_jsonl_export_is_the_whole_log_streamed_each_line_hashing_to_its_leaf(
    client: FlaskClient, callers: Callers
) -> None:
    build_scene(client, callers)
    assert_refused_without_the_right_role(client, callers, "get", "/api/v1/export/events.jsonl")
    logged = all_events(client, callers.auditor, 1000)

    response = client.get("/api/v1/export/events.jsonl", headers=callers.auditor.headers)

    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    body = response.get_data(as_text=True)
    assert body.endswith("\n")
    lines = body.splitlines()
    documents = [json.loads(line) for line in lines]
    assert [d["position"] for d in documents] == list(range(len(logged)))
    assert documents == logged
    for document in documents:
        assert document["leaf_hash"] == leaf_of(document)
    assert any(d["data"].get("title") == SECRET_TITLE for d in documents), "an auditor exports everything"


def test_the_csv_export_has_one_row_per_commitment_in_its_current_state(client: FlaskClient, callers: Callers) -> None:
    scene = build_scene(client, callers)

    response = client.get("/api/v1/export/commitments.csv", headers=callers.admin.headers)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["id"] for row in rows) == sorted([scene.public_id, scene.secret_id])
    for row in rows:
        current = client.get(f"/api/v1/commitments/{row['id']}", headers=callers.admin.headers).get_json()
        assert row["title"] == current["title"]
        assert row["external_ref"] == current["external_ref"]
        assert row["status"] == current["status"] == "active"
        assert int(row["version"]) == current["version"] == 5
        assert row["completion"] == "limited"
        assert row["starts_on"] == current["starts_on"] and row["ends_on"] == current["ends_on"]
        assert int(row["milestones_due"]) == 1 and int(row["milestones_reached"]) == 0
        assert "Department of Internal Affairs" in row["lead"]
    secret_row = next(row for row in rows if row["id"] == scene.secret_id)
    assert secret_row["title"] == SECRET_TITLE
    # Anyone may fetch it, and sees the public commitment only.
    public = list(csv.DictReader(io.StringIO(client.get("/api/v1/export/commitments.csv").get_data(as_text=True))))
    assert [row["id"] for row in public] == [scene.public_id]
