"""Security review, finding 6: the SQLite store's files were created 0644, readable by
every user of the machine, and the key files' modes were never checked. The store's files
are now the owner's alone (0600), and the service refuses a key file its group or other
users can read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from domain.values import PartnerKind
from infrastructure.keys import KEY_FILE, SECRET_FILE, InsecureKeyFile, load_or_create_secret, load_or_create_signer
from interfaces.app import create_app
from interfaces.cli import main
from interfaces.composition import open_ledger
from tests.conftest import ADMIN


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave new files readable by all (0644), as on most machines."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_store_and_its_write_ahead_log_are_the_owners_alone(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "tutahi.db"
    ledger = open_ledger(f"sqlite:///{database}")
    try:
        ledger.register_partner(name="Te Puni Kōkiri", kind=PartnerKind.AGENCY, actor=ADMIN, request_id="modes")
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(path.exists() for path in files), "the store is open in WAL mode"
        assert {path.name: mode_of(path) for path in files} == {path.name: 0o600 for path in files}
    finally:
        ledger.close()


def test_a_store_an_earlier_release_left_readable_is_narrowed_at_start(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "tutahi.db"
    open_ledger(f"sqlite:///{database}").close()
    database.chmod(0o644)
    open_ledger(f"sqlite:///{database}").close()
    assert mode_of(database) == 0o600


def test_new_key_files_are_the_owners_alone_in_a_folder_of_its_own(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "instance"
    load_or_create_signer(folder)
    load_or_create_secret(folder)
    assert mode_of(folder) == 0o700
    assert mode_of(folder / KEY_FILE) == mode_of(folder / SECRET_FILE) == 0o600


@pytest.mark.parametrize("name", [KEY_FILE, SECRET_FILE])
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_the_service_refuses_a_key_file_others_can_read(tmp_path: Path, name: str, mode: int) -> None:
    folder = tmp_path / "instance"
    load_or_create_signer(folder)
    load_or_create_secret(folder)
    (folder / name).chmod(mode)
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/tutahi.db", "INSTANCE_PATH": str(folder)}

    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        create_app(settings)

    served = CliRunner().invoke(
        main, ["--database-url", settings["DATABASE_URL"], "--instance-path", str(folder), "serve"], obj={}
    )
    assert served.exit_code != 0
    assert "chmod 600" in served.stderr and len(served.stderr.strip().splitlines()) == 1
    (folder / name).chmod(0o600)
    app = create_app(settings)
    app.extensions["tutahi"].close()
