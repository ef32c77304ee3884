"""The log's Merkle tree as C2SP *tlog-tiles* (tile height 8), read from what is stored:
level-0 tiles are the leaves stored with the events, tiles of level ``L >= 1`` the stored
Merkle nodes of tree level ``8 L``, and entry bundles the leaves' pre-images (each
event's stored document bytes) framed as the spec frames them.

A tile at level ``L`` with index ``N`` and width ``W`` (256 when full) holds the hashes
of the ``W`` complete subtrees of ``256**L`` leaves that start at leaf
``(N * 256 + i) * 256**L``; it exists once the log reaches leaf
``(N * 256 + W) * 256**L``, and never changes after that. Reading one costs one range
read of a primary key, however long the log.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from application.errors import ApplicationError, LogIntegrityError, NotFound
from application.log import LogStore
from application.logformat import MAX_DOCUMENT_BYTES

HEIGHT = 8
FULL = 1 << HEIGHT  # hashes in a full tile, entries in a full bundle
MAX_LEVEL = 63
ENTRY_MAX = MAX_DOCUMENT_BYTES  # entries are framed with a big-endian uint16 length

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ELEMENT = re.compile(r"x?[0-9]{3}")


class NoSuchTile(NotFound):
    """A tile path that is malformed, or names a tile the log does not reach yet."""

    code = "no-such-tile"


class EntryTooLarge(ApplicationError):
    """A stored entry longer than an entry bundle can frame (65,535 bytes): the log
    refuses such events when they are recorded, so only a store written before that
    rule can hold one."""

    code = "entry-too-large"


@dataclass(frozen=True)
class Tile:
    """A tile (``level >= 0``) or an entry bundle (``level == -1``) of ``width`` hashes
    or entries."""

    level: int
    index: int
    width: int = FULL

    @property
    def bundle(self) -> bool:
        return self.level < 0

    @property
    def full(self) -> bool:
        return self.width == FULL

    @property
    def span(self) -> int:
        """Leaves under each of the tile's hashes."""
        return 1 << (HEIGHT * max(self.level, 0))

    @property
    def first(self) -> int:
        """The index of its first hash (or entry) within its tree level."""
        return self.index * FULL

    @property
    def end(self) -> int:
        """The tree size from which the tile exists."""
        return (self.first + self.width) * self.span

    def path(self) -> str:
        """``<L>/<N>[.p/<W>]``, or ``entries/<N>[.p/<W>]`` for a bundle."""
        level = "entries" if self.bundle else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"{level}/{index_path(self.index)}{suffix}"


def index_path(index: int) -> str:
    """A tile index as zero-padded 3-digit path elements, all but the last with ``x``
    (1234067 is ``x001/x234/067``)."""
    elements = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        elements.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(elements))


def parse_tile_path(path: str) -> Tile:
    """The tile ``<L>/<N>[.p/<W>]`` or bundle ``entries/<N>[.p/<W>]`` names, in its one
    canonical spelling (no leading zeroes, no superfluous ``x000`` elements)."""
    if len(path) > 200:
        raise NoSuchTile("no such tile: the path is too long")
    parts = path.split("/")
    width = FULL
    if len(parts) >= 3 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= FULL:
            raise NoSuchTile(f"no such tile: {path}")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    if len(parts) < 2:
        raise NoSuchTile(f"no such tile: {path}")
    head, elements = parts[0], parts[1:]
    if head == "entries":
        level = -1
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise NoSuchTile(f"no such tile: {path}")
    if not all(_ELEMENT.fullmatch(e) and e.startswith("x") == (i < len(elements) - 1) for i, e in enumerate(elements)):
        raise NoSuchTile(f"no such tile: {path}")
    index = 0
    for element in elements:
        index = index * 1000 + int(element.lstrip("x"))
    tile = Tile(level, index, width)
    if tile.path() != path:
        raise NoSuchTile(f"no such tile: {path} (its canonical path is {tile.path()})")
    return tile


class TileReader:
    """Tiles and entry bundles of the stored log."""

    def __init__(self, log: LogStore) -> None:
        self.log = log

    def _check_reached(self, tile: Tile) -> None:
        size = self.log.size()
        if tile.end > size:
            raise NoSuchTile(f"the log has {size} entries; tile {tile.path()} needs {tile.end}")

    def hashes(self, tile: Tile) -> bytes:
        """The tile's hashes, concatenated (32 bytes each)."""
        assert not tile.bundle
        self._check_reached(tile)
        first, last = tile.first, tile.first + tile.width
        if tile.level == 0:
            leaves = self.log.leaves(first, last)
            found = [leaves.get(position) for position in range(first, last)]
        else:
            self.log.materialise_nodes(tile.end)
            found = list(self.log.stored_nodes(HEIGHT * tile.level, first, last))
        if len(found) != tile.width or any(h is None or len(h) != 32 for h in found):
            missing = next((first + i for i, h in enumerate(found) if h is None), first + len(found))
            raise LogIntegrityError(missing * tile.span, f"tile {tile.path()} cannot be read from the stored tree")
        return b"".join(h for h in found if h is not None)

    def entries(self, tile: Tile) -> bytes:
        """The bundle's entries, each the stored bytes its leaf hashes, each preceded by
        its length as a big-endian uint16. Each is checked against its leaf first: a
        store edited behind the service's back is reported, not served."""
        assert tile.bundle
        self._check_reached(tile)
        documents = self.log.documents(tile.first - 1, tile.width)
        framed = []
        for offset, stored in enumerate(documents):
            if stored.position != tile.first + offset:
                raise LogIntegrityError(tile.first + offset, "an entry is missing from the log")
            document = stored.checked().document
            if len(document) > ENTRY_MAX:
                raise EntryTooLarge(
                    f"the entry at position {stored.position} has {len(document)} bytes; an entry bundle frames "
                    f"at most {ENTRY_MAX} (read it from GET /api/v1/events instead)"
                )
            framed.append(struct.pack(">H", len(document)) + document)
        if len(documents) != tile.width:
            raise LogIntegrityError(tile.first + len(documents), "an entry is missing from the log")
        return b"".join(framed)


def split_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle (what a client does with one)."""
    entries = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("a bundle ends inside an entry's length")
        (length,) = struct.unpack_from(">H", data, at)
        if at + 2 + length > len(data):
            raise ValueError("a bundle ends inside an entry")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries
