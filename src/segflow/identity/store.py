"""The warehouse tables identity resolution keeps, and the columns it adds.

* ``profile_map(source_id, canonical_id, resolved_at, run_id)`` — every source profile id
  and the canonical id of its person (a person's canonical id is one of its source ids);
* ``source_profiles`` — the profile rows as loaded (one per source id, never merged), with
  ``_ts_<column>``: the load id that last set each value (the merge policy's "most recent");
* ``identity_index(source_id, type, value, raw, origin, status)`` — every identifier of
  every source, normalised, with ``status`` ok / placeholder / malformed / ignored;
* ``anonymous_links(anonymous_id, source_id, via)`` — anonymous ids tied to a known source
  by an ``identities`` row or by an event that carries both ids;
* ``anonymous_attached(anonymous_id, canonical_id)`` — the person each attached anonymous
  id's events carry now (ids linked to no one or to several people have no row), so a
  run only moves the events of ids whose person changed;
* ``identity_meta(watermark, run_id, resolved_at, settings)`` — the highest load id taken
  in, and a fingerprint of the ``identity:`` settings (a change forces a full run);
* ``identity_orphans(source_id)`` — ids that rows were loaded with but no profile or
  identity row has yet (an order of a rejected profile row): if such an id joins a person
  later, its older rows must be found and re-keyed.

Re-keyed tables (events, orders, memberships, subscriptions, identities, tag_assignments,
segment_members) get ``_source_profile_id``: the source id a row was loaded with when it differs from its
``profile_id`` (NULL when they are equal; ``''`` for anonymous events attached through
their ``anonymous_id``). So the source of a row is ``coalesce(nullif(_source_profile_id,
''), profile_id)``, and rows loaded after the last resolve (``_load_id`` above the
watermark) carry their source id in ``profile_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ANON",
    "ANON_STATE",
    "INDEX",
    "MAP",
    "META",
    "ORPHANS",
    "REKEYED",
    "SOURCES",
    "SOURCE_COL",
    "attribute_columns",
    "ensure_identity_tables",
    "max_load_id",
    "scalar",
    "stamp",
    "watermark",
]

MAP = "profile_map"
SOURCES = "source_profiles"
INDEX = "identity_index"
ANON = "anonymous_links"
ANON_STATE = "anonymous_attached"
META = "identity_meta"
ORPHANS = "identity_orphans"
SOURCE_COL = "_source_profile_id"
#: Tables whose ``profile_id`` follows the canonical id, and whether the loader writes them.
REKEYED = {
    "identities": True,
    "events": True,
    "orders": True,
    "memberships": True,
    "subscriptions": True,
    "tag_assignments": False,
    "segment_members": False,
}

_DDL = {
    MAP: "source_id VARCHAR NOT NULL, canonical_id VARCHAR NOT NULL, resolved_at TIMESTAMPTZ, run_id BIGINT",
    INDEX: "source_id VARCHAR NOT NULL, type VARCHAR NOT NULL, value VARCHAR, raw VARCHAR, origin VARCHAR, "
    "status VARCHAR NOT NULL",
    ANON: "anonymous_id VARCHAR NOT NULL, source_id VARCHAR NOT NULL, via VARCHAR NOT NULL",
    META: "watermark BIGINT NOT NULL, run_id BIGINT, resolved_at TIMESTAMPTZ, settings VARCHAR",
    ORPHANS: "source_id VARCHAR NOT NULL",
}


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first value of the first row (``fetchall``: never leave a result half read)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def resolved_for(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether identity resolution has run and re-keys *table*: ``profile_map`` exists and
    *table* has the record column (:data:`SOURCE_COL`). Then an id given by a user may be a
    merged record's, standing for its person."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND "
        "((table_name = ? AND column_name = 'source_id') OR (table_name = ? AND column_name = ?))",
        [MAP, table, SOURCE_COL]).fetchall()
    return int(found[0][0]) == 2


def stamp(column: str) -> str:
    """The name of the stamp column of *column* in ``source_profiles``."""
    return f"_ts_{column}"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    # duckdb_columns() rather than information_schema.columns: half the cost, and a run
    # asks a few dozen times.
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return {name: type_ for name, type_ in rows}


def attribute_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The attribute columns of ``profiles`` (all but ``profile_id`` and bookkeeping)."""
    return {c: t for c, t in _columns(con, "profiles").items() if c != "profile_id" and not c.startswith("_")}


def ensure_identity_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables above and the re-keying columns (idempotent; never drops)."""
    for name, ddl in _DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
    profile_cols = _columns(con, "profiles")
    have = _columns(con, SOURCES)
    if not have:
        con.execute(f"CREATE TABLE {SOURCES} AS SELECT * FROM profiles LIMIT 0")
        have = _columns(con, SOURCES)
    for col, type_ in profile_cols.items():
        if col not in have:
            con.execute(f"ALTER TABLE {SOURCES} ADD COLUMN {q(col)} {type_}")
        if col != "profile_id" and not col.startswith("_") and stamp(col) not in have:
            con.execute(f"ALTER TABLE {SOURCES} ADD COLUMN {q(stamp(col))} BIGINT")
    for table in REKEYED:
        cols = _columns(con, table)
        if cols and SOURCE_COL not in cols:
            con.execute(f"ALTER TABLE {q(table)} ADD COLUMN {SOURCE_COL} VARCHAR")


def watermark(con: duckdb.DuckDBPyConnection) -> int | None:
    """The highest load id the last resolve took in (None before the first resolve)."""
    value = scalar(con, f"SELECT max(watermark) FROM {META}")
    return None if value is None else int(value)


def max_load_id(con: duckdb.DuckDBPyConnection, above: int = 0) -> int:
    """The highest ``_load_id`` in any table resolution reads (*above* when none is higher).

    Only rows above *above* (the previous watermark) are read: the filter lets DuckDB skip
    every row group whose stored maximum is lower, so an incremental run does not scan
    the whole events table for one number.
    """
    wm = int(above)
    parts = [f"SELECT max(_load_id) AS m FROM {q(t)} WHERE _load_id > {wm}" for t, loaded in REKEYED.items() if loaded]
    parts.append(f"SELECT max(_load_id) AS m FROM profiles WHERE _load_id > {wm}")
    return int(scalar(con, f"SELECT coalesce(max(m), {wm}) FROM ({' UNION ALL '.join(parts)})") or wm)
