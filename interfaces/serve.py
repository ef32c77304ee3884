"""``tutahi serve``: the service under gunicorn. SQLite takes one process with threads
(one writer per file); PostgreSQL takes several worker processes. Each worker builds
its own app after the fork; SIGTERM drains requests and stops gracefully.

``tutahi serve`` checks the store, then replaces its own process with ``python -m
interfaces.serve`` (``exec_server``): the gunicorn master then holds neither the
service's modules nor an open store connection, which a forked worker must not inherit
(SQLite forbids carrying a connection across ``fork``); each worker imports the
service and opens the store itself. The store URL travels in the environment, not on
the command line, where any user could read a password in it.

The options come from ``server_options`` alone, and ``WsgiServer`` serves any app
factory with them, so a baseline app (the benchmarks' plain Flask route) can be served
exactly as the service is.

gunicorn refuses a request line or header too long for it before the app sees it; its
worker here (``ProblemWorker``) says so as the service says everything, with a problem
document (RFC 9457) and a status the OpenAPI document lists, not an HTML page."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NoReturn

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

# The longest request line gunicorn reads (its own maximum); the app holds URLs to it too.
MAX_REQUEST_LINE = 8190
REFUSED_HEAD = {
    LimitRequestLine: (414, "URI Too Long", "uri-too-long", f"the request line is over {MAX_REQUEST_LINE} bytes"),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "headers-too-large",
        "a request header, or all of them, is too large",
    ),
}


def problem_bytes(status: int, title: str, code: str, detail: str) -> bytes:
    """A whole HTTP response with a problem document, for a request the app never saw."""
    body = json.dumps({"type": f"urn:tutahi:problem:{code}", "title": title, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    return (head + body).encode("latin-1")


class ProblemWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, answering a request line or header it refuses with a
    problem document instead of its HTML error page."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        refused = next((answer for kind, answer in REFUSED_HEAD.items() if isinstance(exc, kind)), None)
        if refused is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, problem_bytes(*refused))
        except OSError:
            self.log.debug("Failed to send error message.")


class WsgiServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving the app that ``factory`` builds (in each worker, after the fork)."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def server_options(url: str, *, host: str, port: int, workers: int | None, threads: int) -> dict[str, Any]:
    """gunicorn's settings for a store at ``url``: one worker process on SQLite, else
    ``workers`` (default: one per CPU, at least two); gthread workers of ``threads``."""
    sqlite = url.startswith("sqlite")
    count = 1 if sqlite else (workers or max(2, (os.cpu_count() or 1)))
    return {
        "bind": f"{host}:{port}",
        "workers": count,
        "threads": threads,
        "worker_class": "interfaces.serve.ProblemWorker",
        "limit_request_line": MAX_REQUEST_LINE,
        "graceful_timeout": 20,
        "timeout": 60,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": False,
        "proc_name": "tutahi",
        # No shared control socket in the home folder: several servers may run at once.
        "control_socket_disable": True,
    }


def service_app(url: str, instance: str | None) -> Any:
    """The service's app (imported here: in the worker, after the fork)."""
    from interfaces.app import create_app

    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance})


def run_server(
    url: str, *, host: str, port: int, workers: int | None, threads: int, instance: str | None = None
) -> None:
    """Serves the service on the store at ``url`` with ``server_options``' settings until
    SIGTERM (or SIGINT)."""
    options = server_options(url, host=host, port=port, workers=workers, threads=threads)
    WsgiServer(partial(service_app, url, instance), options).run()


def exec_server(
    url: str, *, host: str, port: int, workers: int | None, threads: int, instance: str | None = None
) -> NoReturn:
    """Replaces this process (same pid) with ``python -m interfaces.serve``."""
    os.environ["TUTAHI_DATABASE_URL"] = url
    if instance is not None:
        os.environ["TUTAHI_INSTANCE_PATH"] = instance
    argv = [sys.executable, "-m", "interfaces.serve", "--host", host, "--port", str(port), "--threads", str(threads)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m interfaces.serve``: what ``tutahi serve`` becomes once the store is
    checked (the store from ``TUTAHI_DATABASE_URL``, keys from ``TUTAHI_INSTANCE_PATH``)."""
    parser = argparse.ArgumentParser(prog="python -m interfaces.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    url = os.environ.get("TUTAHI_DATABASE_URL")
    if not url:
        parser.error("TUTAHI_DATABASE_URL is not set (start the service with: tutahi serve)")
    instance = os.environ.get("TUTAHI_INSTANCE_PATH")
    run_server(url, host=args.host, port=args.port, workers=args.workers, threads=args.threads, instance=instance)


if __name__ == "__main__":
    main()
