"""The log's Merkle tree, as in Certificate Transparency (RFC 9162, section 2.1).

Leaves are ``SHA-256(0x00 || data)``, interior nodes ``SHA-256(0x01 || left || right)``.
Hashes of complete, aligned subtrees are stored as the log grows (``NodeStore``), so the
root of any tree size, and every inclusion and consistency proof, costs O(log n) stored
hashes to read: never a pass over the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n > 1): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeStore(Protocol):
    """Hashes of complete subtrees: ``(level, index)`` is the subtree of the 2**level
    leaves starting at ``index * 2**level``."""

    def node(self, level: int, index: int) -> bytes: ...


class BatchNodeStore(Protocol):
    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...


class _Wanted:
    """A stand-in store that only notes which nodes a computation reads."""

    def __init__(self) -> None:
        self.wanted: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.wanted.append((level, index))
        return bytes(32)


class _Fetched:
    def __init__(self, found: dict[tuple[int, int], bytes]) -> None:
        self.found = found

    def node(self, level: int, index: int) -> bytes:
        try:
            return self.found[(level, index)]
        except KeyError:
            raise LookupError(f"no Merkle node at level {level}, index {index}") from None


def prefetched(store: BatchNodeStore, compute: Callable[[MerkleTree], T]) -> T:
    """Runs ``compute`` (a root or a proof) reading every node it needs in one batch:
    a dry run notes which nodes it reads (the same ones whatever their hashes), then
    they are fetched at once and the computation runs for real."""
    dry = _Wanted()
    compute(MerkleTree(dry))
    return compute(MerkleTree(_Fetched(store.nodes(sorted(set(dry.wanted))))))


class MerkleTree:
    """Roots and proofs over a ``NodeStore``."""

    def __init__(self, nodes: NodeStore) -> None:
        self.nodes = nodes

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges RFC 9162's recursion visits (``start`` is
        aligned to the largest power of two not above ``end - start``)."""
        size = end - start
        if size <= 0:
            raise ValueError("empty range")
        if size & (size - 1) == 0 and start % size == 0:
            return self.nodes.node(size.bit_length() - 1, start // size)
        k = largest_power_of_two_below(size)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 2.1.3.1, leaf to root order."""
        if not 0 <= index < size:
            raise ValueError("leaf index must be below the tree size")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return [*self._path(m, start, start + k), self.subtree(start + k, end)]
        return [*self._path(m - k, start + k, end), self.subtree(start, start + k)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 2.1.4.1 (empty when m == n or m == 0)."""
        if not 0 <= first <= second:
            raise ValueError("first must not exceed second")
        if first == 0 or first == second:
            return []
        return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self.subtree(start, end)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self.subtree(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.subtree(start, start + k)]


# -- verification, straight from the RFC (used offline and by the service) --------


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 2.1.4.2."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes held in memory (the offline verifier's streaming helper
    uses ``RootBuilder`` instead)."""
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    return builder.root()


class RootBuilder:
    """Builds the root of a growing list of leaf hashes in O(log n) memory: a stack of
    complete subtrees (the tree's frontier), like a binary counter. It can start from
    the frontier of a tree that already has ``size`` leaves (``frontier_of`` names its
    nodes, largest first), and ``add`` says which complete subtrees each leaf closes."""

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        sizes = [1 << level for level in reversed(range(size.bit_length())) if size >> level & 1]
        if len(sizes) != len(frontier):
            raise ValueError(f"a tree of {size} leaves has {len(sizes)} frontier nodes, not {len(frontier)}")
        self.stack: list[tuple[int, bytes]] = list(zip(sizes, frontier, strict=True))  # sizes strictly decreasing
        self.size = size

    def add(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Adds a leaf; returns the ``(level, index, hash)`` of the subtrees above the
        leaves that it completes (none for a leaf at an even index)."""
        size, digest = 1, leaf
        closed: list[tuple[int, int, bytes]] = []
        end = self.size + 1
        while self.stack and self.stack[-1][0] == size:
            left_size, left = self.stack.pop()
            size, digest = left_size + size, node_hash(left, digest)
            closed.append((size.bit_length() - 1, end // size - 1, digest))
        self.stack.append((size, digest))
        self.size = end
        return closed

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        digest = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            digest = node_hash(left, digest)
        return digest

    def frontier(self) -> list[bytes]:
        """The hashes of the complete subtrees so far, largest first."""
        return [digest for _, digest in self.stack]


def frontier_of(size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` of the complete subtrees a tree of ``size`` leaves is made
    of, largest first (one per set bit of ``size``)."""
    return [(level, (size >> level) - 1) for level in reversed(range(size.bit_length())) if size >> level & 1]
