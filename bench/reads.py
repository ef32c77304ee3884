"""R1-R5, the read rows of docs/targets.md (R5: commands on a commitment with many joint actions).

- R1, load a long commitment: a cold load (no cache: latest snapshot plus the events
  after it) of a commitment of 10,000 events, mostly joint actions and their responses
  (aggregates of their own), ÷ of one of 150 events. The long one's own stream is 50
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
- R5, writes on a big commitment: single commands through the application (a joint
  action recorded, a response, a milestone, a progress report) on a commitment with
  3,000 joint actions ÷ the same on a new commitment (medians). Target ≤ 1.5.
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
from domain.joint_action import JointAction
from domain.values import ActorRole, Completion, OgpValue, PartnerKind, PartnerRole, Response, Visibility
from interfaces.app import create_app
from interfaces.composition import open_ledger

MiB = 1024 * 1024
FLAT_SLACK = 16 * MiB  # allocator noise allowed when comparing RSS growth


# -- R1 and R3: a long commitment ---------------------------------------------------------------------


def long_commitment(ledger: Ledger, ref: str, events: int) -> UUID:
    """A commitment of ``events`` events in all, led by the Department of Internal
    Affairs with Hui E! and Te Puni Kōkiri: mostly joint actions and their responses
    (each action confirmed by both the partners it names), interleaved with the
    commitment's own events (about 15 in 100 of a long one: amendments, and every 40 a
    milestone added and reached and a progress report). Committed through
    ``Ledger.commit`` (the batch path), so snapshots fall every 100 of the commitment's
    own events; its own stream ends 50 events past one (a short one: 50 events, none)."""
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
    own_events = max(commitment.version + 1, events * 3 // 20 // 100 * 100 + 50)
    action_count = (events - own_events) // 3
    own_events = events - 3 * action_count  # the remainder, if any, is the commitment's own
    actions: list[JointAction] = []
    made, n = 0, 0
    while commitment.version < own_events or made < action_count:
        n += 1
        rid = f"{ref}-{n}"
        own_share = (commitment.version + 1) / own_events
        if made < action_count and (commitment.version >= own_events or (made + 1) / action_count <= own_share):
            action = JointAction.record(
                id=uuid4(), commitment=commitment, summary=f"Hui {n}", occurred_on=on,
                partner_ids=[hui_e.id, tpk.id], evidence_url=None, actor=dia, request_id=rid,
            )  # fmt: skip
            action.respond(commitment=commitment, response=Response.CONFIRMED, note=None, actor=hui_e, request_id=rid)
            action.respond(commitment=commitment, response=Response.CONFIRMED, note=None, actor=tpk, request_id=rid)
            actions.append(action)
            made += 1
        else:
            step = commitment.version % 40
            if step == 10:
                milestone = uuid4()
                commitment.add_milestone(
                    milestone_id=milestone, title=f"Milestone {n}", due_on=on, actor=dia, request_id=rid
                )
            elif step == 11 and commitment.milestones:
                commitment.reach_milestone(
                    milestone_id=milestone, reached_on=on, today=on, evidence_url=None, note=None, actor=tpk,
                    request_id=rid,
                )  # fmt: skip
            elif step == 30:
                commitment.report_progress(
                    completion=Completion.LIMITED, note=f"Report {n}", as_of=on, actor=dia, request_id=rid
                )
            else:
                commitment.amend(
                    changes={"description": f"A long history for the read benchmarks (revision {n})."},
                    reason="kept up to date", actor=dia, request_id=rid,
                )  # fmt: skip
            if commitment.version % 100 == 0:
                ledger.commit(commitment, *actions)
                actions = []
        if len(actions) >= 100:
            ledger.commit(commitment, *actions)
            actions = []
    ledger.commit(commitment, *actions)
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

        long_version = ledger.load_commitment(long_id).version
        short_version = ledger.load_commitment(short_id).version

        def cold(commitment_id: UUID, version: int) -> float:
            started = time.perf_counter()
            loaded: Any = ledger.repository.get(commitment_id, version=version)  # bypasses the cache
            elapsed = time.perf_counter() - started
            assert loaded.version == version
            return elapsed

        cold(long_id, long_version), cold(short_id, short_version)  # warm up the statements
        # Interleaved, so that a change in the machine's load during the run weighs on both.
        longs, shorts = [], []
        for _ in range(loads):
            longs.append(cold(long_id, long_version))
            shorts.append(cold(short_id, short_version))
        long_load, short_load = median(longs), median(shorts)

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
    details = {
        "long_events": long_events,
        "short_events": short_events,
        "long_own_events": long_version,
        "short_own_events": short_version,
        "loads": loads,
    }
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


# -- R5: commands on a commitment with thousands of joint actions ------------------------------------


def measure_r5(settings: Settings) -> Result:
    """Commands through the application (each its own unit of work) on a commitment with
    3,000 joint actions ÷ the same commands on a new commitment with the same partners,
    in alternating rounds: a joint action recorded, a response to it, a milestone added,
    a progress report. Medians of the single commands."""
    actions_wanted = settings.size(3_000, 600)
    per_kind = settings.size(100, 20)
    ledger = open_ledger(f"sqlite:///{settings.folder}/r5.db")
    try:
        load_demo(ledger)
        # Total events of a long commitment with about that many actions (see long_commitment).
        events = actions_wanted * 3 * 20 // 17 + 150
        say(f"R5: building a commitment with {actions_wanted:,} joint actions ({events:,} events)")
        big = long_commitment(ledger, "R5BIG", events)
        actions = sum(1 for _ in ledger.read_models.actions_of(big))
        dia, hui_e, tpk = actor_of(DIA), actor_of(HUI_E), actor_of(TPK)
        created = ledger.create_commitment(
            title="A new commitment", description="", action_plan="Benchmarks", external_ref="R5NEW",
            starts_on=date(2014, 7, 1), ends_on=date(2016, 6, 30), ogp_values=[OgpValue.CIVIC_PARTICIPATION],
            visibility=Visibility.PUBLIC, actor=dia, request_id="r5-new",
        )  # fmt: skip
        new = created.aggregate_id
        ledger.add_partner(new, partner_id=hui_e.id, role=PartnerRole.COMMUNITY, actor=dia, request_id="r5-1")
        ledger.add_partner(new, partner_id=tpk.id, role=PartnerRole.SUPPORT, actor=dia, request_id="r5-2")
        on = date(2015, 6, 1)

        def round_on(commitment_id: UUID, n: int) -> list[float]:
            times = []
            started = time.perf_counter()
            action = ledger.record_joint_action(
                commitment_id, summary=f"Workshop {n}", occurred_on=on, partner_ids=[hui_e.id],
                actor=dia, request_id=f"r5-a-{n}",
            )  # fmt: skip
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            ledger.respond_to_action(
                commitment_id, action.aggregate_id, response=Response.CONFIRMED, actor=hui_e, request_id=f"r5-r-{n}"
            )
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            ledger.add_milestone(commitment_id, title=f"Milestone {n}", due_on=on, actor=tpk, request_id=f"r5-m-{n}")
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            ledger.report_progress(
                commitment_id, completion=Completion.LIMITED, note=f"Report {n}", as_of=on, actor=dia,
                request_id=f"r5-p-{n}",
            )  # fmt: skip
            times.append(time.perf_counter() - started)
            return times

        for n in range(5):  # warm up: both cached, statements compiled
            round_on(big, -n - 1), round_on(new, -n - 1)
        say(f"R5: {per_kind * 4:,} commands on each, alternating")
        on_big: list[float] = []
        on_new: list[float] = []
        for n in range(per_kind):
            on_big += round_on(big, n)
            on_new += round_on(new, n)
    finally:
        ledger.close()
    return ratio_row(
        "R5",
        f"a command on a commitment with {actions:,} joint actions ÷ on a new commitment (median)",
        median(on_big),
        median(on_new),
        "s",
        "≤ 1.5",
        settings,
        {"actions": actions, "commands_each": len(on_big), "events": events},
        higher_is_better=False,
        bound=1.5,
    )


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
        if events == large:
            raw_select_seconds(url)  # warm the page cache, so that neither side reads a cold file
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
