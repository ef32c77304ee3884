"""The domain stays pure: only the standard library and ``eventsourcing.domain``.

import-linter (run by the test command) checks the layers and forbids frameworks; it
cannot forbid a subpackage of an outside package, so this test checks that part."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_only_stdlib_and_eventsourcing_domain() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert files, "the domain package has modules"
    offenders = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if not (
            module.split(".")[0] in sys.stdlib_module_names
            or module == "eventsourcing.domain"
            or module.split(".")[0] == "domain"
        )
    }
    assert offenders == set()
