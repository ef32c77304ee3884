"""RL5: random edits made directly in the database, behind the service's back, of
every stored copy of the log (flip a byte of a stored document, delete an event, swap
two events, edit a leaf hash, edit the event store's index of a document, edit a
stored Merkle node), are every one detected at the right position: by the service's
own verification, and (for edits of what an export carries) by the offline verifier
of an export made after the edit, checked against a checkpoint signed before it.

The edits are seeded (deterministic) and spread evenly over the kinds. On a SQLite file
each edit starts from a fresh copy of one populated store; on PostgreSQL (fewer edits,
a populated store is slower to make there) each starts from the pristine rows restored
into the same tables."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from application.audit import Auditor
from application.errors import LogIntegrityError
from application.offline import leaf_of, verify_export
from infrastructure.keys import verify_signature
from interfaces.composition import open_auditor, open_ledger
from tests.audit_store import (
    KINDS,
    Tampering,
    copy_sqlite_file,
    delete_event,
    edit_index,
    edit_leaf,
    edit_node,
    event_row,
    flip_byte,
    log_rows,
    populate,
    stored_nodes,
    swap_events,
)
from tests.conftest import postgres_url, reset_postgres

SEED = 9162
SQLITE_EDITS = 17 * len(KINDS)  # 102: every kind 17 times
POSTGRES_EDITS = 2 * len(KINDS)
LOG_TABLES = ("tutahi_event_log", "tutahi_log_head", "tutahi_merkle_nodes", "tutahi_checkpoints")


def planned_kinds(count: int, seed: int) -> list[str]:
    """``count`` kinds, as evenly spread as the count allows, in a seeded order."""
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    random.Random(seed).shuffle(kinds)
    return kinds


SQLITE_PLAN = planned_kinds(SQLITE_EDITS, SEED)
POSTGRES_PLAN = planned_kinds(POSTGRES_EDITS, SEED + 1)


@dataclass(frozen=True)
class Store:
    """A populated store, its checkpoint (signed before any edit) and public key."""

    url: str
    instance: Path
    checkpoint: dict[str, Any]
    public_key: dict[str, Any]
    leaves: list[bytes]  # by position
    nodes: list[tuple[int, int]]  # (level, index) of every stored node
    lines: list[bytes]  # the untouched export


def make_store(url: str, instance: Path) -> Store:
    ledger = open_ledger(url)
    try:
        populate(ledger, extra_rounds=2)
        auditor = open_auditor(ledger, str(instance))
        checkpoint = auditor.checkpoint().document()  # writes the Merkle nodes too
        public_key = auditor.public_key()
        assert auditor.verify().ok, "the untouched store verifies"
        lines = b"".join(auditor.export_chunks()).splitlines(keepends=True)
    finally:
        ledger.close()
    engine = create_engine(url)
    try:
        rows = log_rows(engine)
        nodes = stored_nodes(engine)
    finally:
        engine.dispose()
    assert [row.position for row in rows] == list(range(checkpoint["tree_size"]))
    assert nodes, "the checkpoint wrote the tree's nodes"
    return Store(url, instance, checkpoint, public_key, [bytes(row.leaf) for row in rows], nodes, lines)


def tamper(engine: Engine, store: Store, kind: str, rng: random.Random) -> Tampering:
    """Makes one edit of ``kind`` at random places; says where verification must stop."""
    size = len(store.leaves)
    position = rng.randrange(size)
    if kind == "flip":
        length = len(event_row(engine, position).document)
        offset, mask = rng.randrange(length), rng.randrange(1, 256)
        flip_byte(engine, position, offset, mask)
        return Tampering(kind, position, f"byte {offset} of the document at {position} xor {mask:#04x}")
    if kind == "delete_event":
        delete_event(engine, position)
        return Tampering(kind, position, f"deleted the event at {position}")
    if kind == "swap":
        first, second = sorted(rng.sample(range(size), 2))
        swap_events(engine, first, second)
        return Tampering(kind, first, f"swapped the documents and leaves at {first} and {second}")
    if kind == "edit_leaf":
        new_leaf = store.leaves[position]
        while new_leaf == store.leaves[position]:
            new_leaf = rng.randbytes(32)
        edit_leaf(engine, position, new_leaf)
        return Tampering(kind, position, f"replaced the leaf hash at {position}")
    if kind == "edit_index":
        column = rng.choice(["originator_version", "originator_id"])
        edit_index(engine, position, column)
        return Tampering(kind, position, f"edited the index's {column} at {position}", in_export=False)
    assert kind == "edit_node"
    level, index = rng.choice(store.nodes)
    edit_node(engine, level, index)
    return Tampering(kind, index << level, f"flipped a bit of the Merkle node ({level}, {index})", in_export=False)


def check_detected(auditor: Auditor, store: Store, done: Tampering, export: Path) -> None:
    """The service's verification stops at the edited position; so does the offline
    verifier of a fresh export when the edit is in what an export carries (an edited
    index or node leaves the events as they were: the export still verifies)."""
    assert auditor.checkpoint().document() == store.checkpoint, "the checkpoint was made before the edit"

    verdict = auditor.verify()

    assert not verdict.ok, f"{done.description}: not detected ({verdict.detail})"
    assert verdict.first_bad_position == done.position, f"{done.description}: {verdict}"

    with export.open("wb") as handle:
        for chunk in auditor.export_chunks():
            handle.write(chunk)
    with export.open("rb") as handle:
        offline = verify_export(handle, store.checkpoint, store.public_key, verify_signature)
    if not done.in_export:
        assert offline.ok, f"{done.description}: the untouched events no longer verify offline ({offline.detail})"
        return
    # An edited or swapped document no longer hashes to the leaf its line states (a
    # swapped pair also states another position); an edited leaf hash is not the hash of
    # its line; a deleted event leaves a gap in the positions (or, if it was the last, an
    # export shorter than the checkpoint's tree size).
    assert not offline.ok, f"{done.description}: the export verified offline ({offline.detail})"
    assert offline.first_bad_position == done.position, f"{done.description}: {offline}"


# -- SQLite: a fresh copy of one populated file per edit ------------------------------------


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("tampering")
    return make_store(f"sqlite:///{folder}/pristine.db", folder / "instance")


def fresh_copy(store: Store, folder: Path) -> str:
    target = folder / "tampered.db"
    copy_sqlite_file(Path(store.url.removeprefix("sqlite:///")), target)
    return f"sqlite:///{target}"


@pytest.mark.parametrize(("number", "kind"), list(enumerate(SQLITE_PLAN)), ids=lambda v: str(v))
def test_every_edit_of_a_sqlite_store_is_detected_at_its_position(
    sqlite_store: Store, tmp_path: Path, number: int, kind: str
) -> None:
    url = fresh_copy(sqlite_store, tmp_path)
    ledger = open_ledger(url)
    engine = create_engine(url)
    try:
        auditor = open_auditor(ledger, str(sqlite_store.instance))
        assert auditor.checkpoint().document() == sqlite_store.checkpoint
        done = tamper(engine, sqlite_store, kind, random.Random(SEED * 1000 + number))
        check_detected(auditor, sqlite_store, done, tmp_path / "export.jsonl")
    finally:
        engine.dispose()
        ledger.close()


def test_the_plan_spreads_the_edits_over_every_kind() -> None:
    assert len(SQLITE_PLAN) == SQLITE_EDITS
    assert {kind: SQLITE_PLAN.count(kind) for kind in KINDS} == {kind: SQLITE_EDITS // len(KINDS) for kind in KINDS}
    assert set(POSTGRES_PLAN) == set(KINDS)


# -- edits a reader meets: refused where they are read ------------------------------------


@pytest.mark.parametrize("kind", ["flip", "edit_index"])
def test_reading_an_edited_event_names_its_position_instead_of_serving_it(
    sqlite_store: Store, tmp_path: Path, kind: str
) -> None:
    """Loading a commitment whose stored event was edited (its bytes, or the index the
    event store finds it by) fails with the log's integrity error at that position: the
    service never shows what the log does not prove."""
    url = fresh_copy(sqlite_store, tmp_path)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            position, aggregate = connection.execute(
                text(
                    "SELECT position, originator_id FROM tutahi_event_log "
                    "WHERE topic LIKE '%MilestoneAdded' ORDER BY position LIMIT 1"
                )
            ).one()
        if kind == "flip":
            flip_byte(engine, position, 3, 0x01)
        else:
            edit_index(engine, position, "originator_version")
        ledger = open_ledger(url)
        try:
            with pytest.raises(LogIntegrityError) as raised:
                ledger.load_commitment(ledger.recorder.sql.uuid_out(aggregate))
        finally:
            ledger.close()
        assert raised.value.position == position
    finally:
        engine.dispose()


# -- PostgreSQL: the pristine rows restored before each edit ---------------------------------


@pytest.fixture(scope="module")
def postgres_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = postgres_url()
    reset_postgres(url)
    store = make_store(url, tmp_path_factory.mktemp("tampering-pg") / "instance")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for table in LOG_TABLES:
                connection.execute(text(f"CREATE TABLE pristine_{table} AS SELECT * FROM {table}"))
    finally:
        engine.dispose()
    yield store
    reset_postgres(url)


def restore_pristine(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in LOG_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text(f"INSERT INTO {table} SELECT * FROM pristine_{table}"))


@pytest.mark.postgres
@pytest.mark.parametrize(("number", "kind"), list(enumerate(POSTGRES_PLAN)), ids=lambda v: str(v))
def test_every_edit_of_a_postgres_store_is_detected_at_its_position(
    postgres_store: Store, tmp_path: Path, number: int, kind: str
) -> None:
    engine = create_engine(postgres_store.url)
    ledger = open_ledger(postgres_store.url)
    try:
        restore_pristine(engine)
        auditor = open_auditor(ledger, str(postgres_store.instance))
        assert auditor.verify().ok, "the restored store verifies"
        done = tamper(engine, postgres_store, kind, random.Random(SEED * 1000 + 500 + number))
        check_detected(auditor, postgres_store, done, tmp_path / "export.jsonl")
    finally:
        restore_pristine(engine)
        engine.dispose()
        ledger.close()


def test_a_leaf_is_the_hash_of_the_exported_line(sqlite_store: Store) -> None:
    """The premise of the offline checks above: an untouched export's lines hash to
    their leaves (by RFC 8785 over the parsed line, as any verifier would), and the
    untouched export verifies against the checkpoint."""
    for line, leaf in zip(sqlite_store.lines, sqlite_store.leaves, strict=True):
        assert leaf_of(json.loads(line)) == leaf
    verdict = verify_export(sqlite_store.lines, sqlite_store.checkpoint, sqlite_store.public_key, verify_signature)
    assert verdict.ok, verdict.detail
