"""The property behind the security review's findings 1, 4 and 5: whatever text and dates
a client sends to any write endpoint, either the service refuses it with a 4xx problem
and records nothing, or it accepts it, and then every page, picture, feed, calendar, CSV
and JSON export and command-line listing that shows it still answers 200 (exits 0) and
passes on no character it cannot show.

Text is drawn from every Unicode category (controls C0 and C1, bidirectional controls
and marks, combining marks, astral characters, text in NFD, non-characters, lone
surrogates, separators) and from strings that mean something to a renderer (console
markup, spreadsheet formulas, HTML, XML); dates from the whole range a date can hold.
Bounded by example count (``TUTAHI_PROPERTY_EXAMPLES``, default 40), not by time."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from domain.values import ActorRole, PartnerKind
from interfaces.app import create_app
from interfaces.cli import main
from tests.api.conftest import Caller, Callers, named_caller, partner_caller, services_of

EXAMPLES = int(os.environ.get("TUTAHI_PROPERTY_EXAMPLES", "40"))
API = "/api/v1"
UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

SPECIAL_CHARACTERS = [
    *(chr(c) for c in range(0x00, 0x20)),  # C0, tab and line feed among them
    *(chr(c) for c in range(0x7F, 0xA0)),  # DEL and C1
    *"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",  # bidirectional controls
    *"\u0300\u0304\u0301\u20dd\u200d\u200b\ufeff",  # combining marks, joiners, zero width
    *"\u2028\u2029\u0085",  # separators
    *"\ufffe\uffff\ufdd0\U0001fffe",  # non-characters
    *"\U0001d306\U0001f33f\U0001f600\U00010348",  # astral
    "\ud800",  # a lone surrogate: refused
]
MEANINGFUL = [
    "[/]",
    "[link=https://evil.example]click[/link]",
    "[bold red]",
    ":smile:",
    '=HYPERLINK("https://evil.example","x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "]]>",
    "&amp;",
    "Kia Tu\u0304tahi",  # NFD
    "Ngā Mahinga",
    "\r\n",
    "\x1b[2J",
    "%s%n",
]
ANY_CHARACTER = st.one_of(st.characters(), st.sampled_from(SPECIAL_CHARACTERS), st.sampled_from(MEANINGFUL))
# Half the texts hold no control character or surrogate, so that as many are accepted (and
# rendered) as refused.
ACCEPTABLE = st.one_of(
    st.characters(exclude_categories=["Cc", "Cs"]),
    st.sampled_from([c for c in SPECIAL_CHARACTERS if not CONTROL_OR_SURROGATE.match(c)]),
    st.sampled_from([m for m in MEANINGFUL if not CONTROL_OR_SURROGATE.search(m)]),
)
texts = st.one_of(st.lists(ANY_CHARACTER, max_size=10), st.lists(ACCEPTABLE, min_size=1, max_size=10)).map("".join)
dates = st.one_of(st.dates(), st.dates(date(1900, 1, 1), date(2199, 12, 31))).map(date.isoformat)
urls = st.one_of(st.none(), texts.map(lambda path: f"https://example.org/{path}"), texts)
# Where one record takes many fields at once (a plan, a spreadsheet row), half the draws
# are of acceptable values only, so that some are accepted and rendered, not all refused.
acceptable_texts = st.lists(ACCEPTABLE, min_size=1, max_size=10).map("".join).filter(str.strip)
in_range = st.dates(date(1900, 1, 1), date(2199, 12, 31))
periods = st.one_of(
    st.tuples(dates, dates),
    st.tuples(in_range, in_range).map(lambda pair: tuple(day.isoformat() for day in sorted(pair))),
)


def row_of(text: st.SearchStrategy[str], period: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[Any]:
    """An import row: a commitment and one milestone, from these texts and period."""
    return st.tuples(
        st.fixed_dictionaries(
            {
                "external_ref": text,
                "title": text,
                "description": text,
                "milestone_title": text,
            }
        ),
        period,
    ).map(
        lambda drawn: {
            **drawn[0],
            "starts_on": drawn[1][0],
            "ends_on": drawn[1][1],
            "milestone_due_on": drawn[1][1],
            "milestone_reached_on": "",
            "evidence_url": "",
        }
    )


@dataclass(frozen=True)
class Service:
    app: Flask
    client: FlaskClient
    callers: Callers
    url: str


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("every-input")
    url = f"sqlite:///{folder}/tutahi.db"
    app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(folder / "instance")})
    try:
        callers = Callers(
            lead=partner_caller(app, "Department of Internal Affairs", PartnerKind.AGENCY),
            support=partner_caller(app, "Te Puni Kōkiri", PartnerKind.AGENCY),
            other_agency=partner_caller(app, "Ministry of Health", PartnerKind.AGENCY),
            community=partner_caller(app, "Hui E! Community Aotearoa", PartnerKind.COMMUNITY_ORGANISATION),
            stranger=partner_caller(app, "Ngāti Whātua Ōrākei", PartnerKind.IWI_HAPU),
            auditor=named_caller(app, ActorRole.AUDITOR, "Office of the Auditor-General"),
            assessor=named_caller(app, ActorRole.ASSESSOR, "Independent Reporting Mechanism"),
            admin=named_caller(app, ActorRole.ADMIN, "Tūtahi operator"),
        )
        yield Service(app, app.test_client(), callers, url)
    finally:
        services_of(app).close()


class Writer:
    """Sends one write; a refusal must be a 4xx problem that recorded nothing."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def recorded(self) -> tuple[int, int]:
        svc = services_of(self.service.app)
        return svc.ledger.log_size(), len(svc.credentials.list())

    def send(self, method: str, path: str, caller: Caller, body: dict[str, Any], **headers: str) -> Any:
        before = self.recorded()
        # JSON with \u escapes, as a client in any language may send a lone surrogate.
        response = self.service.client.open(
            f"{API}{path}",
            method=method,
            data=json.dumps(body),
            content_type="application/json",
            headers={**caller.headers, **headers},
        )
        if response.status_code >= 300:
            assert 400 <= response.status_code < 500, (path, body, response.status_code, response.get_data()[:300])
            assert response.mimetype == "application/problem+json", (path, response.mimetype)
            assert self.recorded() == before, f"{method} {path} was refused but recorded something"
            return None
        return response.get_json()

    def send_csv(self, path: str, caller: Caller, rows: list[dict[str, str]]) -> Any:
        """An import: the rows as a CSV file (written by the csv module, so any text is
        quoted as a spreadsheet would; a lone surrogate makes the file invalid UTF-8)."""
        before = self.recorded()
        buffer = io.StringIO()
        table = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
        table.writeheader()
        table.writerows(rows)
        response = self.service.client.post(
            f"{API}{path}",
            data=buffer.getvalue().encode("utf-8", "surrogatepass"),
            content_type="text/csv",
            headers=caller.headers,
        )
        if response.status_code >= 300:
            assert 400 <= response.status_code < 500, (path, rows, response.status_code, response.get_data()[:300])
            assert response.mimetype == "application/problem+json", (path, response.mimetype)
            assert self.recorded() == before, f"POST {path} was refused but recorded something"
            return None
        return response.get_json()

    def etag(self, commitment: str) -> str:
        return self.service.client.get(
            f"{API}/commitments/{commitment}", headers=self.service.callers.admin.headers
        ).headers["ETag"]


@given(
    partner=st.fixed_dictionaries({"name": texts, "external_ref": st.one_of(st.none(), texts)}),
    holder=texts,
    commitment=st.fixed_dictionaries(
        {
            "title": texts,
            "description": texts,
            "action_plan": texts,
            "external_ref": texts,
            "starts_on": dates,
            "ends_on": dates,
        }
    ),
    amendment=st.fixed_dictionaries(
        {"reason": texts}, optional={"title": texts, "description": texts, "ends_on": dates}
    ),
    milestone=st.fixed_dictionaries({"title": texts, "due_on": dates}),
    reached=st.fixed_dictionaries({"reached_on": dates, "evidence_url": urls, "note": st.one_of(st.none(), texts)}),
    action=st.fixed_dictionaries({"summary": texts, "occurred_on": dates, "evidence_url": urls}),
    response_note=st.one_of(st.none(), texts),
    progress_note=texts,
    leaving_reason=texts,
    withdrawal_reason=texts,
    plan=periods,
    plan_reason=texts,
    imported=st.one_of(row_of(acceptable_texts, periods.filter(lambda p: p[0] <= p[1])), row_of(texts, periods)),
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_every_accepted_input_renders_everywhere(
    service: Service,
    partner: dict[str, Any],
    holder: str,
    commitment: dict[str, Any],
    amendment: dict[str, Any],
    milestone: dict[str, Any],
    reached: dict[str, Any],
    action: dict[str, Any],
    response_note: str | None,
    progress_note: str,
    leaving_reason: str,
    withdrawal_reason: str,
    plan: tuple[str, str],
    plan_reason: str,
    imported: dict[str, Any],
) -> None:
    callers, write = service.callers, Writer(service)
    lead, community = callers.lead, callers.community
    registered = write.send("POST", "/partners", callers.admin, {**partner, "kind": "civil_society"})
    write.send("POST", "/tokens", callers.admin, {"role": "auditor", "name": holder})

    created = write.send("POST", "/commitments", lead, {**commitment, "ogp_values": ["civic_participation"]})
    if created is None:  # refused: the rest goes on a commitment of ordinary values
        ordinary = {"title": "Ordinary", "action_plan": f"Plan {uuid4()}", "external_ref": "NZ"}
        period = {"starts_on": "2015-01-01", "ends_on": "2016-01-01"}
        created = write.send("POST", "/commitments", lead, {**ordinary, **period})
    cid = created["id"]
    base = f"/commitments/{cid}"
    for partner_id, role in ((community.id, "community"), (callers.support.id, "support")):
        assert write.send("POST", f"{base}/partners", lead, {"partner_id": str(partner_id), "role": role})
    write.send("PATCH", base, lead, amendment, **{"If-Match": write.etag(cid)})
    added = write.send("POST", f"{base}/milestones", lead, milestone)
    if added is not None:
        write.send("POST", f"{base}/milestones/{added['id']}/reached", lead, reached)
    recorded = write.send("POST", f"{base}/actions", lead, {**action, "partner_ids": [str(community.id)]})
    if recorded is not None:
        write.send(
            "POST",
            f"{base}/actions/{recorded['id']}/responses",
            community,
            {"response": "disputed", "note": response_note},
        )
    write.send("POST", f"{base}/progress", lead, {"completion": "limited", "note": progress_note})
    write.send("DELETE", f"{base}/partners/{callers.support.id}", lead, {"reason": leaving_reason})
    write.send("POST", f"{base}/withdrawal", lead, {"reason": withdrawal_reason})

    # An action plan named as the commitment's (so that its page shows it), amended with a reason.
    period = {"starts_on": plan[0], "ends_on": plan[1]}
    recorded_plan = write.send("POST", "/plans", callers.admin, {"name": created["action_plan"], **period})
    if recorded_plan is not None:
        etag = service.client.get(f"{API}/plans/{recorded_plan['id']}").headers["ETag"]
        write.send(
            "PATCH",
            f"/plans/{recorded_plan['id']}",
            callers.admin,
            {"status": "adopted", "reason": plan_reason},
            **{"If-Match": etag},
        )
    # An agency's spreadsheet: the same texts and dates, in a CSV file.
    row = {**imported, "external_ref": f"{uuid4().hex[:8]} {imported['external_ref']}"}  # a new commitment
    write.send_csv("/imports", lead, [{**row, "action_plan": created["action_plan"], "ogp_values": "", "reason": ""}])

    assert_everything_renders(service, cid, registered["id"] if registered else None)
    if recorded_plan is not None:
        path = f"/plans/{recorded_plan['id']}"
        assert_renders(service.client.get(path, headers=community.headers), path)


def assert_renders(response: TestResponse, where: str, *, showable: bool = True) -> None:
    assert response.status_code == 200, (where, response.status_code, response.get_data()[:300])
    if showable:
        text = response.get_data(as_text=True).replace("\r\n", "\n")
        found = UNSHOWABLE.search(text)
        assert found is None, f"{where} passes on U+{ord(found.group()):04X}" if found else ""


def assert_everything_renders(service: Service, commitment: str, partner: str | None) -> None:
    client, callers = service.client, service.callers
    member = callers.community.headers
    version = client.get(f"{API}/commitments/{commitment}", headers=member).get_json()["version"]
    pages = [
        "/",
        f"/commitments/{commitment}",
        f"/commitments/{commitment}/history",
        f"/commitments/{commitment}/diff?from=1&to={version}",
        f"/commitments/{commitment}?as_of=2199-12-31",
        f"/partners/{callers.lead.id}",
        f"/partners/{callers.community.id}",
    ]
    if partner is not None:
        pages.append(f"/partners/{partner}")
    for path in pages:
        assert_renders(client.get(path, headers=member), path)
    for path in (f"/commitments/{commitment}/feed.atom", f"/commitments/{commitment}/milestones.ics"):
        assert_renders(client.get(path, headers=member), path)
    auditor = callers.auditor.headers
    for export in ("commitments.csv", "commitments.json", "milestones.csv"):
        assert_renders(client.get(f"{API}/export/{export}", headers=auditor), export)
    for path in (
        f"{API}/commitments/{commitment}",
        f"{API}/commitments/{commitment}/timeline",
        f"{API}/commitments/{commitment}/events",
        f"{API}/partners",
        f"{API}/feed-tokens",
        f"{API}/plans",
    ):
        response = client.get(path, headers=auditor if "feed-tokens" not in path else callers.admin.headers)
        assert_renders(response, path, showable=False)  # JSON escapes what it carries
        json.loads(response.get_data(as_text=True))
    export = client.get(f"{API}/export/events.jsonl", headers=auditor)
    assert_renders(export, "events.jsonl", showable=False)
    for line in export.get_data(as_text=True).split("\n"):
        if line:
            json.loads(line)
    runner = CliRunner(env={"COLUMNS": "200"})
    for args in (
        ["timeline", commitment],
        ["partners", "list"],
        ["partners", "list", "--json"],
        ["tokens", "list"],
        ["tokens", "list", "--json"],
        ["feeds", "list"],
        ["plans", "list"],
        ["plans", "list", "--json"],
    ):
        result = runner.invoke(main, ["--database-url", service.url, *args], obj={})
        assert result.exit_code == 0, (args, result.output[-500:])
        found = UNSHOWABLE.search(result.stdout)
        assert found is None, f"tutahi {' '.join(args)} prints U+{ord(found.group()):04X}" if found else ""
