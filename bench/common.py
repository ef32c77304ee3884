"""What every benchmark row shares: the result record, timing helpers, memory readings
and the stores built through the application's own batch write path."""

from __future__ import annotations

import math
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from application.demo import PARTNERS, import_copies, load_demo, plan_copy
from application.ledger import Ledger
from interfaces.composition import open_ledger


@dataclass
class Result:
    """One row of the table: the project's figure, the same run's baseline figure,
    their ratio, and whether the target's bound (docs/targets.md) is met."""

    id: str
    what: str
    figure: float
    baseline: float
    unit: str
    ratio: float
    target: str
    met: bool
    cpu_count: int
    details: dict[str, Any] = field(default_factory=dict)


DEFAULT_BENCH_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/tutahi_bench"


@dataclass(frozen=True)
class Settings:
    """Sizes for a run: those of docs/targets.md (full) or small ones (``--quick``)."""

    quick: bool
    folder: Path  # scratch space for this run's stores and servers
    stores: Path | None  # where large stores are kept between runs, if anywhere
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def postgres_url(self) -> str:
        """The PostgreSQL database the PostgreSQL rows use (``TUTAHI_BENCH_POSTGRES_URL``,
        default the local server's ``tutahi_bench``), made if missing and emptied."""
        url = os.environ.get("TUTAHI_BENCH_POSTGRES_URL", DEFAULT_BENCH_POSTGRES)
        server, _, name = url.rpartition("/")
        with psycopg.connect(f"{server}/postgres".replace("+psycopg", ""), autocommit=True) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                connection.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
            tables = [
                row[0]
                for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ]
            for table in tables:
                connection.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        return url

    @property
    def instance(self) -> str:
        """The instance folder (signing key) for the stores: kept beside them with
        ``--stores``, so that checkpoints stored in a kept store still verify."""
        return str((self.stores or self.folder) / "instance")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def best_time(run: Callable[[], Any], repeat: int) -> float:
    """The shortest of ``repeat`` wall-clock runs (the least disturbed one)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process now (Linux ``/proc``), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def ratio_row(
    id: str,
    what: str,
    figure: float,
    baseline: float,
    unit: str,
    target: str,
    settings: Settings,
    details: dict[str, Any] | None = None,
    *,
    higher_is_better: bool,
    bound: float,
) -> Result:
    """A row whose target is a bound on figure ÷ baseline (``≥ bound`` when higher is
    better, else ``≤ bound``)."""
    ratio = figure / baseline if baseline else math.inf
    met = ratio >= bound if higher_is_better else ratio <= bound
    return Result(id, what, figure, baseline, unit, ratio, target, met, settings.cpus, details or {})


# -- stores built through the application's batch path ------------------------------------------------

PLAN_EVENTS = sum(aggregate.version for aggregate in plan_copy(1))  # events of one copy of the plan
DEMO_EVENTS = len(PARTNERS) + PLAN_EVENTS  # the demo: its partners registered, then the plan


def copies_for(events: int, demo_events: int) -> int:
    """How many copies of the plan bring a store holding the demo to ``events`` events."""
    return max(0, math.ceil((events - demo_events) / PLAN_EVENTS))


def plan_store(settings: Settings, events: int) -> tuple[str, Ledger]:
    """A SQLite file store of about ``events`` events: the demo plus copies of the plan,
    imported through ``application.demo.import_copies`` (the ledger's batch path: each
    transaction commits 20 copies' events, log entries, Merkle nodes and read models).
    Kept in ``--stores`` between runs when given (an interrupted build resumes)."""
    folder = settings.stores or settings.folder
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder}/plan-{events}.db"
    ledger = open_ledger(url)
    build_plan(ledger, events)
    return url, ledger


def build_plan(ledger: Ledger, events: int) -> None:
    """Brings the ledger's store to about ``events`` events: the demo, then copies of
    the plan through the batch path (reporting progress every 15 s)."""
    load_demo(ledger)
    copies = copies_for(events, DEMO_EVENTS)
    if ledger.log_size() < events:
        say(f"building a store of {events:,} events through the batch path ({copies:,} copies of the plan)")
        started = time.perf_counter()
        last = [started]

        def report(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                say(f"  {done:,} of {total:,} copies, {time.perf_counter() - started:.0f} s")

        import_copies(ledger, copies, progress=report)
        say(f"  built: {ledger.log_size():,} events in {time.perf_counter() - started:.0f} s")


def warm_cache(url: str) -> None:
    """Reads a SQLite store's log and tree tables once, so that the operating system has
    their pages in memory, as it has for a service that has been running: a row whose
    small and large sides both read the store then compares work, not a cold disk."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        for table in ("tutahi_event_log", "tutahi_merkle_nodes"):
            for _ in connection.execute(f"SELECT * FROM {table}"):
                pass


def copy_store(url: str, target: Path) -> str:
    """A consistent copy of a SQLite store (SQLite's online backup), for a row that
    writes to it (checkpoints, requests): the kept store stays as it was."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"
