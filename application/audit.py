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
from application.logformat import instant, position_in
from application.merkle import EMPTY_ROOT, MerkleTree, RootBuilder, prefetched, verify_consistency
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
                b'%s,"leaf_hash":"%s"}\n' % (bytes(document)[:-1], bytes(leaf).hex().encode("ascii"))
                for _, _, _, _, document, leaf in batch
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
        for batch in self.log.scan(VERIFY_BATCH, size):
            bad = check.batch(batch)
            if bad is not None:
                position, detail = bad
                return Verification(False, size, check.checked, position, detail)
            if progress is not None:
                progress(check.checked)
        if check.checked != size:
            return Verification(False, size, check.checked, check.checked, f"position {check.checked} is missing")
        for target in targets:
            if check.roots[target.tree_size] != target.root_hash:
                return Verification(
                    False, size, size, None, f"the events do not reproduce the checkpoint at size {target.tree_size}"
                )
        return Verification(True, size, size, None, f"all {size} events verified")


VERIFY_BATCH = 16_384


class LogCheck:
    """The state of one verification pass over the log, fed a batch at a time."""

    def __init__(self, log: LogStore, size: int, root_sizes: set[int]) -> None:
        self.log = log
        self.nodes_size = min(log.nodes_size(), size)
        self.root_sizes = root_sizes
        self.roots: dict[int, str] = {0: EMPTY_ROOT.hex()} if 0 in root_sizes else {}
        self.builder = RootBuilder()
        self.checked = 0

    def batch(self, rows: Sequence[tuple[int, Any, int, str, bytes, bytes]]) -> tuple[int, str] | None:
        """Checks a batch of ``(position, originator id, version, topic, document, leaf)``;
        the first bad position and why, or None."""
        sha256, add, root_sizes = hashlib.sha256, self.builder.add, self.root_sizes
        closed: list[tuple[int, int, bytes]] = []
        for position, originator_id, version, topic, document, leaf in rows:
            if position != self.checked:
                return self.checked, f"position {self.checked} is missing from the log"
            if sha256(b"\x00" + document).digest() != leaf:
                return position, f"the event at position {position} does not match its leaf hash"
            if position_in(document) != position or not agrees(document, originator_id, version, topic):
                return position, f"the event at position {position} is not the one the log indexes there"
            closed.extend(add(leaf))
            self.checked = position + 1
            if self.checked in root_sizes:
                self.roots[self.checked] = self.builder.root().hex()
        return self._stored_nodes_agree(closed)

    def _stored_nodes_agree(self, closed: list[tuple[int, int, bytes]]) -> tuple[int, str] | None:
        """Every stored node among those this batch completed equals its recomputation."""
        stored = [(level, index, digest) for level, index, digest in closed if (index + 1) << level <= self.nodes_size]
        if not stored:
            return None
        by_level: dict[int, list[tuple[int, bytes]]] = {}
        for level, index, digest in stored:
            by_level.setdefault(level, []).append((index, digest))
        for level, made in sorted(by_level.items()):
            found = self.log.stored_nodes(level, made[0][0], made[-1][0] + 1)
            for offset, (index, digest) in enumerate(made):
                if offset >= len(found) or found[offset] != digest:
                    return index << level, (
                        f"the stored Merkle node (level {level}, index {index}) does not match the events"
                    )
        return None


def agrees(document: bytes, originator_id: Any, version: int, topic: str) -> bool:
    """Whether the event store's index (aggregate id as stored, version, topic) agrees
    with a document's bytes: its last keys are its type (the topic's last name) and
    version, and it names its aggregate."""
    ending = b',"type":"%s","version":%d}' % (topic.rsplit(".", 1)[-1].encode("utf-8"), version)
    if not document.endswith(ending):
        return False
    hex_id = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    hyphenated = f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    return (b'"aggregate_id":"%s"' % hyphenated.encode("ascii")) in document
