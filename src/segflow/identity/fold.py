"""Folding: one segment membership and one tag row per person, and back on undo.

Re-keying points every row of a merged record at its person, so two records of one
person that were both in a segment, or both carried a tag, would give the person two
rows. After re-keying, each such group is **folded** into one row:

* ``segment_members``, per ``(segment, profile_id)``: the row that entered first
  (earliest ``entered_at``; then the smallest source id) — the person has been a member
  since their first record was;
* ``tag_assignments``, per ``(profile_id, tag, source)``: the earliest ``assigned_at``, the
  latest ``expires_at`` (no expiry beats any date), and the value of the most recently
  assigned row (as for attributes: the most recent wins); ``_source_profile_id`` names
  the record of the earliest row.

Nothing is lost: the group's original rows (already re-keyed) are kept in
``identity_folded_<table>``. When the person is recomputed (a bridge, a value crossing
the junk cap, ``--undo-merge``), the originals come back *before* re-keying — if the
folded row is still as folding wrote it — so each follows its own record, and the rows
that still collide are folded again. A folded row that changed since (the person left
the segment, a tag refresh rewrote it) is the newer truth: its originals are dropped,
and the row stays with the person's canonical record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segflow.identity.store import SOURCE_COL
from segflow.warehouse import tables
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["FOLDS", "Fold", "fold_duplicates", "folded_table", "restore_folded"]


@dataclass(frozen=True)
class Fold:
    """How the rows of one table fold: the group key and the time that orders them."""

    keys: tuple[str, ...]
    #: The earliest value of this column is kept (with its row).
    first: str
    #: Tags: the latest expiry and the most recently assigned value.
    tag: bool = False


FOLDS: dict[str, Fold] = {
    "segment_members": Fold(keys=("segment", "profile_id"), first="entered_at"),
    "tag_assignments": Fold(keys=("profile_id", "tag", "source"), first="assigned_at", tag=True),
}

_SRC = f"coalesce(nullif(x.{SOURCE_COL}, ''), x.profile_id)"


def folded_table(table: str) -> str:
    """The table that keeps the original rows folded in *table*."""
    return f"identity_folded_{table}"


def _ensure(wh: Warehouse, table: str) -> dict[str, str] | None:
    """The columns of *table* (None when it does not exist), its folded table created."""
    cols = wh.columns(table)
    if not cols or SOURCE_COL not in cols:
        return None
    folded = folded_table(table)
    have = wh.columns(folded)
    if not have:
        tables.create_like(wh, folded, table)
    elif any(col not in have for col in cols):
        tables.add_missing_columns(wh, folded, cols)
    return cols


def _same(keys: tuple[str, ...] | list[str], a: str, b: str) -> str:
    return " AND ".join(f"{a}.{q(k)} IS NOT DISTINCT FROM {b}.{q(k)}" for k in keys)


def _merged(spec: Fold, rows: str) -> str:
    """SELECT of one merged row per group of *rows* (a table with the folded table's columns)."""
    part = ", ".join(f"x.{q(k)}" for k in spec.keys)
    first = f"x.{q(spec.first)} ASC NULLS LAST, {_SRC} ASC"
    replace = ""
    if spec.tag:
        win = f"PARTITION BY {part}"
        replace = (
            f" REPLACE (first_value(x.value) OVER ({win} ORDER BY x.{q(spec.first)} DESC NULLS LAST, {_SRC} DESC) AS value, "
            f"CASE WHEN count(*) OVER ({win}) = count(x.expires_at) OVER ({win}) "
            f"THEN max(x.expires_at) OVER ({win}) END AS expires_at)"
        )
    return (
        f"SELECT * EXCLUDE (_fold_rn) FROM (SELECT x.*{replace}, row_number() OVER (PARTITION BY {part} "
        f"ORDER BY {first}) AS _fold_rn FROM {rows} x) WHERE _fold_rn = 1"
    )


def _unfold(wh: Warehouse, table: str, cols: dict[str, str], groups: str) -> int:
    """Put back the originals of the folded rows of *groups* that are unchanged since
    folding; forget the others. Returns the original rows put back."""
    spec, t, folded = FOLDS[table], q(table), folded_table(table)
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_fold_orig AS SELECT f.* FROM {folded} f "
        f"WHERE EXISTS (SELECT 1 FROM {groups} g WHERE {_same(spec.keys, 'g', 'f')})"
    )
    if not wh.count("SELECT count(*) FROM _idr_fold_orig"):
        return 0
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_fold_merged AS {_merged(spec, '_idr_fold_orig')}")
    # The folded row, if still there exactly as written (every column equal).
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_fold_hit AS SELECT min(t.rowid) AS rid, "
        f"{', '.join('m.' + q(k) for k in spec.keys)} FROM {t} t JOIN _idr_fold_merged m ON {_same(list(cols), 't', 'm')} "
        f"GROUP BY ALL"
    )
    # A folded row changed since (a tag assigned again to the person): the change was made
    # to the person, so the row stays with its canonical record when the person splits.
    stale = (
        f"EXISTS (SELECT 1 FROM _idr_fold_orig o WHERE {_same(spec.keys, 'o', t)}) "
        f"AND NOT EXISTS (SELECT 1 FROM _idr_fold_hit h WHERE {_same(spec.keys, 'h', t)})"
    )
    wh.execute(f"UPDATE {t} SET {SOURCE_COL} = NULL WHERE {SOURCE_COL} <> '' AND {stale}")
    wh.execute(f"DELETE FROM {t} WHERE rowid IN (SELECT rid FROM _idr_fold_hit)")
    back = wh.execute(
        f"INSERT INTO {t} BY NAME SELECT o.* FROM _idr_fold_orig o "
        f"WHERE EXISTS (SELECT 1 FROM _idr_fold_hit h WHERE {_same(spec.keys, 'h', 'o')})"
    ).fetchall()
    wh.execute(
        f"DELETE FROM {folded} f WHERE EXISTS (SELECT 1 FROM {groups} g WHERE {_same(spec.keys, 'g', 'f')})"
    )
    for name in ("_idr_fold_orig", "_idr_fold_merged", "_idr_fold_hit"):
        wh.execute(f"DROP TABLE IF EXISTS {name}")
    return int(back[0][0]) if back else 0


def restore_folded(wh: Warehouse, scope: str | None) -> dict[str, int]:
    """Before re-keying: put back the original rows folded for the persons whose
    canonical id is in *scope* (a table of ``source_id``; None: every person), so each
    follows its own record. Returns rows put back per table."""
    out: dict[str, int] = {}
    for table, spec in FOLDS.items():
        cols = _ensure(wh, table)
        if cols is None:
            continue
        where = f"WHERE profile_id IN (SELECT source_id FROM {scope})" if scope else ""
        keys = ", ".join(q(k) for k in spec.keys)
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_fold_groups AS SELECT DISTINCT {keys} FROM {folded_table(table)} {where}"
        )
        out[table] = _unfold(wh, table, cols, "_idr_fold_groups")
    wh.execute("DROP TABLE IF EXISTS _idr_fold_groups")
    return out


def fold_duplicates(wh: Warehouse) -> dict[str, int]:
    """After re-keying: fold every group of rows of one person (see the module doc).

    Only persons with a row from a merged record (``_source_profile_id`` set) can have
    such groups. Returns rows folded away per table.
    """
    out: dict[str, int] = {}
    for table, spec in FOLDS.items():
        cols = _ensure(wh, table)
        if cols is None:
            continue
        t, keys = q(table), ", ".join(q(k) for k in spec.keys)
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_fold_groups AS SELECT {keys} FROM {t} WHERE profile_id IN "
            f"(SELECT profile_id FROM {t} WHERE {SOURCE_COL} <> '') GROUP BY ALL HAVING count(*) > 1"
        )
        if not wh.count("SELECT count(*) FROM _idr_fold_groups"):
            out[table] = 0
            continue
        # A group may hold a row folded before (a record joined a person later): its
        # originals come back first, so the folded table only ever holds originals.
        _unfold(wh, table, cols, "_idr_fold_groups")
        in_group = f"EXISTS (SELECT 1 FROM _idr_fold_groups g WHERE {_same(spec.keys, 'g', 't')})"
        wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_fold_rows AS SELECT t.*, t.rowid AS _rid FROM {t} t WHERE {in_group}")
        wh.execute(f"INSERT INTO {folded_table(table)} BY NAME SELECT * EXCLUDE (_rid) FROM _idr_fold_rows")
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_fold_new AS "
            f"{_merged(spec, '(SELECT * EXCLUDE (_rid) FROM _idr_fold_rows)')}"
        )
        wh.execute(f"DELETE FROM {t} WHERE rowid IN (SELECT _rid FROM _idr_fold_rows)")
        wh.execute(f"INSERT INTO {t} BY NAME SELECT * FROM _idr_fold_new")
        out[table] = wh.count("SELECT count(*) FROM _idr_fold_rows") - wh.count("SELECT count(*) FROM _idr_fold_new")
        for name in ("_idr_fold_rows", "_idr_fold_new"):
            wh.execute(f"DROP TABLE IF EXISTS {name}")
    wh.execute("DROP TABLE IF EXISTS _idr_fold_groups")
    return out
