"""RL5: random edits made directly in the database, behind the service's back (flip a
byte of a stored event, delete an event, swap two events, edit a leaf hash, delete a
row of the log index), are every one detected at the right position: by the service's
own verification, and by the offline verifier of an export made after the edit,
checked against a checkpoint signed before it.

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
from application.offline import leaf_of, verify_export
from infrastructure.keys import verify_signature
from interfaces.composition import open_auditor, open_ledger
from tests.audit_store import (
    KINDS,
    Tampering,
    copy_sqlite_file,
    delete_event,
    delete_log_row,
    edit_leaf,
    event_row,
    flip_byte,
    log_rows,
    populate,
    swap_events,
)
from tests.conftest import postgres_url, reset_postgres

SEED = 9162
SQLITE_EDITS = 100
POSTGRES_EDITS = 10
LOG_TABLES = ("tutahi_events", "tutahi_log", "tutahi_merkle_nodes", "tutahi_checkpoints")


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
    positions: list[tuple[int, int, str]]  # (position, notification id, leaf hash)
    documents: dict[int, dict[str, Any]]  # position -> event document (with leaf_hash)


def make_store(url: str, instance: Path) -> Store:
    ledger = open_ledger(url)
    try:
        populate(ledger, extra_rounds=2)
        auditor = open_auditor(ledger, str(instance))
        checkpoint = auditor.checkpoint().document()
        public_key = auditor.public_key()
        assert auditor.verify().ok, "the untouched store verifies"
        documents = {document["position"]: document for document in auditor.export_lines()}
    finally:
        ledger.close()
    engine = create_engine(url)
    try:
        positions = [(row.position, row.notification_id, row.leaf_hash) for row in log_rows(engine)]
    finally:
        engine.dispose()
    assert [p for p, _, _ in positions] == list(range(checkpoint["tree_size"]))
    return Store(url, instance, checkpoint, public_key, positions, documents)


def tamper(engine: Engine, store: Store, kind: str, rng: random.Random) -> Tampering:
    """Makes one edit of ``kind`` at random places; says where verification must stop."""
    size = len(store.positions)
    position = rng.randrange(size)
    _, notification_id, leaf = store.positions[position]
    if kind == "flip":
        length = len(event_row(engine, notification_id).state)
        offset, mask = rng.randrange(length), rng.randrange(1, 256)
        flip_byte(engine, notification_id, offset, mask)
        return Tampering(kind, position, f"byte {offset} of the event at {position} xor {mask:#04x}")
    if kind == "delete_event":
        delete_event(engine, notification_id)
        return Tampering(kind, position, f"deleted the stored event at {position}")
    if kind == "swap":
        while True:
            first, second = sorted(rng.sample(range(size), 2))
            if _without_position(store.documents[first]) != _without_position(store.documents[second]):
                break
        swap_events(engine, store.positions[first][1], store.positions[second][1])
        return Tampering(kind, first, f"swapped the events at {first} and {second}")
    if kind == "edit_leaf":
        new_leaf = leaf
        while new_leaf == leaf:
            new_leaf = rng.randbytes(32).hex()
        edit_leaf(engine, position, new_leaf)
        return Tampering(kind, position, f"replaced the leaf hash at {position}")
    assert kind == "delete_log_row"
    delete_log_row(engine, position)
    return Tampering(kind, position, f"deleted the log index row at {position}")


def _without_position(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("position", "leaf_hash")}


def check_detected(auditor: Auditor, store: Store, done: Tampering, export: Path) -> None:
    """The service's verification and the offline verifier of a fresh export both
    stop at the edited position."""
    assert auditor.checkpoint().document() == store.checkpoint, "the checkpoint was made before the edit"

    verdict = auditor.verify()

    assert not verdict.ok, f"{done.description}: not detected ({verdict.detail})"
    assert verdict.first_bad_position == done.position, f"{done.description}: {verdict}"

    with export.open("w", encoding="utf-8") as handle:
        for document in auditor.export_lines():
            handle.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
    with export.open(encoding="utf-8") as handle:
        offline = verify_export(handle, store.checkpoint, store.public_key, verify_signature)

    # Every kind is located by the offline verifier too: an edited or swapped event no
    # longer makes the leaf hash its line states (or cannot be read, and is exported as
    # such); an edited leaf hash is not the hash of its line; a deleted event is exported
    # as unreadable at its position; a deleted index row leaves a gap in the positions
    # (or, if it was the last, an export shorter than the checkpoint's tree size).
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


# -- edits chosen to be hard: the document stays the same, or cannot be made ----------------


def _first_state_holding(store: Store, engine: Engine, needle: bytes) -> tuple[int, int, bytes]:
    for position, notification_id, _ in store.positions:
        state = event_row(engine, notification_id).state
        if needle in state:
            return position, notification_id, state
    raise AssertionError(f"no stored event holds {needle!r}")


HARD_EDITS = {
    # domain.commitment:Commitment -> dnmain...: the creating event's aggregate class,
    # which replay reads but the event document does not show
    "originator_topic": (b'"originator_topic":"d', 1, 0x01),
    # 2026-11-27T03:... -> 2026-11-27t03:...: the same instant, spelt as the service never does
    "instant_separator": (b'"timestamp":{"_type_":"datetime_iso","_data_":"', 10, 0x20),
    # a UUID's hex upper-cased: the same UUID, spelt as the service never does
    "uuid_case": (b'"uuid_hex","_data_":"', None, 0x20),
    # "request_id" -> "request_iD": decodes, but to an event without a request id
    "field_name": (b'"request_i', 0, 0x20),
}


@pytest.mark.parametrize("case", sorted(HARD_EDITS))
def test_edits_that_keep_or_break_the_event_document_are_detected_too(
    sqlite_store: Store, tmp_path: Path, case: str
) -> None:
    """A flipped byte may leave the event document as it was (bytes it does not show
    are still the record: replay reads the topic, and the service never writes another
    spelling), or leave an event that decodes but cannot make a document: each is
    reported at its position, never an error of the verifier itself."""
    needle, shift, mask = HARD_EDITS[case]
    url = fresh_copy(sqlite_store, tmp_path)
    ledger = open_ledger(url)
    engine = create_engine(url)
    try:
        auditor = open_auditor(ledger, str(sqlite_store.instance))
        position, notification_id, state = _first_state_holding(sqlite_store, engine, needle)
        at = state.index(needle) + len(needle)
        if shift is None:  # the first hex letter after the needle
            shift = next(i for i in range(32) if chr(state[at + i]) in "abcdef")
        flip_byte(engine, notification_id, at + shift, mask)
        done = Tampering("flip", position, f"{case} at {position}")
        check_detected(auditor, sqlite_store, done, tmp_path / "export.jsonl")
    finally:
        engine.dispose()
        ledger.close()


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
    their leaves, and the untouched export verifies against the checkpoint."""
    lines = [json.dumps(d, ensure_ascii=False) for _, d in sorted(sqlite_store.documents.items())]
    for line, (_, _, leaf) in zip(lines, sqlite_store.positions, strict=True):
        assert leaf_of(json.loads(line)).hex() == leaf
    verdict = verify_export(lines, sqlite_store.checkpoint, sqlite_store.public_key, verify_signature)
    assert verdict.ok, verdict.detail
