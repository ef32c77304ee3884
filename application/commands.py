"""The ledger's commands: every change the HTTP contract allows, each a use case that runs one
change in one unit of work (``LedgerCore.run``). Rules are the domain's; a use case
loads, asks the aggregate, and says what to save."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from application.core import Change, CommandResult, LedgerCore, latest_world_day, today_in_new_zealand
from application.errors import Forbidden, NotFound, VersionMismatch
from application.idempotency import Idempotency
from domain.commitment import Commitment
from domain.errors import UnknownJointAction
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import (
    Actor,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    Response,
    Visibility,
)

# -- the changes use cases share (with imports, which record many in one unit of work) --


def started(
    lead: Partner,
    *,
    title: str,
    description: str,
    action_plan: str,
    external_ref: str,
    starts_on: date,
    ends_on: date,
    ogp_values: list[OgpValue],
    visibility: Visibility,
    actor: Actor,
    request_id: str,
    commitment_id: UUID | None = None,
) -> Commitment:
    """A new commitment that an agency creates and ``lead``s (the agency's partner)."""
    if actor.role is not ActorRole.AGENCY:
        raise Forbidden("only an agency creates commitments")
    return Commitment.start(
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


def milestone_added(commitment: Commitment, *, title: str, due_on: date, actor: Actor, request_id: str) -> UUID:
    """A milestone added to the commitment: its new id."""
    milestone_id = uuid4()
    commitment.add_milestone(milestone_id=milestone_id, title=title, due_on=due_on, actor=actor, request_id=request_id)
    return milestone_id


def milestone_reached(
    commitment: Commitment,
    milestone_id: UUID,
    *,
    reached_on: date,
    evidence_url: str | None,
    note: str | None,
    actor: Actor,
    request_id: str,
) -> None:
    """A milestone of the commitment reported reached (on a day not in the future anywhere)."""
    commitment.reach_milestone(
        milestone_id=milestone_id,
        reached_on=reached_on,
        today=latest_world_day(),
        evidence_url=evidence_url,
        note=note,
        actor=actor,
        request_id=request_id,
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
        self,
        partner_id: UUID,
        *,
        name: str,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An admin renames a partner, giving a reason: documents, searches and later
        timeline entries use the new name; earlier entries keep the old one."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin renames partners")

        def change() -> Change:
            partner = self.load_partner(partner_id)
            if expected_version is not None and expected_version != partner.version:
                raise VersionMismatch(expected_version, partner.version)
            partner.rename(name=name, reason=reason, actor=actor, request_id=request_id)
            return Change((partner,))

        return self.run(change, idempotency=idempotency, retry=expected_version is None)

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
            commitment = started(
                self.load_partner(actor.id),
                commitment_id=commitment_id,
                title=title,
                description=description,
                action_plan=action_plan,
                external_ref=external_ref,
                starts_on=starts_on,
                ends_on=ends_on,
                ogp_values=ogp_values,
                visibility=visibility,
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
        joined_on: date | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead brings a registered partner into the commitment (``joined_on``: the
        date the partnership began, if not today)."""

        def add(commitment: Commitment) -> None:
            commitment.check_active()
            commitment.check_lead(actor)
            partner = self.load_partner(partner_id)
            commitment.add_partner(
                partner_id=partner.id,
                name=partner.name,
                kind=partner.kind,
                role=role,
                joined_on=joined_on,
                today=latest_world_day(),
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

        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: milestone_added(c, title=title, due_on=due_on, actor=actor, request_id=request_id),
        )

    def change_milestone(
        self,
        commitment_id: UUID,
        milestone_id: UUID,
        *,
        title: str | None = None,
        due_on: date | None = None,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead or support agency retitles or reschedules a milestone not yet reached."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.change_milestone(
                milestone_id=milestone_id, title=title, due_on=due_on, reason=reason, actor=actor, request_id=request_id
            ),
        )

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
            lambda c: milestone_reached(
                c,
                milestone_id,
                reached_on=reached_on,
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
        """A partner of the commitment (an agency or a community partner) records
        something it did together with other current partners: a joint action of its
        own (``expected_version`` is the commitment's)."""
        action_id = uuid4()

        def change() -> Change:
            commitment = self.for_change(commitment_id, actor, expected_version)
            action = JointAction.record(
                id=action_id,
                commitment=commitment,
                summary=summary,
                occurred_on=occurred_on,
                partner_ids=partner_ids,
                evidence_url=evidence_url,
                actor=actor,
                request_id=request_id,
            )
            return Change((action,), action_id, context=commitment)

        return self.run(change, idempotency=idempotency, retry=expected_version is None)

    def _change_action(
        self,
        commitment_id: UUID,
        action_id: UUID,
        actor: Actor,
        expected_version: int | None,
        idempotency: Idempotency | None,
        joint: Callable[[JointAction, Commitment], None],
        legacy: Callable[[Commitment], None],
    ) -> CommandResult:
        """A change of a joint action (``expected_version`` is the action's): of the
        aggregate, with its commitment; or, for an action the commitment recorded in
        its own stream, of the commitment."""

        def change() -> Change:
            commitment = self.visible(commitment_id, actor)
            if str(action_id) in commitment.actions:
                if expected_version is not None:
                    record = self.read_models.action_record(action_id)
                    if record is not None and record.version != expected_version:
                        raise VersionMismatch(expected_version, record.version)
                legacy(commitment)
                return Change((commitment,))
            try:
                action = self.load_action(action_id)
            except NotFound:
                raise UnknownJointAction("no such joint action in this commitment") from None
            if action.commitment_id != commitment.id:
                raise UnknownJointAction("no such joint action in this commitment")
            if expected_version is not None and expected_version != action.version:
                raise VersionMismatch(expected_version, action.version)
            joint(action, commitment)
            return Change((action,), context=commitment)

        return self.run(change, idempotency=idempotency, retry=expected_version is None)

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
        """A partner named in a joint action, and still a partner of the commitment,
        confirms or disputes it, once."""
        return self._change_action(
            commitment_id,
            action_id,
            actor,
            expected_version,
            idempotency,
            lambda action, commitment: action.respond(
                commitment=commitment, response=response, note=note, actor=actor, request_id=request_id
            ),
            lambda commitment: commitment.respond_to_action(
                action_id=action_id, response=response, note=note, actor=actor, request_id=request_id
            ),
        )

    def withdraw_action(
        self,
        commitment_id: UUID,
        action_id: UUID,
        *,
        reason: str,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """The partner that recorded a joint action withdraws it, giving a reason."""
        return self._change_action(
            commitment_id,
            action_id,
            actor,
            expected_version,
            idempotency,
            lambda action, commitment: action.withdraw(
                commitment=commitment, reason=reason, actor=actor, request_id=request_id
            ),
            lambda commitment: commitment.withdraw_action(
                action_id=action_id, reason=reason, actor=actor, request_id=request_id
            ),
        )

    def record_assessment(
        self,
        commitment_id: UUID,
        *,
        stage: AssessmentStage,
        assessed_on: date,
        completion: Completion,
        did_it_open_government: OpenedGovernment | None = None,
        starred: bool = False,
        report_url: str | None = None,
        note: str | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An independent assessor records its assessment of a commitment."""
        if actor.role is not ActorRole.ASSESSOR:
            raise Forbidden("only an independent assessor records assessments")

        def record(commitment: Commitment) -> UUID:
            assessment_id = uuid4()
            commitment.record_assessment(
                assessment_id=assessment_id,
                stage=stage,
                assessed_on=assessed_on,
                completion=completion,
                did_it_open_government=did_it_open_government,
                starred=starred,
                report_url=report_url,
                note=note,
                today=latest_world_day(),
                actor=actor,
                request_id=request_id,
            )
            return assessment_id

        return self._change_commitment(commitment_id, actor, expected_version, idempotency, record)

    def report_progress(
        self,
        commitment_id: UUID,
        *,
        completion: Completion,
        note: str,
        as_of: date | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """A lead reports completion on OGP's scale, as at ``as_of`` (the date the
        report describes; default: today in New Zealand)."""
        return self._change_commitment(
            commitment_id,
            actor,
            expected_version,
            idempotency,
            lambda c: c.report_progress(
                completion=completion,
                note=note,
                as_of=as_of or today_in_new_zealand(),
                today=latest_world_day(),
                actor=actor,
                request_id=request_id,
            ),
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
