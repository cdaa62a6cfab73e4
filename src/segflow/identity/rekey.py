"""Re-keying: events, orders, memberships, subscriptions, identities and tags follow
the canonical id, so every query (rules, traits, ``segflow sql``) sees one person.

Rows keep their source id in ``_source_profile_id`` when it differs from
``profile_id`` (see :mod:`segflow.identity.store`). Only rows that need it are
written: rows loaded since the last resolve, and rows whose source's canonical id
changed in this run (the ``_idr_remap`` table). Anonymous events (``profile_id``
empty) take the canonical id of the one person their ``anonymous_id`` is linked to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from segflow.identity.store import ANON, INDEX, MAP, REKEYED, SOURCE_COL, _columns, scalar
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    import duckdb

__all__ = ["rekey_tables", "collect_anonymous_links", "attach_anonymous", "KEYS"]

#: Keyed kinds whose rows may collide after re-keying, with the row that wins:
#: identities keep the first (insert-only), the others the latest load.
KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "identities": (("type", "value"), "_load_id ASC"),
    "memberships": (("kind", "key"), "_load_id DESC"),
    "subscriptions": (("channel", "topic"), "ts DESC NULLS FIRST, _load_id DESC"),
}


def collect_anonymous_links(con: duckdb.DuckDBPyConnection, watermark: int, attach_types: list[str], scope: str) -> int:
    """Record anonymous ids linked to a source: identities rows of an attach type (from
    ``identity_index``, sources in *scope*) and events loaded since *watermark* carrying
    both ``profile_id`` and ``anonymous_id`` (an identify call). Returns new links."""
    before = int(scalar(con, f"SELECT count(*) FROM {ANON}"))
    con.execute(f"DELETE FROM {ANON} WHERE via = 'identities' AND source_id IN (SELECT source_id FROM {scope})")
    if attach_types:
        params = ", ".join("?" for _ in attach_types)
        con.execute(
            f"INSERT INTO {ANON} SELECT DISTINCT value, source_id, 'identities' FROM {INDEX} "
            f"WHERE status = 'ok' AND type IN ({params}) AND source_id IN (SELECT source_id FROM {scope})",
            list(attach_types),
        )
    if _columns(con, "events"):
        con.execute(
            f"INSERT INTO {ANON} SELECT DISTINCT e.anonymous_id, e.profile_id, 'event' FROM events e "
            f"WHERE e._load_id > {int(watermark)} AND e.profile_id IS NOT NULL AND e.anonymous_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {ANON} a WHERE a.anonymous_id = e.anonymous_id "
            f"AND a.source_id = e.profile_id AND a.via = 'event')"
        )
    return int(scalar(con, f"SELECT count(*) FROM {ANON}")) - before


def rekey_tables(con: duckdb.DuckDBPyConnection, watermark: int) -> dict[str, int]:
    """Point every re-keyed table at the canonical ids; return rows written per table."""
    written: dict[str, int] = {}
    wm = int(watermark)
    for table, loaded in REKEYED.items():
        cols = _columns(con, table)
        if not cols:
            continue
        t = q(table)
        n = 0
        if loaded:
            # Rows loaded since the last resolve: profile_id is the source id as loaded.
            con.execute(f"UPDATE {t} SET {SOURCE_COL} = NULL WHERE _load_id > {wm} AND {SOURCE_COL} IS NOT NULL")
            n += int(scalar(con,
                f"UPDATE {t} SET {SOURCE_COL} = {t}.profile_id, profile_id = m.canonical_id FROM {MAP} m "
                f"WHERE {t}._load_id > {wm} AND m.source_id = {t}.profile_id AND m.canonical_id <> {t}.profile_id"
            ) or 0)
            older = f"{t}._load_id <= {wm}"
        else:
            older = "TRUE"
        # Rows from before: follow the new canonical id of their source.
        n += int(scalar(con,
            f"UPDATE {t} SET profile_id = r.canonical_id, "
            f"{SOURCE_COL} = CASE WHEN r.canonical_id <> r.source_id THEN r.source_id END "
            f"FROM _idr_remap r WHERE {older} AND r.source_id = coalesce(nullif({t}.{SOURCE_COL}, ''), {t}.profile_id) "
            f"AND ({t}.profile_id IS DISTINCT FROM r.canonical_id OR {t}.{SOURCE_COL} IS DISTINCT FROM "
            f"(CASE WHEN r.canonical_id <> r.source_id THEN r.source_id END))"
        ) or 0)
        if not loaded:
            # Rows written straight to a source id after it was merged (tags assigned by id).
            n += int(scalar(con,
                f"UPDATE {t} SET {SOURCE_COL} = {t}.profile_id, profile_id = m.canonical_id FROM {MAP} m "
                f"WHERE {t}.{SOURCE_COL} IS NULL AND m.source_id = {t}.profile_id AND m.canonical_id <> {t}.profile_id"
            ) or 0)
        if table in KEYS and loaded:
            n += _dedupe(con, table, wm)
        written[table] = n
    return written


def _dedupe(con: duckdb.DuckDBPyConnection, table: str, wm: int) -> int:
    """A row loaded for a source that was already merged arrives under its source id, so
    the loader could not see the stored row it repeats; keep one per source and key."""
    keys, order = KEYS[table]
    t = q(table)
    src = f"coalesce(nullif({SOURCE_COL}, ''), profile_id)"
    key_cols = ", ".join(q(k) for k in keys)
    fresh = f"SELECT {src} AS s, {key_cols} FROM {t} WHERE _load_id > {wm}"
    join = " AND ".join(f"f.{q(k)} IS NOT DISTINCT FROM x.{q(k)}" for k in keys)
    victims = (
        f"SELECT rid FROM (SELECT x.rowid AS rid, row_number() OVER (PARTITION BY x._src, "
        f"{', '.join('x.' + q(k) for k in keys)} ORDER BY {', '.join('x.' + o.strip() for o in order.split(','))}, x.rowid) AS rn "
        f"FROM (SELECT rowid, {src} AS _src, * FROM {t}) x "
        f"WHERE EXISTS (SELECT 1 FROM ({fresh}) f WHERE f.s = x._src AND {join})) WHERE rn > 1"
    )
    return int(scalar(con, f"DELETE FROM {t} WHERE rowid IN ({victims})") or 0)


def attach_anonymous(con: duckdb.DuckDBPyConnection, affected_anon: str | None) -> tuple[int, int]:
    """Give anonymous events the canonical id of the one person their anonymous id is
    linked to (ambiguous ids — linked to several people — stay anonymous).

    *affected_anon*: table of ``anonymous_id`` to look at (None: all). Returns
    (events attached or moved, anonymous ids linked to several people).
    """
    if not _columns(con, "events"):
        return 0, 0
    only = f"WHERE a.anonymous_id IN (SELECT anonymous_id FROM {affected_anon})" if affected_anon else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_anon AS SELECT a.anonymous_id, min(m.canonical_id) AS canonical_id, "
        f"count(DISTINCT m.canonical_id) AS persons FROM {ANON} a JOIN {MAP} m ON m.source_id = a.source_id "
        f"{only} GROUP BY a.anonymous_id"
    )
    ambiguous = int(scalar(con, "SELECT count(*) FROM _idr_anon WHERE persons > 1"))
    scope = f"AND e.anonymous_id IN (SELECT anonymous_id FROM {affected_anon})" if affected_anon else ""
    moved = int(scalar(con,
        f"UPDATE events AS e SET profile_id = a.canonical_id, {SOURCE_COL} = '' FROM _idr_anon a "
        f"WHERE a.persons = 1 AND e.anonymous_id = a.anonymous_id "
        f"AND (e.profile_id IS NULL OR e.{SOURCE_COL} = '') AND e.profile_id IS DISTINCT FROM a.canonical_id {scope}"
    ) or 0)
    # Links that became ambiguous (after an undo) or vanished: the events go back to anonymous.
    moved += int(scalar(con,
        f"UPDATE events AS e SET profile_id = NULL, {SOURCE_COL} = NULL WHERE e.{SOURCE_COL} = '' {scope} "
        f"AND NOT EXISTS (SELECT 1 FROM _idr_anon a WHERE a.persons = 1 AND a.anonymous_id = e.anonymous_id)"
    ) or 0)
    con.execute("DROP TABLE IF EXISTS _idr_anon")
    return moved, ambiguous
