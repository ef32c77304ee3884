"""The log in the transparency ecosystem's formats, over HTTP, on SQLite and PostgreSQL:
``/log/checkpoint`` is the latest checkpoint as a C2SP signed note under the configured
origin, signed with the key ``GET /audit/public-key`` publishes (as ``note_verifier_key``
too); ``/log/tile/...`` serves the stored leaves, Merkle nodes and documents as C2SP
tiles and entry bundles. The formats are written out here from the specs, not taken
from the code under test."""

from __future__ import annotations

import base64
import gzip
import hashlib
import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from application.demo import import_copies
from domain.values import ActorRole
from infrastructure.transparency import TransparencySettingsError
from interfaces.app import create_app
from tests.api.conftest import Callers, create_commitment, services_of

ORIGIN = "tutahi.example.govt.nz/log"


@pytest.fixture
def grown(api_store_url: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A service under the origin ``ORIGIN`` whose log has more than 256 entries."""
    app = create_app(
        {
            "DATABASE_URL": api_store_url,
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "LOG_ORIGIN": ORIGIN,
        }
    )
    import_copies(services_of(app).ledger, 5)
    assert services_of(app).ledger.log_size() > 256
    try:
        yield app, api_store_url
    finally:
        services_of(app).close()


def auditor_headers(app: Flask, **extra: str) -> dict[str, str]:
    """Entry bundles hold every event's document, partners-only ones' too: auditors only."""
    token = services_of(app).credentials.issue(ActorRole.AUDITOR, name="Auditor-General", now=datetime.now(UTC)).token
    return {"Authorization": f"Bearer {token}", **extra}


def stored(url: str, column: str) -> list[bytes]:
    """A column of the log, in position order, read straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT {column} FROM tutahi_event_log ORDER BY position"))
            return [bytes(row[0]) for row in rows]
    finally:
        engine.dispose()


def mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.1."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_the_checkpoint_note_is_the_latest_checkpoint_signed_with_the_published_key(
    grown: tuple[Flask, str],
) -> None:
    app, _ = grown
    client = app.test_client()
    response = client.get("/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    checkpoint = client.get("/api/v1/audit/checkpoint").get_json()
    key = client.get("/api/v1/audit/public-key").get_json()

    body = response.get_data(as_text=True)
    note_text, signatures = body.rsplit("\n\n", 1)
    origin, size, root = note_text.split("\n")
    assert origin == ORIGIN
    assert int(size) == checkpoint["tree_size"] == services_of(app).ledger.log_size()
    assert base64.b64decode(root).hex() == checkpoint["root_hash"]

    public = base64.b64decode(key["public_key"])
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public).digest()[:4]
    material = base64.b64encode(bytes([1]) + public).decode()
    assert key["note_verifier_key"] == f"{ORIGIN}+{key_id.hex()}+{material}"
    (line,) = signatures.splitlines()
    dash, name, encoded = line.split(" ")
    assert (dash, name) == ("—", ORIGIN)
    raw = base64.b64decode(encoded)
    assert raw[:4] == key_id
    Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], (note_text + "\n").encode())


def test_the_checkpoint_note_follows_the_log_as_it_grows(grown: tuple[Flask, str]) -> None:
    app, _ = grown
    client = app.test_client()
    first = client.get("/log/checkpoint").get_data(as_text=True)
    import_copies(services_of(app).ledger, 6)
    second = client.get("/log/checkpoint").get_data(as_text=True)
    assert int(second.split("\n")[1]) == services_of(app).ledger.log_size() > int(first.split("\n")[1])
    assert second == client.get("/log/checkpoint").get_data(as_text=True), "one checkpoint per size"


def test_the_origin_is_a_setting_and_a_bad_one_stops_the_service_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/origin.db"
    config = {"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")}
    default = create_app(config)
    try:
        assert default.test_client().get("/log/checkpoint").get_data(as_text=True).startswith("localhost/tutahi\n0\n")
    finally:
        services_of(default).close()
    monkeypatch.setenv("TUTAHI_LOG_ORIGIN", "tūtahi.example.org/log")
    named = create_app(config)
    try:
        client = named.test_client()
        assert client.get("/log/checkpoint").get_data(as_text=True).startswith("tūtahi.example.org/log\n0\n")
        assert (
            client.get("/api/v1/audit/public-key").get_json()["note_verifier_key"].startswith("tūtahi.example.org/log+")
        )
    finally:
        services_of(named).close()
    for bad in ("two words", "with+plus"):
        monkeypatch.setenv("TUTAHI_LOG_ORIGIN", bad)
        with pytest.raises(TransparencySettingsError):
            create_app(config)


def test_level_0_tiles_are_the_stored_leaves_and_immutable(grown: tuple[Flask, str]) -> None:
    app, url = grown
    client = app.test_client()
    leaves = stored(url, "leaf")
    full = client.get("/log/tile/0/000")
    assert full.status_code == 200
    assert full.headers["Content-Type"] == "application/octet-stream"
    assert "immutable" in full.headers["Cache-Control"] and "max-age=31536000" in full.headers["Cache-Control"]
    assert full.data == b"".join(leaves[:256])
    width = len(leaves) - 256
    partial = client.get(f"/log/tile/0/001.p/{width}")
    assert partial.status_code == 200 and partial.data == b"".join(leaves[256:])
    assert "immutable" in partial.headers["Cache-Control"]
    for missing in (f"/log/tile/0/001.p/{width + 1}", "/log/tile/0/001", "/log/tile/0/x000/000", "/log/tile/0/0"):
        response = client.get(missing)
        assert response.status_code == 404, missing
        assert response.headers["Content-Type"] == "application/problem+json"


def test_a_level_1_tile_holds_the_root_of_each_full_level_0_tile(grown: tuple[Flask, str]) -> None:
    app, url = grown
    client = app.test_client()
    leaves = stored(url, "leaf")
    level_1 = client.get("/log/tile/1/000.p/1")
    assert level_1.status_code == 200
    assert level_1.data == mth(leaves[:256])
    assert client.get("/log/tile/1/000.p/2").status_code == 404


def test_the_tiles_reproduce_the_signed_root(grown: tuple[Flask, str]) -> None:
    """What a tile client does: the leaves of every level-0 tile make the checkpoint's root."""
    app, _ = grown
    client = app.test_client()
    size = int(client.get("/log/checkpoint").get_data(as_text=True).split("\n")[1])
    leaves = b""
    for n in range(size // 256):
        leaves += client.get(f"/log/tile/0/{n:03d}").data
    if size % 256:
        leaves += client.get(f"/log/tile/0/{size // 256:03d}.p/{size % 256}").data
    hashes = [leaves[i : i + 32] for i in range(0, len(leaves), 32)]
    assert mth(hashes).hex() == client.get("/api/v1/audit/checkpoint").get_json()["root_hash"]


def test_entry_bundles_hold_the_stored_bytes_each_leaf_hashes(grown: tuple[Flask, str]) -> None:
    app, url = grown
    client = app.test_client()
    documents, leaves = stored(url, "document"), stored(url, "leaf")
    auditor = auditor_headers(app)
    response = client.get("/log/tile/entries/000", headers={**auditor, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store", "fetched with a token: kept by no cache"
    bundle = gzip.decompress(response.data)
    assert bundle == client.get("/log/tile/entries/000", headers=auditor).data, "the same bytes, plain when not asked"
    entries, at = [], 0
    while at < len(bundle):
        (length,) = struct.unpack(">H", bundle[at : at + 2])
        entries.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    assert entries == documents[:256]
    assert [hashlib.sha256(b"\x00" + entry).digest() for entry in entries] == leaves[:256]
    assert client.get(f"/log/tile/entries/001.p/{len(documents) - 256}", headers=auditor).status_code == 200
    assert client.get(f"/log/tile/entries/001.p/{len(documents) - 255}", headers=auditor).status_code == 404


def test_hash_tiles_are_public_and_entry_bundles_are_for_auditors_and_admins(app: Flask, callers: Callers) -> None:
    """Tiles reveal hashes only; a bundle reveals every event, partners-only ones too."""
    client = app.test_client()
    create_commitment(client, callers.lead, visibility="partners")
    assert client.get("/log/tile/0/000.p/1").status_code == 200
    expected = {
        None: 401,
        callers.lead: 403,
        callers.community: 403,
        callers.stranger: 403,
        callers.auditor: 200,
        callers.admin: 200,
    }
    for caller, status in expected.items():
        headers = caller.headers if caller is not None else {}
        response = client.get("/log/tile/entries/000.p/1", headers=headers)
        assert response.status_code == status, (caller, response.get_data(as_text=True))
        if status != 200:
            assert response.headers["Content-Type"] == "application/problem+json"
            assert b"Kia T" not in response.data
    assert client.get("/log/tile/entries/000.p/1").headers["WWW-Authenticate"].startswith("Bearer")


def test_a_change_too_long_for_an_entry_bundle_is_refused_and_records_nothing(
    app: Flask, callers: Callers, api_store_url: str
) -> None:
    """An entry bundle frames each entry with a 16-bit length, so the log records no event
    longer than 65,535 bytes: the longest description and reason the API accepts, in
    4-byte characters, make a longer amendment, which is refused with nothing recorded.
    Either text alone is recorded, and its bundle serves it."""
    client = app.test_client()
    commitment = create_commitment(client, callers.lead)
    long_text = "𝕂" * 10_000  # 40,000 bytes of UTF-8
    size = services_of(app).ledger.log_size()

    def amend(body: dict[str, str], version: int) -> Any:
        headers = {**callers.lead.headers, "If-Match": f'"{version}"'}
        return client.patch(f"/api/v1/commitments/{commitment['id']}", json=body, headers=headers)

    refused = amend({"description": long_text, "reason": long_text}, commitment["version"])
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["type"].endswith("event-too-large")
    assert services_of(app).ledger.log_size() == size, "nothing recorded"
    assert client.get(f"/api/v1/commitments/{commitment['id']}").get_json()["version"] == commitment["version"]

    accepted = amend({"description": long_text, "reason": "Kōrero with the partners"}, commitment["version"])
    assert accepted.status_code == 200, accepted.get_json()
    documents = stored(api_store_url, "document")
    assert len(documents) == size + 1 and 40_000 < len(documents[-1]) <= 65_535
    bundle = client.get(
        f"/log/tile/entries/{size // 256:03d}.p/{(size + 1) % 256}", headers=callers.auditor.headers
    ).data
    assert bundle.endswith(struct.pack(">H", len(documents[-1])) + documents[-1])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(
        st.text(alphabet=st.sampled_from("0123456789x/.pentris"), max_size=30),
        st.text(max_size=30).filter(lambda t: "\x00" not in t),
    )
)
def test_any_tile_path_is_a_tile_or_a_404_never_a_500(app: Flask, callers: Callers, path: str) -> None:
    client = app.test_client()
    for prefix, headers in (("/log/tile/", {}), ("/log/tile/entries/", callers.auditor.headers)):
        response = client.get(prefix + quote(path), headers=headers)
        # (308: the router's own redirect of a doubled slash to the single one)
        assert response.status_code in (200, 308, 404), (prefix + path, response.status_code)
        if response.status_code == 404:
            assert response.headers["Content-Type"] == "application/problem+json"
