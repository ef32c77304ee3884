"""The client generators partners use, each installed in an environment of its own (never
the project's .venv) and kept in a cache folder between runs: openapi-python-client, at
the version pyproject.toml pins in its ``clients`` extra, in a virtual environment;
openapi-typescript and TypeScript from the lock file in ``openapi_typescript/``.

Outside CI a test that cannot have its tool is skipped, saying why; in CI it fails."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPESCRIPT = Path(__file__).resolve().parent / "openapi_typescript"
INSTALL_SECONDS = 900
READY = ".ready"


def cache_folder() -> Path:
    """``TUTAHI_TOOLS_CACHE``, else ``tutahi-tests`` in the user's cache folder."""
    given = os.environ.get("TUTAHI_TOOLS_CACHE")
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tutahi-tests"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; in CI the generated-client tests may not be skipped")
    pytest.skip(reason)


def python_generator_requirement() -> str:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    (requirement,) = (r for r in extras["clients"] if r.startswith("openapi-python-client=="))
    return str(requirement)


def run(command: list[str], cwd: Path | None = None, attempts: int = 1) -> None:
    """Runs an install step (again, up to ``attempts`` times, for a registry's passing hiccup);
    if it keeps failing the tool is unavailable, and the step's last words say why."""
    failure = ""
    for _ in range(attempts):
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as error:
            failure = str(error)
            continue
        if done.returncode == 0:
            return
        failure = f"exit {done.returncode}: {(done.stdout + done.stderr)[-1500:]}"
    unavailable(f"{' '.join(command[:4])} failed: {failure}")


@contextmanager
def locked(name: str) -> Iterator[Path]:
    """The cache folder ``name``, held against another test run building it at the same time."""
    cache = cache_folder()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield cache / name
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached(name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` in the cache, built in place by ``build`` if a finished one is
    not there (a half-built one, left by an interrupted run, is built again)."""
    with locked(name) as folder:
        if not (folder / READY).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / READY).touch()
    return folder


def digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def python_generator() -> Path:
    """The bin folder of a virtual environment holding the pinned openapi-python-client."""
    requirement = python_generator_requirement()

    def build(folder: Path) -> None:
        run([sys.executable, "-m", "venv", str(folder)])
        run(
            [
                str(folder / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ]
        )

    name = requirement.replace("==", "-") + "-" + digest(sys.version.encode(), requirement.encode())
    return cached(name, build) / "bin"


def typescript_tools() -> Path:
    """The node_modules/.bin folder of openapi-typescript and TypeScript as locked."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("the TypeScript client test needs Node.js and npm (apt-get install nodejs npm)")
    lock = (TYPESCRIPT / "package-lock.json").read_bytes()
    manifest = (TYPESCRIPT / "package.json").read_bytes()

    def build(folder: Path) -> None:
        shutil.copy(TYPESCRIPT / "package.json", folder)
        shutil.copy(TYPESCRIPT / "package-lock.json", folder)
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, attempts=3)

    return cached(f"openapi-typescript-{digest(manifest, lock)}", build) / "node_modules" / ".bin"
