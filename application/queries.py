"""The ledger's queries: commitments as they are or were, their histories and diffs,
timelines and lists from the read models, and the log's documents. Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.core import CommandResult, LedgerCore
from application.documents import (
    action_document,
    assessment_document,
    commitment_document,
    diff_documents,
    partner_document,
)
from application.errors import BadQuery, NotFound
from application.log import documents_of
from application.ports import Page, PartnerRow, TimelineEntry, Viewer
from domain.commitment import Commitment
from domain.values import Actor


def viewer_of(actor: Actor | None) -> Viewer:
    if actor is None:
        return Viewer(partner_id=None, sees_everything=False)
    if actor.role.sees_everything:
        return Viewer(partner_id=None, sees_everything=True)
    return Viewer(partner_id=actor.id, sees_everything=False)


class LedgerQueries(LedgerCore):
    """Use cases that read."""

    # -- partners ----------------------------------------------------------------------

    def get_partner(self, partner_id: UUID) -> dict[str, Any]:
        return partner_document(self.load_partner(partner_id))

    def partner_exists(self, partner_id: UUID) -> bool:
        try:
            self.load_partner(partner_id)
        except NotFound:
            return False
        return True

    def list_partners(
        self, *, q: str | None = None, kind: str | None = None, limit: int = 100, after: str | None = None
    ) -> Page[PartnerRow]:
        return self.read_models.list_partners(q=q, kind=kind, limit=limit, after=after)

    # -- commitments -------------------------------------------------------------------

    def recorded(self, aggregate_id: UUID) -> bool:
        """Whether any event of this aggregate is stored (one indexed row read; no load)."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def commitment_exists(self, commitment_id: UUID) -> bool:
        try:
            self.load_commitment(commitment_id)
        except NotFound:
            return False
        return True

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
        current = self.visible(commitment_id, viewer)
        if version is not None and as_of is not None:
            raise BadQuery("give version or as_of, not both")
        if version is not None:
            if not 1 <= version <= current.version:
                raise NotFound(f"no version {version}: the commitment has versions 1 to {current.version}")
            past = self.load_commitment(commitment_id, version)
            return self.document(past, None if version == current.version else past.modified_on)
        if as_of is not None:
            at = self.version_as_of(commitment_id, as_of)
            if at is None:
                raise NotFound("the commitment did not exist yet at that instant")
            return self.document(current if at == current.version else self.load_commitment(commitment_id, at), as_of)
        return self.document(current)

    def document(self, commitment: Commitment, at: datetime | None = None) -> dict[str, Any]:
        """The commitment document of an aggregate, with its partners' names now and its
        joint actions as they are, or were at the instant ``at``."""
        document = commitment_document(commitment, self.read_models.member_names(commitment.id))
        document["actions"] = [
            action_document(record.state, record.commitment_id)
            for record in self.read_models.actions_of(commitment.id, at)
        ]
        return document

    def changed_document(self, result: CommandResult) -> dict[str, Any]:
        """The commitment document after a command on it, with the log position of the
        command's last event."""
        assert isinstance(result.aggregate, Commitment)
        return {**self.document(result.aggregate), "position": result.position}

    def get_action(self, commitment_id: UUID, action_id: UUID, viewer: Actor | None = None) -> dict[str, Any]:
        """One joint action of a commitment the viewer may see, as it is now."""
        self.visible(commitment_id, viewer)
        record = self.read_models.action_record(action_id)
        if record is None or record.commitment_id != commitment_id:
            raise NotFound("no such joint action in this commitment")
        return action_document(record.state, record.commitment_id)

    def assessments(self, commitment_id: UUID, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """The commitment's independent assessments, oldest first."""
        return [assessment_document(a) for a in self.visible(commitment_id, viewer).assessments]

    def current_version(self, commitment_id: UUID, viewer: Actor | None = None) -> int:
        return self.visible(commitment_id, viewer).version

    def version_as_of(self, aggregate_id: UUID, at: datetime) -> int | None:
        """The last version recorded at or before ``at`` (None: not yet created)."""
        if at.tzinfo is None:
            raise BadQuery("as_of must carry a time zone (use Z for UTC)")
        return self.read_models.version_before(aggregate_id, at)

    def commitment_history(self, commitment_id: UUID, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Every event of the commitment, in version order, as the log's documents."""
        self.visible(commitment_id, viewer)
        return documents_of(self.event_log.aggregate_documents(commitment_id))

    def diff(
        self, commitment_id: UUID, from_version: int, to_version: int, viewer: Actor | None = None
    ) -> list[dict[str, Any]]:
        """Field-level changes between two versions, relations included."""
        current = self.visible(commitment_id, viewer)
        for v in (from_version, to_version):
            if not 1 <= v <= current.version:
                raise NotFound(f"no version {v}: the commitment has versions 1 to {current.version}")
        documents = []
        for version in (from_version, to_version):
            past = self.load_commitment(commitment_id, version)
            documents.append(self.document(past, None if version == current.version else past.modified_on))
        return diff_documents(*documents)

    def timeline(
        self, commitment_id: UUID, viewer: Actor | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page[TimelineEntry]:
        """The commitment's shared timeline, newest first."""
        self.visible(commitment_id, viewer)
        return self.read_models.commitment_timeline(commitment_id, limit, after)

    def partner_timeline(
        self, partner_id: UUID, viewer: Actor | None = None, *, limit: int = 100, after: str | None = None
    ) -> Page[TimelineEntry]:
        """Entries of every commitment the partner belongs to, newest first."""
        self.load_partner(partner_id)
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

    # -- the log -------------------------------------------------------------------------

    def log_documents(self, after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the log's documents with their leaf hashes, and the next cursor."""
        entries = self.event_log.documents(after, limit + 1)
        page = entries[:limit]
        return documents_of(page), (page[-1].position if len(entries) > limit else None)
