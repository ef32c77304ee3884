"""The service asking its witnesses (``TUTAHI_WITNESSES``): each checkpoint it makes is
sent to every witness with a consistency proof from the last size that witness cosigned;
the cosignatures that verify are kept and served on ``/log/checkpoint``. A witness that
hangs delays a checkpoint by a bounded time and never a write; one that is down is asked
again later; one that answers with anything but its own valid cosignature is ignored;
one that lost its state is caught up. Bad settings stop the service from starting."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from werkzeug.serving import make_server

from application.demo import load_demo
from application.notes import COSIGNATURE, ED25519, NoteKey, cosign, parse_note
from infrastructure.keys import load_or_create_signer
from infrastructure.transparency import TransparencySettingsError, witness_settings
from infrastructure.witness_state import WitnessFolder
from interfaces.app import create_app
from interfaces.witness import create_witness_app
from tests.audit_store import append_events
from tests.conftest import store_url_for
from tests.witnessing import cosignature_verifies, raw_public, serving_witness

WITNESS = "hui-e.example.org/witness"
ORIGIN = "localhost/tutahi"


def witness_folder(tmp_path: Path, name: str = "witness") -> tuple[Path, str]:
    """A witness knowing this test's log (whose key is in ``tmp_path/instance``)."""
    log_key = NoteKey(ORIGIN, ED25519, load_or_create_signer(tmp_path / "instance").public_bytes)
    state = tmp_path / name
    return state, WitnessFolder(state).init(f"{WITNESS}/{name}", ORIGIN, log_key).verifier_key


def service(tmp_path: Path, witnesses: list[dict[str, str]], deadline: float = 30, url: str | None = None) -> Flask:
    app = create_app(
        {
            "DATABASE_URL": url or f"sqlite:///{tmp_path}/service.db",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "WITNESSES": json.dumps(witnesses),
            "WITNESS_DEADLINE": deadline,
        }
    )
    load_demo(app.extensions["tutahi"].ledger)
    return app


@pytest.fixture
def closing() -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        app.extensions["tutahi"].close()


def signature_lines(app: Flask) -> tuple[str, list[str]]:
    note = parse_note(app.test_client().get("/log/checkpoint").data)
    return note.text, [s.line() for s in note.signatures]


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Waits for something another thread does (a bound against hanging, not a speed check)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.fixture
def held_witness(tmp_path: Path) -> Iterator[tuple[str, str, threading.Event, threading.Event]]:
    """A real witness behind a gate: each request waits until ``gate`` is set
    (``entered`` says one has arrived)."""
    state, vkey = witness_folder(tmp_path, "held")
    inner = create_witness_app(state)
    gate, entered = threading.Event(), threading.Event()

    def held(environ: dict[str, Any], start_response: Any) -> Any:
        entered.set()
        gate.wait(120)
        return inner(environ, start_response)

    server = make_server("127.0.0.1", 0, held, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", vkey, gate, entered
    finally:
        gate.set()
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_checkpoints_carry_the_cosignatures_of_every_witness_and_each_is_caught_up(
    tmp_path: Path, closing: list[Flask], store: str
) -> None:
    (one, one_key), (two, two_key) = witness_folder(tmp_path, "one"), witness_folder(tmp_path, "two")
    with serving_witness(one) as (one_url, _), serving_witness(two) as (two_url, _):
        witnesses = [{"url": one_url, "verifier_key": one_key}, {"url": two_url, "verifier_key": two_key}]
        app = service(tmp_path, witnesses, url=store_url_for(store, tmp_path))
        closing.append(app)
        text, lines = signature_lines(app)
        assert len(lines) == 3
        assert cosignature_verifies(one_key, text, lines[1]) or cosignature_verifies(one_key, text, lines[2])
        assert cosignature_verifies(two_key, text, lines[1]) or cosignature_verifies(two_key, text, lines[2])
        for _ in range(3):
            append_events(app.extensions["tutahi"].ledger, 2)
            text, lines = signature_lines(app)
            assert sum(cosignature_verifies(k, text, line) for k in (one_key, two_key) for line in lines) == 2
        size = int(text.split("\n")[1])
        for state in (one, two):
            assert json.loads((state / "state.json").read_text())[ORIGIN]["size"] == size


def test_a_hanging_witness_delays_a_checkpoint_boundedly_and_never_a_write(
    tmp_path: Path, closing: list[Flask], held_witness: tuple[str, str, threading.Event, threading.Event]
) -> None:
    url, vkey, gate, entered = held_witness
    app = service(tmp_path, [{"url": url, "verifier_key": vkey}], deadline=0.5)
    closing.append(app)
    ledger = app.extensions["tutahi"].ledger
    served: list[bytes] = []
    reader = threading.Thread(target=lambda: served.append(app.test_client().get("/log/checkpoint").data))
    reader.start()
    assert entered.wait(60), "the service asked the witness"
    size = int(parse_note(app.extensions["tutahi"].transparency.checkpoint_note()).text.split("\n")[1])
    append_events(ledger, 2)  # a write while the witness still holds the request
    assert not gate.is_set() and ledger.log_size() == size + 2
    reader.join(60)
    assert not reader.is_alive() and not gate.is_set(), "the checkpoint was served while the witness still hung"
    assert len(parse_note(served[0]).signatures) == 1, "served without the witness's cosignature"

    gate.set()  # the witness answers late: its cosignature is still kept for that checkpoint
    cosignatures = app.extensions["tutahi"].transparency.witnesses.store
    wait_until(lambda: bool(cosignatures.at_size(size)), "the late cosignature")
    text, lines = signature_lines(app)  # the log has grown since: a new checkpoint, cosigned at once
    assert int(text.split("\n")[1]) == size + 2 and cosignature_verifies(vkey, text, lines[1])


def test_a_witness_that_was_down_is_asked_again_when_the_checkpoint_is_read(
    tmp_path: Path, closing: list[Flask]
) -> None:
    state, vkey = witness_folder(tmp_path)
    with serving_witness(state) as (url, _):
        pass  # the port is free again: nothing answers there now
    app = service(tmp_path, [{"url": url, "verifier_key": vkey}])
    closing.append(app)
    _, lines = signature_lines(app)
    assert len(lines) == 1
    witnesses = app.extensions["tutahi"].transparency.witnesses
    witnesses.retry_after = 0  # (a minute, in service)
    port = url.rsplit(":", 1)[1]
    witness = create_witness_app(state)
    server = make_server("127.0.0.1", int(port), witness, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        text, lines = signature_lines(app)
        assert len(lines) == 2 and cosignature_verifies(vkey, text, lines[1])
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_answers_that_are_not_the_witnesses_own_valid_cosignatures_are_not_kept(
    tmp_path: Path, closing: list[Flask]
) -> None:
    _, vkey = witness_folder(tmp_path)
    other = Ed25519PrivateKey.generate()
    other_key = NoteKey(f"{WITNESS}/witness", COSIGNATURE, raw_public(other))
    answers = iter([b"not a signature line\n", b"", None])

    def lying(environ: dict[str, Any], start_response: Any) -> Any:
        body = next(answers, None)
        if body is None:  # a cosignature, but by another key of the same name
            request = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
            note = parse_note(request.split(b"\n\n", 1)[1])
            body = cosign(note.text, other_key, other.sign, int(time.time())).line().encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    server = make_server("127.0.0.1", 0, lying, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = service(tmp_path, [{"url": f"http://127.0.0.1:{server.server_port}", "verifier_key": vkey}])
        closing.append(app)
        for _ in range(3):
            response = app.test_client().get("/log/checkpoint")
            assert response.status_code == 200
            assert len(parse_note(response.data).signatures) == 1
            append_events(app.extensions["tutahi"].ledger, 1)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_witness_that_lost_its_state_is_caught_up_from_the_size_it_reports(
    tmp_path: Path, closing: list[Flask]
) -> None:
    state, vkey = witness_folder(tmp_path)
    with serving_witness(state) as (url, _):
        app = service(tmp_path, [{"url": url, "verifier_key": vkey}])
        closing.append(app)
        assert len(signature_lines(app)[1]) == 2
    (state / "state.json").unlink()  # the partner restored its witness from an old backup
    with serving_witness(state) as (url_again, _):
        witnesses = app.extensions["tutahi"].transparency.witnesses
        witnesses.witnesses[0] = type(witnesses.witnesses[0])(url_again, witnesses.witnesses[0].key)
        append_events(app.extensions["tutahi"].ledger, 3)
        text, lines = signature_lines(app)
        assert len(lines) == 2 and cosignature_verifies(vkey, text, lines[1])


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("not json", "not JSON"),
        ('{"url": "http://w"}', "a JSON list"),
        ('[{"url": "http://w"}]', 'not {"url", "verifier_key"}'),
        ('[{"url": "ftp://w", "verifier_key": "KEY"}]', "not an http(s) URL"),
        ('[{"url": "http://w", "verifier_key": "LOGKEY"}]', "not a cosignature (type 0x04)"),
        ('[{"url": "http://w", "verifier_key": "w+00000000+BAAA"}]', "witness 1"),
    ],
)
def test_witness_settings_that_cannot_be_used_stop_the_service_starting(
    tmp_path: Path, setting: str, complaint: str
) -> None:
    witness_key = NoteKey("w", COSIGNATURE, bytes(32)).verifier_key
    log_key = NoteKey("l", ED25519, bytes(32)).verifier_key
    text = setting.replace("LOGKEY", log_key).replace("KEY", witness_key)
    with pytest.raises(TransparencySettingsError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        witness_settings(text)
    with pytest.raises(TransparencySettingsError):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "WITNESSES": text, "INSTANCE_PATH": str(tmp_path)})
    assert witness_settings("") == [] and witness_settings(" ") == []
