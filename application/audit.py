"""The auditors' side: the ordered event log, signed checkpoints, inclusion and
consistency proofs (RFC 9162), self-verification and exports."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from application.errors import BadQuery, LogIntegrityError
from application.idempotency import Idempotency
from application.ledger import Ledger
from application.log import LogStore
from application.logformat import instant
from application.merkle import MerkleTree, RootBuilder, frontier_of, prefetched, verify_consistency
from application.offline import checkpoint_message

T = TypeVar("T")


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
        self.log = ledger.event_log
        self.checkpoints = checkpoints
        self.signer = signer
        self.signature_ok = signature_ok
        # Called with each checkpoint this process makes, once it is stored (outside any
        # transaction): the transparency log asks its witnesses to cosign it.
        self.on_checkpoint: Callable[[Checkpoint], None] | None = None

    # -- the log --------------------------------------------------------------------

    def size(self) -> int:
        return self.log.size()

    def events(self, after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        return self.ledger.log_documents(after, limit)

    def export_chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The whole log as JSON Lines, in chunks of many lines, in constant memory: each
        line is the stored document with its leaf hash spliced in (the bytes before
        ``,"leaf_hash"`` and a closing brace are the leaf's pre-image). Stored bytes go
        out as they are: ``verify-export`` is the check of them."""
        count = 0
        for batch in self.log.scan():
            yield b"".join(
                [document[:-1] + b',"leaf_hash":"' + leaf.hex().encode() + b'"}\n' for _, document, leaf in batch]
            )
            count += len(batch)
            if progress is not None:
                progress(count)

    # -- the tree ---------------------------------------------------------------------

    def _tree(self, size: int, compute: Callable[[MerkleTree], T]) -> T:
        """A root or proof over the first ``size`` leaves, from the stored nodes (written
        first if they are not yet) read in one batch."""
        self.log.materialise_nodes(size)
        return prefetched(self.log, compute)

    # -- checkpoints --------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """The signed checkpoint at the current size (made and stored once per size).
        The service signs a new size only if the log still extends its last checkpoint:
        a store changed behind its back is refused (``LogIntegrityError``), not signed."""
        size = self.size()
        existing = self.checkpoints.at_size(size)
        if existing is not None:
            return existing
        root = self._tree(size, lambda tree: tree.root(size))
        previous = self.checkpoints.latest()
        if previous is not None and previous.tree_size < size:
            old = previous.tree_size
            proof = self._tree(size, lambda tree: tree.consistency_proof(old, size))
            if not verify_consistency(old, size, proof, bytes.fromhex(previous.root_hash), root):
                raise LogIntegrityError(None, f"the log no longer extends its checkpoint at size {old}")
        issued_at = instant(datetime.now(UTC))
        signature = self.signer.sign(checkpoint_message(size, root.hex(), issued_at))
        made = Checkpoint(size, root.hex(), issued_at, self.signer.key_id, base64.b64encode(signature).decode("ascii"))
        stored = self.checkpoints.add(made)
        if stored == made and self.on_checkpoint is not None:
            self.on_checkpoint(stored)
        return stored

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
        path = self._tree(tree_size, lambda tree: tree.inclusion_proof(position, tree_size))
        return {"leaf_index": position, "tree_size": tree_size, "audit_path": [h.hex() for h in path]}

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        size = self.size()
        if second > size:
            raise BadQuery(f"second must not exceed the log's size ({size})")
        if first < 0 or first > second:
            raise BadQuery("first must be between 0 and second")
        proof = self._tree(second, lambda tree: tree.consistency_proof(first, second))
        return {"first": first, "second": second, "proof": [h.hex() for h in proof]}

    # -- verification --------------------------------------------------------------------

    def verify(
        self,
        against: Checkpoint | dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
        idempotency: Idempotency | None = None,
    ) -> Verification:
        """See ``check``; with ``idempotency``, the report is kept for the key (after the
        check, in a transaction of its own: the check itself writes nothing)."""
        verdict = self.check(against, progress)
        if idempotency is not None:
            with self.ledger.unit_of_work() as tx:
                idempotency.keep(tx, self.ledger.idempotency, verdict)
        return verdict

    def check(
        self, against: Checkpoint | dict[str, Any] | None = None, progress: Callable[[int], None] | None = None
    ) -> Verification:
        """Hashes every stored document and compares it with its leaf, checks each states
        its own position and agrees with the event store's index, recomputes every stored
        Merkle node above the leaves, and reproduces the roots of the latest stored
        checkpoint and of ``against`` (a checkpoint the auditor kept). No JSON is parsed
        and no domain class loaded: it reads and hashes stored bytes."""
        size = self.size()
        wanted = [c for c in (self.checkpoints.latest(), against) if c is not None]
        try:
            targets = [c if isinstance(c, Checkpoint) else Checkpoint(**c) for c in wanted]
        except TypeError as error:
            raise BadQuery(f"not a checkpoint: {error}") from None
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
        check = LogCheck(self.log, size, {t.tree_size for t in targets})
        for batch in self.log.scan_entries(VERIFY_BATCH, size):
            bad = check.batch(batch)
            if bad is not None:
                position, detail = bad
                return Verification(False, size, check.checked, position, detail)
            if progress is not None:
                progress(check.checked)
        if check.checked != size:
            return Verification(False, size, check.checked, check.checked, f"position {check.checked} is missing")
        for target in targets:
            if check.root(target.tree_size) != target.root_hash:
                return Verification(
                    False, size, size, None, f"the events do not reproduce the checkpoint at size {target.tree_size}"
                )
        return Verification(True, size, size, None, f"all {size} events verified")


VERIFY_LEVELS = 14
VERIFY_BATCH = 1 << VERIFY_LEVELS  # leaves per batch: a complete subtree of 14 levels


class LogCheck:
    """One verification pass over the log, fed aligned batches of ``VERIFY_BATCH``
    entries in position order (the last may be short). Each entry's document is hashed
    and compared with its leaf, and checked against the event store's index; every
    complete subtree is recomputed level by level and compared with its stored node, if
    stored; the roots at ``root_sizes`` are made from the recomputed subtrees."""

    def __init__(self, log: LogStore, size: int, root_sizes: set[int]) -> None:
        self.log = log
        self.nodes_size = min(log.nodes_size(), size)
        self.root_sizes = root_sizes
        self.wanted = {node for n in root_sizes for node in frontier_of(n)}
        self.kept: dict[tuple[int, int], bytes] = {}
        self.upper = RootBuilder()  # over whole batches: its level 0 is level VERIFY_LEVELS
        self.checked = 0
        self.ids: dict[Any, bytes] = {}

    def batch(self, rows: Sequence[tuple[int, Any, int, bytes, bytes]]) -> tuple[int, str] | None:
        """Checks a batch of ``(position, originator id, version, document, leaf)``; the
        first bad position and why, or None. (The topic the index also keeps is not read:
        the domain reads an event's type from its document, never from the index.)"""
        sha256, ids = hashlib.sha256, self.ids
        start = expected = self.checked
        leaves: list[bytes] = []
        for position, originator_id, version, document, leaf in rows:
            if position != expected:
                self.checked = expected
                return expected, f"position {expected} is missing from the log"
            if sha256(b"\x00" + document).digest() != leaf:
                self.checked = position
                return position, f"the event at position {position} does not match its leaf hash"
            named = ids.get(originator_id)
            if named is None:
                named = ids[originator_id] = b'"aggregate_id":"%s"' % str(UUID(str(originator_id))).encode("ascii")
            if (
                not document.endswith(b',"version":%d}' % version)
                or (b',"position":%d,"recorded_at":"' % position) not in document
                or named not in document
            ):
                self.checked = position
                return position, f"the event at position {position} is not the one the log indexes there"
            leaves.append(leaf)
            expected += 1
        self.checked = expected
        return self._subtrees(start, leaves)

    def _subtrees(self, start: int, leaves: list[bytes]) -> tuple[int, str] | None:
        """Recomputes the complete subtrees of this batch (and, through ``upper``, those
        of whole batches above it), compares those stored, keeps those roots need."""
        sha256 = hashlib.sha256
        made: list[tuple[int, int, list[bytes]]] = [(0, start, leaves)]  # (level, first index, hashes)
        below = leaves
        while len(below) > 1:
            below = [sha256(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)]
            made.append((len(made), start >> len(made), below))
        if len(leaves) == VERIFY_BATCH:
            for level, index, digest in self.upper.add(below[0]):
                made.append((VERIFY_LEVELS + level, index, [digest]))
        for level, first, hashes in made:
            for offset, digest in enumerate(hashes):
                if (level, first + offset) in self.wanted:
                    self.kept[(level, first + offset)] = digest
            stored = min(len(hashes), (self.nodes_size >> level) - first) if level else 0
            if stored <= 0:
                continue
            found = self.log.stored_nodes(level, first, first + stored)
            if found == hashes[:stored]:
                continue
            for offset in range(stored):
                if offset >= len(found) or found[offset] != hashes[offset]:
                    index = first + offset
                    return (
                        index << level,
                        f"the stored Merkle node (level {level}, index {index}) does not match the events",
                    )
        return None

    def root(self, size: int) -> str:
        """The root of the first ``size`` leaves, from the recomputed subtrees."""
        frontier = [self.kept[node] for node in frontier_of(size)]
        return RootBuilder(size, frontier).root().hex()
