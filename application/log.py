"""The log, as the application uses it: how events go in (each as the draft of its
document, placed at the next position when the store commits it) and how documents
come out for auditors, histories and exports, as the stored bytes with no domain
class loaded. The bytes themselves are defined in ``application.logformat``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import EventStore, JSONTranscoder, Mapper, StoredEvent

from application.errors import EventTooLarge, LogIntegrityError
from application.logformat import (
    MAX_DOCUMENT_BYTES,
    Draft,
    FormatError,
    draft,
    event_type_of,
    leaf_hash,
    position_in,
    read_event,
)


@dataclass(frozen=True)
class DraftedEvent(StoredEvent):
    """A domain event on its way into the log: its document but for the position."""

    draft: Draft | None = None


class LogMapper(Mapper[UUID]):
    """The event store's mapper: events become drafts of their documents, and stored
    documents become events again (read from the very bytes their leaves hash)."""

    def __init__(self) -> None:
        super().__init__(transcoder=JSONTranscoder())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        drafted = draft(domain_event)
        if drafted.longest() > MAX_DOCUMENT_BYTES:
            raise EventTooLarge(
                f"this change would be recorded as about {drafted.longest():,} bytes; the log records at most "
                f"{MAX_DOCUMENT_BYTES:,} per event: make it in smaller steps (for example, fewer long texts at once)"
            )
        return DraftedEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=event_type_of(type(domain_event)).topic,
            state=b"",
            draft=drafted,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            event = read_event(stored_event.state)
        except FormatError as error:
            raise LogIntegrityError(
                position_in(stored_event.state), f"a stored event cannot be read: {error}"
            ) from None
        if (
            event.originator_id != stored_event.originator_id
            or event.originator_version != stored_event.originator_version
        ):
            raise LogIntegrityError(
                position_in(stored_event.state), "the event store's index does not match the stored document"
            )
        return event


class LogEventStore(EventStore[UUID]):
    """The event store over the log: an aggregate's events are read and checked in full
    before any is applied, so that an edited or missing event is reported as the log's
    (``LogIntegrityError``, with its position) rather than as a broken aggregate."""

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[Any]:
        stored = self.recorder.select_events(originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        events = [self.mapper.to_domain_event(item) for item in stored]
        if not desc:
            expected = (gt or 0) + 1
            for item, event in zip(stored, events, strict=True):
                if event.originator_version != expected:
                    raise LogIntegrityError(
                        position_in(item.state), f"version {expected} of an aggregate is missing from the log"
                    )
                expected += 1
        return iter(events)


@dataclass(frozen=True)
class StoredDocument:
    """One entry of the log as stored: its position, its document's bytes and leaf."""

    position: int
    document: bytes
    leaf: bytes

    def checked(self) -> StoredDocument:
        """This entry, if its bytes still hash to its leaf and state its position."""
        if leaf_hash(self.document) != self.leaf:
            raise LogIntegrityError(self.position, "the stored event does not match its leaf hash")
        if position_in(self.document) != self.position:
            raise LogIntegrityError(self.position, "the stored event states another position")
        return self

    def as_document(self) -> dict[str, Any]:
        """The event document with its leaf hash, as ``GET /events`` serves it."""
        try:
            document = json.loads(self.checked().document)
        except ValueError:
            raise LogIntegrityError(self.position, "the stored event is not a JSON document") from None
        if not isinstance(document, dict):
            raise LogIntegrityError(self.position, "the stored event is not a JSON object")
        document["leaf_hash"] = self.leaf.hex()
        return document

    def export_line(self) -> bytes:
        """The document with its leaf hash as one JSON Lines line, spliced from the stored
        bytes (no parsing): the bytes before ``,"leaf_hash"`` are the leaf's pre-image."""
        return b'%s,"leaf_hash":"%s"}\n' % (self.document[:-1], self.leaf.hex().encode("ascii"))


class LogStore(Protocol):
    """The stored log: documents, leaves and the Merkle nodes above them."""

    def size(self) -> int: ...
    def documents(self, after: int | None, limit: int) -> list[StoredDocument]: ...
    def aggregate_documents(self, aggregate_id: UUID) -> list[StoredDocument]: ...
    def last_version(self, aggregate_id: UUID) -> int:
        """The aggregate's latest version in the log (0: none), read in the open
        transaction if there is one."""
        ...

    def scan(self, batch: int = 4096, size: int | None = None) -> Iterator[Sequence[tuple[int, bytes, bytes]]]: ...
    def scan_entries(
        self, batch: int = 4096, size: int | None = None
    ) -> Iterator[Sequence[tuple[int, Any, int, bytes, bytes]]]: ...
    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...
    def leaves(self, first: int, last: int) -> dict[int, bytes]: ...
    def stored_nodes(self, level: int, first: int, last: int) -> list[bytes]: ...
    def nodes_size(self) -> int: ...
    def materialise_nodes(self, size: int) -> None: ...


def documents_of(entries: Sequence[StoredDocument]) -> list[dict[str, Any]]:
    return [entry.as_document() for entry in entries]
