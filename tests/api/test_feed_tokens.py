"""Security review, finding 3: a private feed link kept serving partners-only content
after the admin revoked the partner's token, and nobody could list or revoke feed links.

A feed token is bound to the credential that made it (a partner's bearer token, or the
token a web session was signed in with) and stops working with it; it may expire; admins
list and revoke every feed token, a partner its own, over the API and the command line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Uuid, create_engine

from application.credentials import FeedToken, FeedTokens, hash_token
from infrastructure.credentials import SqlFeedTokenStore
from interfaces.cli import main
from interfaces.composition import open_ledger
from tests.api.conftest import Caller, Callers, create_commitment, services_of
from tests.conftest import store_url_for

API = "/api/v1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PRIVATE = "Kōrero with Hui E! (partners only)"


def feed_tokens_of(app: Flask) -> FeedTokens:
    return FeedTokens(services_of(app).feed_tokens, services_of(app).credentials)


def private_commitment(client: FlaskClient, callers: Callers) -> str:
    commitment = create_commitment(client, callers.lead, title=PRIVATE, visibility="partners")
    added = client.post(
        f"{API}/commitments/{commitment['id']}/partners",
        json={"partner_id": str(callers.community.id), "role": "community"},
        headers=callers.lead.headers,
    )
    assert added.status_code == 201
    return str(commitment["id"])


def csrf_of(client: FlaskClient, path: str) -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def web_feed_token(client: FlaskClient, caller: Caller, commitment: str, days: str = "365") -> str:
    """The partner signs in and makes a private feed link on the commitment's page."""
    signed = client.post("/signin", data={"csrf_token": csrf_of(client, "/signin"), "token": caller.token, "next": "/"})
    assert signed.status_code == 303
    made = client.post(
        "/feeds",
        data={
            "csrf_token": csrf_of(client, f"/commitments/{commitment}"),
            "commitment_id": commitment,
            "expires_in_days": days,
        },
    )
    assert made.status_code == 200, made.get_data(as_text=True)[:300]
    match = re.search(r"feed\.atom\?token=([^\"]+)\"", made.get_data(as_text=True))
    assert match
    return unescape(match.group(1))


def api_feed_token(client: FlaskClient, caller: Caller, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/feed-tokens", json=body, headers=caller.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def feed_status(client: FlaskClient, commitment: str, token: str) -> int:
    return client.get(f"/commitments/{commitment}/feed.atom?token={token}").status_code


def credential_id(app: Flask, caller: Caller) -> UUID:
    credential = services_of(app).credentials.store.by_hash(hash_token(caller.token))
    assert credential is not None
    return credential.id


def test_a_feed_link_made_in_a_session_stops_when_the_partners_token_is_revoked(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    token = web_feed_token(app.test_client(), callers.community, commitment)
    reader = app.test_client()
    assert feed_status(reader, commitment, token) == 200
    assert reader.get(f"/commitments/{commitment}/milestones.ics?token={token}").status_code == 200

    revoked = client.delete(f"{API}/tokens/{credential_id(app, callers.community)}", headers=callers.admin.headers)

    assert revoked.status_code == 200
    assert feed_status(reader, commitment, token) == 404
    assert reader.get(f"/commitments/{commitment}/milestones.ics?token={token}").status_code == 404
    listed = client.get(f"{API}/feed-tokens", headers=callers.admin.headers).get_json()["items"]
    (row,) = [item for item in listed if item["partner_id"] == str(callers.community.id)]
    assert row["made_with"] == "session" and row["active"] is False and row["revoked_at"] is None
    assert row["credential_id"] == str(credential_id(app, callers.community))


def test_a_feed_token_made_with_a_token_stops_when_that_token_is_revoked(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    second = services_of(app).credentials.issue(
        callers.community.role, partner_id=callers.community.id, now=datetime.now(UTC)
    )
    other = Caller(second.token, callers.community.role, callers.community.id, callers.community.name)
    made = api_feed_token(client, callers.community)
    kept = api_feed_token(client, other)
    assert made["made_with"] == "token" and made["expires_at"] is None and made["token"].startswith("tutahi_feed_")

    client.delete(f"{API}/tokens/{credential_id(app, callers.community)}", headers=callers.admin.headers)

    assert feed_status(client, commitment, made["token"]) == 404
    assert feed_status(client, commitment, kept["token"]) == 200, "a feed token of the partner's other token lives"


def test_admins_list_every_feed_token_and_partners_their_own_never_the_secret(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    mine = api_feed_token(client, callers.community)
    theirs = api_feed_token(client, callers.lead, expires_in_days=30)

    def listed(caller: Caller) -> set[str]:
        response = client.get(f"{API}/feed-tokens", headers=caller.headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert mine["token"] not in body and theirs["token"] not in body
        assert all("token" not in item for item in response.get_json()["items"])
        return {item["id"] for item in response.get_json()["items"]}

    assert listed(callers.admin) >= {mine["id"], theirs["id"]}
    assert listed(callers.community) == {mine["id"]}
    assert listed(callers.lead) == {theirs["id"]}
    assert listed(callers.stranger) == set()
    assert client.get(f"{API}/feed-tokens", headers=callers.auditor.headers).status_code == 403
    assert client.get(f"{API}/feed-tokens").status_code == 401


def test_a_partner_revokes_its_own_feed_token_and_an_admin_any(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    first = api_feed_token(client, callers.community)
    second = api_feed_token(client, callers.community)

    refused = client.delete(f"{API}/feed-tokens/{first['id']}", headers=callers.lead.headers)
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert feed_status(client, commitment, first["token"]) == 200

    own = client.delete(f"{API}/feed-tokens/{first['id']}", headers=callers.community.headers)
    assert own.status_code == 200 and own.get_json()["active"] is False and own.get_json()["revoked_at"]
    assert feed_status(client, commitment, first["token"]) == 404
    assert client.delete(f"{API}/feed-tokens/{first['id']}", headers=callers.community.headers).status_code == 404

    by_admin = client.delete(f"{API}/feed-tokens/{second['id']}", headers=callers.admin.headers)
    assert by_admin.status_code == 200
    assert feed_status(client, commitment, second["token"]) == 404
    assert client.delete(f"{API}/feed-tokens/{uuid4()}", headers=callers.admin.headers).status_code == 404


def test_a_feed_token_may_expire(app: Flask, client: FlaskClient, callers: Callers) -> None:
    commitment = private_commitment(client, callers)
    made = api_feed_token(client, callers.community, expires_in_days=1)
    issued = datetime.fromisoformat(made["issued_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
    assert expires - issued == timedelta(days=1)
    assert feed_status(client, commitment, made["token"]) == 200

    feeds = feed_tokens_of(app)
    assert feeds.partner_of(made["token"], expires - timedelta(seconds=1)) == callers.community.id
    assert feeds.partner_of(made["token"], expires) is None

    for days in (0, -1, 3651, "soon"):
        response = client.post(f"{API}/feed-tokens", json={"expires_in_days": days}, headers=callers.community.headers)
        assert response.status_code == 422, days
    assert client.post(f"{API}/feed-tokens", json={}, headers=callers.auditor.headers).status_code == 403


def test_the_page_offers_a_lifetime_and_says_how_long_the_link_works(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    member = app.test_client()
    token = web_feed_token(member, callers.community, commitment, days="30")
    (feed,) = [f for f in feed_tokens_of(app).store.of_partner(callers.community.id) if f.expires_at]
    assert feed.expires_at is not None and feed.expires_at - feed.issued_at == timedelta(days=30)
    page = member.get(f"/partners/{callers.community.id}").get_data(as_text=True)
    assert "works until" in page
    assert feed_status(client, commitment, token) == 200
    refused = member.post(
        "/feeds",
        data={"csrf_token": csrf_of(member, f"/commitments/{commitment}"), "commitment_id": commitment,
              "expires_in_days": "7000"},
    )  # fmt: skip
    assert refused.status_code == 400


def test_feed_tokens_made_before_they_were_bound_live_while_their_partner_holds_a_live_token(
    app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    legacy = "tutahi_feed_" + "l" * 43
    feeds = feed_tokens_of(app)
    feeds.store.add(FeedToken(uuid4(), callers.community.id, hash_token(legacy), datetime.now(UTC), None))
    assert feed_status(client, commitment, legacy) == 200

    client.delete(f"{API}/tokens/{credential_id(app, callers.community)}", headers=callers.admin.headers)

    assert feed_status(client, commitment, legacy) == 404


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_feed_token_table_of_release_0_1_0_gains_the_new_columns(store: str, tmp_path: Path) -> None:
    url = store_url_for(store, tmp_path)
    old = Table(  # the table as release 0.1.0 made it
        "tutahi_feed_tokens",
        MetaData(),
        Column("id", Uuid, primary_key=True),
        Column("partner_id", Uuid, nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("issued_us", BigInteger, nullable=False),
        Column("revoked_us", BigInteger),
    )
    partner, token_id = uuid4(), uuid4()
    engine = create_engine(url)
    with engine.begin() as connection:
        old.create(connection)
        connection.execute(
            old.insert().values(id=token_id, partner_id=partner, token_hash="a" * 64, issued_us=1_700_000_000_000_000)
        )
    engine.dispose()
    ledger = open_ledger(url)
    try:
        store_of_today = SqlFeedTokenStore(ledger.recorder)
        SqlFeedTokenStore(ledger.recorder)  # a second start finds the columns there
        (kept,) = store_of_today.all()
        assert (kept.id, kept.partner_id, kept.credential_id, kept.made_with, kept.expires_at) == (
            token_id,
            partner,
            None,
            None,
            None,
        )
    finally:
        ledger.close()


def run(url: str, *args: str) -> Result:
    return CliRunner(env={"COLUMNS": "300"}).invoke(main, ["--database-url", url, *args], obj={})


@pytest.mark.parametrize("api_store_url", ["sqlite"], indirect=True)
def test_the_command_line_lists_and_revokes_feed_tokens(
    api_store_url: str, app: Flask, client: FlaskClient, callers: Callers
) -> None:
    commitment = private_commitment(client, callers)
    made = api_feed_token(client, callers.community, expires_in_days=90)
    other = api_feed_token(client, callers.lead)

    listed = run(api_store_url, "feeds", "list", "--json")
    assert listed.exit_code == 0, listed.output
    documents = json.loads(listed.stdout)
    assert {d["id"] for d in documents} == {made["id"], other["id"]}
    assert made["token"] not in listed.stdout
    only = json.loads(run(api_store_url, "feeds", "list", "--json", "--partner", str(callers.community.id)).stdout)
    assert [d["id"] for d in only] == [made["id"]]
    table = run(api_store_url, "feeds", "list")
    assert table.exit_code == 0 and "Hui E! Community Aotearoa" in table.stdout and made["id"] in table.stdout

    revoked = run(api_store_url, "feeds", "revoke", made["id"])
    assert revoked.exit_code == 0 and made["id"] in revoked.stdout
    assert feed_status(client, commitment, made["token"]) == 404
    again = run(api_store_url, "feeds", "revoke", made["id"])
    assert again.exit_code != 0 and again.stderr.strip().startswith("Error:")
    assert len(again.stderr.strip().splitlines()) == 1
    assert json.loads(run(api_store_url, "feeds", "list", "--json").stdout)[0]["active"] is False
