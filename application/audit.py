"""The auditors' side: the ordered event log, signed checkpoints, inclusion and
consistency proofs (RFC 9162), self-verification and exports."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from application.documents import instant
from application.errors import BadQuery
from application.ledger import Ledger
from application.merkle import MerkleTree, RootBuilder, prefetched
from application.offline import checkpoint_message, leaf_of
from application.ports import LogEntry


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str
    issued_at: str
    key_id: str
    signature: str

    def document(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "issued_at": self.issued_at,
            "key_id": self.key_id,
            "signature": self.signature,
        }


class Signer(Protocol):
    key_id: str
    algorithm: str

    def sign(self, message: bytes) -> bytes: ...
    def public_key_b64(self) -> str: ...


class CheckpointStore(Protocol):
    def at_size(self, tree_size: int) -> Checkpoint | None: ...
    def latest(self) -> Checkpoint | None: ...
    def add(self, checkpoint: Checkpoint) -> Checkpoint: ...
    def history(self, limit: int, before: int | None) -> list[Checkpoint]: ...


@dataclass(frozen=True)
class Verification:
    ok: bool
    tree_size: int
    checked: int
    first_bad_position: int | None
    detail: str


class Auditor:
    """Serves the verifiable log over the ledger's store."""

    def __init__(
        self,
        ledger: Ledger,
        checkpoints: CheckpointStore,
        signer: Signer,
        signature_ok: Callable[[str, bytes, str], bool],
    ) -> None:
        self.ledger = ledger
        self.checkpoints = checkpoints
        self.signer = signer
        self.signature_ok = signature_ok
        self.tree = MerkleTree(ledger.read_models)

    # -- the log --------------------------------------------------------------------

    def size(self) -> int:
        return self.ledger.read_models.log_size()

    def events(self, after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        entries = self.ledger.read_models.log_entries(after, limit + 1)
        page = entries[:limit]
        documents = [self.ledger.log_document(entry, event) for entry, event in self.ledger.events_of(page)]
        return documents, (page[-1].position if len(entries) > limit else None)

    def export_lines(self, progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
        """Every event document in log order, read in batches (constant memory). An
        event that cannot be read is exported as such, so a verifier sees where."""
        for count, (entry, event) in enumerate(self.ledger.iter_log(tolerant=True), start=1):
            document = self._document(entry, event)
            if document is None:
                yield {"position": entry.position, "error": "unreadable stored event", "leaf_hash": entry.leaf_hash}
            else:
                yield {**document, "leaf_hash": entry.leaf_hash}
            if progress is not None:
                progress(count)

    def _document(self, entry: LogEntry, event: Any) -> dict[str, Any] | None:
        """The event document of a (tolerantly read) stored event, or None if it cannot
        be made: an edited state may decode to an event that lacks a field the document
        needs (or has it of another type)."""
        if event is None:
            return None
        try:
            return self.ledger.event_document(entry, event)
        except (AttributeError, TypeError, ValueError, KeyError):
            return None

    # -- checkpoints --------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """The signed checkpoint at the current size (made and stored once per size)."""
        size = self.size()
        existing = self.checkpoints.at_size(size)
        if existing is not None:
            return existing
        root = prefetched(self.ledger.read_models, lambda tree: tree.root(size)).hex()
        issued_at = instant(datetime.now(UTC))
        signature = self.signer.sign(checkpoint_message(size, root, issued_at))
        made = Checkpoint(size, root, issued_at, self.signer.key_id, base64.b64encode(signature).decode("ascii"))
        return self.checkpoints.add(made)

    def public_key(self) -> dict[str, str]:
        return {
            "key_id": self.signer.key_id,
            "algorithm": self.signer.algorithm,
            "public_key": self.signer.public_key_b64(),
        }

    # -- proofs -----------------------------------------------------------------------------

    def inclusion(self, position: int, tree_size: int) -> dict[str, Any]:
        size = self.size()
        if tree_size < 1 or tree_size > size:
            raise BadQuery(f"tree_size must be between 1 and the log's size ({size})")
        if not 0 <= position < tree_size:
            raise BadQuery("position must be below tree_size")
        path = prefetched(self.ledger.read_models, lambda tree: tree.inclusion_proof(position, tree_size))
        return {"leaf_index": position, "tree_size": tree_size, "audit_path": [h.hex() for h in path]}

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        size = self.size()
        if second > size:
            raise BadQuery(f"second must not exceed the log's size ({size})")
        if first < 0 or first > second:
            raise BadQuery("first must be between 0 and second")
        proof = prefetched(self.ledger.read_models, lambda tree: tree.consistency_proof(first, second))
        return {"first": first, "second": second, "proof": [h.hex() for h in proof]}

    # -- verification --------------------------------------------------------------------

    def verify(
        self, against: Checkpoint | dict[str, Any] | None = None, progress: Callable[[int], None] | None = None
    ) -> Verification:
        """Recomputes every leaf from the stored events and compares it with the stored
        leaf and tree; then checks the roots of the stored tree and of the latest stored
        checkpoint (or ``against``, a checkpoint the auditor kept) are reproduced."""
        size = self.size()
        wanted = [c for c in (self.checkpoints.latest(), against) if c is not None]
        targets = [c if isinstance(c, Checkpoint) else Checkpoint(**c) for c in wanted]
        for target in targets:
            message = checkpoint_message(target.tree_size, target.root_hash, target.issued_at)
            if not self.signature_ok(self.signer.public_key_b64(), message, target.signature):
                return Verification(
                    False, size, 0, None, f"the checkpoint at size {target.tree_size} is not validly signed"
                )
            if target.tree_size > size:
                return Verification(
                    False, size, 0, size, f"the log has {size} events but a checkpoint covers {target.tree_size}"
                )
        roots: dict[int, str] = {}
        builder = RootBuilder()
        checked = 0
        for expected, (entry, event) in enumerate(self.ledger.iter_log(tolerant=True)):
            if entry.position != expected:
                return Verification(False, size, checked, expected, f"position {expected} is missing from the log")
            document = self._document(entry, event)
            try:
                leaf = leaf_of(document) if document is not None else None
            except ValueError:  # a value canonical JSON refuses (RFC 8785)
                leaf = None
            if leaf is None:
                return Verification(False, size, checked, expected, f"the event at position {expected} cannot be read")
            if leaf.hex() != entry.leaf_hash:
                return Verification(
                    False, size, checked, expected, f"the event at position {expected} does not match its leaf hash"
                )
            builder.add(leaf)
            checked = expected + 1
            for target in targets:
                if builder.size == target.tree_size:
                    roots[target.tree_size] = builder.root().hex()
            if progress is not None:
                progress(checked)
        if checked != size:
            return Verification(False, size, checked, checked, f"the log index has {size} positions, {checked} read")
        for target in targets:
            recomputed = roots.get(target.tree_size, builder.root().hex() if target.tree_size == 0 else None)
            if target.tree_size == 0:
                recomputed = RootBuilder().root().hex()
            if recomputed != target.root_hash:
                return Verification(
                    False, size, checked, None, f"the events do not reproduce the checkpoint at size {target.tree_size}"
                )
        if self.tree.root(size).hex() != builder.root().hex():
            return Verification(False, size, checked, None, "the stored tree nodes do not match the events")
        return Verification(True, size, checked, None, f"all {checked} events verified")
