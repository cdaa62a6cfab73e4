"""The straight load of an insert-only kind from CSV: one pipeline from the file into the
table, with no staged copy of the good rows.

The loader's general path stages every cleaned row in a temp table, then merges it. For a
53M-row events file that table holds about 9.5 GB and every good row is written twice.
Insert-only kinds (events, identities) need no merge, so here every row of the file goes
straight into the kind's table inside the load's transaction, marked by its ``_load_id``:

* a good row: the load id;
* a rejected row: ``-load id``, with its reason and raw cells as JSON in the first text key
  column (its other columns are whatever cleaning made of them).

The statement is a plain scan → clean → insert pipeline, with no join that could reorder
rows, so with DuckDB's ``preserve_insertion_order`` (the default) rows are appended in
file order. Afterwards rejected rows are read back and deleted; rows whose key an earlier
load stored are deleted as duplicates; repeats of a key within the file are collapsed
(the first row of the file wins, as in :mod:`.merge`). A row's row id minus the
statement's first row id is then its record ordinal in the file, which is what the
rejects' line numbers need. The load checks that the statement's row ids are contiguous
and otherwise returns ``None``, so that the caller rolls back and takes the staged path.
Nothing is visible outside the transaction until the caller commits.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from segflow.ingest.cleaning import RAW_CELLS
from segflow.ingest.merge import MergeCounts, _scalar
from segflow.schema.kinds import Kind, Merge
from segflow.schema.types import AttributeType
from segflow.warehouse.base import quote_ident as q
from segflow.warehouse.duckdb import LOAD_ID

if TYPE_CHECKING:
    import duckdb

    from segflow.ingest.cleaning import Target

__all__ = ["load_straight", "straight_key"]


def straight_key(kind: Kind, targets: list[Target], fmt: str) -> str | None:
    """The text key column that carries a rejected row's details, when *kind* can load
    straight from a file of *fmt*; else None."""
    if kind.merge is not Merge.INSERT_ONLY or fmt != "csv":
        return None
    types = {t.name: t.type for t in targets}
    return next((k for k in kind.key if types.get(k) is AttributeType.STRING), None)


def load_straight(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    targets: list[Target],
    staging: str,
    load_id: int,
    carrier: str,
) -> tuple[MergeCounts, int, list[tuple[Any, ...]]] | None:
    """Insert the rows of the staging SELECT *staging* into *kind*'s table (inside the
    caller's transaction). Returns (counts, records staged, rejected rows as ``(ordinal,
    reason, *raw cells)``), or None when the row ids cannot serve as ordinals (the
    caller rolls back and stages instead)."""
    table = q(kind.name)
    cols = [t.name for t in targets]
    key = list(kind.key)
    lid = int(load_id)
    payload = f"to_json({{'r': _reason, 'c': {RAW_CELLS}}})::VARCHAR"
    values = [f"CASE WHEN _reason IS NULL THEN {q(c)} ELSE {payload} END" if c == carrier else q(c) for c in cols]
    # A plain scan → clean → insert pipeline (no join), so the rows arrive in file order.
    con.execute(
        f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}, {LOAD_ID}) "
        f"SELECT {', '.join(values)}, CASE WHEN _reason IS NULL THEN {lid} ELSE -{lid} END FROM ({staging})"
    )
    mine = f"{LOAD_ID} IN ({lid}, -{lid})"
    n, first, last = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {table} WHERE {mine}").fetchall()[0]
    n = int(n)
    if n and int(last) - int(first) + 1 != n:
        return None
    first = int(first or 0)
    rejected = []
    for rowid, payload_text in con.execute(
        f"SELECT rowid, {q(carrier)} FROM {table} WHERE {LOAD_ID} = -{lid} ORDER BY rowid"
    ).fetchall():
        details = json.loads(payload_text)
        rejected.append((int(rowid) - first, details["r"], *(details["c"] or [])))
    con.execute(f"DELETE FROM {table} WHERE {LOAD_ID} = -{lid}")
    counts = MergeCounts()
    # Keys stored by earlier loads: every row of this file with one changes nothing.
    same_key = " AND ".join(f"o.{q(c)} = n.{q(c)}" for c in key)
    if _scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {LOAD_ID} <> {lid} LIMIT 1)"):
        counts.duplicates = _deleted(con.execute(
            f"DELETE FROM {table} AS n WHERE n.{LOAD_ID} = {lid} AND EXISTS "
            f"(SELECT 1 FROM {table} o WHERE o.{LOAD_ID} <> {lid} AND {same_key})"
        ).fetchall())
    counts.good = n - len(rejected)
    # Repeats of a key within the file: a hash aggregate finds the few candidates, then
    # every row but the file's first of each key goes.
    keys_sql = ", ".join(q(c) for c in key)
    repeats = con.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
        f"(PARTITION BY {keys_sql} ORDER BY rowid) AS rn FROM {table} WHERE {LOAD_ID} = {lid} "
        f"AND hash({keys_sql}) IN (SELECT h FROM (SELECT hash({keys_sql}) AS h FROM {table} "
        f"WHERE {LOAD_ID} = {lid}) GROUP BY h HAVING count(*) > 1)) WHERE rn > 1)"
    ).fetchall()
    counts.duplicates += _deleted(repeats)
    counts.inserted = counts.good - counts.duplicates
    return counts, n, rejected


def _deleted(result: list[tuple[Any, ...]]) -> int:
    return int(result[0][0]) if result and result[0][0] is not None else 0
