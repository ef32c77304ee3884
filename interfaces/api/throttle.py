"""Rate limits per client address (Flask-Limiter, on the ``limits`` library): sign-in
attempts that fail, and requests with an unknown token (a bearer token, or a feed token
in a URL). Past a limit, the address gets ``429`` with ``Retry-After`` for every such
attempt until the window passes, whether or not its next guess would be right: a guesser
learns nothing more.

Only failures count, and they can be told apart only after the token is checked, so the
limits are checked and counted where the token is (``begin_request``, the sign-in form,
the feeds) rather than by Flask-Limiter's decorators, which count before the view runs.

Where the counts live is a setting (``TUTAHI_RATE_LIMIT_STORAGE``, Flask-Limiter's
``RATELIMIT_STORAGE_URI``): ``memory://`` holds for one process; ``redis://host:6379``
holds across worker processes and hosts (``tutahi serve`` with several workers needs it).
Services that share one Redis keep their counts apart with ``TUTAHI_RATE_LIMIT_PREFIX``
(default ``tutahi``): processes of one service must use the same prefix."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.errors import StorageError

from interfaces.api.problems import Problem

MEMORY = "memory://"
DEFAULT_SIGN_IN_LIMIT = "10 per minute"
DEFAULT_UNKNOWN_TOKEN_LIMIT = "30 per minute"


class RateLimitStorageUnreachable(RuntimeError):
    """The service does not start without the storage its rate limits are counted in."""


def rate_limit_storage(given: str | None = None) -> str:
    """Where rate-limit counts live: the given URI, else ``TUTAHI_RATE_LIMIT_STORAGE``,
    else this process's memory."""
    return given or os.environ.get("TUTAHI_RATE_LIMIT_STORAGE") or MEMORY


def shared_across_processes(uri: str) -> bool:
    return not uri.startswith(MEMORY)


@dataclass(frozen=True)
class Throttle:
    """One limit on one kind of failed attempt, counted per client address."""

    limiter: Limiter
    item: RateLimitItem
    prefix: str  # several services (or tests) may share one Redis
    scope: str
    what: str

    def keys(self) -> tuple[str, str, str]:
        return self.prefix, self.scope, get_remote_address()

    def check(self) -> None:
        """Refuses (429, ``Retry-After``) an address that has used up its attempts."""
        try:
            if self.limiter.limiter.test(self.item, *self.keys()):
                return
            reset_at, _ = self.limiter.limiter.get_window_stats(self.item, *self.keys())
        except StorageError as error:
            raise unavailable(error) from None
        wait = max(1, math.ceil(reset_at - time.time()))
        raise Problem(
            429,
            f"too many {self.what} from this address; try again in {wait} seconds",
            code="too-many-requests",
            headers={"Retry-After": str(wait)},
        )

    def count(self) -> None:
        """Counts one failed attempt from the caller's address."""
        try:
            self.limiter.limiter.hit(self.item, *self.keys())
        except StorageError as error:
            raise unavailable(error) from None


def unavailable(error: StorageError) -> Problem:
    current_app.logger.warning("rate-limit storage unreachable: %s", error.storage_error)
    return Problem(503, "the service is busy; retry shortly", code="store-busy")


@dataclass(frozen=True)
class Throttles:
    sign_in: Throttle
    unknown_token: Throttle


def install_throttles(app: Flask, settings: Mapping[str, Any]) -> Throttles:
    """The app's limits, with their storage from the settings (``RATE_LIMIT_STORAGE``,
    ``SIGN_IN_RATE_LIMIT``, ``UNKNOWN_TOKEN_RATE_LIMIT``, in ``limits``' notation such as
    ``10 per minute``). A storage that cannot be reached stops the start."""
    app.config["RATELIMIT_STORAGE_URI"] = rate_limit_storage(settings.get("RATE_LIMIT_STORAGE"))
    # Services (or tests) that share one Redis keep their counts apart by prefix.
    app.config.setdefault("RATELIMIT_KEY_PREFIX", os.environ.get("TUTAHI_RATE_LIMIT_PREFIX") or "tutahi")
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"wrap_exceptions": True})
    limiter = Limiter(get_remote_address, app=app)
    if not limiter.storage.check():
        where = app.config["RATELIMIT_STORAGE_URI"]
        raise RateLimitStorageUnreachable(f"the rate-limit storage at {where} is not reachable")
    sign_in = settings.get("SIGN_IN_RATE_LIMIT") or os.environ.get("TUTAHI_SIGN_IN_LIMIT") or DEFAULT_SIGN_IN_LIMIT
    unknown = (
        settings.get("UNKNOWN_TOKEN_RATE_LIMIT")
        or os.environ.get("TUTAHI_UNKNOWN_TOKEN_LIMIT")
        or DEFAULT_UNKNOWN_TOKEN_LIMIT
    )
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    throttles = Throttles(
        sign_in=Throttle(limiter, parse(sign_in), prefix, "sign-in", "failed sign-ins"),
        unknown_token=Throttle(limiter, parse(unknown), prefix, "unknown-token", "requests with an unknown token"),
    )
    app.extensions["tutahi_throttles"] = throttles
    return throttles


def throttles() -> Throttles:
    return cast(Throttles, current_app.extensions["tutahi_throttles"])
