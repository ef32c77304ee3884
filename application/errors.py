"""Application errors (the domain's own errors are in ``domain.errors``)."""

from __future__ import annotations


class ApplicationError(Exception):
    code = "application-error"


class NotFound(ApplicationError):
    """No such resource, or one the caller may not see."""

    code = "not-found"


class Forbidden(ApplicationError):
    """The caller's role does not allow this use case."""

    code = "forbidden"


class VersionMismatch(ApplicationError):
    """The expected version (``If-Match``) is not the current one."""

    code = "version-mismatch"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected version {expected}, but the current version is {current}")
        self.expected = expected
        self.current = current


class ConcurrentWrite(ApplicationError):
    """Another write to the same aggregate won the race; nothing was recorded."""

    code = "concurrent-write"


class ContextMoved(ConcurrentWrite):
    """A joint action's change was checked against its commitment, which another write
    changed before this one was saved: it is run again on the commitment as it is now."""


class KeyInUse(ConcurrentWrite):
    """A concurrent request with the same Idempotency-Key recorded its change first."""


class StoreBusy(ApplicationError):
    """The store is busy (locked by another writer); retry shortly."""

    code = "store-busy"


class BadQuery(ApplicationError):
    """A query argument that cannot be satisfied (unknown version, bad cursor)."""

    code = "bad-query"


class LogIntegrityError(ApplicationError):
    """Stored log data does not match its hashes: it was changed behind the service's
    back. Reads of that part of the log stop here and name the position."""

    code = "log-integrity"

    def __init__(self, position: int | None, detail: str) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"the log fails verification{where}: {detail}")
        self.position = position
        self.detail = detail


class EventTooLarge(ApplicationError):
    """A change whose record would be longer than the log's entries may be; nothing is
    recorded. It can be made in smaller steps."""

    code = "event-too-large"
