"""The one composition root: builds the application on the store a URL names."""

from __future__ import annotations

from application.audit import Auditor
from application.ledger import Ledger
from application.transparency import TransparencyLog
from application.witnessing import Witnesses
from infrastructure.audit import SqlCheckpointStore
from infrastructure.idempotency import SqlIdempotencyStore
from infrastructure.keys import load_or_create_signer, verify_ed25519, verify_signature
from infrastructure.logstore import SqlLogStore
from infrastructure.readmodels import SqlReadModels
from infrastructure.store import check_durability, database_url, schema_guard, store_env
from infrastructure.transparency import SqlCosignatureStore, UrllibTransport, log_origin, witness_settings
from infrastructure.upgrade import Progress, upgrade_store


def open_ledger(url: str | None = None, progress: Progress | None = None) -> Ledger:
    """The ledger on ``url`` (else ``TUTAHI_DATABASE_URL``, else ``tutahi.db``), with
    a store of an earlier release upgraded first, tables created and SQLite durability
    checked. ``progress(done, total)`` follows an upgrade, if one is needed."""
    url = database_url(url)
    with schema_guard(url):  # processes starting at once make the tables in turn
        upgrade_store(url, progress)
        ledger = Ledger(env=store_env(url), read_models=SqlReadModels, log=SqlLogStore, idempotency=SqlIdempotencyStore)
    check_durability(ledger.recorder)
    return ledger


def open_auditor(ledger: Ledger, instance: str | None = None) -> Auditor:
    """The auditor over the ledger's store, signing with the key in the instance folder
    (``TUTAHI_INSTANCE_PATH``, default ``instance/``), made at first start."""
    return Auditor(ledger, SqlCheckpointStore(ledger.recorder), load_or_create_signer(instance), verify_signature)


def open_transparency(
    auditor: Auditor, origin: str | None = None, witnesses: str | None = None, deadline: float = 5.0
) -> TransparencyLog:
    """The log in the transparency ecosystem's formats, under ``origin`` (else
    ``TUTAHI_LOG_ORIGIN``, else ``localhost/tutahi``), asking the witnesses that the
    JSON ``witnesses`` names (else ``TUTAHI_WITNESSES``) to cosign each checkpoint the
    auditor makes, waiting for them at most ``deadline`` seconds."""
    configured = witness_settings(witnesses)
    pool = None
    if configured:
        store = SqlCosignatureStore(auditor.ledger.recorder)
        pool = Witnesses(configured, store, UrllibTransport(), verify_ed25519, deadline=deadline)
    transparency = TransparencyLog(auditor, log_origin(origin), pool)
    auditor.on_checkpoint = transparency.witness
    return transparency
