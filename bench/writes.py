"""W1 and W3, the write rows of docs/targets.md.

- W1, commands through the application layer: single-event commands/s on a SQLite
  file (joint actions and milestones on the demo's commitments, each its own unit of
  work: load, rules, event, log entry, Merkle nodes, read models, one commit) ÷
  single-row commits/s of raw ``sqlite3`` with the same pragmas (WAL,
  ``synchronous=FULL``) and the same row size. Measured in alternating rounds so
  that both see the same disk. Target ≥ 0.5.
- W3, batch import: events/s importing the demo plan ×1,000 (``import_copies``, the
  batch path) ÷ raw ``executemany`` inserts of as many rows of the same size in
  transactions of the same size. Target ≥ 0.3.
- W4, CSV import: events/s recorded by importing a 10,000-row CSV file (``tutahi
  import``'s path: the file read and checked row by row, planned through the domain's
  rules, recorded in one unit of work) ÷ W3's events/s in the same run. Target ≥ 1.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import psycopg

from application.demo import (
    COMMITMENTS,
    DIA,
    HUI_E,
    SSC,
    TINZ,
    actor_of,
    commitment_id,
    import_copies,
    load_demo,
    partner_id,
)
from application.ledger import Ledger
from bench.common import PLAN_EVENTS, Result, Settings, ratio_row, say
from domain.values import Actor, ActorRole
from interfaces.composition import open_ledger
from interfaces.opendata import read_import

COPIES_PER_TRANSACTION = 20  # import_copies' default


def raw_table(path: Path) -> sqlite3.Connection:
    """A raw ``sqlite3`` connection with the service's pragmas and a table shaped like
    the event store's (id, originator id, version, topic, state)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, originator_id BLOB NOT NULL, "
        "originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL)"
    )
    return connection


def stored_state_size(url: str) -> int:
    """The mean size in bytes of the stored events' documents in a SQLite store."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return round(connection.execute("SELECT avg(length(document)) FROM tutahi_event_log").fetchone()[0])
    finally:
        connection.close()


def commands(ledger: Ledger) -> Iterator[Callable[[int], object]]:
    """Single-event commands, round-robin over the demo's commitments: joint actions
    (recorded by the lead, naming its community partner) and new milestones."""
    today = date(2016, 5, 1)
    nz3, nz4 = commitment_id("NZ0003"), commitment_id("NZ0004")
    leads = {seed.external_ref: actor_of(seed.lead) for seed in COMMITMENTS}
    while True:
        yield lambda n: ledger.record_joint_action(
            nz3,
            summary=f"Benchmark workshop {n} on the integrity assessment",
            occurred_on=today,
            partner_ids=[partner_id(TINZ)],
            actor=actor_of(SSC),
            request_id=f"w1-{n}",
        )
        yield lambda n: ledger.record_joint_action(
            nz4,
            summary=f"Benchmark hui {n} on the accord's principles",
            occurred_on=today,
            partner_ids=[partner_id(HUI_E)],
            actor=actor_of(DIA),
            request_id=f"w1-{n}",
        )
        for ref in ("NZ0001", "NZ0002"):
            yield lambda n, ref=ref: ledger.add_milestone(
                commitment_id(ref),
                title=f"Benchmark milestone {n}",
                due_on=today,
                actor=leads[ref],
                request_id=f"w1-{n}",
            )


class RawSqlite:
    """Raw ``sqlite3`` single-row commits with the service's pragmas."""

    def __init__(self, path: Path) -> None:
        self.connection = raw_table(path)

    def commit_one(self, ident: bytes, version: int, blob: bytes) -> None:
        self.connection.execute("BEGIN")
        self.connection.execute(
            "INSERT INTO events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
            (ident, version, "bench:Event", blob),
        )
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


class RawPostgres:
    """Raw ``psycopg`` single-row commits to the same server, in a table shaped like the
    event store's."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_raw_events")
            cursor.execute(
                "CREATE TABLE bench_raw_events (id BIGSERIAL PRIMARY KEY, originator_id BYTEA NOT NULL, "
                "originator_version INTEGER NOT NULL, topic TEXT NOT NULL, state BYTEA NOT NULL)"
            )
        self.connection.commit()

    def commit_one(self, ident: bytes, version: int, blob: bytes) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_raw_events (originator_id, originator_version, topic, state) "
                "VALUES (%s, %s, %s, %s)",
                (ident, version, "bench:Event", blob),
            )
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def document_size(ledger: Ledger) -> int:
    """The mean size in bytes of the stored documents of a ledger's log."""
    sizes = [len(row[1]) for batch in ledger.event_log.scan() for row in batch]
    return round(sum(sizes) / len(sizes))


def commands_against_raw(
    settings: Settings, url: str, raw: RawSqlite | RawPostgres | None, label: str
) -> tuple[float, float, dict[str, float]]:
    """Single-event commands/s through the application on ``url`` and raw single-row
    commits/s, in alternating rounds so that both see the same machine."""
    total = settings.size(2_000, 200)
    rounds = 5
    ledger = open_ledger(url)
    try:
        load_demo(ledger)
        stream = commands(ledger)
        done = 0
        for _ in range(20):  # warm up: caches, compiled statements
            next(stream)(done)
            done += 1
        blob = os.urandom(document_size(ledger))
        ident = os.urandom(16)
        assert raw is not None
        app_seconds = raw_seconds = 0.0
        raw_done = 0
        say(f"{label}: {total:,} commands and {total:,} raw commits in {rounds} alternating rounds")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(total // rounds):
                next(stream)(done)
                done += 1
            app_seconds += time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(total // rounds):
                raw_done += 1
                raw.commit_one(ident, raw_done, blob)
            raw_seconds += time.perf_counter() - started
        measured = rounds * (total // rounds)
    finally:
        ledger.close()
        if raw is not None:
            raw.close()
    details = {"commands": measured, "row_bytes": len(blob), "app_s": app_seconds, "raw_s": raw_seconds}
    return measured / app_seconds, raw_done / raw_seconds, details


def measure_w1(settings: Settings) -> Result:
    url = f"sqlite:///{settings.folder}/w1.db"
    figure, baseline, details = commands_against_raw(settings, url, RawSqlite(settings.folder / "w1-raw.db"), "W1")
    return ratio_row(
        "W1",
        "single-event commands/s through the application ÷ raw sqlite3 single-row commits/s",
        figure,
        baseline,
        "commands/s",
        "≥ 0.5",
        settings,
        details,
        higher_is_better=True,
        bound=0.5,
    )


def measure_w1_pg(settings: Settings) -> Result:
    url = settings.postgres_url()
    figure, baseline, details = commands_against_raw(settings, url, RawPostgres(url), "W1-pg")
    return ratio_row(
        "W1-pg",
        "single-event commands/s through the application on PostgreSQL ÷ raw psycopg single-row commits/s",
        figure,
        baseline,
        "commands/s",
        "≥ 0.5",
        settings,
        details,
        higher_is_better=True,
        bound=0.5,
    )


MILESTONES_PER_COMMITMENT = 10
IMPORT_HEADER = (
    "external_ref,title,description,action_plan,starts_on,ends_on,ogp_values,"
    "milestone_title,milestone_due_on,milestone_reached_on,evidence_url,reason"
)


def import_file(rows: int) -> str:
    """An import file of ``rows`` rows: commitments of ten milestones each, every other
    milestone reached with its evidence (as an agency's spreadsheet of a plan would be)."""
    lines = [IMPORT_HEADER]
    for row in range(rows):
        number, milestone = divmod(row, MILESTONES_PER_COMMITMENT)
        due = date(2017, 1 + milestone, 15)
        reached = (
            f"{date(2017, 1 + milestone, 10)},https://example.org/evidence/{number}/{milestone}" if row % 2 else ","
        )
        lines.append(
            f"NZ-W4-{number:05d},Commitment {number} of the imported plan,"
            f'"A commitment imported from a spreadsheet, with a description of some length, as agencies write them.",'
            f"New Zealand National Action Plan 2016–18,2016-07-01,2018-06-30,access_to_information;civic_participation,"
            f"Milestone {milestone} of commitment {number},{due},{reached},"
        )
    return "\r\n".join(lines) + "\r\n"


def measure_w3_w4(settings: Settings) -> list[Result]:
    """W3, then W4 against W3's events/s of the same run."""
    w3 = measure_w3(settings)
    return [w3, measure_w4(settings, w3.figure)]


def measure_w4(settings: Settings, w3_events_per_second: float) -> Result:
    rows = settings.size(10_000, 500)
    text = import_file(rows)
    url = f"sqlite:///{settings.folder}/w4.db"
    ledger = open_ledger(url)
    try:
        load_demo(ledger)
        agency = ledger.load_partner(partner_id(DIA))
        actor = Actor(ActorRole.AGENCY, agency.id, agency.name)
        say(f"W4: importing a CSV file of {rows:,} rows ({len(text):,} bytes)")
        started = time.perf_counter()
        parsed, bad_rows = read_import(text)
        outcome = ledger.import_rows(parsed, bad_rows=bad_rows, actor=actor, request_id="w4")
        app_seconds = time.perf_counter() - started
        assert not bad_rows and outcome.rows == rows
    finally:
        ledger.close()
    events = len(outcome.events)
    return ratio_row(
        "W4",
        f"events/s recorded importing a {rows:,}-row CSV file ÷ W3's events/s (same run)",
        events / app_seconds,
        w3_events_per_second,
        "events/s",
        "≥ 1",
        settings,
        {"rows": rows, "events": events, "bytes": len(text), "app_s": app_seconds},
        higher_is_better=True,
        bound=1.0,
    )


def measure_w3(settings: Settings) -> Result:
    copies = settings.size(1_000, 20)
    url = f"sqlite:///{settings.folder}/w3.db"
    ledger = open_ledger(url)
    try:
        load_demo(ledger)
        say(f"W3: importing the plan ×{copies:,} ({copies * PLAN_EVENTS:,} events)")
        started = time.perf_counter()
        imported = import_copies(ledger, copies, per_transaction=COPIES_PER_TRANSACTION)
        app_seconds = time.perf_counter() - started
    finally:
        ledger.close()
    events = imported.events_added
    size = stored_state_size(url)
    per_transaction = COPIES_PER_TRANSACTION * PLAN_EVENTS
    connection = raw_table(settings.folder / "w3-raw.db")
    try:
        blob = os.urandom(size)
        rows = [(os.urandom(16), 1 + i % PLAN_EVENTS, "bench:Event", blob) for i in range(events)]
        say(f"W3: raw executemany of {events:,} rows, {per_transaction:,} per transaction")
        started = time.perf_counter()
        for first in range(0, events, per_transaction):
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                rows[first : first + per_transaction],
            )
            connection.execute("COMMIT")
        raw_seconds = time.perf_counter() - started
    finally:
        connection.close()
    return ratio_row(
        "W3",
        f"events/s importing the demo plan ×{copies:,} ÷ raw batched sqlite3 inserts",
        events / app_seconds,
        events / raw_seconds,
        "events/s",
        "≥ 0.3",
        settings,
        {"events": events, "row_bytes": size, "rows_per_transaction": per_transaction, "app_s": app_seconds},
        higher_is_better=True,
        bound=0.3,
    )
