"""Merging staged rows into a kind's table, by the kind's merge policy.

* in-file repeats of a key collapse first (insert-only: the first wins; replace: the
  last wins, or the one with the latest time for kinds with a ``latest`` column;
  coalesce: per column the last non-empty value wins);
* then against the table: insert-only skips known keys; replace overwrites the columns
  the file has (an older row of a ``latest`` kind changes nothing); coalesce updates
  changed columns and keeps stored values where the new cell is empty. Columns the
  file does not have are never touched.

A row that changes nothing (a repeat in the file, or a key already stored with the
same content) is a *duplicate*; so loading the same file twice gives 0 inserted and
0 updated the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segflow.ingest.cleaning import KEY_HASH
from segflow.schema.kinds import Kind, Merge
from segflow.warehouse.base import quote_ident as q
from segflow.warehouse.tables import LOAD_ID

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["MergeCounts", "merge_staged"]


@dataclass
class MergeCounts:
    good: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0


def merge_staged(
    wh: Warehouse,
    kind: Kind,
    columns: list[str],
    staged: str,
    load_id: int,
    *,
    fill: dict[str, str] | None = None,
) -> MergeCounts:
    """Merge the good rows of *staged* (columns *columns*) into the table of *kind*.

    *fill* maps columns to SQL values used where both the new cell and the stored value
    are missing (coalesce kinds; other kinds get their fill rules while staging).
    """
    fill = fill or {}
    table = q(kind.name)
    key = list(kind.key)
    keys_sql = ", ".join(q(k) for k in key)
    cols_sql = ", ".join(q(c) for c in columns)
    counts = MergeCounts()
    counts.good = wh.count(f"SELECT count(*) FROM {staged} WHERE _reason IS NULL")
    if counts.good == 0:
        return counts

    # Collapse repeats of a key inside the file. A 64-bit hash of the key finds the
    # few candidate rows cheaply; only those are grouped by the exact key, so a big file
    # with a handful of repeats costs one hash aggregate, not a sort of every row.
    good = f"SELECT * FROM {staged} WHERE _reason IS NULL"
    key_hash = KEY_HASH  # hash(key), computed while staging
    repeats, collapsed, incoming = f"_repeats_{load_id}", f"_collapsed_{load_id}", f"_incoming_{load_id}"
    wh.execute(
        f"CREATE TEMP TABLE {repeats} AS SELECT h FROM (SELECT {key_hash} AS h FROM {staged} "
        f"WHERE _reason IS NULL) GROUP BY h HAVING count(*) > 1"
    )
    if wh.count(f"SELECT count(*) FROM {repeats}") == 0:
        wh.execute(f"CREATE TEMP VIEW {incoming} AS SELECT {cols_sql} FROM ({good})")
        distinct = counts.good
    else:
        candidates = f"SELECT *, rowid AS _ord FROM {staged} WHERE _reason IS NULL AND {key_hash} IN (SELECT h FROM {repeats})"
        if kind.merge is Merge.COALESCE:
            aggs = ", ".join(
                f"arg_max({q(c)}, _ord) FILTER (WHERE {q(c)} IS NOT NULL) AS {q(c)}" for c in columns if c not in key
            )
            body = f"SELECT {keys_sql}{', ' + aggs if aggs else ''} FROM ({candidates}) GROUP BY {keys_sql}"
        else:
            order = "_ord" if kind.merge is Merge.INSERT_ONLY else "_ord DESC"
            if kind.latest:
                # The row with the latest time wins; a row without a time counts as newest.
                order = f"{q(kind.latest)} DESC NULLS FIRST, {order}"
            body = (
                f"SELECT {cols_sql} FROM ({candidates}) "
                f"QUALIFY row_number() OVER (PARTITION BY {keys_sql} ORDER BY {order}) = 1"
            )
        wh.execute(f"CREATE TEMP TABLE {collapsed} AS {body}")
        n_candidates = wh.count(f"SELECT count(*) FROM ({candidates})")
        distinct = counts.good - n_candidates + wh.count(f"SELECT count(*) FROM {collapsed}")
        wh.execute(
            f"CREATE TEMP VIEW {incoming} AS SELECT {cols_sql} FROM ({good}) "
            f"WHERE {key_hash} NOT IN (SELECT h FROM {repeats}) "
            f"UNION ALL SELECT {cols_sql} FROM {collapsed}"
        )
    counts.duplicates = counts.good - distinct

    join = " AND ".join(f"t.{q(k)} = i.{q(k)}" for k in key)
    table_empty = wh.count(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)") == 0
    inserted_values = ", ".join(f"coalesce(i.{q(c)}, {fill[c]})" if c in fill else f"i.{q(c)}" for c in columns)
    insert_new = f"INSERT INTO {table} ({cols_sql}, {LOAD_ID}) SELECT {inserted_values}, {load_id} FROM {incoming} i"
    if not table_empty:
        insert_new += f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {join})"

    values = [c for c in columns if c not in key]
    if table_empty or kind.merge is Merge.INSERT_ONLY or not values:
        counts.inserted = wh.count(insert_new)
    else:
        # Only the columns the file has are written; others keep their stored values.
        if kind.merge is Merge.REPLACE:
            new_value = {c: f"i.{q(c)}" for c in values}
        else:  # COALESCE: an empty cell keeps the stored value
            new_value = {
                c: f"coalesce(i.{q(c)}, t.{q(c)}{', ' + fill[c] if c in fill else ''})" for c in values
            }
        differs = " OR ".join(f"{new_value[c]} IS DISTINCT FROM t.{q(c)}" for c in values)
        newer = ""
        if kind.latest and kind.latest in columns:
            latest = q(kind.latest)
            newer = f" AND (i.{latest} IS NULL OR t.{latest} IS NULL OR i.{latest} >= t.{latest})"
        sets = ", ".join(f"{q(c)} = {new_value[c]}" for c in values)
        counts.updated = wh.count(f"UPDATE {table} AS t SET {sets}, {LOAD_ID} = {load_id} FROM {incoming} AS i "
            f"WHERE {join} AND ({differs}){newer}",
        )
        counts.inserted = wh.count(insert_new)
    counts.duplicates += distinct - counts.inserted - counts.updated
    wh.execute(f"DROP VIEW IF EXISTS {incoming}")
    wh.execute(f"DROP TABLE IF EXISTS {collapsed}")
    wh.execute(f"DROP TABLE IF EXISTS {repeats}")
    return counts
