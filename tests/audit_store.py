"""Helpers for the verifiable-log tests: a populated store (the demo plus commands of
every kind, a partners-only commitment among them) and edits made straight in the
database with SQL, behind the application's back, as a dishonest operator would."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, create_engine, text

from application.demo import DIA, TPK, load_demo, partner_id
from application.ledger import Ledger
from application.logformat import leaf_hash
from domain.values import Actor, ActorRole, Completion, OgpValue, PartnerKind, PartnerRole, Response, Visibility
from interfaces.composition import open_ledger
from tests.conftest import ADMIN

KINDS = ("flip", "delete_event", "swap", "edit_leaf", "edit_index", "edit_node")


def rid() -> str:
    return f"audit-test-{uuid4()}"


@cache
def demo_size() -> int:
    """How many events the demo loads into an empty store. Tests count from it rather
    than from a number written down: the demo's data grows with the domain."""
    ledger = open_ledger("sqlite:///:memory:")
    try:
        load_demo(ledger)
        size = ledger.log_size()
    finally:
        ledger.close()
    assert size > 0
    return size


def populate(ledger: Ledger, extra_rounds: int = 1) -> None:
    """The demo, then a partners-only commitment with an iwi partner and every kind of
    command, ``extra_rounds`` times over."""
    load_demo(ledger)
    dia = Actor(ActorRole.AGENCY, partner_id(DIA), DIA)
    tpk = Actor(ActorRole.AGENCY, partner_id(TPK), TPK)
    for round_number in range(extra_rounds):
        iwi_id = ledger.register_partner(
            name=f"Ngāti Whātua Ōrākei {round_number}", kind=PartnerKind.IWI_HAPU, actor=ADMIN, request_id=rid()
        ).created_id
        assert iwi_id is not None
        iwi = Actor(ActorRole.COMMUNITY, iwi_id, f"Ngāti Whātua Ōrākei {round_number}")
        created = ledger.create_commitment(
            title=f"Kōrero with mana whenua {round_number} (partners only)",
            description="Hui about the accord, recorded for its partners only.",
            action_plan="Tūtahi test plan",
            external_ref=f"TT{round_number:04d}",
            starts_on=date(2015, 1, 1),
            ends_on=date(2016, 6, 30),
            ogp_values=[OgpValue.CIVIC_PARTICIPATION],
            visibility=Visibility.PARTNERS,
            actor=dia,
            request_id=rid(),
        )
        cid = created.aggregate_id
        ledger.add_partner(cid, partner_id=tpk.id, role=PartnerRole.SUPPORT, actor=dia, request_id=rid())
        ledger.add_partner(cid, partner_id=iwi.id, role=PartnerRole.COMMUNITY, actor=dia, request_id=rid())
        milestones = [
            ledger.add_milestone(cid, title=f"Hui {n}", due_on=date(2015, 3, n + 1), actor=dia, request_id=rid())
            for n in range(3)
        ]
        first = milestones[0].created_id
        assert first is not None
        ledger.reach_milestone(cid, first, reached_on=date(2015, 3, 2), actor=tpk, request_id=rid())
        action = ledger.record_joint_action(
            cid,
            summary="Held the first hui at the marae together",
            occurred_on=date(2015, 3, 2),
            partner_ids=[iwi.id],
            actor=dia,
            request_id=rid(),
        )
        assert action.created_id is not None
        ledger.respond_to_action(
            cid, action.created_id, response=Response.CONFIRMED, note="Ka pai", actor=iwi, request_id=rid()
        )
        ledger.report_progress(cid, completion=Completion.LIMITED, note="Under way", actor=dia, request_id=rid())
        ledger.amend_commitment(
            cid,
            changes={"title": f"Kōrero with mana whenua {round_number}"},
            reason="Shorter",
            actor=dia,
            request_id=rid(),
        )
        ledger.rename_partner(
            iwi.id,
            name=f"Ngāti Whātua o Ōrākei {round_number}",
            reason="The iwi's own spelling",
            actor=ADMIN,
            request_id=rid(),
        )


# -- edits straight in the database -------------------------------------------------------


@dataclass(frozen=True)
class Tampering:
    kind: str
    position: int  # where verification must say the log first goes wrong
    description: str
    in_export: bool = True  # whether an export shows the edit (nodes and the index are the service's own)


def log_rows(engine: Engine) -> list[Any]:
    """(position, leaf) of every entry of the log."""
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT position, leaf FROM tutahi_event_log ORDER BY position")))


def event_row(engine: Engine, position: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT position, originator_id, originator_version, topic, document, leaf "
                "FROM tutahi_event_log WHERE position = :p"
            ),
            {"p": position},
        ).one()


def update_row(engine: Engine, position: int, **values: Any) -> None:
    columns = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE tutahi_event_log SET {columns} WHERE position = :p"), {"p": position, **values}
        )


def flip_byte(engine: Engine, position: int, offset: int, mask: int) -> None:
    """XORs one byte of the stored document with ``mask`` (not 0)."""
    assert mask != 0
    document = bytearray(event_row(engine, position).document)
    document[offset % len(document)] ^= mask
    update_row(engine, position, document=bytes(document))


def delete_event(engine: Engine, position: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM tutahi_event_log WHERE position = :p"), {"p": position})


def swap_events(engine: Engine, first: int, second: int) -> None:
    """Swaps the documents and leaves of two positions (each row's index stays)."""
    one, other = event_row(engine, first), event_row(engine, second)
    update_row(engine, first, document=bytes(other.document), leaf=bytes(other.leaf))
    update_row(engine, second, document=bytes(one.document), leaf=bytes(one.leaf))


def edit_leaf(engine: Engine, position: int, new_leaf: bytes) -> None:
    update_row(engine, position, leaf=new_leaf)


def edit_index(engine: Engine, position: int, column: str) -> None:
    """Changes what the event store's index says of a document: its version, or its
    aggregate (to one that has no events)."""
    row = event_row(engine, position)
    if column == "originator_version":
        update_row(engine, position, originator_version=row.originator_version + 1000)
    else:
        other = uuid4()
        update_row(engine, position, originator_id=other if engine.dialect.name == "postgresql" else other.hex)


def stored_nodes(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        return [
            (row[0], row[1])
            for row in connection.execute(
                text('SELECT level, "index" FROM tutahi_merkle_nodes ORDER BY level, "index"')
            )
        ]


def edit_node(engine: Engine, level: int, index: int) -> None:
    """Flips a bit of a stored Merkle node."""
    with engine.begin() as connection:
        digest = bytearray(
            connection.execute(
                text('SELECT hash FROM tutahi_merkle_nodes WHERE level = :l AND "index" = :i'), {"l": level, "i": index}
            ).scalar_one()
        )
        digest[0] ^= 0x01
        connection.execute(
            text('UPDATE tutahi_merkle_nodes SET hash = :h WHERE level = :l AND "index" = :i'),
            {"h": bytes(digest), "l": level, "i": index},
        )


def engine_for(url: str) -> Engine:
    return create_engine(url)


def append_events(ledger: Ledger, count: int) -> None:
    """Appends ``count`` events (partners registered by an admin)."""
    for n in range(count):
        ledger.register_partner(
            name=f"Rōpū {n} {uuid4().hex[:6]}", kind=PartnerKind.BUSINESS, actor=ADMIN, request_id=rid()
        )


def rewrite_history(engine: Engine, position: int, *, recompute: bool = True) -> None:
    """Edits a stored document (its request id: it still reads, and says something
    else). With ``recompute``, what an operator covering their tracks would do next:
    recompute its leaf, drop the Merkle nodes (the service writes them again from the
    leaves) and the checkpoints it had signed, so that the store agrees with itself."""
    document = bytes(event_row(engine, position).document)
    at = document.index(b'"request_id":"') + len(b'"request_id":"')
    edited = document[:at] + (b"Y" if document[at : at + 1] == b"X" else b"X") + document[at + 1 :]
    update_row(engine, position, document=edited)
    if not recompute:
        return
    update_row(engine, position, leaf=leaf_hash(edited))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM tutahi_merkle_nodes"))
        connection.execute(text("UPDATE tutahi_log_head SET size = 0 WHERE name = 'nodes'"))
        connection.execute(text("DELETE FROM tutahi_checkpoints"))


def copy_sqlite_file(source: Path, target: Path) -> None:
    """A consistent copy of a closed SQLite store: its write-ahead log is folded into
    the file first (a WAL store's latest commits may still be only in ``-wal``)."""
    connection = sqlite3.connect(source)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, target)
