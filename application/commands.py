"""The ledger's commands: every change api.md allows, each a use case that runs one
change in one unit of work (``LedgerCore.run``). Rules are the domain's; a use case
loads, asks the aggregate, and says what to save."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from application.core import Change, CommandResult, LedgerCore, latest_world_day
from application.errors import Forbidden
from application.idempotency import Idempotency
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


class LedgerCommands(LedgerCore):
    """Use cases that record events."""

    # -- partners --------------------------------------------------------------------

    def register_partner(
        self,
        *,
        name: str,
        kind: PartnerKind,
        external_ref: str | None = None,
        actor: Actor,
        request_id: str,
        partner_id: UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An admin registers an organisation as a partner."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin registers partners")

        def change() -> Change:
            partner = Partner.register(
                id=partner_id, name=name, kind=kind, external_ref=external_ref, actor=actor, request_id=request_id
            )
            return Change((partner,), partner.id)

        return self.run(change, idempotency=idempotency)

    def rename_partner(
        self, partner_id: UUID, *, name: str, actor: Actor, request_id: str, idempotency: Idempotency | None = None
    ) -> CommandResult:
        """An admin renames a partner."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin renames partners")

        def change() -> Change:
            partner = self.load_partner(partner_id)
            partner.rename(name=name, actor=actor, request_id=request_id)
            return Change((partner,))

        return self.run(change, idempotency=idempotency)

    # -- commitments -------------------------------------------------------------------

    def _change_commitment(
        self,
        commitment_id: UUID,
        actor: Actor,
        expected_version: int | None,
        idempotency: Idempotency | None,
        command: Any,
    ) -> CommandResult:
        """The shape of most commitment use cases: load it for a change (visible to the
        actor, at the expected version), run ``command(commitment)`` (which may return
        the id of what it created), save it."""

        def change() -> Change:
            commitment = self.for_change(commitment_id, actor, expected_version)
            return Change((commitment,), command(commitment))

        return self.run(change, idempotency=idempotency, retry=expected_version is None)

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
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An agency creates a commitment and becomes its lead."""
        if actor.role is not ActorRole.AGENCY:
            raise Forbidden("only an agency creates commitments")

        def change() -> Change:
            lead = self.load_partner(actor.id)
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
            return Change((commitment,), commitment.id)

        return self.run(change, idempotency=idempotency)

    def amend_commitment(
        self,
        commitment_id: UUID,
        *,
        changes: dict[str, Any],
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead amends fields of the commitment, giving a reason."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.amend(changes=changes, reason=reason, actor=actor, request_id=request_id),
        )

    def add_partner(
        self,
        commitment_id: UUID,
        *,
        partner_id: UUID,
        role: PartnerRole,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead brings a registered partner into the commitment."""

        def add(commitment: Commitment) -> None:
            commitment.check_active()
            commitment.check_lead(actor)
            partner = self.load_partner(partner_id)
            commitment.add_partner(
                partner_id=partner.id,
                name=partner.name,
                kind=partner.kind,
                role=role,
                actor=actor,
                request_id=request_id,
            )

        return self._change_commitment(commitment_id, actor, expected_version, idempotency, add)

    def remove_partner(
        self,
        commitment_id: UUID,
        *,
        partner_id: UUID,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead removes a partner, or the partner leaves."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.remove_partner(partner_id=partner_id, reason=reason, actor=actor, request_id=request_id),
        )

    def add_milestone(
        self,
        commitment_id: UUID,
        *,
        title: str,
        due_on: date,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead or support agency adds a milestone; its new id is returned."""

        def add(commitment: Commitment) -> UUID:
            milestone_id = uuid4()
            commitment.add_milestone(
                milestone_id=milestone_id, title=title, due_on=due_on, actor=actor, request_id=request_id
            )
            return milestone_id

        return self._change_commitment(commitment_id, actor, expected_version, idempotency, add)

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
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead or support agency reports a milestone reached (once)."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.reach_milestone(
                milestone_id=milestone_id,
                reached_on=reached_on,
                today=latest_world_day(),
                evidence_url=evidence_url,
                note=note,
                actor=actor,
                request_id=request_id,
            ),
        )

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
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An agency partner records something done together with other partners."""

        def record(commitment: Commitment) -> UUID:
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
            return action_id

        return self._change_commitment(commitment_id, actor, expected_version, idempotency, record)

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
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A partner named in a joint action confirms or disputes it."""

        def respond(commitment: Commitment) -> None:
            if not actor.is_partner:
                raise NotPermitted("only partners named in the joint action may respond to it")
            commitment.respond_to_action(
                action_id=action_id, response=response, note=note, actor=actor, request_id=request_id
            )

        return self._change_commitment(commitment_id, actor, expected_version, idempotency, respond)

    def report_progress(
        self,
        commitment_id: UUID,
        *,
        completion: Completion,
        note: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead reports completion on OGP's scale."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.report_progress(completion=completion, note=note, actor=actor, request_id=request_id),
        )

    def withdraw_commitment(
        self,
        commitment_id: UUID,
        *,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead withdraws the commitment, which then accepts no further change."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.withdraw(reason=reason, actor=actor, request_id=request_id),
        )
