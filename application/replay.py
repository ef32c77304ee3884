"""Offline replay: commitments rebuilt from an export file alone, with no store and no
service, by the same domain code the service runs. Each line's document bytes (its
leaf's pre-image) are read into a domain event exactly as the service reads them from
its store (``application.logformat.read_event``, upcasting included), folded with the
events' own ``mutate``, and shown as ``application.documents.commitment_document``,
what ``GET /commitments/{id}`` serves.

Every line is checked as it is read: its bytes must hash to the leaf it states, and
positions must follow each other from 0, so that what is replayed is what an export
verified against a checkpoint (``tutahi audit verify-export``) holds. Only the lines of
the commitments asked for are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from application.documents import commitment_document
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
    """One commitment as replayed so far: its aggregate, and the instant of each version."""

    aggregate: Any = None
    recorded: list[datetime] = field(default_factory=list)


COMMITMENT = b'"aggregate_type":"commitment"'


def _mark(aggregate_id: UUID) -> bytes:
    return b'"aggregate_id":"%s"' % str(aggregate_id).encode("ascii")


def replay(
    lines: Iterable[bytes | str],
    commitment_id: UUID | None = None,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The commitment ``commitment_id`` (or, with None, every commitment, in the order
    they were created) as it is at the end of the export, as it was at ``version``, or
    as it was recorded to be at the instant ``as_of``."""
    if version is not None and as_of is not None:
        raise ReplayError("give a version or an instant, not both")
    if version is not None and commitment_id is None:
        raise ReplayError("a version is a version of one commitment")
    if as_of is not None and as_of.tzinfo is None:
        raise ReplayError("the instant must carry a time zone (use Z for UTC)")
    mark = None if commitment_id is None else _mark(commitment_id)
    found: dict[UUID, Replayed] = {}
    for position, document in export_documents(lines):
        if (mark is not None and mark not in document) or COMMITMENT not in document:
            continue
        try:
            event = read_event(document)
        except FormatError as error:
            raise ReplayError(f"the event at position {position} cannot be read: {error}") from None
        if commitment_id is not None and event.originator_id != commitment_id:
            continue
        state = found.setdefault(event.originator_id, Replayed())
        state.recorded.append(event.timestamp)
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
        return [commitment_document(wanted.aggregate)]
    return [commitment_document(state.aggregate) for state in found.values() if isinstance(state.aggregate, Commitment)]
