"""The web pages and feeds through the Flask test client: pages with macrons intact,
the macron-insensitive search, cursor paging, friendly 404s, partners-only pages and
feeds (bearer token, session, per-partner feed token and its revocation), CSRF on
every form, the session cookie's flags, the Atom feed and the iCalendar parsed back,
and no URL of another host in a page or a picture."""

from __future__ import annotations

import calendar as stdlib_calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from werkzeug.test import TestResponse

from application.credentials import FeedTokens, hash_token
from interfaces.app import create_app
from tests.api.conftest import Caller, Callers, create_commitment, ledger_of, services_of

EVIDENCE = "https://www.dia.govt.nz/kia-tutahi/hui-report"
PRIVATE_TITLE = "Kōrero with Hui E! on Ngā Mahinga (partners only)"
NO_SUCH = "00000000-0000-4000-8000-000000000000"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENTRY = re.compile(r'<li class="entry [^"]*" id="entry-(\d+)">')
TRACE = ("Traceback", 'File "', "werkzeug.exceptions", "Internal Server Error")


# -- the world --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Web:
    public: UUID
    private: UUID
    milestones: list[dict[str, Any]]
    action: UUID  # on the public commitment, naming Hui E! and Te Puni Kōkiri
    private_action: UUID  # on the private one, naming Hui E!


def post(client: FlaskClient, path: str, caller: Caller, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post(f"/api/v1{path}", json=body, headers=caller.headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def build(client: FlaskClient, callers: Callers) -> Web:
    """NZ0004 (public) with a support agency, a community partner, three milestones
    (one reached, with evidence), a joint action and a progress report; and a
    partners-only commitment with Hui E! as its community partner."""
    lead, hui_e = callers.lead, callers.community
    public = UUID(
        create_commitment(
            client,
            lead,
            description="Its principles include Ngā Mahinga: putting the principles into practice.",
        )["id"]
    )
    post(client, f"/commitments/{public}/partners", lead, {"partner_id": str(callers.support.id), "role": "support"})
    post(client, f"/commitments/{public}/partners", lead, {"partner_id": str(hui_e.id), "role": "community"})
    milestones = []
    for title, due in (
        ("Survey of agencies on the accord", "2015-03-31"),
        ("Community hui on Ngā Mahinga", "2015-09-30"),
        ("Publish the accord progress review", "2016-06-30"),
    ):
        milestones.append(post(client, f"/commitments/{public}/milestones", lead, {"title": title, "due_on": due}))
    post(
        client,
        f"/commitments/{public}/milestones/{milestones[1]['id']}/reached",
        callers.support,
        {"reached_on": "2015-09-12", "evidence_url": EVIDENCE},
        status=200,
    )
    action = post(
        client,
        f"/commitments/{public}/actions",
        lead,
        {
            "summary": "Co-hosted a community hui on the accord's principles",
            "occurred_on": "2015-09-12",
            "partner_ids": [str(hui_e.id), str(callers.support.id)],
        },
    )
    post(client, f"/commitments/{public}/progress", lead, {"completion": "limited", "note": "Mid-term: limited."})

    private = UUID(
        create_commitment(
            client, lead, title=PRIVATE_TITLE, external_ref="NZ0004-P", visibility="partners", description="Kōrero."
        )["id"]
    )
    post(client, f"/commitments/{private}/partners", lead, {"partner_id": str(hui_e.id), "role": "community"})
    post(client, f"/commitments/{private}/milestones", lead, {"title": "First kōrero held", "due_on": "2015-06-30"})
    private_action = post(
        client,
        f"/commitments/{private}/actions",
        lead,
        {"summary": "Held the first kōrero together", "occurred_on": "2015-05-01", "partner_ids": [str(hui_e.id)]},
    )
    return Web(public, private, milestones, UUID(action["id"]), UUID(private_action["id"]))


@pytest.fixture
def web(client: FlaskClient, callers: Callers) -> Web:
    return build(client, callers)


# -- helpers ----------------------------------------------------------------------------------


def page(client: FlaskClient, path: str, status: int = 200, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.mimetype == "text/html", (path, response.mimetype)
    assert response.mimetype_params.get("charset") == "utf-8"
    text = response.text
    for sign in TRACE:
        assert sign not in text, f"{path} shows {sign!r}"
    return text


def csrf_of(client: FlaskClient, path: str = "/signin") -> str:
    match = CSRF.search(page(client, path))
    assert match, f"{path} has a form with a CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, caller: Caller, next_path: str = "/") -> None:
    response = client.post("/signin", data={"csrf_token": csrf_of(client), "token": caller.token, "next": next_path})
    assert response.status_code == 303 and response.headers["Location"] == next_path, response.headers
    assert f"Signed in as {caller.name}." in page(client, next_path)


def feed_tokens_of(app: Flask) -> FeedTokens:
    return FeedTokens(services_of(app).feed_tokens, services_of(app).credentials)


def log_size(app: Flask) -> int:
    return ledger_of(app).log_size()


def positions(html: str) -> list[int]:
    return [int(p) for p in ENTRY.findall(html)]


def older_link(html: str) -> str | None:
    match = re.search(r'<a href="\?after=([^"#]+)#timeline">Older entries</a>', html)
    return match.group(1) if match else None


def timeline_api(client: FlaskClient, commitment: UUID, caller: Caller | None = None) -> list[dict[str, Any]]:
    headers = caller.headers if caller else {}
    response = client.get(f"/api/v1/commitments/{commitment}/timeline?limit=1000", headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]  # type: ignore[no-any-return]


def assert_friendly_404(response: TestResponse) -> None:
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>Not found</h1>" in response.text
    assert "Go to the list of commitments" in response.text
    for sign in TRACE:
        assert sign not in response.text


# -- pages ------------------------------------------------------------------------------------


def test_pages_render_as_html_with_macrons_intact(client: FlaskClient, callers: Callers, web: Web) -> None:
    front = page(client, "/")
    assert "Review progress of the Kia Tūtahi Relationship Accord" in front
    assert "<h1>Commitments made together</h1>" in front
    assert "Department of Internal Affairs" in front  # led by
    assert PRIVATE_TITLE not in front

    commitment = page(client, f"/commitments/{web.public}")
    assert "<title>Review progress of the Kia Tūtahi Relationship Accord · Tūtahi</title>" in commitment
    for text in ("Te Puni Kōkiri", "Hui E! Community Aotearoa", "Community hui on Ngā Mahinga", "Ngā Mahinga: putting"):
        assert text in commitment, text
    assert "&#" not in commitment.replace("&#34;", "").replace("&#39;", ""), "macrons are not escaped away"
    assert "Te Puni Kōkiri reported the milestone “Community hui on Ngā Mahinga” reached on 12 September 2015." in (
        unescape(commitment)
    )

    partner = page(client, f"/partners/{callers.community.id}")
    assert "<h1>Hui E! Community Aotearoa</h1>" in partner
    assert "Review progress of the Kia Tūtahi Relationship Accord" in partner
    assert PRIVATE_TITLE not in partner, "a visitor does not see the partners-only commitment on a partner page"


def test_the_pictures_are_svg_with_text_alternatives(client: FlaskClient, web: Web) -> None:
    for path, captions in (
        ("/", ["Milestones reached and not yet reached, by commitment."]),
        (
            f"/commitments/{web.public}",
            [
                "Milestones due and reached over time: 1 of 3 reached.",
                "Completion at the dates it describes: as the lead agency reported it",
            ],
        ),
    ):
        html = page(client, path)
        figures = re.findall(r'<figure class="chart">(.*?)</figure>', html, re.S)
        assert len(figures) == len(captions), path
        for figure, caption in zip(figures, captions, strict=True):
            assert re.search(r'<svg aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"', figure)
            assert "<figcaption>" in figure and caption in " ".join(figure.split())
            assert "<table>" in figure, "the figures, as a table"
    commitment = page(client, f"/commitments/{web.public}")
    assert '<th scope="row">Community hui on Ngā Mahinga</th><td>2015-09-30</td><td>2015-09-12</td>' in commitment


def test_the_search_box_ignores_capitals_and_macrons(client: FlaskClient, callers: Callers, web: Web) -> None:
    title = "Review progress of the Kia Tūtahi Relationship Accord"
    for query in ("kia+tutahi", "KIA+T%C5%AATAHI", "tutahi", "Kia%20T%C5%ABtahi"):
        html = page(client, f"/?q={query}")
        assert title in html, query
        assert 'value="' in html and "No commitments match" not in html
    html = page(client, "/?q=kia+tutahi")
    assert '<input id="q" name="q" type="search" value="kia tutahi"' in html
    assert "No commitments match “nothing like it”." in unescape(page(client, "/?q=nothing+like+it"))
    # Partners-only commitments are found only by those who may see them.
    assert PRIVATE_TITLE not in page(client, "/?q=korero")
    assert PRIVATE_TITLE in page(client, "/?q=korero", headers=callers.community.headers)
    assert PRIVATE_TITLE not in page(client, "/?q=korero", headers=callers.stranger.headers)


# -- paging -----------------------------------------------------------------------------------


def test_a_commitment_timeline_is_paged_by_cursor(client: FlaskClient, callers: Callers, web: Web) -> None:
    for n in range(12):
        post(
            client,
            f"/commitments/{web.public}/milestones",
            callers.lead,
            {"title": f"Hui {n + 1}", "due_on": "2016-01-01"},
        )
    everything = [entry["position"] for entry in timeline_api(client, web.public)]
    assert len(everything) > 20

    seen: list[int] = []
    path = f"/commitments/{web.public}"
    pages = 0
    while True:
        html = page(client, path)
        got = positions(html)
        assert 0 < len(got) <= 20
        seen.extend(got)
        pages += 1
        cursor = older_link(html)
        if cursor is None:
            break
        path = f"/commitments/{web.public}?after={cursor}"
        assert pages < 10
    assert pages == 2
    assert seen == everything, "newest first, every entry once, across the pages"


def test_a_partner_timeline_is_paged_by_cursor(client: FlaskClient, callers: Callers, web: Web) -> None:
    for n in range(12):
        post(
            client,
            f"/commitments/{web.public}/milestones",
            callers.lead,
            {"title": f"Wānanga {n}", "due_on": "2016-01-01"},
        )
    first = page(client, f"/partners/{callers.community.id}")
    cursor = older_link(first)
    assert cursor is not None and len(positions(first)) == 20
    second = page(client, f"/partners/{callers.community.id}?after={cursor}")
    assert positions(second) and not set(positions(first)) & set(positions(second))
    assert positions(first) + positions(second) == sorted(positions(first) + positions(second), reverse=True)
    assert "On <a href=" in first, "each entry names its commitment"
    assert older_link(second) is None


def test_the_list_of_commitments_is_paged_by_cursor(client: FlaskClient, callers: Callers) -> None:
    for n in range(23):
        create_commitment(client, callers.lead, title=f"Commitment {n:02d} on Ngā Mahinga", external_ref=f"T{n:02d}")
    first = page(client, "/")
    match = re.search(r'<a href="\?after=([^"]+)">More commitments</a>', first)
    assert match
    second = page(client, f"/?after={match.group(1)}")
    ids_first = set(re.findall(r'href="/commitments/([0-9a-f-]{36})"', first))
    ids_second = set(re.findall(r'href="/commitments/([0-9a-f-]{36})"', second))
    assert len(ids_first) == 20 and len(ids_second) == 3 and not ids_first & ids_second
    assert "More commitments" not in second
    # With a search, the next page keeps the query.
    searched = page(client, "/?q=nga+mahinga")
    more = re.search(r'<a href="\?q=nga%20mahinga&amp;after=([^"]+)">More commitments</a>', searched)
    assert more, "the query travels with the cursor"
    last = page(client, f"/?q=nga+mahinga&after={more.group(1)}")
    assert len(set(re.findall(r'href="/commitments/([0-9a-f-]{36})"', last))) == 3


# -- errors -----------------------------------------------------------------------------------


UNKNOWN = [f"/commitments/{NO_SUCH}", f"/partners/{NO_SUCH}", "/commitments/not-a-uuid", "/partners/NZ0004", "/no/such"]
ODD_QUERIES = ["?after=garbage", "?after=" + "9" * 40, "?after=-1", "?q=" + "ā" * 500, "?q=%25_%5C", "?after=&q="]


def test_unknown_ids_get_a_friendly_404_page(client: FlaskClient, web: Web) -> None:
    for path in UNKNOWN:
        assert_friendly_404(client.get(path, headers={"Accept": "text/html"}))
    for path in (f"/commitments/{NO_SUCH}/feed.atom", f"/commitments/{NO_SUCH}/milestones.ics"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert not any(sign in response.text for sign in TRACE)


def test_odd_queries_never_show_a_trace(client: FlaskClient, callers: Callers, web: Web) -> None:
    for query in ODD_QUERIES:
        for base in ("/", f"/commitments/{web.public}", f"/partners/{callers.community.id}"):
            response = client.get(base + query)
            assert response.status_code < 500, (base + query, response.status_code)
            assert response.mimetype == "text/html"
            assert not any(sign in response.text for sign in TRACE), base + query


def test_an_unexpected_error_shows_a_page_not_a_trace(
    app: Flask, client: FlaskClient, web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: /srv/tutahi/db password=hunter2")

    monkeypatch.setattr(ledger_of(app), "get_commitment", broken)
    response = client.get(f"/commitments/{web.public}")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "<h1>Something went wrong</h1>" in response.text
    assert "secret internals" not in response.text and "RuntimeError" not in response.text
    assert not any(sign in response.text for sign in TRACE)


def test_a_wrong_method_gets_a_page_not_a_trace(client: FlaskClient, web: Web) -> None:
    response = client.post(f"/commitments/{web.public}")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "<h1>Not allowed</h1>" in response.text


# -- partners-only commitments ----------------------------------------------------------------


def private_paths(web: Web) -> list[str]:
    return [
        f"/commitments/{web.private}",
        f"/commitments/{web.private}/feed.atom",
        f"/commitments/{web.private}/milestones.ics",
    ]


def test_a_partners_only_commitment_is_404_for_the_public_and_a_non_member(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    for path in private_paths(web):
        for headers in ({}, callers.stranger.headers, callers.other_agency.headers):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, (path, headers)
            assert PRIVATE_TITLE not in response.text and "Kōrero" not in response.text
    assert_friendly_404(client.get(f"/commitments/{web.private}"))
    # Signed in as a partner that is not a member: still 404.
    stranger = app.test_client()
    sign_in(stranger, callers.stranger)
    for path in private_paths(web):
        assert stranger.get(path).status_code == 404, path


def test_a_partners_only_commitment_is_shown_to_its_partners(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    for caller in (callers.community, callers.lead, callers.auditor):
        for path in private_paths(web):
            response = client.get(path, headers=caller.headers)
            assert response.status_code == 200, (caller.name, path)
    assert PRIVATE_TITLE in page(client, f"/commitments/{web.private}", headers=callers.community.headers)
    member = app.test_client()
    sign_in(member, callers.community, f"/commitments/{web.private}")
    html = page(member, f"/commitments/{web.private}")
    assert PRIVATE_TITLE in html and "partners only" in html
    assert f"/commitments/{web.private}/actions/{web.private_action}/response" in html, "the response form"
    for path in private_paths(web)[1:]:
        assert member.get(path).status_code == 200, path
    assert PRIVATE_TITLE in page(member, f"/partners/{callers.community.id}")


def issue_feed_token(client: FlaskClient, commitment: UUID, *, member: bool = True) -> str:
    """A signed-in partner asks for a feed link (the commitment page offers it to its partners)."""
    html = page(client, f"/commitments/{commitment}")
    assert ("private feed link for a feed reader" in html) is member
    response = client.post("/feeds", data={"csrf_token": csrf_of(client), "commitment_id": str(commitment)})
    assert response.status_code == 200 and response.mimetype == "text/html"
    match = re.search(rf'value="http://localhost/commitments/{commitment}/feed\.atom\?token=([^"]+)"', response.text)
    assert match, response.text
    assert f"/commitments/{commitment}/milestones.ics?token={match.group(1)}" in response.text
    return unescape(match.group(1))


def test_a_per_partner_feed_token_opens_the_feeds_until_it_is_revoked(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    member = app.test_client()
    sign_in(member, callers.community, f"/commitments/{web.private}")
    token = issue_feed_token(member, web.private)

    reader = app.test_client()  # a feed reader: no header, no session
    atom, ics = (f"/commitments/{web.private}/{name}?token={token}" for name in ("feed.atom", "milestones.ics"))
    response = reader.get(atom)
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    assert PRIVATE_TITLE in feedparser.parse(response.data).feed.title
    response = reader.get(ics)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert reader.get(f"/commitments/{web.public}/feed.atom?token={token}").status_code == 200
    # The feed token opens feeds only, not the pages; a wrong token opens nothing.
    assert reader.get(f"/commitments/{web.private}?token={token}").status_code == 404
    assert reader.get(f"/commitments/{web.private}/feed.atom?token={token}x").status_code == 404
    assert reader.get(f"/commitments/{web.public}/feed.atom?token=nonsense").status_code == 404

    # A non-member's feed token does not open the partners-only feeds.
    stranger = app.test_client()
    sign_in(stranger, callers.stranger, f"/commitments/{web.public}")
    other = issue_feed_token(stranger, web.public, member=False)
    assert reader.get(f"/commitments/{web.private}/feed.atom?token={other}").status_code == 404
    assert reader.get(f"/commitments/{web.public}/feed.atom?token={other}").status_code == 200

    # The partner page lists the feed link with a revoke button; the stranger cannot revoke it.
    partner_page = page(member, f"/partners/{callers.community.id}")
    revoke = re.search(r'action="/feeds/([0-9a-f-]{36})/revocation"', partner_page)
    assert revoke and "Your private feed links" in partner_page
    token_id = revoke.group(1)
    assert "Your private feed links" not in page(client, f"/partners/{callers.community.id}")
    refused = stranger.post(f"/feeds/{token_id}/revocation", data={"csrf_token": csrf_of(stranger)})
    assert refused.status_code == 404
    assert reader.get(atom).status_code == 200

    response = member.post(f"/feeds/{token_id}/revocation", data={"csrf_token": CSRF.search(partner_page).group(1)})  # type: ignore[union-attr]
    assert response.status_code == 303 and response.headers["Location"] == f"/partners/{callers.community.id}"
    assert "That feed link no longer works." in page(member, f"/partners/{callers.community.id}")
    assert reader.get(atom).status_code == 404
    assert reader.get(ics).status_code == 404
    assert reader.get(f"/commitments/{web.public}/feed.atom?token={token}").status_code == 404
    assert feed_tokens_of(app).partner_of(token, datetime.now(UTC)) is None


# -- signing in, the session cookie -----------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_secure(client: FlaskClient, callers: Callers) -> None:
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(client), "token": callers.community.token, "next": "/"}
    )
    assert response.status_code == 303
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("tutahi_session=")]
    assert len(cookies) == 1
    flags = [part.strip() for part in cookies[0].split(";")]
    assert "HttpOnly" in flags and "Secure" in flags and "SameSite=Lax" in flags, flags
    assert "Path=/" in flags


def test_secure_cookies_can_be_turned_off_for_plain_http_development(api_store_url: str, tmp_path: Any) -> None:
    plain = create_app(
        {
            "DATABASE_URL": api_store_url,
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "plain"),
            "SESSION_COOKIE_SECURE": False,
        }
    )
    try:
        response = plain.test_client().get("/signin")
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("tutahi_session="))
        assert "Secure" not in cookie and "HttpOnly" in cookie
    finally:
        plain.extensions["tutahi"].close()


def test_signing_in_with_a_wrong_token_and_signing_out(client: FlaskClient, callers: Callers, web: Web) -> None:
    response = client.post("/signin", data={"csrf_token": csrf_of(client), "token": "tt_nonsense", "next": "/"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/signin")
    assert "That token is not known" in page(client, response.headers["Location"])
    assert "Sign out" not in page(client, "/")

    sign_in(client, callers.community, f"/commitments/{web.public}")
    html = page(client, "/")
    assert "Sign out" in html and f'href="/partners/{callers.community.id}">Hui E! Community Aotearoa</a>' in html
    response = client.post("/signout", data={"csrf_token": CSRF.search(html).group(1)})  # type: ignore[union-attr]
    assert response.status_code == 303 and response.headers["Location"] == "/"
    html = page(client, "/")
    assert "Signed out." in html and "Sign out" not in html
    assert client.get(f"/commitments/{web.private}").status_code == 404


def test_signing_out_ends_every_copy_of_the_session_cookie(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    """The cookie holds only a session key; the server keeps the session, so a copy of
    the cookie taken before signing out is worthless after it."""
    sign_in(client, callers.community, "/")
    cookie = client.get_cookie("tutahi_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("tutahi_session", cookie.value)
    assert thief.get(f"/commitments/{web.private}").status_code == 200, "the copy works while signed in"

    html = page(client, "/")
    client.post("/signout", data={"csrf_token": CSRF.search(html).group(1)})  # type: ignore[union-attr]

    assert thief.get(f"/commitments/{web.private}").status_code == 404
    assert "Sign out" not in page(thief, "/")


# Browsers drop tabs, carriage returns and line feeds from a URL, so "/<tab>/evil.example"
# is "//evil.example", another host (security review, finding 2).
AWAY = [
    *("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "https:evil.example"),
    *("/\t/evil.example", "/\r\n/evil.example", "/\n/evil.example", "\t//evil.example", "/\x0b/evil.example"),
    *(" //evil.example", "/ /evil.example", "///evil.example", "/\r\nSet-Cookie: tutahi_session=stolen"),
]


@pytest.mark.parametrize("target", AWAY, ids=[repr(t) for t in AWAY])
def test_signing_in_never_sends_you_to_another_host(client: FlaskClient, callers: Callers, target: str) -> None:
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(client), "token": callers.community.token, "next": target}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Set-Cookie: tutahi_session=stolen" not in str(response.headers)


@pytest.mark.parametrize("target", AWAY, ids=[repr(t) for t in AWAY])
def test_the_signin_form_never_offers_to_send_you_to_another_host(client: FlaskClient, target: str) -> None:
    """The query's ``next`` (``/signin?next=/%09/evil.example``) is checked before the form carries it."""
    html = page(client, "/signin", query_string={"next": target})
    assert re.search(r'name="next" value="/"', html), html


def test_signing_in_keeps_a_path_of_this_site_with_its_query(client: FlaskClient, callers: Callers) -> None:
    target = "/?q=k%C4%81inga&after=2"
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(client), "token": callers.community.token, "next": target}
    )
    assert response.status_code == 303 and response.headers["Location"] == target


def test_a_revoked_token_ends_its_session(app: Flask, client: FlaskClient, callers: Callers, web: Web) -> None:
    sign_in(client, callers.community)
    assert client.get(f"/commitments/{web.private}").status_code == 200
    response = client.delete(f"/api/v1/tokens/{credential_of(app, callers.community)}", headers=callers.admin.headers)
    assert response.status_code == 200
    assert client.get(f"/commitments/{web.private}").status_code == 404
    assert "Sign out" not in page(client, "/")


def credential_of(app: Flask, caller: Caller) -> UUID:
    credential = services_of(app).credentials.store.by_hash(hash_token(caller.token))
    assert credential is not None
    return credential.id


# -- confirming and disputing joint actions ---------------------------------------------------


def respond(client: FlaskClient, web: Web, choice: str, note: str = "", commitment: UUID | None = None) -> TestResponse:
    path = f"/commitments/{commitment or web.public}"
    action = web.private_action if commitment == web.private else web.action
    return client.post(
        f"{path}/actions/{action}/response", data={"csrf_token": csrf_of(client), "response": choice, "note": note}
    )


def test_a_signed_in_partner_confirms_a_joint_action_and_sees_it_at_once(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    sign_in(client, callers.community, f"/commitments/{web.public}")
    html = page(client, f"/commitments/{web.public}")
    assert f'action="/commitments/{web.public}/actions/{web.action}/response"' in html
    assert "Was this done together with Hui E! Community Aotearoa?" in html
    before = log_size(app)
    response = respond(client, web, "confirmed", "Kei te pai.")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/commitments/{web.public}#timeline"
    assert log_size(app) == before + 1
    html = unescape(page(client, f"/commitments/{web.public}"))
    assert "Thank you: your confirmation is on the timeline." in html
    assert re.search(r'Hui E! Community Aotearoa:\s+<strong class="resp-confirmed">confirmed</strong>', html)
    newest = html.split('<li class="entry', 2)[1]
    assert (
        "Hui E! Community Aotearoa confirmed the joint action “Co-hosted a community hui on the accord's principles”."
        " Note: Kei te pai." in newest
    )
    assert f'action="/commitments/{web.public}/actions/{web.action}/response"' not in html, "answered: no form"

    # Answering twice is refused with a message, and nothing more is recorded.
    response = respond(client, web, "disputed")
    assert response.status_code == 303
    assert log_size(app) == before + 1
    assert "already responded" in page(client, f"/commitments/{web.public}")


def test_a_signed_in_partner_disputes_a_joint_action(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    sign_in(client, callers.community, f"/commitments/{web.private}")
    response = respond(client, web, "disputed", "Not with us.", commitment=web.private)
    assert response.status_code == 303
    html = unescape(page(client, f"/commitments/{web.private}"))
    assert "Your dispute is on the timeline." in html
    assert '<strong class="resp-disputed">disputed</strong> — “Not with us.”' in html
    assert "Hui E! Community Aotearoa disputed the joint action “Held the first kōrero together”." in html


def test_responses_are_refused_to_those_not_named_and_to_visitors(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    before = log_size(app)
    # A visitor (with a valid CSRF token of its own session) is sent to sign in.
    response = respond(client, web, "confirmed")
    assert response.status_code == 303 and response.headers["Location"].startswith("/signin?next=")
    # A partner not named in the action gets a message; nothing is recorded.
    other = app.test_client()
    sign_in(other, callers.other_agency, f"/commitments/{web.public}")
    assert "Was this done together" not in page(other, f"/commitments/{web.public}")
    response = respond(other, web, "confirmed")
    assert response.status_code == 303
    assert "Only partners named in the joint action may respond to it." in page(other, f"/commitments/{web.public}")
    # A choice that is neither confirm nor dispute.
    named = app.test_client()
    sign_in(named, callers.community)
    response = respond(named, web, "maybe")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Choose confirm or dispute." in response.text
    # An unknown action.
    path = f"/commitments/{web.public}"
    response = named.post(
        f"{path}/actions/{NO_SUCH}/response", data={"csrf_token": csrf_of(named), "response": "confirmed"}
    )
    assert response.status_code in (303, 404)
    assert log_size(app) == before


# -- CSRF -------------------------------------------------------------------------------------


def forms(web: Web, token_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "signin": ("/signin", {"token": "", "next": "/"}),
        "signout": ("/signout", {}),
        "response": (f"/commitments/{web.public}/actions/{web.action}/response", {"response": "confirmed"}),
        "feeds": ("/feeds", {"commitment_id": str(web.public)}),
        "revocation": (f"/feeds/{token_id}/revocation", {}),
    }


@pytest.mark.parametrize("form", ["signin", "signout", "response", "feeds", "revocation"])
def test_forms_refuse_a_missing_or_wrong_csrf_token(app: Flask, callers: Callers, web: Web, form: str) -> None:
    member = app.test_client()
    sign_in(member, callers.community, f"/commitments/{web.public}")
    feed_token = issue_feed_token(member, web.public)
    token_id = re.search(
        r'action="/feeds/([0-9a-f-]{36})/revocation"', page(member, f"/partners/{callers.community.id}")
    )
    assert token_id
    path, data = forms(web, token_id.group(1))[form]
    if form == "signin":
        data = {**data, "token": callers.stranger.token}
    wrong = {
        "missing": {},
        "empty": {"csrf_token": ""},
        "forged": {"csrf_token": "IjFhMmIzYzRkIg.Zz9Xyw.not-a-real-signature"},
        "another session's": {"csrf_token": csrf_of(app.test_client())},
    }
    for how, csrf in wrong.items():
        before = log_size(app)
        tokens_before = len(feed_tokens_of(app).store.of_partner(callers.community.id))
        response = member.post(path, data={**data, **csrf})
        assert response.status_code == 400, (form, how, response.status_code)
        assert response.mimetype == "text/html"
        assert "The form expired or did not come from this site." in response.text
        assert not any(sign in response.text for sign in TRACE)

        # Nothing recorded, nothing changed.
        assert log_size(app) == before, how
        assert len(feed_tokens_of(app).store.of_partner(callers.community.id)) == tokens_before
        assert app.test_client().get(f"/commitments/{web.public}/feed.atom?token={feed_token}").status_code == 200
        html = page(member, "/")
        assert "Signed in as Ngāti Whātua Ōrākei" not in html
        assert "Sign out" in html, "still signed in as Hui E!"
        assert "Was this done together with Hui E! Community Aotearoa?" in page(member, f"/commitments/{web.public}")

    # The same form with its right token goes through (so the refusals above were the token's).
    response = member.post(path, data={**data, "csrf_token": csrf_of(member)})
    assert response.status_code in (200, 303), (form, response.status_code)


# -- the Atom feed and the calendar -----------------------------------------------------------


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(microsecond=0)


def parsed_utc(struct: Any) -> datetime:
    return datetime.fromtimestamp(stdlib_calendar.timegm(struct), UTC)


def test_the_atom_feed_has_one_entry_per_timeline_entry(client: FlaskClient, web: Web) -> None:
    response = client.get(f"/commitments/{web.public}/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Review progress of the Kia Tūtahi Relationship Accord (NZ0004)"
    assert feed.feed.link == f"http://localhost/commitments/{web.public}"

    timeline = timeline_api(client, web.public)
    assert len(feed.entries) == len(timeline) >= 10
    for entry, item in zip(feed.entries, timeline, strict=True):  # both newest first
        assert entry.title == item["summary"]
        assert entry.author == item["actor"]["name"]
        if item["aggregate_id"] == str(web.public):
            assert entry.id == f"urn:tutahi:{web.public}:{item['version']}"
        else:  # a joint action's event leaves the commitment's version as it was
            assert entry.id == f"urn:tutahi:log:{item['position']}"
        assert entry.link == f"http://localhost/commitments/{web.public}#entry-{item['position']}"
        assert parsed_utc(entry.published_parsed) == utc(item["recorded_at"])
        assert parsed_utc(entry.updated_parsed) == utc(item["recorded_at"])
        assert entry.tags[0].term == item["kind"]
        if item["occurred_on"]:
            assert f"It happened on {item['occurred_on']}." in entry.summary
    assert len({entry.id for entry in feed.entries}) == len(feed.entries), "every entry has its own id"
    titles = [entry.title for entry in feed.entries]
    assert (
        "Te Puni Kōkiri reported the milestone “Community hui on Ngā Mahinga” reached on 12 September 2015." in titles
    )
    assert parsed_utc(feed.feed.updated_parsed) == utc(timeline[0]["recorded_at"])


def test_the_atom_feed_shows_a_response_at_once(client: FlaskClient, callers: Callers, web: Web) -> None:
    post(
        client,
        f"/commitments/{web.public}/actions/{web.action}/responses",
        callers.community,
        {"response": "confirmed"},
    )
    newest = feedparser.parse(client.get(f"/commitments/{web.public}/feed.atom").data).entries[0]
    assert newest.title.startswith("Hui E! Community Aotearoa confirmed the joint action")
    assert newest.author == "Hui E! Community Aotearoa"


def test_the_calendar_has_one_event_per_milestone_on_its_due_date(client: FlaskClient, web: Web) -> None:
    response = client.get(f"/commitments/{web.public}/milestones.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    parsed = Calendar.from_ical(response.data)
    assert str(parsed["X-WR-CALNAME"]) == "NZ0004 milestones"
    assert str(parsed["PRODID"]) == "-//Tūtahi//milestones//EN"
    events = parsed.walk("VEVENT")
    assert len(events) == len(web.milestones) == 3
    by_uid = {str(event["UID"]): event for event in events}
    expected = {
        "Survey of agencies on the accord": (date(2015, 3, 31), None),
        "Community hui on Ngā Mahinga": (date(2015, 9, 30), "2015-09-12"),
        "Publish the accord progress review": (date(2016, 6, 30), None),
    }
    for milestone in web.milestones:
        event = by_uid[f"{milestone['id']}@tutahi"]
        due, reached = expected[milestone["title"]]
        start = event.decoded("DTSTART")
        assert start == due and not isinstance(start, datetime), "an all-day event on the due date"
        assert event.decoded("DTEND") == date.fromordinal(due.toordinal() + 1)
        prefix = "Reached: " if reached else "Due: "
        assert str(event["SUMMARY"]) == prefix + milestone["title"]
        description = str(event["DESCRIPTION"])
        assert f"Due {due.isoformat()}." in description
        assert "Review progress of the Kia Tūtahi Relationship Accord (NZ0004)" in description
        if reached:
            assert f"Reached {reached}." in description and f"Evidence: {EVIDENCE}" in description
        assert str(event["URL"]) == f"http://localhost/commitments/{web.public}"


# -- nothing from another host ----------------------------------------------------------------

URL = re.compile(r"https?://[^\s\"'<>)\\]+")
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def foreign_urls(html: str, allowed: set[str]) -> list[str]:
    found = []
    for url in URL.findall(html):
        if url in NAMESPACES:
            assert re.search(rf'xmlns(:xlink)?="{re.escape(url)}"', html), "a namespace name, not a link"
            continue
        if urlsplit(url).hostname not in allowed:
            found.append(url)
    return found


def test_pages_and_pictures_name_no_other_host_but_evidence_links(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    allowed = {"localhost", urlsplit(EVIDENCE).hostname or ""}
    member = app.test_client()
    sign_in(member, callers.community)
    paths = [
        "/",
        "/?q=kia+tutahi",
        f"/commitments/{web.public}",
        f"/commitments/{web.private}",
        f"/partners/{callers.community.id}",
        f"/partners/{callers.lead.id}",
        "/signin",
        f"/commitments/{NO_SUCH}",
    ]
    for path in paths:
        response = member.get(path)
        assert response.status_code in (200, 404)
        html = response.text
        assert foreign_urls(html, allowed) == [], path
        assert not re.search(r"<script[^>]+src=", html), f"{path} loads a script"
        # "cdn" only in an address: random nonces and ids may spell it by chance.
        assert not re.search(r"@import|@font-face|fonts\.googleapis|//[^\s\"'<>]*cdn", html, re.I), path
        for link in re.findall(r"<link [^>]*href=\"([^\"]+)\"", html):
            assert link.startswith("/"), (path, link)
    evidence = member.get(f"/commitments/{web.public}").text
    assert f'<a href="{EVIDENCE}" rel="noopener">evidence</a>' in evidence, "the user's evidence link is shown"
    css = client.get("/static/tutahi.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert URL.findall(css.text) == [] and "@import" not in css.text and "@font-face" not in css.text
