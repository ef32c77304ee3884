"""``tutahi witness init`` and ``tutahi witness serve``: a witness a partner runs with its
own key and state folder, answering C2SP tlog-witness ``POST /add-checkpoint`` (and
``GET /healthz``). Its answers are the spec's plain-text statuses; nothing about it
needs the service's store."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import click
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from application.notes import NoteError, NoteKey
from application.witness import Witness
from infrastructure.keys import verify_ed25519
from infrastructure.witness_state import FileWitnessState, WitnessFolder, WitnessFolderError
from interfaces.serve import WsgiServer, server_options

MAX_REQUEST = 128 * 1024  # a checkpoint with many cosignatures and a 63-hash proof fits easily


def create_witness_app(state: str | os.PathLike[str]) -> Flask:
    """The witness serving the folder ``state``, holding its lock while the process lives."""
    folder = WitnessFolder(state)
    lock = folder.lock()
    signer = folder.signer()
    witness = Witness(folder.key(), signer.sign, folder.logs(), FileWitnessState(folder), verify_ed25519)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    app.extensions["witness"] = witness
    app.extensions["witness_lock"] = lock  # held while the process lives (closing it releases the folder)

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        answer = witness.add_checkpoint(request.get_data(cache=False))
        return Response(answer.body, status=answer.status, content_type=answer.content_type)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(f"ok {witness.key.verifier_key}\n", content_type="text/plain; charset=utf-8")

    @app.errorhandler(OSError)
    def unrecorded(error: OSError) -> Response:
        # The state could not be written: nothing was cosigned, the client may retry.
        app.logger.error("cannot record the witness's state: %s", error)
        return Response("500 the checkpoint could not be recorded\n", status=500, content_type="text/plain")

    @app.errorhandler(HTTPException)
    def plain(error: HTTPException) -> Response:
        response = Response(f"{error.code} {error.name}\n", status=error.code or 500)
        response.content_type = "text/plain; charset=utf-8"
        if error.code == 405:
            response.headers["Allow"] = error.get_response().headers.get("Allow", "")
        return response

    return app


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.group()
def witness() -> None:
    """Run a witness: cosign a log's checkpoints only while it stays append-only."""


@witness.command("init")
@click.option("--origin", required=True, help="The log's origin, as its checkpoints name it (TUTAHI_LOG_ORIGIN).")
@click.option(
    "--log-key", required=True, help="The log's note verifier key (note_verifier_key of GET /audit/public-key)."
)
@click.option(
    "--name", required=True, help="The witness's own name, e.g. a URL without scheme: witness.example.org/w1."
)
@click.option(
    "--state", required=True, type=click.Path(file_okay=False), help="The witness's folder (made if missing)."
)
def witness_init(origin: str, log_key: str, name: str, state: str) -> None:
    """Make a witness's key and state (or add a log to it); prints its verifier key on the last line."""
    try:
        key = WitnessFolder(state).init(name, origin, NoteKey.parse(log_key))
    except NoteError as error:
        _fail(f"--log-key: {error}")
        raise
    except (WitnessFolderError, OSError) as error:
        _fail(str(error))
        raise
    click.echo(f"The witness {name} in {state} cosigns checkpoints of {origin}. Give the log this key:", err=True)
    click.echo(key.verifier_key)


@witness.command("serve")
@click.option("--state", required=True, type=click.Path(file_okay=False, exists=True), help="The witness's folder.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8020, show_default=True, type=click.IntRange(1, 65535))
def witness_serve(state: str, host: str, port: int) -> None:
    """Answer POST /add-checkpoint (one process: the folder has one writer)."""
    folder = WitnessFolder(state)
    try:
        descriptor = folder.lock()  # refuse at once, in one line, if another process serves it
        folder.logs()
        key = folder.key()
    except (WitnessFolderError, OSError) as error:
        _fail(str(error))
        raise
    os.close(descriptor)  # the worker process takes the lock for as long as it serves
    click.echo(f"Witness {key.name} serving {state} on http://{host}:{port}/add-checkpoint", err=True)
    # The service's gunicorn settings, with one worker process: the folder has one writer.
    options: dict[str, Any] = {**server_options("witness", host=host, port=port, workers=1, threads=4)}
    options.update(workers=1, proc_name="tutahi-witness")
    WsgiServer(partial(create_witness_app, state), options).run()
