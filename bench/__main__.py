"""``python -m bench [--quick]``: the verifiable log's targets of targets.md, measured on
a SQLite file in a temporary folder (a stub: the full harness is a later issue).

- A1, verify the log: events/s of ``Auditor.verify()`` over a log of ``--events``
  events ÷ events/s of ``hashlib.sha256`` over the same bytes (each event's RFC 8785
  canonical document, with the leaf's 0x00 prefix). Target ≥ 0.3.
- A2, proofs at scale: the time of one inclusion proof plus one consistency proof (at
  random positions and first sizes) in a tree of ``--large`` leaves ÷ in a tree of
  ``--small`` (1,000) leaves; medians. Target ≤ 2.
- A3, checkpoints at scale: making and signing (and storing) a checkpoint at
  ``--large`` leaves ÷ at ``--small`` leaves; medians. Target ≤ 2.

targets.md's large size is 1,000,000 leaves; ``--quick`` uses 100,000 (and a smaller
log for A1). Results are printed as a table and written to bench/results/latest.json:
one object per id with id, figure, baseline, ratio, target, met and cpu_count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from application.audit import Auditor
from application.demo import LOADER, load_demo
from application.ledger import Ledger
from application.merkle import appended_nodes, leaf_hash, prefetched
from application.offline import canonical
from domain.partner import Partner
from domain.values import PartnerKind
from interfaces.composition import open_auditor, open_ledger

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS_MD_LARGE = 1_000_000
QUICK_LARGE = 100_000


@dataclass
class Result:
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


# -- A1 ---------------------------------------------------------------------------------------------


def build_log(ledger: Ledger, events: int, batch: int = 1000) -> None:
    """The demo, then partners registered through the ledger's own batch path
    (``Ledger.commit`` of many new aggregates: one transaction that stores the events,
    their leaves and tree nodes, and their projections) up to ``events`` events."""
    load_demo(ledger)
    made = ledger.read_models.log_size()
    while made < events:
        count = min(batch, events - made)
        partners = [
            Partner.register(
                name=f"Bench rōpū {made + i}",
                kind=PartnerKind.COMMUNITY_ORGANISATION,
                external_ref=None,
                actor=LOADER,
                request_id=f"bench-{made + i}",
            )
            for i in range(count)
        ]
        ledger.commit(*partners)
        made += count


def measure_a1(folder: Path, events: int, repeat: int, cpus: int) -> Result:
    ledger = open_ledger(f"sqlite:///{folder}/a1.db")
    try:
        say(f"A1: building a log of {events:,} events")
        build_log(ledger, events)
        auditor = open_auditor(ledger, str(folder / "instance"))
        auditor.checkpoint()  # verification also reproduces the latest checkpoint's root
        size = auditor.size()
        verdict = auditor.verify()
        assert verdict.ok, verdict.detail
        say(f"A1: verifying {size:,} events, best of {repeat}")
        verify_seconds = best_time(auditor.verify, repeat)
        blobs = [b"\x00" + canonical(document) for document in auditor.export_lines()]
        assert len(blobs) == size

        def hash_all() -> None:
            for blob in blobs:
                hashlib.sha256(blob).digest()

        hash_seconds = best_time(hash_all, max(repeat, 5))
    finally:
        ledger.close()
    figure, baseline = size / verify_seconds, size / hash_seconds
    ratio = figure / baseline
    return Result(
        "A1",
        "events/s of Auditor.verify() ÷ hashlib.sha256 over the same canonical bytes",
        figure,
        baseline,
        "events/s",
        ratio,
        "≥ 0.3",
        ratio >= 0.3,
        cpus,
        {"events": size, "bytes": sum(len(b) for b in blobs), "verify_s": verify_seconds, "sha256_s": hash_seconds},
    )


# -- A2 and A3 ------------------------------------------------------------------------------------------


def build_tree(ledger: Ledger, leaves: int, batch: int = 50_000) -> None:
    """A tree of ``leaves`` synthetic leaf hashes: the nodes ``application.merkle.
    appended_nodes`` makes, written with the store's own ``add_nodes`` in batches of
    ``batch`` leaves, one transaction each. Only the tree is made (no events, no log
    rows): proofs and checkpoint roots read nothing else. Building 1,000,000 events
    through the ledger would take far longer and measure the same reads."""
    store = ledger.read_models
    done = 0
    while done < leaves:
        count = min(batch, leaves - done)
        new = [leaf_hash(i.to_bytes(8, "big")) for i in range(done, done + count)]
        nodes = appended_nodes(done, new, store.node)
        with ledger.transaction() as tx:
            store.add_nodes(tx, nodes)
        done += count


def proof_seconds(store: Any, size: int, rounds: int, rng: random.Random) -> float:
    """Median time of one inclusion proof and one consistency proof up to ``size``,
    each reading its nodes in one batch as ``Auditor.inclusion``/``consistency`` do
    (after checking bounds against the log's size, which this tree-only store lacks)."""
    samples = []
    for _ in range(rounds):
        position, first = rng.randrange(size), rng.randrange(1, size + 1)
        started = time.perf_counter()
        prefetched(store, lambda tree, p=position: tree.inclusion_proof(p, size))
        prefetched(store, lambda tree, f=first: tree.consistency_proof(f, size))
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def checkpoint_seconds(auditor: Auditor, size: int, rounds: int) -> float:
    """Median time of ``Auditor.checkpoint()`` at ``size``: root from the stored nodes,
    Ed25519 signature, stored. The stored checkpoint is removed between rounds (one
    is made per size), outside the timing."""
    auditor.size = lambda: size  # type: ignore[method-assign]  # the tree-only store has no log rows
    samples = []
    for _ in range(rounds):
        with auditor.ledger.recorder.transaction(commit=True) as session:  # type: ignore[attr-defined]
            session.execute(text("DELETE FROM tutahi_checkpoints"))
        started = time.perf_counter()
        made = auditor.checkpoint()
        samples.append(time.perf_counter() - started)
        assert made.tree_size == size
    return statistics.median(samples)


def measure_a2_a3(folder: Path, small: int, large: int, rounds: int, cpus: int) -> tuple[Result, Result]:
    rng = random.Random(9162)
    figures: dict[int, tuple[float, float]] = {}
    for size in (small, large):
        ledger = open_ledger(f"sqlite:///{folder}/tree-{size}.db")
        try:
            say(f"A2/A3: building a tree of {size:,} leaves")
            build_tree(ledger, size)
            auditor = open_auditor(ledger, str(folder / "instance"))
            proof_seconds(auditor.ledger.read_models, size, max(rounds // 10, 3), rng)  # warm up
            say(f"A2/A3: {rounds} proofs and {max(rounds // 10, 5)} checkpoints at {size:,} leaves")
            figures[size] = (
                proof_seconds(auditor.ledger.read_models, size, rounds, rng),
                checkpoint_seconds(auditor, size, max(rounds // 10, 5)),
            )
        finally:
            ledger.close()
    (proof_small, sign_small), (proof_large, sign_large) = figures[small], figures[large]
    details = {"small": small, "large": large, "targets_md_large": TARGETS_MD_LARGE}
    a2_ratio, a3_ratio = proof_large / proof_small, sign_large / sign_small
    return (
        Result(
            "A2",
            f"inclusion + consistency proof time at {large:,} leaves ÷ at {small:,}",
            proof_large,
            proof_small,
            "s",
            a2_ratio,
            "≤ 2",
            a2_ratio <= 2,
            cpus,
            details,
        ),
        Result(
            "A3",
            f"making and signing a checkpoint at {large:,} leaves ÷ at {small:,}",
            sign_large,
            sign_small,
            "s",
            a3_ratio,
            "≤ 2",
            a3_ratio <= 2,
            cpus,
            details,
        ),
    )


# -- the harness -------------------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    rows = [("id", "figure", "baseline", "unit", "ratio", "target", "met")]
    for r in results:
        rows.append(
            (r.id, f"{r.figure:.6g}", f"{r.baseline:.6g}", r.unit, f"{r.ratio:.3f}", r.target, "yes" if r.met else "NO")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"large size {QUICK_LARGE:,} instead of 1,000,000")
    parser.add_argument("--events", type=int, default=None, help="A1's log size (default 50,000; quick 5,000)")
    parser.add_argument("--large", type=int, default=None, help="A2/A3's large tree size")
    parser.add_argument("--small", type=int, default=1_000, help="A2/A3's small tree size (default 1,000)")
    parser.add_argument("--rounds", type=int, default=None, help="proofs timed per size (default 400; quick 200)")
    parser.add_argument("--repeat", type=int, default=3, help="A1 verification runs, best taken (default 3)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="the JSON results file")
    args = parser.parse_args(argv)
    events = args.events or (5_000 if args.quick else 50_000)
    large = args.large or (QUICK_LARGE if args.quick else TARGETS_MD_LARGE)
    rounds = args.rounds or (200 if args.quick else 400)
    cpus = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="tutahi-bench-") as scratch:
        folder = Path(scratch)
        results = [
            measure_a1(folder, events, args.repeat, cpus),
            *measure_a2_a3(folder, args.small, large, rounds, cpus),
        ]
    for result in results:
        result.details["quick"] = args.quick

    print(table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({r.id: asdict(r) for r in results}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    say(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
