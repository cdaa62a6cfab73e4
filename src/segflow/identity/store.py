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
  later, its older rows must be found and re-keyed;
* ``person_ids(canonical_id, born_run, born_at)`` — every id that ever named a person and
  the run that first gave it, so a person keeps its id and the older of two merging
  people keeps theirs (:mod:`segflow.identity.ids`).

The tables are declared in :mod:`segflow.warehouse.tables`; the names here are aliases
of those, for the modules of this package and their callers. The person an id stands for
(the lookup over ``profile_map`` every other package uses) is :mod:`segflow.identity.persons`.

Re-keyed tables (events, orders, memberships, subscriptions, identities, tag_assignments,
segment_members) get ``_source_profile_id``: the source id a row was loaded with when it differs from its
``profile_id`` (NULL when they are equal; ``''`` for anonymous events attached through
their ``anonymous_id``). So the source of a row is ``coalesce(nullif(_source_profile_id,
''), profile_id)``, and rows loaded after the last resolve (``_load_id`` above the
watermark) carry their source id in ``profile_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segflow.identity.ids import ensure_person_ids
from segflow.warehouse import tables
from segflow.warehouse.base import quote_ident as q
from segflow.warehouse.tables import (
    ANON_LINKS,
    ANON_STATE,
    IDENTITY_INDEX,
    IDENTITY_META,
    ORPHANS,
    PERSON_IDS,
    PROFILE_MAP,
    SOURCE_PROFILES,
)

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = [
    "ANON",
    "ANON_STATE",
    "INDEX",
    "MAP",
    "META",
    "ORPHANS",
    "PERSON_IDS",
    "REKEYED",
    "SOURCES",
    "SOURCE_COL",
    "attribute_columns",
    "ensure_identity_tables",
    "max_load_id",
    "stamp",
    "watermark",
]

MAP = PROFILE_MAP
SOURCES = SOURCE_PROFILES
INDEX = IDENTITY_INDEX
ANON = ANON_LINKS
META = IDENTITY_META
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


def stamp(column: str) -> str:
    """The name of the stamp column of *column* in ``source_profiles``."""
    return f"_ts_{column}"


def attribute_columns(wh: Warehouse) -> dict[str, str]:
    """The attribute columns of ``profiles`` (all but ``profile_id`` and bookkeeping)."""
    return {c: t for c, t in wh.columns("profiles").items() if c != "profile_id" and not c.startswith("_")}


def ensure_identity_tables(wh: Warehouse) -> None:
    """Create the tables above and the re-keying columns (idempotent; never drops).

    A warehouse resolved before ``person_ids`` existed gets it built from ``profile_map``
    here, once (see :func:`segflow.identity.ids.ensure_person_ids`).
    """
    ensure_person_ids(wh)
    tables.ensure(wh, *tables.IDENTITY_TABLES)
    profile_cols = wh.columns("profiles")
    have = wh.columns(SOURCES)
    if not have:
        tables.create_like(wh, SOURCES, "profiles")
        have = wh.columns(SOURCES)
    missing: dict[str, str] = {}
    for col, type_ in profile_cols.items():
        if col not in have:
            missing[col] = type_
        if col != "profile_id" and not col.startswith("_") and stamp(col) not in have:
            missing[stamp(col)] = "BIGINT"
    if missing:
        tables.add_missing_columns(wh, SOURCES, missing)
    for table in REKEYED:
        cols = wh.columns(table)
        if cols and SOURCE_COL not in cols:
            tables.add_missing_columns(wh, table, {SOURCE_COL: "VARCHAR"})


def watermark(wh: Warehouse) -> int | None:
    """The highest load id the last resolve took in (None before the first resolve)."""
    value = wh.scalar(f"SELECT max(watermark) FROM {META}")
    return None if value is None else int(value)


def max_load_id(wh: Warehouse, above: int = 0) -> int:
    """The highest ``_load_id`` in any table resolution reads (*above* when none is higher).

    Only rows above *above* (the previous watermark) are read: the filter lets DuckDB skip
    every row group whose stored maximum is lower, so an incremental run does not scan
    the whole events table for one number.
    """
    wm = int(above)
    parts = [f"SELECT max(_load_id) AS m FROM {q(t)} WHERE _load_id > {wm}" for t, loaded in REKEYED.items() if loaded]
    parts.append(f"SELECT max(_load_id) AS m FROM profiles WHERE _load_id > {wm}")
    return int(wh.scalar(f"SELECT coalesce(max(m), {wm}) FROM ({' UNION ALL '.join(parts)})") or wm)
