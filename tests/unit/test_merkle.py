"""The log's Merkle tree (``application/merkle.py``) and the offline export verifier
(``application/offline.py``), checked three ways:

1. against published RFC 6962 test vectors (copied, never recomputed: see ``Published
   vectors`` below for the repositories, paths and commits they come from);
2. against a tree hash, audit paths, consistency proofs and verifiers written in this file
   straight from RFC 9162 section 2.1 (2.1.1 MTH, 2.1.3.1 PATH, 2.1.3.2, 2.1.4.1 PROOF,
   2.1.4.2), independent of ``application/merkle.py``, with property tests that every
   proof verifies and that no tampered proof does;
3. ``RootBuilder`` (resumed from a stored frontier, as the log store builds its nodes) against the same reference, and
   ``verify_export`` on a small synthetic export signed with a test Ed25519 key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from application.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    RootBuilder,
    frontier_of,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_of_leaves,
    verify_consistency,
    verify_inclusion,
)
from application.offline import ExportVerdict, canonical, checkpoint_message, leaf_of, verify_export
from infrastructure.keys import Ed25519Signer, verify_signature

# =====================================================================================
# RFC 9162, section 2.1, written out here (no code from application/merkle.py).
# =====================================================================================


def rfc_hash(data: bytes) -> bytes:
    """The RFC's HASH: SHA-256 here."""
    return hashlib.sha256(data).digest()


def rfc_leaf(entry: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0))."""
    return rfc_hash(b"\x00" + entry)


def rfc_interior(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return rfc_hash(b"\x01" + left + right)


def split_point(n: int) -> int:
    """ "k is the largest power of two smaller than n (i.e., k < n <= 2k)"."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def mth(entries: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.1, the Merkle Tree Hash of a list of data entries, recursively."""
    n = len(entries)
    if n == 0:
        return rfc_hash(b"")
    if n == 1:
        return rfc_leaf(entries[0])
    k = split_point(n)
    return rfc_interior(mth(entries[:k]), mth(entries[k:]))


def rfc_path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1, PATH(m, D[n]): the audit path of entry m, leaf to root."""
    n = len(entries)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*rfc_path(m, entries[:k]), mth(entries[k:])]
    return [*rfc_path(m - k, entries[k:]), mth(entries[:k])]


def rfc_proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1, PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m <= n; the
    empty list for m == 0 (the RFC defines no proof from the empty tree; nothing is
    needed, as every tree extends it)."""
    return [] if m == 0 else rfc_subproof(m, entries, True)


def rfc_subproof(m: int, entries: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = split_point(n)
    if m <= k:
        return [*rfc_subproof(m, entries[:k], b), mth(entries[k:])]
    return [*rfc_subproof(m - k, entries[k:], False), mth(entries[:k])]


def lsb(x: int) -> bool:
    return x & 1 == 1


def rfc_verify_inclusion(hash_: bytes, leaf_index: int, tree_size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2, step by step."""
    # 1. leaf_index >= tree_size fails (the RFC's leaf_index is unsigned: so do negatives).
    if leaf_index < 0 or leaf_index >= tree_size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = leaf_index, tree_size - 1
    # 3. r = hash.
    r = hash_
    # 4. For each p in the inclusion path:
    for p in path:
        # a. sn == 0: stop and fail.
        if sn == 0:
            return False
        # b. LSB(fn) set, or fn == sn:
        if lsb(fn) or fn == sn:
            r = rfc_hash(b"\x01" + p + r)
            # ... if LSB(fn) is not set, right-shift both until LSB(fn) is set or fn is 0.
            if not lsb(fn):
                while not lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = rfc_hash(b"\x01" + r + p)
        # c. right-shift both once.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r the root.
    return sn == 0 and r == root


def rfc_verify_consistency(
    first: int, second: int, path: Sequence[bytes], first_hash: bytes, second_hash: bytes
) -> bool:
    """RFC 9162 2.1.4.2 for 0 < first < second; the trivial cases around it as
    transparency-dev/merkle treats them (first == second: an empty proof and equal
    roots; first == 0: an empty proof)."""
    if first < 0 or first > second:
        return False
    if first == second:
        return len(path) == 0 and first_hash == second_hash
    if first == 0:
        return len(path) == 0
    # 1. An empty consistency path fails.
    if not path:
        return False
    consistency_path = list(path)
    # 2. first an exact power of 2: prepend first_hash.
    if first & (first - 1) == 0:
        consistency_path = [first_hash, *consistency_path]
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. While LSB(fn) is set, right-shift both.
    while lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = consistency_path[0]
    # 6. For each subsequent value c:
    for c in consistency_path[1:]:
        # a. sn == 0: stop and fail.
        if sn == 0:
            return False
        # b. LSB(fn) set, or fn == sn:
        if lsb(fn) or fn == sn:
            fr = rfc_hash(b"\x01" + c + fr)
            sr = rfc_hash(b"\x01" + c + sr)
            if not lsb(fn):
                while not lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = rfc_hash(b"\x01" + sr + c)
        # c. right-shift both once.
        fn >>= 1
        sn >>= 1
    # 7. fr is first_hash, sr is second_hash, and sn is 0.
    return fr == first_hash and sr == second_hash and sn == 0


InclusionVerifier = Callable[[bytes, int, int, Sequence[bytes], bytes], bool]
ConsistencyVerifier = Callable[[int, int, Sequence[bytes], bytes, bytes], bool]
INCLUSION_VERIFIERS: dict[str, InclusionVerifier] = {"rfc": rfc_verify_inclusion, "project": verify_inclusion}
CONSISTENCY_VERIFIERS: dict[str, ConsistencyVerifier] = {"rfc": rfc_verify_consistency, "project": verify_consistency}


# =====================================================================================
# An in-memory NodeStore, filled the way the log store fills its table: a RootBuilder
# resumed from the stored frontier reports the subtrees each new leaf completes.
# =====================================================================================


class MemoryNodes:
    """Complete-subtree hashes in a dict (leaves at level 0), added batch by batch.
    Remembers what ``MerkleTree`` reads, and refuses to overwrite a node."""

    def __init__(self) -> None:
        self.hashes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        self.reads: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return self.hashes[(level, index)]

    def append(self, leaves: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
        # As the log store does: only the frontier of the tree so far is read.
        builder = RootBuilder(self.size, [self.hashes[key] for key in frontier_of(self.size)])
        made: list[tuple[int, int, bytes]] = []
        for leaf in leaves:
            made.append((0, builder.size, leaf))
            made.extend(builder.add(leaf))
        keys = [(level, index) for level, index, _ in made]
        assert len(set(keys)) == len(keys), f"a node returned twice in one batch: {keys}"
        for level, index, digest in made:
            assert (level, index) not in self.hashes, f"node ({level}, {index}) made again by a later batch"
            self.hashes[(level, index)] = digest
        self.size += len(leaves)
        assert builder.frontier() == [self.hashes[key] for key in frontier_of(self.size)]
        return made


def in_batches(items: Sequence[bytes], sizes: Sequence[int]) -> Iterator[Sequence[bytes]]:
    """``items`` cut into batches of the given sizes (zeros included); the rest last."""
    start = 0
    for size in sizes:
        yield items[start : start + size]
        start += size
    yield items[start:]


def store_of(leaves: Sequence[bytes], batch_sizes: Sequence[int] = ()) -> MemoryNodes:
    store = MemoryNodes()
    for batch in in_batches(leaves, batch_sizes):
        store.append(batch)
    assert store.size == len(leaves)
    return store


def complete_subtrees(size: int) -> set[tuple[int, int]]:
    """Every (level, index) whose 2**level leaves from index * 2**level are all present."""
    return {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}


def flip_bit(digest: bytes, bit: int) -> bytes:
    bit %= 8 * max(len(digest), 1)
    if not digest:
        return b"\x01"
    changed = bytearray(digest)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


# =====================================================================================
# Published vectors.
#
# Leaf inputs, node hashes, roots for sizes 0..8: transparency-dev/merkle,
#   testonly/constants.go (LeafInputs, NodeHashes, RootHashes, EmptyRootHash), commit
#   582a6ad190b6848f1d26f8bf08ddef29955d9db1. The same inputs and roots are kInputs and
#   kSHA256Roots in google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc,
#   commit 0e901cacd1388fa16f78b184612f6cd16e5ceec1.
# Inclusion and consistency proofs: transparency-dev/merkle, proof/verify_test.go
#   (inclusionProofs, consistencyProofs), commit 02194e9afb6c1d95b5381350007963aa70fff472;
#   the same as kSHA256Paths / kSHA256Proofs of the C++ test above, which lacks (6, 7).
# Which nodes make each proof (node IDs and the "rehash" of an ephemeral node):
#   transparency-dev/merkle, proof/proof_test.go (TestInclusion, TestConsistency), commit
#   02a3e2029520f515596d5238c54fb0ac9e19bff4.
# Corruption probes and verifier edge cases: transparency-dev/merkle proof/verify_test.go
#   (corruptInclusionProof, corruptConsistencyProof, TestVerifyInclusion,
#   TestVerifyInclusionSingleEntry, TestVerifyConsistency), same commit.
# =====================================================================================

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]

EMPTY_TREE_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

# NodeHashes(): [level][index].
NODE_HASHES = [
    [
        bytes.fromhex(h)
        for h in (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        )
    ],
    [bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# RootHashes(): indexed by tree size, from the empty tree.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

# inclusionProofs: (leaf, size, proof). NB: "leaf" is 1-based there (the tests use
# leaves[p.leaf-1] and leaf index p.leaf-1); {0, 0, nil} is the invalid one.
PUBLISHED_INCLUSION = [
    (0, 0, []),
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# consistencyProofs: (size1, size2, proof).
PUBLISHED_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

Node = tuple[int, int]  # (level, index), compact.NodeID there, NodeStore's key here
Rehash = tuple[int, int] | None  # ids[begin:end] fold into one (ephemeral) node

# TestInclusion: (size, index, node ids, rehash).
PUBLISHED_INCLUSION_NODES: list[tuple[int, int, list[Node], Rehash]] = [
    (1, 0, [], None),
    (2, 0, [(0, 1)], None),
    (2, 1, [(0, 0)], None),
    (3, 1, [(0, 0), (0, 2)], None),
    (7, 0, [(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 1, [(0, 0), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (7, 2, [(0, 3), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 3, [(0, 2), (1, 0), (0, 6), (1, 2)], (2, 4)),
    (7, 4, [(0, 5), (0, 6), (2, 0)], None),
    (7, 5, [(0, 4), (0, 6), (2, 0)], None),
    (7, 6, [(1, 2), (2, 0)], None),
    (4, 2, [(0, 3), (1, 0)], None),
    (5, 3, [(0, 2), (1, 0), (0, 4)], None),
    (6, 3, [(0, 2), (1, 0), (1, 2)], None),
    (6, 4, [(0, 5), (2, 0)], None),
    (15, 10, [(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)], (2, 4)),
    (31, 24, [(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)], (2, 4)),
    (95, 81, [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)], (3, 6)),
]

# TestConsistency: (size1, size2, node ids, rehash).
PUBLISHED_CONSISTENCY_NODES: list[tuple[int, int, list[Node], Rehash]] = [
    (1, 2, [(0, 1)], None),
    (1, 4, [(0, 1), (1, 1)], None),
    (1, 6, [(0, 1), (1, 1), (1, 2)], None),
    (2, 3, [(0, 2)], None),
    (2, 8, [(1, 1), (2, 1)], None),
    (3, 7, [(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)], (3, 5)),
    (4, 7, [(0, 6), (1, 2)], (0, 2)),
    (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)], None),
    (6, 7, [(1, 2), (0, 6), (2, 0)], None),
    (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)], None),
    (1, 1, [], None),
    (2, 2, [], None),
    (3, 3, [], None),
    (4, 4, [], None),
    (5, 5, [], None),
    (7, 7, [], None),
    (8, 8, [], None),
    (2, 4, [(1, 1)], None),
    (3, 5, [(0, 2), (0, 3), (1, 0), (0, 4)], None),
    (3, 6, [(0, 2), (0, 3), (1, 0), (1, 2)], None),
    (4, 6, [(1, 2)], None),
    (1, 7, [(0, 1), (1, 1), (0, 6), (1, 2)], (2, 4)),
    (10, 15, [(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)], (2, 4)),
    (24, 31, [(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)], (1, 4)),
    (81, 95, [(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)], (4, 7)),
]

# Uneven ways of appending the 8 published leaves (the rest goes in a last batch).
BATCHINGS = [[8], [1] * 8, [3, 5], [2, 1, 4, 1], [0, 5, 0, 0, 3], [7], [1, 6], [4, 0, 4]]


def published_leaves() -> list[bytes]:
    return [rfc_leaf(entry) for entry in LEAF_INPUTS]


# =====================================================================================
# 1. Published vectors.
# =====================================================================================


def test_the_reference_in_this_file_reproduces_the_published_vectors() -> None:
    """The RFC reference above is what the property tests trust: it must agree with the
    published roots and proofs first."""
    for size, root in enumerate(ROOTS):
        assert mth(LEAF_INPUTS[:size]) == root
    for leaf, size, path in PUBLISHED_INCLUSION[1:]:
        assert rfc_path(leaf - 1, LEAF_INPUTS[:size]) == [bytes.fromhex(h) for h in path]
    for first, second, proof in PUBLISHED_CONSISTENCY:
        assert rfc_proof(first, LEAF_INPUTS[:second]) == [bytes.fromhex(h) for h in proof]
    for level, hashes in enumerate(NODE_HASHES):
        for index, digest in enumerate(hashes):
            assert mth(LEAF_INPUTS[index << level : (index + 1) << level]) == digest


def test_leaf_and_node_hashes_are_rfc_6962s() -> None:
    assert EMPTY_ROOT == EMPTY_TREE_HASH == ROOTS[0]
    for index, entry in enumerate(LEAF_INPUTS):
        assert leaf_hash(entry) == NODE_HASHES[0][index]
    for level in range(1, len(NODE_HASHES)):
        for index, digest in enumerate(NODE_HASHES[level]):
            below = NODE_HASHES[level - 1]
            assert node_hash(below[2 * index], below[2 * index + 1]) == digest
    for n in range(2, 1100):
        assert largest_power_of_two_below(n) == split_point(n)


def test_the_frontier_is_the_roots_of_the_complete_subtrees_largest_first() -> None:
    assert frontier_of(0) == []
    assert frontier_of(6) == [(2, 0), (1, 2)]  # 6 = 0b110: leaves 0-3 and 4-5
    assert frontier_of(7) == [(2, 0), (1, 2), (0, 6)]
    assert frontier_of(8) == [(3, 0)]
    assert frontier_of(11) == [(3, 0), (1, 4), (0, 10)]  # 0b1011
    with pytest.raises(ValueError):
        RootBuilder(6, [bytes(32)])  # a tree of 6 leaves has two frontier nodes


@pytest.mark.parametrize("batching", BATCHINGS, ids=str)
def test_resumed_builders_make_exactly_the_published_node_hashes(batching: list[int]) -> None:
    store = store_of(published_leaves(), batching)
    published = {(level, index): digest for level, row in enumerate(NODE_HASHES) for index, digest in enumerate(row)}
    assert store.hashes == published


@pytest.mark.parametrize("batching", BATCHINGS, ids=str)
def test_roots_of_every_prefix_are_the_published_roots(batching: list[int]) -> None:
    store = MemoryNodes()
    tree = MerkleTree(store)
    assert tree.root(0) == ROOTS[0]
    for batch in in_batches(published_leaves(), batching):
        store.append(batch)
        # After every batch, the root of every size the store holds (past sizes too).
        for size in range(store.size + 1):
            assert tree.root(size) == ROOTS[size], (batching, store.size, size)
    builder = RootBuilder()
    assert builder.root() == ROOTS[0]
    for size, leaf in enumerate(published_leaves(), start=1):
        builder.add(leaf)
        assert builder.size == size
        assert builder.root() == ROOTS[size]
        assert root_of_leaves(published_leaves()[:size]) == ROOTS[size]


def inclusion_probes(
    leaf: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """corruptInclusionProof of transparency-dev/merkle proof/verify_test.go."""
    probes: list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]] = [
        ("leafIndex - 1", (leaf, index - 1, size, path, root)),
        ("leafIndex + 1", (leaf, index + 1, size, path, root)),
        ("leafIndex ^ 2", (leaf, index ^ 2, size, path, root)),
        ("treeSize * 2", (leaf, index, size * 2, path, root)),
        ("treeSize / 2", (leaf, index, size // 2, path, root)),
        ("wrong leaf", (b"WrongLeaf", index, size, path, root)),
        ("empty root", (leaf, index, size, path, EMPTY_TREE_HASH)),
        ("random root", (leaf, index, size, path, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*path, b""], root)),
        ("trailing root", (leaf, index, size, [*path, root], root)),
        ("preceding garbage", (leaf, index, size, [b"", *path], root)),
        ("preceding root", (leaf, index, size, [root, *path], root)),
    ]
    for i in range(len(path)):
        wrong = list(path)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((f"modified proof[{i}] bit 3", (leaf, index, size, wrong, root)))
    if path:
        probes.append(("removed component", (leaf, index, size, path[:-1], root)))
    if len(path) > 1:
        probes.append(("inserted component", (leaf, index, size, [path[0], SOME_HASH, *path[1:]], root)))
    return probes


def consistency_probes(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> list[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]]:
    """corruptConsistencyProof of transparency-dev/merkle proof/verify_test.go."""
    probes: list[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]] = [
        ("size1 - 1", (size1 - 1, size2, proof, root1, root2)),
        ("size1 + 1", (size1 + 1, size2, proof, root1, root2)),
        ("size1 ^ 2", (size1 ^ 2, size2, proof, root1, root2)),
        ("size2 * 2", (size1, size2 * 2, proof, root1, root2)),
        ("size2 / 2", (size1, size2 // 2, proof, root1, root2)),
        ("wrong root1", (size1, size2, proof, b"WrongRoot", root2)),
        ("wrong root2", (size1, size2, proof, root1, b"WrongRoot")),
        ("swapped roots", (size1, size2, proof, root2, root1)),
        ("empty proof", (size1, size2, [], root1, root2)),
        ("trailing garbage", (size1, size2, [*proof, b""], root1, root2)),
        ("trailing root1", (size1, size2, [*proof, root1], root1, root2)),
        ("trailing root2", (size1, size2, [*proof, root2], root1, root2)),
        ("preceding garbage", (size1, size2, [b"", *proof], root1, root2)),
        ("preceding root1", (size1, size2, [root1, *proof], root1, root2)),
        ("preceding root2", (size1, size2, [root2, *proof], root1, root2)),
        ("preceding proof[0]", (size1, size2, [proof[0], *proof], root1, root2)),
        ("truncated proof", (size1, size2, proof[:-1], root1, root2)),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((f"modified proof[{i}] bit 4", (size1, size2, wrong, root1, root2)))
    return probes


@pytest.mark.parametrize(
    ("leaf", "size", "path_hex"), PUBLISHED_INCLUSION, ids=[f"leaf{v[0]}-of-{v[1]}" for v in PUBLISHED_INCLUSION]
)
def test_published_inclusion_proofs(leaf: int, size: int, path_hex: list[str]) -> None:
    path = [bytes.fromhex(h) for h in path_hex]
    whole = MerkleTree(store_of(published_leaves(), [3, 1, 4]))
    exact = MerkleTree(store_of(published_leaves()[:size], [1, 2]))
    if leaf == 0:  # {0, 0, nil}: no leaf in an empty tree, so no proof and nothing verifies
        for tree in (whole, exact):
            with pytest.raises(ValueError):
                tree.inclusion_proof(0, 0)
        for verify in INCLUSION_VERIFIERS.values():
            assert not verify(EMPTY_TREE_HASH, 0, 0, [], EMPTY_TREE_HASH)
        return
    index = leaf - 1
    assert whole.inclusion_proof(index, size) == path
    assert exact.inclusion_proof(index, size) == path
    hashed = leaf_hash(LEAF_INPUTS[index])
    for name, verify in INCLUSION_VERIFIERS.items():
        assert verify(hashed, index, size, path, ROOTS[size]), name
        for description, args in inclusion_probes(hashed, index, size, path, ROOTS[size]):
            assert not verify(*args), f"{name} verifier accepted: {description}"


@pytest.mark.parametrize(
    ("size1", "size2", "proof_hex"), PUBLISHED_CONSISTENCY, ids=[f"{v[0]}-to-{v[1]}" for v in PUBLISHED_CONSISTENCY]
)
def test_published_consistency_proofs(size1: int, size2: int, proof_hex: list[str]) -> None:
    proof = [bytes.fromhex(h) for h in proof_hex]
    whole = MerkleTree(store_of(published_leaves(), [2, 2, 1]))
    exact = MerkleTree(store_of(published_leaves()[:size2], [5]))
    assert whole.consistency_proof(size1, size2) == proof
    assert exact.consistency_proof(size1, size2) == proof
    for name, verify in CONSISTENCY_VERIFIERS.items():
        assert verify(size1, size2, proof, ROOTS[size1], ROOTS[size2]), name
        if proof:  # as there: probes only for non-trivial proofs
            for description, args in consistency_probes(size1, size2, proof, ROOTS[size1], ROOTS[size2]):
                assert not verify(*args), f"{name} verifier accepted: {description}"


@pytest.mark.parametrize("name", sorted(INCLUSION_VERIFIERS))
def test_published_inclusion_verifier_edge_cases(name: str) -> None:
    """TestVerifyInclusion and TestVerifyInclusionSingleEntry (bar its "wrong hash size"
    row: neither verifier here checks lengths, and an empty root is no root anyway)."""
    verify = INCLUSION_VERIFIERS[name]
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1)):
        assert not verify(SOME_HASH, index, size, [], b"")
        assert not verify(b"", index, size, [], EMPTY_TREE_HASH)
        assert not verify(SOME_HASH, index, size, [], EMPTY_TREE_HASH)
    single = leaf_hash(b"data")
    assert verify(single, 0, 1, [], single)
    assert not verify(b"", 0, 1, [], single)
    assert not verify(single, 0, 1, [], b"")


@pytest.mark.parametrize("name", sorted(CONSISTENCY_VERIFIERS))
def test_published_consistency_verifier_edge_cases(name: str) -> None:
    """TestVerifyConsistency's table: (size1, size2, root1, root2, proof, verifies)."""
    verify = CONSISTENCY_VERIFIERS[name]
    root1, root2 = b"don't care 1", b"don't care 2"
    one = [EMPTY_TREE_HASH]
    table = [
        (0, 0, root1, root2, [], False),
        (1, 1, root1, root2, [], False),
        (0, 0, root1, root1, [], True),
        (0, 1, root1, root2, [], True),
        (1, 1, root2, root2, [], True),
        (1, 0, root1, root2, [], False),
        (2, 1, root1, root2, [], False),
        (1, 2, root1, root2, [], False),
        (0, 0, EMPTY_TREE_HASH, root2, [], False),
        (1, 1, EMPTY_TREE_HASH, root2, [], False),
        (0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, one, False),
        (0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, one, False),
        (1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, one, False),
    ]
    for size1, size2, first, second, proof, verifies in table:
        assert verify(size1, size2, proof, first, second) is verifies, (size1, size2, first, second, proof)


def expected_from_nodes(entries: Sequence[bytes], ids: list[Node], rehash: Rehash) -> list[bytes]:
    """Hashes of the published node ids over ``entries``, with ids[begin:end] folded into
    their ephemeral parent as transparency-dev/merkle's Nodes.Rehash does (proof/proof.go):
    hash = h[begin]; then hash = HashChildren(h[i], hash) for each later i < end."""
    hashes = [mth(entries[index << level : (index + 1) << level]) for level, index in ids]
    if rehash is None:
        return hashes
    begin, end = rehash
    folded = hashes[begin]
    for digest in hashes[begin + 1 : end]:
        folded = rfc_interior(digest, folded)
    return [*hashes[:begin], folded, *hashes[end:]]


def entries_for(size: int) -> list[bytes]:
    """The published leaves for trees of up to 8; genEntries-like ones above."""
    return LEAF_INPUTS[:size] if size <= 8 else [str(i).encode() for i in range(size)]


@pytest.mark.parametrize(("size", "index", "ids", "rehash"), PUBLISHED_INCLUSION_NODES, ids=lambda v: str(v))
def test_inclusion_proofs_are_made_of_the_published_nodes(
    size: int, index: int, ids: list[Node], rehash: Rehash
) -> None:
    entries = entries_for(size)
    tree = MerkleTree(store_of([rfc_leaf(e) for e in entries], [size // 3, 1]))
    assert tree.inclusion_proof(index, size) == expected_from_nodes(entries, ids, rehash)


@pytest.mark.parametrize(("size1", "size2", "ids", "rehash"), PUBLISHED_CONSISTENCY_NODES, ids=lambda v: str(v))
def test_consistency_proofs_are_made_of_the_published_nodes(
    size1: int, size2: int, ids: list[Node], rehash: Rehash
) -> None:
    entries = entries_for(size2)
    tree = MerkleTree(store_of([rfc_leaf(e) for e in entries], [size1, 1]))
    assert tree.consistency_proof(size1, size2) == expected_from_nodes(entries, ids, rehash)


# =====================================================================================
# 2. Against the RFC reference: every proof verifies, no tampered one does.
# =====================================================================================

MAX_N = 300
_rng = random.Random(9162)
# Distinct entries of uneven lengths (the 2-byte prefix keeps them distinct).
ENTRIES = [i.to_bytes(2, "big") + _rng.randbytes(_rng.randrange(0, 48)) for i in range(2 * MAX_N + 2)]
LEAVES = [rfc_leaf(entry) for entry in ENTRIES]


@cache
def naive_root(size: int) -> bytes:
    return mth(ENTRIES[:size])


@lru_cache(maxsize=4)
def full_store() -> MemoryNodes:
    return store_of(LEAVES, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])


def test_every_proof_of_every_small_tree_is_the_rfcs_and_verifies() -> None:
    """Exhaustive for n <= 40: PATH and PROOF exactly as 2.1.3.1 / 2.1.4.1 define them,
    including m == 0 and m == n, over a store that holds more leaves than n."""
    tree = MerkleTree(full_store())
    for n in range(41):
        assert tree.root(n) == naive_root(n)
        for index in range(n):
            path = tree.inclusion_proof(index, n)
            assert path == rfc_path(index, ENTRIES[:n]), (index, n)
            for name, verify in INCLUSION_VERIFIERS.items():
                assert verify(LEAVES[index], index, n, path, naive_root(n)), (name, index, n)
        for m in range(n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == rfc_proof(m, ENTRIES[:n]), (m, n)
            for name, verify in CONSISTENCY_VERIFIERS.items():
                assert verify(m, n, proof, naive_root(m), naive_root(n)), (name, m, n)


def test_proof_arguments_out_of_range_are_refused() -> None:
    tree = MerkleTree(full_store())
    for index, size in ((0, 0), (5, 5), (6, 5), (-1, 5)):
        with pytest.raises(ValueError):
            tree.inclusion_proof(index, size)
    for first, second in ((6, 5), (1, 0), (-1, 5)):
        with pytest.raises(ValueError):
            tree.consistency_proof(first, second)
    with pytest.raises(ValueError):
        tree.subtree(3, 3)


def inclusion_tamperings(
    index: int, size: int, path: list[bytes], bits: list[int], garbage: bytes
) -> Iterator[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """Every way of changing one thing of a valid inclusion claim."""
    leaf, root = LEAVES[index], naive_root(size)
    for i, bit in enumerate(bits):
        yield (
            f"bit {bit} of path[{i}] flipped",
            (leaf, index, size, [*path[:i], flip_bit(path[i], bit), *path[i + 1 :]], root),
        )
    for i in range(len(path)):
        yield f"path[{i}] dropped", (leaf, index, size, [*path[:i], *path[i + 1 :]], root)
    for i in range(len(path) + 1):
        yield f"hash added at {i}", (leaf, index, size, [*path[:i], garbage, *path[i:]], root)
        if path:
            copy = path[min(i, len(path) - 1)]
            yield f"copy added at {i}", (leaf, index, size, [*path[:i], copy, *path[i:]], root)
    for other in [*range(size), -1, -size, index - 64, size, size + 1]:
        if other != index:
            yield f"index {other}", (leaf, other, size, path, root)
    for other in {size - 1, size + 1, 2 * size, size // 2, size + 7, max(1, size - 9)}:
        if other != size and other >= 1:
            yield f"size {other} with its own root", (leaf, index, other, path, naive_root(other))
    # With the root kept, only sizes of another tree height must fail (as in the published
    # probes): the path of leaf 0 of 3 is also a valid-looking path of leaf 0 of 4.
    for other in {2 * size, size // 2}:
        yield f"size {other} with the root of {size}", (leaf, index, other, path, root)
    if size > 1 and index >= split_point(size):
        # The whole path, claimed for the leaf's place in the right subtree alone: the last
        # hash (the left subtree's) would then lift that subtree's root to the tree's.
        k = split_point(size)
        yield "claimed within the right subtree", (leaf, index - k, size - k, path, root)
    yield "another leaf", (LEAVES[(index + 1) % len(LEAVES)], index, size, path, root)
    yield "leaf bit flipped", (flip_bit(leaf, bits[0] if bits else 0), index, size, path, root)
    yield "root bit flipped", (leaf, index, size, path, flip_bit(root, bits[-1] if bits else 7))


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_inclusion_proofs_verify_and_no_tampered_one_does(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_N), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    grown = data.draw(st.integers(0, 40), label="leaves appended since")
    cuts = data.draw(st.lists(st.integers(0, 60), max_size=8), label="batches")
    store = store_of(LEAVES[: size + grown], cuts)
    tree = MerkleTree(store)

    path = tree.inclusion_proof(index, size)
    assert path == rfc_path(index, ENTRIES[:size])
    assert tree.root(size) == naive_root(size)
    bits = [data.draw(st.integers(0, 255), label=f"bit of path[{i}]") for i in range(len(path))]
    garbage = data.draw(st.binary(min_size=32, max_size=32), label="added hash")
    for name, verify in INCLUSION_VERIFIERS.items():
        assert verify(LEAVES[index], index, size, path, naive_root(size)), name
        for description, args in inclusion_tamperings(index, size, path, bits, garbage):
            assert not verify(*args), f"{name} verifier accepted: {description}"


def consistency_tamperings(
    first: int, second: int, proof: list[bytes], bits: list[int], garbage: bytes
) -> Iterator[tuple[str, tuple[int, int, list[bytes], bytes, bytes]]]:
    """Every way of changing one thing of a valid consistency claim."""
    root1, root2 = naive_root(first), naive_root(second)
    for i, bit in enumerate(bits):
        changed = [*proof[:i], flip_bit(proof[i], bit), *proof[i + 1 :]]
        yield f"bit {bit} of proof[{i}] flipped", (first, second, changed, root1, root2)
    for i in range(len(proof)):
        yield f"proof[{i}] dropped", (first, second, [*proof[:i], *proof[i + 1 :]], root1, root2)
    for i in range(len(proof) + 1):
        yield f"hash added at {i}", (first, second, [*proof[:i], garbage, *proof[i:]], root1, root2)
        for copy in {root1, root2, *proof[i : i + 1]}:
            yield f"copy added at {i}", (first, second, [*proof[:i], copy, *proof[i:]], root1, root2)
    if first > 0 or second == 0:  # the empty tree is consistent with every tree, whatever its root
        if first != second:
            yield "roots swapped", (first, second, proof, root2, root1)
        yield "first root changed", (first, second, proof, flip_bit(root1, bits[0] if bits else 3), root2)
        yield "second root changed", (first, second, proof, root1, flip_bit(root2, bits[-1] if bits else 5))
    if proof:  # an empty proof claims nothing about the sizes (m == 0 or m == n)
        for other in range(second + 1):
            if other != first:
                yield f"first {other} with its own root", (other, second, proof, naive_root(other), root2)
        for other in {first - 1, first + 1, first ^ 2, -1, -first, first - 64}:
            if other != first:
                yield f"first {other} with the root of {first}", (other, second, proof, root1, root2)
        for other in {second - 1, second + 1, 2 * second, second // 2, second + 5}:
            if other != second and other >= 0:
                yield f"second {other} with its own root", (first, other, proof, root1, naive_root(other))
        if first > split_point(second):
            # The proof claimed between the two right subtrees alone, the last hash (the left
            # subtree's, common to both trees) lifting their roots to the trees' roots.
            k = split_point(second)
            yield "claimed within the right subtrees", (first - k, second - k, proof, root1, root2)
        # With the root of ``second`` kept, only sizes of another tree height must fail (the
        # published probes): a hash does not say whether it is a leaf's or a node's, so the
        # proof from 1 to 3, [leaf 1, leaf 2], is also one from 1 to 4 with the same root.
        for other in {2 * second, second // 2}:
            yield f"second {other} with the root of {second}", (first, other, proof, root1, root2)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_consistency_proofs_verify_and_no_tampered_one_does(data: st.DataObject) -> None:
    second = data.draw(st.integers(0, MAX_N), label="second")
    first = data.draw(
        st.one_of(st.just(0), st.just(second), st.integers(0, second)) if second else st.just(0), label="first"
    )
    grown = data.draw(st.integers(0, 40), label="leaves appended since")
    cuts = data.draw(st.lists(st.integers(0, 60), max_size=8), label="batches")
    tree = MerkleTree(store_of(LEAVES[: second + grown], cuts))

    proof = tree.consistency_proof(first, second)
    assert proof == rfc_proof(first, ENTRIES[:second])
    if first in (0, second):
        assert proof == []
    bits = [data.draw(st.integers(0, 255), label=f"bit of proof[{i}]") for i in range(len(proof))]
    garbage = data.draw(st.binary(min_size=32, max_size=32), label="added hash")
    for name, verify in CONSISTENCY_VERIFIERS.items():
        assert verify(first, second, proof, naive_root(first), naive_root(second)), name
        for description, args in consistency_tamperings(first, second, proof, bits, garbage):
            assert not verify(*args), f"{name} verifier accepted: {description}"


def test_no_tampered_proof_of_a_small_tree_verifies() -> None:
    """The tamperings of the two property tests above, exhaustively for n <= 20."""
    tree = MerkleTree(full_store())
    for n in range(21):
        for index in range(n):
            path = tree.inclusion_proof(index, n)
            bits = [(37 * i + n) % 256 for i in range(len(path))]
            for description, args in inclusion_tamperings(index, n, path, bits, SOME_HASH):
                for name, verify in INCLUSION_VERIFIERS.items():
                    assert not verify(*args), f"{name} verifier accepted, for leaf {index} of {n}: {description}"
        for m in range(n + 1):
            proof = tree.consistency_proof(m, n)
            bits = [(53 * i + m) % 256 for i in range(len(proof))]
            for description, args in consistency_tamperings(m, n, proof, bits, SOME_HASH):
                for name, verify in CONSISTENCY_VERIFIERS.items():
                    assert not verify(*args), f"{name} verifier accepted, from {m} to {n}: {description}"


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 2 * MAX_N), data=st.data())
def test_the_tree_reads_few_nodes_and_none_beyond_the_tree_size(size: int, data: st.DataObject) -> None:
    """O(log n) stored hashes per root or proof, as application/merkle.py promises, and
    never a node covering a leaf at or beyond the tree size asked for."""
    store = full_store()
    tree = MerkleTree(store)

    def reads_of(call: Callable[[], object]) -> list[Node]:
        store.reads.clear()
        call()
        return list(store.reads)

    reads = reads_of(lambda: tree.root(size))
    # exactly the complete subtrees of the binary decomposition of size
    assert len(reads) == bin(size).count("1")
    assert all((index + 1) << level <= size for level, index in reads)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(0, size))
    for reads in (
        reads_of(lambda: tree.inclusion_proof(index, size)),
        reads_of(lambda: tree.consistency_proof(first, size)),
    ):
        assert len(reads) <= 2 * size.bit_length()
        assert all((i + 1) << level <= size for level, i in reads), reads


# =====================================================================================
# 3. RootBuilder, resumed from a stored frontier.
# =====================================================================================


@settings(max_examples=80, deadline=None)
@given(batch_sizes=st.lists(st.integers(0, 40), max_size=16))
def test_builders_resumed_in_any_batches_make_exactly_the_complete_subtrees(batch_sizes: list[int]) -> None:
    total = sum(batch_sizes)
    store = MemoryNodes()
    for batch in in_batches(LEAVES[:total], batch_sizes):
        start = store.size
        made = store.append(batch)
        # exactly the subtrees this batch completes: those whose last leaf is in it
        completed = {(lv, ix) for lv, ix in complete_subtrees(start + len(batch)) if (ix + 1) << lv > start}
        assert {(level, index) for level, index, _ in made} == completed
    assert set(store.hashes) == complete_subtrees(total)
    for (level, index), digest in store.hashes.items():
        assert digest == mth(ENTRIES[index << level : (index + 1) << level]), (level, index)

    one_by_one = store_of(LEAVES[:total], [1] * total)
    assert one_by_one.hashes == store.hashes
    tree, other = MerkleTree(store), MerkleTree(one_by_one)
    for size in range(total + 1):
        assert tree.root(size) == other.root(size) == naive_root(size)


def test_root_builder_matches_the_naive_mth_at_every_size() -> None:
    builder = RootBuilder()
    assert builder.root() == naive_root(0) == EMPTY_ROOT
    for size, leaf in enumerate(LEAVES, start=1):
        builder.add(leaf)
        assert builder.size == size
        assert builder.root() == naive_root(size), size
    for size in (0, 1, 2, 3, 64, 65, 257):
        assert root_of_leaves(LEAVES[:size]) == naive_root(size)


# =====================================================================================
# 4. The offline export verifier.
# =====================================================================================

ISSUED_AT = "2016-06-30T23:59:59.000000+00:00"
EXPORT_SIZE = 7


def event_documents(count: int) -> list[dict[str, Any]]:
    """Event documents shaped as docs/api.md describes them (with their leaf hashes)."""
    documents = []
    for position in range(count):
        document: dict[str, Any] = {
            "position": position,
            "aggregate_id": str(UUID(int=position % 3 + 1)),
            "aggregate_type": "commitment" if position % 3 else "partner",
            "version": position // 3 + 1,
            "type": "ProgressReported" if position else "PartnerRegistered",
            "recorded_at": f"2014-07-{position + 1:02d}T09:30:00.000000+00:00",
            "actor": {"id": str(UUID(int=99)), "role": "agency", "name": "Te Puni Kōkiri"},
            "request_id": f"req-{position:04d}",
            "data": {
                "summary": f"Kia Tūtahi, milestone {position} — “illustrative”",
                "completion": position / 8,
                "milestones": [{"due": "2016-06-30", "done": position % 2 == 0}],
                "note": None,
            },
        }
        document["leaf_hash"] = leaf_of(document).hex()
        documents.append(document)
    return documents


def line_of(document: dict[str, Any], *, reorder: bool = False) -> str:
    """One export line as ``tutahi audit export`` writes it (keys reversed on request:
    the leaf covers the canonical form, not the line's key order)."""
    if reorder:
        document = dict(reversed(list(document.items())))
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def public_key_document(signer: Ed25519Signer) -> dict[str, str]:
    return {"key_id": signer.key_id, "algorithm": "ed25519", "public_key": signer.public_key_b64()}


def signed_checkpoint(signer: Ed25519Signer, size: int, root_hex: str, issued_at: str = ISSUED_AT) -> dict[str, Any]:
    # The signed message as docs/api.md spells it, built here independently.
    message = f"tutahi-checkpoint\n{size}\n{root_hex}\n{issued_at}\n".encode()
    assert checkpoint_message(size, root_hex, issued_at) == message
    signature = base64.b64encode(signer.sign(message)).decode("ascii")
    return {
        "tree_size": size,
        "root_hash": root_hex,
        "issued_at": issued_at,
        "key_id": signer.key_id,
        "signature": signature,
    }


def export_root(documents: Sequence[dict[str, Any]]) -> str:
    return mth([canonical(document) for document in documents]).hex()


def run(lines: Sequence[str], checkpoint: dict[str, Any], signer: Ed25519Signer) -> ExportVerdict:
    return verify_export(iter(lines), checkpoint, public_key_document(signer), verify_signature)


@pytest.fixture
def export(signer: Ed25519Signer) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    documents = event_documents(EXPORT_SIZE)
    lines = [line_of(document, reorder=position % 2 == 1) for position, document in enumerate(documents)]
    return documents, lines, signed_checkpoint(signer, EXPORT_SIZE, export_root(documents))


def test_leaf_of_is_sha256_of_0x00_and_the_jcs_form() -> None:
    """For a document with ASCII keys and no floats, RFC 8785 is sorted keys, no spaces,
    UTF-8: an independent check of offline.leaf_of (which ignores ``leaf_hash``)."""
    document = {"position": 3, "type": "X", "data": {"b": [1, "ā"], "a": None}, "actor": {"role": "admin"}}
    jcs = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(document) == jcs
    assert leaf_of(document) == leaf_of({**document, "leaf_hash": "00"}) == rfc_hash(b"\x00" + jcs)


def test_a_good_export_verifies(signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]) -> None:
    documents, lines, checkpoint = export
    seen: list[int] = []
    verdict = verify_export(iter(lines), checkpoint, public_key_document(signer), verify_signature, seen.append)
    assert verdict.ok, verdict
    assert (verdict.checked, verdict.first_bad_position) == (EXPORT_SIZE, None)
    assert seen == list(range(1, EXPORT_SIZE + 1))
    # a checkpoint of an earlier size: the log has grown since, which is fine
    for size in range(EXPORT_SIZE + 1):
        verdict = run(lines, signed_checkpoint(signer, size, export_root(documents[:size])), signer)
        assert verdict.ok and verdict.checked == EXPORT_SIZE, (size, verdict)
    # an empty log and the empty tree's checkpoint; a trailing blank line
    assert run([], signed_checkpoint(signer, 0, EMPTY_ROOT.hex()), signer).ok
    assert run([*lines, "\n"], checkpoint, signer).ok


def bad(verdict: ExportVerdict, position: int | None) -> None:
    assert not verdict.ok, verdict
    assert verdict.first_bad_position == position, verdict


@pytest.mark.parametrize("k", range(EXPORT_SIZE))
def test_a_changed_field_is_found_at_its_line(
    k: int, signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    documents, lines, checkpoint = export
    for change in (
        {"data": {**documents[k]["data"], "completion": 1.0}},
        {"actor": {**documents[k]["actor"], "role": "admin"}},
        {"recorded_at": "2014-07-01T09:30:00.000001+00:00"},
        {"type": "CommitmentAmended"},
        {"version": documents[k]["version"] + 1},
    ):
        changed = [*lines[:k], line_of({**documents[k], **change}), *lines[k + 1 :]]
        bad(run(changed, checkpoint, signer), k)


@pytest.mark.parametrize("k", range(EXPORT_SIZE))
def test_a_missing_line_is_found_at_its_position(
    k: int, signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    _, lines, checkpoint = export
    verdict = run([*lines[:k], *lines[k + 1 :]], checkpoint, signer)
    bad(verdict, k)
    assert verdict.checked == k


@pytest.mark.parametrize("k", range(EXPORT_SIZE - 1))
def test_reordered_lines_are_found_at_the_first_out_of_place(
    k: int, signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    _, lines, checkpoint = export
    swapped = [*lines[:k], lines[k + 1], lines[k], *lines[k + 2 :]]
    bad(run(swapped, checkpoint, signer), k)
    bad(run([*lines[:k], *reversed(lines[k:])], checkpoint, signer), k)


@pytest.mark.parametrize("k", range(EXPORT_SIZE))
def test_a_wrong_leaf_hash_is_found_at_its_line(
    k: int, signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    documents, lines, checkpoint = export
    stated = documents[k]["leaf_hash"]
    for wrong in (flip_bit(bytes.fromhex(stated), 0).hex(), documents[(k + 1) % EXPORT_SIZE]["leaf_hash"], "zz"):
        changed = [*lines[:k], line_of({**documents[k], "leaf_hash": wrong}), *lines[k + 1 :]]
        bad(run(changed, checkpoint, signer), k)


@pytest.mark.parametrize("k", range(EXPORT_SIZE))
def test_an_unreadable_line_is_found_at_its_line(
    k: int, signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    documents, lines, checkpoint = export
    unreadable = {"position": k, "error": "unreadable stored event", "leaf_hash": documents[k]["leaf_hash"]}
    for line in ("{not json\n", "[1, 2]\n", line_of(unreadable), line_of({"position": k})):
        bad(run([*lines[:k], line, *lines[k + 1 :]], checkpoint, signer), k)


def test_a_rewritten_event_with_a_matching_leaf_hash_breaks_the_root(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    """An event changed together with its leaf hash passes the line checks: only the
    signed root can catch it (and no single position is to blame)."""
    documents, lines, checkpoint = export
    forged = {**documents[2], "data": {**documents[2]["data"], "summary": "rewritten"}}
    forged["leaf_hash"] = leaf_of(forged).hex()
    verdict = run([*lines[:2], line_of(forged), *lines[3:]], checkpoint, signer)
    bad(verdict, None)
    assert "root" in verdict.detail


def test_a_checkpoint_with_a_wrong_root_is_refused(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    documents, lines, _ = export
    for size in (1, 4, EXPORT_SIZE):
        for root in (
            flip_bit(bytes.fromhex(export_root(documents[:size])), 77).hex(),
            export_root(documents[: size - 1]),
        ):
            verdict = run(lines, signed_checkpoint(signer, size, root), signer)  # validly signed, wrong root
            bad(verdict, None)
            assert verdict.checked == size and "root" in verdict.detail


def test_a_size_zero_checkpoint_with_a_wrong_root_is_refused(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    """The empty tree has one root, SHA-256 of nothing, whatever the export holds after it."""
    _, lines, _ = export
    for events in ([], lines):
        verdict = run(events, signed_checkpoint(signer, 0, SOME_HASH.hex()), signer)
        bad(verdict, None)
        assert "empty tree" in verdict.detail


def test_a_wrong_signature_is_refused(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    documents, lines, checkpoint = export
    signature = base64.b64decode(checkpoint["signature"])
    other = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    forged_by_other = {**signed_checkpoint(other, EXPORT_SIZE, checkpoint["root_hash"]), "key_id": signer.key_id}
    earlier = signed_checkpoint(signer, 4, export_root(documents[:4]))
    for wrong in (
        {**checkpoint, "signature": base64.b64encode(flip_bit(signature, 5)).decode()},
        {**checkpoint, "signature": base64.b64encode(signature[:-1]).decode()},
        {**checkpoint, "signature": "not base64!"},
        forged_by_other,
        {**checkpoint, "issued_at": "2016-07-01T00:00:00.000000+00:00"},  # changed after signing
        {**earlier, "tree_size": EXPORT_SIZE, "root_hash": checkpoint["root_hash"]},  # another checkpoint's signature
    ):
        verdict = run(lines, wrong, signer)
        bad(verdict, None)
        assert "signature" in verdict.detail
        assert verdict.checked == 0


def test_a_checkpoint_from_a_different_key_id_is_refused(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    _, lines, checkpoint = export
    verdict = run(lines, {**checkpoint, "key_id": "0123456789abcdef"}, signer)
    bad(verdict, None)
    assert "key id" in verdict.detail
    # and the public key file of another key, whatever key id it claims
    other = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))
    bad(verify_export(iter(lines), checkpoint, public_key_document(other), verify_signature), None)
    spoofed = {**public_key_document(other), "key_id": signer.key_id}
    bad(verify_export(iter(lines), checkpoint, spoofed, verify_signature), None)


def test_an_export_shorter_than_the_checkpoint_is_refused_at_the_first_missing_position(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    _, lines, checkpoint = export
    for kept in range(EXPORT_SIZE):
        verdict = run(lines[:kept], checkpoint, signer)
        bad(verdict, kept)
        assert verdict.checked == kept


def test_a_blank_line_between_events_is_skipped(
    signer: Ed25519Signer, export: tuple[list[Any], list[str], dict[str, Any]]
) -> None:
    _, lines, checkpoint = export
    verdict = run([*lines[:3], "\n", *lines[3:]], checkpoint, signer)
    assert verdict.ok, verdict
