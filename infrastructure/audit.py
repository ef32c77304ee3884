"""Stored checkpoints: every signed checkpoint the service has issued, one per size."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from application.audit import Checkpoint
from infrastructure.tables import checkpoints, metadata


class SqlCheckpointStore:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[checkpoints], checkfirst=True)

    @staticmethod
    def _checkpoint(row: Any) -> Checkpoint:
        return Checkpoint(row.tree_size, row.root_hash, row.issued_at, row.key_id, row.signature)

    def at_size(self, tree_size: int) -> Checkpoint | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(checkpoints).where(checkpoints.c.tree_size == tree_size)).first()
        return self._checkpoint(row) if row else None

    def latest(self) -> Checkpoint | None:
        query = select(checkpoints).order_by(checkpoints.c.tree_size.desc()).limit(1)
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(query).first()
        return self._checkpoint(row) if row else None

    def add(self, checkpoint: Checkpoint) -> Checkpoint:
        """Stores the checkpoint; if another process stored one at this size first,
        that one is the checkpoint at this size."""
        try:
            with self.recorder.transaction(commit=True) as session:
                session.execute(checkpoints.insert().values(**checkpoint.document()))
        except (IntegrityError, StoreIntegrityError):
            pass  # the transaction converts the driver's error to the library's
        stored = self.at_size(checkpoint.tree_size)
        assert stored is not None
        return stored

    def history(self, limit: int, before: int | None) -> list[Checkpoint]:
        query = select(checkpoints).order_by(checkpoints.c.tree_size.desc()).limit(limit)
        if before is not None:
            query = query.where(checkpoints.c.tree_size < before)
        with self.recorder.transaction(commit=False) as session:
            return [self._checkpoint(row) for row in session.execute(query)]
