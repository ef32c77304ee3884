"""The Partner aggregate: an organisation registered once and referred to by id."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import NothingChanged
from domain.values import NAME_MAX, REF_MAX, Actor, PartnerKind, clean_optional, clean_title


class Partner(Aggregate):
    """An agency, community organisation, iwi/hapū, civil-society organisation or business."""

    @event("PartnerRegistered")
    def __init__(
        self, name: str, kind: PartnerKind, external_ref: str | None, actor: Actor, request_id: str
    ) -> None:
        self.name = name
        self.kind = kind
        self.external_ref = external_ref

    @classmethod
    def register(
        cls,
        *,
        id: UUID | None = None,  # noqa: A002 - the library's name for it
        name: str,
        kind: PartnerKind,
        external_ref: str | None,
        actor: Actor,
        request_id: str,
    ) -> Partner:
        fields = {
            "name": clean_title(name, "name", NAME_MAX),
            "kind": kind,
            "external_ref": clean_optional(external_ref, "external_ref", REF_MAX),
            "actor": actor,
            "request_id": request_id,
        }
        return cls(id=id, **fields) if id is not None else cls(**fields)

    def rename(self, *, name: str, actor: Actor, request_id: str) -> None:
        name = clean_title(name, "name", NAME_MAX)
        if name == self.name:
            raise NothingChanged("the partner already has that name")
        self._renamed(name=name, actor=actor, request_id=request_id)

    @event("PartnerRenamed")
    def _renamed(self, name: str, actor: Actor, request_id: str) -> None:
        self.name = name
