"""The composition root of the web service: ``create_app(config)``."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, g, jsonify, render_template, request, send_from_directory
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from application.credentials import Credentials
from infrastructure.credentials import SqlCredentialStore, SqlFeedTokenStore, SqlWebSessionStore
from infrastructure.keys import load_or_create_secret
from infrastructure.store import database_url, engine_of, schema_guard
from interfaces.api import audit, commitments, feedtokens, opendata, partners, plans, tokens
from interfaces.api.docs import DocumentedApi
from interfaces.api.http import MAX_BODY, Services, current_actor, install, services
from interfaces.api.problems import problem_response, register_problem_handlers
from interfaces.api.throttle import install_throttles
from interfaces.composition import open_auditor, open_ledger, open_transparency
from interfaces.tlog import tlog
from interfaces.web import web

DOCS_ASSETS = "/api/v1/docs/assets/"
WEB_FOLDER = Path(__file__).parent / "web"
WEB_TEMPLATES = str(WEB_FOLDER / "templates")
DOCS_SCRIPT = "tutahi-docs.js"
WITNESS_DEADLINE = 5.0  # seconds a new checkpoint waits for witnesses' cosignatures
access_log = logging.getLogger("tutahi.access")


def _configure_logging() -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Builds the service on the store named by ``config["DATABASE_URL"]`` (else
    ``TUTAHI_DATABASE_URL``, else ``tutahi.db``). ``LOG_ORIGIN`` and ``WITNESSES``
    (else ``TUTAHI_LOG_ORIGIN`` and ``TUTAHI_WITNESSES``) name the log in its signed
    checkpoints and the witnesses that cosign them; ``WITNESS_DEADLINE`` bounds the
    wait for them. ``PROXIES`` (else ``TUTAHI_PROXIES``): how many reverse proxies stand
    in front, whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed."""
    settings = dict(config or {})
    # The web blueprint serves the one stylesheet. Its templates folder is the app's too, so
    # that its swagger_ui.html (no inline script) wins over flask-smorest's own.
    app = Flask(__name__, static_folder=None, template_folder=WEB_TEMPLATES)
    app.config.update(
        API_TITLE="Tūtahi",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        # Swagger UI would otherwise send the spec's URL to validator.swagger.io for a badge.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        # One byte over the limit, so that a streamed (chunked) body over 1 MiB is seen to be
        # over it (413) rather than cut at 1 MiB and read as broken JSON (400).
        MAX_CONTENT_LENGTH=MAX_BODY + 1,
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "info": {
                "description": "Commitments that New Zealand agencies and community partners keep together, "
                "and their whole history. Errors are application/problem+json (RFC 9457)."
            },
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
        },
    )
    app.config.update(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # UTF-8, macrons as themselves
    app.json.mimetype = "application/json; charset=utf-8"  # type: ignore[attr-defined]  # the contract's conventions (docs/api.md)
    _configure_logging()

    instance = settings.get("INSTANCE_PATH")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret(instance)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.get("SESSION_COOKIE_SECURE", True),
        SESSION_COOKIE_NAME="tutahi_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    url = database_url(settings.get("DATABASE_URL"))
    with schema_guard(url):  # workers (and servers) starting at once make the tables in turn
        ledger = open_ledger(url)
        auditor = open_auditor(ledger, instance)
        app.extensions["tutahi"] = Services(
            ledger=ledger,
            credentials=Credentials(SqlCredentialStore(ledger.recorder), ledger),
            auditor=auditor,
            feed_tokens=SqlFeedTokenStore(ledger.recorder),
            web_sessions=SqlWebSessionStore(ledger.recorder),
            transparency=open_transparency(
                auditor,
                settings.get("LOG_ORIGIN"),
                settings.get("WITNESSES"),
                float(settings.get("WITNESS_DEADLINE", WITNESS_DEADLINE)),
            ),
        )

    install_throttles(app, settings)
    api = DocumentedApi(app)
    api.spec.options["security"] = [{"bearer": []}, {}]
    for blueprint in (commitments.blp, partners.blp, plans.blp, tokens.blp, feedtokens.blp, audit.blp, opendata.blp):
        api.register_blueprint(blueprint)
    install(app)
    app.register_blueprint(web)
    app.register_blueprint(tlog)
    register_problem_handlers(app, html=_html_error)
    _system_routes(app)
    _access_log(app)
    proxies = trusted_proxies(settings.get("PROXIES"))
    if proxies:
        # The client's address (rate limits, the access log) and scheme as the proxies saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app


class BadProxySetting(ValueError):
    """``TUTAHI_PROXIES`` is not a small whole number: the service does not start."""


def trusted_proxies(given: Any = None) -> int:
    """How many reverse proxies stand in front (the given number, else
    ``TUTAHI_PROXIES``, else none). Only their forwarded headers are believed: with none,
    a client's own ``X-Forwarded-For`` is ignored, so it cannot pose as another address."""
    raw = given if given is not None else os.environ.get("TUTAHI_PROXIES", "0")
    try:
        count = int(raw)
    except (TypeError, ValueError):
        count = -1
    if not 0 <= count <= 10:
        raise BadProxySetting(f"TUTAHI_PROXIES must be a whole number from 0 to 10, not {raw!r}")
    return count


def _html_error(status: int, detail: str) -> Response:
    titles = {
        404: ("Not found", "There is nothing here, or it is shared only with partners. If you are a partner, sign in."),
        400: ("That did not work", detail),
        403: ("Not allowed", detail),
        405: ("Not allowed", "That page cannot be used that way."),
        414: ("That address is too long", detail),
        429: ("Too many attempts", f"{detail} Please wait a little and try again."),
    }
    title, message = titles.get(status, ("Something went wrong", "Please try again in a moment."))
    response = Response(render_template("error.html", title=title, message=message), status=status)
    return response


def _system_routes(app: Flask) -> None:
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get(DOCS_ASSETS + "<path:name>")
    def docs_assets(name: str) -> Response:
        if name == DOCS_SCRIPT:  # the page's own starter script, beside Swagger UI's files
            return send_from_directory(WEB_FOLDER / "static", name, max_age=3600)
        return send_from_directory(assets, name, max_age=3600)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Response:
        engine = engine_of(services().ledger.recorder)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return jsonify(status="ready")


def _access_log(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        actor = current_actor()
        access_log.info(
            json.dumps(
                {
                    "request_id": g.get("request_id"),
                    "client_request_id": g.get("client_request_id"),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                    "actor": f"{actor.role.value}:{actor.id}" if actor else None,
                },
                ensure_ascii=False,
            )
        )
        return response


__all__ = ["create_app", "problem_response"]
