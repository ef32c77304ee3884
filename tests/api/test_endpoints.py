"""The REST API through the Flask test client, endpoint by endpoint, as the people who
use it would: agencies keeping a commitment with a community partner, an admin looking
after the directory and the tokens, an auditor reading the record.

Every test runs on a SQLite file and on PostgreSQL (the ``app`` fixture). Field names,
paths and statuses are docs/api.md's."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from typing import Any
from uuid import uuid4

import pytest
import rfc8785
from click.testing import CliRunner
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from interfaces.cli import main as cli
from tests import contract
from tests.api.conftest import COMMITMENT, Caller, Callers, create_commitment
from tests.contract import COMMITMENT_FIELDS, EVENT_FIELDS

API = "/api/v1"
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MEMBER_FIELDS = {"id", "name", "role", "joined_at"}
MILESTONE_FIELDS = {"id", "title", "due_on", "reached_on", "evidence_url"}
ACTION_FIELDS = contract.ACTION_FIELDS
PARTNER_FIELDS = {"id", "name", "kind", "external_ref", "registered_at"}
ENTRY_FIELDS = {"position", "recorded_at", "occurred_on", "kind", "actor", "summary", "version"}


# -- helpers ---------------------------------------------------------------------------


def url(commitment: dict[str, Any] | str, *rest: str) -> str:
    commitment_id = commitment if isinstance(commitment, str) else commitment["id"]
    return "/".join([f"{API}/commitments/{commitment_id}", *rest])


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status and isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    if status == 422:
        assert isinstance(body["errors"], dict) and body["errors"]
        assert all(isinstance(m, list) and all(isinstance(t, str) for t in m) for m in body["errors"].values())
    return body  # type: ignore[no-any-return]


def command(response: TestResponse, status: int, after_version: int | None = None) -> dict[str, Any]:
    """A successful command on a commitment: the status, the new ``version`` (one more
    than before, when given), the log ``position`` of its last event, and the ETag."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.headers["Content-Type"] == "application/json; charset=utf-8", "docs/api.md, Conventions"
    body = response.get_json()
    assert isinstance(body["version"], int) and isinstance(body["position"], int) and body["position"] >= 0
    assert response.headers["ETag"] == f'"{body["version"]}"'
    if after_version is not None:
        assert body["version"] == after_version + 1
    return body  # type: ignore[no-any-return]


def current(client: FlaskClient, commitment: dict[str, Any] | str, caller: Caller) -> dict[str, Any]:
    response = client.get(url(commitment), headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == f'"{response.get_json()["version"]}"'
    return response.get_json()  # type: ignore[no-any-return]


def events(client: FlaskClient, commitment: dict[str, Any] | str, caller: Caller) -> list[dict[str, Any]]:
    response = client.get(url(commitment, "events"), headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]  # type: ignore[no-any-return]


def join(client: FlaskClient, commitment: dict[str, Any], lead: Caller, partner: Caller, role: str) -> dict[str, Any]:
    response = client.post(
        url(commitment, "partners"), json={"partner_id": str(partner.id), "role": role}, headers=lead.headers
    )
    return command(response, 201)


def with_etag(caller: Caller, version: int) -> dict[str, str]:
    return {**caller.headers, "If-Match": f'"{version}"'}


def walk(client: FlaskClient, path: str, caller: Caller | None, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next`` until it is null."""
    pages: list[list[dict[str, Any]]] = []
    after: str | None = None
    while True:
        query = f"limit={limit}" + (f"&after={after}" if after is not None else "")
        sep = "&" if "?" in path else "?"
        response = client.get(f"{path}{sep}{query}", headers=caller.headers if caller else {})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next"}
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        after = body["next"]
        if after is None:
            return pages
        assert isinstance(after, str) and after
        assert len(pages) < 100, "paging never ends"


# -- commitments -----------------------------------------------------------------------


def test_the_lead_agency_creates_a_commitment_and_anyone_reads_it_back(client: FlaskClient, callers: Callers) -> None:
    lead = callers.lead
    response = client.post(
        f"{API}/commitments",
        json={**COMMITMENT, "ogp_values": ["public_accountability", "civic_participation"]},
        headers=lead.headers,
    )

    created = command(response, 201)
    assert response.headers["Location"] == f"{API}/commitments/{created['id']}"
    assert CANONICAL_UUID.match(created["id"])
    assert set(created) >= COMMITMENT_FIELDS
    assert created["title"] == COMMITMENT["title"] and created["external_ref"] == "NZ0004"
    assert created["action_plan"] == COMMITMENT["action_plan"] and created["description"] == COMMITMENT["description"]
    assert (created["starts_on"], created["ends_on"]) == ("2014-07-01", "2016-06-30")
    assert sorted(created["ogp_values"]) == ["civic_participation", "public_accountability"]
    assert created["visibility"] == "public", "public is the default"
    assert created["status"] == "active" and created["completion"] is None
    assert created["milestones"] == [] and created["actions"] == []
    assert INSTANT.match(created["created_at"]) and INSTANT.match(created["updated_at"])
    (member,) = created["partners"]
    assert set(member) >= MEMBER_FIELDS
    assert (member["id"], member["name"], member["role"]) == (str(lead.id), lead.name, "lead"), "the caller leads"
    assert INSTANT.match(member["joined_at"])

    # Anyone, without a token, reads the public commitment at its Location.
    read = client.get(response.headers["Location"])
    assert read.status_code == 200 and read.mimetype == "application/json"
    assert read.headers["ETag"] == response.headers["ETag"]
    assert read.get_json() == {k: v for k, v in created.items() if k != "position"}
    listed = client.get(f"{API}/commitments").get_json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]

    # The path is exactly as written: no redirect to a trailing slash.
    slash = client.post(f"{API}/commitments/", json=COMMITMENT, headers=lead.headers)
    assert slash.status_code not in (301, 302, 307, 308)
    problem(slash, 404)


def test_a_commitment_is_kept_together_from_invitation_to_withdrawal(client: FlaskClient, callers: Callers) -> None:
    """The lead agency creates a commitment and invites a support agency and a community
    partner; the support agency adds and reaches a milestone; the lead records a hui held
    with both (a joint action, a record of its own with its own versions), which the
    community partner confirms and the support agency disputes; the lead reports progress
    and finally withdraws the commitment."""
    lead, support, community = callers.lead, callers.support, callers.community
    commitment = create_commitment(client, lead)
    version, position = commitment["version"], commitment["position"]

    def step(body: dict[str, Any]) -> None:
        nonlocal version, position
        assert body["version"] == version + 1, "each command records one event"
        assert body["position"] > position, "the log only grows"
        version, position = body["version"], body["position"]

    joined = join(client, commitment, lead, support, "support")
    step(joined)
    assert set(joined["partner"]) >= MEMBER_FIELDS
    assert (joined["partner"]["id"], joined["partner"]["role"]) == (str(support.id), "support")
    step(join(client, commitment, lead, community, "community"))

    added = command(
        client.post(
            url(commitment, "milestones"),
            json={"title": "Accord reviewed", "due_on": "2016-03-31"},
            headers=support.headers,
        ),
        201,
    )
    step(added)
    assert set(added) >= MILESTONE_FIELDS and CANONICAL_UUID.match(added["id"])
    assert (added["title"], added["due_on"], added["reached_on"]) == ("Accord reviewed", "2016-03-31", None)
    milestone = added["id"]

    reached = command(
        client.post(
            url(commitment, "milestones", milestone, "reached"),
            json={"reached_on": "2016-02-29", "evidence_url": "https://www.dia.govt.nz/accord", "note": "Published."},
            headers=support.headers,
        ),
        200,
    )
    step(reached)
    assert (reached["reached_on"], reached["evidence_url"]) == ("2016-02-29", "https://www.dia.govt.nz/accord")
    again = client.post(
        url(commitment, "milestones", milestone, "reached"), json={"reached_on": "2016-03-01"}, headers=support.headers
    )
    problem(again, 409)

    action = command(
        client.post(
            url(commitment, "actions"),
            json={
                "summary": "Hui at Ōrākei marae on the accord review",
                "occurred_on": "2015-09-12",
                "partner_ids": [str(community.id), str(support.id)],
                "evidence_url": "https://example.org/hui-notes",
            },
            headers=lead.headers,
        ),
        201,
    )
    assert action["version"] == 1 and action["position"] > position, "the action's first event"
    position = action["position"]
    assert action["commitment_id"] == commitment["id"] and action["status"] == "recorded"
    assert current(client, commitment, lead)["version"] == version, "the commitment itself is unchanged"
    assert set(action) >= ACTION_FIELDS and CANONICAL_UUID.match(action["id"])
    assert action["recorded_by"] == str(lead.id) and action["occurred_on"] == "2015-09-12"
    assert sorted(action["partner_ids"]) == sorted([str(community.id), str(support.id)])
    assert action["responses"] == []

    responses = url(commitment, "actions", action["id"], "responses")
    confirmed = command(client.post(responses, json={"response": "confirmed"}, headers=community.headers), 201, 1)
    assert confirmed["position"] > position and confirmed["commitment_id"] == commitment["id"]
    assert confirmed["response"]["response"] == "confirmed" and confirmed["action_id"] == action["id"]
    disputed = command(
        client.post(responses, json={"response": "disputed", "note": "We were not there."}, headers=support.headers),
        201,
        2,
    )
    assert disputed["position"] > confirmed["position"]
    position = disputed["position"]
    problem(client.post(responses, json={"response": "confirmed"}, headers=community.headers), 409)
    fetched = client.get(url(commitment, "actions", action["id"]), headers=community.headers)
    assert fetched.status_code == 200 and fetched.headers["ETag"] == '"3"'
    assert set(fetched.get_json()) >= ACTION_FIELDS and fetched.get_json()["version"] == 3
    assert [r["response"] for r in fetched.get_json()["responses"]] == ["confirmed", "disputed"]

    progress = command(
        client.post(
            url(commitment, "progress"),
            json={"completion": "substantial", "note": "The review is published."},
            headers=lead.headers,
        ),
        201,
    )
    step(progress)

    document = current(client, commitment, community)
    assert document["version"] == version
    assert document["completion"]["completion"] == "substantial"
    assert {p["id"]: p["role"] for p in document["partners"]} == {
        str(lead.id): "lead",
        str(support.id): "support",
        str(community.id): "community",
    }
    (kept,) = document["milestones"]
    assert (kept["id"], kept["reached_on"]) == (milestone, "2016-02-29")
    (recorded,) = document["actions"]
    answers = {r["partner_id"]: r["response"] for r in recorded["responses"]}
    assert answers == {str(community.id): "confirmed", str(support.id): "disputed"}

    withdrawn = command(
        client.post(
            url(commitment, "withdrawal"), json={"reason": "Superseded by the 2016–18 plan."}, headers=lead.headers
        ),
        200,
    )
    step(withdrawn)
    assert withdrawn["status"] == "withdrawn"
    refused = client.post(
        url(commitment, "milestones"), json={"title": "Too late", "due_on": "2017-01-01"}, headers=lead.headers
    )
    problem(refused, 409)
    assert current(client, commitment, lead)["version"] == version, "a refused command records nothing"


def test_a_commitment_reads_as_it_was_at_a_version_or_an_instant(client: FlaskClient, callers: Callers) -> None:
    lead = callers.lead
    commitment = create_commitment(client, lead)
    first = commitment["version"]
    renamed = command(
        client.patch(
            url(commitment),
            json={"title": "Kia Tūtahi: the review", "reason": "Shorter"},
            headers=with_etag(lead, first),
        ),
        200,
        first,
    )
    command(
        client.patch(
            url(commitment),
            json={"title": "Kia Tūtahi: the final review", "reason": "Final"},
            headers=with_etag(lead, renamed["version"]),
        ),
        200,
        renamed["version"],
    )

    at_first = client.get(url(commitment) + f"?version={first}")
    assert at_first.status_code == 200 and at_first.headers["ETag"] == f'"{first}"'
    assert at_first.get_json()["title"] == COMMITMENT["title"] and at_first.get_json()["version"] == first

    then = renamed["updated_at"]
    as_of = client.get(url(commitment), query_string={"as_of": then})
    assert as_of.status_code == 200, as_of.get_json()
    assert as_of.get_json()["title"] == "Kia Tūtahi: the review"
    assert "Kia Tūtahi".encode() in as_of.get_data(), "UTF-8 on the wire, macrons as themselves"
    assert as_of.headers["ETag"] == f'"{renamed["version"]}"'
    assert current(client, commitment, lead)["title"] == "Kia Tūtahi: the final review"

    problem(client.get(url(commitment), query_string={"as_of": "2000-01-01T00:00:00Z"}), 404)
    problem(client.get(url(commitment) + "?version=99"), 404)
    both = problem(client.get(url(commitment), query_string={"version": first, "as_of": then}), 422)
    assert set(both["errors"]) & {"version", "as_of"}
    problem(client.get(url(commitment) + "?version=0"), 422)
    problem(client.get(url(commitment) + "?as_of=yesterday"), 422)


def test_patch_needs_the_current_etag_in_if_match(client: FlaskClient, callers: Callers) -> None:
    lead = callers.lead
    commitment = create_commitment(client, lead)
    version = commitment["version"]
    change = {"description": "Communities and government, standing together.", "reason": "Wording"}

    missing = problem(client.patch(url(commitment), json=change, headers=lead.headers), 428)
    assert "If-Match" in missing["detail"]
    problem(client.patch(url(commitment), json=change, headers=with_etag(lead, version - 1)), 412)
    problem(client.patch(url(commitment), json=change, headers={**lead.headers, "If-Match": "nonsense"}), 412)
    assert current(client, commitment, lead)["version"] == version, "428 and 412 record nothing"

    amended = command(client.patch(url(commitment), json=change, headers=with_etag(lead, version)), 200, version)
    assert amended["description"] == change["description"]
    assert set(amended) >= COMMITMENT_FIELDS

    # After the change the old ETag is stale; the reason is required; nothing else may be sent.
    problem(client.patch(url(commitment), json={**change, "title": "X"}, headers=with_etag(lead, version)), 412)
    no_reason = problem(
        client.patch(url(commitment), json={"title": "New"}, headers=with_etag(lead, amended["version"])), 422
    )
    assert "reason" in no_reason["errors"]
    unknown = problem(
        client.patch(
            url(commitment),
            json={"action_plan": "Another plan", "reason": "Moved"},
            headers=with_etag(lead, amended["version"]),
        ),
        422,
    )
    assert "action_plan" in unknown["errors"]
    unchanged = client.patch(url(commitment), json=change, headers=with_etag(lead, amended["version"]))
    problem(unchanged, 409)


def test_every_other_command_accepts_if_match(client: FlaskClient, callers: Callers) -> None:
    """Each command first meets a stale If-Match (412, nothing recorded), then the
    current one (accepted)."""
    lead, support, community = callers.lead, callers.support, callers.community
    commitment = create_commitment(client, lead)
    state = {"version": commitment["version"]}

    def guarded(method: str, path: str, caller: Caller, status: int, body: dict[str, Any] | None = None) -> Any:
        stale = client.open(path, method=method, json=body, headers=with_etag(caller, state["version"] - 1))
        problem(stale, 412)
        assert current(client, commitment, lead)["version"] == state["version"]
        done = command(
            client.open(path, method=method, json=body, headers=with_etag(caller, state["version"])),
            status,
            state["version"],
        )
        state["version"] = done["version"]
        return done

    guarded("POST", url(commitment, "partners"), lead, 201, {"partner_id": str(support.id), "role": "support"})
    guarded("POST", url(commitment, "partners"), lead, 201, {"partner_id": str(community.id), "role": "community"})
    milestone = guarded("POST", url(commitment, "milestones"), support, 201, {"title": "Hui", "due_on": "2015-12-01"})
    guarded(
        "PATCH",
        url(commitment, "milestones", milestone["id"]),
        support,
        200,
        {"title": "Hui at the marae", "reason": "Where it was held"},
    )
    guarded("POST", url(commitment, "milestones", milestone["id"], "reached"), lead, 200, {"reached_on": "2015-11-30"})
    # A joint action is a record of its own: recording one checks If-Match against the
    # commitment (whose rules it follows) and leaves the commitment's version as it was;
    # its responses and withdrawal check If-Match against the action's own version.
    body = {"summary": "Wānanga", "occurred_on": "2015-10-10", "partner_ids": [str(community.id)]}
    problem(client.post(url(commitment, "actions"), json=body, headers=with_etag(lead, state["version"] - 1)), 412)
    action = command(
        client.post(url(commitment, "actions"), json=body, headers=with_etag(lead, state["version"])), 201, 0
    )
    assert current(client, commitment, lead)["version"] == state["version"]
    responses = url(commitment, "actions", action["id"], "responses")
    problem(client.post(responses, json={"response": "confirmed"}, headers=with_etag(community, 2)), 412)
    command(client.post(responses, json={"response": "confirmed"}, headers=with_etag(community, 1)), 201, 1)
    withdrawal = url(commitment, "actions", action["id"], "withdrawal")
    problem(client.post(withdrawal, json={"reason": "Twice"}, headers=with_etag(lead, 1)), 412)
    withdrawn = command(client.post(withdrawal, json={"reason": "Twice"}, headers=with_etag(lead, 2)), 200, 2)
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "Twice"
    guarded("POST", url(commitment, "progress"), lead, 201, {"completion": "limited", "note": "Begun."})
    guarded("DELETE", url(commitment, "partners", str(support.id)) + "?reason=Restructure", lead, 200)
    guarded("POST", url(commitment, "withdrawal"), lead, 200, {"reason": "Merged into NZ0005."})


def test_a_partner_is_removed_or_leaves_with_a_reason_in_the_query_or_the_body(
    client: FlaskClient, callers: Callers
) -> None:
    lead, support, community = callers.lead, callers.support, callers.community
    commitment = create_commitment(client, lead)
    join(client, commitment, lead, support, "support")
    version = join(client, commitment, lead, community, "community")["version"]

    problem(client.delete(url(commitment, "partners", str(support.id)), headers=lead.headers), 422)
    problem(
        client.delete(url(commitment, "partners", str(support.id)), json={"reason": "  "}, headers=lead.headers), 422
    )
    extra = problem(
        client.delete(
            url(commitment, "partners", str(support.id)), json={"reason": "x", "actor": "me"}, headers=lead.headers
        ),
        422,
    )
    assert "actor" in extra["errors"]

    removed = client.delete(
        url(commitment, "partners", str(support.id)),
        query_string={"reason": "Te Puni Kōkiri now leads NZ0005"},
        headers=lead.headers,
    )
    removed_body = command(removed, 200, version)
    assert str(support.id) not in [p["id"] for p in removed_body["partners"]]
    left = client.delete(
        url(commitment, "partners", str(community.id)),
        json={"reason": "Our board decided to step back"},
        headers=community.headers,
    )
    left_body = command(left, 200, removed_body["version"])
    assert [p["id"] for p in left_body["partners"]] == [str(lead.id)]

    history = events(client, commitment, lead)
    partings = [(e["type"], e["data"]["partner_id"], e["data"]["reason"], e["actor"]["id"]) for e in history[-2:]]
    assert partings == [
        ("PartnerLeft", str(support.id), "Te Puni Kōkiri now leads NZ0005", str(lead.id)),
        ("PartnerLeft", str(community.id), "Our board decided to step back", str(community.id)),
    ]
    # The last lead cannot leave; a partner that is not there cannot be removed.
    problem(client.delete(url(commitment, "partners", str(lead.id)) + "?reason=Done", headers=lead.headers), 409)
    problem(client.delete(url(commitment, "partners", str(support.id)) + "?reason=Again", headers=lead.headers), 409)


def test_timeline_events_and_diff_tell_the_same_story(client: FlaskClient, callers: Callers) -> None:
    lead, community, auditor = callers.lead, callers.community, callers.auditor
    commitment = create_commitment(client, lead)
    first = commitment["version"]
    joined = join(client, commitment, lead, community, "community")
    milestone = command(
        client.post(url(commitment, "milestones"), json={"title": "Hui", "due_on": "2015-12-01"}, headers=lead.headers),
        201,
    )
    reached = command(
        client.post(
            url(commitment, "milestones", milestone["id"], "reached"),
            json={"reached_on": "2015-11-30"},
            headers=lead.headers,
        ),
        200,
    )
    amended = command(
        client.patch(
            url(commitment),
            json={"title": "Kia Tūtahi review", "reason": "Shorter"},
            headers=with_etag(lead, reached["version"]),
        ),
        200,
    )
    last = amended["version"]

    timeline = client.get(url(commitment, "timeline"))
    assert timeline.status_code == 200
    entries = timeline.get_json()["items"]
    assert [e["version"] for e in entries] == list(range(last, 0, -1)), "newest first, one entry per version"
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions, reverse=True)
    for entry in entries:
        assert set(entry) >= ENTRY_FIELDS
        assert INSTANT.match(entry["recorded_at"])
        assert set(entry["actor"]) >= {"id", "name"} and entry["actor"]["id"] == str(lead.id)
        assert isinstance(entry["summary"], str) and entry["summary"].strip()
    reached_entry = next(e for e in entries if e["version"] == reached["version"])
    assert reached_entry["occurred_on"] == "2015-11-30"

    for reader in (lead, community, auditor, callers.admin):
        history = events(client, commitment, reader)
        assert [e["version"] for e in history] == list(range(1, last + 1)), "version order"
        assert {e["position"] for e in history} == set(positions)
    for event in history:
        assert set(event) >= EVENT_FIELDS
        assert event["aggregate_id"] == commitment["id"] and event["aggregate_type"] == "commitment"
        assert INSTANT.match(event["recorded_at"]) and re.fullmatch(r"[0-9a-f]{64}", event["leaf_hash"])
    assert history[0]["type"] == "CommitmentCreated"
    assert history[joined["version"] - 1]["type"] == "PartnerJoined"

    diff = client.get(url(commitment, "diff"), query_string={"from": first, "to": last})
    assert diff.status_code == 200, diff.get_json()
    changes = {c["path"]: (c["before"], c["after"]) for c in diff.get_json()["changes"]}
    assert all(set(c) == {"path", "before", "after"} for c in diff.get_json()["changes"])
    assert changes["title"] == (COMMITMENT["title"], "Kia Tūtahi review")
    assert changes[f"partners.{community.id}"][0] is None and changes[f"partners.{community.id}"][1]
    assert changes[f"milestones.{milestone['id']}"][0] is None, "added in between: the whole milestone"
    reaching = client.get(
        url(commitment, "diff"), query_string={"from": milestone["version"], "to": reached["version"]}
    )
    assert reaching.get_json()["changes"] == [
        {"path": f"milestones.{milestone['id']}.reached_on", "before": None, "after": "2015-11-30"}
    ]
    assert client.get(url(commitment, "diff"), query_string={"from": last, "to": last}).get_json()["changes"] == []
    problem(client.get(url(commitment, "diff"), query_string={"from": first, "to": last + 5}), 404)
    problem(client.get(url(commitment, "diff"), query_string={"from": first}), 422)


def test_lists_page_by_cursor_and_refuse_absurd_limits(client: FlaskClient, callers: Callers) -> None:
    lead, admin = callers.lead, callers.admin
    made = [create_commitment(client, lead, external_ref=f"NZ-P{i}")["id"] for i in range(5)]
    for i in range(3):
        client.post(
            f"{API}/partners", json={"name": f"Paging trust {i}", "kind": "civil_society"}, headers=admin.headers
        )

    pages = walk(client, f"{API}/commitments", None, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [item["id"] for page in pages for item in page] == made, "each once, in a stable order"

    partners = walk(client, f"{API}/partners", lead, 3)
    names = [p["name"] for page in partners for p in page]
    assert len(names) == len(set(names)) == 8 and all(set(p) >= PARTNER_FIELDS for page in partners for p in page)

    timeline = [e["position"] for page in walk(client, url(made[0], "timeline"), None, 1) for e in page]
    whole = [e["position"] for e in client.get(url(made[0], "timeline")).get_json()["items"]]
    assert timeline == whole and len(whole) >= 2

    mine = walk(client, f"{API}/partners/{lead.id}/timeline", lead, 4)
    mine_positions = [e["position"] for page in mine for e in page]
    assert mine_positions == sorted(mine_positions, reverse=True) and len(mine_positions) == 10

    assert len(client.get(f"{API}/commitments?limit=1000").get_json()["items"]) == 5
    for path in (
        f"{API}/commitments",
        f"{API}/partners",
        url(made[0], "timeline"),
        f"{API}/partners/{lead.id}/timeline",
    ):
        for limit in ("0", "1001", "-1", "many"):
            body = problem(client.get(f"{path}?limit={limit}", headers=lead.headers), 422)
            assert "limit" in body["errors"], body
        problem(client.get(f"{path}?after=not-a-cursor", headers=lead.headers), 422)


def test_search_ignores_macrons_and_case_and_lists_filter(client: FlaskClient, callers: Callers) -> None:
    lead, support, community = callers.lead, callers.support, callers.community
    hui = create_commitment(client, lead, title="Hui series with Te Puni Kōkiri", external_ref="NZ-S1")
    budget = create_commitment(
        client,
        lead,
        title="Open budget portal",
        external_ref="NZ-S2",
        action_plan="New Zealand National Action Plan 2016–18",
    )
    join(client, hui, lead, community, "community")
    command(client.post(url(budget, "withdrawal"), json={"reason": "Done elsewhere"}, headers=lead.headers), 200)

    def found(query: dict[str, Any], caller: Caller | None = None) -> list[str]:
        response = client.get(f"{API}/commitments", query_string=query, headers=caller.headers if caller else {})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    for q in ("kokiri", "KŌKIRI", "te puni", "Kōkiri HUI", "kōkiri"):
        assert found({"q": q}) == [hui["id"]], q
    assert found({"q": "BUDGET"}) == [budget["id"]]
    assert found({"q": "nothing like it"}) == []
    assert found({"action_plan": "New Zealand National Action Plan 2016–18"}) == [budget["id"]]
    assert found({"status": "withdrawn"}) == [budget["id"]] and found({"status": "active"}) == [hui["id"]]
    assert found({"partner_id": str(community.id)}) == [hui["id"]]
    problem(client.get(f"{API}/commitments?status=paused"), 422)
    problem(client.get(f"{API}/commitments?partner_id=someone"), 422)
    summary = client.get(f"{API}/commitments", query_string={"q": "budget"}).get_json()["items"][0]
    assert {"id", "version", "title", "action_plan", "status"} <= set(summary)

    def partners(query: dict[str, Any]) -> list[str]:
        response = client.get(f"{API}/partners", query_string=query, headers=lead.headers)
        assert response.status_code == 200, response.get_json()
        return [p["name"] for p in response.get_json()["items"]]

    for q in ("ngati whatua", "NGĀTI", "Ōrākei", "orakei"):
        assert partners({"q": q}) == ["Ngāti Whātua Ōrākei"], q
    assert partners({"q": "te puni kokiri"}) == ["Te Puni Kōkiri"]
    assert partners({"kind": "iwi_hapu"}) == ["Ngāti Whātua Ōrākei"]
    assert sorted(partners({"kind": "agency"})) == sorted([lead.name, support.name, callers.other_agency.name])
    problem(client.get(f"{API}/partners?kind=charity", headers=lead.headers), 422)


def test_errors_are_problem_documents(client: FlaskClient, callers: Callers) -> None:
    lead = callers.lead
    commitment = create_commitment(client, lead)

    problem(client.get(url(str(uuid4()))), 404)
    problem(client.get(f"{API}/commitments/not-a-uuid"), 404)
    problem(client.get(f"{API}/partners/{uuid4()}", headers=lead.headers), 404)
    problem(
        client.post(
            url(commitment, "milestones", str(uuid4()), "reached"),
            json={"reached_on": "2015-01-01"},
            headers=lead.headers,
        ),
        404,
    )
    problem(
        client.post(
            url(commitment, "actions", str(uuid4()), "responses"), json={"response": "confirmed"}, headers=lead.headers
        ),
        404,
    )
    problem(
        client.post(url(str(uuid4()), "milestones"), json={"title": "X", "due_on": "2015-01-01"}, headers=lead.headers),
        404,
    )
    bad_json = client.post(f"{API}/commitments", data=b"{title:", content_type="application/json", headers=lead.headers)
    problem(bad_json, 400)
    problem(client.post(f"{API}/commitments", json=["a", "list"], headers=lead.headers), 400)
    problem(client.post(f"{API}/commitments", data="title=x", content_type="text/plain", headers=lead.headers), 415)
    not_allowed = client.put(url(commitment), json={}, headers=lead.headers)
    problem(not_allowed, 405)
    assert {"GET", "PATCH"} <= {m.strip() for m in not_allowed.headers["Allow"].split(",")}

    invalid = problem(
        client.post(
            f"{API}/commitments",
            json={
                **COMMITMENT,
                "title": None,
                "starts_on": "1 July 2014",
                "ogp_values": "civic",
                "visibility": "secret",
            },
            headers=lead.headers,
        ),
        422,
    )
    assert {"title", "starts_on", "ogp_values", "visibility"} <= set(invalid["errors"])
    missing = problem(client.post(f"{API}/commitments", json={}, headers=lead.headers), 422)
    assert {"title", "action_plan", "external_ref", "starts_on", "ends_on"} <= set(missing["errors"])
    backwards = problem(
        client.post(f"{API}/commitments", json={**COMMITMENT, "ends_on": "2013-01-01"}, headers=lead.headers), 422
    )
    assert backwards["errors"]
    assert len(client.get(f"{API}/commitments").get_json()["items"]) == 1, "nothing refused was recorded"


# -- who is calling --------------------------------------------------------------------


def test_missing_unknown_and_revoked_tokens_are_refused_with_a_bearer_challenge(
    client: FlaskClient, callers: Callers
) -> None:
    admin = callers.admin

    def unauthorised(response: TestResponse) -> None:
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    unauthorised(client.post(f"{API}/commitments", json=COMMITMENT))
    unauthorised(client.get(f"{API}/partners"))
    unauthorised(client.get(f"{API}/partners", headers={"Authorization": "Bearer tutahi_not-a-real-token"}))
    unauthorised(client.get(f"{API}/partners", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}))
    unauthorised(client.get(f"{API}/partners", headers={"Authorization": "Bearer "}))

    issued = client.post(
        f"{API}/tokens", json={"role": "community", "partner_id": str(callers.stranger.id)}, headers=admin.headers
    )
    assert issued.status_code == 201, issued.get_json()
    token = issued.get_json()
    assert {"id", "role", "partner_id", "holder_name", "issued_at", "revoked_at", "token"} <= set(token)
    assert (token["role"], token["partner_id"], token["holder_name"]) == (
        "community",
        str(callers.stranger.id),
        callers.stranger.name,
    )
    assert token["revoked_at"] is None and token["token"]
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.get(f"{API}/partners", headers=bearer).status_code == 200

    listed = client.get(f"{API}/tokens", headers=admin.headers)
    assert listed.status_code == 200
    assert token["id"] in [t["id"] for t in listed.get_json()["items"]]
    assert token["token"] not in listed.get_data(as_text=True), "the secret is shown once"
    assert all("token" not in t for t in listed.get_json()["items"])

    revoked = client.delete(f"{API}/tokens/{token['id']}", headers=admin.headers)
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["id"] == token["id"] and INSTANT.match(revoked.get_json()["revoked_at"])
    unauthorised(client.get(f"{API}/partners", headers=bearer))
    unauthorised(
        client.get(f"{API}/commitments", headers=bearer)
    )  # a revoked token is unknown, even where none is needed
    problem(client.delete(f"{API}/tokens/{token['id']}", headers=admin.headers), 404)
    problem(client.delete(f"{API}/tokens/{uuid4()}", headers=admin.headers), 404)

    # Tokens fit their holder: agency tokens for agencies, auditor and admin tokens for a named office.
    problem(
        client.post(
            f"{API}/tokens", json={"role": "agency", "partner_id": str(callers.community.id)}, headers=admin.headers
        ),
        422,
    )
    unknown = str(uuid4())
    nobody = problem(
        client.post(f"{API}/tokens", json={"role": "community", "partner_id": unknown}, headers=admin.headers), 422
    )
    assert unknown in nobody["errors"]["partner"][0], "a partner that does not exist is a bad field, not a 404"
    problem(client.post(f"{API}/tokens", json={"role": "auditor"}, headers=admin.headers), 422)
    problem(client.post(f"{API}/tokens", json={"role": "root", "name": "x"}, headers=admin.headers), 422)
    auditor = client.post(
        f"{API}/tokens", json={"role": "auditor", "name": "Office of the Auditor-General"}, headers=admin.headers
    )
    assert auditor.status_code == 201 and auditor.get_json()["partner_id"] is None


def test_a_token_revoked_on_the_command_line_is_unknown_at_once(
    client: FlaskClient, callers: Callers, api_store_url: str
) -> None:
    community = callers.community
    tokens = client.get(f"{API}/tokens", headers=callers.admin.headers).get_json()["items"]
    (credential,) = [t for t in tokens if t["partner_id"] == str(community.id)]
    assert client.get(f"{API}/partners", headers=community.headers).status_code == 200

    listed = CliRunner().invoke(cli, ["--database-url", api_store_url, "tokens", "list"], obj={})
    assert listed.exit_code == 0, listed.output
    assert community.token not in listed.output
    result = CliRunner().invoke(cli, ["--database-url", api_store_url, "tokens", "revoke", credential["id"]], obj={})
    assert result.exit_code == 0, result.output

    refused = client.get(f"{API}/partners", headers=community.headers)
    problem(refused, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    others = client.get(f"{API}/partners", headers=callers.lead.headers)
    assert others.status_code == 200, "only that token was revoked"


def test_the_request_id_is_the_services_own_and_the_clients_is_kept_beside_it(
    client: FlaskClient, callers: Callers
) -> None:
    lead = callers.lead
    response = client.post(
        f"{API}/commitments", json=COMMITMENT, headers={**lead.headers, "X-Request-Id": "req-7f3a-0001"}
    )
    assert response.status_code == 201
    made = response.headers["X-Request-Id"]
    assert made != "req-7f3a-0001" and re.fullmatch(r"[0-9a-f]{32}", made)
    commitment = response.get_json()
    milestone = client.post(
        url(commitment, "milestones"), json={"title": "Hui", "due_on": "2015-12-01"}, headers=lead.headers
    )
    generated = milestone.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated) and generated != made
    odd = client.get(url(commitment), headers={"X-Request-Id": "has spaces in it"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-Id"])
    missing = client.get(url(str(uuid4())), headers={"X-Request-Id": "req-missing"})
    assert problem(missing, 404)["request_id"] == missing.headers["X-Request-Id"] != "req-missing"
    # A client cannot make the service record a request id of its choosing.
    spoofed = client.post(
        url(commitment, "milestones"),
        json={"title": "Hui two", "due_on": "2015-12-02"},
        headers={**lead.headers, "X-Request-Id": generated},
    )
    assert spoofed.status_code == 201

    history = events(client, commitment, lead)
    created = [e for e in history if e["version"] <= commitment["version"]]
    assert created and {e["request_id"] for e in created} == {made}
    assert {e["client_request_id"] for e in created} == {"req-7f3a-0001"}
    assert history[-2]["type"] == "MilestoneAdded" and history[-2]["request_id"] == generated
    assert "client_request_id" not in history[-2], "none sent, none recorded"
    assert history[-1]["request_id"] == spoofed.headers["X-Request-Id"] != generated
    assert history[-1]["client_request_id"] == generated
    for event in history:
        assert (
            event["leaf_hash"]
            == hashlib.sha256(b"\x00" + rfc8785.dumps({k: v for k, v in event.items() if k != "leaf_hash"})).hexdigest()
        )


def test_the_actor_of_every_event_is_the_token_holder_never_a_body_field(client: FlaskClient, callers: Callers) -> None:
    lead, support, community, admin, auditor = (
        callers.lead,
        callers.support,
        callers.community,
        callers.admin,
        callers.auditor,
    )
    impostor = {"id": str(support.id), "role": "admin", "name": "Someone else"}
    sneaky = client.post(f"{API}/commitments", json={**COMMITMENT, "actor": impostor}, headers=lead.headers)
    assert "actor" in problem(sneaky, 422)["errors"]
    assert client.get(f"{API}/commitments").get_json()["items"] == []

    commitment = create_commitment(client, lead)
    join(client, commitment, lead, support, "support")
    join(client, commitment, lead, community, "community")
    sneaky_milestone = client.post(
        url(commitment, "milestones"),
        json={"title": "Hui", "due_on": "2015-12-01", "actor": impostor},
        headers=support.headers,
    )
    assert "actor" in problem(sneaky_milestone, 422)["errors"]
    command(
        client.post(
            url(commitment, "milestones"), json={"title": "Hui", "due_on": "2015-12-01"}, headers=support.headers
        ),
        201,
    )
    action = command(
        client.post(
            url(commitment, "actions"),
            json={"summary": "Hui", "occurred_on": "2015-09-12", "partner_ids": [str(community.id)]},
            headers=support.headers,
        ),
        201,
    )
    command(
        client.post(
            url(commitment, "actions", action["id"], "responses"),
            json={"response": "confirmed"},
            headers=community.headers,
        ),
        201,
    )

    actors = [(e["type"], e["actor"]["id"], e["actor"]["role"]) for e in events(client, commitment, auditor)]
    assert actors == [
        ("CommitmentCreated", str(lead.id), "agency"),
        ("PartnerJoined", str(lead.id), "agency"),
        ("PartnerJoined", str(lead.id), "agency"),
        ("PartnerJoined", str(lead.id), "agency"),
        ("MilestoneAdded", str(support.id), "agency"),
    ]
    whole = client.get(f"{API}/events", query_string={"limit": 1000}, headers=auditor.headers).get_json()["items"]
    acted = [(e["type"], e["actor"]["id"], e["actor"]["role"]) for e in whole if e["aggregate_id"] == action["id"]]
    assert acted == [
        ("JointActionRecorded", str(support.id), "agency"),
        ("JointActionResponded", str(community.id), "community"),
    ]

    registered = client.post(
        f"{API}/partners", json={"name": "Citizens Advice Bureau", "kind": "civil_society"}, headers=admin.headers
    )
    assert registered.status_code == 201
    log = client.get(f"{API}/events", query_string={"limit": 1000}, headers=auditor.headers).get_json()["items"]
    (registration,) = [e for e in log if e["aggregate_id"] == registered.get_json()["id"]]
    assert registration["aggregate_type"] == "partner"
    assert (registration["actor"]["role"], registration["actor"].get("name")) == ("admin", admin.name)


# -- partners ------------------------------------------------------------------------


def test_the_admin_registers_partners_and_any_token_reads_the_directory(client: FlaskClient, callers: Callers) -> None:
    admin, lead = callers.admin, callers.lead
    response = client.post(
        f"{API}/partners",
        json={"name": "Citizens Advice Bureau", "kind": "civil_society", "external_ref": "CAB-NZ"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert set(created) >= PARTNER_FIELDS and {"version", "position"} <= set(created)
    assert response.headers["Location"] == f"{API}/partners/{created['id']}"
    assert (created["name"], created["kind"], created["external_ref"]) == (
        "Citizens Advice Bureau",
        "civil_society",
        "CAB-NZ",
    )
    assert INSTANT.match(created["registered_at"]) and CANONICAL_UUID.match(created["id"])

    read = client.get(response.headers["Location"], headers=lead.headers)
    assert read.status_code == 200
    assert read.get_json() == {k: created[k] for k in PARTNER_FIELDS}
    bare = client.post(
        f"{API}/partners", json={"name": "Hāpai te Hauora", "kind": "community_organisation"}, headers=admin.headers
    )
    assert bare.status_code == 201 and bare.get_json()["external_ref"] is None

    assert (
        "kind"
        in problem(client.post(f"{API}/partners", json={"name": "X", "kind": "charity"}, headers=admin.headers), 422)[
            "errors"
        ]
    )
    assert (
        "name"
        in problem(client.post(f"{API}/partners", json={"kind": "business"}, headers=admin.headers), 422)["errors"]
    )
    problem(client.post(f"{API}/partners", json={"name": "   ", "kind": "business"}, headers=admin.headers), 422)
    problem(client.get(f"{API}/partners/{uuid4()}", headers=lead.headers), 404)


def test_a_partner_timeline_spans_every_commitment_it_belongs_to(client: FlaskClient, callers: Callers) -> None:
    lead, support, community, auditor = callers.lead, callers.support, callers.community, callers.auditor
    first = create_commitment(client, lead, external_ref="NZ-T1")
    second = create_commitment(client, support, external_ref="NZ-T2", visibility="partners")
    create_commitment(client, lead, external_ref="NZ-T3")  # the community partner is not in this one
    join(client, first, lead, community, "community")
    join(client, second, support, community, "community")
    command(
        client.post(url(second, "progress"), json={"completion": "limited", "note": "Begun."}, headers=support.headers),
        201,
    )

    mine = client.get(f"{API}/partners/{community.id}/timeline", headers=community.headers)
    assert mine.status_code == 200
    entries = mine.get_json()["items"]
    assert {e["commitment_id"] for e in entries} == {first["id"], second["id"]}
    assert [e["position"] for e in entries] == sorted((e["position"] for e in entries), reverse=True)
    assert entries[0]["kind"] and entries[0]["actor"] == {"id": str(support.id), "name": support.name}
    assert all(set(e) >= ENTRY_FIELDS for e in entries)
    as_auditor = client.get(f"{API}/partners/{community.id}/timeline", headers=auditor.headers).get_json()["items"]
    assert as_auditor == entries
    problem(client.get(f"{API}/partners/{community.id}/timeline", headers=lead.headers), 403)
    problem(client.get(f"{API}/partners/{uuid4()}/timeline", headers=auditor.headers), 404)


# -- the service itself --------------------------------------------------------------


class References(HTMLParser):
    """Every URL a page makes a browser fetch: src and href attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def test_health_readiness_and_the_openapi_document(client: FlaskClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"

    spec = client.get(f"{API}/openapi.json")
    assert spec.status_code == 200 and spec.mimetype == "application/json"
    document = spec.get_json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    contract = {
        "/partners": {"get", "post"},
        "/partners/{partner_id}": {"get"},
        "/partners/{partner_id}/timeline": {"get"},
        "/commitments": {"get", "post"},
        "/commitments/{commitment_id}": {"get", "patch"},
        "/commitments/{commitment_id}/partners": {"post"},
        "/commitments/{commitment_id}/partners/{partner_id}": {"delete"},
        "/commitments/{commitment_id}/milestones": {"post"},
        "/commitments/{commitment_id}/milestones/{milestone_id}/reached": {"post"},
        "/commitments/{commitment_id}/actions": {"post"},
        "/commitments/{commitment_id}/actions/{action_id}/responses": {"post"},
        "/commitments/{commitment_id}/progress": {"post"},
        "/commitments/{commitment_id}/withdrawal": {"post"},
        "/commitments/{commitment_id}/timeline": {"get"},
        "/commitments/{commitment_id}/events": {"get"},
        "/commitments/{commitment_id}/diff": {"get"},
        "/tokens": {"get", "post"},
        "/tokens/{token_id}": {"delete"},
    }
    for path, methods in contract.items():
        assert f"{API}{path}" in paths, path
        assert methods <= set(paths[f"{API}{path}"]), path
    patch_parameters = paths[f"{API}/commitments/{{commitment_id}}"]["patch"].get("parameters", [])
    assert any(p["name"] == "If-Match" and p["in"] == "header" and p["required"] for p in patch_parameters)
    assert "201" in paths[f"{API}/commitments"]["post"]["responses"]
    assert "428" in paths[f"{API}/commitments/{{commitment_id}}"]["patch"]["responses"]


def test_the_interactive_docs_are_served_without_any_external_url(client: FlaskClient) -> None:
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    html = docs.get_data(as_text=True)
    parser = References()
    parser.feed(html)
    assert parser.urls, "the page loads Swagger UI"
    assert all(u.startswith(f"{API}/docs/assets/") for u in parser.urls), parser.urls
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), "no CDN or other host"
    assert f"{API}/openapi.json" in html
    assert '"validatorUrl": null' in html, "Swagger UI's default validator badge would call validator.swagger.io"
    for asset in parser.urls:
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert fetched.get_data(), asset
    problem(client.get(f"{API}/docs/assets/no-such-file.js"), 404)


@pytest.mark.parametrize("visibility", ["public", "partners"])
def test_a_partners_only_commitment_is_seen_by_its_partners_auditors_and_admins_only(
    client: FlaskClient, callers: Callers, visibility: str
) -> None:
    lead, community = callers.lead, callers.community
    commitment = create_commitment(client, lead, visibility=visibility)
    join(client, commitment, lead, community, "community")
    public = visibility == "public"

    for caller in (None, callers.other_agency, callers.stranger):
        headers = caller.headers if caller else {}
        seen = client.get(url(commitment), headers=headers)
        if public:
            assert seen.status_code == 200
        else:
            body = problem(seen, 404)
            assert commitment["title"] not in str(body)
        listed = client.get(f"{API}/commitments", headers=headers).get_json()["items"]
        assert (commitment["id"] in [c["id"] for c in listed]) is public
    for caller in (lead, community, callers.auditor, callers.admin):
        assert current(client, commitment, caller)["visibility"] == visibility
        listed = client.get(f"{API}/commitments", headers=caller.headers).get_json()["items"]
        assert commitment["id"] in [c["id"] for c in listed]
