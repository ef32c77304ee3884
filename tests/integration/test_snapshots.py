"""R1's mechanism (docs/targets.md): a long commitment is snapshotted every 100 versions,
so loading it reads one snapshot and at most 100 events after it, however long its
history. Counts are asserted, never times."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from application.documents import commitment_document
from application.ledger import Ledger
from domain.commitment import Commitment
from domain.values import Completion, OgpValue
from interfaces.composition import open_ledger
from tests.conftest import STORES, World, make_world, store_url_for

COMMANDS = 250
INTERVAL = 100


class EventReads:
    """Counts what the event store's recorder reads, call by call."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.original = recorder.select_events
        self.calls: list[dict[str, Any]] = []

    def __call__(self, originator_id: Any, **kwargs: Any) -> Any:
        rows = list(self.original(originator_id, **kwargs))
        self.calls.append({"originator_id": originator_id, "rows": len(rows), **kwargs})
        return rows

    def reset(self) -> None:
        self.calls.clear()

    @property
    def rows(self) -> int:
        return sum(call["rows"] for call in self.calls)


@dataclass(frozen=True)
class Long:
    """A ledger holding one commitment created (two events) and then given 250
    progress reports; built once per store, shared by this module's tests."""

    ledger: Ledger
    world: World
    id: UUID

    def current(self) -> int:
        last = list(self.ledger.recorder.select_events(self.id, desc=True, limit=1))
        return last[0].originator_version


@pytest.fixture(scope="module", params=STORES)
def long(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Long]:
    ledger = open_ledger(store_url_for(request.param, tmp_path_factory.mktemp("snapshots")))
    try:
        world = make_world(ledger)
        created = ledger.create_commitment(
            title="Better Public Services (BPS) Results programme",
            description="Ten results, reported on publicly.",
            action_plan="New Zealand National Action Plan 2014–16",
            external_ref="NZ0001",
            starts_on=date(2014, 7, 1),
            ends_on=date(2016, 6, 30),
            ogp_values=[OgpValue.PUBLIC_ACCOUNTABILITY],
            actor=world.dia,
            request_id="create",
        )
        assert created.created_id is not None
        cid = created.created_id
        for n in range(COMMANDS):
            completion = Completion.LIMITED if n % 2 == 0 else Completion.SUBSTANTIAL
            result = ledger.report_progress(
                cid, completion=completion, note=f"report {n}", actor=world.dia, request_id=f"p{n}"
            )
            assert result.version == n + 3
        yield Long(ledger, world, cid)
    finally:
        ledger.close()


@pytest.fixture
def reads(long: Long) -> Iterator[EventReads]:
    """Counts the event rows read while the test runs (snapshots are a separate store)."""
    recorder = long.ledger.events.recorder
    counter = EventReads(recorder)
    recorder.select_events = counter  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        del recorder.select_events


def replay(ledger: Ledger, commitment_id: UUID, version: int | None = None) -> Commitment:
    """The commitment folded from its first event, without snapshots."""
    aggregate: Any = None
    for event in ledger.events.get(commitment_id, lte=version):
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Commitment)
    return aggregate


def test_snapshots_are_taken_every_100_versions(long: Long) -> None:
    current = long.current()
    assert current >= COMMANDS + 2
    versions = [snapshot.originator_version for snapshot in long.ledger.snapshots.get(long.id)]
    assert versions == list(range(INTERVAL, current + 1, INTERVAL)) == [100, 200]
    latest = list(long.ledger.snapshots.get(long.id, desc=True, limit=1))
    assert latest[0].originator_version == 200
    assert current - latest[0].originator_version <= INTERVAL


def test_each_snapshot_holds_the_replayed_state(long: Long) -> None:
    for snapshot in long.ledger.snapshots.get(long.id):
        restored = snapshot.mutate(None)
        assert isinstance(restored, Commitment)
        assert restored.version == snapshot.originator_version
        replayed = replay(long.ledger, long.id, snapshot.originator_version)
        assert commitment_document(restored) == commitment_document(replayed)
        assert len(restored.progress) == snapshot.originator_version - 2


def test_loading_reads_at_most_100_events_after_the_latest_snapshot(long: Long, reads: EventReads) -> None:
    """A cold load (nothing cached in this process) starts from the latest snapshot."""
    current = long.current()
    cache = long.ledger.repository.cache
    if cache is not None:
        with contextlib.suppress(KeyError):
            cache.get(long.id, evict=True)
    reads.reset()
    loaded = long.ledger.repository.get(long.id)
    assert loaded.version == current
    assert len(reads.calls) == 1
    assert reads.calls[0]["gt"] == 200
    assert reads.rows == current - 200 <= INTERVAL
    assert commitment_document(loaded) == commitment_document(replay(long.ledger, long.id))


def test_a_warm_load_reads_only_what_was_recorded_since_it_was_cached(long: Long, reads: EventReads) -> None:
    """The aggregate cache is fast-forwarded from the store: one read of the events
    after the cached version (none, if nothing was recorded since)."""
    long.ledger.repository.get(long.id)  # warm
    current = long.current()
    reads.reset()
    loaded = long.ledger.repository.get(long.id)
    assert loaded.version == current
    assert [call.get("gt") for call in reads.calls] == [current]
    assert reads.rows == 0
    assert commitment_document(loaded) == commitment_document(replay(long.ledger, long.id))


@pytest.mark.parametrize(
    ("version", "snapshot", "tail"),
    [(1, None, 1), (99, None, 99), (100, 100, 0), (101, 100, 1), (199, 100, 99), (200, 200, 0), (252, 200, 52)],
)
def test_loading_a_past_version_starts_from_the_snapshot_at_or_before_it(
    long: Long, reads: EventReads, version: int, snapshot: int | None, tail: int
) -> None:
    loaded = long.ledger.repository.get(long.id, version=version)
    assert loaded.version == version
    assert [call.get("gt") for call in reads.calls] == [snapshot]
    assert reads.rows == tail <= INTERVAL
    reads.reset()
    assert commitment_document(loaded) == commitment_document(replay(long.ledger, long.id, version))
    # The commitment's document at that version (its joint actions, aggregates of their
    # own, come from the read models: it has none).
    assert long.ledger.get_commitment(long.id, version=version) == {**commitment_document(loaded), "actions": []}


def test_a_command_on_a_long_commitment_reads_a_bounded_tail(long: Long, reads: EventReads) -> None:
    before = long.current()
    reads.reset()
    result = long.ledger.report_progress(
        long.id, completion=Completion.COMPLETE, note="done", actor=long.world.dia, request_id=f"last-{before}"
    )
    assert result.version == before + 1
    assert reads.calls, "the command loads the commitment from the store"
    assert all(call["rows"] <= INTERVAL for call in reads.calls)
    assert reads.rows <= INTERVAL
    assert long.ledger.get_commitment(long.id)["completion"]["completion"] == "complete"
