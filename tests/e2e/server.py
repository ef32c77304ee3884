"""A real ``tutahi serve`` process for end-to-end tests (loopback only, bounded waits)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
TUTAHI = str(BIN / "tutahi")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tutahi(
    url: str, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs a ``tutahi`` command on the store at ``url`` (``env``: variables besides
    this process's own)."""
    return subprocess.run(
        [TUTAHI, "--database-url", url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env={**os.environ, **(env or {})},
    )


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tutahi serve exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("tutahi serve did not become ready in time")


@contextmanager
def running_server(
    url: str, log: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Starts ``tutahi serve`` on a free loopback port (``env``: variables besides this
    process's own); stops it with SIGTERM (then SIGKILL if it does not stop in time)."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [TUTAHI, "--database-url", url, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, process)
            yield base, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
