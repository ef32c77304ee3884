"""``tutahi audit verify-export`` against the signed-note checkpoint of ``/log/checkpoint``:
the note must be signed by the log's key (``note_verifier_key`` of the public-key file)
and cosigned by ``--quorum`` of the ``--witness`` keys given (all of them by default); a
signature by a given key that does not verify refuses the note; every mistake in the
options is a one-line error."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from application.demo import load_demo
from application.notes import Note, NoteSignature, parse_note
from infrastructure.keys import load_or_create_signer
from infrastructure.witness_state import WitnessFolder
from interfaces.cli import main
from interfaces.composition import open_auditor, open_ledger, open_transparency
from interfaces.witness import create_witness_app
from tests.audit_store import append_events


def files_size(files: Files) -> int:
    """The export's events (one line each)."""
    return sum(1 for line in files.export.read_text(encoding="utf-8").splitlines() if line.strip())


ORIGIN = "tutahi.example.govt.nz/log"


@dataclass(frozen=True)
class Files:
    folder: Path
    export: Path
    note: Path  # signed by the log and cosigned by witness one
    json_checkpoint: Path
    public_key: Path
    one: str  # witness verifier keys
    two: str

    def verify(self, *args: str, note: Path | None = None, export: Path | None = None) -> Result:
        command = ["audit", "verify-export", str(export or self.export), "--checkpoint", str(note or self.note)]
        return CliRunner().invoke(main, [*command, "--public-key", str(self.public_key), *args])


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Files]:
    ledger = open_ledger(f"sqlite:///{tmp_path}/store.db")
    try:
        load_demo(ledger)
        append_events(ledger, 3)
        log = open_transparency(open_auditor(ledger, str(tmp_path / "instance")), ORIGIN)
        note = parse_note(log.checkpoint_note())
        keys, cosignatures = [], []
        for name in ("one", "two"):
            folder = WitnessFolder(tmp_path / name)
            keys.append(folder.init(f"{name}.example.org/witness", ORIGIN, log.key).verifier_key)
            if name == "one":
                app = create_witness_app(folder.path)
                try:
                    body = b"old 0\n\n" + note.encode()
                    response = app.test_client().post("/add-checkpoint", data=body)
                    assert response.status_code == 200
                    cosignatures.append(NoteSignature.parse_line(response.get_data(as_text=True).rstrip("\n")))
                finally:
                    os.close(app.extensions["witness_lock"])
        export = tmp_path / "log.jsonl"
        with export.open("wb") as handle:
            for chunk in log.auditor.export_chunks():
                handle.write(chunk)
        note_file = tmp_path / "checkpoint.note"
        note_file.write_bytes(note.with_signatures(cosignatures).encode())
        json_file = tmp_path / "checkpoint.json"
        json_file.write_text(json.dumps(log.auditor.checkpoint().document()))
        key_file = tmp_path / "public-key.json"
        key_file.write_text(json.dumps(log.public_key()))
        yield Files(tmp_path, export, note_file, json_file, key_file, keys[0], keys[1])
    finally:
        ledger.close()


def failed(result: Result, complaint: str) -> None:
    assert result.exit_code != 0, result.output
    assert complaint in " ".join(result.output.split()), result.output


def test_a_cosigned_note_verifies_with_the_quorum_it_meets(files: Files) -> None:
    plain = files.verify()
    assert plain.exit_code == 0, plain.output
    size = files_size(files)
    assert f"{size} events verified; the first {size} match the checkpoint" in " ".join(plain.output.split())
    one = files.verify("--witness", files.one)
    assert one.exit_code == 0 and "cosigned by one.example.org/witness (quorum 1)" in " ".join(one.output.split())
    failed(files.verify("--witness", files.one, "--witness", files.two), "cosigned by 1 of the 2 witnesses")
    either = files.verify("--witness", files.one, "--witness", files.two, "--quorum", "1")
    assert either.exit_code == 0, either.output
    failed(files.verify("--witness", files.two, "--quorum", "1"), "cosigned by 0 of the 1 witnesses")


def test_a_changed_note_cosignature_or_export_is_refused(files: Files) -> None:
    note = parse_note(files.note.read_bytes())
    lines = note.text.split("\n")
    grown = files.folder / "grown.note"
    grown.write_bytes(Note("\n".join([lines[0], str(int(lines[1]) + 1), *lines[2:]]), note.signatures).encode())
    failed(files.verify(note=grown), "the signature of tutahi.example.govt.nz/log does not verify")

    own, cosignature = note.signatures
    raw = bytearray(cosignature.signature)
    raw[-1] ^= 1
    forged = files.folder / "forged.note"
    forged.write_bytes(Note(note.text, (own, NoteSignature(cosignature.name, cosignature.key_id, bytes(raw)))).encode())
    assert files.verify(note=forged).exit_code == 0, "an unknown key's signature is ignored"
    failed(
        files.verify("--witness", files.one, note=forged), "the signature of one.example.org/witness does not verify"
    )

    exported = files.export.read_bytes().splitlines(keepends=True)
    edited = files.folder / "edited.jsonl"
    edited.write_bytes(
        b"".join([*exported[:9], exported[9].replace(b'"request_id":"', b'"request_id":"Z'), *exported[10:]])
    )
    failed(files.verify("--witness", files.one, export=edited), "at position 9")

    other = files.folder / "other-key.json"
    key = json.loads(files.public_key.read_text())
    key["public_key"] = base64.b64encode(load_or_create_signer(files.folder / "other").public_bytes).decode()
    other.write_text(json.dumps(key))
    result = CliRunner().invoke(
        main, ["audit", "verify-export", str(files.export), "--checkpoint", str(files.note), "--public-key", str(other)]
    )
    failed(result, "not the public key the file gives")


def test_option_mistakes_are_one_line_errors(files: Files) -> None:
    log_key = json.loads(files.public_key.read_text())["note_verifier_key"]
    cases = [
        (("--witness", files.one, "--quorum", "2"), "--quorum 2 needs at least 2 --witness keys"),
        (("--quorum", "1"), "--quorum 1 needs at least 1 --witness keys"),
        (("--witness", "not a key"), "--witness:"),
        (("--witness", log_key), "cosignature verifier key (type 0x04)"),
    ]
    for args, complaint in cases:
        result = files.verify(*args)
        failed(result, complaint)
        assert len(result.output.strip().splitlines()) == 1, result.output
    result = files.verify("--witness", files.one, note=files.json_checkpoint)
    failed(result, "pass the note of GET /log/checkpoint")
    assert files.verify(note=files.json_checkpoint).exit_code == 0, "the JSON checkpoint still verifies"
