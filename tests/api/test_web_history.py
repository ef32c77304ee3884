"""The public history on the web, through the Flask test client: every version of a
commitment with who (and in what role), the kind of change and the reason, each linked
to its diff; diffs between any two versions with relations named; the page as it stood
at the end of a day in New Zealand, saying so; partners-only commitments hidden; bad
versions and dates as 4xx pages, never a trace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import CanCreateTimestamp
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Callers, create_commitment
from tests.api.test_web import NO_SUCH, TRACE, Web, build, page, sign_in

ROW = re.compile(r'<tr id="version-(\d+)">(.*?)</tr>', re.S)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def versions(html: str) -> dict[int, str]:
    return {int(number): text_of(row) for number, row in ROW.findall(html)}


def amend(client: FlaskClient, callers: Callers, commitment: UUID, changes: dict[str, Any], reason: str) -> None:
    current = client.get(f"/api/v1/commitments/{commitment}")
    response = client.patch(
        f"/api/v1/commitments/{commitment}",
        json={**changes, "reason": reason},
        headers={**callers.lead.headers, "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def web(client: FlaskClient, callers: Callers) -> Web:
    made = build(client, callers)
    amend(client, callers, made.public, {"title": "Review the Kia Tūtahi accord"}, "Shorter, as the agencies asked.")
    return made


def test_the_history_lists_every_version_with_who_their_role_the_change_and_the_reason(
    client: FlaskClient, callers: Callers, web: Web
) -> None:
    html = page(client, f"/commitments/{web.public}/history")
    rows = versions(html)
    newest = client.get(f"/api/v1/commitments/{web.public}").get_json()["version"]
    assert sorted(rows) == list(range(1, newest + 1))
    assert next(iter(rows)) == newest  # newest first
    assert f"{callers.lead.name} agency" in rows[1] and "created the commitment" in rows[1]
    assert "added a partner" in rows[2] and "added a milestone" in rows[5]
    assert f"{callers.support.name} agency" in rows[8] and "reported a milestone reached" in rows[8]
    assert "amended the commitment" in rows[newest] and "Shorter, as the agencies asked." in rows[newest]
    for number in range(2, newest + 1):
        assert f'/commitments/{web.public}/diff?from={number - 1}&amp;to={number}"' in html
    assert f'href="/commitments/{web.public}/history"' in page(client, f"/commitments/{web.public}")


def test_a_diff_names_what_changed_relations_included(client: FlaskClient, callers: Callers, web: Web) -> None:
    newest = client.get(f"/api/v1/commitments/{web.public}").get_json()["version"]
    amended = text_of(page(client, f"/commitments/{web.public}/diff?from={newest - 1}&to={newest}"))
    assert f"What changed from version {newest - 1} to version {newest}" in amended
    assert "title Review progress of the Kia Tūtahi Relationship Accord Review the Kia Tūtahi accord" in amended
    everything = text_of(page(client, f"/commitments/{web.public}/diff?from=1&to={newest}"))
    assert f"Partner “{callers.community.name}”: added" in everything
    assert "Milestone “Community hui on Ngā Mahinga”: added" in everything
    assert "Progress report" in everything and "limited" in everything
    # Joint actions and partners by name, not by id.
    assert f"recorded by: {callers.lead.name}" in everything
    assert str(callers.lead.id) not in everything and str(web.action) not in everything
    # Backwards is the same changes the other way; a version against itself, none.
    backwards = text_of(page(client, f"/commitments/{web.public}/diff?from={newest}&to=1"))
    assert f"Partner “{callers.community.name}”: removed" in backwards
    assert "Nothing changed between these versions." in page(client, f"/commitments/{web.public}/diff?from=3&to=3")
    # A milestone reached: its field, before and after.
    reached = text_of(page(client, f"/commitments/{web.public}/diff?from=7&to=8"))
    assert "Milestone “Community hui on Ngā Mahinga”: reached on — 2015-09-12" in reached
    # The API says the same number of changes.
    api = client.get(f"/api/v1/commitments/{web.public}/diff?from=1&to={newest}").get_json()["changes"]
    assert f"{len(api)} changes" in everything


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("?from=1", 400),
        ("?from=one&to=2", 400),
        ("?from=1&to=-2", 400),
        ("?from=1.5&to=2", 400),
        ("?from=١&to=2", 400),
        ("?from=1&to=99999999999999999999", 400),
        ("?from=0&to=2", 404),
        ("?from=1&to=999", 404),
    ],
)
def test_bad_versions_get_a_4xx_page_never_a_trace(client: FlaskClient, web: Web, query: str, status: int) -> None:
    response = client.get(f"/commitments/{web.public}/diff{query}")
    assert response.status_code == status, response.text[:300]
    assert response.mimetype == "text/html"
    assert not any(sign in response.text for sign in TRACE)
    if status == 400:
        assert "must be a version number" in response.text


@pytest.mark.parametrize("query", ["?as_of=yesterday", "?as_of=2015-02-30", "?as_of=20150101", "?as_of=1899-12-31"])
def test_a_bad_day_gets_a_400_page(client: FlaskClient, web: Web, query: str) -> None:
    response = client.get(f"/commitments/{web.public}{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "as_of must be a date" in response.text
    assert not any(sign in response.text for sign in TRACE)


def test_partners_only_history_and_diffs_are_hidden_from_the_public_and_shown_to_partners(
    app: Flask, client: FlaskClient, callers: Callers, web: Web
) -> None:
    paths = [
        f"/commitments/{web.private}/history",
        f"/commitments/{web.private}/diff?from=1&to=2",
        f"/commitments/{web.private}?as_of=2199-12-31",
    ]
    for path in paths:
        for headers in ({}, callers.stranger.headers):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, path
            assert "Kōrero" not in response.text
    for path in (f"/commitments/{NO_SUCH}/history", f"/commitments/{NO_SUCH}/diff?from=1&to=1"):
        assert client.get(path).status_code == 404
    member = app.test_client()
    sign_in(member, callers.community)
    assert "Kōrero" in page(member, paths[0]) and "Kōrero" in page(member, paths[1])
    assert "Kōrero" in page(client, paths[2], headers=callers.community.headers)


# -- as of a day ----------------------------------------------------------------------------------


class Clock:
    """The instant events are recorded at, set by the test."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    made = Clock()
    monkeypatch.setattr(CanCreateTimestamp, "create_timestamp", staticmethod(made))
    yield made


def test_the_page_as_of_a_day_shows_it_as_it_stood_at_the_end_of_that_day_in_new_zealand(
    client: FlaskClient, callers: Callers, clock: Clock
) -> None:
    clock.now = datetime(2015, 3, 1, 1, 0, tzinfo=UTC)
    made = UUID(create_commitment(client, callers.lead, title="Tuatahi: the first title")["id"])
    # 11:30 UTC on 9 March is 00:30 on 10 March in New Zealand (NZDT, UTC+13).
    clock.now = datetime(2015, 3, 9, 11, 30, tzinfo=UTC)
    amend(client, callers, made, {"title": "Tuarua: the second title"}, "Renamed after the hui.")
    clock.now = None

    first_day = page(client, f"/commitments/{made}?as_of=2015-03-01")
    assert "Tuatahi: the first title" in first_day and "Tuarua" not in text_of(first_day)
    assert "as it stood at the end of 1 March 2015 (New Zealand time): version 2" in text_of(first_day)
    # The amendment was on 10 March in New Zealand, though still 9 March in UTC.
    ninth = text_of(page(client, f"/commitments/{made}?as_of=2015-03-09"))
    assert "Tuatahi: the first title" in ninth and "version 2." in ninth
    tenth = text_of(page(client, f"/commitments/{made}?as_of=2015-03-10"))
    assert "Tuarua: the second title" in tenth and "version 3." in tenth
    # The timeline shows what was recorded by then, and the page offers no forms.
    assert "Renamed after the hui." not in ninth and "Renamed after the hui." in tenth
    assert "private feed link" not in page(
        client, f"/commitments/{made}?as_of=2015-03-10", headers=callers.lead.headers
    )
    # Before it was recorded: not there yet.
    assert client.get(f"/commitments/{made}?as_of=2015-02-28").status_code == 404
    # Without as_of: as it is, with no notice.
    assert "as it stood" not in page(client, f"/commitments/{made}")
