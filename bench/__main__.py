"""``python -m bench [--quick]``: every speed and scale row of docs/targets.md (W1-W4,
W1-pg, W2-pg, R1-R5, A1-A4, M1, M1-pg), each against its baseline measured in the same
run, on SQLite files (``synchronous=FULL``) in a temporary folder, the ``-pg`` rows on
PostgreSQL.

Prints one table (id, figure, baseline, ratio, target, met) and writes
``bench/results/latest.json``: one object per id with those fields, the unit, the
machine's CPU count and the run's details. ``--quick`` runs everything at small sizes
in under a minute (the test command runs it, so the harness cannot rot); its ratios
are a smoke check, not the targets' measurements. Large stores (1,000,000 events) are
imported through the application's own batch path; ``--stores DIR`` keeps them
between runs. HTTP rows drive ``tutahi serve`` with ``wrk`` (Debian's package) as a
separate process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from bench.common import Result, Settings, say
from bench.http import measure_m1, measure_m1_pg, measure_w2, measure_w2_pg
from bench.log import measure_a1, measure_a2_a3, measure_a4
from bench.reads import measure_r1_r3, measure_r2, measure_r4, measure_r5
from bench.writes import measure_w1, measure_w1_pg, measure_w3_w4

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ["W1", "W1-pg", "W2", "W2-pg", "W3", "W4", "R1", "R2", "R3", "R4", "R5", "A1", "A2", "A3", "A4", "M1", "M1-pg"]

Measure = Callable[[Settings], list[Result]]

# Each entry measures the rows it names (some share a store or a build).
MEASURES: list[tuple[tuple[str, ...], Measure]] = [
    (("W1",), lambda s: [measure_w1(s)]),
    (("W1-pg",), lambda s: [measure_w1_pg(s)]),
    (("W2",), lambda s: [measure_w2(s)]),
    (("W2-pg",), lambda s: [measure_w2_pg(s)]),
    (("W3", "W4"), measure_w3_w4),  # W4's baseline is W3's figure
    (("R1", "R3"), lambda s: list(measure_r1_r3(s))),
    (("R2",), lambda s: [measure_r2(s)]),
    (("R4",), lambda s: [measure_r4(s)]),
    (("R5",), lambda s: [measure_r5(s)]),
    (("A1",), lambda s: [measure_a1(s, s.size(10_000, 2_000))]),
    (
        ("A2", "A3"),
        lambda s: list(measure_a2_a3(s, 1_000, s.size(1_000_000, 20_000), s.size(400, 100))),
    ),
    (("A4",), lambda s: [measure_a4(s, 1_000, s.size(1_000_000, 20_000), s.size(400, 60))]),
    (("M1",), lambda s: [measure_m1(s)]),
    (("M1-pg",), lambda s: [measure_m1_pg(s)]),
]


def markdown(results: Sequence[Result], missing: dict[str, str]) -> str:
    """The table as Markdown, for the README's Performance section."""
    lines = [
        "| id | what | figure | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in sorted(results, key=lambda r: ORDER.index(r.id)):
        lines.append(
            f"| {r.id} | {r.what} | {r.figure:.4g} {r.unit} | {r.baseline:.4g} {r.unit} | {r.ratio:.3g} "
            f"| {r.target} | {'yes' if r.met else '**no**'} |"
        )
    for row_id, reason in missing.items():
        lines.append(f"| {row_id} | not measured: {reason} | | | | | |")
    return "\n".join(lines)


def table(results: Sequence[Result], missing: dict[str, str]) -> str:
    rows = [("id", "figure", "baseline", "unit", "ratio", "target", "met")]
    for r in sorted(results, key=lambda r: ORDER.index(r.id)):
        rows.append(
            (r.id, f"{r.figure:.4g}", f"{r.baseline:.4g}", r.unit, f"{r.ratio:.3g}", r.target, "yes" if r.met else "NO")
        )
    for row_id, reason in missing.items():
        rows.append((row_id, "-", "-", "", "-", "", f"not measured: {reason}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute: a smoke run")
    parser.add_argument("--only", default=None, help="comma-separated ids to measure (default: every row)")
    parser.add_argument("--stores", type=Path, default=None, help="keep (and reuse) the large stores in this folder")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="the JSON results file")
    args = parser.parse_args(argv)
    known = {row_id.upper(): row_id for row_id in ORDER}
    asked = [] if args.only is None else [part.strip().upper() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(asked) - set(known))
    wanted = ORDER if args.only is None else [known[row_id] for row_id in asked if row_id in known]
    if unknown:
        parser.error(f"unknown row id(s): {', '.join(unknown)} (known: {', '.join(ORDER)})")

    results: list[Result] = []
    missing: dict[str, str] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tutahi-bench-") as scratch:
        settings = Settings(quick=args.quick, folder=Path(scratch), stores=args.stores)
        for ids, measure in MEASURES:
            if not set(ids) & set(wanted):
                continue
            say(f"== {', '.join(ids)}")
            try:
                results.extend(r for r in measure(settings) if r.id in wanted)
            except Exception as error:  # one row failing must not hide the others
                traceback.print_exc()
                for row_id in ids:
                    if row_id in wanted:
                        missing[row_id] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    for result in results:
        result.details["quick"] = args.quick

    print(table(results, missing))
    if args.markdown:
        print()
        print(markdown(results, missing))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {r.id: asdict(r) for r in sorted(results, key=lambda r: ORDER.index(r.id))}
    for row_id, reason in missing.items():
        document[row_id] = {"id": row_id, "error": reason}
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"written to {args.output} ({time.perf_counter() - started:.0f} s)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
