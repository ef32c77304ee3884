"""The HTTP machinery every route shares: the request id, the JSON body, the bearer
token, roles, ``If-Match`` and ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote
from uuid import uuid4

import rfc8785
from flask import Flask, Response, current_app, g, request, session
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from application.audit import Auditor
from application.core import CLIENT_REQUEST_ID
from application.credentials import Credential, Credentials, WebSessions
from application.errors import ApplicationError
from application.idempotency import Idempotency, KeptResponse
from application.ledger import Ledger
from application.transparency import TransparencyLog
from domain.errors import DomainError
from domain.values import Actor, ActorRole
from infrastructure.credentials import SqlFeedTokenStore, SqlWebSessionStore
from interfaces.api.problems import Problem
from interfaces.api.throttle import throttles
from interfaces.serve import MAX_REQUEST_LINE

F = TypeVar("F", bound=Callable[..., Any])
VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_BODY = 1024 * 1024
MAX_JSON_DEPTH = 64


@dataclass
class Services:
    """What the composition root builds once per process and the routes use."""

    ledger: Ledger
    credentials: Credentials
    auditor: Auditor
    feed_tokens: SqlFeedTokenStore
    web_sessions: SqlWebSessionStore
    transparency: TransparencyLog

    def close(self) -> None:
        if self.transparency.witnesses is not None:
            self.transparency.witnesses.close()
        self.ledger.close()


def services() -> Services:
    return cast(Services, current_app.extensions["tutahi"])


# -- request id and authentication ---------------------------------------------------


def request_line_length() -> int:
    """The length of the request line as the client sent it (``GET <target> HTTP/1.1``)."""
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING", "")
    if query and "?" not in target:  # some servers (werkzeug's) leave the query out of RAW_URI
        target += f"?{query}"
    return len(request.method) + len(target) + len(" HTTP/1.1") + 1


def begin_request() -> None:
    """Runs before every request: the request id (the service's; a well-formed
    ``X-Request-Id`` the client sent is kept beside it), a malformed ``Idempotency-Key``
    refused, and the caller if it sent a token (an unknown or revoked token is refused
    at once, on any route). A request line longer than gunicorn reads (``tutahi
    serve``) is refused here too, alike, whatever server runs the app."""
    given = request.headers.get("X-Request-Id", "")
    g.request_id = uuid4().hex  # always the service's own: events and problems carry it
    g.client_request_id = given if VISIBLE_ASCII.match(given) else None
    CLIENT_REQUEST_ID.set(g.client_request_id)
    if request_line_length() > MAX_REQUEST_LINE:
        raise Problem(414, f"the request line is over {MAX_REQUEST_LINE} bytes", code="uri-too-long")
    g.actor = None
    key = request.headers.get("Idempotency-Key")
    if key is not None and not VISIBLE_ASCII.match(key):
        raise Problem(400, "Idempotency-Key must be 1 to 200 visible ASCII characters", code="bad-idempotency-key")
    g.credential = None
    header = request.headers.get("Authorization")
    if header is None:
        return
    # An address past its limit of unknown tokens is refused before its token is checked.
    limit = throttles().unknown_token
    limit.check()
    scheme, _, token = header.partition(" ")
    checked = services().credentials.check(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if checked is None:
        limit.count()
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "use Authorization: Bearer <token>", code="unauthorised")
        raise Problem(401, "unknown or revoked token", code="unauthorised")
    g.credential, g.actor = checked


def end_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY.format(nonce=csp_nonce()))
        response.headers.setdefault("Referrer-Policy", "same-origin")
    if carried_credentials():
        response.headers["Cache-Control"] = "no-store"
    return response


# -- response headers ------------------------------------------------------------------

# Pages load only this site's own stylesheets, scripts and images, and no other site may
# frame them. Inline <style> (pygal's pictures) needs the request's nonce; no inline script.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csp_nonce() -> str:
    """This response's nonce for inline styles, made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def carried_credentials() -> bool:
    """Whether the request carried a token or a session: a bearer token, a feed token in
    the URL, a token in a sign-in form, or the session cookie. What it got back is the
    caller's alone, and no cache may keep it."""
    return (
        "Authorization" in request.headers
        or "token" in request.args
        or current_app.config["SESSION_COOKIE_NAME"] in request.cookies
        or (request.mimetype in FORM_TYPES and "token" in request.form)
    )


def current_actor() -> Actor | None:
    return cast(Actor | None, g.get("actor"))


def session_caller() -> tuple[Credential, Actor] | None:
    """The credential a live web session (the session cookie) was signed in with, and
    its actor: not signed out, not expired, its token not revoked."""
    key = session.get("sid")
    if not isinstance(key, str) or not key:
        return None
    live = WebSessions(services().web_sessions, services().credentials).live(key, datetime.now(UTC))
    if live is None:
        session.clear()
    return live


def reader() -> Actor | None:
    """Who is reading: a bearer token wins, then the web session."""
    actor = current_actor()
    if actor is not None:
        return actor
    live = session_caller()
    return live[1] if live else None


def require_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        raise Problem(401, "this needs a token: Authorization: Bearer <token>", code="unauthorised")
    return actor


def requires(*roles: ActorRole) -> Callable[[F], F]:
    """A token is needed; with roles given, the token's role must be one of them."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = require_actor()
            if roles and actor.role not in roles:
                allowed = ", ".join(role.value for role in roles)
                raise Problem(403, f"this needs a token of role {allowed}", code="forbidden")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


# -- the JSON body -------------------------------------------------------------------


def _depth(value: Any, limit: int) -> int:
    depth = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        depth = max(depth, level)
        if depth > limit:
            return depth
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return depth


def json_body() -> dict[str, Any]:
    """The request body as a JSON object: 415 if it is not JSON, 400 if it is not
    valid UTF-8 JSON or not an object, 413 over 1 MiB. An empty body is ``{}``."""
    if "json_body" in g:
        return cast(dict[str, Any], g.json_body)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise Problem(413, "the body is larger than 1 MiB", code="too-large")
    if not raw:
        g.json_body = {}
        return {}
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
        raise Problem(415, "send the body as application/json", code="unsupported-media-type")
    try:
        text = raw.decode("utf-8")
        parsed = json.loads(text)
    except UnicodeDecodeError:
        raise Problem(400, "the body is not valid UTF-8", code="bad-json") from None
    except RecursionError:
        raise Problem(400, "the body is nested too deeply", code="bad-json") from None
    except ValueError as error:
        raise Problem(400, f"the body is not valid JSON: {error}", code="bad-json") from None
    if not isinstance(parsed, dict):
        raise Problem(400, "the body must be a JSON object", code="bad-json")
    if _depth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Problem(400, "the body is nested too deeply", code="bad-json")
    g.json_body = parsed
    return parsed


class Parser(FlaskParser):
    """webargs reading the body through ``json_body`` (so its errors are problems), each
    argument schema made once, not on every request (loading keeps no state in it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schemas: dict[type[Any], Any] = {}

    def _get_schema(self, argmap: Any, req: Any) -> Any:
        if isinstance(argmap, type):
            schema = self.schemas.get(argmap)
            if schema is None:
                schema = self.schemas[argmap] = super()._get_schema(argmap, req)
            return schema
        return super()._get_schema(argmap, req)

    def load_json(self, req: Any, schema: Any) -> Any:
        return json_body()

    def load_json_or_form(self, req: Any, schema: Any) -> Any:
        return json_body()


class ApiBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint whose argument parser reads bodies through ``json_body``
    (set on the class: ``@blp.arguments`` binds the parser when it decorates)."""

    ARGUMENTS_PARSER = Parser()


# -- optimistic concurrency ------------------------------------------------------------


def etag_of(version: int) -> str:
    return f'"{version}"'


def expected_version(*, required: bool, current: Callable[[], int] | None = None) -> int | None:
    """The version ``If-Match`` names (None for ``*`` or no header). 428 when it is
    required and missing; 412 when it names no version this record could be at."""
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise Problem(428, "send If-Match with the record's ETag (from GET)", code="precondition-required")
        return None
    header = header.strip()
    if header == "*":
        return None
    candidates = []
    for part in header.split(","):
        tag = part.strip()
        if re.fullmatch(r'"\d{1,9}"', tag):
            candidates.append(int(tag[1:-1]))
    if len(candidates) == 1:
        return candidates[0]
    if candidates and current is not None:
        now = current()
        if now in candidates:
            return now
    raise Problem(412, "If-Match does not match the current version", code="precondition-failed")


# -- commands and idempotency ---------------------------------------------------------------


Rendered = dict[str, Any] | tuple[dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class Command:
    """What a command view returns: ``run`` calls the use case (with the request's
    ``Idempotency``, or None without a key); ``render`` makes the response body of its
    result (and headers besides the ETag)."""

    run: Callable[[Idempotency | None], Any]
    render: Callable[[Any], Rendered]


def _request_hash() -> str:
    raw = request.get_data(cache=True)
    try:
        # The body as ``json_body`` parsed it (once), else as sent (a body it refused).
        body_bytes = rfc8785.dumps(g.json_body if "json_body" in g else json.loads(raw)) if raw else b""
    except (ValueError, rfc8785.CanonicalizationError, RecursionError):
        body_bytes = raw
    digest = hashlib.sha256()
    # The query is part of the request where there is one (an import's dry run is not the import).
    query = request.query_string.decode("latin-1")
    digest.update(f"{request.method} {request.path}{'?' + query if query else ''}\n".encode())
    digest.update(body_bytes)
    return digest.hexdigest()


def _sent(kept: KeptResponse, *, replayed: bool = False) -> Response:
    response = Response(kept.body, status=kept.status, mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]
    for name, value in kept.headers.items():
        response.headers[name] = value
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _earlier(idempotency: Idempotency) -> Response | None:
    """The response kept for this key, replayed; 422 if the key came with another request."""
    record = idempotency.earlier(services().ledger.idempotency)
    if record is None:
        return None
    if record.request_hash != idempotency.request_hash:
        raise Problem(
            422,
            "this Idempotency-Key was used with a different request",
            code="idempotency-key-reused",
            errors={"Idempotency-Key": ["already used with a different request body"]},
        )
    return _sent(record.response, replayed=True)


def records(
    blp: Blueprint,
    status: int,
    schema: Any,
    *,
    headers: dict[str, Any] | None = None,
    etag: bool = True,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """For a view that returns a ``Command``: documents the response (as
    ``blp.response``), runs the command and answers with its result serialised by
    ``schema``, with the ETag of the new version when ``etag``. With an
    ``Idempotency-Key`` (1-200 visible ASCII characters), the same key from the same
    caller with the same body within 24 hours gets the first response again and records
    nothing new, another body gets 422; the first response is kept by the use case, in
    its own transaction. ``redact`` removes secrets from what is kept."""

    dumper = schema() if isinstance(schema, type) else schema  # made once, at start-up

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            command: Command = view(*args, **kwargs)

            def respond(result: Any) -> KeptResponse:
                rendered = command.render(result)
                body, extra = rendered if isinstance(rendered, tuple) else (rendered, {})
                kept = {"ETag": etag_of(result.version)} if etag else {}
                text = current_app.json.dumps(dumper.dump(body)) + "\n"
                return KeptResponse(status, text, {**kept, **extra})

            key = request.headers.get("Idempotency-Key")  # well-formed: see begin_request
            if key is None:
                return _sent(respond(command.run(None)))
            idempotency = Idempotency(require_actor().id, key, _request_hash(), respond, datetime.now(UTC))
            if redact is not None:
                idempotency.redact = lambda kept: KeptResponse(
                    kept.status, current_app.json.dumps(redact(json.loads(kept.body))) + "\n", kept.headers
                )
            replay = _earlier(idempotency)
            if replay is not None:
                return replay
            try:
                command.run(idempotency)
            except (ApplicationError, DomainError, Problem):
                # A concurrent retry with the same key may have won, so that this one lost the
                # race or meets its effect (a milestone already reached): answer as the winner did.
                replay = _earlier(idempotency)
                if replay is not None:
                    return replay
                raise
            assert idempotency.response is not None
            return _sent(idempotency.response)

        return cast(F, blp.response(status, schema, headers=headers)(wrapper))

    return decorate


def forget_client_request_id(_: BaseException | None) -> None:
    CLIENT_REQUEST_ID.set(None)


def install(app: Flask) -> None:
    app.before_request(begin_request)
    app.after_request(end_request)
    app.teardown_request(forget_client_request_id)
