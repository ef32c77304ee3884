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
    CHAR,
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
from sqlalchemy.engine import Engine

from application.audit import Auditor
from application.core import CLIENT_REQUEST_ID
from application.demo import DIA, HUI_E, PLAN, TPK, actor_of, commitment_id, partner_id
from application.errors import NotFound
from application.ledger import Ledger
from application.logformat import canonical, document_bytes, leaf_hash, read_event
from application.merkle import prefetched, verify_consistency
from application.offline import verify_export
from domain.commitment import Commitment
from domain.errors import AlreadyResponded, CommitmentWithdrawn
from domain.values import Actor, ActorRole, Completion, PartnerKind, PartnerRole, PlanStatus, Response
from infrastructure.keys import verify_signature
from infrastructure.upgrade import UpgradeRefused
from interfaces.cli import main
from interfaces.composition import open_auditor, open_ledger
from tests.conftest import ADMIN, AUDITOR, make_world, postgres_url, record_legacy_action, reset_postgres

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


# The event classes changed since release 0.1.0, each now at class version 2, and what
# their upcasters make of the ``data`` of a document written before: the new field, unknown.
CHANGED_SINCE_010 = {
    "PartnerJoined": {"joined_on": None},
    "ProgressReported": {"as_of": None},
    "PartnerRenamed": {"reason": None},
}


def test_every_010_document_reads_back_as_its_own_bytes(old_store: Path) -> None:
    """Each stored document decodes to a domain event that encodes to the same bytes:
    the format holds every event type of 0.1.0 exactly. A document of a class changed
    since (``CHANGED_SINCE_010``) reads upcast, as that class's document of today would
    be (its class version, the new field unknown), which in turn reads back as its own
    bytes; the stored document itself is never rewritten."""
    ledger, _ = opened(old_store)
    try:
        entries = ledger.event_log.documents(None, 10_000)
        types = {json.loads(entry.document)["type"] for entry in entries}
        for entry in entries:
            stored = json.loads(entry.document)
            again = document_bytes(read_event(entry.document), entry.position)
            if stored["type"] in CHANGED_SINCE_010:
                assert "class_version" not in stored, entry.position
                upcast = {**stored["data"], **CHANGED_SINCE_010[stored["type"]]}
                assert again == canonical({**stored, "class_version": 2, "data": upcast}), entry.position
                assert document_bytes(read_event(again), entry.position) == again, entry.position
            else:
                assert again == entry.document, entry.position
        assert [leaf_hash(entry.document).hex() for entry in entries] == GOLDEN["leaf_hashes"]
    finally:
        ledger.close()
    assert len(types) == 13, types  # every event type 0.1.0 had
    assert set(CHANGED_SINCE_010) <= types


def legacy_actions() -> dict[str, dict[str, Any]]:
    """The joint actions release 0.1.0 recorded in its commitments' own streams, as its
    export says: each with its commitment, its recording event and its responses."""
    found: dict[str, dict[str, Any]] = {}
    for line in (FIXTURE / "export.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["type"] == "JointActionRecorded":
            found[event["data"]["action_id"]] = {
                "commitment": event["aggregate_id"],
                "recorded": event,
                "responses": [],
            }
        elif event["type"] in ("JointActionConfirmed", "JointActionDisputed"):
            found[event["data"]["action_id"]]["responses"].append(event)
    return found


def expected_action(action_id: str, legacy: dict[str, Any]) -> dict[str, Any]:
    """The document of a 0.1.0 joint action, written out from its events."""
    data = legacy["recorded"]["data"]
    return {
        "id": action_id,
        "commitment_id": legacy["commitment"],
        "summary": data["summary"],
        "occurred_on": data["occurred_on"],
        "recorded_by": legacy["recorded"]["actor"]["id"],
        "partner_ids": data["partner_ids"],
        "evidence_url": data["evidence_url"],
        "responses": [
            {
                "partner_id": response["actor"]["id"],
                "response": "confirmed" if response["type"] == "JointActionConfirmed" else "disputed",
                "note": response["data"]["note"],
                "responded_at": response["recorded_at"],
            }
            for response in legacy["responses"]
        ],
        "status": "recorded",
        "withdrawal_reason": None,
        "version": 1 + len(legacy["responses"]),
    }


def stored_010(ledger: Ledger) -> list[tuple[bytes, bytes]]:
    """The stored bytes and leaf of every event 0.1.0 wrote."""
    entries = ledger.event_log.documents(None, GOLDEN["tree_size"])
    assert len(entries) == GOLDEN["tree_size"]
    return [(entry.document, entry.leaf) for entry in entries]


def check_legacy_actions(ledger: Ledger, auditor: Auditor) -> None:
    """0.1.0's joint actions, after the upgrade: each shows in its commitment's document
    and by its id, as its events say; their rules still hold; a partner named in one
    responds to it, and its recorder withdraws one, each by a new event of the
    commitment's own stream; and no byte or leaf of what 0.1.0 wrote changes."""
    before = stored_010(ledger)
    legacy = legacy_actions()
    assert len(legacy) == 13
    for action_id, action in legacy.items():
        cid = UUID(action["commitment"])
        shown = {a["id"]: a for a in ledger.get_commitment(cid, AUDITOR)["actions"]}
        assert shown[action_id] == expected_action(action_id, action)
        assert ledger.get_action(cid, UUID(action_id), AUDITOR) == shown[action_id]
        elsewhere = commitment_id("NZ0002" if cid == commitment_id("NZ0001") else "NZ0001")
        with pytest.raises(NotFound):  # fetched by id through its own commitment only
            ledger.get_action(elsewhere, UUID(action_id), AUDITOR)
    accord = commitment_id("NZ0004")
    [(hui_id, hui)] = [(i, a) for i, a in legacy.items() if a["commitment"] == str(accord)]
    assert set(hui["recorded"]["data"]["partner_ids"]) == {str(partner_id(HUI_E)), str(partner_id(TPK))}
    assert ledger.get_commitment(accord)["actions"][0]["id"] == hui_id

    # Its rules, as 0.1.0 had them: every named partner of the demo's actions has
    # answered, once; the fixture's withdrawn commitment takes no answer.
    size = ledger.log_size()
    with pytest.raises(AlreadyResponded):
        ledger.respond_to_action(
            accord, UUID(hui_id), response=Response.DISPUTED, actor=actor_of(TPK), request_id="again"
        )
    [(withdrawn_id, withdrawn)] = [(i, a) for i, a in legacy.items() if a["recorded"]["request_id"] == "fx-7"]
    [left] = set(withdrawn["recorded"]["data"]["partner_ids"]) - {str(partner_id(HUI_E))}
    with pytest.raises(CommitmentWithdrawn):
        ledger.respond_to_action(
            UUID(withdrawn["commitment"]),
            UUID(withdrawn_id),
            response=Response.CONFIRMED,
            actor=Actor(ActorRole.COMMUNITY, UUID(left), "Te Rūnanga o Ngāti Fixture"),
            request_id="late",
        )
    assert ledger.log_size() == size

    # A partner named in a joint action of the commitment's stream answers it (one
    # recorded in that stream as 0.1.0 did: in the fixture, no named partner is left
    # to answer); its answer is the commitment's next event, and moves the action's version.
    version = ledger.current_version(accord)
    legacy_id = record_legacy_action(
        ledger,
        accord,
        summary="Wānanga on the accord, recorded as release 0.1.0 did",
        occurred_on=date(2016, 3, 1),
        partner_ids=[partner_id(TPK), partner_id(HUI_E)],
        actor=actor_of(DIA),
    )
    answered = ledger.respond_to_action(
        accord,
        legacy_id,
        response=Response.CONFIRMED,
        note="Kua tautoko",
        actor=actor_of(TPK),
        request_id="legacy-answer",
        expected_version=1,
    )
    assert (answered.aggregate_id, answered.version) == (accord, version + 2)
    assert answered.action(legacy_id)["version"] == 2
    history = ledger.commitment_history(accord)
    assert [(e["type"], e["aggregate_type"], e["version"]) for e in history[-2:]] == [
        ("JointActionRecorded", "commitment", version + 1),
        ("JointActionConfirmed", "commitment", version + 2),
    ]
    assert history[-1]["data"] == {"action_id": str(legacy_id), "note": "Kua tautoko"}
    assert history[-1]["position"] == answered.position == ledger.log_size() - 1
    shown = ledger.get_action(accord, legacy_id)
    assert [(r["partner_id"], r["response"], r["note"]) for r in shown["responses"]] == [
        (str(partner_id(TPK)), "confirmed", "Kua tautoko")
    ]
    assert shown["version"] == 2
    newest = ledger.timeline(accord).items[0]
    assert (newest.kind, newest.aggregate_id, newest.version) == ("joint_action_confirmed", accord, version + 2)
    assert newest.summary == (
        "Te Puni Kōkiri confirmed the joint action “Wānanga on the accord, recorded as release 0.1.0 did”."
        " Note: Kua tautoko"
    )

    # Its recorder withdraws the demo's own 0.1.0 action: the same stream again.
    withdrawn_now = ledger.withdraw_action(
        accord,
        UUID(hui_id),
        reason="Recorded twice",
        actor=actor_of(DIA),
        request_id="legacy-withdraw",
        expected_version=3,
    )
    assert (withdrawn_now.aggregate_id, withdrawn_now.version) == (accord, version + 3)
    assert ledger.commitment_history(accord)[-1]["type"] == "JointActionWithdrawn"
    after = ledger.get_action(accord, UUID(hui_id))
    assert (after["status"], after["withdrawal_reason"], after["version"]) == ("withdrawn", "Recorded twice", 4)
    assert after["responses"] == expected_action(hui_id, hui)["responses"]

    # What 0.1.0 wrote is as it was, and every new document reads back as its own bytes.
    assert stored_010(ledger) == before
    assert_golden(ledger)
    assert auditor.verify(against=read("checkpoint.json")).ok
    for entry in ledger.event_log.documents(GOLDEN["tree_size"] - 1, 100):
        assert document_bytes(read_event(entry.document), entry.position) == entry.document
    live = ledger.read_models.dump_read_models()
    assert ledger.rebuild_read_models() == ledger.log_size()
    assert ledger.read_models.dump_read_models() == live


def test_the_joint_actions_of_a_010_store_still_show_and_take_responses(old_store: Path) -> None:
    ledger, auditor = opened(old_store)
    try:
        check_legacy_actions(ledger, auditor)
    finally:
        ledger.close()


def test_todays_documents_say_their_class_version_and_keep_the_clients_request_id(ledger: Ledger) -> None:
    """A document of a class changed since 0.1.0 says its class version (and has the new
    field); one of an unchanged class does not. A request id the client sent is kept
    beside the service's own, in the document its leaf covers, only when it sent one.
    Every such document reads back as its own bytes."""
    world = make_world(ledger)
    cid = ledger.create_commitment(
        title="Kia Tūtahi",
        description="",
        action_plan="New Zealand National Action Plan 2014–16",
        external_ref="NZ0004",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[],
        actor=world.dia,
        request_id="service-1",
    ).aggregate_id
    token = CLIENT_REQUEST_ID.set("client's own id ā")
    try:
        ledger.add_partner(
            cid,
            partner_id=world.hui_e.id,
            role=PartnerRole.COMMUNITY,
            joined_on=date(2014, 8, 1),
            actor=world.dia,
            request_id="service-2",
        )
        ledger.report_progress(
            cid,
            completion=Completion.LIMITED,
            note="",
            as_of=date(2015, 6, 30),
            actor=world.dia,
            request_id="service-3",
        )
    finally:
        CLIENT_REQUEST_ID.reset(token)
    ledger.rename_partner(world.tinz.id, name="TI New Zealand", reason="Shorter", actor=ADMIN, request_id="service-4")

    entries = ledger.event_log.documents(None, 10_000)
    documents = [json.loads(entry.document) for entry in entries]
    mine = [d for d in documents if d["aggregate_id"] in (str(cid), str(world.tinz.id))]
    assert [(d["type"], d.get("class_version"), d["request_id"], d.get("client_request_id")) for d in mine] == [
        ("PartnerRegistered", None, mine[0]["request_id"], None),
        ("CommitmentCreated", None, "service-1", None),
        ("PartnerJoined", 2, "service-1", None),
        ("PartnerJoined", 2, "service-2", "client's own id ā"),
        ("ProgressReported", 2, "service-3", "client's own id ā"),
        ("PartnerRenamed", 2, "service-4", None),
    ]
    assert [mine[2]["data"]["joined_on"], mine[3]["data"]["joined_on"]] == ["2014-07-01", "2014-08-01"]
    assert mine[4]["data"]["as_of"] == "2015-06-30" and mine[5]["data"]["reason"] == "Shorter"
    for entry in entries:
        assert leaf_hash(entry.document) == entry.leaf
        assert document_bytes(read_event(entry.document), entry.position) == entry.document
    assert ledger.commitment_history(cid)[2]["client_request_id"] == "client's own id ā"
    assert "client_request_id" not in ledger.commitment_history(cid)[1]


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


def tables_010(source: Engine) -> list[Table]:
    """0.1.0's read models and checkpoints, as its SQLite file holds them (today's
    tables differ: an upgrade finds the old ones and rebuilds them from the log), with
    ids typed as uuid, as 0.1.0 made them on PostgreSQL."""
    reflected = MetaData()
    reflected.reflect(source, only=lambda name, _: name.startswith("rm_") or name == "tutahi_checkpoints")
    for table in reflected.tables.values():
        for column in table.columns:
            if isinstance(column.type, CHAR) and column.type.length == 32:
                column.type = Uuid()
    tables = reflected.sorted_tables
    assert {"rm_timeline", "rm_memberships", "tutahi_checkpoints"} <= {t.name for t in tables}
    return tables


@pytest.fixture
def postgres_010(old_store: Path) -> Iterator[str]:
    """The fixture's rows in 0.1.0's tables on the PostgreSQL test database."""
    url = postgres_url()
    reset_postgres(url)
    source = create_engine(f"sqlite:///{old_store}/tutahi.db")
    target = create_engine(url)
    try:
        carried = tables_010(source)
        with source.connect() as reading, target.begin() as writing:
            OLD.create_all(writing)
            pg_events = old_events(Uuid)
            pg_events.create(writing)
            for table in carried:
                table.create(writing)
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


@pytest.mark.postgres
def test_the_joint_actions_of_a_010_store_on_postgresql_still_show_and_take_responses(
    old_store: Path, postgres_010: str
) -> None:
    ledger, auditor = opened(old_store, postgres_010)
    try:
        check_legacy_actions(ledger, auditor)
    finally:
        ledger.close()


def test_a_010_store_gains_its_plan_as_a_record_and_still_verifies(old_store: Path) -> None:
    """A 0.1.0 store has commitments naming their plan and no plan record: the home page
    lists them under that name as before; once an admin records the plan, they belong to
    it (nothing of 0.1.0's is rewritten) and the log, plan events included, verifies
    against 0.1.0's own checkpoint."""
    ledger, auditor = opened(old_store)
    try:
        names = {s.action_plan for s in ledger.list_commitments(AUDITOR, limit=100).items}
        assert PLAN in names and ledger.plan_rows() == [] and ledger.plan_of(PLAN) is None
        plan = ledger.create_plan(
            name=PLAN, starts_on=date(2014, 7, 1), ends_on=date(2016, 6, 30), actor=ADMIN, request_id="after-upgrade"
        )
        ledger.amend_plan(
            plan.aggregate_id,
            changes={"status": PlanStatus.ENDED},
            reason="Its period ended.",
            occurred_on=date(2016, 6, 30),
            actor=ADMIN,
            request_id="after-upgrade-2",
        )
        rolled = ledger.get_plan(plan.aggregate_id, AUDITOR)
        assert rolled["commitments"] == sum(
            1 for s in ledger.list_commitments(AUDITOR, action_plan=PLAN, limit=100).items
        )
        assert rolled["commitments"] >= 4 and rolled["status"] == "ended"
        assert_golden(ledger)
        assert auditor.verify(against=read("checkpoint.json")).ok
    finally:
        ledger.close()
