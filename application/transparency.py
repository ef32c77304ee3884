"""The log as the transparency ecosystem reads it: its latest checkpoint as a C2SP signed
note (signed with the same Ed25519 key as the JSON checkpoints, under the log's origin
as key name), with the cosignatures of the witnesses it asked; its verifier key; and
its tree as tiles and entry bundles (``application.tiles``)."""

from __future__ import annotations

import base64
from typing import Any

from application.audit import Auditor, Checkpoint
from application.notes import ED25519, CheckpointText, Note, NoteKey, check_name, sign_note
from application.tiles import Tile, TileReader
from application.witnessing import Witnesses

DEFAULT_ORIGIN = "localhost/tutahi"


class TransparencyLog:
    """Signed-note checkpoints, tiles and witnesses over the auditor's log."""

    def __init__(self, auditor: Auditor, origin: str = DEFAULT_ORIGIN, witnesses: Witnesses | None = None) -> None:
        self.auditor = auditor
        self.origin = check_name(origin)
        self.key = NoteKey(self.origin, ED25519, base64.b64decode(auditor.signer.public_key_b64()))
        self.reader = TileReader(auditor.log)
        self.witnesses = witnesses

    def note(self, checkpoint: Checkpoint) -> Note:
        """The checkpoint as a note signed by the log alone."""
        text = CheckpointText(self.origin, checkpoint.tree_size, bytes.fromhex(checkpoint.root_hash)).text()
        return Note(text, (sign_note(text, self.key, self.auditor.signer.sign),))

    def witness(self, checkpoint: Checkpoint) -> None:
        """Asks the witnesses to cosign a checkpoint the service has just made."""
        if self.witnesses is not None:
            self.witnesses.ask(self.note(checkpoint), checkpoint.tree_size, self._consistency)

    def checkpoint_note(self) -> bytes:
        """The latest checkpoint (made now if the log has grown) as a signed note: the
        log's signature, then the witnesses' cosignatures gathered for it. Witnesses
        that have not cosigned it are asked again, now and then."""
        checkpoint = self.auditor.checkpoint()
        note = self.note(checkpoint)
        if self.witnesses is None:
            return note.encode()
        self.witnesses.ask(note, checkpoint.tree_size, self._consistency, only_missing=True)
        return note.with_signatures(self.witnesses.cosignatures(note, checkpoint.tree_size)).encode()

    def _consistency(self, old: int, new: int) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.auditor.consistency(old, new)["proof"]]

    def public_key(self) -> dict[str, Any]:
        """The checkpoint key as ``GET /audit/public-key`` gives it, with its signed-note
        verifier key."""
        return {**self.auditor.public_key(), "note_verifier_key": self.key.verifier_key}

    def tile(self, tile: Tile) -> bytes:
        return self.reader.entries(tile) if tile.bundle else self.reader.hashes(tile)
