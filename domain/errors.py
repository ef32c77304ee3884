"""Domain errors: each rule of the domain (docs/domain.md) refuses with its own class."""

from __future__ import annotations


class DomainError(Exception):
    """A command refused by a rule of the domain. Nothing was recorded."""

    code = "domain-rule"


class InvalidValue(DomainError):
    """A field's value breaks a rule (length, range, format)."""

    code = "invalid-value"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NothingChanged(DomainError):
    """An amendment that would change nothing."""

    code = "nothing-changed"


class CommitmentWithdrawn(DomainError):
    """A withdrawn commitment refuses every further change."""

    code = "commitment-withdrawn"


class AlreadyPartner(DomainError):
    """The partner already belongs to the commitment."""

    code = "already-partner"


class NotPartner(DomainError):
    """The partner does not (or no longer) belong to the commitment."""

    code = "not-partner"


class RoleMismatch(DomainError):
    """The role does not fit the partner's kind (leads and supports are agencies)."""

    code = "role-mismatch"


class LastLeadCannotLeave(DomainError):
    """A commitment always keeps at least one lead."""

    code = "last-lead"


class UnknownMilestone(DomainError):
    """No milestone with that id in this commitment."""

    code = "unknown-milestone"


class MilestoneAlreadyReached(DomainError):
    """A milestone is reached once."""

    code = "milestone-already-reached"


class UnknownJointAction(DomainError):
    """No joint action with that id in this commitment."""

    code = "unknown-joint-action"


class NotNamedInAction(DomainError):
    """Only partners named in a joint action may confirm or dispute it."""

    code = "not-named-in-action"


class AlreadyResponded(DomainError):
    """Each named partner confirms or disputes a joint action once."""

    code = "already-responded"


class ActionWithdrawn(DomainError):
    """A joint action its recorder withdrew takes no responses and is not withdrawn twice."""

    code = "action-withdrawn"


class NotPermitted(DomainError):
    """The actor's role or partnership does not allow this command."""

    code = "not-permitted"


class PlanNameTaken(DomainError):
    """No two action plans answer to the same name (now or formerly)."""

    code = "plan-name-taken"
