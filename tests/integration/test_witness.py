"""A partner's witness (C2SP tlog-witness, cosigning as tlog-cosignature/v1), through its
HTTP app on a real state folder: it cosigns a checkpoint only if the log signed it and
it extends the last one the witness cosigned, answers every refusal with the spec's
status, keeps its state on disk across restarts, lets one process serve a folder, and
keeps refused checkpoints as evidence. ``tutahi witness init`` makes the folder."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.notes import COSIGNATURE, NoteKey
from infrastructure.witness_state import WitnessFolder, WitnessFolderError
from interfaces.cli import main
from interfaces.witness import create_witness_app
from tests.witnessing import MemoryLog, cosignature_verifies, request_body

NAME = "hui-e.example.org/witness"


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog().grow(10)


@pytest.fixture
def folder(tmp_path: Path, log: MemoryLog) -> Path:
    state = tmp_path / "witness"
    WitnessFolder(state).init(NAME, log.origin, log.key)
    return state


@pytest.fixture
def witness_app(folder: Path) -> Iterator[Flask]:
    app = create_witness_app(folder)
    try:
        yield app
    finally:
        os.close(app.extensions["witness_lock"])


@pytest.fixture
def client(witness_app: Flask) -> FlaskClient:
    return witness_app.test_client()


def vkey(folder: Path) -> str:
    return WitnessFolder(folder).key().verifier_key


def submit(client: FlaskClient, body: bytes) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", data=body)
    return response.status_code, response.headers["Content-Type"], response.get_data(as_text=True)


def test_it_cosigns_the_first_checkpoint_then_each_one_that_extends_it(
    client: FlaskClient, folder: Path, log: MemoryLog
) -> None:
    first = log.note()
    before = int(time.time())
    status, content_type, body = submit(client, request_body(0, [], first))
    assert status == 200, body
    assert content_type.startswith("text/plain")
    assert cosignature_verifies(vkey(folder), first.text, body)
    stamped = int.from_bytes(base64.b64decode(body.split(" ")[2])[4:12], "big")
    assert before <= stamped <= int(time.time())

    log.grow(7)
    second = log.note()
    status, _, body = submit(client, request_body(10, log.proof(10), second))
    assert status == 200, body
    assert cosignature_verifies(vkey(folder), second.text, body)
    assert not cosignature_verifies(vkey(folder), first.text, body)
    state = json.loads((folder / "state.json").read_text())
    assert state[log.origin]["size"] == 17
    # The same checkpoint again (old size = its size, no proof) is cosigned again.
    status, _, body = submit(client, request_body(17, [], second))
    assert status == 200 and cosignature_verifies(vkey(folder), second.text, body)


def test_every_refusal_has_the_specs_status_and_changes_nothing(
    client: FlaskClient, folder: Path, log: MemoryLog
) -> None:
    assert submit(client, request_body(0, [], log.note()))[0] == 200
    cosigned = (folder / "state.json").read_bytes()
    log.grow(5)
    good = log.note()

    assert submit(client, b"old 10\n")[0] == 400  # no blank line, no checkpoint
    assert submit(client, b"old 010\n\n" + good.encode())[0] == 400  # a leading zero
    assert submit(client, request_body(16, [], good))[0] == 400  # old size beyond the checkpoint
    stranger = MemoryLog(origin="elsewhere.example/log").grow(15)
    assert submit(client, request_body(0, [], stranger.note()))[0] == 404  # unknown origin
    forged = log.note(signer=Ed25519PrivateKey.generate())
    assert submit(client, request_body(10, log.proof(10), forged))[0] == 403  # not the log's key

    status, content_type, body = submit(client, request_body(3, log.proof(3), good))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "10\n")  # not the size it cosigned
    wrong = log.proof(10)
    wrong[0] = bytes(32)
    assert submit(client, request_body(10, wrong, good))[0] == 422  # the proof does not verify
    assert submit(client, request_body(10, [], good))[0] == 422

    fork = MemoryLog(origin=log.origin, private=log.private).grow(10, tag="fork")
    status, content_type, body = submit(client, request_body(10, [], fork.note()))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "10\n")  # same size, another root

    older = log.note(size=6)  # smaller than the checkpoint it cosigned
    assert submit(client, request_body(10, [], older))[0] == 400
    assert submit(client, request_body(6, [], older))[0] == 409
    assert (folder / "state.json").read_bytes() == cosigned, "no refusal moves the witness"

    assert client.get("/add-checkpoint").status_code == 405
    assert client.post("/add-checkpoint", data=b"x" * (200 * 1024)).status_code == 413
    evidence = [json.loads(line) for line in (folder / "evidence.jsonl").read_text().splitlines()]
    reasons = " | ".join(record["reason"] for record in evidence)
    assert "two histories" in reasons and "does not verify" in reasons
    assert any(fork.note().text in record["request"] for record in evidence), "the other history is kept"


def test_the_state_outlives_the_process_and_one_process_serves_a_folder(folder: Path, log: MemoryLog) -> None:
    app = create_witness_app(folder)
    try:
        assert submit(app.test_client(), request_body(0, [], log.note()))[0] == 200
        with pytest.raises(WitnessFolderError, match="another process"):
            create_witness_app(folder)
    finally:
        os.close(app.extensions["witness_lock"])
    restarted = create_witness_app(folder)
    try:
        client = restarted.test_client()
        assert submit(client, request_body(0, [], log.note())) == (409, "text/x.tlog.size", "10\n")
        log.grow(1)
        assert submit(client, request_body(10, log.proof(10), log.note()))[0] == 200
    finally:
        os.close(restarted.extensions["witness_lock"])


def test_witness_init_makes_a_private_key_and_prints_the_verifier_key_last(tmp_path: Path, log: MemoryLog) -> None:
    state = tmp_path / "w"
    runner = CliRunner()
    args = ["witness", "init", "--origin", log.origin, "--log-key", log.key.verifier_key, "--name", NAME]
    made = runner.invoke(main, [*args, "--state", str(state)])
    assert made.exit_code == 0, made.output
    printed = made.stdout.strip().splitlines()[-1]
    key = NoteKey.parse(printed)
    assert (key.name, key.kind) == (NAME, COSIGNATURE)
    assert stat.S_IMODE((state / "witness-key.pem").stat().st_mode) == 0o600
    again = runner.invoke(main, [*args, "--state", str(state)])
    assert again.exit_code == 0 and again.stdout.strip().splitlines()[-1] == printed, "the key is kept"

    other_log = MemoryLog()
    refused = [
        ["witness", "init", "--origin", log.origin, "--log-key", other_log.key.verifier_key, "--name", NAME],
        ["witness", "init", "--origin", log.origin, "--log-key", log.key.verifier_key, "--name", "another/name"],
        ["witness", "init", "--origin", log.origin, "--log-key", "not-a-key", "--name", NAME],
        ["witness", "init", "--origin", log.origin, "--log-key", printed, "--name", NAME],  # a witness key
    ]
    for command in refused:
        result = runner.invoke(main, [*command, "--state", str(state)])
        assert result.exit_code != 0, command
        assert result.output.strip().startswith("Error:") and len(result.output.strip().splitlines()) == 1
    assert WitnessFolder(state).logs() == {log.origin: log.key}


WITNESS_STATUSES = {200, 400, 403, 404, 409, 422}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda old, lines, tail: f"old {old}\n{lines}\n".encode() + tail,
            st.one_of(st.integers(-5, 2**64), st.text(max_size=8)),
            st.text(max_size=120),
            st.binary(max_size=200),
        ),
    ),
    cut=st.integers(0, 400),
    flip=st.integers(0, 400),
)
def test_any_request_gets_one_of_the_specs_statuses_never_a_500(
    client: FlaskClient, log: MemoryLog, body: bytes, cut: int, flip: int
) -> None:
    """Random bytes, and real requests cut short or with a byte flipped: always one of the
    protocol's statuses, as plain text."""
    valid = bytearray(request_body(0, [], log.note()))
    valid[flip % len(valid)] ^= 0x20
    for candidate in (body, bytes(valid), bytes(valid[: cut % len(valid)])):
        response = client.post("/add-checkpoint", data=candidate)
        assert response.status_code in WITNESS_STATUSES, (candidate, response.status_code)
        assert response.headers["Content-Type"].startswith(("text/plain", "text/x.tlog.size"))


def test_a_checkpoint_it_cannot_record_is_not_cosigned(
    client: FlaskClient, witness_app: Flask, folder: Path, log: MemoryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state is written before the answer: if the disk refuses, no cosignature leaves."""
    state = witness_app.extensions["witness"].state

    def disk_full(origin: str, cosigned: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state, "advance", disk_full)
    response = client.post("/add-checkpoint", data=request_body(0, [], log.note()))
    assert response.status_code == 500 and "—" not in response.get_data(as_text=True)
    assert not (folder / "state.json").exists()
    monkeypatch.undo()
    assert submit(client, request_body(0, [], log.note()))[0] == 200
