"""OpenAPI documentation helpers: every route documents the problems it can answer."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from flask_smorest import Blueprint

from interfaces.api.problems import PROBLEM_JSON
from interfaces.api.schemas import ProblemSchema
from interfaces.serve import MAX_REQUEST_LINE

F = TypeVar("F", bound=Callable[..., Any])

READ = (401, 404, 422, 503)
WRITE = (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)
# What any request may meet, whatever its route: a request line or header too long, and
# the rate limit of requests with an unknown token.
ANY_REQUEST = (414, 429, 431)

WHY = {
    400: "The body is not valid JSON, or not an object; or a malformed Idempotency-Key.",
    401: "No token where one is needed, or an unknown or revoked token.",
    403: "The caller's role or partnership does not allow this.",
    404: "No such resource, or a partners-only commitment the caller may not see.",
    409: "A domain rule refuses the command, or a concurrent write won the race.",
    412: "If-Match does not match the current version.",
    413: "The body is over 1 MiB.",
    415: "The body is not JSON.",
    422: "Fields missing, of the wrong type or out of range; `errors` says which.",
    428: "If-Match is required here.",
    414: f"The request line (the URL with its query) is over {MAX_REQUEST_LINE} bytes.",
    429: "Too many requests with an unknown token from this address; retry after Retry-After seconds.",
    431: "A request header, or all of them together, is too large.",
    503: "The store is busy (see Retry-After).",
}


def problems(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Documents each status, and those any request may meet, as an
    ``application/problem+json`` response."""

    def decorate(view: F) -> F:
        for status in sorted(set(statuses) | set(ANY_REQUEST), reverse=True):
            view = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=WHY.get(status, HTTPStatus(status).phrase),
            )(view)
        return view

    return decorate
