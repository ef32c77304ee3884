"""The HTTP rows' baseline: a plain Flask app with one JSON route, served by gunicorn
with exactly the options ``tutahi serve`` uses for the same store URL, workers and
threads (``interfaces.serve.server_options``: worker count, threads, worker class,
timeouts).

The route takes the service's command path, ``POST /api/v1/commitments/{id}/actions``,
so the same load script drives both servers: it parses the JSON body and answers 201
with a small JSON object, and does nothing else (no token check, no store). Only Flask
and gunicorn are loaded, not the service, so its memory is a plain Flask server's.

Run as ``python -m bench.plain --database-url URL --port PORT --threads N`` (the URL
only chooses the options, as it does for ``tutahi serve``; the store is never opened)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from flask import Flask, request

from interfaces.serve import WsgiServer, server_options


def create_plain_app() -> Flask:
    """One route: parse the JSON body, answer 201 with a small JSON object."""
    app = Flask(__name__)

    @app.post("/api/v1/commitments/<uuid:commitment_id>/actions")
    def record(commitment_id: UUID) -> tuple[dict[str, Any], int]:
        body = request.get_json()
        return {"id": str(uuid4()), "commitment_id": str(commitment_id), "summary": body["summary"]}, 201

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serves the plain app with ``tutahi serve``'s options for the given store URL,
    workers and threads."""
    parser = argparse.ArgumentParser(prog="python -m bench.plain", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="the store URL the service is served on")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=None, help="as tutahi serve's --workers")
    parser.add_argument("--threads", type=int, required=True, help="as tutahi serve's --threads")
    args = parser.parse_args(argv)
    options = server_options(
        args.database_url, host=args.host, port=args.port, workers=args.workers, threads=args.threads
    )
    WsgiServer(create_plain_app, options).run()


if __name__ == "__main__":
    main()
