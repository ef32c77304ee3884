"""A witness (C2SP *tlog-witness*, cosigning as *tlog-cosignature/v1*): a small service
that a partner runs with its own key, so that the log's operator cannot show one
history to some and another to others.

For each log it knows (an origin and the log's verifier key) the witness remembers the
last checkpoint it cosigned, and cosigns a new one only if it is signed by the log and
a consistency proof shows that it extends that one. ``add_checkpoint`` answers a request
as the spec says:

- 400 the request is malformed, or its old size exceeds the checkpoint's size;
- 403 no signature on the checkpoint verifies with the log's key;
- 404 the origin is not a log this witness knows;
- 409 the old size is not the size last cosigned (the body says that size, as
  ``text/x.tlog.size``), or the sizes are equal and the roots are not;
- 422 the consistency proof does not verify;
- 200 the cosignature line, once the new checkpoint is durably recorded.

Checking the old size and recording the new checkpoint happen under one lock, and the
state is written before the answer is sent, so that no two requests can roll it back.
A refused checkpoint that the log did sign is kept as evidence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from application.merkle import EMPTY_ROOT, verify_consistency
from application.notes import (
    COSIGNATURE,
    ED25519,
    BadSignature,
    CheckpointText,
    NoteError,
    NoteKey,
    Sign,
    Verify,
    cosign,
    decimal,
    parse_note,
    unb64,
    verified_keys,
)

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Cosigned:
    """The last checkpoint a witness cosigned for a log."""

    size: int
    root: bytes


class WitnessState(Protocol):
    """Where a witness keeps, durably, the last checkpoint it cosigned for each log."""

    def latest(self, origin: str) -> Cosigned | None: ...
    def advance(self, origin: str, cosigned: Cosigned) -> None: ...
    def keep_evidence(self, origin: str, reason: str, request: bytes) -> None: ...


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = TEXT


def _refusal(status: int, message: str) -> Answer:
    return Answer(status, (message + "\n").encode("utf-8"))


def _size_conflict(size: int) -> Answer:
    """409 with the size last cosigned, as the spec has it."""
    return Answer(409, f"{size}\n".encode("ascii"), SIZE_CONTENT_TYPE)


@dataclass(frozen=True)
class Submission:
    """An ``add-checkpoint`` request, parsed."""

    old: int
    proof: list[bytes]
    note: bytes

    @classmethod
    def parse(cls, body: bytes) -> Submission:
        split = body.find(b"\n\n")
        if split < 0:
            raise NoteError("the request is an old size line, proof lines, a blank line and a checkpoint")
        try:
            header = body[:split].decode("ascii").split("\n")
        except UnicodeDecodeError:
            raise NoteError("the old size and proof lines are ASCII") from None
        if not header[0].startswith("old "):
            raise NoteError("the request starts with 'old <size>'")
        old = decimal(header[0][4:], "the old size")
        lines = header[1:]
        if len(lines) > MAX_PROOF_LINES:
            raise NoteError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
        proof = [unb64(line, "a proof line") for line in lines]
        if any(len(h) != 32 for h in proof):
            raise NoteError("each proof line is a 32-byte hash")
        return cls(old, proof, body[split + 2 :])


class Witness:
    """Cosigns checkpoints of the logs it knows that extend the last one it cosigned."""

    def __init__(
        self,
        key: NoteKey,
        sign: Sign,
        logs: Mapping[str, NoteKey],
        state: WitnessState,
        verify: Verify,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if key.kind != COSIGNATURE:
            raise NoteError("a witness cosigns with a type 0x04 key")
        if any(log_key.kind != ED25519 for log_key in logs.values()):
            raise NoteError("a log's key is an Ed25519 note key (type 0x01)")
        self.key = key
        self.sign = sign
        self.logs = dict(logs)
        self.state = state
        self.verify = verify
        self.clock = clock
        self._lock = threading.Lock()

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            submission = Submission.parse(body)
            note = parse_note(submission.note)
            checkpoint = CheckpointText.parse(note.text)
        except NoteError as error:
            return _refusal(400, f"malformed request: {error}")
        log_key = self.logs.get(checkpoint.origin)
        if log_key is None:
            return _refusal(404, f"unknown log origin {checkpoint.origin}")
        try:
            signed = verified_keys(note, [log_key], self.verify)
        except BadSignature:
            signed = []
        if not signed:
            return _refusal(403, "the checkpoint is not signed by the log's key")
        if submission.old > checkpoint.size:
            return _refusal(400, f"old size {submission.old} exceeds the checkpoint's size {checkpoint.size}")
        with self._lock:
            latest = self.state.latest(checkpoint.origin)
            held = Cosigned(0, EMPTY_ROOT) if latest is None else latest
            if submission.old != held.size:
                return _size_conflict(held.size)
            refused = self._check_consistency(submission, checkpoint, held)
            if refused is not None:
                answer, reason = refused
                self.state.keep_evidence(checkpoint.origin, reason, body)
                return answer
            signature = cosign(note.text, self.key, self.sign, int(self.clock()))
            self.state.advance(checkpoint.origin, Cosigned(checkpoint.size, checkpoint.root))
        return Answer(200, signature.line().encode("utf-8"))

    @staticmethod
    def _check_consistency(
        submission: Submission, checkpoint: CheckpointText, held: Cosigned
    ) -> tuple[Answer, str] | None:
        """None if ``checkpoint`` extends ``held``; else the answer and why."""
        if submission.old == checkpoint.size:
            if submission.proof:
                why = "a proof between equal sizes is empty"
                return _refusal(422, why), why
            if checkpoint.root != held.root:
                why = f"another root at size {held.size}, which it cosigned: the log shows two histories"
                return _size_conflict(held.size), why
            return None
        if submission.old == 0:
            why = "a proof from size 0 is empty"
            return None if not submission.proof else (_refusal(422, why), why)
        if not verify_consistency(submission.old, checkpoint.size, submission.proof, held.root, checkpoint.root):
            why = f"the consistency proof from size {submission.old} does not verify"
            return _refusal(422, why), why
        return None
