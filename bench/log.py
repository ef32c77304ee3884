"""A1-A4, the verifiable log's rows of docs/targets.md.

- A1, verify the log: events/s of ``Auditor.verify()`` over a log ÷ events/s of
  ``hashlib.sha256`` over the same bytes (each event's stored document, the leaf's
  pre-image, with the leaf's 0x00 prefix), one event at a time. Target ≥ 0.3.
- A2, proofs at scale: one inclusion proof plus one consistency proof (random
  positions and first sizes) in a tree of 1,000,000 leaves ÷ in a tree of 1,000;
  medians. Target ≤ 2.
- A3, checkpoints at scale: making, signing and storing a checkpoint at 1,000,000
  leaves ÷ at 1,000; medians. Target ≤ 2.
- A4, tiles at scale: serving a random full level-0 tile and its entry bundle (C2SP
  tlog-tiles, over the service's routes) at 1,000,000 leaves ÷ at 1,000; medians.
  Target ≤ 2.
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy import text

from application.audit import Auditor
from application.tiles import index_path
from bench.common import (
    Result,
    Settings,
    best_time,
    copy_store,
    median,
    plan_store,
    ratio_row,
    say,
    warm_cache,
)
from domain.values import ActorRole
from interfaces.app import access_log, create_app
from interfaces.composition import open_auditor, open_ledger

# -- A1 ---------------------------------------------------------------------------------------------


def measure_a1(settings: Settings, events: int, repeat: int = 3) -> Result:
    """Full verification of a plan store of ``events`` events (recompute every leaf
    from the stored event, rebuild the tree, reproduce the latest checkpoint's root)
    ÷ sha256 alone over the same canonical leaf bytes. On a copy of the store, with a
    key of this run's: the checkpoint it makes is signed and stored there."""
    url, kept = plan_store(settings, events)
    kept.close()
    ledger = open_ledger(copy_store(url, settings.folder / "a1.db"))
    try:
        auditor = open_auditor(ledger, str(settings.folder / "instance"))  # makes its tables if new
        with ledger.transaction() as tx:  # checkpoints of earlier runs were signed with their keys
            tx.execute(text("DELETE FROM tutahi_checkpoints"))
        auditor.checkpoint()  # verification also reproduces the latest checkpoint's root
        size = auditor.size()
        verdict = auditor.verify()
        assert verdict.ok, verdict.detail
        say(f"A1: verifying {size:,} events, best of {repeat}")
        verify_seconds = best_time(auditor.verify, repeat)
        blobs = [b"\x00" + bytes(row[1]) for batch in ledger.event_log.scan() for row in batch]
        assert len(blobs) == size

        def hash_all() -> None:
            for blob in blobs:
                hashlib.sha256(blob).digest()

        hash_seconds = best_time(hash_all, max(repeat, 5))
    finally:
        ledger.close()
    return ratio_row(
        "A1",
        "events/s of a full verification of the log ÷ hashlib.sha256 over the same canonical bytes",
        size / verify_seconds,
        size / hash_seconds,
        "events/s",
        "≥ 0.3",
        settings,
        {"events": size, "bytes": sum(len(b) for b in blobs), "verify_s": verify_seconds, "sha256_s": hash_seconds},
        higher_is_better=True,
        bound=0.3,
    )


def proof_seconds(auditor: Auditor, size: int, rounds: int, rng: random.Random) -> float:
    """Median time of ``Auditor.inclusion`` plus ``Auditor.consistency`` (as the API
    serves them: bounds checked, nodes read in one query each) in a tree of ``size``,
    at random positions and first sizes."""
    times = []
    for _ in range(rounds):
        position, first = rng.randrange(size), rng.randrange(1, size + 1)
        started = time.perf_counter()
        auditor.inclusion(position, size)
        auditor.consistency(first, size)
        times.append(time.perf_counter() - started)
    return median(times)


def checkpoint_seconds(auditor: Auditor, rounds: int) -> float:
    """Median time of ``Auditor.checkpoint()`` at the log's size: root from the stored
    nodes, Ed25519 signature, stored. The stored checkpoint is removed between rounds
    (one is made per size), outside the timing."""
    times = []
    for _ in range(rounds):
        with auditor.ledger.transaction() as tx:
            tx.execute(text("DELETE FROM tutahi_checkpoints"))
        started = time.perf_counter()
        auditor.checkpoint()
        times.append(time.perf_counter() - started)
    return median(times)


def measure_a2_a3(settings: Settings, small: int, large: int, rounds: int) -> tuple[Result, Result]:
    """Proofs and checkpoints in the plan stores of ``large`` and ``small`` events: the
    trees the service itself built while importing them."""
    rng = random.Random(9162)
    figures: dict[int, tuple[float, float, int]] = {}
    for size in (small, large):
        url, ledger = plan_store(settings, size)
        try:
            warm_cache(url)
            auditor = open_auditor(ledger, settings.instance)
            proof_seconds(auditor, size, max(rounds // 10, 3), rng)  # warm up
            say(f"A2/A3: {rounds} proofs and {max(rounds // 10, 5)} checkpoints at {size:,} leaves")
            figures[size] = (
                proof_seconds(auditor, size, rounds, rng),
                checkpoint_seconds(auditor, max(rounds // 10, 5)),
                auditor.size(),
            )
        finally:
            ledger.close()
    (proof_small, sign_small, leaves_small), (proof_large, sign_large, leaves_large) = figures[small], figures[large]
    details = {"small": small, "large": large, "checkpoint_sizes": [leaves_small, leaves_large], "rounds": rounds}
    return (
        ratio_row(
            "A2",
            f"an inclusion and a consistency proof at {large:,} leaves ÷ at {small:,} (median)",
            proof_large,
            proof_small,
            "s",
            "≤ 2",
            settings,
            details,
            higher_is_better=False,
            bound=2,
        ),
        ratio_row(
            "A3",
            f"making and signing a checkpoint at {leaves_large:,} leaves ÷ at {leaves_small:,} (median)",
            sign_large,
            sign_small,
            "s",
            "≤ 2",
            settings,
            details,
            higher_is_better=False,
            bound=2,
        ),
    )


# -- A4 ---------------------------------------------------------------------------------------------


def tile_seconds(
    client: FlaskClient, auditor: dict[str, str], full_tiles: int, rounds: int, rng: random.Random
) -> float:
    """Median time of serving a random full level-0 tile and its entry bundle over the
    service's own routes (as a tile client reads them: the hashes, then the entries,
    which are for auditors)."""
    times = []
    for _ in range(rounds):
        path = index_path(rng.randrange(full_tiles))
        started = time.perf_counter()
        hashes = client.get(f"/log/tile/0/{path}")
        entries = client.get(f"/log/tile/entries/{path}", headers=auditor)
        times.append(time.perf_counter() - started)
        assert hashes.status_code == 200 and len(hashes.data) == 8192, hashes.status_code
        assert entries.status_code == 200, entries.status_code
    return median(times)


def measure_a4(settings: Settings, small: int, large: int, rounds: int) -> Result:
    """A4: serving a full tile (and its entry bundle) at ``large`` leaves ÷ at ``small``,
    through the Flask app on the plan stores A2 and A3 use."""
    rng = random.Random(6962)
    figures: dict[int, tuple[float, int]] = {}
    for size in (small, large):
        url, ledger = plan_store(settings, size)
        ledger.close()
        app = create_app({"DATABASE_URL": url, "TESTING": True, "INSTANCE_PATH": settings.instance})
        access_log.disabled = True  # a line per request on the terminal is not what is measured
        try:
            services = app.extensions["tutahi"]
            leaves = services.ledger.log_size()
            issued = services.credentials.issue(ActorRole.AUDITOR, name="bench A4", now=datetime.now(UTC))
            auditor = {"Authorization": f"Bearer {issued.token}"}
            client = app.test_client()
            tile_seconds(client, auditor, leaves // 256, max(rounds // 10, 3), rng)  # warm up
            say(f"A4: {rounds} full tiles and bundles at {leaves:,} leaves")
            figures[size] = (tile_seconds(client, auditor, leaves // 256, rounds, rng), leaves)
        finally:
            access_log.disabled = False
            app.extensions["tutahi"].close()
    (small_s, small_leaves), (large_s, large_leaves) = figures[small], figures[large]
    return ratio_row(
        "A4",
        f"serving a full tile and its entry bundle at {large_leaves:,} leaves ÷ at {small_leaves:,} (median)",
        large_s,
        small_s,
        "s",
        "≤ 2",
        settings,
        {"small": small_leaves, "large": large_leaves, "rounds": rounds},
        higher_is_better=False,
        bound=2,
    )
