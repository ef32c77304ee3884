"""RL13, forks: an operator copies its store and writes two different
histories of the same size into the two copies, signing both with the log's one key. A
partner's witness, asked by each copy of the service as it makes its checkpoint, cosigns
the first history it sees and refuses the other, and keeps refusing it as it grows; the
history it cosigned goes on being cosigned. An auditor who demands that witness's
cosignature accepts an export of the first history and rejects one of the second."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from application.demo import load_demo
from application.notes import ED25519, NoteKey, parse_note
from application.transparency import TransparencyLog
from infrastructure.keys import load_or_create_signer
from infrastructure.witness_state import WitnessFolder
from interfaces.cli import main
from interfaces.composition import open_auditor, open_ledger, open_transparency
from tests.audit_store import append_events, copy_sqlite_file
from tests.witnessing import cosignature_verifies, serving_witness

ORIGIN = "tutahi.example.govt.nz/log"
WITNESS = "hui-e.example.org/witness"


class Copy:
    """One copy of the store, served as the service serves it, asking the witness."""

    def __init__(self, path: Path, instance: Path, witnesses: str) -> None:
        self.ledger = open_ledger(f"sqlite:///{path}")
        self.log: TransparencyLog = open_transparency(
            open_auditor(self.ledger, str(instance)), ORIGIN, witnesses, deadline=30
        )

    def note(self) -> tuple[int, str, list[str]]:
        """The checkpoint note now: its size, its text and its signature lines."""
        note = parse_note(self.log.checkpoint_note())
        return int(note.text.split("\n")[1]), note.text, [s.line() for s in note.signatures]

    def export(self, path: Path) -> Path:
        with path.open("wb") as handle:
            for chunk in self.log.auditor.export_chunks():
                handle.write(chunk)
        return path

    def close(self) -> None:
        assert self.log.witnesses is not None
        self.log.witnesses.close()
        self.ledger.close()


def forked_stores(tmp_path: Path) -> tuple[Path, Path, int]:
    """Two copies of one store holding the demo."""
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    ledger = open_ledger(f"sqlite:///{first}")
    load_demo(ledger)
    size = ledger.log_size()
    ledger.close()
    copy_sqlite_file(first, second)
    return first, second, size


def cosigned_by(witness_vkey: str, text: str, lines: list[str]) -> bool:
    return any(cosignature_verifies(witness_vkey, text, line) for line in lines)


def test_a_witness_cosigns_one_of_two_histories_of_the_same_size_and_refuses_the_other(tmp_path: Path) -> None:
    first_path, second_path, shared = forked_stores(tmp_path)
    instance = tmp_path / "instance"
    log_key = NoteKey(ORIGIN, ED25519, load_or_create_signer(instance).public_bytes)
    state = tmp_path / "witness"
    witness_vkey = WitnessFolder(state).init(WITNESS, ORIGIN, log_key).verifier_key

    with serving_witness(state) as (url, _):
        witnesses = json.dumps([{"url": url, "verifier_key": witness_vkey}])
        copies = [Copy(first_path, instance, witnesses), Copy(second_path, instance, witnesses)]
        try:
            first, second = copies
            append_events(first.ledger, 3)
            append_events(second.ledger, 3)  # other partners: the same size, another history

            size_1, text_1, lines_1 = first.note()
            size_2, text_2, lines_2 = second.note()
            assert size_1 == size_2 == shared + 3
            assert text_1 != text_2, "two histories of the same size have different roots"
            assert len(lines_1) == 2 and cosigned_by(witness_vkey, text_1, lines_1)
            assert lines_2 == [lines_2[0]] and not cosigned_by(witness_vkey, text_2, lines_2)
            assert lines_2[0].startswith(f"— {ORIGIN} "), "the second history is still signed by the log"

            evidence = (state / "evidence.jsonl").read_text()
            assert "two histories" in evidence and text_2 in json.loads(evidence.splitlines()[-1])["request"]

            # The second history grows: no proof can take the witness from the first to it.
            append_events(second.ledger, 2)
            size_3, text_3, lines_3 = second.note()
            assert size_3 == shared + 5 and not cosigned_by(witness_vkey, text_3, lines_3)
            # The first grows: it is cosigned, from the size the witness holds.
            append_events(first.ledger, 4)
            size_4, text_4, lines_4 = first.note()
            assert size_4 == shared + 7 and cosigned_by(witness_vkey, text_4, lines_4)
            assert json.loads((state / "state.json").read_text())[ORIGIN]["size"] == size_4

            # An auditor demanding the witness's cosignature: the first history passes, the second does not.
            public_key = tmp_path / "public-key.json"
            public_key.write_text(json.dumps(first.log.public_key()))
            runner = CliRunner()
            for copy, name, passes in ((first, "first", True), (second, "second", False)):
                note_file = tmp_path / f"{name}.note"
                note_file.write_bytes(copy.log.checkpoint_note())
                export = copy.export(tmp_path / f"{name}.jsonl")
                result = runner.invoke(
                    main,
                    ["audit", "verify-export", str(export), "--checkpoint", str(note_file),
                     "--public-key", str(public_key), "--witness", witness_vkey, "--quorum", "1"],
                )  # fmt: skip
                assert (result.exit_code == 0) is passes, result.output
                if not passes:
                    assert "cosigned by 0 of the 1 witnesses" in result.output
        finally:
            for copy in copies:
                copy.close()
