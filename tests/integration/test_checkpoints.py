"""Signed checkpoints: an auditor's old checkpoint is provably extended by every later
log (RFC 9162 consistency proofs), and stops being so the moment anything it covered
is rewritten, even by an operator who recomputes every hash; checkpoints are made
once per size and listed newest first; their signatures verify over docs/api.md's message
with the published key; the key is made once, in the instance folder, private."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import create_engine, func, select

from application.audit import Auditor, Checkpoint
from application.demo import load_demo
from application.ledger import Ledger
from application.merkle import prefetched, verify_consistency, verify_inclusion
from application.offline import verify_export
from infrastructure.keys import KEY_FILE, key_id_of, load_or_create_signer, raw_public_key, verify_signature
from infrastructure.tables import checkpoints as checkpoints_table
from interfaces.app import create_app
from interfaces.composition import open_auditor, open_ledger
from tests.audit_store import append_events, demo_size, log_rows, rewrite_history
from tests.conftest import store_url_for

REPO = Path(__file__).resolve().parents[2]
# The one signing key the repository holds: release 0.1.0's store fixture's own test key
# (``tests/fixtures/store-0.1.0``), committed so that its checkpoints can be re-made.
FIXTURE_KEYS = {f"tests/fixtures/store-0.1.0/instance/{KEY_FILE}"}


@pytest.fixture(params=("sqlite", "postgres"))
def file_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file or PostgreSQL store (SQL edits need a store other connections see)."""
    return store_url_for(request.param, tmp_path)


@pytest.fixture
def audited(file_store_url: str, tmp_path: Path) -> Iterator[tuple[Ledger, Auditor]]:
    ledger = open_ledger(file_store_url)
    try:
        yield ledger, open_auditor(ledger, str(tmp_path / "instance"))
    finally:
        ledger.close()


def consistent(auditor: Auditor, old: Checkpoint, new: Checkpoint) -> bool:
    """What an auditor holding ``old`` checks, trusting nothing but the two signed roots."""
    proof = auditor.consistency(old.tree_size, new.tree_size)["proof"]
    return verify_consistency(
        old.tree_size,
        new.tree_size,
        [bytes.fromhex(h) for h in proof],
        bytes.fromhex(old.root_hash),
        bytes.fromhex(new.root_hash),
    )


def signed_message(checkpoint: dict[str, Any]) -> bytes:
    """docs/api.md, written out here rather than taken from the code under test."""
    return (
        f"tutahi-checkpoint\n{checkpoint['tree_size']}\n{checkpoint['root_hash']}\n{checkpoint['issued_at']}\n"
    ).encode()


def signature_verifies(public_key: dict[str, Any], checkpoint: dict[str, Any], message: bytes | None = None) -> bool:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key["public_key"]))
    try:
        key.verify(
            base64.b64decode(checkpoint["signature"]), signed_message(checkpoint) if message is None else message
        )
    except InvalidSignature:
        return False
    return True


# -- consistency: old checkpoints stay provable as the log grows ---------------------------


def test_every_older_checkpoint_is_consistent_with_every_later_one(
    audited: tuple[Ledger, Auditor], file_store_url: str
) -> None:
    ledger, auditor = audited
    held = [auditor.checkpoint()]  # the empty log
    load_demo(ledger)
    held.append(auditor.checkpoint())
    for count in (1, 2, 5, 8):
        append_events(ledger, count)
        held.append(auditor.checkpoint())

    demo = demo_size()
    assert [c.tree_size for c in held] == [0, demo, demo + 1, demo + 3, demo + 8, demo + 16]
    for i, old in enumerate(held):
        for new in held[i + 1 :]:
            assert consistent(auditor, old, new), (old.tree_size, new.tree_size)
        assert consistent(auditor, old, old)
    latest = held[-1]
    engine = create_engine(file_store_url)
    try:
        rows = log_rows(engine)
    finally:
        engine.dispose()
    assert len(rows) == latest.tree_size
    for position, leaf in rows:
        path = [bytes.fromhex(h) for h in auditor.inclusion(position, latest.tree_size)["audit_path"]]
        assert verify_inclusion(bytes(leaf), position, latest.tree_size, path, bytes.fromhex(latest.root_hash))


def test_a_proof_between_unrelated_roots_does_not_verify(audited: tuple[Ledger, Auditor]) -> None:
    """The check above can fail: a consistency proof ties the two roots it was made for."""
    ledger, auditor = audited
    load_demo(ledger)
    old = auditor.checkpoint()
    append_events(ledger, 3)
    new = auditor.checkpoint()
    proof = [bytes.fromhex(h) for h in auditor.consistency(old.tree_size, new.tree_size)["proof"]]
    old_root, new_root = bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash)
    other_root = prefetched(ledger.event_log, lambda tree: tree.root(old.tree_size - 1))

    assert verify_consistency(old.tree_size, new.tree_size, proof, old_root, new_root)
    assert not verify_consistency(old.tree_size, new.tree_size, proof, other_root, new_root)
    assert not verify_consistency(old.tree_size, new.tree_size, proof, old_root, other_root)
    assert not verify_consistency(old.tree_size, new.tree_size, proof[:-1], old_root, new_root)


# -- and stop being provable once anything they covered is changed ---------------------------


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_an_edited_event_before_an_old_checkpoint_fails_verification_against_it(
    audited: tuple[Ledger, Auditor], file_store_url: str, where: str
) -> None:
    """An edit that leaves the stored hashes alone: verification stops at the event."""
    ledger, auditor = audited
    load_demo(ledger)
    old = auditor.checkpoint()
    append_events(ledger, 4)
    engine = create_engine(file_store_url)
    position = {"first": 0, "middle": old.tree_size // 2, "last": old.tree_size - 1}[where]
    try:
        rewrite_history(engine, position, recompute=False)
    finally:
        engine.dispose()

    verdict = auditor.verify(against=old.document())

    assert not verdict.ok
    assert verdict.first_bad_position == position


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_rewritten_history_is_caught_by_an_old_checkpoint_even_with_every_hash_recomputed(
    audited: tuple[Ledger, Auditor], file_store_url: str, tmp_path: Path, where: str
) -> None:
    """The operator edits an event before the auditor's checkpoint, recomputes every
    leaf and tree node, drops the checkpoints it signed and signs a new one. The store
    now agrees with itself, so only the old checkpoint can tell, and it does: the
    service's consistency proof no longer links the old root to the new one, the
    service's verification against it fails, and so does the offline check of a new
    export (which can only say the root differs: every line matches its own leaf)."""
    ledger, auditor = audited
    load_demo(ledger)
    old = auditor.checkpoint()
    public_key = auditor.public_key()
    append_events(ledger, 4)
    before_rewrite = auditor.checkpoint()
    assert consistent(auditor, old, before_rewrite)
    engine = create_engine(file_store_url)
    position = {"first": 0, "middle": old.tree_size // 2, "last": old.tree_size - 1}[where]
    try:
        rewrite_history(engine, position)
    finally:
        engine.dispose()

    rewritten = auditor.checkpoint()  # signed afresh by the (dishonest) service
    assert rewritten.tree_size == before_rewrite.tree_size
    assert rewritten.root_hash != before_rewrite.root_hash
    assert auditor.verify().ok, "the rewrite is consistent with itself: only an outside checkpoint can tell"
    assert not consistent(auditor, old, rewritten)
    against_old = auditor.verify(against=old.document())
    assert not against_old.ok
    assert f"checkpoint at size {old.tree_size}" in against_old.detail

    lines = b"".join(auditor.export_chunks()).splitlines()
    offline = verify_export(lines, old.document(), public_key, verify_signature)
    assert not offline.ok
    assert offline.first_bad_position is None and "root" in offline.detail
    assert verify_export(lines, rewritten.document(), public_key, verify_signature).ok


# -- stored once per size, newest first --------------------------------------------------------


def test_a_checkpoint_is_made_once_per_size_and_the_history_is_newest_first(
    audited: tuple[Ledger, Auditor], file_store_url: str, tmp_path: Path
) -> None:
    ledger, auditor = audited
    load_demo(ledger)
    first = auditor.checkpoint()
    again = auditor.checkpoint()
    other_ledger = open_ledger(file_store_url)
    try:
        from_another_service = open_auditor(other_ledger, str(tmp_path / "instance")).checkpoint()
    finally:
        other_ledger.close()
    sizes = [first.tree_size]
    for count in (1, 3):
        append_events(ledger, count)
        sizes.append(auditor.checkpoint().tree_size)
        auditor.checkpoint()

    assert again == first and from_another_service == first, "the same size gives the stored checkpoint"
    engine = create_engine(file_store_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(checkpoints_table)).scalar()
    finally:
        engine.dispose()
    assert stored == len(sizes) == 3
    history = auditor.checkpoints.history(10, None)
    demo = demo_size()
    assert [c.tree_size for c in history] == sorted(sizes, reverse=True) == [demo + 4, demo + 1, demo]
    assert history[-1] == first
    assert [c.tree_size for c in auditor.checkpoints.history(1, None)] == [demo + 4]
    assert [c.tree_size for c in auditor.checkpoints.history(10, demo + 4)] == [demo + 1, demo]


def test_signatures_verify_over_the_message_api_md_defines(audited: tuple[Ledger, Auditor]) -> None:
    ledger, auditor = audited
    load_demo(ledger)
    public_key = auditor.public_key()
    made = [auditor.checkpoint().document()]
    append_events(ledger, 2)
    made.append(auditor.checkpoint().document())

    assert public_key["algorithm"] == "ed25519"
    assert len(base64.b64decode(public_key["public_key"])) == 32
    for checkpoint in made:
        assert checkpoint["key_id"] == public_key["key_id"]
        assert checkpoint["issued_at"].endswith("Z")
        assert signature_verifies(public_key, checkpoint)
        for field, value in (("tree_size", checkpoint["tree_size"] + 1), ("root_hash", "00" * 32)):
            assert not signature_verifies(public_key, checkpoint, signed_message({**checkpoint, field: value}))
        assert not verify_signature(public_key["public_key"], signed_message(checkpoint)[:-1], checkpoint["signature"])


def test_verification_refuses_a_checkpoint_with_a_forged_signature(audited: tuple[Ledger, Auditor]) -> None:
    ledger, auditor = audited
    load_demo(ledger)
    held = auditor.checkpoint().document()
    forged = {**held, "root_hash": "ab" * 32}

    verdict = auditor.verify(against=forged)

    assert auditor.verify(against=held).ok
    assert not verdict.ok and "not validly signed" in verdict.detail


# -- the signing key ------------------------------------------------------------------------------


KEY_ID_SCRIPT = (
    "import sys; from infrastructure.keys import load_or_create_signer; "
    "print(load_or_create_signer(sys.argv[1]).key_id)"
)


def key_id_in_a_new_process(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", KEY_ID_SCRIPT, str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )


def test_the_key_is_made_at_first_start_in_the_instance_folder_private_and_reused(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    url = f"sqlite:///{tmp_path}/keys.db"
    assert not instance.exists()

    first_app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(instance)})
    try:
        first = first_app.test_client().get("/api/v1/audit/public-key").get_json()
    finally:
        first_app.extensions["tutahi"].close()
    key_file = instance / KEY_FILE
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p.name for p in instance.iterdir() if p.name.startswith(".")], "no temporary files left behind"
    written = key_file.read_bytes()

    second_app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": str(instance)})
    try:
        second = second_app.test_client().get("/api/v1/audit/public-key").get_json()
    finally:
        second_app.extensions["tutahi"].close()
    process = key_id_in_a_new_process(instance)
    out, _ = process.communicate(timeout=60)

    assert second == first
    assert out.strip() == first["key_id"], "another process reads the same key"
    assert key_file.read_bytes() == written, "and never makes a new one"


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    processes = [key_id_in_a_new_process(instance) for _ in range(4)]
    key_ids = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert len(key_ids) == 1 and "" not in key_ids
    assert [p.name for p in instance.iterdir()] == [KEY_FILE], "one key file, no temporary files left behind"
    assert load_or_create_signer(instance).key_id in key_ids


def test_the_default_instance_folder_is_the_current_folder_and_the_key_never_enters_the_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUTAHI_INSTANCE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    load_or_create_signer()
    assert (tmp_path / "instance" / KEY_FILE).is_file()

    monkeypatch.setenv("TUTAHI_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    load_or_create_signer()
    assert (tmp_path / "elsewhere" / KEY_FILE).is_file()

    try:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"instance/{KEY_FILE}"], cwd=REPO, capture_output=True, check=False
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    names = [name for name in tracked.decode().split("\0") if name]
    keys = [name for name in names if name.endswith((".pem", KEY_FILE))]
    assert set(keys) <= FIXTURE_KEYS, "no signing key is tracked but the test fixture's own"
    for name in names:
        path = REPO / name
        if name not in FIXTURE_KEYS and path.is_file() and path.stat().st_size < 1_000_000:
            assert b"BEGIN " + b"PRIVATE KEY" not in path.read_bytes(), f"{name} holds a private key"
    for name in keys:
        # The fixture's key is a test key: the one whose public key the fixture publishes,
        # so that no key of a real instance could pass for it.
        published = json.loads((REPO / name).parents[1].joinpath("public-key.json").read_text(encoding="utf-8"))
        key = serialization.load_pem_private_key((REPO / name).read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey), name
        assert key_id_of(raw_public_key(key.public_key())) == published["key_id"], name
    assert ignored.returncode == 0, "the default instance folder is ignored by git"
