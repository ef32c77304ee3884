"""SQLAlchemy tables: the log (event documents, their leaves and the Merkle nodes above
them), checkpoints, and the read models built from the log. Instants are stored as
integer microseconds since the epoch (UTC), so SQLite and PostgreSQL keep them exactly
and sort them alike."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, LargeBinary, MetaData, String, Table, Text, Uuid

metadata = MetaData()

# The log: every event once, as the bytes of its document (its Merkle leaf's pre-image),
# at its position (dense, from 0; the event store's notification id is position + 1),
# with the leaf hash written beside it in the same transaction. ``originator_id``,
# ``originator_version`` and ``topic`` index the documents for the event store; the
# domain reads every fact from ``document`` and checks the index agrees with it.
# (SQLite: ``INTEGER PRIMARY KEY`` makes the position the row id, so the log is stored
# in position order.)
event_log = Table(
    "tutahi_event_log",
    metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("originator_id", Uuid, nullable=False),
    Column("originator_version", Integer, nullable=False),
    Column("topic", Text, nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("leaf", LargeBinary(32), nullable=False),
    Index("tutahi_event_log_aggregate", "originator_id", "originator_version", unique=True),
)

# How far the log reaches: the row ``events`` holds its size (the next position;
# advancing it is what serialises appends), the row ``nodes`` how far the stored Merkle
# nodes reach (every complete subtree within the first ``size`` leaves is stored).
log_head = Table(
    "tutahi_log_head",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("size", BigInteger, nullable=False),
)

# Hashes of complete subtrees of the log's Merkle tree above the leaves: (level, index)
# covers the 2**level leaves from index * 2**level (level >= 1; the leaves are in
# ``tutahi_event_log``). Derived from the leaves, stored so that roots, proofs and tiles
# read O(log n) of them; written when first needed after the events they cover.
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

# Witnesses' cosignatures of checkpoints (C2SP tlog-cosignature), as the note signature
# lines they answered with, by tree size and witness (its verifier key).
cosignatures = Table(
    "tutahi_cosignatures",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", Text, primary_key=True),
    Column("line", Text, nullable=False),
    Index("tutahi_cosignatures_witness", "witness", "tree_size"),
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
    Column("assessed_completion", String(20)),
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
    Column("name", Text, nullable=False),  # the partner's name now (renames reach it)
    Column("name_key", Text, nullable=False),  # the name folded for search
    Index("rm_memberships_partner", "partner_id", "commitment_id"),
)

timeline_entries = Table(
    "rm_timeline",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("commitment_id", Uuid, nullable=False),
    Column("aggregate_id", Uuid, nullable=False),  # the commitment, or one of its joint actions
    Column("version", Integer, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("occurred_on", Date),
    Column("kind", String(40), nullable=False),
    Column("actor_id", Uuid, nullable=False),
    Column("actor_name", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Index("rm_timeline_commitment", "commitment_id", "position"),
    Index("rm_timeline_recorded", "aggregate_id", "recorded_us"),  # a commitment's version as at an instant
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

# Joint actions as they are and were: each action once, with its withdrawal if any, and
# each response; a commitment's actions as at any instant are the rows recorded by then.
actions = Table(
    "rm_actions",
    metadata,
    Column("action_id", Uuid, primary_key=True),
    Column("commitment_id", Uuid, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_by", Uuid, nullable=False),
    Column("partner_ids", Text, nullable=False),  # JSON list of ids
    Column("evidence_url", Text),
    Column("withdrawn_us", BigInteger),
    Column("withdrawal_reason", Text),
    Index("rm_actions_commitment", "commitment_id", "position"),
)

action_responses = Table(
    "rm_action_responses",
    metadata,
    Column("action_id", Uuid, primary_key=True),
    Column("partner_id", Uuid, primary_key=True),
    Column("commitment_id", Uuid, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("response", String(20), nullable=False),
    Column("note", Text),
    Index("rm_action_responses_commitment", "commitment_id", "position"),
)

# Action plans as they are now, and every name each answers to (its name and its former
# ones; ``name_key`` folds them as searches do, for the check that no two plans share one).
plans = Table(
    "rm_plans",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_position", BigInteger, nullable=False, unique=True),
)

plan_names = Table(
    "rm_plan_names",
    metadata,
    Column("name", Text, primary_key=True),
    Column("name_key", Text, nullable=False, index=True),
    Column("plan_id", Uuid, nullable=False, index=True),
)

# The version of the read models' tables: older ones are dropped and rebuilt from the log.
read_model_schema = Table(
    "rm_schema",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

READ_MODEL_TABLES = (
    partners,
    commitment_summaries,
    memberships,
    timeline_entries,
    partner_timeline,
    actions,
    action_responses,
    plans,
    plan_names,
)
