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
from sqlalchemy import false as sa_false

__all__ = ["metadata", "attributes", "loads", "definitions", "schedules", "refresh_runs", "identity_runs", "identity_pins",
           "journey_states", "journey_runs", "journey_steps", "outbox", "inbox", "api_keys", "audit_log",
           "erasures", "erased_identifiers"]

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

# -- journeys (migration 0005; segflow.journeys.store documents each) --

#: One row per applied journey: its state (active, paused, stopped) and its entry cursor.
journey_states = Table(
    "journey_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journey", String(255), nullable=False),
    #: "active", "paused", "stopped" or "removed" (its file was deleted).
    Column("status", String(16), nullable=False),
    #: The applied version new runs take.
    Column("version", Integer, nullable=False),
    #: When entries count from (the definition's effective.from, else the apply or start time).
    Column("entries_from", DateTime(timezone=True), nullable=False),
    #: Entries are taken up to this time (exclusive watermark of the entry scan).
    Column("entry_cursor", DateTime(timezone=True)),
    #: The highest load id (events) or refresh run id (segment changes) the entry scan has taken in.
    Column("seq_cursor", BigInteger),
    #: The last identity resolution run whose merges this journey's runs were brought in line with.
    Column("identity_seen", BigInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("journey", name="uq_journey_states_journey"),
)

#: One profile's pass through one journey: (journey, profile, occurrence).
journey_runs = Table(
    "journey_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journey", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", String(255), nullable=False),
    Column("occurrence", Integer, nullable=False),
    #: What made this entry (a segment change's time, an event id, a date, a tick): one run per key.
    Column("entry_key", String(255), nullable=False),
    #: "waiting" (due at due_at), "queued" (over the journey's active limit), "done" or "exited".
    Column("status", String(16), nullable=False),
    Column("node", String(255), nullable=False),
    Column("due_at", DateTime(timezone=True)),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    #: When the run reached its current node (``within: node``).
    Column("node_at", DateTime(timezone=True), nullable=False),
    Column("holdout", Boolean, nullable=False, server_default=sa_false()),
    #: The arm of the last split passed ("" before any).
    Column("variant", String(255), nullable=False, server_default=""),
    Column("converted_at", DateTime(timezone=True)),
    #: "exit" (an exit node), "goal", "exit_when", "node_removed", "merged", "stopped", ...
    Column("exit_reason", String(32)),
    Column("finished_at", DateTime(timezone=True)),
    Column("lease_owner", String(128)),
    Column("lease_until", DateTime(timezone=True)),
    UniqueConstraint("journey", "profile_id", "occurrence", name="uq_journey_runs_occurrence"),
    UniqueConstraint("journey", "profile_id", "entry_key", name="uq_journey_runs_entry"),
)

Index("ix_journey_runs_due", journey_runs.c.status, journey_runs.c.due_at, journey_runs.c.id)
Index("ix_journey_runs_journey_node", journey_runs.c.journey, journey_runs.c.node)

#: Every node a run passed, with its time and outcome (the run's history; stats count these).
journey_steps = Table(
    "journey_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("journey", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("node", String(255), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    #: "entered", "passed", "queued" (an outbox row), "held_out", "converted", "exited", "migrated".
    Column("outcome", String(16), nullable=False),
    Column("detail", Text),
)

Index("ix_journey_steps_journey_node", journey_steps.c.journey, journey_steps.c.node)
Index("ix_journey_steps_run", journey_steps.c.run_id)

#: Every effect of a step: messages and webhooks that leave the system, and internal effects
#: (tag, attribute, static segment), each delivered at least once and idempotent by its key.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "journey:profile_id:occurrence:node": the idempotency key (Message-ID for email).
    Column("key", String(600), nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("journey", String(255), nullable=False),
    Column("node", String(255), nullable=False),
    Column("profile_id", String(255), nullable=False),
    #: "message", "webhook", "tag", "set" or "segment".
    Column("effect", String(16), nullable=False),
    #: The channel of a message ("" for other effects).
    Column("channel", String(64), nullable=False, server_default=""),
    #: The node's settings as JSON (template, topic, tag, values...), and after delivery what was sent.
    Column("payload", Text, nullable=False),
    #: "pending", "sent", "failed", "skipped" (with its reason) or "done" (an internal effect).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("provider_id", String(255)),
    Column("error", Text),
    Column("lease_owner", String(128)),
    Column("lease_until", DateTime(timezone=True)),
    UniqueConstraint("key", name="uq_outbox_key"),
)

Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at, outbox.c.id)
Index("ix_outbox_journey_node", outbox.c.journey, outbox.c.node)


#: Tracking calls accepted by the HTTP API (Segment-compatible), durable before the API answers
#: 200; the server moves them into the warehouse in micro-batches (flushed_at set then).
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: The call's messageId (one row per messageId: a repeated call is a duplicate, not a new row).
    Column("message_id", String(255), nullable=False),
    #: "identify", "track", "page", "screen", "group" or "alias".
    Column("type", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    #: The call's time, corrected for the sender's clock skew (from sentAt).
    Column("ts", DateTime(timezone=True), nullable=False),
    #: The normalised call as JSON.
    Column("body", Text, nullable=False),
    Column("key_id", Integer),
    Column("flushed_at", DateTime(timezone=True)),
    #: The warehouse load (``loads.id``) that took it in.
    Column("load_id", Integer),
    UniqueConstraint("message_id", name="uq_inbox_message"),
)

Index("ix_inbox_pending", inbox.c.flushed_at, inbox.c.id)

#: API keys: write keys (tracking) and secret keys with scopes (management). Only a hash is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: "write" or "secret".
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False, server_default=""),
    #: The key's first characters, shown in lists so people can tell keys apart.
    Column("prefix", String(32), nullable=False),
    #: SHA-256 of the key, hex.
    Column("hash", String(64), nullable=False),
    #: Space-separated scopes of a secret key ("" for a write key).
    Column("scopes", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: Set when the key was rotated: it keeps working until then.
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    #: The key this one replaced (rotation).
    Column("rotated_from", Integer),
    #: Requests per second this key may make (None: the server's default).
    Column("rate_limit", Float),
    UniqueConstraint("hash", name="uq_api_keys_hash"),
)

#: Who changed which definition, exported or erased what, and what happened to keys.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    #: "key:<id>" (the API, with the key's name in detail) or "cli" (a command on this machine).
    Column("actor", String(255), nullable=False),
    #: e.g. "definition.apply", "segment.export", "profile.erase", "key.create", "key.revoke".
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    #: JSON: what changed (names, versions, counts), never a person's data.
    Column("detail", Text),
    Column("key_id", Integer),
)

Index("ix_audit_log_at", audit_log.c.at)

#: One row per erasure of a person (GDPR Art. 17 / PIPL Art. 47): when, by whom, how many rows
#: of each table went (counts only).
erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    #: JSON: table → rows removed.
    Column("summary", Text),
)

#: The suppression record an erasure leaves: a keyed hash of each identifier of the erased person,
#: so later loads and tracking calls do not re-create them (until they come back with consent).
erased_identifiers = Table(
    "erased_identifiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("erasure_id", Integer, nullable=False),
    #: "profile_id", "email", "phone", "anonymous_id", ... (an identity type).
    Column("type", String(64), nullable=False),
    #: HMAC-SHA-256 of the normalised value under the project's secret, hex.
    Column("value_hash", String(64), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    #: Set when the person came back with consent (the record no longer suppresses).
    Column("lifted_at", DateTime(timezone=True)),
    Column("lifted_source", Text),
    UniqueConstraint("type", "value_hash", name="uq_erased_identifiers_value"),
)
