"""Open data: the exports anyone may fetch (commitments as CSV and JSON, milestones as
CSV) show exactly what the caller may see, safely for a spreadsheet; an agency's CSV
import creates, amends, adds, reschedules and reaches milestones through the same rules
as the API, all or nothing, and records nothing the second time."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Caller, Callers, create_commitment, ledger_of
from tests.api.test_web import sign_in

API = "/api/v1"
HEADER = (
    "external_ref,title,description,action_plan,starts_on,ends_on,ogp_values,"
    "milestone_title,milestone_due_on,milestone_reached_on,evidence_url,reason"
)
PLAN = "New Zealand National Action Plan 2016–18"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def post_csv(client: FlaskClient, caller: Caller, text: str, query: str = "", **headers: str) -> Any:
    return client.post(
        f"{API}/imports{query}",
        data=text.encode(),
        headers={**caller.headers, "Content-Type": "text/csv", **headers},
    )


def log_size(app: Flask) -> int:
    return ledger_of(app).log_size()


def csv_file(*lines: str) -> str:
    return "\r\n".join([HEADER, *lines]) + "\r\n"


SAMPLE = csv_file(
    f"NZ-OD-1,Open budget data,Budgets as open data.,{PLAN},2016-07-01,2018-06-30,"
    "access_to_information; civic_participation,Data published,2017-03-31,2017-03-20,https://example.org/data,",
    f"NZ-OD-1,Open budget data,,{PLAN},2016-07-01,2018-06-30,,Portal reviewed,2018-02-28,,,",
    f"NZ-OD-2,Open contracting,,{PLAN},2016-07-01,2018-06-30,,,,,,",
)


# -- exports ---------------------------------------------------------------------------------


def test_the_exports_serve_anyone_with_the_fields_of_the_contract(client: FlaskClient, callers: Callers) -> None:
    made = create_commitment(client, callers.lead)
    milestone = client.post(
        f"{API}/commitments/{made['id']}/milestones",
        json={"title": "Accord reviewed", "due_on": "2016-03-31"},
        headers=callers.lead.headers,
    ).get_json()

    as_csv = client.get(f"{API}/export/commitments.csv")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = as_csv.get_data(as_text=True)
    assert body.startswith(
        "external_ref,title,action_plan,lead,status,completion,assessed_completion,starts_on,ends_on,"
        "milestones_due,milestones_reached,version,id\r\n"
    )
    assert body.count("\r\n") == 2 and "\n" not in body.replace("\r\n", "")
    (row,) = rows_of(body)
    assert row == {
        "external_ref": "NZ0004",
        "title": made["title"],
        "action_plan": made["action_plan"],
        "lead": "Department of Internal Affairs",
        "status": "active",
        "completion": "",
        "assessed_completion": "",
        "starts_on": "2014-07-01",
        "ends_on": "2016-06-30",
        "milestones_due": "1",
        "milestones_reached": "0",
        "version": str(milestone["version"]),
        "id": made["id"],
    }

    as_json = client.get(f"{API}/export/commitments.json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    (item,) = as_json.get_json()
    assert item == {
        **row,
        "completion": None,
        "assessed_completion": None,
        "milestones_due": 1,
        "milestones_reached": 0,
        "version": milestone["version"],
    }

    milestones = client.get(f"{API}/export/milestones.csv")
    assert milestones.status_code == 200 and milestones.mimetype == "text/csv"
    assert rows_of(milestones.get_data(as_text=True)) == [
        {
            "external_ref": "NZ0004",
            "milestone_id": milestone["id"],
            "title": "Accord reviewed",
            "due_on": "2016-03-31",
            "reached_on": "",
            "evidence_url": "",
        }
    ]
    # Nobody sent a token: a cache may keep it. With a token, none may.
    assert "no-store" not in as_csv.headers.get("Cache-Control", "")
    for path in ("commitments.csv", "commitments.json", "milestones.csv"):
        with_token = client.get(f"{API}/export/{path}", headers=callers.stranger.headers)
        assert with_token.headers["Cache-Control"] == "no-store" and with_token.get_data()


def test_a_partners_only_commitment_is_exported_only_to_those_who_may_see_it(
    client: FlaskClient, callers: Callers
) -> None:
    public = create_commitment(client, callers.lead, external_ref="NZ-PUBLIC")
    hidden = create_commitment(client, callers.lead, external_ref="NZ-HIDDEN", visibility="partners")
    client.post(
        f"{API}/commitments/{hidden['id']}/milestones",
        json={"title": "Secret step", "due_on": "2016-03-31"},
        headers=callers.lead.headers,
    )
    seen_by = {
        "the public": {},
        "its lead": callers.lead.headers,
        "an auditor": callers.auditor.headers,
        "another agency": callers.other_agency.headers,
        "a stranger": callers.stranger.headers,
    }
    for who, headers in seen_by.items():
        may_see = who in ("its lead", "an auditor")
        refs = [
            row["external_ref"] for row in rows_of(client.get(f"{API}/export/commitments.csv", headers=headers).text)
        ]
        assert refs == (["NZ-PUBLIC", "NZ-HIDDEN"] if may_see else ["NZ-PUBLIC"]), who
        items = client.get(f"{API}/export/commitments.json", headers=headers).get_json()
        assert [item["id"] for item in items] == ([public["id"], hidden["id"]] if may_see else [public["id"]]), who
        milestones = client.get(f"{API}/export/milestones.csv", headers=headers).text
        assert ("Secret step" in milestones) is may_see, who


def test_a_web_session_sees_what_its_token_sees(client: FlaskClient, callers: Callers) -> None:
    create_commitment(client, callers.lead, external_ref="NZ-HIDDEN", visibility="partners")
    assert "NZ-HIDDEN" not in client.get(f"{API}/export/commitments.csv").text
    sign_in(client, callers.lead)
    exported = client.get(f"{API}/export/commitments.csv")
    assert "NZ-HIDDEN" in exported.text
    assert exported.headers["Cache-Control"] == "no-store"


def test_cells_a_spreadsheet_would_run_are_written_safe(client: FlaskClient, callers: Callers) -> None:
    dangerous = ['=HYPERLINK("https://evil.example")', "+1+1", "-2+3", "@SUM(A1)"]
    for index, title in enumerate(dangerous):
        made = create_commitment(client, callers.lead, external_ref=f"NZ-X{index}", title=title)
        client.post(
            f"{API}/commitments/{made['id']}/milestones",
            json={"title": f"-Milestone {index}", "due_on": "2016-03-31"},
            headers=callers.lead.headers,
        )
    text = client.get(f"{API}/export/commitments.csv").text
    assert [row["title"] for row in rows_of(text)] == ["'" + title for title in dangerous]
    assert "\r\n'=HYPERLINK" not in text and "'=HYPERLINK" in text
    milestones = [row["title"] for row in rows_of(client.get(f"{API}/export/milestones.csv").text)]
    assert milestones == [f"'-Milestone {index}" for index in range(len(dangerous))]
    # JSON is not a spreadsheet: its text is the stored text.
    assert [item["title"] for item in client.get(f"{API}/export/commitments.json").get_json()] == dangerous


# -- imports ---------------------------------------------------------------------------------


def test_an_import_records_commitments_and_milestones_and_lists_its_events(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    before = log_size(app)
    response = post_csv(client, callers.lead, SAMPLE)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["dry_run"] is False and answer["rows"] == 3
    assert [(e["line"], e["external_ref"], e["type"]) for e in answer["events"]] == [
        (2, "NZ-OD-1", "CommitmentCreated"),
        (2, "NZ-OD-1", "PartnerJoined"),
        (2, "NZ-OD-1", "MilestoneAdded"),
        (2, "NZ-OD-1", "MilestoneReached"),
        (3, "NZ-OD-1", "MilestoneAdded"),
        (4, "NZ-OD-2", "CommitmentCreated"),
        (4, "NZ-OD-2", "PartnerJoined"),
    ]
    assert log_size(app) == before + 7
    items = client.get(f"{API}/commitments?limit=10").get_json()["items"]
    by_ref = {item["external_ref"]: item for item in items}
    first = client.get(f"{API}/commitments/{by_ref['NZ-OD-1']['id']}").get_json()
    assert first["title"] == "Open budget data" and first["description"] == "Budgets as open data."
    assert first["ogp_values"] == ["access_to_information", "civic_participation"]
    assert [p["id"] for p in first["partners"] if p["role"] == "lead"] == [str(callers.lead.id)]
    assert [(m["title"], m["due_on"], m["reached_on"], m["evidence_url"]) for m in first["milestones"]] == [
        ("Data published", "2017-03-31", "2017-03-20", "https://example.org/data"),
        ("Portal reviewed", "2018-02-28", None, None),
    ]

    again = post_csv(client, callers.lead, SAMPLE)
    assert again.status_code == 200
    assert again.get_json() == {"dry_run": False, "rows": 3, "events": []}
    assert log_size(app) == before + 7


def test_a_dry_run_lists_the_events_and_records_nothing(app: Flask, client: FlaskClient, callers: Callers) -> None:
    before = log_size(app)
    dry = post_csv(client, callers.lead, SAMPLE, "?dry_run=true")
    assert dry.status_code == 200
    assert dry.get_json()["dry_run"] is True and len(dry.get_json()["events"]) == 7
    assert log_size(app) == before
    assert client.get(f"{API}/commitments").get_json()["items"] == []
    real = post_csv(client, callers.lead, SAMPLE)
    assert [e | {} for e in real.get_json()["events"]] == dry.get_json()["events"]


def test_a_known_commitment_is_amended_rescheduled_and_reached_with_reasons(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    post_csv(client, callers.lead, SAMPLE)
    changed = csv_file(
        f"NZ-OD-1,Open budget data for all,Budgets as open data.,{PLAN},2016-07-01,2018-12-31,"
        "access_to_information; civic_participation,Data published,2017-03-31,2017-03-20,,Extended by Cabinet",
        "NZ-OD-1,,,,,,,Portal reviewed,2018-05-31,2018-05-01,https://example.org/review,",
    )
    response = post_csv(client, callers.lead, changed)
    assert response.status_code == 200, response.get_json()
    assert [(e["line"], e["type"]) for e in response.get_json()["events"]] == [
        (2, "CommitmentAmended"),
        (3, "MilestoneChanged"),
        (3, "MilestoneReached"),
    ]
    item = next(i for i in client.get(f"{API}/commitments").get_json()["items"] if i["external_ref"] == "NZ-OD-1")
    document = client.get(f"{API}/commitments/{item['id']}").get_json()
    assert document["title"] == "Open budget data for all" and document["ends_on"] == "2018-12-31"
    assert [(m["due_on"], m["reached_on"]) for m in document["milestones"]] == [
        ("2017-03-31", "2017-03-20"),
        ("2018-05-31", "2018-05-01"),
    ]
    events = client.get(f"{API}/commitments/{item['id']}/events", headers=callers.lead.headers).get_json()["items"]
    amended = next(e for e in events if e["type"] == "CommitmentAmended")
    assert amended["data"]["reason"] == "Extended by Cabinet"
    assert amended["actor"]["id"] == str(callers.lead.id)
    rescheduled = next(e for e in events if e["type"] == "MilestoneChanged")
    assert rescheduled["data"]["reason"] == "Extended by Cabinet"


def test_bad_rows_are_each_named_by_line_and_column_and_nothing_is_recorded(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    post_csv(client, callers.other_agency, csv_file(f"NZ-THEIRS,Theirs,,{PLAN},2016-07-01,2018-06-30,,,,,,"))
    before = log_size(app)
    bad = csv_file(
        f"NZ-OK,A good one,,{PLAN},2016-07-01,2018-06-30,,Fine,2017-01-01,,,",  # 2: fine on its own
        f"NZ-BAD-1,Dates,,{PLAN},2016-07-01,2318-06-30,,,,,,",  # 3: out of range
        f'NZ-BAD-2,"Multi\nline title",,{PLAN},2016-07-01,2018-06-30,,,,,,',  # 4-5: control character
        f"NZ-BAD-3,Values,,{PLAN},2016-07-01,2018-06-30,open_data,,,,,",  # 6: not an OGP value
        f"NZ-THEIRS,Theirs,,{PLAN},2016-07-01,2018-06-30,,,,,,",  # 7: led by another agency
        f"NZ-OK,Another title,,{PLAN},2016-07-01,2018-06-30,,Later,2017-01-01,,,",  # 8: disagrees with line 2
        f"NZ-BAD-4,Ends first,,{PLAN},2018-07-01,2016-06-30,,,,,,",  # 9: ends before it starts
        f"NZ-BAD-5,Reached,,{PLAN},2016-07-01,2018-06-30,,Step,2017-01-01,2999-01-01,,",  # 10
        "NZ-BAD-6,Too few cells",  # 11
        f"NZ-BAD-7,,,{PLAN},2016-07-01,2018-06-30,,,,,,",  # 12: no title for a new commitment
        f"NZ-BAD-8,Evidence,,{PLAN},2016-07-01,2018-06-30,,Step,2017-01-01,,javascript:alert(1),",  # 13
    )
    response = post_csv(client, callers.lead, bad)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422 and problem["type"].endswith("bad-rows")
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [
        (3, "ends_on"),
        (4, "title"),
        (6, "ogp_values"),
        (7, "external_ref"),
        (8, "title"),
        (9, "ends_on"),
        (10, "milestone_reached_on"),
        (11, ""),
        (12, "title"),
        (13, "evidence_url"),
    ]
    messages = {e["line"]: e["message"] for e in problem["errors"]}
    assert "1900-01-01" in messages[3] and "control characters" in messages[4]
    assert "does not lead" in messages[7] and "line 2" in messages[8]
    assert log_size(app) == before
    assert "NZ-OK" not in client.get(f"{API}/export/commitments.csv").text


def test_the_header_is_checked(client: FlaskClient, callers: Callers) -> None:
    response = post_csv(client, callers.lead, "external_ref,titel\r\nNZ-1,Typo\r\n")
    assert response.status_code == 422
    assert [(e["line"], e["column"]) for e in response.get_json()["errors"]] == [(1, "titel")]
    response = post_csv(client, callers.lead, "title\r\nNo ref\r\n")
    assert [(e["line"], e["column"]) for e in response.get_json()["errors"]] == [(1, "external_ref")]
    response = post_csv(client, callers.lead, "")
    assert response.status_code == 422


def test_an_amendment_without_a_reason_is_a_bad_row(app: Flask, client: FlaskClient, callers: Callers) -> None:
    post_csv(client, callers.lead, SAMPLE)
    before = log_size(app)
    response = post_csv(client, callers.lead, csv_file(f"NZ-OD-2,Renamed,,{PLAN},2016-07-01,2018-06-30,,,,,,"))
    assert response.status_code == 422
    assert [(e["line"], e["column"]) for e in response.get_json()["errors"]] == [(2, "reason")]
    response = post_csv(client, callers.lead, csv_file("NZ-OD-1,,,,,,,Portal reviewed,2019-01-01,,,"))
    assert [(e["line"], e["column"]) for e in response.get_json()["errors"]] == [(2, "reason")]
    assert log_size(app) == before


def test_export_edit_import_round_trip(app: Flask, client: FlaskClient, callers: Callers) -> None:
    """An exported file, edited in a spreadsheet (a title changed, a reason column added),
    imports as it is; its formula-safe cells come back as they were."""
    post_csv(client, callers.lead, SAMPLE)
    made = create_commitment(client, callers.lead, external_ref="NZ-FORMULA", title="=SUM(1)")
    exported = rows_of(client.get(f"{API}/export/commitments.csv", headers=callers.lead.headers).text)
    assert [row["title"] for row in exported][-1] == "'=SUM(1)"
    for row in exported:
        row["reason"] = "Renamed in the 2017 review" if row["external_ref"] == "NZ-OD-2" else ""
        if row["external_ref"] == "NZ-OD-2":
            row["title"] = "Open contracting, renamed"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(exported[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(exported)
    response = post_csv(client, callers.lead, buffer.getvalue())
    assert response.status_code == 200, response.get_json()
    assert [(e["external_ref"], e["type"]) for e in response.get_json()["events"]] == [("NZ-OD-2", "CommitmentAmended")]
    assert client.get(f"{API}/commitments/{made['id']}").get_json()["title"] == "=SUM(1)"
    titles = [row["title"] for row in rows_of(client.get(f"{API}/export/commitments.csv").text)]
    assert "Open contracting, renamed" in titles


def test_an_import_needs_an_agency_and_a_csv_body(client: FlaskClient, callers: Callers) -> None:
    assert client.post(f"{API}/imports", data=SAMPLE, content_type="text/csv").status_code == 401
    for caller in (callers.community, callers.auditor, callers.admin):
        assert post_csv(client, caller, SAMPLE).status_code == 403
    as_json = client.post(f"{API}/imports", json={"rows": []}, headers=callers.lead.headers)
    assert as_json.status_code == 415
    too_big = post_csv(client, callers.lead, HEADER + "\r\n" + "x" * (1024 * 1024))
    assert too_big.status_code == 413
    not_utf8 = client.post(
        f"{API}/imports", data=b"external_ref\r\n\xff\r\n", headers={**callers.lead.headers, "Content-Type": "text/csv"}
    )
    assert not_utf8.status_code == 400


def test_an_idempotency_key_replays_the_first_answer(app: Flask, client: FlaskClient, callers: Callers) -> None:
    first = post_csv(client, callers.lead, SAMPLE, **{"Idempotency-Key": "import-1"})
    size = log_size(app)
    again = post_csv(client, callers.lead, SAMPLE, **{"Idempotency-Key": "import-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json() and len(first.get_json()["events"]) == 7
    assert log_size(app) == size
    other = post_csv(
        client, callers.lead, csv_file("NZ-Z,Z,,P,2016-07-01,2018-06-30,,,,,,"), **{"Idempotency-Key": "import-1"}
    )
    assert other.status_code == 422


def test_a_dry_run_and_the_import_are_different_requests_for_an_idempotency_key(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    dry = post_csv(client, callers.lead, SAMPLE, "?dry_run=true", **{"Idempotency-Key": "import-2"})
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True
    size = log_size(app)
    real = post_csv(client, callers.lead, SAMPLE, **{"Idempotency-Key": "import-2"})
    assert real.status_code == 422, "not the dry run's answer replayed"
    assert log_size(app) == size
    real = post_csv(client, callers.lead, SAMPLE, **{"Idempotency-Key": "import-3"})
    assert real.status_code == 200 and len(real.get_json()["events"]) == 7


def test_the_home_page_links_every_export_and_each_link_answers(client: FlaskClient, callers: Callers) -> None:
    create_commitment(client, callers.lead)
    home = client.get("/").get_data(as_text=True)
    for anchor, kind in (
        ("export-commitments-csv", "text/csv"),
        ("export-commitments-json", "application/json"),
        ("export-milestones-csv", "text/csv"),
    ):
        found = re.search(rf'id="{anchor}" href="([^"]+)"', home)
        assert found is not None, anchor
        with client.get(found.group(1)) as linked:  # a streamed answer: read whole, then closed
            assert linked.status_code == 200 and linked.mimetype == kind, anchor
            assert "external_ref" in linked.get_data(as_text=True), anchor
