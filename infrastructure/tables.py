"""SQLAlchemy tables beside the event store: the log index (dense positions) and the
read models. Instants are stored as integer microseconds since the epoch (UTC), so
SQLite and PostgreSQL keep them exactly and sort them alike."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, LargeBinary, MetaData, String, Table, Text, Uuid

metadata = MetaData()

# The log index is part of the log, not a read model: a rebuild keeps it.
log_entries = Table(
    "tutahi_log",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("notification_id", BigInteger, nullable=False, unique=True),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_type", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Index("tutahi_log_aggregate_version", "aggregate_id", "version", unique=True),
    Index("tutahi_log_aggregate_recorded", "aggregate_id", "recorded_us"),
)

# Hashes of complete subtrees of the log's Merkle tree: (level, index) covers the
# 2**level leaves from index * 2**level. Written with the events; part of the log.
merkle_nodes = Table(
    "tutahi_merkle_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "tutahi_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("issued_at", String(40), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)

partners = Table(
    "rm_partners",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("external_ref", Text),
    Column("registered_us", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False, unique=True),
    Column("search_text", Text, nullable=False),
)

commitment_summaries = Table(
    "rm_commitments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("action_plan", Text, nullable=False),
    Column("external_ref", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("visibility", String(20), nullable=False),
    Column("completion", String(20)),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("milestones_total", Integer, nullable=False),
    Column("milestones_reached", Integer, nullable=False),
    Column("lead_names", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("created_position", BigInteger, nullable=False, unique=True),
    Column("updated_position", BigInteger, nullable=False),
    Column("search_text", Text, nullable=False),
    Index("rm_commitments_plan", "action_plan", "created_position"),
    Index("rm_commitments_status", "status", "created_position"),
)

memberships = Table(
    "rm_memberships",
    metadata,
    Column("commitment_id", Uuid, primary_key=True),
    Column("partner_id", Uuid, primary_key=True),
    Column("role", String(20), nullable=False),
    Index("rm_memberships_partner", "partner_id", "commitment_id"),
)

timeline_entries = Table(
    "rm_timeline",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("commitment_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("occurred_on", Date),
    Column("kind", String(40), nullable=False),
    Column("actor_id", Uuid, nullable=False),
    Column("actor_name", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Index("rm_timeline_commitment", "commitment_id", "position"),
)

# Each timeline entry once per partner of its commitment (its partners now, as the
# partner timeline shows them), so that a page of a partner's timeline is one range of
# this primary key however many events are stored (joining the memberships instead
# sorted every entry of every commitment the partner belongs to).
partner_timeline = Table(
    "rm_partner_timeline",
    metadata,
    Column("partner_id", Uuid, primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("commitment_id", Uuid, nullable=False),
    Index("rm_partner_timeline_commitment", "commitment_id", "partner_id"),
)

READ_MODEL_TABLES = (partners, commitment_summaries, memberships, timeline_entries, partner_timeline)
