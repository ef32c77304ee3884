"""The log's hashed format: how a domain event becomes the bytes its Merkle leaf covers,
and how the domain reads it back from exactly those bytes.

Every event is stored once, as its *document*: ``position``, ``aggregate_id``,
``aggregate_type``, ``version``, ``type``, ``recorded_at``, ``actor`` (``id``, ``role``,
``name``), ``request_id`` (made by the service), ``client_request_id`` (the client's
own ``X-Request-Id``, only when it sent one) and ``data`` (the event's own fields, as
JSON values). Its bytes ``P`` are the document in RFC 8785 canonical JSON; its leaf is
``SHA-256(0x00 || P)``. ``P`` is written at commit and never again: verification and
exports hash and stream it as stored, and aggregates are loaded by decoding it, so
there is no second copy that could say something else.

The format is frozen. Display code (pages, timelines, API documents of aggregates) lives
elsewhere and may change freely; what is here may only grow:

- a new event type adds a class (and, for a new aggregate, a row of ``AGGREGATES``);
- a changed event class raises its ``class_version`` and gains an
  ``upcast_v<N>_v<N+1>(data)`` static method. Documents written from then on carry
  ``class_version``; older ones do not (``BASELINE_VERSIONS`` says which version they
  were), and their ``data`` is upcast as the domain reads it, never rewritten.

Canonical JSON is made by the C ``json`` encoder (keys sorted, no whitespace, text as
UTF-8 rather than escapes). For these documents that equals RFC 8785: keys are ASCII
names, numbers are integers below 2**53 and never floats, and strings escape exactly the
characters RFC 8785 escapes, in the same way (a property test checks it against
``rfc8785``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.action_plan import ActionPlan
from domain.commitment import Commitment
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import Actor, ActorRole

# Aggregate classes by the ``aggregate_type`` their documents carry.
AGGREGATES: dict[str, type[Aggregate]] = {
    "commitment": Commitment,
    "partner": Partner,
    "joint_action": JointAction,
    "action_plan": ActionPlan,
}

# Event attributes that are the document's envelope, not its ``data``.
ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "request_id", "client_request_id"}
)

# The class version each event type had when documents did not yet say it (release
# 0.1.0): a document without ``class_version`` was written at this version.
BASELINE_VERSIONS: dict[tuple[str, str], int] = {("commitment", "CommitmentCreated"): 2}

LEAF_PREFIX = b"\x00"

# The longest document the log records: entry bundles (C2SP tlog-tiles) frame each
# document with a 16-bit length. Only an adversarial change comes near it (the longest
# texts, all in 4-byte characters, in one event).
MAX_DOCUMENT_BYTES = 0xFFFF


class FormatError(ValueError):
    """Bytes that are not a document of this format (or of a newer release's)."""


def leaf_hash(document_bytes: bytes) -> bytes:
    """RFC 9162 leaf hash of a document's bytes."""
    return hashlib.sha256(LEAF_PREFIX + document_bytes).digest()


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a document made by this module (see the module's notes)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def instant(value: datetime) -> str:
    """An instant as documents hold it: UTC, microseconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# -- values ------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value of unknown type as a JSON value (for ``Any`` fields)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise FormatError(f"no JSON form for {type(value).__name__} in an event")


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (encode, decode)


def _same(value: Any) -> Any:
    return value


def _typed(cls: type[Any], parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A decoder that takes the JSON form, or the value itself (as an upcaster may give)."""

    def decode(value: Any) -> Any:
        return value if isinstance(value, cls) else parse(value)

    return decode


def _codec(hint: Any) -> Codec:
    """How a field of this type is written and read."""
    if hint in (str, int, bool, Any):
        return (_same, _same) if hint is not Any else (plain, _same)
    if hint is UUID:
        return str, _typed(UUID, UUID)
    if hint is datetime:
        return instant, _typed(datetime, parse_instant)
    if hint is date:
        return date.isoformat, _typed(date, date.fromisoformat)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return (lambda member: member.value), _typed(hint, hint)
    if is_typeddict(hint):
        fields = {name: _codec(field) for name, field in get_type_hints(hint).items()}
        return (
            lambda value: {k: fields[k][0](v) if k in fields else plain(v) for k, v in value.items()},
            lambda value: {k: fields[k][1](v) if k in fields else v for k, v in value.items()},
        )
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        encode, decode = _codec(inner)
        return (lambda v: None if v is None else encode(v)), (lambda v: None if v is None else decode(v))
    if origin is list:
        encode, decode = _codec(args[0])
        return (lambda v: [encode(x) for x in v]), (lambda v: [decode(x) for x in v])
    if origin is dict:
        return plain, _same
    raise FormatError(f"event fields of type {hint!r} have no document form")


# -- event types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    """How documents of one event class are written and read."""

    cls: type[Any]
    aggregate_type: str
    name: str
    baseline_version: int
    fields: dict[str, Codec]
    aggregate_topic: str | None  # set on creation events, which name their aggregate's class
    topic: str  # the class's topic, as the event store indexes it

    @property
    def class_version(self) -> int:
        """The class's version now (read at each use: a class may be upgraded in place)."""
        return int(getattr(self.cls, "class_version", 1))

    def upcast(self, data: dict[str, Any], written_at: int) -> None:
        """Brings ``data`` written at class version ``written_at`` up to this one."""
        if written_at > self.class_version:
            raise FormatError(f"{self.name} version {written_at} was written by a newer release")
        while written_at < self.class_version:
            getattr(self.cls, f"upcast_v{written_at}_v{written_at + 1}")(data)
            written_at += 1


def _event_classes(aggregate: type[Aggregate]) -> list[type[Any]]:
    base = aggregate.Event
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, base) and name not in ("Event", "Created")
    ]


@cache
def _registry() -> tuple[dict[type[Any], EventType], dict[tuple[str, str], EventType]]:
    by_class: dict[type[Any], EventType] = {}
    by_name: dict[tuple[str, str], EventType] = {}
    for aggregate_type, aggregate in AGGREGATES.items():
        for cls in _event_classes(aggregate):
            hints = {
                name: hint
                for name, hint in get_type_hints(cls).items()
                if name not in ENVELOPE and get_origin(hint) is not typing.ClassVar
            }
            if not all(name.isascii() for name in hints):
                raise FormatError(f"{cls.__qualname__}: field names must be ASCII (canonical key order)")
            created = issubclass(cls, Aggregate.Created)
            kind = EventType(
                cls=cls,
                aggregate_type=aggregate_type,
                name=cls.__name__,
                baseline_version=BASELINE_VERSIONS.get((aggregate_type, cls.__name__), 1),
                fields={name: _codec(hint) for name, hint in hints.items()},
                aggregate_topic=get_topic(aggregate) if created else None,
                topic=get_topic(cls),
            )
            by_class[cls] = kind
            by_name[(aggregate_type, kind.name)] = kind
    return by_class, by_name


def event_type_of(cls: type[Any]) -> EventType:
    try:
        return _registry()[0][cls]
    except KeyError:
        raise FormatError(f"{cls.__qualname__} is not an event type of the log") from None


def event_type_named(aggregate_type: str, name: str) -> EventType:
    try:
        return _registry()[1][(aggregate_type, name)]
    except KeyError:
        raise FormatError(f"no event type {name} of a {aggregate_type}") from None


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """An event's document but for its position, which the log gives it at commit:
    the canonical bytes before ``"position"`` (``head``) and after it (``tail``)."""

    head: bytes
    tail: bytes

    def longest(self) -> int:
        """The length of the document at the largest position a log can reach."""
        return len(self.head) + len(self.tail) + len(b',"position":,') + len(str(2**63))

    def placed(self, position: int) -> bytes:
        """The document's bytes at ``position`` (keys stay in canonical order: every
        key of ``head`` sorts before ``position``, every key of ``tail`` after it)."""
        return b'%s,"position":%d,%s' % (self.head, position, self.tail)


def draft(event: Any) -> Draft:
    kind = event_type_of(type(event))
    actor: Actor = event.actor
    data = {}
    for name, value in vars(event).items():
        if name in ENVELOPE:
            continue
        codec = kind.fields.get(name)
        data[name] = codec[0](value) if codec is not None else plain(value)
    front: dict[str, Any] = {
        "actor": {"id": str(actor.id), "name": actor.name, "role": actor.role.value},
        "aggregate_id": str(event.originator_id),
        "aggregate_type": kind.aggregate_type,
        "data": data,
    }
    if kind.class_version != kind.baseline_version:
        front["class_version"] = kind.class_version
    client_request_id = vars(event).get("client_request_id")
    if client_request_id is not None:
        front["client_request_id"] = client_request_id
    back = {
        "recorded_at": instant(event.timestamp),
        "request_id": event.request_id,
        "type": kind.name,
        "version": event.originator_version,
    }
    return Draft(canonical(front)[:-1], canonical(back)[1:])


def document_bytes(event: Any, position: int) -> bytes:
    """The stored bytes of ``event`` at ``position``."""
    return draft(event).placed(position)


# -- reading ---------------------------------------------------------------------------------


def read_event(document: bytes) -> Any:
    """The domain event a document's bytes record (upcast to its class's version)."""
    try:
        parsed = json.loads(document)
        kind = event_type_named(parsed["aggregate_type"], parsed["type"])
        data = dict(parsed["data"])
        kind.upcast(data, parsed.get("class_version", kind.baseline_version))
        state: dict[str, Any] = {}
        for name, value in data.items():
            codec = kind.fields.get(name)
            state[name] = codec[1](value) if codec is not None else value
        actor = parsed["actor"]
        state["originator_id"] = UUID(parsed["aggregate_id"])
        state["originator_version"] = parsed["version"]
        state["timestamp"] = parse_instant(parsed["recorded_at"])
        state["actor"] = Actor(ActorRole(actor["role"]), UUID(actor["id"]), actor["name"])
        state["request_id"] = parsed["request_id"]
        if "client_request_id" in parsed:
            state["client_request_id"] = str(parsed["client_request_id"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise FormatError(f"not an event document: {error}") from error
    if kind.aggregate_topic is not None:
        state["originator_topic"] = kind.aggregate_topic
    event = object.__new__(kind.cls)
    object.__setattr__(event, "__dict__", state)
    return event


def position_in(document: bytes) -> int | None:
    """The position a document's bytes state, read without parsing them: the key
    ``"position"`` is the last one before the fixed-format tail (instant, request id,
    type, version), and no key inside ``data`` can be preceded by ``,`` and followed
    by ``:<digits>,"recorded_at"``."""
    end = document.rfind(b',"recorded_at":')
    start = document.rfind(b',"position":', 0, end)
    if start < 0 or end < 0:
        return None
    digits = document[start + 12 : end]
    return int(digits) if digits.isdigit() else None


__all__ = [
    "AGGREGATES",
    "BASELINE_VERSIONS",
    "MAX_DOCUMENT_BYTES",
    "Draft",
    "EventType",
    "FormatError",
    "canonical",
    "document_bytes",
    "draft",
    "event_type_named",
    "event_type_of",
    "leaf_hash",
    "position_in",
    "read_event",
]
