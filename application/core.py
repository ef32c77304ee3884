"""The ledger's core: one eventsourcing ``Application`` whose event store is the log,
and the unit of work every command runs in.

A use case is a change: load what it needs (cached aggregates are fast-forwarded inside
the transaction), apply the domain's command, and return what to save. ``run`` opens
the transaction, runs the change, appends its events to the log, projects them into the
read models, keeps the response for an idempotency key, and commits: all or nothing. A
change without an expected version that loses a race to another writer is run again
from fresh state, a few times, before the conflict is reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder, OperationalError, Recording

from application.documents import commitment_document, part_document, partner_document, progress_document
from application.errors import ConcurrentWrite, KeyInUse, NotFound, StoreBusy, VersionMismatch
from application.idempotency import Idempotency, IdempotencyStore
from application.log import LogEventStore, LogMapper, LogStore
from application.ports import ReadModelStore
from application.projections import Projector
from application.transcodings import register_domain_transcodings
from domain.commitment import Commitment
from domain.partner import Partner
from domain.values import Actor, ActorRole, Visibility

RETRIES = 5  # runs of a change without If-Match that keeps losing races, before 409


@dataclass(frozen=True)
class CommandResult:
    """What every successful command returns: the aggregate's new version and the log
    position of its last event (and the id of what it created, if anything)."""

    aggregate_id: UUID
    version: int
    position: int
    created_id: UUID | None = None
    aggregate: Commitment | Partner | None = field(default=None, compare=False, repr=False)

    @property
    def document(self) -> dict[str, Any]:
        """The aggregate's document after the command (made when asked for: most
        callers need only a part of it)."""
        if isinstance(self.aggregate, Commitment):
            return commitment_document(self.aggregate)
        if isinstance(self.aggregate, Partner):
            return partner_document(self.aggregate)
        return {}

    def part(self, collection: str, item_id: Any) -> dict[str, Any]:
        """One partner, milestone or joint action of the commitment after the command."""
        assert isinstance(self.aggregate, Commitment)
        return part_document(self.aggregate, collection, item_id)

    def completion(self) -> dict[str, Any] | None:
        """The commitment's latest progress report after the command."""
        assert isinstance(self.aggregate, Commitment)
        return progress_document(self.aggregate, -1) if self.aggregate.progress else None


@dataclass(frozen=True)
class Change:
    """What a use case's change made: the aggregates to save (the result's first), and
    the id of what it created, if anything."""

    aggregates: tuple[Commitment | Partner, ...]
    created_id: UUID | None = None


def latest_world_day() -> date:
    """The latest date that is not in the future anywhere (UTC+14), so that a partner in
    Aotearoa can report something done today before UTC has reached that day."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def applied(aggregate: Any, events: Iterable[Any]) -> Any:
    """An aggregate with events applied in turn (the library's default does the same,
    checking each event against a runtime protocol first, which cost more than applying it)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerCore(Application[UUID]):
    """The application, its stores and the unit of work (see the module's notes)."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Commitment: 100, Partner: 100}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        read_models: Callable[[Any], ReadModelStore],
        log: Callable[[Any], LogStore],
        idempotency: Callable[[Any], IdempotencyStore],
    ) -> None:
        super().__init__(env)
        self.read_models = read_models(self.recorder)
        self.event_log = log(self.recorder)
        self.idempotency = idempotency(self.recorder)
        self.projector = Projector(self.read_models)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """For snapshots, which the library's mapper keeps (events are the log's)."""
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def construct_event_store(self) -> EventStore[UUID]:
        return LogEventStore(mapper=LogMapper(), recorder=self.recorder)

    # -- the unit of work -----------------------------------------------------------------

    def transaction(self) -> Any:
        """The store's write transaction; events saved inside it join it."""
        return cast(Any, self.recorder).transaction(commit=True)

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        """One transaction for everything a command writes. A lost race becomes
        ``ConcurrentWrite``, a locked store ``StoreBusy``."""
        try:
            with self.transaction() as tx:
                yield tx
        except KeyInUse:
            raise
        except IntegrityError as error:
            raise ConcurrentWrite("another change to this record was saved first; reload and retry") from error
        except OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreBusy("the store is busy; retry shortly") from error
            raise

    def run(
        self,
        change: Callable[[], Change],
        *,
        idempotency: Idempotency | None = None,
        retry: bool = True,
    ) -> CommandResult:
        """Runs a change in one unit of work (see the module's notes)."""
        for attempt in range(RETRIES if retry else 1):
            try:
                with self.unit_of_work() as tx:
                    made = change()
                    positions = self.append(tx, made.aggregates)
                    first = made.aggregates[0]
                    result = CommandResult(first.id, first.version, positions[-1], made.created_id, first)
                    if idempotency is not None:
                        idempotency.keep(tx, self.idempotency, result)
            except KeyInUse:
                raise
            except ConcurrentWrite:
                if attempt + 1 >= (RETRIES if retry else 1):
                    raise
                continue
            self.take_snapshots(made.aggregates)
            return result
        raise AssertionError("unreachable")

    def append(self, tx: Any, aggregates: Sequence[Commitment | Partner]) -> list[int]:
        """Appends the aggregates' new events to the log and projects them, in ``tx``.
        Returns the positions of the new events."""
        recordings: list[Recording[UUID]] = self.events.put(
            [event for aggregate in aggregates for event in aggregate.collect_events()]
        )
        placed = [(recording.notification.id - 1, recording.domain_event) for recording in recordings]
        self.projector.project(tx, placed, {aggregate.id: aggregate for aggregate in aggregates})
        return [position for position, _ in placed]

    def commit(self, *aggregates: Commitment | Partner) -> list[int]:
        """Saves new aggregates' events in one unit of work (the batch path of imports):
        the positions of the new events."""
        with self.unit_of_work() as tx:
            positions = self.append(tx, aggregates)
        self.take_snapshots(aggregates)
        return positions

    def take_snapshots(self, aggregates: Sequence[Commitment | Partner]) -> None:
        """After a commit: a snapshot of each aggregate that reached a multiple of its
        interval, taken from the aggregate in hand (snapshots are a cache: one lost in
        a crash is taken later, and one another process took first is kept)."""
        assert self.snapshots is not None
        for aggregate in aggregates:
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or aggregate.version % interval != 0:
                continue
            snapshot = type(aggregate).Snapshot.take(aggregate)
            with suppress(IntegrityError):
                self.snapshots.put([snapshot])

    # -- loading -----------------------------------------------------------------------------

    def _load(self, kind: type[Any], aggregate_id: UUID, version: int | None = None) -> Any:
        try:
            aggregate: Any = self.repository.get(aggregate_id, version=version, projector_func=applied)
        except AggregateNotFoundError:
            raise NotFound(f"no such {kind.__name__.lower()}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"no such {kind.__name__.lower()}")
        return aggregate

    def load_commitment(self, commitment_id: UUID, version: int | None = None) -> Commitment:
        return cast(Commitment, self._load(Commitment, commitment_id, version))

    def load_partner(self, partner_id: UUID) -> Partner:
        return cast(Partner, self._load(Partner, partner_id))

    @staticmethod
    def may_view(commitment: Commitment, actor: Actor | None) -> bool:
        """Public commitments are seen by all; partners-only ones by their partners,
        auditors and admins."""
        if commitment.visibility is Visibility.PUBLIC:
            return True
        if actor is None:
            return False
        if actor.role in (ActorRole.AUDITOR, ActorRole.ADMIN):
            return True
        return commitment.is_partner(actor.id)

    def visible(self, commitment_id: UUID, viewer: Actor | None) -> Commitment:
        commitment = self.load_commitment(commitment_id)
        if not self.may_view(commitment, viewer):
            raise NotFound("no such commitment")
        return commitment

    def for_change(self, commitment_id: UUID, actor: Actor, expected_version: int | None) -> Commitment:
        commitment = self.visible(commitment_id, actor)
        if expected_version is not None and expected_version != commitment.version:
            raise VersionMismatch(expected_version, commitment.version)
        return commitment

    def log_size(self) -> int:
        return self.event_log.size()
