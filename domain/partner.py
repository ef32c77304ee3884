"""The Partner aggregate: an organisation registered once and referred to by id."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.errors import NothingChanged
from domain.values import NAME_MAX, NOTE_MAX, REF_MAX, Actor, PartnerKind, clean_optional, clean_text, clean_title


class Partner(Aggregate):
    """An agency, community organisation, iwi/hapū, civil-society organisation or business."""

    @event("PartnerRegistered")
    def __init__(
        self,
        id: UUID,
        name: str,
        kind: PartnerKind,
        external_ref: str | None,
        actor: Actor,
        request_id: str,
    ) -> None:
        self.name = name
        self.kind = kind
        self.external_ref = external_ref

    @classmethod
    def register(
        cls,
        *,
        id: UUID | None = None,
        name: str,
        kind: PartnerKind,
        external_ref: str | None,
        actor: Actor,
        request_id: str,
    ) -> Partner:
        return cls(
            id=id or uuid4(),
            name=clean_title(name, "name", NAME_MAX),
            kind=kind,
            external_ref=clean_optional(external_ref, "external_ref", REF_MAX),
            actor=actor,
            request_id=request_id,
        )

    def rename(self, *, name: str, reason: str, actor: Actor, request_id: str) -> None:
        """An admin renames the partner, giving a reason. What was recorded under the old
        name keeps it; what is shown from now on uses the new one."""
        name = clean_title(name, "name", NAME_MAX)
        if name == self.name:
            raise NothingChanged("the partner already has that name")
        reason = clean_text(reason, "reason", NOTE_MAX, required=True)
        self._renamed(name=name, reason=reason, actor=actor, request_id=request_id)

    class PartnerRenamed(Aggregate.Event):
        """``PartnerRenamed``. Version 1 had no ``reason``: it reads as none given."""

        class_version = 2
        name: str
        reason: str | None
        actor: Actor
        request_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("reason", None)

    @event(PartnerRenamed)
    def _renamed(self, name: str, reason: str | None, actor: Actor, request_id: str) -> None:
        self.name = name
