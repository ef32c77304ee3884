"""The log is the stored bytes (RL12, and the hashed format's promises).

``tests/fixtures/store-0.1.0`` is a store made by release 0.1.0 (``tutahi demo``, then
``tutahi demo --copies 3``, then every kind of event), with its instance folder, two
checkpoints an auditor saved, the public key, an export, and the golden leaf hashes and
roots 0.1.0 stored. Opened by this release it is upgraded once, in one transaction, and
everything an auditor holds from 0.1.0 stays valid: every leaf and root is what it was,
the old checkpoints verify and are extended by consistency proofs, the old export
verifies offline. The same holds on PostgreSQL, with the fixture's rows loaded there in
0.1.0's tables. And an upcaster installed on a live event class changes how the domain
reads an event, never its bytes or its leaf."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    create_engine,
    inspect,
    select,
)

from application.audit import Auditor
from application.demo import DIA, HUI_E, actor_of, commitment_id, partner_id
from application.ledger import Ledger
from application.logformat import document_bytes, read_event
from application.merkle import prefetched, verify_consistency
from application.offline import verify_export
from domain.commitment import Commitment
from domain.values import PartnerKind
from infrastructure.keys import verify_signature
from infrastructure.tables import metadata as current_metadata
from infrastructure.upgrade import UpgradeRefused
from interfaces.cli import main
from interfaces.composition import open_auditor, open_ledger
from tests.conftest import ADMIN, postgres_url, reset_postgres

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-0.1.0"
GOLDEN: dict[str, Any] = json.loads((FIXTURE / "golden.json").read_text(encoding="utf-8"))
OLD_TABLES = ("tutahi_log", "tutahi_events")


def read(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURE / name).read_text(encoding="utf-8"))
    return document


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 store and its instance folder (the key kept private, as the
    service requires of a key file)."""
    folder = tmp_path / "store-0.1.0"
    shutil.copytree(FIXTURE, folder)
    (folder / "instance" / "checkpoint-signing-key.pem").chmod(0o600)
    return folder


def opened(folder: Path, url: str | None = None, progress: Any = None) -> tuple[Ledger, Auditor]:
    ledger = open_ledger(url or f"sqlite:///{folder}/tutahi.db", progress=progress)
    return ledger, open_auditor(ledger, str(folder / "instance"))


def assert_golden(ledger: Ledger) -> None:
    """Every leaf and every golden root is what release 0.1.0 stored."""
    leaves = [entry.leaf.hex() for entry in ledger.event_log.documents(None, 10_000)][: GOLDEN["tree_size"]]
    assert leaves == GOLDEN["leaf_hashes"]
    for size, root in GOLDEN["roots"].items():
        assert prefetched(ledger.event_log, lambda tree, n=int(size): tree.root(n)).hex() == root, size


def record_more(ledger: Ledger) -> None:
    """New events of today's code on the upgraded store."""
    dia = actor_of(DIA)
    ledger.record_joint_action(
        commitment_id("NZ0004"),
        summary="Hui after the upgrade",
        occurred_on=date(2016, 5, 1),
        partner_ids=[partner_id(HUI_E)],
        actor=dia,
        request_id="after-upgrade-1",
    )
    ledger.register_partner(name="Rōpū hou", kind=PartnerKind.BUSINESS, actor=ADMIN, request_id="after-upgrade-2")


def test_a_010_store_is_upgraded_once_keeping_every_leaf_and_root(old_store: Path) -> None:
    reported: list[tuple[int, int]] = []
    ledger, _ = opened(old_store, progress=lambda done, total: reported.append((done, total)))
    try:
        assert reported and reported[-1] == (GOLDEN["tree_size"], GOLDEN["tree_size"])
        assert ledger.log_size() == GOLDEN["tree_size"]
        assert_golden(ledger)
    finally:
        ledger.close()
    tables = set(inspect(create_engine(f"sqlite:///{old_store}/tutahi.db")).get_table_names())
    assert not tables & set(OLD_TABLES), "the tables the log replaces are gone"

    reported.clear()
    again, _ = opened(old_store, progress=lambda done, total: reported.append((done, total)))
    try:
        assert reported == [], "a store is upgraded once"
        assert_golden(again)
    finally:
        again.close()


def test_every_010_document_reads_back_as_its_own_bytes(old_store: Path) -> None:
    """Each stored document decodes to a domain event that encodes to the same bytes:
    the format holds every event type of 0.1.0 exactly."""
    ledger, _ = opened(old_store)
    try:
        entries = ledger.event_log.documents(None, 10_000)
        types = {json.loads(entry.document)["type"] for entry in entries}
        for entry in entries:
            assert document_bytes(read_event(entry.document), entry.position) == entry.document, entry.position
    finally:
        ledger.close()
    assert len(types) == 13, types  # every event type 0.1.0 had


def test_checkpoints_saved_under_010_stay_valid_and_are_extended(old_store: Path) -> None:
    ledger, auditor = opened(old_store)
    try:
        for name in ("checkpoint-demo.json", "checkpoint.json"):
            verdict = auditor.verify(against=read(name))
            assert verdict.ok, (name, verdict)
        record_more(ledger)
        new = auditor.checkpoint()
        assert new.tree_size == GOLDEN["tree_size"] + 2
        for name in ("checkpoint-demo.json", "checkpoint.json"):
            old = read(name)
            proof = [bytes.fromhex(h) for h in auditor.consistency(old["tree_size"], new.tree_size)["proof"]]
            assert verify_consistency(
                old["tree_size"],
                new.tree_size,
                proof,
                bytes.fromhex(old["root_hash"]),
                bytes.fromhex(new.root_hash),
            ), name
            assert auditor.verify(against=old).ok
        assert_golden(ledger)
    finally:
        ledger.close()


def test_the_cli_upgrades_with_progress_and_verifies_against_the_old_checkpoint(old_store: Path) -> None:
    runner = CliRunner()
    common = ["--database-url", f"sqlite:///{old_store}/tutahi.db", "--instance-path", str(old_store / "instance")]

    result = runner.invoke(main, [*common, "audit", "verify", "--checkpoint", str(old_store / "checkpoint-demo.json")])

    assert result.exit_code == 0, result.output
    assert "upgrading the store" in result.output and "The store was upgraded" in result.output
    assert f"OK: all {GOLDEN['tree_size']} events verified" in result.output
    again = runner.invoke(main, [*common, "audit", "verify", "--checkpoint", str(old_store / "checkpoint.json")])
    assert again.exit_code == 0, again.output
    assert "upgrading" not in again.output


def test_an_export_made_by_010_still_verifies_offline_and_a_new_one_extends_it(old_store: Path) -> None:
    checkpoint, public_key = read("checkpoint.json"), read("public-key.json")
    with (old_store / "export.jsonl").open("rb") as lines:
        assert verify_export(lines, checkpoint, public_key, verify_signature).ok
    ledger, auditor = opened(old_store)
    try:
        record_more(ledger)
        new = auditor.checkpoint().document()
        lines = b"".join(auditor.export_chunks()).splitlines()
    finally:
        ledger.close()
    old_lines = (old_store / "export.jsonl").read_bytes().splitlines()
    assert [json.loads(line) for line in lines[: len(old_lines)]] == [json.loads(line) for line in old_lines]
    assert verify_export(lines, checkpoint, public_key, verify_signature).ok
    assert verify_export(lines, new, public_key, verify_signature).ok


def test_an_upcaster_installed_on_a_live_event_class_changes_no_byte_and_no_leaf(
    old_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later release gives milestones a priority: ``MilestoneAdded`` version 2, whose
    upcaster reads version 1 documents as priority "normal". The stored documents and
    their leaves stay as they were, verification passes, the roots are the golden ones,
    and the domain reads each old milestone with its new shape."""
    ledger, auditor = opened(old_store)
    try:
        before = [(entry.document, entry.leaf) for entry in ledger.event_log.documents(None, 10_000)]
        monkeypatch.setattr(Commitment.MilestoneAdded, "class_version", 2, raising=False)
        monkeypatch.setattr(
            Commitment.MilestoneAdded,
            "upcast_v1_v2",
            staticmethod(lambda data: data.setdefault("priority", "normal")),
            raising=False,
        )

        events = list(ledger.events.get(commitment_id("NZ0004")))
        added = [event for event in events if isinstance(event, Commitment.MilestoneAdded)]

        assert added and all(event.priority == "normal" for event in added)
        assert ledger.load_commitment(commitment_id("NZ0004")).milestones
        assert auditor.verify(against=read("checkpoint.json")).ok
        assert_golden(ledger)
        assert [(entry.document, entry.leaf) for entry in ledger.event_log.documents(None, 10_000)] == before
    finally:
        ledger.close()


def test_a_010_store_that_does_not_verify_is_not_upgraded_and_is_left_as_it_was(old_store: Path) -> None:
    """An upgrade would bury the evidence of an edit: it refuses, and changes nothing."""
    path = old_store / "tutahi.db"
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE tutahi_log SET leaf_hash = ? WHERE position = 100", ("00" * 32,))
    before = path.read_bytes()

    with pytest.raises(UpgradeRefused, match="position 100"):
        open_ledger(f"sqlite:///{path}")

    assert path.read_bytes() == before
    tables = set(inspect(create_engine(f"sqlite:///{path}")).get_table_names())
    assert set(OLD_TABLES) <= tables


# -- the same store on PostgreSQL ----------------------------------------------------------------

OLD = MetaData()
OLD_LOG = Table(
    "tutahi_log",
    OLD,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("notification_id", BigInteger, nullable=False, unique=True),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_type", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
)
OLD_NODES = Table(
    "tutahi_merkle_nodes",
    OLD,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)


def old_events(originator_id: Any) -> Table:
    """0.1.0's event store table: SQLite kept aggregate ids as 16 bytes, PostgreSQL as uuid."""
    return Table(
        "tutahi_events",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("originator_id", originator_id, nullable=False),
        Column("originator_version", Integer, nullable=False),
        Column("topic", Text, nullable=False),
        Column("state", LargeBinary, nullable=False),
    )


@pytest.fixture
def postgres_010(old_store: Path) -> Iterator[str]:
    """The fixture's rows in 0.1.0's tables on the PostgreSQL test database."""
    url = postgres_url()
    reset_postgres(url)
    source = create_engine(f"sqlite:///{old_store}/tutahi.db")
    target = create_engine(url)
    carried = [t for t in current_metadata.sorted_tables if t.name.startswith("rm_") or t.name == "tutahi_checkpoints"]
    try:
        with source.connect() as reading, target.begin() as writing:
            OLD.create_all(writing)
            pg_events = old_events(Uuid)
            pg_events.create(writing)
            current_metadata.create_all(writing, tables=carried)
            rows = [dict(r._mapping) for r in reading.execute(select(old_events(LargeBinary)))]
            for row in rows:
                row["originator_id"] = UUID(bytes=bytes(row["originator_id"]))
            writing.execute(pg_events.insert(), rows)
            for table in (OLD_LOG, OLD_NODES, *carried):
                found = [dict(r._mapping) for r in reading.execute(select(table))]
                if found:
                    writing.execute(table.insert(), found)
        yield url
    finally:
        source.dispose()
        target.dispose()
        reset_postgres(url)


@pytest.mark.postgres
def test_a_010_store_on_postgresql_is_upgraded_keeping_its_proofs(old_store: Path, postgres_010: str) -> None:
    ledger, auditor = opened(old_store, postgres_010)
    try:
        assert_golden(ledger)
        assert auditor.verify(against=read("checkpoint-demo.json")).ok
        record_more(ledger)
        new = auditor.checkpoint()
        old = read("checkpoint.json")
        proof = [bytes.fromhex(h) for h in auditor.consistency(old["tree_size"], new.tree_size)["proof"]]
        assert verify_consistency(
            old["tree_size"], new.tree_size, proof, bytes.fromhex(old["root_hash"]), bytes.fromhex(new.root_hash)
        )
        assert auditor.verify(against=old).ok
        assert ledger.rebuild_read_models() == new.tree_size
    finally:
        ledger.close()
    assert not set(inspect(create_engine(postgres_010)).get_table_names()) & set(OLD_TABLES)
