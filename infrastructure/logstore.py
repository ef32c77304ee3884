"""The stored log as auditors and exports read it: documents and leaves by position,
and the Merkle nodes above the leaves, written when first needed (``materialise_nodes``)
from the leaves stored with the events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from application.log import StoredDocument
from application.merkle import RootBuilder, frontier_of
from infrastructure.driver import DriverSql
from infrastructure.store import engine_of
from infrastructure.tables import merkle_nodes, metadata

NODE_CHUNK = 65_536  # leaves read at a time when catching the nodes up


def _bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, memoryview) else value


class SqlLogStore:
    """``application.log.LogStore`` on the event store's database."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.engine = engine_of(recorder)
        with self.engine.begin() as connection:
            metadata.create_all(connection, tables=[merkle_nodes], checkfirst=True)
        sql = self.sql = DriverSql(self.engine.dialect.name)
        self._size = sql("SELECT size FROM tutahi_log_head WHERE name = ?")
        self._page = sql(
            "SELECT position, document, leaf FROM tutahi_event_log WHERE position > ? ORDER BY position LIMIT ?"
        )
        self._aggregate = sql(
            "SELECT position, document, leaf FROM tutahi_event_log WHERE originator_id = ? ORDER BY originator_version"
        )
        self._last_version = sql("SELECT max(originator_version) FROM tutahi_event_log WHERE originator_id = ?")
        self._scan = sql(
            "SELECT position, document, leaf FROM tutahi_event_log "
            "WHERE position >= ? AND position < ? ORDER BY position"
        )
        self._scan_entries = sql(
            "SELECT position, originator_id, originator_version, document, leaf FROM tutahi_event_log "
            "WHERE position >= ? AND position < ? ORDER BY position"
        )
        self._leaves = sql("SELECT position, leaf FROM tutahi_event_log WHERE position >= ? AND position < ?")
        self._level = sql(
            'SELECT hash FROM tutahi_merkle_nodes WHERE level = ? AND "index" >= ? AND "index" < ? ORDER BY "index"'
        )
        self._add_node = sql(
            'INSERT INTO tutahi_merkle_nodes (level, "index", hash) VALUES (?, ?, ?) '
            'ON CONFLICT (level, "index") DO NOTHING'
        )
        self._nodes_size = sql("UPDATE tutahi_log_head SET size = ? WHERE name = 'nodes' AND size < ?")

    # -- documents ---------------------------------------------------------------------

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Rows of one read, as the driver's tuples, in the open transaction if there is
        one (read straight from the driver's cursor: whole-log reads fetch millions)."""
        with self.recorder.transaction(commit=False) as session:
            cursor = session.connection().connection.cursor()
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def size(self) -> int:
        return int(self._rows(self._size, ("events",))[0][0])

    def nodes_size(self) -> int:
        return int(self._rows(self._size, ("nodes",))[0][0])

    def documents(self, after: int | None, limit: int) -> list[StoredDocument]:
        rows = self._rows(self._page, (-1 if after is None else after, limit))
        return [StoredDocument(row[0], _bytes(row[1]), _bytes(row[2])) for row in rows]

    def aggregate_documents(self, aggregate_id: UUID) -> list[StoredDocument]:
        rows = self._rows(self._aggregate, (self.sql.uuid(aggregate_id),))
        return [StoredDocument(row[0], _bytes(row[1]), _bytes(row[2])) for row in rows]

    def last_version(self, aggregate_id: UUID) -> int:
        rows = self._rows(self._last_version, (self.sql.uuid(aggregate_id),))
        return int(rows[0][0] or 0)

    def scan(self, batch: int = 4096, size: int | None = None) -> Iterator[Sequence[tuple[int, bytes, bytes]]]:
        """The whole log up to ``size`` (default: its size now) in position order, in
        batches of ``(position, document, leaf)``, each read in a short read of its own
        (the log only grows, so the batches are one consistent log)."""
        return self._batches(self._scan, batch, size)

    def scan_entries(
        self, batch: int = 4096, size: int | None = None
    ) -> Iterator[Sequence[tuple[int, Any, int, bytes, bytes]]]:
        """As ``scan``, with the event store's index of each entry: ``(position,
        originator id as stored, originator version, document, leaf)``."""
        return self._batches(self._scan_entries, batch, size)

    def _batches(self, sql: str, batch: int, size: int | None) -> Iterator[list[Any]]:
        end = self.size() if size is None else size
        start = 0
        while start < end:
            stop = min(start + batch, end)
            rows = self._rows(sql, (start, stop))
            yield rows
            if not rows:
                return
            start = stop

    # -- Merkle nodes ------------------------------------------------------------------

    def leaves(self, first: int, last: int) -> dict[int, bytes]:
        """The leaves at positions ``first`` to ``last - 1`` that are stored."""
        return {row[0]: _bytes(row[1]) for row in self._rows(self._leaves, (first, last))}

    def stored_nodes(self, level: int, first: int, last: int) -> list[bytes]:
        """The stored nodes of ``level`` (>= 1) with indexes ``first`` to ``last - 1``."""
        return [_bytes(row[0]) for row in self._rows(self._level, (level, first, last))]

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Many nodes at once (a proof or root needs O(log n) of them): leaves from the
        log, the rest from the node table, in one query each."""
        found: dict[tuple[int, int], bytes] = {}
        leaves = [index for level, index in wanted if level == 0]
        higher = [(level, index) for level, index in wanted if level > 0]
        with self.recorder.transaction(commit=False) as session:
            connection = session.connection()
            if leaves:
                marks = ", ".join("?" for _ in leaves)
                rows = connection.exec_driver_sql(
                    self.sql(f"SELECT position, leaf FROM tutahi_event_log WHERE position IN ({marks})"), tuple(leaves)
                )
                found.update({(0, row[0]): _bytes(row[1]) for row in rows})
            if higher:
                # One OR term per node: both stores answer each from the primary key.
                terms = " OR ".join('(level = ? AND "index" = ?)' for _ in higher)
                params = tuple(value for node in higher for value in node)
                rows = connection.exec_driver_sql(
                    self.sql(f'SELECT level, "index", hash FROM tutahi_merkle_nodes WHERE {terms}'), params
                )
                found.update({(row[0], row[1]): _bytes(row[2]) for row in rows})
        return found

    def materialise_nodes(self, size: int) -> None:
        """Stores every complete subtree within the first ``size`` leaves that is not
        stored yet, from the stored leaves, in one transaction (a no-op when they are)."""
        if self.nodes_size() >= size:
            return
        with self.recorder.transaction(commit=True) as session:
            connection = session.connection()
            if self.sql.postgres:  # one catch-up at a time; appends go on (another row)
                connection.exec_driver_sql("SELECT size FROM tutahi_log_head WHERE name = 'nodes' FOR UPDATE")
            done = int(connection.exec_driver_sql(self._size, ("nodes",)).scalar_one())
            if done >= size:
                return
            known = self.nodes(frontier_of(done))
            builder = RootBuilder(done, [known[node] for node in frontier_of(done)])
            for first in range(done, size, NODE_CHUNK):
                last = min(first + NODE_CHUNK, size)
                rows = connection.exec_driver_sql(self._leaves, (first, last)).fetchall()
                leaves = {row[0]: _bytes(row[1]) for row in rows}
                made = []
                for position in range(first, last):
                    made.extend(builder.add(leaves[position]))
                if made:
                    connection.exec_driver_sql(self._add_node, made)
            connection.exec_driver_sql(self._nodes_size, (size, size))
