"""The domain's second round over HTTP: joint actions as records of their own that any
partner records, partners renamed with a reason, milestones changed with a reason,
progress that says the date it describes, independent assessments, and the log's
integrity failure answered as a problem that names the position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from application.credentials import holder_id
from domain.values import ActorRole
from interfaces.app import create_app
from interfaces.cli import main as cli
from tests.api.conftest import Caller, Callers, create_commitment, services_of
from tests.contract import ACTION_FIELDS, ASSESSMENT_FIELDS

API = "/api/v1"


def url(commitment: dict[str, Any] | str, *parts: str) -> str:
    cid = commitment if isinstance(commitment, str) else commitment["id"]
    return "/".join([f"{API}/commitments/{cid}", *parts])


def ok(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()  # type: ignore[no-any-return]


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    return response.get_json()  # type: ignore[no-any-return]


def with_etag(caller: Caller, version: int) -> dict[str, str]:
    return {**caller.headers, "If-Match": f'"{version}"'}


def partnered(client: FlaskClient, callers: Callers) -> dict[str, Any]:
    """A commitment led by DIA with Te Puni Kōkiri supporting and Hui E! taking part."""
    commitment = create_commitment(client, callers.lead)
    for who, role in ((callers.support, "support"), (callers.community, "community")):
        ok(
            client.post(
                url(commitment, "partners"),
                json={"partner_id": str(who.id), "role": role},
                headers=callers.lead.headers,
            ),
            201,
        )
    return ok(client.get(url(commitment)), 200)


def timeline(client: FlaskClient, commitment: dict[str, Any]) -> list[dict[str, Any]]:
    return ok(client.get(url(commitment, "timeline"), query_string={"limit": 1000}), 200)["items"]  # type: ignore[no-any-return]


# -- joint actions -----------------------------------------------------------------------


def test_a_community_partner_records_a_joint_action_which_the_agency_confirms(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    community, support = callers.community, callers.support
    recorded = client.post(
        url(commitment, "actions"),
        json={"summary": "Wānanga on the accord", "occurred_on": "2015-10-10", "partner_ids": [str(support.id)]},
        headers=community.headers,
    )
    action = ok(recorded, 201)
    assert set(action) >= ACTION_FIELDS
    assert (action["recorded_by"], action["partner_ids"], action["status"]) == (
        str(community.id),
        [str(support.id)],
        "recorded",
    )
    assert recorded.headers["Location"] == url(commitment, "actions", action["id"])
    assert recorded.headers["ETag"] == '"1"'

    confirmed = ok(
        client.post(
            url(commitment, "actions", action["id"], "responses"),
            json={"response": "confirmed"},
            headers=support.headers,
        ),
        201,
    )
    assert confirmed["version"] == 2 and confirmed["response"]["partner_id"] == str(support.id)

    fetched = client.get(url(commitment, "actions", action["id"]))
    body = ok(fetched, 200)
    assert fetched.headers["ETag"] == '"2"' and body["version"] == 2
    assert body["commitment_id"] == commitment["id"]
    assert [(r["partner_id"], r["response"]) for r in body["responses"]] == [(str(support.id), "confirmed")]
    document = ok(client.get(url(commitment)), 200)
    assert document["version"] == commitment["version"], "the commitment's own version does not move"
    assert [a["id"] for a in document["actions"]] == [action["id"]]
    assert document["actions"][0] == body
    sentence = timeline(client, commitment)[1]
    assert sentence["kind"] == "joint_action_recorded" and sentence["actor"]["name"] == community.name
    assert sentence["aggregate_id"] == action["id"] and sentence["occurred_on"] == "2015-10-10"
    problem(client.get(url(commitment, "actions", commitment["id"])), 404)


def test_a_partner_that_left_no_longer_responds(client: FlaskClient, callers: Callers) -> None:
    commitment = partnered(client, callers)
    action = ok(
        client.post(
            url(commitment, "actions"),
            json={"summary": "Hui", "occurred_on": "2015-10-10", "partner_ids": [str(callers.community.id)]},
            headers=callers.support.headers,
        ),
        201,
    )
    ok(
        client.delete(
            url(commitment, "partners", str(callers.community.id)),
            query_string={"reason": "No capacity this year"},
            headers=callers.community.headers,
        ),
        200,
    )
    size = services_of_log_size(client)
    refused = problem(
        client.post(
            url(commitment, "actions", action["id"], "responses"),
            json={"response": "confirmed"},
            headers=callers.community.headers,
        ),
        409,
    )
    assert refused["type"].endswith("not-partner")
    assert services_of_log_size(client) == size, "a refusal records nothing"


def services_of_log_size(client: FlaskClient) -> int:
    return services_of(client.application).ledger.log_size()


def test_the_recorder_withdraws_a_joint_action_with_a_reason_and_it_takes_no_more_responses(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    action = ok(
        client.post(
            url(commitment, "actions"),
            json={"summary": "Hui", "occurred_on": "2015-10-10", "partner_ids": [str(callers.community.id)]},
            headers=callers.lead.headers,
        ),
        201,
    )
    withdrawal = url(commitment, "actions", action["id"], "withdrawal")
    problem(client.post(withdrawal, json={"reason": "Not ours"}, headers=callers.community.headers), 403)
    problem(client.post(withdrawal, json={"reason": "  "}, headers=callers.lead.headers), 422)
    withdrawn = ok(client.post(withdrawal, json={"reason": "Recorded twice"}, headers=callers.lead.headers), 200)
    assert (withdrawn["status"], withdrawn["withdrawal_reason"], withdrawn["version"]) == (
        "withdrawn",
        "Recorded twice",
        2,
    )
    problem(client.post(withdrawal, json={"reason": "Again"}, headers=callers.lead.headers), 409)
    refused = problem(
        client.post(
            url(commitment, "actions", action["id"], "responses"),
            json={"response": "confirmed"},
            headers=callers.community.headers,
        ),
        409,
    )
    assert refused["type"].endswith("action-withdrawn")
    latest = timeline(client, commitment)[0]
    assert latest["kind"] == "joint_action_withdrawn" and "Recorded twice" in latest["summary"]


def test_agencies_and_community_partners_only_record_actions_naming_current_partners(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    body = {"summary": "Hui", "occurred_on": "2015-10-10"}
    alone = client.post(
        url(commitment, "actions"),
        json={**body, "partner_ids": [str(callers.community.id)]},
        headers=callers.community.headers,
    )
    assert "partner_ids" in problem(alone, 422)["errors"]
    stranger = client.post(
        url(commitment, "actions"),
        json={**body, "partner_ids": [str(callers.stranger.id)]},
        headers=callers.lead.headers,
    )
    problem(stranger, 409)
    outsider = client.post(
        url(commitment, "actions"),
        json={**body, "partner_ids": [str(callers.lead.id)]},
        headers=callers.stranger.headers,
    )
    problem(outsider, 403)


# -- milestones and partners changed with a reason --------------------------------------------


def test_a_milestone_is_rescheduled_or_retitled_with_a_reason_until_it_is_reached(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    added = ok(
        client.post(
            url(commitment, "milestones"),
            json={"title": "Hui", "due_on": "2015-12-01"},
            headers=callers.support.headers,
        ),
        201,
    )
    path = url(commitment, "milestones", added["id"])
    problem(
        client.patch(path, json={"due_on": "2016-02-01", "reason": "Delayed"}, headers=callers.support.headers), 428
    )
    problem(
        client.patch(path, json={"due_on": "2016-02-01"}, headers=with_etag(callers.support, added["version"])), 422
    )
    problem(
        client.patch(
            path, json={"due_on": "2016-02-01", "reason": "x"}, headers=with_etag(callers.community, added["version"])
        ),
        403,
    )
    changed = client.patch(
        path,
        json={"due_on": "2016-02-01", "reason": "Delayed by the election"},
        headers=with_etag(callers.support, added["version"]),
    )
    moved = ok(changed, 200)
    assert (moved["id"], moved["due_on"], moved["title"], moved["version"]) == (
        added["id"],
        "2016-02-01",
        "Hui",
        added["version"] + 1,
    )
    assert changed.headers["ETag"] == f'"{moved["version"]}"'
    entry = timeline(client, commitment)[0]
    assert entry["kind"] == "milestone_changed" and entry["occurred_on"] == "2016-02-01"
    assert "rescheduled" in entry["summary"] and "Delayed by the election" in entry["summary"]
    ok(
        client.post(path + "/reached", json={"reached_on": "2015-11-30"}, headers=callers.lead.headers),
        200,
    )
    version = ok(client.get(url(commitment)), 200)["version"]
    reached = client.patch(path, json={"title": "Later", "reason": "Renamed"}, headers=with_etag(callers.lead, version))
    assert problem(reached, 409)["type"].endswith("milestone-already-reached")


def test_a_renamed_partner_shows_its_new_name_from_then_on_and_its_old_name_before(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    community = callers.community
    partner = f"{API}/partners/{community.id}"
    problem(client.patch(partner, json={"name": "Hui E!", "reason": "Short"}, headers=community.headers), 403)
    problem(client.patch(partner, json={"name": "Hui E!"}, headers=callers.admin.headers), 422)
    before = client.get(partner, headers=callers.admin.headers)
    renamed = client.patch(
        partner,
        json={"name": "Hui E! Community Aotearoa Trust", "reason": "Registered as a trust"},
        headers={**callers.admin.headers, "If-Match": before.headers["ETag"]},
    )
    body = ok(renamed, 200)
    assert body["name"] == "Hui E! Community Aotearoa Trust" and renamed.headers["ETag"] == f'"{body["version"]}"'
    stale = client.patch(
        partner,
        json={"name": "Hui E! again", "reason": "x"},
        headers={**callers.admin.headers, "If-Match": before.headers["ETag"]},
    )
    problem(stale, 412)

    document = ok(client.get(url(commitment)), 200)
    assert {p["id"]: p["name"] for p in document["partners"]}[str(community.id)] == "Hui E! Community Aotearoa Trust"
    found = ok(client.get(f"{API}/commitments", query_string={"q": "aotearoa trust"}), 200)["items"]
    assert [c["id"] for c in found] == [commitment["id"]], "search finds the new name"
    earlier = timeline(client, commitment)
    ok(
        client.post(
            url(commitment, "actions"),
            json={"summary": "Hui", "occurred_on": "2015-10-10", "partner_ids": [str(callers.lead.id)]},
            headers=community.headers,
        ),
        201,
    )
    later = timeline(client, commitment)[0]
    assert later["actor"]["name"] == "Hui E! Community Aotearoa Trust"
    joined = [e for e in earlier if e["kind"] == "partner_joined" and "Hui E!" in e["summary"]]
    assert joined and "Hui E! Community Aotearoa as community" in joined[0]["summary"], (
        "earlier entries keep the old name"
    )


# -- progress as of a date, and independent assessments ----------------------------------------


def test_progress_says_the_date_it_describes_defaulting_to_today_in_new_zealand(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    path = url(commitment, "progress")
    dated = ok(
        client.post(
            path,
            json={"completion": "limited", "note": "Year one", "as_of": "2015-06-30"},
            headers=callers.lead.headers,
        ),
        201,
    )
    assert dated["report"]["as_of"] == "2015-06-30"
    today = ok(client.post(path, json={"completion": "substantial", "note": "Now"}, headers=callers.lead.headers), 201)
    in_nz = datetime.now(ZoneInfo("Pacific/Auckland")).date().isoformat()
    assert today["report"]["as_of"] == in_nz
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    assert (
        "as_of"
        in problem(
            client.post(
                path, json={"completion": "complete", "note": "Soon", "as_of": future}, headers=callers.lead.headers
            ),
            422,
        )["errors"]
    )
    late = ok(
        client.post(
            path,
            json={"completion": "not_started", "note": "Late report", "as_of": "2014-08-01"},
            headers=callers.lead.headers,
        ),
        201,
    )
    document = ok(client.get(url(commitment)), 200)
    assert [r["as_of"] for r in document["progress"]] == ["2015-06-30", in_nz, "2014-08-01"]
    assert document["completion"]["as_of"] == in_nz, (
        "a report recorded late about an earlier date does not replace a newer one"
    )
    entries = [e for e in timeline(client, commitment) if e["kind"] == "progress_reported"]
    assert [e["occurred_on"] for e in entries] == ["2014-08-01", in_nz, "2015-06-30"]
    assert late["report"]["completion"] == "not_started"


def test_an_assessor_records_assessments_shown_apart_from_the_self_reports(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = partnered(client, callers)
    ok(
        client.post(
            url(commitment, "progress"), json={"completion": "complete", "note": "Done"}, headers=callers.lead.headers
        ),
        201,
    )
    body = {
        "stage": "end_of_term",
        "assessed_on": "2017-02-28",
        "completion": "substantial",
        "did_it_open_government": "marginal",
        "starred": False,
        "report_url": "https://www.opengovpartnership.org/",
        "note": "End-of-term report.",
    }
    for caller in (callers.lead, callers.community, callers.auditor, callers.admin):
        problem(client.post(url(commitment, "assessments"), json=body, headers=caller.headers), 403)
    assessed = ok(client.post(url(commitment, "assessments"), json=body, headers=callers.assessor.headers), 201)
    assert set(assessed) >= ASSESSMENT_FIELDS
    irm = holder_id(ActorRole.ASSESSOR, "Independent Reporting Mechanism")  # one id across its tokens
    assert assessed["assessor"] == {"id": str(irm), "name": "Independent Reporting Mechanism"}
    assert {k: assessed[k] for k in body} == body
    mid = ok(
        client.post(
            url(commitment, "assessments"),
            json={"stage": "mid_term", "assessed_on": "2015-12-01", "completion": "limited"},
            headers=callers.assessor.headers,
        ),
        201,
    )
    assert mid["did_it_open_government"] is None and mid["starred"] is False
    problem(
        client.post(
            url(commitment, "assessments"),
            json={**body, "stage": "later"},
            headers=callers.assessor.headers,
        ),
        422,
    )

    listed = ok(client.get(url(commitment, "assessments")), 200)
    assert [a["id"] for a in listed["items"]] == [assessed["id"], mid["id"]] and listed["next"] is None
    document = ok(client.get(url(commitment)), 200)
    assert document["completion"]["completion"] == "complete", "the self-report stays the agency's"
    assert document["assessed_completion"] == "substantial", "the latest assessment by the date assessed"
    assert [a["id"] for a in document["assessments"]] == [assessed["id"], mid["id"]]
    entries = [e for e in timeline(client, commitment) if e["kind"] == "assessment_recorded"]
    assert all(e["actor"]["name"] == "Independent Reporting Mechanism" for e in entries)
    assert entries[1]["summary"].startswith("Independent Reporting Mechanism assessed completion as substantial")
    assert {e["occurred_on"] for e in entries} == {"2017-02-28", "2015-12-01"}
    summary = ok(client.get(f"{API}/commitments"), 200)["items"][0]
    assert (summary["completion"], summary["assessed_completion"]) == ("complete", "substantial")

    page = client.get(f"/commitments/{commitment['id']}").get_data(as_text=True)
    assert "Independent assessments" in page and "Reported by the lead agency" in page
    assert "independently assessed: substantial" in page and "self-reported: complete" in page


def test_an_assessor_token_is_issued_by_the_command_line_and_reads_what_auditors_read(
    app: Flask, client: FlaskClient, callers: Callers, api_store_url: str
) -> None:
    issued = CliRunner().invoke(
        cli,
        ["--database-url", api_store_url, "tokens", "issue", "--role", "assessor", "--name", "IRM researcher"],
        obj={},
    )
    assert issued.exit_code == 0, issued.output
    token = next(word for word in issued.output.split() if word.startswith("tutahi_"))
    headers = {"Authorization": f"Bearer {token}"}
    secret = create_commitment(client, callers.lead, visibility="partners")
    assert ok(client.get(url(secret), headers=headers), 200)["id"] == secret["id"]
    ok(client.get(f"{API}/events", headers=headers), 200)
    ok(client.get(url(secret, "events"), headers=headers), 200)
    problem(client.post(f"{API}/commitments", json={"title": "x"}, headers=headers), 403)
    problem(client.post(f"{API}/audit/verifications", headers=headers), 403)


# -- the log's integrity ----------------------------------------------------------------------


def test_a_read_of_a_tampered_event_is_a_log_integrity_problem_naming_its_position(
    app: Flask, client: FlaskClient, callers: Callers, api_store_url: str
) -> None:
    commitment = partnered(client, callers)
    history = ok(client.get(url(commitment, "events"), headers=callers.auditor.headers), 200)["items"]
    position = history[1]["position"]
    engine = create_engine(api_store_url)
    try:
        with engine.begin() as connection:
            stored = connection.execute(
                text("SELECT document FROM tutahi_event_log WHERE position = :p"), {"p": position}
            ).scalar_one()
            edited = bytes(stored).replace(b"Internal", b"External")
            assert edited != bytes(stored)
            connection.execute(
                text("UPDATE tutahi_event_log SET document = :d WHERE position = :p"), {"d": edited, "p": position}
            )
    finally:
        engine.dispose()
    # A service started on the store (no aggregate cached from before the edit).
    restarted = create_app({"DATABASE_URL": api_store_url, "TESTING": True, "INSTANCE_PATH": app.instance_path})
    try:
        fresh = restarted.test_client()
        response = fresh.get(url(commitment))
        found = problem(response, 500)
        assert found["type"].endswith("log-integrity") and found["position"] == position
        assert "Traceback" not in response.get_data(as_text=True)
        # The log read by cursor says the same of the page that holds it, and not of others.
        log = problem(fresh.get(f"{API}/events", headers=callers.auditor.headers), 500)
        assert log["type"].endswith("log-integrity") and log["position"] == position
        before = fresh.get(f"{API}/events", query_string={"limit": position}, headers=callers.auditor.headers)
        assert before.status_code == 200 and len(before.get_json()["items"]) == position
        # What does not read the broken event still answers.
        assert fresh.get(f"{API}/partners", headers=callers.lead.headers).status_code == 200
    finally:
        restarted.extensions["tutahi"].close()


@pytest.mark.parametrize("label", ["iwi/hapū"])
def test_the_web_names_an_iwi_or_hapu_with_its_macron(client: FlaskClient, callers: Callers, label: str) -> None:
    page = client.get(f"/partners/{callers.stranger.id}").get_data(as_text=True)
    assert label in page and "iwi hapu" not in page
