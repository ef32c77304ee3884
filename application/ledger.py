"""The Tūtahi application: every use case of api.md, and the queries auditors and
partners read. One unit of work per command: events, snapshots, the log index and
read-model rows commit in one transaction or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, OperationalError, Recording
from eventsourcing.utils import TopicError, resolve_topic

from application.documents import (
    commitment_document,
    diff_documents,
    part_document,
    partner_document,
    plain,
    progress_document,
)
from application.errors import BadQuery, ConcurrentWrite, Forbidden, NotFound, StoreBusy, VersionMismatch
from application.merkle import appended_nodes, frontier
from application.offline import leaf_of
from application.ports import LogEntry, Page, PartnerRow, ReadModelStore, TimelineEntry, Viewer
from application.projections import MEMBERSHIP_EVENTS, Projector, aggregate_type, event_type
from application.transcodings import register_domain_transcodings
from domain.commitment import Commitment
from domain.errors import NotPermitted
from domain.partner import Partner
from domain.values import (
    Actor,
    ActorRole,
    Completion,
    OgpValue,
    PartnerKind,
    PartnerRole,
    Response,
    Visibility,
)

# Event attributes that are the envelope, not the event's own data.
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "request_id"}


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


def latest_world_day() -> date:
    """The latest date that is not in the future anywhere (UTC+14), so that a partner in
    Aotearoa can report something done today before UTC has reached that day."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def viewer_of(actor: Actor | None) -> Viewer:
    if actor is None:
        return Viewer(partner_id=None, sees_everything=False)
    if actor.role in (ActorRole.AUDITOR, ActorRole.ADMIN):
        return Viewer(partner_id=None, sees_everything=True)
    return Viewer(partner_id=actor.id, sees_everything=False)


class Ledger(Application[UUID]):
    """Commitments and partners, their histories, and the read models over them."""

    name = "Tutahi"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Commitment: 100, Partner: 100}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        read_models: Callable[[Any], ReadModelStore],
    ) -> None:
        super().__init__(env)
        self.read_models = read_models(self.recorder)
        self.projector = Projector(self.read_models)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    # -- the unit of work ----------------------------------------------------

    def transaction(self) -> Any:
        """The store's write transaction; events saved inside it join it."""
        return cast(Any, self.recorder).transaction(commit=True)

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        """One transaction for everything a request writes: events, snapshots, log
        index, read models and whatever the caller adds with the yielded ``tx`` (e.g.
        an idempotency record). Nested units join the outermost one. A lost race
        becomes ``ConcurrentWrite``, a locked store ``StoreBusy``."""
        try:
            with self.transaction() as tx:
                yield tx
        except IntegrityError as error:
            raise ConcurrentWrite("another change to this record was saved first; reload and retry") from error
        except OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreBusy("the store is busy; retry shortly") from error
            raise

    def commit(self, *aggregates: Commitment | Partner) -> list[int]:
        """Saves the aggregates' new events, places them in the log and projects them,
        in one unit of work. Returns the positions of the new events."""
        with self.unit_of_work() as tx:
            recordings = self.save(*aggregates)
            return self._place_and_project(tx, recordings, aggregates)

    def _place_and_project(
        self, tx: Any, recordings: Sequence[Recording[UUID]], aggregates: Sequence[Commitment | Partner]
    ) -> list[int]:
        """Gives each new event the next dense position, its Merkle leaf (the hash of
        its event document) and the tree nodes it completes, then projects it."""
        start = self.read_models.next_position(tx)
        entries = []
        for i, recording in enumerate(recordings):
            event: Any = recording.domain_event
            placed = LogEntry(
                position=start + i,
                notification_id=recording.notification.id,
                aggregate_id=event.originator_id,
                aggregate_type=aggregate_type(event),
                version=event.originator_version,
                type=event_type(event),
                recorded_at=event.timestamp,
            )
            leaf = leaf_of(self.event_document(placed, event))
            entries.append(replace(placed, leaf_hash=leaf.hex()))
        leaves = [bytes.fromhex(entry.leaf_hash) for entry in entries]
        known = self.read_models.nodes(frontier(start, len(leaves)), tx)
        self.read_models.add_nodes(tx, appended_nodes(start, leaves, lambda level, index: known[(level, index)]))
        self.read_models.add_log_entries(tx, entries)
        by_id = {aggregate.id: aggregate for aggregate in aggregates}
        first: dict[UUID, int] = {}
        timeline = []
        for entry, recording in zip(entries, recordings, strict=True):
            first.setdefault(entry.aggregate_id, entry.position)
            row = self.projector.project_event(tx, entry, recording.domain_event, by_id[entry.aggregate_id])
            if row is not None:
                timeline.append(row)
        self.projector.add_timeline(tx, timeline)
        last = {entry.aggregate_id: entry.position for entry in entries}
        regrouped = {entry.aggregate_id for entry in entries if entry.type in MEMBERSHIP_EVENTS}
        for aggregate_id, aggregate in by_id.items():
            if isinstance(aggregate, Commitment) and aggregate_id in last:
                self.projector.project_state(
                    tx, aggregate, first[aggregate_id], last[aggregate_id], aggregate_id in regrouped
                )
        return [entry.position for entry in entries]

    def _result(
        self, aggregate: Commitment | Partner, positions: list[int], created: UUID | None = None
    ) -> CommandResult:
        return CommandResult(aggregate.id, aggregate.version, positions[-1], created, aggregate)

    # -- loading -------------------------------------------------------------

    def _load_commitment(self, commitment_id: UUID, version: int | None = None) -> Commitment:
        try:
            aggregate: Any = self.repository.get(commitment_id, version=version)
        except AggregateNotFoundError:
            raise NotFound("no such commitment") from None
        if not isinstance(aggregate, Commitment):
            raise NotFound("no such commitment")
        return aggregate

    def _load_partner(self, partner_id: UUID) -> Partner:
        try:
            aggregate: Any = self.repository.get(partner_id)
        except AggregateNotFoundError:
            raise NotFound("no such partner") from None
        if not isinstance(aggregate, Partner):
            raise NotFound("no such partner")
        return aggregate

    def recorded(self, aggregate_id: UUID) -> bool:
        """Whether any event of this aggregate is stored (one indexed row read; no load)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def commitment_exists(self, commitment_id: UUID) -> bool:
        try:
            self._load_commitment(commitment_id)
        except NotFound:
            return False
        return True

    def _for_change(self, commitment_id: UUID, actor: Actor, expected_version: int | None) -> Commitment:
        commitment = self._load_commitment(commitment_id)
        if not self.may_view(commitment, actor):
            raise NotFound("no such commitment")
        if expected_version is not None and expected_version != commitment.version:
            raise VersionMismatch(expected_version, commitment.version)
        return commitment

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

    # -- partners ------------------------------------------------------------

    def register_partner(
        self,
        *,
        name: str,
        kind: PartnerKind,
        external_ref: str | None = None,
        actor: Actor,
        request_id: str,
        partner_id: UUID | None = None,
    ) -> CommandResult:
        """An admin registers an organisation as a partner."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin registers partners")
        partner = Partner.register(
            id=partner_id, name=name, kind=kind, external_ref=external_ref, actor=actor, request_id=request_id
        )
        return self._result(partner, self.commit(partner), partner.id)

    def rename_partner(self, partner_id: UUID, *, name: str, actor: Actor, request_id: str) -> CommandResult:
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin renames partners")
        partner = self._load_partner(partner_id)
        partner.rename(name=name, actor=actor, request_id=request_id)
        return self._result(partner, self.commit(partner))

    def get_partner(self, partner_id: UUID) -> dict[str, Any]:
        return partner_document(self._load_partner(partner_id))

    def partner_exists(self, partner_id: UUID) -> bool:
        try:
            self._load_partner(partner_id)
        except NotFound:
            return False
        return True

    def list_partners(
        self, *, q: str | None = None, kind: str | None = None, limit: int = 100, after: str | None = None
    ) -> Page[PartnerRow]:
        return self.read_models.list_partners(q=q, kind=kind, limit=limit, after=after)

    # -- commitments: commands -------------------------------------------------

    def create_commitment(
        self,
        *,
        title: str,
        description: str,
        action_plan: str,
        external_ref: str,
        starts_on: date,
        ends_on: date,
        ogp_values: list[OgpValue],
        visibility: Visibility = Visibility.PUBLIC,
        actor: Actor,
        request_id: str,
        commitment_id: UUID | None = None,
    ) -> CommandResult:
        """An agency creates a commitment and becomes its lead."""
        if actor.role is not ActorRole.AGENCY:
            raise Forbidden("only an agency creates commitments")
        lead = self._load_partner(actor.id)
        commitment = Commitment.start(
            id=commitment_id,
            title=title,
            description=description,
            action_plan=action_plan,
            external_ref=external_ref,
            starts_on=starts_on,
            ends_on=ends_on,
            ogp_values=ogp_values,
            visibility=visibility,
            lead=(lead.id, lead.name, lead.kind),
            actor=actor,
            request_id=request_id,
        )
        return self._result(commitment, self.commit(commitment), commitment.id)

    def amend_commitment(
        self,
        commitment_id: UUID,
        *,
        changes: dict[str, Any],
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead amends fields of the commitment, giving a reason."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.amend(changes=changes, reason=reason, actor=actor, request_id=request_id)
        return self._result(commitment, self.commit(commitment))

    def add_partner(
        self,
        commitment_id: UUID,
        *,
        partner_id: UUID,
        role: PartnerRole,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead brings a registered partner into the commitment."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.check_active()
        commitment.check_lead(actor)
        partner = self._load_partner(partner_id)
        commitment.add_partner(
            partner_id=partner.id, name=partner.name, kind=partner.kind, role=role, actor=actor, request_id=request_id
        )
        return self._result(commitment, self.commit(commitment))

    def remove_partner(
        self,
        commitment_id: UUID,
        *,
        partner_id: UUID,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead removes a partner, or the partner leaves."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.remove_partner(partner_id=partner_id, reason=reason, actor=actor, request_id=request_id)
        return self._result(commitment, self.commit(commitment))

    def add_milestone(
        self,
        commitment_id: UUID,
        *,
        title: str,
        due_on: date,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead or support agency adds a milestone; its new id is returned."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        milestone_id = uuid4()
        commitment.add_milestone(
            milestone_id=milestone_id, title=title, due_on=due_on, actor=actor, request_id=request_id
        )
        return self._result(commitment, self.commit(commitment), milestone_id)

    def reach_milestone(
        self,
        commitment_id: UUID,
        milestone_id: UUID,
        *,
        reached_on: date,
        evidence_url: str | None = None,
        note: str | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead or support agency reports a milestone reached (once)."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.reach_milestone(
            milestone_id=milestone_id,
            reached_on=reached_on,
            today=latest_world_day(),
            evidence_url=evidence_url,
            note=note,
            actor=actor,
            request_id=request_id,
        )
        return self._result(commitment, self.commit(commitment))

    def record_joint_action(
        self,
        commitment_id: UUID,
        *,
        summary: str,
        occurred_on: date,
        partner_ids: list[UUID],
        evidence_url: str | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """An agency partner records something done together with other partners."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        if actor.role is not ActorRole.AGENCY:
            raise NotPermitted("only an agency partner records joint actions")
        action_id = uuid4()
        commitment.record_joint_action(
            action_id=action_id,
            summary=summary,
            occurred_on=occurred_on,
            partner_ids=partner_ids,
            evidence_url=evidence_url,
            actor=actor,
            request_id=request_id,
        )
        return self._result(commitment, self.commit(commitment), action_id)

    def respond_to_action(
        self,
        commitment_id: UUID,
        action_id: UUID,
        *,
        response: Response,
        note: str | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A partner named in a joint action confirms or disputes it."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        if not actor.is_partner:
            raise NotPermitted("only partners named in the joint action may respond to it")
        commitment.respond_to_action(
            action_id=action_id, response=response, note=note, actor=actor, request_id=request_id
        )
        return self._result(commitment, self.commit(commitment))

    def report_progress(
        self,
        commitment_id: UUID,
        *,
        completion: Completion,
        note: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead reports completion on OGP's scale."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.report_progress(completion=completion, note=note, actor=actor, request_id=request_id)
        return self._result(commitment, self.commit(commitment))

    def withdraw_commitment(
        self,
        commitment_id: UUID,
        *,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A lead withdraws the commitment, which then accepts no further change."""
        commitment = self._for_change(commitment_id, actor, expected_version)
        commitment.withdraw(reason=reason, actor=actor, request_id=request_id)
        return self._result(commitment, self.commit(commitment))

    # -- commitments: queries ------------------------------------------------

    def _visible(self, commitment_id: UUID, viewer: Actor | None) -> Commitment:
        commitment = self._load_commitment(commitment_id)
        if not self.may_view(commitment, viewer):
            raise NotFound("no such commitment")
        return commitment

    def get_commitment(
        self,
        commitment_id: UUID,
        viewer: Actor | None = None,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """The commitment as it is, as it was at ``version``, or as it was recorded to
        be at the instant ``as_of``."""
        current = self._visible(commitment_id, viewer)
        if version is not None and as_of is not None:
            raise BadQuery("give version or as_of, not both")
        if version is not None:
            if not 1 <= version <= current.version:
                raise NotFound(f"no version {version}: the commitment has versions 1 to {current.version}")
            return commitment_document(self._load_commitment(commitment_id, version))
        if as_of is not None:
            at = self.version_as_of(commitment_id, as_of)
            if at is None:
                raise NotFound("the commitment did not exist yet at that instant")
            if at == current.version:
                return commitment_document(current)
            return commitment_document(self._load_commitment(commitment_id, at))
        return commitment_document(current)

    def current_version(self, commitment_id: UUID, viewer: Actor | None = None) -> int:
        return self._visible(commitment_id, viewer).version

    def version_as_of(self, aggregate_id: UUID, at: datetime) -> int | None:
        """The last version recorded at or before ``at`` (None: not yet created)."""
        if at.tzinfo is None:
            raise BadQuery("as_of must carry a time zone (use Z for UTC)")
        return self.read_models.version_before(aggregate_id, at)

    def commitment_history(self, commitment_id: UUID, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Every event of the commitment, in version order, as event documents."""
        self._visible(commitment_id, viewer)
        entries = {entry.version: entry for entry in self.read_models.aggregate_log(commitment_id)}
        return [self.log_document(entries[event.originator_version], event) for event in self.events.get(commitment_id)]

    def diff(
        self, commitment_id: UUID, from_version: int, to_version: int, viewer: Actor | None = None
    ) -> list[dict[str, Any]]:
        """Field-level changes between two versions, relations included."""
        current = self._visible(commitment_id, viewer)
        for v in (from_version, to_version):
            if not 1 <= v <= current.version:
                raise NotFound(f"no version {v}: the commitment has versions 1 to {current.version}")
        before = commitment_document(self._load_commitment(commitment_id, from_version))
        after = commitment_document(self._load_commitment(commitment_id, to_version))
        return diff_documents(before, after)

    def timeline(
        self, commitment_id: UUID, viewer: Actor | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page[TimelineEntry]:
        """The commitment's shared timeline, newest first."""
        self._visible(commitment_id, viewer)
        return self.read_models.commitment_timeline(commitment_id, limit, after)

    def partner_timeline(
        self, partner_id: UUID, viewer: Actor | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page[TimelineEntry]:
        """Entries of every commitment the partner belongs to, newest first."""
        self._load_partner(partner_id)
        return self.read_models.partner_timeline(partner_id, viewer_of(viewer), limit, after)

    def list_commitments(
        self,
        viewer: Actor | None = None,
        *,
        q: str | None = None,
        action_plan: str | None = None,
        partner_id: UUID | None = None,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[Any]:
        return self.read_models.list_commitments(
            viewer_of(viewer),
            q=q,
            action_plan=action_plan,
            partner_id=partner_id,
            status=status,
            limit=limit,
            after=after,
        )

    # -- the log ---------------------------------------------------------------

    def event_document(self, entry: LogEntry, event: Any) -> dict[str, Any]:
        """An event as api.md's event log serves it (without ``leaf_hash``): a function
        of its position and the stored event alone, so that the leaf hash covers every
        stored byte that matters."""
        actor: Actor = event.actor
        return {
            "position": entry.position,
            "aggregate_id": str(event.originator_id),
            "aggregate_type": aggregate_type(event),
            "version": event.originator_version,
            "type": event_type(event),
            "recorded_at": plain(event.timestamp),
            "actor": {"id": str(actor.id), "role": actor.role.value, "name": actor.name},
            "request_id": event.request_id,
            "data": {k: plain(v) for k, v in sorted(vars(event).items()) if k not in ENVELOPE},
        }

    def log_document(self, entry: LogEntry, event: Any) -> dict[str, Any]:
        """The event document with its stored ``leaf_hash``, as the log serves it."""
        return {**self.event_document(entry, event), "leaf_hash": entry.leaf_hash}

    def iter_log(self, batch: int = 1000, *, tolerant: bool = False) -> Iterator[tuple[LogEntry, Any]]:
        """The whole log in position order, with each entry's domain event, read in
        batches. ``tolerant``: an event that is missing or cannot be decoded comes as
        None instead of raising (for verification and export)."""
        pending: list[LogEntry] = []
        for entry in self.read_models.iter_log(batch):
            pending.append(entry)
            if len(pending) >= batch:
                yield from self.events_of(pending, tolerant=tolerant)
                pending = []
        if pending:
            yield from self.events_of(pending, tolerant=tolerant)

    def events_of(self, entries: Sequence[LogEntry], *, tolerant: bool = False) -> list[tuple[LogEntry, Any]]:
        """The domain events of log entries (positions in order), in one query."""
        if not entries:
            return []
        first = min(entry.notification_id for entry in entries)
        last = max(entry.notification_id for entry in entries)
        notifications = self.recorder.select_notifications(start=first, stop=last, limit=last - first + 1)
        by_id = {n.id: n for n in notifications}

        def as_written(notification: Any, event: Any) -> bool:
            """For verification: the leaf covers the event document, so also refuse stored
            bytes the document does not show: an originator topic that is not the
            aggregate's class, or a state the service would not have written for this
            event (e.g. an instant or id spelt another way). Skipped for encrypted states
            (the cipher refuses changed bytes) and for states of an older class version
            (upcast on reading, so never re-encoded alike)."""
            aggregate = Partner if aggregate_type(event) == "partner" else Commitment
            topic = getattr(event, "originator_topic", None)
            try:
                if topic is not None and resolve_topic(topic) is not aggregate:
                    return False
            except TopicError:
                return False
            if self.mapper.cipher is not None or self.mapper.to_stored_event(event).state == notification.state:
                return True
            state = notification.state
            if self.mapper.compressor is not None:
                state = self.mapper.compressor.decompress(state)
            stored_version = self.mapper.transcoder.decode(state).get("class_version", 1)
            return bool(stored_version < getattr(event, "class_version", 1))

        paired: list[tuple[LogEntry, Any]] = []
        for entry in entries:
            notification = by_id.get(entry.notification_id)
            if notification is None:
                if not tolerant:
                    raise LookupError(f"the event at position {entry.position} is missing")
                paired.append((entry, None))
                continue
            try:
                event = self.mapper.to_domain_event(notification)
            except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError, TopicError):
                if not tolerant:
                    raise
                event = None
            if event is not None and (
                event.originator_id != entry.aggregate_id or event.originator_version != entry.version
            ):
                if not tolerant:
                    raise LookupError(f"the event at position {entry.position} is not the one indexed there")
                event = None
            if tolerant and event is not None and not as_written(notification, event):
                event = None
            paired.append((entry, event))
        return paired

    # -- projections -----------------------------------------------------------

    def rebuild_read_models(self, progress: Callable[[int], None] | None = None) -> int:
        """Drops every read model and projects the whole log again, in log order, in
        one transaction (a failed rebuild leaves the old read models in place)."""
        count = 0
        with self.transaction() as tx:
            self.read_models.clear_read_models(tx)
            states: dict[UUID, Any] = {}
            first: dict[UUID, int] = {}
            last: dict[UUID, int] = {}
            timeline: list[TimelineEntry] = []
            for entry, event in self.iter_log():
                aggregate = event.mutate(states.get(entry.aggregate_id))
                states[entry.aggregate_id] = aggregate
                first.setdefault(entry.aggregate_id, entry.position)
                last[entry.aggregate_id] = entry.position
                row = self.projector.project_event(tx, entry, event, aggregate)
                if row is not None:
                    timeline.append(row)
                if len(timeline) >= 1000:
                    self.projector.add_timeline(tx, timeline)
                    timeline = []
                count += 1
                if progress is not None:
                    progress(count)
            self.projector.add_timeline(tx, timeline)
            for aggregate_id, aggregate in states.items():
                if isinstance(aggregate, Commitment):
                    self.projector.project_state(tx, aggregate, first[aggregate_id], last[aggregate_id])
        return count
