"""Action plans: the use cases that record and amend them (admins), and the roll-up of
a plan's commitments that anyone may read.

A commitment belongs to the plan that answers to its ``action_plan`` name (a plan's
name now or a former one). Stores from before plans were records hold commitments
whose plan has no record yet: they are listed under their plan's name as before, and
join the plan as soon as an admin records one of that name. The roll-up counts only
the commitments the reader may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from application.core import Change, CommandResult, LedgerCore, today_in_new_zealand
from application.documents import plan_document
from application.errors import Forbidden, NotFound, VersionMismatch
from application.idempotency import Idempotency
from application.ports import CommitmentSummary, PlanRow
from application.queries import viewer_of
from domain.action_plan import ActionPlan
from domain.errors import PlanNameTaken
from domain.values import Actor, ActorRole, Completion, PlanStatus

NOT_REPORTED, NOT_ASSESSED = "not_reported", "not_assessed"


@dataclass(frozen=True)
class PlanRollup:
    """A plan as a reader sees it: its document with the roll-up, the commitments
    counted, and each of their milestones' due and reached dates (for pictures)."""

    document: dict[str, Any]
    commitments: list[CommitmentSummary]
    milestones: list[tuple[date, date | None]]


def counts(values: list[str | None], empty: str) -> dict[str, int]:
    """How many of each completion value (``empty`` for none), every value named."""
    found = {empty: 0, **{c.value: 0 for c in Completion}}
    for value in values:
        found[value or empty] += 1
    return found


class LedgerPlans(LedgerCore):
    """Use cases of action plans."""

    # -- commands ------------------------------------------------------------------------

    def _check_name(self, name: str, plan_id: UUID | None) -> None:
        holder = self.read_models.plan_named(name)
        if holder is not None and holder != plan_id:
            raise PlanNameTaken("another action plan has (or had) that name")

    def create_plan(
        self,
        *,
        name: str,
        starts_on: date,
        ends_on: date,
        status: PlanStatus = PlanStatus.CONSULTATION,
        actor: Actor,
        request_id: str,
        plan_id: UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An admin records an action plan; commitments of that name belong to it."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin records action plans")

        def change() -> Change:
            plan = ActionPlan.create(
                id=plan_id or uuid4(),
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                status=status,
                actor=actor,
                request_id=request_id,
            )
            self._check_name(plan.name, None)
            return Change((plan,), plan.id)

        return self.run(change, idempotency=idempotency)

    def amend_plan(
        self,
        plan_id: UUID,
        *,
        changes: dict[str, Any],
        reason: str,
        occurred_on: date | None = None,
        actor: Actor,
        request_id: str,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
    ) -> CommandResult:
        """An admin amends a plan's name, period or status, giving a reason and the date
        the change was made (today in New Zealand if not given). A renamed plan keeps
        the commitments of its former names."""
        if actor.role is not ActorRole.ADMIN:
            raise Forbidden("only an admin amends action plans")

        def change() -> Change:
            plan = self.plan(plan_id)
            if expected_version is not None and expected_version != plan.version:
                raise VersionMismatch(expected_version, plan.version)
            today = today_in_new_zealand()
            plan.amend(
                changes=changes,
                reason=reason,
                occurred_on=occurred_on or today,
                today=today,
                actor=actor,
                request_id=request_id,
            )
            self._check_name(plan.name, plan.id)
            return Change((plan,))

        return self.run(change, idempotency=idempotency, retry=expected_version is None)

    # -- queries -------------------------------------------------------------------------

    def plan(self, plan_id: UUID) -> ActionPlan:
        try:
            return self.load_plan(plan_id)
        except NotFound:
            raise NotFound("no such action plan") from None

    def plan_rows(self) -> list[PlanRow]:
        """Every recorded plan, the latest first."""
        return self.read_models.plan_rows()

    def plan_of(self, name: str) -> PlanRow | None:
        """The recorded plan a commitment's ``action_plan`` names (exactly), if any."""
        plan_id = self.read_models.plan_named(name)
        row = self.read_models.plan_row(plan_id) if plan_id is not None else None
        return row if row is not None and name in row.names else None

    def plan_commitments(self, plan: PlanRow, viewer: Actor | None) -> list[CommitmentSummary]:
        """The plan's commitments the viewer may see, under any of its names, oldest first."""
        found: list[CommitmentSummary] = []
        for name in plan.names:
            after: str | None = None
            while True:
                page = self.read_models.list_commitments(
                    viewer_of(viewer), q=None, action_plan=name, partner_id=None, status=None, limit=500, after=after
                )
                found.extend(page.items)
                if page.next is None:
                    break
                after = page.next
        return sorted(found, key=lambda c: c.created_position)

    def plan_rollup(self, plan_id: UUID, viewer: Actor | None = None, today: date | None = None) -> PlanRollup:
        """The plan's document and the roll-up of the commitments the viewer may see:
        how many; completion as self-reported and as independently assessed (a count
        per value); milestones in all, due by ``today`` (New Zealand's) and reached."""
        return self.rollup_of(self.plan(plan_id), viewer, today)

    def rollup_of(self, plan: ActionPlan, viewer: Actor | None = None, today: date | None = None) -> PlanRollup:
        """``plan_rollup`` of a plan in hand (after a command, before it is committed)."""
        commitments = self.plan_commitments(
            PlanRow(plan.id, plan.name, plan.names, plan.status.value, plan.starts_on, plan.ends_on, plan.version, 0),
            viewer,
        )
        day = today or today_in_new_zealand()
        milestones = [
            (m.due_on, m.reached_on)
            for summary in commitments
            for m in self.load_commitment(summary.id).milestones.values()
        ]
        document = {
            **plan_document(plan),
            "commitments": len(commitments),
            "completion_counts": counts([c.completion for c in commitments], NOT_REPORTED),
            "assessed_completion_counts": counts([c.assessed_completion for c in commitments], NOT_ASSESSED),
            "milestones_due": len(milestones),  # each is due on its date, as in the open-data export
            "milestones_reached": sum(1 for _, reached in milestones if reached is not None),
            "milestones_overdue": sum(1 for due, reached in milestones if due <= day and reached is None),
        }
        return PlanRollup(document, commitments, milestones)

    def get_plan(self, plan_id: UUID, viewer: Actor | None = None) -> dict[str, Any]:
        return self.plan_rollup(plan_id, viewer).document

    def list_plans(self, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Every recorded plan with its roll-up, the latest first."""
        return [self.get_plan(row.id, viewer) for row in self.plan_rows()]


__all__ = ["NOT_ASSESSED", "NOT_REPORTED", "LedgerPlans", "PlanRollup", "counts"]
