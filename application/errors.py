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


class StoreBusy(ApplicationError):
    """The store is busy (locked by another writer); retry shortly."""

    code = "store-busy"


class BadQuery(ApplicationError):
    """A query argument that cannot be satisfied (unknown version, bad cursor)."""

    code = "bad-query"
