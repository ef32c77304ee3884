"""``tutahi serve``: the service under gunicorn. SQLite takes one process with threads
(one writer per file); PostgreSQL takes several worker processes. Each worker builds
its own app after the fork; SIGTERM drains requests and stops gracefully."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from interfaces.app import create_app


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, url: str, options: dict[str, Any], instance: str | None) -> None:
        self.url = url
        self.instance = instance
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app({"DATABASE_URL": self.url, "INSTANCE_PATH": self.instance})


def run_server(
    url: str, *, host: str, port: int, workers: int | None, threads: int, instance: str | None = None
) -> None:
    sqlite = url.startswith("sqlite")
    count = 1 if sqlite else (workers or max(2, (os.cpu_count() or 1)))
    options = {
        "bind": f"{host}:{port}",
        "workers": count,
        "threads": threads,
        "worker_class": "gthread",
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
    Server(url, options, instance).run()
