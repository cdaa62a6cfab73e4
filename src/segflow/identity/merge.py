"""Canonical profile rows from their source rows, by the documented merge policy.

Per attribute of a person (all source rows mapped to one canonical id):

* ``created_at``: the earliest;
* list attributes: the union of the sources' lists (distinct, sorted);
* every other attribute: the most recent non-empty value — the value whose stamp (the
  load that last set it in its source row) is highest; among values set by the same
  load, the one from the most recently created source; then the greatest source id.

``source_profiles`` keeps every source row as loaded, so the policy can be re-applied
whenever a person's set of sources changes (a bridge, an undo) and the attribute's
provenance can be shown (:func:`provenance_sql`).

Between a load and the next resolve, ``profiles`` holds what the loader wrote: a new
source row as itself, or a canonical row updated in place (for a survivor id). The
absorb step (:func:`absorb_profiles`) turns those rows back into source rows: a value
counts as set by the load when it differs from what the profile showed before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segflow.identity.store import MAP, SOURCES, attribute_columns, stamp
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["absorb_profiles", "merge_sql", "provenance_sql", "rebuild_profiles"]


def _order(column: str) -> str:
    return f"(coalesce(s.{q(stamp(column))}, -1), coalesce(s.created_at, '-infinity'::TIMESTAMPTZ), s.profile_id)"


def _non_empty(column: str, type_: str) -> str:
    col = f"s.{q(column)}"
    if type_.upper() == "VARCHAR":
        return f"{col} IS NOT NULL AND trim({col}) <> ''"
    if type_.upper().endswith("[]"):
        return f"{col} IS NOT NULL AND len({col}) > 0"
    return f"{col} IS NOT NULL"


def _aggregate(column: str, type_: str) -> str:
    col = f"s.{q(column)}"
    if column == "created_at":
        return f"min({col})"
    if type_.upper().endswith("[]"):
        return f"CASE WHEN count({col}) > 0 THEN list_sort(list_distinct(flatten(list({col}) FILTER (WHERE {col} IS NOT NULL)))) END"
    return f"arg_max({col}, {_order(column)}) FILTER (WHERE {_non_empty(column, type_)})"


def merge_sql(wh: Warehouse, canonical_filter: str | None = None) -> str:
    """``SELECT profile_id (canonical), <attributes>, _load_id`` merged per person.

    *canonical_filter* is a SQL relation with a ``canonical_id`` column restricting the
    persons merged (default: all).
    """
    attrs = attribute_columns(wh)
    cols = [f"{_aggregate(c, t)} AS {q(c)}" for c, t in attrs.items()]
    where = f"WHERE m.canonical_id IN (SELECT canonical_id FROM {canonical_filter})" if canonical_filter else ""
    return (
        f"SELECT m.canonical_id AS profile_id, {', '.join(cols + ['max(s._load_id) AS _load_id'])} "
        f"FROM {SOURCES} s JOIN {MAP} m ON m.source_id = s.profile_id {where} GROUP BY m.canonical_id"
    )


def provenance_sql(wh: Warehouse) -> str:
    """For one person (``?`` = canonical id): per attribute, the source id its value came from."""
    attrs = attribute_columns(wh)
    cols = []
    for c, t in attrs.items():
        if c == "created_at":
            cols.append(f"arg_min(s.profile_id, s.created_at) FILTER (WHERE s.created_at IS NOT NULL) AS {q(c)}")
        elif t.upper().endswith("[]"):
            cols.append(f"string_agg(DISTINCT s.profile_id, ', ' ORDER BY s.profile_id) FILTER (WHERE {_non_empty(c, t)}) AS {q(c)}")
        else:
            cols.append(f"arg_max(s.profile_id, {_order(c)}) FILTER (WHERE {_non_empty(c, t)}) AS {q(c)}")
    return f"SELECT {', '.join(cols)} FROM {SOURCES} s JOIN {MAP} m ON m.source_id = s.profile_id WHERE m.canonical_id = ?"


def absorb_profiles(wh: Warehouse, watermark: int) -> int:
    """Move profile rows loaded since *watermark* into ``source_profiles``; return how many.

    The rows are removed from ``profiles``; :func:`rebuild_profiles` writes the
    canonical rows of their persons afterwards.
    """
    dirty = "_idr_dirty_profiles"
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {dirty} AS SELECT * FROM profiles WHERE _load_id > {int(watermark)}")
    n = int(wh.execute(f"SELECT count(*) FROM {dirty}").fetchall()[0][0])
    if n == 0:
        wh.execute(f"DROP TABLE {dirty}")
        return 0
    attrs = attribute_columns(wh)
    # What the profile showed before the load: the merged row for a canonical id (the
    # loader updated it in place), the stored source row for any other id.
    canon = "_idr_dirty_canonical"
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {canon} AS SELECT DISTINCT canonical_id FROM {MAP} "
        f"WHERE canonical_id IN (SELECT profile_id FROM {dirty})"
    )
    ref = (
        f"SELECT * FROM ({merge_sql(wh, canon)}) UNION ALL BY NAME "
        f"SELECT * FROM {SOURCES} WHERE profile_id IN (SELECT profile_id FROM {dirty}) "
        f"AND profile_id NOT IN (SELECT canonical_id FROM {canon})"
    )
    cols = ["d.profile_id AS profile_id", "d._load_id AS _load_id"]
    for c in attrs:
        changed = f"d.{q(c)} IS NOT NULL AND d.{q(c)} IS DISTINCT FROM r.{q(c)}"
        cols.append(f"CASE WHEN {changed} THEN d.{q(c)} ELSE s.{q(c)} END AS {q(c)}")
        cols.append(f"CASE WHEN {changed} THEN d._load_id ELSE s.{q(stamp(c))} END AS {q(stamp(c))}")
    new_rows = (
        f"SELECT {', '.join(cols)} FROM {dirty} d LEFT JOIN ({ref}) r ON r.profile_id = d.profile_id "
        f"LEFT JOIN {SOURCES} s ON s.profile_id = d.profile_id"
    )
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_absorbed AS {new_rows}")
    wh.execute(f"DELETE FROM {SOURCES} WHERE profile_id IN (SELECT profile_id FROM {dirty})")
    wh.execute(f"INSERT INTO {SOURCES} BY NAME SELECT * FROM _idr_absorbed")
    wh.execute(f"DELETE FROM profiles WHERE _load_id > {int(watermark)}")
    for table in (dirty, canon, "_idr_absorbed"):
        wh.execute(f"DROP TABLE IF EXISTS {table}")
    return n


def rebuild_profiles(wh: Warehouse, affected: str | None) -> None:
    """Rewrite the ``profiles`` rows of persons in table *affected* (``canonical_id``;
    None: every person).

    Old canonical ids that no longer name a person lose their row; every person with at
    least one source profile row gets its merged row.
    """
    if affected is None:
        wh.execute("DELETE FROM profiles")
    else:
        wh.execute(f"DELETE FROM profiles WHERE profile_id IN (SELECT canonical_id FROM {affected})")
    wh.execute(f"INSERT INTO profiles BY NAME {merge_sql(wh, affected)}")
