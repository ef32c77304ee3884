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
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder, OperationalError, Recording

from application.documents import (
    action_document,
    assessment_document,
    commitment_document,
    part_document,
    partner_document,
    plan_document,
    progress_document,
)
from application.errors import (
    ConcurrentWrite,
    ContextMoved,
    KeyInUse,
    LogIntegrityError,
    NotFound,
    StoreBusy,
    VersionMismatch,
)
from application.idempotency import Idempotency, IdempotencyStore
from application.log import LogEventStore, LogMapper, LogStore
from application.logformat import leaf_hash, read_event
from application.ports import ReadModelStore
from application.projections import Projector
from application.transcodings import register_domain_transcodings
from domain.action_plan import ActionPlan
from domain.commitment import Commitment
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import Actor, Visibility

RETRIES = 5  # runs of a change without If-Match that keeps losing races, before 409

# The request id the client sent with the request being served, if any (the service
# makes every event's ``request_id`` itself; the client's is kept beside it). Set by
# the interface that serves the request.
CLIENT_REQUEST_ID: ContextVar[str | None] = ContextVar("client_request_id", default=None)


Saved = Commitment | Partner | JointAction | ActionPlan


@dataclass(frozen=True)
class CommandResult:
    """What every successful command returns: the aggregate's new version and the log
    position of its last event (and the id of what it created, if anything). For a
    joint action's command, ``commitment_version`` is its commitment's version."""

    aggregate_id: UUID
    version: int
    position: int
    created_id: UUID | None = None
    aggregate: Saved | None = field(default=None, compare=False, repr=False)
    commitment_version: int | None = None

    @property
    def document(self) -> dict[str, Any]:
        """The aggregate's document after the command (made when asked for: most
        callers need only a part of it)."""
        if isinstance(self.aggregate, Commitment):
            return commitment_document(self.aggregate)
        if isinstance(self.aggregate, Partner):
            return partner_document(self.aggregate)
        if isinstance(self.aggregate, JointAction):
            return action_document(self.aggregate.state, self.aggregate.commitment_id)
        if isinstance(self.aggregate, ActionPlan):
            return plan_document(self.aggregate)
        return {}

    def action(self, action_id: UUID) -> dict[str, Any]:
        """A joint action after the command: the aggregate's, or one its commitment
        recorded in its own stream (release 0.1.0)."""
        if isinstance(self.aggregate, JointAction):
            return self.document
        assert isinstance(self.aggregate, Commitment)
        return action_document(self.aggregate.actions[str(action_id)], self.aggregate.id)

    def part(self, collection: str, item_id: Any) -> dict[str, Any]:
        """One partner or milestone of the commitment after the command."""
        assert isinstance(self.aggregate, Commitment)
        return part_document(self.aggregate, collection, item_id)

    def assessments(self) -> list[dict[str, Any]]:
        """The commitment's assessments after the command."""
        assert isinstance(self.aggregate, Commitment)
        return [assessment_document(a) for a in self.aggregate.assessments]

    def completion(self) -> dict[str, Any] | None:
        """The commitment's latest progress report after the command."""
        assert isinstance(self.aggregate, Commitment)
        return progress_document(self.aggregate, -1) if self.aggregate.progress else None


@dataclass(frozen=True)
class Change:
    """What a use case's change made: the aggregates to save (the result's first), the
    id of what it created, if anything, and the commitment a joint action's change
    read (its events are projected with it)."""

    aggregates: tuple[Saved, ...]
    created_id: UUID | None = None
    context: Commitment | None = None


NEW_ZEALAND = ZoneInfo("Pacific/Auckland")


def today_in_new_zealand() -> date:
    """The date in New Zealand now: what a report describes when it does not say."""
    return datetime.now(NEW_ZEALAND).date()


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
        if self.read_models.outdated:  # tables of an older release's read models: made again from the log
            self.rebuild_read_models()

    def rebuild_read_models(self, progress: Callable[[int], None] | None = None) -> int:
        """Drops every read model and projects the whole log again, in log order, in
        one transaction (a failed rebuild leaves the old read models in place)."""
        count = 0
        with self.transaction() as tx:
            self.read_models.clear_read_models(tx)
            states: dict[UUID, Any] = {}
            for batch in self.event_log.scan():
                rows = []
                spans: dict[UUID, list[int]] = {}
                for position, document, leaf in batch:
                    if leaf_hash(document) != leaf:
                        raise LogIntegrityError(position, "the stored event does not match its leaf hash")
                    event = read_event(document)
                    aggregate = event.mutate(states.get(event.originator_id))
                    states[event.originator_id] = aggregate
                    rows.append(self.projector.project_event(tx, position, event, states))
                    spans.setdefault(event.originator_id, [position, position])[1] = position
                    count += 1
                self.projector.write(tx, rows, spans, states)
                if progress is not None:
                    progress(count)
            self.read_models.mark_current(tx)
        return count

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
        """Runs a change in one unit of work (see the module's notes). A joint action's
        change whose commitment moved meanwhile is run again whatever ``retry`` says:
        the version the caller named is the action's, which did not move."""
        for attempt in range(RETRIES):
            try:
                with self.unit_of_work() as tx:
                    made = change()
                    positions = self.append(tx, made.aggregates, made.context)
                    first = made.aggregates[0]
                    version = made.context.version if made.context is not None else None
                    result = CommandResult(first.id, first.version, positions[-1], made.created_id, first, version)
                    if idempotency is not None:
                        idempotency.keep(tx, self.idempotency, result)
            except KeyInUse:
                raise
            except ContextMoved:
                if attempt + 1 >= RETRIES:
                    raise
                continue
            except ConcurrentWrite:
                if not retry or attempt + 1 >= RETRIES:
                    raise
                continue
            self.take_snapshots(made.aggregates)
            return result
        raise AssertionError("unreachable")

    def append(self, tx: Any, aggregates: Sequence[Saved], context: Commitment | None = None) -> list[int]:
        """Appends the aggregates' new events to the log and projects them (with the
        commitment ``context`` of joint actions), in ``tx``. Returns their positions."""
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        client_request_id = CLIENT_REQUEST_ID.get()
        if client_request_id is not None:
            for event in events:
                # Outside the event's own fields: the domain never reads it.
                vars(event)["client_request_id"] = client_request_id
        recordings: list[Recording[UUID]] = self.events.put(events)
        # A joint action's rules were checked against its commitment as loaded. The append
        # above holds the log's head, so no other write lands before this one commits: if
        # the commitment is still at that version, the check holds at this event's place.
        if (
            context is not None
            and all(aggregate is not context for aggregate in aggregates)
            and self.event_log.last_version(context.id) != context.version
        ):
            raise ContextMoved("the commitment changed while this change was made; run it again")
        placed = [(recording.notification.id - 1, recording.domain_event) for recording in recordings]
        known: dict[UUID, Any] = {aggregate.id: aggregate for aggregate in aggregates}
        if context is not None:
            known.setdefault(context.id, context)
        self.projector.project(tx, placed, known)
        return [position for position, _ in placed]

    def commit(self, *aggregates: Saved) -> list[int]:
        """Saves new aggregates' events in one unit of work (the batch path of imports):
        the positions of the new events."""
        with self.unit_of_work() as tx:
            positions = self.append(tx, aggregates)
        self.take_snapshots(aggregates)
        return positions

    def take_snapshots(self, aggregates: Sequence[Saved]) -> None:
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

    def load_action(self, action_id: UUID) -> JointAction:
        return cast(JointAction, self._load(JointAction, action_id))

    def load_plan(self, plan_id: UUID) -> ActionPlan:
        return cast(ActionPlan, self._load(ActionPlan, plan_id))

    @staticmethod
    def may_view(commitment: Commitment, actor: Actor | None) -> bool:
        """Public commitments are seen by all; partners-only ones by their partners,
        auditors and admins."""
        if commitment.visibility is Visibility.PUBLIC:
            return True
        if actor is None:
            return False
        if actor.role.sees_everything:
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
