"""Transcodings for every type the domain stores, so a value read back is the
value written (dates, enums, value objects), in events and in snapshots alike."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any, ClassVar

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.values import (
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    ActorRole,
    Assessment,
    AssessmentStage,
    Completion,
    Membership,
    Milestone,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    ProgressReport,
    Response,
    Status,
    Visibility,
)

ENUMS: tuple[type[Enum], ...] = (
    ActionStatus,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    Response,
    Status,
    Visibility,
)
VALUE_OBJECTS: tuple[type[Any], ...] = (
    ActionResponse,
    ActionState,
    Actor,
    Assessment,
    Membership,
    Milestone,
    ProgressReport,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """An enum member stored as its value, named by its class."""

    def __init__(self, enum_type: type[Enum]) -> None:
        self.type = enum_type
        self.name = enum_type.__name__

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class DataclassAsDict(Transcoding):
    """A value object stored as a dict of its fields (each field transcoded in turn)."""

    # Classes renamed since snapshots named them, by their old names.
    FORMER_NAMES: ClassVar[dict[str, str]] = {"ActionState": "JointAction"}

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = self.FORMER_NAMES.get(cls.__name__, cls.__name__)
        self.field_names = [f.name for f in dataclasses.fields(cls)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.field_names}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for enum_type in ENUMS:
        transcoder.register(EnumAsValue(enum_type))
    for cls in VALUE_OBJECTS:
        transcoder.register(DataclassAsDict(cls))
