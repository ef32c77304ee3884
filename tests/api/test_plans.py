"""Action plans through the API: admins record and amend them (a reason and If-Match to
amend; names unique across plans, former names included); anyone reads them with a
roll-up of the commitments they may see (commitments belong to the plan their
``action_plan`` names); the web's plan page shows the same roll-up; refusals are
problem documents and record nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import COMMITMENT, Callers, create_commitment, ledger_of

PLANS = "/api/v1/plans"
PLAN = COMMITMENT["action_plan"]
NO_SUCH = "00000000-0000-4000-8000-000000000000"


def create_plan(client: FlaskClient, callers: Callers, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": PLAN, "starts_on": "2014-07-01", "ends_on": "2016-06-30", **fields}
    response = client.post(PLANS, json=body, headers=callers.admin.headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def amend_plan(
    client: FlaskClient, callers: Callers, plan: dict[str, Any], body: dict[str, Any], status: int = 200
) -> Any:
    etag = client.get(f"{PLANS}/{plan['id']}").headers["ETag"]
    response = client.patch(f"{PLANS}/{plan['id']}", json=body, headers={**callers.admin.headers, "If-Match": etag})
    assert response.status_code == status, response.get_json()
    return response


def post(client: FlaskClient, path: str, headers: dict[str, str], body: dict[str, Any], status: int = 201) -> Any:
    response = client.post(f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_an_admin_records_a_plan_and_anyone_reads_it_with_its_etag(client: FlaskClient, callers: Callers) -> None:
    made = create_plan(client, callers)
    assert made["status"] == "consultation" and made["version"] == 1 and made["commitments"] == 0
    assert client.get(PLANS).get_json()["items"][0]["id"] == made["id"]

    read = client.get(f"{PLANS}/{made['id']}")  # no token needed
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    document = read.get_json()
    assert (document["name"], document["starts_on"], document["ends_on"]) == (PLAN, "2014-07-01", "2016-06-30")
    assert document["amendments"] == [] and document["former_names"] == []


def test_the_roll_up_counts_the_commitments_of_the_plan_each_caller_may_see(
    client: FlaskClient, callers: Callers
) -> None:
    lead = callers.lead.headers
    public = create_commitment(client, callers.lead)["id"]
    private = create_commitment(client, callers.lead, external_ref="NZ0004-P", visibility="partners")["id"]
    create_commitment(client, callers.lead, external_ref="NZ9999", action_plan="Another plan")
    post(
        client, f"/commitments/{private}/partners", lead, {"partner_id": str(callers.community.id), "role": "community"}
    )
    for title, due in (("Survey of agencies", "2015-03-31"), ("Publish the review", "2199-06-30")):
        post(client, f"/commitments/{public}/milestones", lead, {"title": title, "due_on": due})
    first = client.get(f"/api/v1/commitments/{public}").get_json()["milestones"][0]["id"]
    post(client, f"/commitments/{public}/milestones/{first}/reached", lead, {"reached_on": "2015-03-20"}, 200)
    post(client, f"/commitments/{private}/milestones", lead, {"title": "First kōrero", "due_on": "2015-06-30"})
    post(
        client,
        f"/commitments/{public}/progress",
        lead,
        {"completion": "limited", "note": "Mid-term.", "as_of": "2015-06-30"},
    )
    post(
        client,
        f"/commitments/{public}/assessments",
        callers.assessor.headers,
        {"stage": "mid_term", "assessed_on": "2015-12-01", "completion": "substantial"},
    )
    plan = create_plan(client, callers)  # recorded after its commitments: they belong to it by name

    def seen(headers: dict[str, str]) -> dict[str, Any]:
        return client.get(f"{PLANS}/{plan['id']}", headers=headers).get_json()  # type: ignore[no-any-return]

    public_view = seen({})
    assert public_view["commitments"] == 1
    assert public_view["completion_counts"] == {
        "not_reported": 0,
        "not_started": 0,
        "limited": 1,
        "substantial": 0,
        "complete": 0,
    }
    assert public_view["assessed_completion_counts"]["substantial"] == 1
    assert public_view["assessed_completion_counts"]["not_assessed"] == 0
    # Due: every milestone (each on its date); overdue: due by today and not reached.
    assert (public_view["milestones_due"], public_view["milestones_reached"], public_view["milestones_overdue"]) == (
        2,
        1,
        0,
    )
    for caller in (callers.community, callers.auditor, callers.lead):
        mine = seen(caller.headers)
        assert mine["commitments"] == 2, caller.name
        assert (
            mine["completion_counts"]["not_reported"] == 1 and mine["assessed_completion_counts"]["not_assessed"] == 1
        )
        assert (mine["milestones_due"], mine["milestones_reached"], mine["milestones_overdue"]) == (3, 1, 1)
    for caller in (callers.stranger, callers.other_agency):
        assert seen(caller.headers)["commitments"] == 1, caller.name
    assert [item["commitments"] for item in client.get(PLANS).get_json()["items"]] == [1]

    # The web page shows the same roll-up, and only what the reader may see.
    page = client.get(f"/plans/{plan['id']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '<dd id="rollup-commitments">1</dd>' in page.text
    assert '<dd id="rollup-reached">1 of 2</dd>' in page.text and "<svg" in page.text
    assert '<dd id="rollup-overdue">0</dd>' in page.text
    assert f"/commitments/{public}" in page.text and f"/commitments/{private}" not in page.text
    member = client.get(f"/plans/{plan['id']}", headers=callers.community.headers)
    assert f"/commitments/{private}" in member.text and '<dd id="rollup-commitments">2</dd>' in member.text
    # The home page lists the plan and links its heading to it.
    assert client.get("/").text.count(f'href="/plans/{plan["id"]}"') == 2


def test_an_amendment_needs_a_reason_and_if_match_and_is_kept_with_its_date(
    client: FlaskClient, callers: Callers
) -> None:
    plan = create_plan(
        client, callers, name="New Zealand National Action Plan 2016–18", starts_on="2016-07-01", ends_on="2018-06-30"
    )
    path, admin = f"{PLANS}/{plan['id']}", callers.admin.headers
    assert client.patch(path, json={"starts_on": "2016-10-01", "reason": "Extended."}, headers=admin).status_code == 428
    stale = client.patch(
        path, json={"starts_on": "2016-10-01", "reason": "Extended."}, headers={**admin, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    no_reason = client.patch(path, json={"starts_on": "2016-10-01"}, headers={**admin, "If-Match": '"1"'})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]

    body = {
        "starts_on": "2016-10-01",
        "reason": "The government extended the consultation.",
        "occurred_on": "2016-04-21",
    }
    changed = amend_plan(client, callers, plan, body)
    assert changed.headers["ETag"] == '"2"'
    document = changed.get_json()
    assert document["starts_on"] == "2016-10-01" and document["version"] == 2
    (amendment,) = document["amendments"]
    assert amendment["changes"] == {"starts_on": "2016-10-01"} and amendment["occurred_on"] == "2016-04-21"
    assert amendment["reason"] == "The government extended the consultation."
    assert amendment["recorded_by"] == callers.admin.name
    # The amendment's events are in the log.
    events = client.get("/api/v1/events?limit=1000", headers=callers.auditor.headers).get_json()["items"]
    mine = [e for e in events if e["aggregate_id"] == plan["id"]]
    assert [e["type"] for e in mine] == ["ActionPlanCreated", "ActionPlanAmended"]
    assert all(e["aggregate_type"] == "action_plan" for e in mine)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"status": "consultation", "reason": "Same."}, 409, None),
        ({"status": "withdrawn", "reason": "No such status."}, 422, "status"),
        ({"ends_on": "2013-01-01", "reason": "Before it starts."}, 422, "ends_on"),
        ({"ends_on": "2200-01-01", "reason": "Too late."}, 422, "ends_on"),
        ({"status": "ended", "reason": "Not yet.", "occurred_on": "2199-01-01"}, 422, "occurred_on"),
        ({"name": "", "reason": "Empty."}, 422, "name"),
        ({"name": "Plan\u0007", "reason": "Bell."}, 422, "name"),
        ({"status": "adopted", "reason": ""}, 422, "reason"),
    ],
)
def test_bad_amendments_are_problems_and_record_nothing(
    app: Flask, client: FlaskClient, callers: Callers, body: dict[str, Any], status: int, field: str | None
) -> None:
    plan = create_plan(client, callers)
    size = ledger_of(app).log_size()
    response = amend_plan(client, callers, plan, body, status)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    if field is not None:
        assert field in str(problem), problem
    assert ledger_of(app).log_size() == size


def test_a_status_moves_forward_only(client: FlaskClient, callers: Callers) -> None:
    plan = create_plan(client, callers, status="adopted")
    backwards = amend_plan(client, callers, plan, {"status": "consultation", "reason": "Reopened?"}, 422)
    assert "does not go back" in backwards.get_json()["detail"]
    assert amend_plan(client, callers, plan, {"status": "ended", "reason": "Its period ended."}).get_json()[
        "status"
    ] == ("ended")


def test_names_are_unique_across_plans_and_a_renamed_plan_keeps_its_commitments(
    client: FlaskClient, callers: Callers
) -> None:
    commitment = create_commitment(client, callers.lead)["id"]
    plan = create_plan(client, callers)
    taken = client.post(
        PLANS,
        json={"name": PLAN.upper(), "starts_on": "2014-07-01", "ends_on": "2016-06-30"},
        headers=callers.admin.headers,
    )
    assert taken.status_code == 409 and taken.get_json()["type"].endswith("plan-name-taken")
    renamed = amend_plan(client, callers, plan, {"name": "Mahere 2014–16", "reason": "Its name in te reo."}).get_json()
    assert renamed["former_names"] == [PLAN] and renamed["commitments"] == 1
    # The former name stays the plan's: no other plan takes it.
    again = client.post(
        PLANS, json={"name": PLAN, "starts_on": "2014-07-01", "ends_on": "2016-06-30"}, headers=callers.admin.headers
    )
    assert again.status_code == 409
    other = create_plan(client, callers, name="Another plan")
    assert amend_plan(client, callers, other, {"name": "Mahere 2014–16", "reason": "Clash."}, 409)
    page = client.get(f"/plans/{plan['id']}")
    assert "Mahere 2014–16" in page.text and f"/commitments/{commitment}" in page.text and "Formerly:" in page.text
    # The commitment's page links to its plan; one whose name differs in capitals does not belong.
    assert f'href="/plans/{plan["id"]}"' in client.get(f"/commitments/{commitment}").text
    shouting = create_commitment(client, callers.lead, external_ref="NZ0005", action_plan=PLAN.upper())["id"]
    assert f'href="/plans/{plan["id"]}"' not in client.get(f"/commitments/{shouting}").text
    assert client.get(f"{PLANS}/{plan['id']}").get_json()["commitments"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"starts_on": "2014-07-01", "ends_on": "2016-06-30"},
        {"name": "P", "starts_on": "2016-07-01", "ends_on": "2014-06-30"},
        {"name": "P", "starts_on": "2014-07-01", "ends_on": "2016-06-30", "status": "draft"},
        {"name": "P", "starts_on": "1 July 2014", "ends_on": "2016-06-30"},
        {"name": "P\u0085Q", "starts_on": "2014-07-01", "ends_on": "2016-06-30"},
    ],
)
def test_a_bad_plan_is_refused_with_a_422(app: Flask, client: FlaskClient, callers: Callers, body: Any) -> None:
    size = ledger_of(app).log_size()
    response = client.post(PLANS, json=body, headers=callers.admin.headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert ledger_of(app).log_size() == size


def test_only_admins_record_and_amend_plans(app: Flask, client: FlaskClient, callers: Callers) -> None:
    plan = create_plan(client, callers)
    body = {"name": "A plan by someone else", "starts_on": "2014-07-01", "ends_on": "2016-06-30"}
    assert client.post(PLANS, json=body).status_code == 401
    for caller in (callers.lead, callers.community, callers.auditor, callers.assessor):
        assert client.post(PLANS, json=body, headers=caller.headers).status_code == 403
        patch = client.patch(
            f"{PLANS}/{plan['id']}",
            json={"status": "adopted", "reason": "R."},
            headers={**caller.headers, "If-Match": '"1"'},
        )
        assert patch.status_code == 403
    assert client.get(f"{PLANS}/{plan['id']}").get_json()["version"] == 1


def test_an_unknown_plan_is_a_404_in_the_api_and_on_the_web(client: FlaskClient, callers: Callers) -> None:
    assert client.get(f"{PLANS}/{NO_SUCH}").status_code == 404
    missing = client.patch(
        f"{PLANS}/{NO_SUCH}",
        json={"status": "adopted", "reason": "R."},
        headers={**callers.admin.headers, "If-Match": '"1"'},
    )
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    page = client.get(f"/plans/{NO_SUCH}")
    assert page.status_code == 404 and page.mimetype == "text/html" and "Not found" in page.text


def test_an_idempotent_retry_records_the_plan_once(app: Flask, client: FlaskClient, callers: Callers) -> None:
    body = {"name": PLAN, "starts_on": "2014-07-01", "ends_on": "2016-06-30"}
    headers = {**callers.admin.headers, "Idempotency-Key": "plan-1"}
    first = client.post(PLANS, json=body, headers=headers)
    size = ledger_of(app).log_size()
    second = client.post(PLANS, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"] and ledger_of(app).log_size() == size
    assert second.headers["Location"] == f"/api/v1/plans/{first.get_json()['id']}"


def test_the_read_models_of_plans_rebuild_from_the_log(app: Flask, client: FlaskClient, callers: Callers) -> None:
    plan = create_plan(client, callers)
    amend_plan(client, callers, plan, {"name": "Mahere 2014–16", "reason": "Its name in te reo."})
    ledger = ledger_of(app)
    live = ledger.read_models.dump_read_models()
    assert live["rm_plans"] and len(live["rm_plan_names"]) == 2
    ledger.rebuild_read_models()
    assert ledger.read_models.dump_read_models() == live
    assert ledger.plan_of(PLAN) is not None and ledger.plan_of(PLAN).id == UUID(plan["id"])  # type: ignore[union-attr]


def test_a_plan_renamed_in_other_capitals_keeps_both_names(app: Flask, client: FlaskClient, callers: Callers) -> None:
    commitment = create_commitment(client, callers.lead)["id"]
    plan = create_plan(client, callers)
    renamed = amend_plan(client, callers, plan, {"name": PLAN.upper(), "reason": "House style."}).get_json()
    assert renamed["name"] == PLAN.upper() and renamed["former_names"] == [PLAN] and renamed["commitments"] == 1
    assert ledger_of(app).plan_of(PLAN) is not None and ledger_of(app).plan_of(PLAN.upper()) is not None
    assert f'href="/plans/{plan["id"]}"' in client.get(f"/commitments/{commitment}").text
