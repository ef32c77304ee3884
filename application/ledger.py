"""The Tūtahi application: every use case of the API (``application.commands``), the
queries auditors and partners read (``application.queries``), and the read models'
rebuild from the log. One eventsourcing ``Application``; its core is
``application.core``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.commands import LedgerCommands
from application.core import Change, CommandResult, latest_world_day
from application.errors import LogIntegrityError
from application.logformat import leaf_hash, read_event
from application.queries import LedgerQueries, viewer_of


class Ledger(LedgerCommands, LedgerQueries):
    """Commitments and partners, their histories, and the read models over them."""

    name = "Tutahi"

    def rebuild_read_models(self, progress: Callable[[int], None] | None = None) -> int:
        """Drops every read model and projects the whole log again, in log order, in
        one transaction (a failed rebuild leaves the old read models in place)."""
        count = 0
        with self.transaction() as tx:
            self.read_models.clear_read_models(tx)
            states: dict[UUID, Any] = {}
            for batch in self.event_log.scan():
                rows = []
                spans: dict[UUID, list[int]] = {}
                for position, document, leaf in batch:
                    if leaf_hash(document) != leaf:
                        raise LogIntegrityError(position, "the stored event does not match its leaf hash")
                    event = read_event(document)
                    aggregate = event.mutate(states.get(event.originator_id))
                    states[event.originator_id] = aggregate
                    rows.append(self.projector.project_event(tx, position, event, aggregate))
                    spans.setdefault(event.originator_id, [position, position])[1] = position
                    count += 1
                self.projector.write(tx, rows, spans, states)
                if progress is not None:
                    progress(count)
        return count


__all__ = ["Change", "CommandResult", "Ledger", "latest_world_day", "viewer_of"]
