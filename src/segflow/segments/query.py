"""Reading segments: members, history (per run and per profile) and overlap.

    >>> members(ws, "dormant_vip", columns=["email"]).num_rows     # doctest: +SKIP
    >>> history(ws, "dormant_vip")[0]                               # doctest: +SKIP
    {'run_id': 7, 'as_of': ..., 'status': 'ok', 'members': 812, 'entered': 40, 'exited': 12, ...}
    >>> changes(ws, "dormant_vip", since=today).num_rows            # who entered or left today
    >>> overlap(ws, ["a", "b", "c"])["pairs"]                       # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError
from segflow.segments.definition import DefinitionError
from segflow.segments.membership import HISTORY_TABLE, MEMBERS_TABLE, ensure_tables

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext

__all__ = ["changes", "history", "known_segment", "members", "overlap"]


def known_segment(ws: ProjectContext, name: str) -> None:
    """Raise unless *name* is an applied segment."""
    from segflow.definitions.versions import applied_segments

    applied = applied_segments(ws.state)
    if name not in applied:
        known = ", ".join(sorted(applied)) or "none"
        raise DefinitionError(f"no applied segment {name!r} (applied segments: {known})", code="unknown_segment",
                              path=name)


def members(ws: ProjectContext, name: str, *, columns: list[str] | None = None, limit: int | None = None) -> pa.Table:
    """``profile_id, entered_at`` (and the profile *columns* asked for) of every member, by id."""
    from segflow.warehouse.base import quote_ident

    known_segment(ws, name)
    con = ws.warehouse
    ensure_tables(con)
    available = ws.warehouse.columns("profiles")
    cols = list(columns or [])
    for c in cols:
        if c not in available or c.startswith("_"):
            raise QueryError(f"profiles has no column {c!r}", code="unknown_column", path=c)
    picked = "".join(f", p.{quote_ident(c)}" for c in cols)
    query = (f"SELECT m.profile_id, m.entered_at{picked} FROM {MEMBERS_TABLE} m "
             f"LEFT JOIN profiles p USING (profile_id) WHERE m.segment = ? ORDER BY m.profile_id")
    params: list[Any] = [name]
    if limit is not None:
        query += " LIMIT ?"
        params.append(int(limit))
    return con.query(query, params=params)


def history(ws: ProjectContext, name: str, *, limit: int | None = 50) -> list[dict[str, Any]]:
    """One row per refresh/add/remove of *name*, newest first (from the state store's run rows)."""
    from segflow.segments.runs import list_runs

    known_segment(ws, name)
    return [r.to_dict() for r in list_runs(ws.state, kind="segment", name=name, limit=limit)]


def changes(ws: ProjectContext, name: str, *, since: datetime | None = None, until: datetime | None = None,
            change: str | None = None, limit: int | None = None) -> pa.Table:
    """``entered``/``exited`` events of *name* (``profile_id, change, changed_at, run_id``), oldest first."""
    known_segment(ws, name)
    if change not in (None, "entered", "exited"):
        raise QueryError(f"change {change!r}: expected entered or exited", code="bad_change")
    con = ws.warehouse
    ensure_tables(con)
    query = f"SELECT profile_id, change, changed_at, run_id FROM {HISTORY_TABLE} WHERE segment = ?"
    params: list[Any] = [name]
    for cond, value in (("changed_at >= ?", since), ("changed_at <= ?", until), ("change = ?", change)):
        if value is not None:
            query += f" AND {cond}"
            params.append(value)
    query += " ORDER BY changed_at, run_id, change, profile_id"
    if limit is not None:
        query += " LIMIT ?"
        params.append(int(limit))
    return con.query(query, params=params)


def overlap(ws: ProjectContext, names: list[str]) -> dict[str, Any]:
    """Sizes, pairwise intersections, and how many profiles are in all / any of *names*.

    ``{"sizes": {a: n}, "pairs": [{"a", "b", "both", "jaccard"}], "all": n, "any": n}``.
    """
    if len(names) < 2:
        raise QueryError("overlap needs at least two segments", code="overlap_arity")
    if len(set(names)) != len(names):
        raise QueryError("overlap: a segment is named twice", code="overlap_duplicate")
    for n in names:
        known_segment(ws, n)
    con = ws.warehouse
    ensure_tables(con)
    sizes = dict.fromkeys(names, 0)
    for seg, size in con.execute(f"SELECT segment, count(*) FROM {MEMBERS_TABLE} WHERE list_contains(?, segment) "
                                 "GROUP BY segment", [names]).fetchall():
        sizes[seg] = int(size)
    both = {(a, b): int(count) for a, b, count in con.execute(
        f"SELECT a.segment, b.segment, count(*) FROM {MEMBERS_TABLE} a JOIN {MEMBERS_TABLE} b "
        "ON a.profile_id = b.profile_id AND a.segment < b.segment "
        "WHERE list_contains(?, a.segment) AND list_contains(?, b.segment) GROUP BY ALL", [names, names]).fetchall()}
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = both.get((a, b), both.get((b, a), 0))
            union = sizes[a] + sizes[b] - common
            pairs.append({"a": a, "b": b, "both": common, "jaccard": round(common / union, 4) if union else 0.0})
    in_all, in_any = con.execute(
        f"SELECT count(*) FILTER (WHERE k = ?), count(*) FROM (SELECT profile_id, count(DISTINCT segment) AS k "
        f"FROM {MEMBERS_TABLE} WHERE list_contains(?, segment) GROUP BY profile_id) AS t",
        [len(names), names]).fetchall()[0]
    return {"sizes": sizes, "pairs": pairs, "all": int(in_all), "any": int(in_any)}
