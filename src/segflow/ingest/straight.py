"""The straight load of an insert-only kind from CSV: one pipeline from the file into the
table, with no staged copy of the good rows.

The loader's general path stages every cleaned row in a temp table, then merges it. For a
53M-row events file that table holds about 9.5 GB and every good row is written twice.
Insert-only kinds (events, identities) need no merge, so here every row of the file goes
straight into the kind's table inside the load's transaction, marked by its ``_load_id``:

* a good row: the load id;
* a rejected row: ``-load id``, with its reason and raw cells as JSON in the first text key
  column (its other columns are whatever cleaning made of them);
* a good row whose key is already stored: :data:`_KNOWN` minus the load id.

Marked rows are then read back and deleted, and repeats of a key within the file are
collapsed (the first row of the file wins, as in :mod:`.merge`). A row's row id minus the
statement's first row id is its record ordinal in the file, which is what the rejects'
line numbers need. That holds when the statement's rows are contiguous and as many as
the file's records; the load checks both and otherwise returns ``None`` so that the
caller rolls back and takes the general path. Nothing is visible outside the
transaction until the caller commits.
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

__all__ = ["straight_key", "load_straight"]

#: Base of the mark for good rows whose key is already stored (far below any -load id).
_KNOWN = -(1 << 62)


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
    known = f"{_KNOWN} + {int(load_id)}"
    table_empty = _scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)") == 0
    if table_empty:
        stored, mark_known = "", ""
    else:
        # Keys already stored: a LEFT JOIN keeps every row (and so the ordinals).
        on = " AND ".join(f"k.{q(c)} = s.{q(c)}" for c in key)
        stored = f" LEFT JOIN (SELECT DISTINCT {', '.join(q(c) for c in key)}, TRUE AS _stored FROM {table}) k ON {on}"
        mark_known = f"WHEN k._stored THEN {known} "
    payload = f"to_json({{'r': s._reason, 'c': s.{RAW_CELLS}}})::VARCHAR"
    values = [
        f"CASE WHEN s._reason IS NULL THEN s.{q(c)} ELSE {payload} END" if c == carrier else f"s.{q(c)}"
        for c in cols
    ]
    mark = f"CASE WHEN s._reason IS NOT NULL THEN -{int(load_id)} {mark_known}ELSE {int(load_id)} END"
    con.execute(
        f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}, {LOAD_ID}) "
        f"SELECT {', '.join(values)}, {mark} FROM ({staging}) s{stored}"
    )
    mine = f"{LOAD_ID} IN ({int(load_id)}, -{int(load_id)}, {known})"
    n, first, last = con.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {table} WHERE {mine}").fetchall()[0]
    n = int(n)
    if n and int(last) - int(first) + 1 != n:
        return None
    first = int(first or 0)
    rejected = []
    for rowid, payload_text in con.execute(
        f"SELECT rowid, {q(carrier)} FROM {table} WHERE {LOAD_ID} = -{int(load_id)} ORDER BY rowid"
    ).fetchall():
        details = json.loads(payload_text)
        rejected.append((int(rowid) - first, details["r"], *(details["c"] or [])))
    counts = MergeCounts()
    counts.duplicates = _scalar(con, f"SELECT count(*) FROM {table} WHERE {LOAD_ID} = {known}")
    con.execute(f"DELETE FROM {table} WHERE {LOAD_ID} IN (-{int(load_id)}, {known})")
    counts.good = n - len(rejected)
    # Repeats of a key within the file: a hash aggregate finds the few candidates, then
    # every row but the file's first of each key goes.
    keys_sql = ", ".join(q(c) for c in key)
    repeats = con.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
        f"(PARTITION BY {keys_sql} ORDER BY rowid) AS rn FROM {table} WHERE {LOAD_ID} = {int(load_id)} "
        f"AND hash({keys_sql}) IN (SELECT h FROM (SELECT hash({keys_sql}) AS h FROM {table} "
        f"WHERE {LOAD_ID} = {int(load_id)}) GROUP BY h HAVING count(*) > 1)) WHERE rn > 1)"
    ).fetchall()
    counts.duplicates += int(repeats[0][0]) if repeats else 0
    counts.inserted = counts.good - counts.duplicates
    return counts, n, rejected
