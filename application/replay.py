"""Offline replay: commitments rebuilt from an export file alone, with no store and no
service, by the same domain code the service runs. Each line's document bytes (its
leaf's pre-image) are read into a domain event exactly as the service reads them from
its store (``application.logformat.read_event``, upcasting included), folded with the
events' own ``mutate``, and shown as ``GET /commitments/{id}`` serves it: the commitment's
document (``application.documents``), its members under their names now, and its joint
actions, aggregates of their own or recorded in its stream by release 0.1.0, as they were
at the version or instant asked for.

Every line is checked as it is read: its bytes must hash to the leaf it states, and
positions must follow each other from 0, so that what is replayed is what an export
verified against a checkpoint (``tutahi audit verify-export``) holds. Only the lines of
the commitments asked for, their joint actions and the partners are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from application.documents import action_document, commitment_document
from application.logformat import FormatError, leaf_hash, position_in, read_event
from application.offline import SPLICED, canonical
from domain.commitment import Commitment


class ReplayError(ValueError):
    """The export cannot be replayed (a bad line), or holds no such commitment or version."""


def export_documents(lines: Iterable[bytes | str]) -> Iterator[tuple[int, bytes]]:
    """``(position, document bytes)`` of each event line of an export, checked: each
    line's document hashes to the leaf it states, and positions run from 0 without
    gaps. Lines of this release are the stored bytes with the leaf hash spliced in;
    lines of release 0.1.0 are parsed and canonicalised (RFC 8785)."""
    expected = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.encode("utf-8") if isinstance(raw, str) else raw
        if not line.strip():
            continue
        document, position, stated = _document_of(line, number)
        if leaf_hash(document) != stated:
            raise ReplayError(f"line {number}: the event does not match its leaf hash")
        if position != expected:
            raise ReplayError(f"line {number}: position {expected} is missing (found {position})")
        yield position, document
        expected += 1


def _document_of(line: bytes, number: int) -> tuple[bytes, int | None, bytes]:
    """(document bytes, the position they state, the leaf the line states) of a line."""
    spliced = SPLICED.search(line)
    if spliced is not None:
        document = line[: spliced.start()] + b"}"
        stated = bytes.fromhex(spliced.group(1).decode("ascii"))
        if leaf_hash(document) == stated:
            return document, position_in(document), stated
    try:  # not the stored bytes (e.g. release 0.1.0's lines): the canonical form of its document
        parsed = json.loads(line)
        stated = bytes.fromhex(parsed["leaf_hash"])
        position = parsed["position"]
        return canonical(parsed), position if isinstance(position, int) else None, stated
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ReplayError(f"line {number} is not an event document: {error}") from None


@dataclass
class Replayed:
    """One commitment as replayed so far: its aggregate as asked for and as it is at the
    end, the instant of each version, and the log position of each joint action its own
    stream recorded (release 0.1.0)."""

    aggregate: Any = None
    current: Any = None
    recorded: list[datetime] = field(default_factory=list)
    legacy_actions: dict[str, int] = field(default_factory=dict)


@dataclass
class ReplayedAction:
    """One joint action (an aggregate of its own): its commitment, where it was
    recorded in the log, and its events."""

    commitment_id: UUID
    position: int
    events: list[Any] = field(default_factory=list)

    def state_at(self, cutoff: datetime | None) -> Any:
        """The action as it was at the instant ``cutoff`` (None: at the end), or None if
        it was not recorded yet."""
        aggregate: Any = None
        for event in self.events:
            if cutoff is not None and event.timestamp > cutoff:
                break
            aggregate = event.mutate(aggregate)
        return None if aggregate is None else aggregate.state


COMMITMENT = b'"aggregate_type":"commitment"'
JOINT_ACTION = b'"aggregate_type":"joint_action"'
PARTNER = b'"aggregate_type":"partner"'


def _mark(aggregate_id: UUID) -> bytes:
    return b'"aggregate_id":"%s"' % str(aggregate_id).encode("ascii")


def _read(position: int, document: bytes) -> Any:
    try:
        return read_event(document)
    except FormatError as error:
        raise ReplayError(f"the event at position {position} cannot be read: {error}") from None


def replay(
    lines: Iterable[bytes | str],
    commitment_id: UUID | None = None,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The commitment ``commitment_id`` (or, with None, every commitment, in the order
    they were created) as it is at the end of the export, as it was at ``version``, or
    as it was recorded to be at the instant ``as_of``: with its partners' names as the
    export's last events give them, and its joint actions as they were then, as
    ``GET /commitments/{id}`` shows it."""
    if version is not None and as_of is not None:
        raise ReplayError("give a version or an instant, not both")
    if version is not None and commitment_id is None:
        raise ReplayError("a version is a version of one commitment")
    if as_of is not None and as_of.tzinfo is None:
        raise ReplayError("the instant must carry a time zone (use Z for UTC)")
    mark = None if commitment_id is None else _mark(commitment_id)
    found: dict[UUID, Replayed] = {}
    actions: dict[UUID, ReplayedAction] = {}
    names: dict[UUID, str] = {}
    for position, document in export_documents(lines):
        if PARTNER in document:
            partner = _read(position, document)
            names[partner.originator_id] = partner.name
            continue
        if JOINT_ACTION in document:
            event = _read(position, document)
            recorded = type(event).__name__ == "JointActionRecorded"
            if recorded and (commitment_id is None or event.commitment_id == commitment_id):
                actions[event.originator_id] = ReplayedAction(event.commitment_id, position)
            if event.originator_id in actions:
                actions[event.originator_id].events.append(event)
            continue
        if (mark is not None and mark not in document) or COMMITMENT not in document:
            continue
        event = _read(position, document)
        if commitment_id is not None and event.originator_id != commitment_id:
            continue
        state = found.setdefault(event.originator_id, Replayed())
        state.recorded.append(event.timestamp)
        state.current = event.mutate(state.current)  # as it is at the end (whose members are named now)
        if type(event).__name__ == "JointActionRecorded":
            state.legacy_actions[str(event.action_id)] = position
        if version is not None and event.originator_version > version:
            continue
        if as_of is not None and event.timestamp > as_of:
            continue
        state.aggregate = event.mutate(state.aggregate)
    if commitment_id is not None:
        wanted = found.get(commitment_id)
        if wanted is None:
            raise ReplayError(f"the export holds no commitment {commitment_id}")
        if version is not None and not 1 <= version <= len(wanted.recorded):
            raise ReplayError(f"no version {version}: the commitment has versions 1 to {len(wanted.recorded)}")
        if wanted.aggregate is None:
            raise ReplayError("the commitment did not exist yet at that instant")
    cutoff = as_of
    if version is not None and commitment_id is not None and version < len(found[commitment_id].recorded):
        cutoff = found[commitment_id].recorded[version - 1]
    return [
        _document(state, actions, names, cutoff)
        for cid, state in found.items()
        if (commitment_id is None or cid == commitment_id) and isinstance(state.aggregate, Commitment)
    ]


def _document(
    state: Replayed, actions: dict[UUID, ReplayedAction], names: dict[UUID, str], cutoff: datetime | None
) -> dict[str, Any]:
    """A commitment's document: members under their names now (those still members at
    the end of the export), and its joint actions, of both kinds, in the order recorded."""
    commitment: Commitment = state.aggregate
    current = {str(pid): names[pid] for pid in (UUID(key) for key in state.current.partners) if pid in names}
    document = commitment_document(commitment, current)
    listed: list[tuple[int, Any]] = [(state.legacy_actions[key], action) for key, action in commitment.actions.items()]
    for action in actions.values():
        if action.commitment_id == commitment.id and (shown := action.state_at(cutoff)) is not None:
            listed.append((action.position, shown))
    document["actions"] = [action_document(action, commitment.id) for _, action in sorted(listed, key=lambda x: x[0])]
    return document
