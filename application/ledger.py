"""The Tūtahi application: every use case of the API (``application.commands``), imports
of an agency's spreadsheet (``application.imports``), the queries auditors and partners
read (``application.queries``). One eventsourcing ``Application``; its core (the unit of
work, loading, the read models' rebuild) is ``application.core``."""

from __future__ import annotations

from application.core import Change, CommandResult, latest_world_day
from application.imports import LedgerImports
from application.plans import LedgerPlans
from application.queries import LedgerQueries, viewer_of


class Ledger(LedgerImports, LedgerPlans, LedgerQueries):
    """Commitments, their joint actions and partners, the action plans they belong to,
    their histories, imports, and the read models over them."""

    name = "Tutahi"


__all__ = ["Change", "CommandResult", "Ledger", "latest_world_day", "viewer_of"]
