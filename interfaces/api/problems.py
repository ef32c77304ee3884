"""Every error as ``application/problem+json`` (RFC 9457), translated from the
domain's and application's error classes in one table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from eventsourcing.persistence import OperationalError as StoreOperationalError
from flask import Flask, Response, g, json, request
from sqlalchemy.exc import OperationalError as SqlOperationalError
from werkzeug.exceptions import HTTPException

from application.errors import (
    ApplicationError,
    BadQuery,
    ConcurrentWrite,
    EventTooLarge,
    Forbidden,
    LogIntegrityError,
    NotFound,
    StoreBusy,
    VersionMismatch,
)
from application.imports import ImportRefused
from application.tiles import EntryTooLarge
from domain.errors import (
    DomainError,
    InvalidValue,
    NotNamedInAction,
    NotPermitted,
    UnknownJointAction,
    UnknownMilestone,
)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "1"
log = logging.getLogger("tutahi.errors")

# The one table: error class -> HTTP status. First match wins, so subclasses first.
STATUS_OF: list[tuple[type[Exception], int]] = [
    (InvalidValue, 422),
    (NotPermitted, 403),
    # Responding is for the partners named in the action (the contract's "who"): an authorisation refusal.
    (NotNamedInAction, 403),
    # An unknown milestone or action id in the path is "no such resource".
    (UnknownMilestone, 404),
    (UnknownJointAction, 404),
    (DomainError, 409),
    (NotFound, 404),
    (Forbidden, 403),
    (VersionMismatch, 412),
    (ConcurrentWrite, 409),
    (StoreBusy, 503),
    (BadQuery, 422),
    (EventTooLarge, 422),
    (ImportRefused, 422),
    # A stored entry an entry bundle cannot frame (only in stores older than the rule refusing them).
    (EntryTooLarge, 501),
    (ApplicationError, 400),
]


class Problem(Exception):
    """Raised by the HTTP layer itself (bad body, missing token, stale If-Match…)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or HTTPStatus(status).phrase.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers or {}


def problem_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:tutahi:problem:{code or HTTPStatus(status).phrase.lower().replace(' ', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **(extra or {}),
    }
    if errors:
        body["errors"] = errors
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="tutahi"')
    if status == 503:
        response.headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    return response


def status_of(error: Exception) -> int:
    for error_class, status in STATUS_OF:
        if isinstance(error, error_class):
            return status
    return 500


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested ``{"json": {"field": ["msg"]}}`` as ``{"field": ["msg"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "headers", "view_args", "path"):
                name = ""
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten_messages(value, name).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_body"] = list(messages)
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            for field, texts in flatten_messages(item, f"{prefix}.{index}").items():
                flat.setdefault(field, []).extend(texts)
    else:
        flat[prefix or "_body"] = [str(messages)]
    return flat


def wants_html() -> bool:
    """Web pages answer errors as pages; the API, feeds and probes as problem+json."""
    path = request.path
    return not (
        path.startswith(("/api/", "/log/"))
        or path in ("/healthz", "/readyz")
        or path.endswith((".atom", ".ics", ".jsonl", ".csv"))
    )


def register_problem_handlers(app: Flask, html: Callable[[int, str], Response] | None = None) -> None:
    def respond(status: int, detail: str, **kwargs: Any) -> Response:
        if html is not None and wants_html():
            response = html(status, detail)
            for name, value in (kwargs.get("headers") or {}).items():
                response.headers[name] = value
            return response
        return problem_response(status, detail, **kwargs)

    @app.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        return respond(error.status, error.detail, code=error.code, errors=error.errors, headers=error.headers)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        if isinstance(error, InvalidValue):
            return respond(422, str(error), code=error.code, errors={error.field: [error.message]})
        return respond(status_of(error), str(error), code=error.code)

    @app.errorhandler(ApplicationError)
    def _application(error: ApplicationError) -> Response:
        if isinstance(error, LogIntegrityError):
            # Not the caller's fault and not to be retried: the stored log was changed
            # behind the service's back. The operator's log says so too.
            log.error("log integrity: %s (request %s)", error, g.get("request_id"))
            return respond(500, str(error), code=error.code, extra={"position": error.position})
        if isinstance(error, ImportRefused):
            rows = [{"line": e.line, "column": e.column, "message": e.message} for e in error.errors]
            return respond(422, str(error), code=error.code, extra={"errors": rows})
        if isinstance(error, BadQuery):
            return respond(422, str(error), code=error.code, errors={"query": [str(error)]})
        return respond(status_of(error), str(error), code=error.code)

    @app.errorhandler(StoreOperationalError)
    @app.errorhandler(SqlOperationalError)
    def _store_unavailable(error: Exception) -> Response:
        log.warning("store unavailable: %s", str(error).splitlines()[0] if str(error) else type(error).__name__)
        return respond(503, "the store is busy or unreachable; retry shortly", code="store-busy")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        errors = flatten_messages(messages) if messages else None
        headers = {}
        if status == 405:
            allow = error.get_response().headers.get("Allow")
            if allow:
                headers["Allow"] = allow
        if status == 422:
            detail = "some fields are missing, of the wrong type or out of range; see errors"
        elif status == 413:
            detail = "the body is larger than 1 MiB"
        else:
            detail = error.description or HTTPStatus(status).phrase
        return respond(status, detail, errors=errors, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # The last resort: the client gets a problem document, the log gets the trace.
        log.exception("unhandled error in request %s", g.get("request_id"))
        return respond(500, "an unexpected error occurred; it has been logged", code="internal")
