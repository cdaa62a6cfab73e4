"""Every table segflow keeps in the warehouse, declared in one place.

The kind tables (``profiles``, ``events``, ...) follow the schema registry
(:mod:`segflow.schema.kinds` plus declared and inferred attributes); the others are
segflow's own bookkeeping, each created on first use by :func:`ensure` with the
column list below. Domain packages name the tables through the constants here and
never write ``CREATE TABLE`` / ``ALTER TABLE`` themselves (temporary scratch tables
aside: :meth:`Warehouse.temp_table`). The column lists are written in DuckDB's type
names; an adapter for another engine maps them.

Who writes what:

=====================  ==========================================================
table                  written by
=====================  ==========================================================
tag_assignments        tags (refresh, assign)
tag_refreshes          tags (one row per refresh of each tag)
segment_members        segments (membership)
segment_history        segments (entered / exited events)
lifecycle_history      models (lifecycle: one row per stage change)
lifecycle_days         models (lifecycle: one row per evaluated day)
traits, trait_state    traits (refresh)
profile_map ...        identity (resolve): see :mod:`segflow.identity.store`
person_ids             identity (resolve): when each canonical id was first given
=====================  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = [
    "ANON_LINKS",
    "ANON_STATE",
    "IDENTITY_INDEX",
    "IDENTITY_META",
    "IDENTITY_TABLES",
    "JUNK",
    "LIFECYCLE_DAYS",
    "LIFECYCLE_HISTORY",
    "LOAD_ID",
    "ORPHANS",
    "PERSON_IDS",
    "PROFILE_MAP",
    "SEGMENT_HISTORY",
    "SEGMENT_MEMBERS",
    "SOURCE_PROFILES",
    "SYSTEM_TABLES",
    "TABLES",
    "TAG_ASSIGNMENTS",
    "TAG_REFRESHES",
    "TRAITS",
    "TRAIT_STATE",
    "add_missing_columns",
    "drop_columns",
    "create_like",
    "ensure",
    "rename_table",
    "replace_table",
    "set_not_null",
]

#: Bookkeeping column on every kind table: the id of the load (state store `loads`) that wrote the row.
LOAD_ID = "_load_id"

TAG_ASSIGNMENTS = "tag_assignments"
TAG_REFRESHES = "tag_refreshes"
SEGMENT_MEMBERS = "segment_members"
SEGMENT_HISTORY = "segment_history"
TRAITS = "traits"
TRAIT_STATE = "trait_state"
LIFECYCLE_HISTORY = "lifecycle_history"
LIFECYCLE_DAYS = "lifecycle_days"
# identity resolution (segflow.identity.store documents each)
PROFILE_MAP = "profile_map"
SOURCE_PROFILES = "source_profiles"
IDENTITY_INDEX = "identity_index"
ANON_LINKS = "anonymous_links"
ANON_STATE = "anonymous_attached"
IDENTITY_META = "identity_meta"
ORPHANS = "identity_orphans"
JUNK = "identity_junk"
PERSON_IDS = "person_ids"

#: Table name → column list.
TABLES: dict[str, str] = {
    TAG_ASSIGNMENTS: "profile_id VARCHAR NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, source VARCHAR, "
    "assigned_at TIMESTAMPTZ, expires_at TIMESTAMPTZ",
    TAG_REFRESHES: "name VARCHAR NOT NULL, source VARCHAR NOT NULL, fingerprint VARCHAR, as_of TIMESTAMPTZ NOT NULL, "
    "refreshed_at TIMESTAMPTZ NOT NULL, seconds DOUBLE, members BIGINT, added BIGINT, removed BIGINT, "
    "changed BIGINT, expired BIGINT, unknown BIGINT, error VARCHAR",
    SEGMENT_MEMBERS: "segment VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, entered_at TIMESTAMPTZ",
    SEGMENT_HISTORY: "segment VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, change VARCHAR NOT NULL, "
    "changed_at TIMESTAMPTZ NOT NULL, run_id BIGINT",
    TRAITS: "profile_id VARCHAR NOT NULL",
    TRAIT_STATE: "name VARCHAR NOT NULL, kind VARCHAR NOT NULL, type VARCHAR NOT NULL, file VARCHAR, "
    "fingerprint VARCHAR, as_of TIMESTAMPTZ NOT NULL, refreshed_at TIMESTAMPTZ NOT NULL, seconds DOUBLE, "
    "non_null BIGINT",
    # segflow.models.lifecycle: a profile's stage on a day is its latest row on or before that day
    LIFECYCLE_HISTORY: "profile_id VARCHAR NOT NULL, stage VARCHAR, previous_stage VARCHAR, day DATE NOT NULL, "
    "as_of TIMESTAMPTZ NOT NULL, recorded_at TIMESTAMPTZ",
    LIFECYCLE_DAYS: "day DATE NOT NULL, as_of TIMESTAMPTZ NOT NULL, fingerprint VARCHAR, profiles BIGINT, "
    "changes BIGINT, recorded_at TIMESTAMPTZ",
    PROFILE_MAP: "source_id VARCHAR NOT NULL, canonical_id VARCHAR NOT NULL, resolved_at TIMESTAMPTZ, run_id BIGINT",
    IDENTITY_INDEX: "source_id VARCHAR NOT NULL, type VARCHAR NOT NULL, value VARCHAR, raw VARCHAR, origin VARCHAR, "
    "status VARCHAR NOT NULL",
    ANON_LINKS: "anonymous_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL, via VARCHAR NOT NULL",
    ANON_STATE: "anonymous_id VARCHAR NOT NULL, canonical_id VARCHAR NOT NULL",
    IDENTITY_META: "watermark BIGINT NOT NULL, run_id BIGINT, resolved_at TIMESTAMPTZ, settings VARCHAR",
    ORPHANS: "source_id VARCHAR NOT NULL",
    JUNK: "type VARCHAR NOT NULL, value VARCHAR NOT NULL, sources BIGINT NOT NULL",
    # One row per id that ever named a person: the run that first gave it (never rewritten).
    PERSON_IDS: "canonical_id VARCHAR NOT NULL, born_run BIGINT, born_at TIMESTAMPTZ",
}

#: The tables every warehouse has from the start (rules read them like any other).
SYSTEM_TABLES = (TAG_ASSIGNMENTS, SEGMENT_MEMBERS, TRAITS)
#: The identity resolution tables created before its first run.
IDENTITY_TABLES = (PROFILE_MAP, IDENTITY_INDEX, ANON_LINKS, IDENTITY_META, ORPHANS)


def ensure(wh: Warehouse, *names: str) -> None:
    """Create each of the tables *names* (keys of :data:`TABLES`) when missing."""
    for name in names:
        wh.execute(f"CREATE TABLE IF NOT EXISTS {name} ({TABLES[name]})")


def create_like(wh: Warehouse, table: str, like: str) -> None:
    """Create *table* empty with the columns of the table *like* when missing."""
    wh.execute(f"CREATE TABLE IF NOT EXISTS {q(table)} AS SELECT * FROM {q(like)} LIMIT 0")


def add_missing_columns(wh: Warehouse, table: str, columns: dict[str, str]) -> list[str]:
    """Add each of *columns* (name → engine type) *table* lacks; return the names added."""
    have = wh.columns(table)
    added = [name for name in columns if name not in have]
    for name in added:
        wh.execute(f"ALTER TABLE {q(table)} ADD COLUMN IF NOT EXISTS {q(name)} {columns[name]}")
    return added


def drop_columns(wh: Warehouse, table: str, columns: list[str]) -> None:
    """Drop each of *columns* from *table* (inside the caller's transaction)."""
    for name in columns:
        wh.execute(f"ALTER TABLE {q(table)} DROP COLUMN {q(name)}")


def replace_table(wh: Warehouse, table: str, select_sql: str) -> None:
    """Replace *table* with the rows of *select_sql* (inside the caller's transaction)."""
    wh.execute(f"CREATE OR REPLACE TABLE {q(table)} AS {select_sql}")


def set_not_null(wh: Warehouse, table: str, column: str) -> None:
    wh.execute(f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} SET NOT NULL")


def rename_table(wh: Warehouse, table: str, new_name: str) -> None:
    wh.execute(f"ALTER TABLE {q(table)} RENAME TO {q(new_name)}")
