"""Tiles and entry bundles as C2SP tlog-tiles defines them, over an in-memory log of the
spec's own example size (70,000 entries): which tiles exist, and that every hash in a
tile is the Merkle Tree Hash of the range the spec's formula names, computed here from
the leaves by RFC 9162's recursion, independently of the service's tree code."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.errors import LogIntegrityError
from application.log import StoredDocument
from application.merkle import RootBuilder
from application.tiles import EntryTooLarge, NoSuchTile, Tile, TileReader, index_path, parse_tile_path, split_bundle

SIZE = 70_000


def document(position: int, padding: int = 0) -> bytes:
    return b'{"data":"%s","position":%d,"recorded_at":"2015-06-30T00:00:00.000000Z"}' % (b"x" * padding, position)


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


class MemoryLog:
    """The parts of ``application.log.LogStore`` that tiles read, in memory."""

    def __init__(self, documents: Sequence[bytes]) -> None:
        self.docs = list(documents)
        self.leaf_hashes = [leaf(d) for d in self.docs]
        self.tree: dict[tuple[int, int], bytes] = {}
        builder = RootBuilder()
        for h in self.leaf_hashes:
            for level, index, digest in builder.add(h):
                self.tree[(level, index)] = digest
        self.materialised: list[int] = []

    def size(self) -> int:
        return len(self.docs)

    def leaves(self, first: int, last: int) -> dict[int, bytes]:
        return {i: self.leaf_hashes[i] for i in range(first, min(last, len(self.docs)))}

    def materialise_nodes(self, size: int) -> None:
        self.materialised.append(size)

    def stored_nodes(self, level: int, first: int, last: int) -> list[bytes]:
        return [self.tree[(level, i)] for i in range(first, last) if (level, i) in self.tree]

    def documents(self, after: int | None, limit: int) -> list[StoredDocument]:
        start = 0 if after is None else after + 1
        return [
            StoredDocument(i, self.docs[i], self.leaf_hashes[i])
            for i in range(start, min(start + limit, len(self.docs)))
        ]


@pytest.fixture(scope="module")
def log() -> MemoryLog:
    return MemoryLog([document(i) for i in range(SIZE)])


def mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.1, by its recursion."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def expected_tile(log: MemoryLog, level: int, n: int, width: int) -> list[bytes]:
    """The spec: hash i of tile n at level l is MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l])."""
    span = 256**level

    @cache
    def hashed(i: int) -> bytes:
        return mth(log.leaf_hashes[(n * 256 + i) * span : (n * 256 + i + 1) * span])

    return [hashed(i) for i in range(width)]


def hashes(data: bytes) -> list[bytes]:
    assert len(data) % 32 == 0
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def test_the_specs_example_tree_of_70000_has_exactly_the_tiles_it_lists(log: MemoryLog) -> None:
    """ "A tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    17, and one partial level 2 tile of width 1."""
    reader = TileReader(log)
    served = {
        "0/272": 256,
        "0/273.p/112": 112,
        "1/000": 256,
        "1/001.p/17": 17,
        "2/000.p/1": 1,
        "entries/273.p/112": None,
    }
    for path, width in served.items():
        tile = parse_tile_path(path)
        data = reader.entries(tile) if tile.bundle else reader.hashes(tile)
        if width is not None:
            assert len(data) == 32 * width, path
    for path in ("0/273", "0/273.p/113", "1/001", "1/001.p/18", "2/000.p/2", "2/000", "3/000.p/1", "entries/274"):
        tile = parse_tile_path(path)
        with pytest.raises(NoSuchTile):
            reader.entries(tile) if tile.bundle else reader.hashes(tile)


@pytest.mark.parametrize(
    ("path", "level", "n", "width"),
    [
        ("0/000", 0, 0, 256),
        ("0/273.p/112", 0, 273, 112),
        ("1/000", 1, 0, 256),
        ("1/001.p/17", 1, 1, 17),
        ("2/000.p/1", 2, 0, 1),
    ],
)
def test_every_hash_is_the_merkle_tree_hash_of_the_specs_range(
    log: MemoryLog, path: str, level: int, n: int, width: int
) -> None:
    served = hashes(TileReader(log).hashes(parse_tile_path(path)))
    assert served == expected_tile(log, level, n, width)
    if level:
        assert log.materialised[-1] == (n * 256 + width) * 256**level, "the nodes it reads are written first"


def test_a_partial_tile_is_the_start_of_the_full_tile_that_replaces_it(log: MemoryLog) -> None:
    reader = TileReader(log)
    full = reader.hashes(parse_tile_path("0/005"))
    assert reader.hashes(parse_tile_path("0/005.p/7")) == full[: 7 * 32]


def test_an_entry_bundle_holds_each_leafs_pre_image_length_prefixed(log: MemoryLog) -> None:
    reader = TileReader(log)
    bundle = reader.entries(parse_tile_path("entries/272"))
    entries = split_bundle(bundle)
    assert entries == [document(i) for i in range(272 * 256, 273 * 256)]
    assert bundle[:2] == len(entries[0]).to_bytes(2, "big")
    assert [leaf(e) for e in entries] == hashes(reader.hashes(parse_tile_path("0/272")))
    partial = split_bundle(reader.entries(parse_tile_path("entries/273.p/112")))
    assert [leaf(e) for e in partial] == hashes(reader.hashes(parse_tile_path("0/273.p/112")))


def test_a_stored_entry_that_does_not_match_its_leaf_is_reported_not_served() -> None:
    log = MemoryLog([document(i) for i in range(300)])
    log.docs[3] = document(3).replace(b"2015", b"2016")
    with pytest.raises(LogIntegrityError) as raised:
        TileReader(log).entries(parse_tile_path("entries/000"))
    assert raised.value.position == 3


def test_an_entry_too_long_for_a_uint16_length_is_refused_plainly() -> None:
    log = MemoryLog([document(0), document(1, padding=70_000)])
    with pytest.raises(EntryTooLarge):
        TileReader(log).entries(parse_tile_path("entries/000.p/2"))
    assert len(TileReader(log).entries(parse_tile_path("entries/000.p/1"))) == 2 + len(document(0))


def test_tile_indexes_are_written_in_three_digit_elements() -> None:
    assert index_path(1234067) == "x001/x234/067"
    assert index_path(5) == "005"
    assert index_path(1000) == "x001/000"
    assert parse_tile_path("3/x001/x234/067.p/9") == Tile(3, 1234067, 9)
    assert parse_tile_path("entries/x001/000") == Tile(-1, 1000)


@given(st.integers(-1, 63), st.integers(0, 10**15), st.integers(1, 256))
def test_a_tiles_path_names_it_and_only_it(level: int, index: int, width: int) -> None:
    tile = Tile(level, index, width)
    assert parse_tile_path(tile.path()) == tile


@pytest.mark.parametrize(
    "path",
    [
        "0/x000/001",  # a superfluous element
        "0/01",
        "0/1",
        "00/001",
        "0/001.p/256",
        "0/001.p/0",
        "0/001.p/07",
        "64/000",
        "0/1234",
        "0/x001",
        "0/001/x002",
        "data/000",
        "entries",
        "-1/000",
        "0/001.p",
        "0/" + "x001/" * 80 + "000",
    ],
)
def test_any_other_spelling_is_no_tile(path: str) -> None:
    with pytest.raises(NoSuchTile):
        parse_tile_path(path)
