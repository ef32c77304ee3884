"""Helpers for the verifiable-log tests: a populated store (the demo plus commands of
every kind, a partners-only commitment among them) and edits made straight in the
database with SQL, behind the application's back, as a dishonest operator would."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, create_engine, text

from application.demo import DIA, TPK, load_demo, partner_id
from application.ledger import Ledger
from application.merkle import appended_nodes
from application.offline import leaf_of
from domain.values import Actor, ActorRole, Completion, OgpValue, PartnerKind, PartnerRole, Response, Visibility
from tests.conftest import ADMIN

KINDS = ("flip", "delete_event", "swap", "edit_leaf", "delete_log_row")


def rid() -> str:
    return f"audit-test-{uuid4()}"


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
        ledger.rename_partner(iwi.id, name=f"Ngāti Whātua o Ōrākei {round_number}", actor=ADMIN, request_id=rid())


# -- edits straight in the database -------------------------------------------------------


@dataclass(frozen=True)
class Tampering:
    kind: str
    position: int  # where verification must say the log first goes wrong
    description: str


def log_rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(text("SELECT position, notification_id, leaf_hash FROM tutahi_log ORDER BY position"))
        )


def event_row(engine: Engine, notification_id: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT id, topic, state FROM tutahi_events WHERE id = :id"), {"id": notification_id}
        ).one()


def flip_byte(engine: Engine, notification_id: int, offset: int, mask: int) -> None:
    """XORs one byte of the stored event's state with ``mask`` (not 0)."""
    assert mask != 0
    state = bytearray(event_row(engine, notification_id).state)
    state[offset % len(state)] ^= mask
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE tutahi_events SET state = :state WHERE id = :id"),
            {"state": bytes(state), "id": notification_id},
        )


def delete_event(engine: Engine, notification_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM tutahi_events WHERE id = :id"), {"id": notification_id})


def swap_events(engine: Engine, first_id: int, second_id: int) -> None:
    """Swaps the topic and state of two stored events (their ids and versions stay)."""
    first, second = event_row(engine, first_id), event_row(engine, second_id)
    with engine.begin() as connection:
        for row, other in ((first, second), (second, first)):
            connection.execute(
                text("UPDATE tutahi_events SET topic = :topic, state = :state WHERE id = :id"),
                {"topic": other.topic, "state": other.state, "id": row.id},
            )


def edit_leaf(engine: Engine, position: int, new_leaf_hex: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE tutahi_log SET leaf_hash = :leaf WHERE position = :position"),
            {"leaf": new_leaf_hex, "position": position},
        )


def delete_log_row(engine: Engine, position: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM tutahi_log WHERE position = :position"), {"position": position})


def engine_for(url: str) -> Engine:
    return create_engine(url)


def append_events(ledger: Ledger, count: int) -> None:
    """Appends ``count`` events (partners registered by an admin)."""
    for n in range(count):
        ledger.register_partner(
            name=f"Rōpū {n} {uuid4().hex[:6]}", kind=PartnerKind.BUSINESS, actor=ADMIN, request_id=rid()
        )


def rewrite_history(engine: Engine, ledger: Ledger, notification_id: int, *, recompute: bool = True) -> None:
    """Edits a stored event (its request id: the event still reads, its document
    changes). With ``recompute``, what an operator covering their tracks would do next:
    recompute every leaf hash and the whole Merkle tree so that the store agrees with
    itself again, and drop the checkpoints it had signed."""
    state = event_row(engine, notification_id).state
    at = state.index(b'"request_id":"') + len(b'"request_id":"')
    edited = state[:at] + (b"Y" if state[at : at + 1] == b"X" else b"X") + state[at + 1 :]
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE tutahi_events SET state = :s WHERE id = :id"), {"s": edited, "id": notification_id}
        )
    if not recompute:
        return
    leaves = []
    with engine.begin() as connection:
        for entry, event in ledger.iter_log():
            leaf = leaf_of(ledger.event_document(entry, event))
            leaves.append(leaf)
            connection.execute(
                text("UPDATE tutahi_log SET leaf_hash = :leaf WHERE position = :position"),
                {"leaf": leaf.hex(), "position": entry.position},
            )
        connection.execute(text("DELETE FROM tutahi_merkle_nodes"))
        connection.execute(text("DELETE FROM tutahi_checkpoints"))

        def nothing_stored(level: int, index: int) -> bytes:
            raise LookupError((level, index))

        nodes = appended_nodes(0, leaves, nothing_stored)
        connection.execute(
            text('INSERT INTO tutahi_merkle_nodes (level, "index", hash) VALUES (:level, :index, :hash)'),
            [{"level": level, "index": index, "hash": digest} for level, index, digest in nodes],
        )


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
