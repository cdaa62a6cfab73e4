"""Segment membership in the warehouse: the diff of a refresh, static adds and removes.

Two warehouse tables hold it:

* ``segment_members(segment, profile_id, entered_at)``: who is in each segment now
  (the table ``{segment: name}`` rules read);
* ``segment_history(segment, profile_id, change, changed_at, run_id)``: every ``entered`` and
  ``exited`` event, with the time the refresh was evaluated as of and the state store's
  ``refresh_runs.id``.

Every change is one DuckDB transaction that writes the membership and its history
together, as set operations (anti-joins between the new and the stored membership),
never row by row: a refresh that fails leaves both tables as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from segflow.warehouse.tables import rename_table

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = [
    "HISTORY_TABLE",
    "MEMBERS_TABLE",
    "Diff",
    "ImportResult",
    "add_members",
    "drop_segment",
    "ensure_tables",
    "member_count",
    "remove_members",
    "replace_members",
]

MEMBERS_TABLE = "segment_members"
HISTORY_TABLE = "segment_history"
_NEW, _OLD, _IN, _OUT, _IDS = ("_segflow_seg_new", "_segflow_seg_old", "_segflow_seg_in", "_segflow_seg_out",
                               "_segflow_seg_ids")


@dataclass(frozen=True)
class Diff:
    """What one membership change did."""

    members: int
    entered: int
    exited: int


@dataclass(frozen=True)
class ImportResult:
    """A static add or remove: the diff, plus the ids that were not used and why."""

    diff: Diff
    #: Ids with no profile (add) — reported, the others are loaded.
    unknown: list[str] = field(default_factory=list)
    #: Ids already members (add) or not members (remove): nothing to do for them.
    unchanged: int = 0
    #: Ids of merged records, each with the person added or removed in its place.
    merged: dict[str, str] = field(default_factory=dict)


def ensure_tables(con: Warehouse) -> None:
    """Create ``segment_members`` and ``segment_history`` when missing."""
    from segflow.warehouse import tables

    tables.ensure(con, tables.SEGMENT_MEMBERS, tables.SEGMENT_HISTORY)


def member_count(con: Warehouse, segment: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {MEMBERS_TABLE} WHERE segment = ?", [segment]).fetchall()[0][0])


def _apply(con: Warehouse, segment: str, at: datetime, run_id: int | None) -> tuple[int, int]:
    """Write ``_IN`` (entered) and ``_OUT`` (exited) to members and history; return their sizes."""
    entered = int(con.execute(f"SELECT count(*) FROM {_IN}").fetchall()[0][0])
    exited = int(con.execute(f"SELECT count(*) FROM {_OUT}").fetchall()[0][0])
    if exited:
        con.execute(f"INSERT INTO {HISTORY_TABLE} SELECT ?, profile_id, 'exited', ?, ? FROM {_OUT}",
                    [segment, at, run_id])
        con.execute(f"DELETE FROM {MEMBERS_TABLE} WHERE segment = ? AND profile_id IN (SELECT profile_id FROM {_OUT})",
                    [segment])
    if entered:
        con.execute(f"INSERT INTO {HISTORY_TABLE} SELECT ?, profile_id, 'entered', ?, ? FROM {_IN}",
                    [segment, at, run_id])
        # A static add after identity resolution names the merged record a member came from.
        src = ", _source_profile_id" if "_source_profile_id" in con.column_names(_IN) else ""
        con.execute(f"INSERT INTO {MEMBERS_TABLE} (segment, profile_id, entered_at{src}) SELECT ?, profile_id, ?{src} "
                    f"FROM {_IN}", [segment, at])
    return entered, exited


def _drop_temps(con: Warehouse) -> None:
    for name in (_NEW, _OLD, _IN, _OUT, _IDS):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _transaction(con: Warehouse, body):  # type: ignore[no-untyped-def]
    try:
        with con.transaction():
            result = body()
            _drop_temps(con)
    except BaseException:
        _drop_temps(con)
        raise
    return result


def replace_members(con: Warehouse, segment: str, select_sql: str, *, at: datetime,
                    run_id: int | None) -> Diff:
    """Make *segment*'s members exactly the ``profile_id`` rows of *select_sql* (a compiled rule).

    The entered/exited diff is written to the history stamped *at* with *run_id*, in the
    same transaction. Nothing changes when the query fails.
    """
    ensure_tables(con)

    def body() -> Diff:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_NEW} AS SELECT DISTINCT profile_id FROM ({select_sql}) AS r")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OLD} AS SELECT profile_id FROM {MEMBERS_TABLE} WHERE segment = ?",
                    [segment])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_IN} AS SELECT profile_id FROM {_NEW} ANTI JOIN {_OLD} "
                    "USING (profile_id)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OUT} AS SELECT profile_id FROM {_OLD} ANTI JOIN {_NEW} "
                    "USING (profile_id)")
        entered, exited = _apply(con, segment, at, run_id)
        members = int(con.execute(f"SELECT count(*) FROM {_NEW}").fetchall()[0][0])
        return Diff(members=members, entered=entered, exited=exited)

    return _transaction(con, body)


def _to_persons(con: Warehouse) -> dict[str, str]:
    """After identity resolution (``profile_map``), an id of a merged record stands for its
    person: ``_IDS`` becomes one row per person, naming the record in
    ``_source_profile_id`` when only merged records of that person were given. Returns
    the merged records' ids given, each with its person."""
    from segflow.identity.persons import PERSON, RECORD, merged_records, persons_sql, resolved

    if not resolved(con, MEMBERS_TABLE):
        return {}
    merged = merged_records(con, _IDS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_IDS}_mapped AS SELECT {PERSON} AS profile_id, "
                f"CASE WHEN bool_or({RECORD} IS NULL) THEN NULL ELSE min({RECORD}) END AS _source_profile_id "
                f"FROM ({persons_sql(_IDS)}) GROUP BY 1")
    con.execute(f"DROP TABLE {_IDS}")
    rename_table(con, f"{_IDS}_mapped", _IDS)
    return merged


def _load_ids(con: Warehouse, ids: list[str]) -> None:
    import pyarrow as pa

    staged = pa.table({"profile_id": pa.array([str(i) for i in ids], pa.string())})
    con.register("_segflow_seg_arrow", staged)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_IDS} AS SELECT DISTINCT trim(profile_id) AS profile_id "
                    "FROM _segflow_seg_arrow WHERE trim(profile_id) <> ''")
    finally:
        con.unregister("_segflow_seg_arrow")


def add_members(con: Warehouse, segment: str, ids: list[str], *, at: datetime,
                run_id: int | None) -> ImportResult:
    """Add the profiles *ids* to a static segment; ids with no profile are reported, the rest loaded."""
    ensure_tables(con)

    def body() -> ImportResult:
        _load_ids(con, ids)
        merged = _to_persons(con)
        unknown = [r[0] for r in con.execute(
            f"SELECT i.profile_id FROM {_IDS} i ANTI JOIN profiles p USING (profile_id) ORDER BY 1").fetchall()]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OLD} AS SELECT profile_id FROM {MEMBERS_TABLE} WHERE segment = ?",
                    [segment])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_IN} AS SELECT i.* FROM {_IDS} i "
                    f"SEMI JOIN profiles p USING (profile_id) ANTI JOIN {_OLD} o USING (profile_id)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OUT} AS SELECT profile_id FROM {_OLD} WHERE false")
        known = int(con.execute(f"SELECT count(*) FROM {_IDS}").fetchall()[0][0]) - len(unknown)
        entered, _ = _apply(con, segment, at, run_id)
        return ImportResult(Diff(member_count(con, segment), entered, 0), unknown=unknown, unchanged=known - entered,
                            merged=merged)

    return _transaction(con, body)


def remove_members(con: Warehouse, segment: str, ids: list[str], *, at: datetime,
                   run_id: int | None) -> ImportResult:
    """Remove *ids* from a static segment; ids that are not members are counted as unchanged."""
    ensure_tables(con)

    def body() -> ImportResult:
        _load_ids(con, ids)
        merged = _to_persons(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OUT} AS SELECT DISTINCT m.profile_id FROM {MEMBERS_TABLE} m "
                    f"SEMI JOIN {_IDS} i USING (profile_id) WHERE m.segment = ?", [segment])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_IN} AS SELECT profile_id FROM {_OUT} WHERE false")
        given = int(con.execute(f"SELECT count(*) FROM {_IDS}").fetchall()[0][0])
        _, exited = _apply(con, segment, at, run_id)
        return ImportResult(Diff(member_count(con, segment), 0, exited), unchanged=given - exited, merged=merged)

    return _transaction(con, body)


def drop_segment(con: Warehouse, segment: str, *, at: datetime, run_id: int | None) -> Diff:
    """Remove every member of *segment* (its definition was removed); each leaves an ``exited`` event."""
    ensure_tables(con)

    def body() -> Diff:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OUT} AS SELECT DISTINCT profile_id FROM {MEMBERS_TABLE} "
                    "WHERE segment = ?", [segment])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_IN} AS SELECT profile_id FROM {_OUT} WHERE false")
        _, exited = _apply(con, segment, at, run_id)
        return Diff(0, 0, exited)

    return _transaction(con, body)
