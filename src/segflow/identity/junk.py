"""Junk identifiers: values held by more than ``identity.junk_cap`` source profiles.

A junk value (a store's phone typed in at the till, a shared family tablet's id) never
joins anything. Which values are junk is kept in ``identity_junk(type, value, sources)``
so a run does not count the holders of every identifier again: a full run recounts
from ``identity_index``; an incremental run recounts only the values whose holders
changed (every holder of those values is in ``_idr_touched_rows``), and the others keep
their count, since only changed records' index rows are rewritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segflow.identity.store import INDEX
from segflow.warehouse import tables
from segflow.warehouse.tables import JUNK

if TYPE_CHECKING:
    from segflow.identity.config import IdentityOptions
    from segflow.warehouse.base import Warehouse

__all__ = ["JUNK", "junk_identifiers", "merge_edges_sql", "refresh_junk"]



def merge_edges_sql(opts: IdentityOptions, alias: str = "") -> tuple[str, list[str]]:
    """The condition (and its parameters) for index rows that may merge records."""
    types = list(opts.merge_types) or ["\x00none"]
    a = f"{alias}." if alias else ""
    return f"{a}status = 'ok' AND {a}type IN ({', '.join('?' for _ in types)})", types


def refresh_junk(wh: Warehouse, opts: IdentityOptions, touched: str | None) -> None:
    """Bring ``identity_junk`` up to date with the index.

    *touched*: a table of the ``type, value`` pairs whose holders may have changed, each
    with every ``source_id`` holding it in ``_idr_touched_rows``; None (a full run), or a
    warehouse resolved before this table existed, recounts everything.
    """
    cap = int(opts.junk_cap)
    existed = wh.table_exists(JUNK)
    if not existed:
        tables.ensure(wh, JUNK)
    if touched is None or not existed:
        cond, params = merge_edges_sql(opts, "x")
        wh.execute(f"DELETE FROM {JUNK}")
        wh.execute(
            f"INSERT INTO {JUNK} SELECT x.type, x.value, count(DISTINCT x.source_id) FROM {INDEX} x WHERE {cond} "
            f"GROUP BY x.type, x.value HAVING count(DISTINCT x.source_id) > {cap}",
            params,
        )
        return
    wh.execute(
        f"DELETE FROM {JUNK} j WHERE EXISTS (SELECT 1 FROM {touched} t WHERE t.type = j.type AND t.value = j.value)"
    )
    wh.execute(
        f"INSERT INTO {JUNK} SELECT type, value, count(DISTINCT source_id) FROM _idr_touched_rows "
        f"GROUP BY type, value HAVING count(DISTINCT source_id) > {cap}"
    )


def junk_identifiers(
    wh: Warehouse, opts: IdentityOptions, limit: int = 20, *, rows: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Identifier values over the junk cap: (how many, the most shared first).

    *rows*: a table of ``source_id, type, value`` merge rows to count in (an incremental
    run reports the junk values among the identifiers it touched); default every junk
    value (``identity_junk``, or the index when no run has stored it yet).
    """
    if rows is None and wh.columns(JUNK):
        base = f"SELECT type, value, sources FROM {JUNK}"
        params: list[Any] = []
    else:
        if rows is None:
            cond, params = merge_edges_sql(opts, "x")
            source = f"{INDEX} x WHERE {cond}"
        else:
            source, params = f"{rows} x", []
        base = (
            f"SELECT x.type, x.value, count(DISTINCT x.source_id) AS sources FROM {source} "
            f"GROUP BY x.type, x.value HAVING count(DISTINCT x.source_id) > {int(opts.junk_cap)}"
        )
    total = wh.count(f"SELECT count(*) FROM ({base})", params)
    top = wh.execute(f"{base} ORDER BY sources DESC, type, value LIMIT {int(limit)}", params).fetchall()
    return total, [{"type": t, "value": v, "sources": int(n)} for t, v, n in top]
