"""The one composition root: builds the application on the store a URL names."""

from __future__ import annotations

from application.audit import Auditor
from application.ledger import Ledger
from infrastructure.audit import SqlCheckpointStore
from infrastructure.idempotency import SqlIdempotencyStore
from infrastructure.keys import load_or_create_signer, verify_signature
from infrastructure.logstore import SqlLogStore
from infrastructure.readmodels import SqlReadModels
from infrastructure.store import check_durability, database_url, store_env
from infrastructure.upgrade import Progress, upgrade_store


def open_ledger(url: str | None = None, progress: Progress | None = None) -> Ledger:
    """The ledger on ``url`` (else ``TUTAHI_DATABASE_URL``, else ``tutahi.db``), with
    a store of an earlier release upgraded first, tables created and SQLite durability
    checked. ``progress(done, total)`` follows an upgrade, if one is needed."""
    url = database_url(url)
    upgrade_store(url, progress)
    ledger = Ledger(env=store_env(url), read_models=SqlReadModels, log=SqlLogStore, idempotency=SqlIdempotencyStore)
    check_durability(ledger.recorder)
    return ledger


def open_auditor(ledger: Ledger, instance: str | None = None) -> Auditor:
    """The auditor over the ledger's store, signing with the key in the instance folder
    (``TUTAHI_INSTANCE_PATH``, default ``instance/``), made at first start."""
    return Auditor(ledger, SqlCheckpointStore(ledger.recorder), load_or_create_signer(instance), verify_signature)
