"""The state store's tables (SQLAlchemy Core). Changes go through an Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

__all__ = ["metadata", "attributes", "loads", "definitions", "schedules", "refresh_runs", "identity_runs", "identity_pins"]

metadata = MetaData()

#: The schema registry: declared and inferred attribute types per kind.
attributes = Table(
    "attributes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    #: "declared" (schema.yaml or the API) or "inferred" (first load of the column).
    Column("origin", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "name", name="uq_attributes_kind_name"),
)

#: One row per file load: what came in and what happened to it.
loads = Table(
    "loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    #: "running", "ok" or "failed".
    Column("status", String(16), nullable=False),
    Column("rows", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("inserted", BigInteger, nullable=False, server_default="0"),
    Column("updated", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
    Column("duplicates", BigInteger, nullable=False, server_default="0"),
    Column("rejects_file", Text),
    Column("error", Text),
)

Index("ix_loads_kind_started", loads.c.kind, loads.c.started_at)

# -- identity resolution (migration 0002) --

#: One row per ``segflow resolve``: full or incremental, what it touched, how long it took.
identity_runs = Table(
    "identity_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "full", "incremental", "undo" or "unpin".
    Column("mode", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    #: "running", "ok" or "failed".
    Column("status", String(16), nullable=False),
    #: The highest load id whose rows this run took in.
    Column("watermark", BigInteger),
    Column("sources", BigInteger),
    Column("persons", BigInteger),
    Column("touched", BigInteger),
    Column("remapped", BigInteger),
    Column("junk", BigInteger),
    Column("seconds", Float),
    Column("error", Text),
)

#: Source profiles pinned apart by ``segflow resolve --undo-merge``: never merged again.
identity_pins = Table(
    "identity_pins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(255), nullable=False),
    #: "isolate": the record is its own person whatever identifiers it shares.
    Column("kind", String(16), nullable=False),
    Column("canonical_before", String(255)),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_id", name="uq_identity_pins_source_id"),
)

# -- definitions as code, schedules and refresh runs (segments and tags; migration 0003) --

#: Every applied version of a definition (segment, tag, trait) from the project folder.
definitions = Table(
    "definitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "segment", "tag" or "trait".
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    #: SHA-256 of the canonical JSON body: equal fingerprints, same definition.
    Column("fingerprint", String(64), nullable=False),
    #: The definition as canonical JSON.
    Column("body", Text, nullable=False),
    Column("file", Text),
    #: "active", or "removed" (the file was deleted; a tombstone version).
    Column("status", String(16), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "name", "version", name="uq_definitions_kind_name_version"),
)

#: One row per scheduled definition: when it is next due and who holds its lease.
schedules = Table(
    "schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("cron", String(128), nullable=False),
    Column("timezone", String(64), nullable=False),
    #: Upstream definitions ("kind:name", JSON list): not claimed while one of them is due or running.
    Column("depends_on", Text, nullable=False, server_default="[]"),
    #: Position in dependency order (0 = no scheduled upstream); lower ranks are claimed first.
    Column("rank", Integer, nullable=False, server_default="0"),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("next_run_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_run_at", DateTime(timezone=True)),
    Column("last_status", String(16)),
    UniqueConstraint("kind", "name", name="uq_schedules_kind_name"),
)

Index("ix_schedules_next_run_at", schedules.c.next_run_at)

#: The run history of every definition kind (segment, tag, trait; later model, journey): one row per
#: refresh (and per static add/remove), what it did or why it failed (segflow.definitions.runs).
refresh_runs = Table(
    "refresh_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "segment", "tag", "trait", ... (a registered definition kind).
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("version", Integer),
    #: "manual", "schedule", "apply", "add", "remove", "delete".
    Column("trigger", String(16), nullable=False),
    Column("worker", String(128)),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    #: "running", "ok", "failed" or "skipped".
    Column("status", String(16), nullable=False),
    Column("members", BigInteger),
    Column("entered", BigInteger),
    Column("exited", BigInteger),
    Column("seconds", Float),
    Column("error", Text),
)

Index("ix_refresh_runs_kind_name", refresh_runs.c.kind, refresh_runs.c.name, refresh_runs.c.id)
