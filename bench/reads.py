"""R1-R4, the read rows of targets.md.

- R1, load a long commitment: a cold load (no cache: latest snapshot plus the events
  after it) of a commitment of 10,000 events ÷ of one of 100 events. Both are 50
  events past a snapshot (the average case with a snapshot every 100). Target ≤ 2.
- R2, timeline page at scale: p99 of ``GET /api/v1/partners/{id}/timeline?limit=100``
  pages (first pages and pages at random cursors, through the Flask app) with
  1,000,000 events stored ÷ with 10,000 stored. Target ≤ 1.5.
- R3, time travel: ``as_of`` reads of the 10,000-event commitment at random instants
  of its history ÷ reads of its current state (medians). Target ≤ 3.
- R4, read the whole log: events/s of the streamed export
  (``GET /api/v1/export/events.jsonl``) ÷ the raw ``sqlite3`` SELECT of the same rows;
  and memory flat: the process's RSS growth while streaming 1,000,000 events is no
  more than while streaming 10,000, give or take 16 MiB. Target ≥ 0.3.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from flask import Flask
from flask.testing import FlaskClient

from application.demo import DIA, HUI_E, NAMESPACE, TINZ, TPK, actor_of, load_demo, partner_id
from application.ledger import Ledger
from bench.common import Result, Settings, median, percentile, plan_store, ratio_row, rss_bytes, say
from domain.commitment import Commitment
from domain.values import ActorRole, Completion, OgpValue, PartnerKind, PartnerRole, Response, Visibility
from interfaces.app import create_app
from interfaces.composition import open_ledger

MiB = 1024 * 1024
FLAT_SLACK = 16 * MiB  # allocator noise allowed when comparing RSS growth


# -- R1 and R3: a long commitment ---------------------------------------------------------------------


def long_commitment(ledger: Ledger, ref: str, events: int) -> UUID:
    """A commitment of ``events`` events led by the Department of Internal Affairs with
    Hui E! and Te Puni Kōkiri: joint actions and their confirmations, milestones added
    and reached, amendments and progress reports, in turn. Committed 100 events at a
    time through ``Ledger.commit`` (the batch path), so snapshots fall every 100."""
    dia, hui_e, tpk = actor_of(DIA), actor_of(HUI_E), actor_of(TPK)
    commitment = Commitment.start(
        id=uuid5(NAMESPACE, f"bench:{ref}"),
        title=f"Benchmark commitment {ref}",
        description="A long history for the read benchmarks.",
        action_plan="Benchmarks",
        external_ref=ref,
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.CIVIC_PARTICIPATION],
        visibility=Visibility.PUBLIC,
        lead=(dia.id, dia.name, PartnerKind.AGENCY),
        actor=dia,
        request_id=f"{ref}-start",
    )
    commitment.add_partner(
        partner_id=hui_e.id, name=hui_e.name, kind=PartnerKind.COMMUNITY_ORGANISATION,
        role=PartnerRole.COMMUNITY, actor=dia, request_id=f"{ref}-join-1",
    )  # fmt: skip
    commitment.add_partner(
        partner_id=tpk.id, name=tpk.name, kind=PartnerKind.AGENCY, role=PartnerRole.SUPPORT,
        actor=dia, request_id=f"{ref}-join-2",
    )  # fmt: skip
    on = date(2015, 6, 1)
    n = 0
    while commitment.version < events:
        n += 1
        rid = f"{ref}-{n}"
        step = n % 6
        if step == 1:
            action = uuid4()
            commitment.record_joint_action(
                action_id=action, summary=f"Hui {n}", occurred_on=on, partner_ids=[hui_e.id],
                evidence_url=None, actor=dia, request_id=rid,
            )  # fmt: skip
        elif step == 2:
            commitment.respond_to_action(
                action_id=action, response=Response.CONFIRMED, note=None, actor=hui_e, request_id=rid
            )
        elif step == 3:
            milestone = uuid4()
            commitment.add_milestone(
                milestone_id=milestone, title=f"Milestone {n}", due_on=on, actor=dia, request_id=rid
            )
        elif step == 4:
            commitment.reach_milestone(
                milestone_id=milestone, reached_on=on, today=on, evidence_url=None, note=None, actor=tpk,
                request_id=rid,
            )  # fmt: skip
        elif step == 5:
            commitment.amend(
                changes={"description": f"A long history for the read benchmarks (revision {n})."},
                reason="kept up to date", actor=dia, request_id=rid,
            )  # fmt: skip
        else:
            commitment.report_progress(completion=Completion.LIMITED, note=f"Report {n}", actor=dia, request_id=rid)
        if commitment.version % 100 == 0 or commitment.version == events:
            ledger.commit(commitment)
    return commitment.id


def measure_r1_r3(settings: Settings) -> tuple[Result, Result]:
    long_events = settings.size(10_000, 2_000) + 50
    short_events = 150
    loads = settings.size(50, 15)
    ledger = open_ledger(f"sqlite:///{settings.folder}/r1.db")
    try:
        load_demo(ledger)
        say(f"R1/R3: building commitments of {long_events:,} and {short_events} events")
        long_id = long_commitment(ledger, "LONG", long_events)
        short_id = long_commitment(ledger, "SHORT", short_events)

        def cold(commitment_id: UUID, version: int) -> float:
            started = time.perf_counter()
            loaded: Any = ledger.repository.get(commitment_id, version=version)  # bypasses the cache
            elapsed = time.perf_counter() - started
            assert loaded.version == version
            return elapsed

        cold(long_id, long_events), cold(short_id, short_events)  # warm up the statements
        long_load = median([cold(long_id, long_events) for _ in range(loads)])
        short_load = median([cold(short_id, short_events) for _ in range(loads)])

        history = ledger.commitment_history(long_id)
        first, last = (datetime.fromisoformat(history[n]["recorded_at"]) for n in (0, -1))
        rng = random.Random(3)
        instants = [first + (last - first) * rng.random() for _ in range(loads)]
        ledger.get_commitment(long_id)  # cached, as a running service has it
        current = []
        for _ in range(loads):
            started = time.perf_counter()
            ledger.get_commitment(long_id)
            current.append(time.perf_counter() - started)
        travelled = []
        for instant in instants:
            started = time.perf_counter()
            ledger.get_commitment(long_id, as_of=instant)
            travelled.append(time.perf_counter() - started)
    finally:
        ledger.close()
    details = {"long_events": long_events, "short_events": short_events, "loads": loads}
    return (
        ratio_row(
            "R1",
            f"cold load of a {long_events:,}-event commitment ÷ of a {short_events}-event one (median)",
            long_load,
            short_load,
            "s",
            "≤ 2",
            settings,
            details,
            higher_is_better=False,
            bound=2,
        ),
        ratio_row(
            "R3",
            f"as_of read of the {long_events:,}-event commitment ÷ its current-state read (median)",
            median(travelled),
            median(current),
            "s",
            "≤ 3",
            settings,
            details,
            higher_is_better=False,
            bound=3,
        ),
    )


# -- R2: timeline pages at scale ----------------------------------------------------------------------


def api_client(settings: Settings, url: str) -> tuple[Flask, FlaskClient, dict[str, str]]:
    """The service's Flask app over ``url`` and an auditor's Authorization header."""
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": settings.instance})
    logging.getLogger("tutahi.access").setLevel(logging.WARNING)  # one JSON line per request otherwise
    services = app.extensions["tutahi"]
    issued = services.credentials.issue(ActorRole.AUDITOR, name="Benchmark auditor", now=datetime.now(UTC))
    return app, app.test_client(), {"Authorization": f"Bearer {issued.token}"}


class TimelinePages:
    """100-entry partner timeline pages of a plan store, through the service's Flask
    app: the Department of Internal Affairs (in half the commitments) and Transparency
    International New Zealand (in a quarter), first pages and pages after random
    cursors in the newer half of the log."""

    def __init__(self, settings: Settings, events: int) -> None:
        url, ledger = plan_store(settings, events)
        self.size = ledger.log_size()
        ledger.close()
        self.app, self.client, self.headers = api_client(settings, url)
        self.rng = random.Random(events)
        self.partners = [partner_id(DIA), partner_id(TINZ)]
        self.times: list[float] = []

    def page(self, n: int, timed: bool = True) -> None:
        cursor = "" if n % 10 == 0 else f"&after={self.rng.randrange(self.size // 2, self.size)}"
        url = f"/api/v1/partners/{self.partners[n % 2]}/timeline?limit=100{cursor}"
        started = time.perf_counter()
        response = self.client.get(url, headers=self.headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(response.get_json()["items"]) == 100
        if timed:
            self.times.append(elapsed)

    def close(self) -> None:
        self.app.extensions["tutahi"].close()

    def details(self) -> dict[str, Any]:
        return {"events": self.size, "pages": len(self.times), "median_s": median(self.times)}


def measure_r2(settings: Settings) -> Result:
    small_size, large_size = settings.size(10_000, 2_000), settings.size(1_000_000, 20_000)
    pages = settings.size(1_000, 200)
    small = TimelinePages(settings, small_size)
    try:
        large = TimelinePages(settings, large_size)
        try:
            say(f"R2: {pages} timeline pages at {small_size:,} and {large_size:,} events, alternately")
            for n in range(20):
                small.page(n, timed=False), large.page(n, timed=False)
            for n in range(pages):  # alternately: both sizes see the same machine
                small.page(n)
                large.page(n)
        finally:
            large.close()
    finally:
        small.close()
    p99_small, p99_large = percentile(small.times, 99), percentile(large.times, 99)
    at_small, at_large = small.details(), large.details()
    return ratio_row(
        "R2",
        f"p99 of a 100-entry timeline page with {large_size:,} events stored ÷ with {small_size:,}",
        p99_large,
        p99_small,
        "s",
        "≤ 1.5",
        settings,
        {"small": at_small, "large": at_large},
        higher_is_better=False,
        bound=1.5,
    )


# -- R4: the whole log ---------------------------------------------------------------------------------


def streamed_export(settings: Settings, url: str) -> tuple[int, float, int]:
    """Streams ``GET /api/v1/export/events.jsonl`` through the app: lines, seconds,
    and the process's RSS growth over the stream (sampled every 1,000 chunks)."""
    app, client, headers = api_client(settings, url)
    try:
        before = rss_bytes()
        peak = before
        lines = 0
        started = time.perf_counter()
        response = client.get("/api/v1/export/events.jsonl", headers=headers, buffered=False)
        assert response.status_code == 200
        chunks: Iterator[bytes] = iter(response.response)  # type: ignore[arg-type]
        for count, chunk in enumerate(chunks):
            lines += chunk.count(b"\n")
            if count % 1000 == 0:
                peak = max(peak, rss_bytes())
        elapsed = time.perf_counter() - started
        response.close()
    finally:
        app.extensions["tutahi"].close()
    return lines, elapsed, max(peak, rss_bytes()) - before


def raw_select_seconds(url: str) -> tuple[int, float]:
    """The raw driver reading the same rows: every stored event's position, document and
    leaf, in position order."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        started = time.perf_counter()
        rows = 0
        for _ in connection.execute("SELECT position, document, leaf FROM tutahi_event_log ORDER BY position"):
            rows += 1
        return rows, time.perf_counter() - started
    finally:
        connection.close()


def measure_r4(settings: Settings) -> Result:
    small, large = settings.size(10_000, 2_000), settings.size(1_000_000, 20_000)
    growth: dict[int, int] = {}
    figure = baseline = 0.0
    exported = 0
    for events in (small, large):
        url, ledger = plan_store(settings, events)
        ledger.close()
        say(f"R4: streaming the export of {events:,} events")
        lines, seconds, grown = streamed_export(settings, url)
        growth[events] = grown
        if events == large:
            rows, raw_seconds = raw_select_seconds(url)
            assert rows == lines, (rows, lines)
            figure, baseline, exported = lines / seconds, rows / raw_seconds, lines
    result = ratio_row(
        "R4",
        f"events/s of the streamed export of {large:,} events ÷ raw sqlite3 SELECT of the same rows; memory flat",
        figure,
        baseline,
        "events/s",
        "≥ 0.3; memory flat",
        settings,
        {
            "events": exported,
            "rss_growth_mib": {str(k): round(v / MiB, 1) for k, v in growth.items()},
            "flat_slack_mib": FLAT_SLACK // MiB,
        },
        higher_is_better=True,
        bound=0.3,
    )
    result.met = result.met and growth[large] <= growth[small] + FLAT_SLACK
    return result
