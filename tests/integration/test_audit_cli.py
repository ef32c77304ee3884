"""``tutahi audit``: checkpoint, public-key, export, verify and the offline
verify-export, as a person at a terminal runs them against a SQLite file; after an edit
made behind the service's back, a non-zero exit and one line naming the first bad
position. verify-export never touches a store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner, Result
from sqlalchemy import create_engine

import interfaces.cli
from interfaces.cli import main
from tests.audit_store import copy_sqlite_file, delete_event, demo_size, edit_leaf, flip_byte

NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/no_such_database"
EMPTY_TREE_ROOT = hashlib.sha256(b"").hexdigest()


class Terminal:
    """One store and one instance folder, as a terminal session would use them."""

    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.url = url
        self.instance = folder / "instance"

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(
            main, ["--database-url", self.url, "--instance-path", str(self.instance), *args], obj={}
        )

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        return result

    def path(self, name: str) -> str:
        return str(self.folder / name)


def error_line(result: Result) -> str:
    """The one line a failed command ends with (a progress bar may come before it)."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip("\n").splitlines()[-1] == errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit-cli")
    Terminal(folder, f"sqlite:///{folder}/demo.db").ok("demo")
    return folder / "demo.db"


@pytest.fixture
def terminal(demo_file: Path, tmp_path: Path) -> Terminal:
    copy_sqlite_file(demo_file, tmp_path / "tutahi.db")
    return Terminal(tmp_path, f"sqlite:///{tmp_path}/tutahi.db")


OPENED: list[str] = []


@pytest.fixture(autouse=True)
def count_store_openings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every time a command opens a store is noted, to show verify-export never does."""
    real = interfaces.cli.open_ledger

    def noted(*args: Any, **kwargs: Any) -> Any:
        OPENED.append(repr(args))
        return real(*args, **kwargs)

    monkeypatch.setattr(interfaces.cli, "open_ledger", noted)


def save_keys(terminal: Terminal) -> tuple[str, str]:
    """Saves a checkpoint with ``--output`` and the public key from its own command."""
    checkpoint_file = terminal.path("checkpoint.json")
    saved = terminal.ok("audit", "checkpoint", "--output", checkpoint_file)
    assert "Saved the checkpoint at size" in saved.stderr
    key_file = terminal.path("public-key.json")
    Path(key_file).write_text(terminal.ok("audit", "public-key").stdout, encoding="utf-8")
    return checkpoint_file, key_file


def verify_export_offline(export: str, checkpoint: str, key: str) -> Result:
    """``tutahi audit verify-export`` with no store to be had: the URL names none, and
    it must not try to open one."""
    opened = len(OPENED)
    result = CliRunner().invoke(
        main,
        ["audit", "verify-export", export, "--checkpoint", checkpoint, "--public-key", key],
        obj={},
        env={"TUTAHI_DATABASE_URL": NO_DATABASE},
    )
    assert len(OPENED) == opened, "verify-export opened a store"
    return result


# -- success ---------------------------------------------------------------------------------------


def test_checkpoint_public_key_export_verify_and_verify_export(terminal: Terminal) -> None:
    size = demo_size()
    checkpoint_file, key_file = save_keys(terminal)
    printed = json.loads(terminal.ok("audit", "checkpoint").stdout)
    saved = json.loads(Path(checkpoint_file).read_text(encoding="utf-8"))
    key = json.loads(Path(key_file).read_text(encoding="utf-8"))
    exported = terminal.ok("audit", "export", terminal.path("log.jsonl"))
    verified = terminal.ok("audit", "verify")
    verified_against = terminal.ok("audit", "verify", "--checkpoint", checkpoint_file)
    checked_offline = verify_export_offline(terminal.path("log.jsonl"), checkpoint_file, key_file)

    assert printed == saved, "one checkpoint per size"
    assert set(saved) == {"tree_size", "root_hash", "issued_at", "key_id", "signature"}
    assert saved["tree_size"] == size and saved["key_id"] == key["key_id"]
    assert set(key) == {"key_id", "algorithm", "public_key", "note_verifier_key"} and key["algorithm"] == "ed25519"
    assert (terminal.instance / "checkpoint-signing-key.pem").is_file(), "the key is made in --instance-path"
    assert f"Exported {size} events" in exported.stdout
    lines = Path(terminal.path("log.jsonl")).read_text(encoding="utf-8").splitlines()
    assert len(lines) == size
    for position, line in enumerate(lines):
        document = json.loads(line)
        assert document["position"] == position
        body = {k: v for k, v in document.items() if k != "leaf_hash"}
        assert document["leaf_hash"] == hashlib.sha256(b"\x00" + rfc8785.dumps(body)).hexdigest()
    assert "Kia Tūtahi" in Path(terminal.path("log.jsonl")).read_text(encoding="utf-8"), "UTF-8, not escaped"
    # The action plans' events are in the log, verified with the rest (two plans, four amendments).
    assert sum('"aggregate_type":"action_plan"' in line for line in lines) == 6
    assert verified.stdout.startswith(f"OK: all {size} events verified")
    assert verified_against.stdout.startswith("OK:")
    assert checked_offline.exit_code == 0, checked_offline.output
    assert checked_offline.stdout.startswith(f"OK: {size} events verified")


def test_an_old_checkpoint_still_verifies_after_the_log_grows(terminal: Terminal) -> None:
    old_checkpoint, key_file = save_keys(terminal)
    terminal.ok("partners", "add", "--name", "Ngāti Whātua Ōrākei", "--kind", "iwi_hapu")
    terminal.ok("partners", "add", "--name", "Pacific Business Trust", "--kind", "business")
    terminal.ok("audit", "export", terminal.path("grown.jsonl"))

    against_old = terminal.ok("audit", "verify", "--checkpoint", old_checkpoint)
    grown = verify_export_offline(terminal.path("grown.jsonl"), old_checkpoint, key_file)

    size = demo_size()
    assert f"tree size {size + 2}" in against_old.stdout
    assert grown.exit_code == 0, grown.output
    assert f"{size + 2} events verified; the first {size} match the checkpoint" in grown.stdout


def test_verify_export_checks_an_empty_log_too(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path, f"sqlite:///{tmp_path}/empty.db")
    checkpoint_file, key_file = save_keys(terminal)
    terminal.ok("audit", "export", terminal.path("empty.jsonl"))

    result = verify_export_offline(terminal.path("empty.jsonl"), checkpoint_file, key_file)

    assert json.loads(Path(checkpoint_file).read_text())["root_hash"] == EMPTY_TREE_ROOT
    assert result.exit_code == 0, result.output


# -- after an edit behind the service's back ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["edit_leaf", "flip", "delete_event"])
def test_after_an_edit_every_check_fails_in_one_line_naming_the_first_bad_position(
    terminal: Terminal, kind: str
) -> None:
    checkpoint_file, key_file = save_keys(terminal)
    engine = create_engine(terminal.url)
    try:
        position = 23
        if kind == "edit_leaf":
            edit_leaf(engine, position, bytes.fromhex("ab" * 32))
        elif kind == "flip":
            flip_byte(engine, position, 5, 0x04)
        else:
            delete_event(engine, position)
    finally:
        engine.dispose()

    verified = terminal.run("audit", "verify")
    verified_against = terminal.run("audit", "verify", "--checkpoint", checkpoint_file)
    exported = terminal.ok("audit", "export", terminal.path("after.jsonl"))
    checked_offline = verify_export_offline(terminal.path("after.jsonl"), checkpoint_file, key_file)

    for result in (verified, verified_against, checked_offline):
        line = error_line(result)
        assert line.startswith(f"Error: verification failed at position {position}:"), line
    assert "Exported" in exported.stdout, "an export still writes the stored bytes, for the offline check"


def test_verify_export_refuses_a_checkpoint_of_another_key_or_a_forged_one(terminal: Terminal, tmp_path: Path) -> None:
    checkpoint_file, key_file = save_keys(terminal)
    terminal.ok("audit", "export", terminal.path("log.jsonl"))
    other = Terminal(tmp_path, terminal.url)
    other.instance = tmp_path / "another-instance"
    other_key = tmp_path / "other-key.json"
    other_key.write_text(other.ok("audit", "public-key").stdout, encoding="utf-8")
    forged = tmp_path / "forged.json"
    checkpoint = json.loads(Path(checkpoint_file).read_text(encoding="utf-8"))
    forged.write_text(json.dumps({**checkpoint, "root_hash": "cd" * 32}), encoding="utf-8")
    same_id_other_key = tmp_path / "same-id-other-key.json"
    same_id_other_key.write_text(
        json.dumps({**json.loads(other_key.read_text()), "key_id": checkpoint["key_id"]}), encoding="utf-8"
    )

    wrong_key = verify_export_offline(terminal.path("log.jsonl"), checkpoint_file, str(other_key))
    forgery = verify_export_offline(terminal.path("log.jsonl"), str(forged), key_file)
    impostor = verify_export_offline(terminal.path("log.jsonl"), checkpoint_file, str(same_id_other_key))

    assert "another key id" in error_line(wrong_key)
    assert "signature" in error_line(forgery)
    assert "signature" in error_line(impostor)


def test_unreadable_or_malformed_files_are_one_line_errors(terminal: Terminal, tmp_path: Path) -> None:
    checkpoint_file, key_file = save_keys(terminal)
    terminal.ok("audit", "export", terminal.path("log.jsonl"))
    not_json = tmp_path / "not.json"
    not_json.write_text("{not json", encoding="utf-8")
    a_list = tmp_path / "list.json"
    a_list.write_text("[1, 2]", encoding="utf-8")
    not_a_checkpoint = tmp_path / "odd.json"
    not_a_checkpoint.write_text('{"tree_size": 3}', encoding="utf-8")
    garbage_export = tmp_path / "garbage.jsonl"
    garbage_export.write_text("this is not json\n", encoding="utf-8")

    results = {
        "not json": verify_export_offline(terminal.path("log.jsonl"), str(not_json), key_file),
        "a list": verify_export_offline(terminal.path("log.jsonl"), checkpoint_file, str(a_list)),
        "no such file": verify_export_offline(terminal.path("log.jsonl"), str(tmp_path / "missing.json"), key_file),
        "not a checkpoint": verify_export_offline(terminal.path("log.jsonl"), str(not_a_checkpoint), key_file),
        "garbage export": verify_export_offline(str(garbage_export), checkpoint_file, key_file),
        "verify, not a checkpoint": terminal.run("audit", "verify", "--checkpoint", str(not_a_checkpoint)),
        "verify, not json": terminal.run("audit", "verify", "--checkpoint", str(not_json)),
    }

    for what, result in results.items():
        assert result.exit_code != 0, what
        assert "Traceback" not in result.output, what
        error_line(result)
    assert "at position 0" in error_line(results["garbage export"])


def test_verify_export_needs_no_store_at_all(terminal: Terminal) -> None:
    """Run with the store URL naming a server that does not exist, and with opening a
    store made to fail: verify-export still checks the export."""
    checkpoint_file, key_file = save_keys(terminal)
    terminal.ok("audit", "export", terminal.path("log.jsonl"))

    result = verify_export_offline(terminal.path("log.jsonl"), checkpoint_file, key_file)
    would_connect = CliRunner().invoke(main, ["audit", "verify"], obj={}, env={"TUTAHI_DATABASE_URL": NO_DATABASE})

    assert result.exit_code == 0, result.output
    assert error_line(would_connect).startswith("Error: cannot open the store"), "the URL really names no store"
