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

from segflow.identity.store import (
    ANON,
    ANON_STATE,
    INDEX,
    MAP,
    ORPHANS,
    REKEYED,
    SOURCE_COL,
)
from segflow.warehouse import tables
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["KEYS", "attach_anonymous", "collect_anonymous_links", "rekey_tables"]

#: Keyed kinds whose rows may collide after re-keying, with the row that wins:
#: identities keep the first (insert-only), the others the latest load.
KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "identities": (("type", "value"), "_load_id ASC"),
    "memberships": (("kind", "key"), "_load_id DESC"),
    "subscriptions": (("channel", "topic"), "ts DESC NULLS FIRST, _load_id DESC"),
}


def collect_anonymous_links(
    wh: Warehouse, watermark: int, attach_types: list[str], scope: str, rows: str | None = None
) -> int:
    """Record anonymous ids linked to a source: identities rows of an attach type (the
    index rows of sources in *scope*, or the table *rows* holding just those) and events
    loaded since *watermark* carrying both ``profile_id`` and ``anonymous_id`` (an
    identify call). Returns new links."""
    before = wh.count(f"SELECT count(*) FROM {ANON}")
    wh.execute(f"DELETE FROM {ANON} WHERE via = 'identities' AND source_id IN (SELECT source_id FROM {scope})")
    if attach_types:
        params = ", ".join("?" for _ in attach_types)
        source = rows or f"(SELECT * FROM {INDEX} WHERE source_id IN (SELECT source_id FROM {scope}))"
        wh.execute(
            f"INSERT INTO {ANON} SELECT DISTINCT value, source_id, 'identities' FROM {source} "
            f"WHERE status = 'ok' AND type IN ({params})",
            list(attach_types),
        )
    if wh.columns("events"):
        wh.execute(
            f"INSERT INTO {ANON} SELECT DISTINCT e.anonymous_id, e.profile_id, 'event' FROM events e "
            f"WHERE e._load_id > {int(watermark)} AND e.profile_id IS NOT NULL AND e.anonymous_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {ANON} a WHERE a.anonymous_id = e.anonymous_id "
            f"AND a.source_id = e.profile_id AND a.via = 'event')"
        )
    return wh.count(f"SELECT count(*) FROM {ANON}") - before


def _found(table: str, where: str) -> str:
    """The rows of *table* matching *where* (with their ``rowid`` as ``_row``), found in
    two steps: the row ids first, reading only the columns *where* needs, then the whole
    rows by row id, which DuckDB fetches directly. Reading every column while filtering
    took twice as long (0.64 s against 0.32 s for 3.6 k of 53 M events)."""
    return f"SELECT *, rowid AS _row FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {where})"


#: DuckDB's row group size: row ids ``g * ROW_GROUP`` to ``(g + 1) * ROW_GROUP - 1`` share one.
ROW_GROUP = 122_880
#: Rows to rewrite per row group they touch at or above which an UPDATE in place is used.
DENSE_ROWS = 32_768


def _move(wh: Warehouse, table: str, changed: str) -> int:
    """Rewrite the rows of *table* selected (with new values) by *changed*.

    *changed* is a ``SELECT t.* REPLACE (...), t.rowid AS _rid FROM <table> t ...``
    that changes ``profile_id`` and the record column only. How depends on where the
    rows lie:

    * **Together** (at least :data:`DENSE_ROWS` per row group touched), they are updated in
      place. Rows loaded since the last resolve sit in the newest row groups: 219 k of
      the 370 k events of a new load took 0.25 s this way, against 0.76 s to delete and
      re-insert them, checkpoint included.
    * **Spread thin**, they are deleted and inserted again. An UPDATE rewrites both
      columns of every row group it touches: 222 k rows spread over 350 row groups took
      6.9 s, plus 6.8 s at the checkpoint, against 0.7 s.
    """
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_move AS {changed}")
    n, groups = wh.execute(f"SELECT count(*), count(DISTINCT _rid // {ROW_GROUP}) FROM _idr_move").fetchall()[0]
    t = q(table)
    if n and n >= DENSE_ROWS * groups:
        wh.execute(
            f"UPDATE {t} SET profile_id = m.profile_id, {SOURCE_COL} = m.{SOURCE_COL} "
            f"FROM _idr_move m WHERE {t}.rowid = m._rid"
        )
    elif n:
        wh.execute(f"DELETE FROM {t} WHERE rowid IN (SELECT _rid FROM _idr_move)")
        wh.execute(f"INSERT INTO {t} BY NAME SELECT * EXCLUDE (_rid) FROM _idr_move")
    wh.execute("DROP TABLE _idr_move")
    return int(n)


def rekey_tables(wh: Warehouse, watermark: int) -> dict[str, int]:
    """Point every re-keyed table at the canonical ids; return rows written per table.

    Rows stored before this run need a look only for sources that already had rows:
    sources in the previous mapping, and orphan ids (rows loaded before any profile or
    identity row named them). When no such source changed person — the usual case when
    new records join known people — the big tables are not scanned at all.
    """
    written: dict[str, int] = {}
    wm = int(watermark)
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_remap_old AS SELECT * FROM _idr_remap WHERE known "
        f"OR source_id IN (SELECT source_id FROM {ORPHANS})"
    )
    older_rows = wh.count("SELECT count(*) FROM _idr_remap_old") > 0
    present = [t for t in REKEYED if wh.columns(t)]
    # Ids of the rows loaded since the last resolve (as loaded: source ids), and the part
    # of the mapping that names them: the build side of the join that re-keys those rows
    # (a few thousand entries on an incremental run instead of the whole mapping).
    loaded_ids = [
        f"SELECT profile_id FROM {q(table)} WHERE _load_id > {wm} AND profile_id IS NOT NULL"
        for table, loaded in REKEYED.items() if loaded and table in present
    ]
    premerged = False
    if loaded_ids:
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_loaded_ids AS SELECT DISTINCT profile_id FROM ({' UNION ALL '.join(loaded_ids)})"
        )
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_loaded_map AS SELECT m.source_id, m.canonical_id FROM {MAP} m "
            f"SEMI JOIN _idr_loaded_ids l ON l.profile_id = m.source_id"
        )
        # Loaded ids of records that were already merged into another id before this run
        # (their stored rows carry that id, so the loader could not match a repeat: see
        # _dedupe). The mapping holds this run's ids now; _idr_remap the old one where it changed.
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE _idr_premerged AS SELECT m.source_id FROM _idr_loaded_map m "
            "LEFT JOIN _idr_remap r ON r.source_id = m.source_id "
            "WHERE coalesce(r.old_canonical, m.canonical_id) <> m.source_id"
        )
        premerged = wh.count("SELECT count(*) FROM _idr_premerged") > 0
    for table, loaded in REKEYED.items():
        if table not in present:
            continue
        t = q(table)
        parts = []
        # Only rows loaded for an already merged record can repeat a stored row; usually
        # none were (new records, or records of their own), and the table is not searched.
        dedupe = table in KEYS and loaded and wm > 0 and premerged and bool(wh.scalar(
            f"SELECT count(*) FROM (SELECT 1 FROM {t} WHERE _load_id > {wm} "
            f"AND profile_id IN (SELECT source_id FROM _idr_premerged) LIMIT 1)"))
        if loaded:
            # Rows loaded since the last resolve: profile_id is the source id as loaded.
            target = "coalesce(m.canonical_id, t.profile_id)"
            parts.append(
                f"SELECT t.* REPLACE ({target} AS profile_id, CASE WHEN {target} <> t.profile_id "
                f"THEN t.profile_id END AS {SOURCE_COL}), t.rowid AS _rid FROM {t} t "
                f"LEFT JOIN _idr_loaded_map m ON m.source_id = t.profile_id WHERE t._load_id > {wm} AND t.profile_id IS NOT NULL "
                f"AND ({target} <> t.profile_id OR t.{SOURCE_COL} IS NOT NULL)"
            )
            older = f"t._load_id <= {wm}"
            # A source's older rows all carry its old canonical id: join on that column (a
            # plain column key is ~3x cheaper to probe than an expression over two).
            remap = "_idr_remap_old"
            on = f"r.old_canonical = t.profile_id AND r.source_id = coalesce(t.{SOURCE_COL}, t.profile_id)"
            # The rows of those old canonical ids first, in a statement of their own: found by
            # row id (reading only profile_id), then fetched whole. Inside a bigger
            # statement, DuckDB pushed the other filters into the scan and read every column
            # of every row instead (3 s for 191 of 42 M events).
            rows = "_idr_older"
            if older_rows:
                older_sql = _found(t, "profile_id IN (SELECT DISTINCT old_canonical FROM _idr_remap_old)")
                wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_older AS {older_sql}")
        else:
            # Rows written by segflow itself (tags), possibly straight to a merged source id.
            older = "TRUE"
            remap = f"(SELECT source_id, canonical_id FROM {MAP})"
            on = f"r.source_id = coalesce(t.{SOURCE_COL}, t.profile_id)"
            rows = f"(SELECT *, rowid AS _row FROM {t})"
        # Rows from before follow their source's new canonical id (anonymous events,
        # marked '', follow their anonymous id instead: see attach_anonymous).
        if not loaded or older_rows:
            parts.append(
                f"SELECT t.* EXCLUDE (_row) REPLACE (r.canonical_id AS profile_id, CASE WHEN r.canonical_id <> r.source_id "
                f"THEN r.source_id END AS {SOURCE_COL}), t._row AS _rid FROM {rows} t JOIN {remap} r ON {on} "
                f"WHERE {older} AND coalesce(t.{SOURCE_COL}, '-') <> '' AND (t.profile_id IS DISTINCT FROM r.canonical_id "
                f"OR t.{SOURCE_COL} IS DISTINCT FROM (CASE WHEN r.canonical_id <> r.source_id THEN r.source_id END))"
            )
        # One move each: the rows loaded since the last run lie together in the newest row
        # groups, the older rows anywhere, and _move picks its way by how close they lie.
        n = sum(_move(wh, table, part) for part in parts)
        if dedupe:  # before the first resolve (wm = 0) nothing older exists
            n += _dedupe(wh, table, wm)
        written[table] = n
    # Ids of rows loaded in this run that no mapping names: orphans, until one does.
    # (Re-keying left those rows' ids as they were, so the ids taken before still hold.)
    if loaded_ids:
        wh.execute(
            f"INSERT INTO {ORPHANS} SELECT l.profile_id FROM _idr_loaded_ids l "
            f"ANTI JOIN {MAP} m ON m.source_id = l.profile_id ANTI JOIN {ORPHANS} o ON o.source_id = l.profile_id"
        )
    # The mapping gains ids only from this run's components.
    wh.execute(f"DELETE FROM {ORPHANS} WHERE source_id IN (SELECT source_id FROM _idr_newmap)")
    return written


def _dedupe(wh: Warehouse, table: str, wm: int) -> int:
    """A row loaded for a source that was already merged arrives under its source id, so
    the loader could not see the stored row it repeats; keep one per source and key.

    Rows of one source share their ``profile_id`` (its canonical id, or the source id
    while unmapped), so only rows whose ``profile_id`` a fresh row has are looked at.
    """
    keys, order = KEYS[table]
    t = q(table)
    src = f"coalesce(nullif({SOURCE_COL}, ''), profile_id)"
    key_cols = ", ".join(q(k) for k in keys)
    fresh = f"SELECT {src} AS s, {key_cols} FROM {t} WHERE _load_id > {wm}"
    join = " AND ".join(f"f.{q(k)} IS NOT DISTINCT FROM x.{q(k)}" for k in keys)
    victims = (
        f"SELECT rid FROM (SELECT x.rowid AS rid, row_number() OVER (PARTITION BY x._src, "
        f"{', '.join('x.' + q(k) for k in keys)} ORDER BY {', '.join('x.' + o.strip() for o in order.split(','))}, x.rowid) AS rn "
        f"FROM (SELECT rowid, {src} AS _src, * FROM {t} WHERE profile_id IN (SELECT profile_id FROM {t} "
        f"WHERE _load_id > {wm})) x "
        f"WHERE EXISTS (SELECT 1 FROM ({fresh}) f WHERE f.s = x._src AND {join})) WHERE rn > 1"
    )
    return int(wh.scalar(f"DELETE FROM {t} WHERE rowid IN ({victims})") or 0)


def attach_anonymous(wh: Warehouse, affected_anon: str | None, watermark: int = 0) -> tuple[int, int]:
    """Give anonymous events the canonical id of the one person their anonymous id is
    linked to (ambiguous ids — linked to several people — stay anonymous).

    *affected_anon*: table of ``anonymous_id`` to look at (None: all). Only the ids whose
    person differs from the one stored in ``anonymous_attached`` have older events to
    move, so the events table is scanned only when some id changed person; events loaded
    since *watermark* are found by their load id. Returns (events attached or moved,
    anonymous ids linked to several people).
    """
    if not wh.columns("events"):
        return 0, 0
    if not wh.table_exists(ANON_STATE):
        # A warehouse resolved before this table existed: one look at every id builds it.
        tables.ensure(wh, ANON_STATE)
        affected_anon = None
    if affected_anon and not wh.count(f"SELECT count(*) FROM {affected_anon}"):
        return 0, 0  # no anonymous id gained or lost a link: nothing to scan
    only = f"WHERE a.anonymous_id IN (SELECT anonymous_id FROM {affected_anon})" if affected_anon else ""
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_anon AS SELECT a.anonymous_id, min(m.canonical_id) AS canonical_id, "
        f"count(DISTINCT m.canonical_id) AS persons FROM {ANON} a JOIN {MAP} m ON m.source_id = a.source_id "
        f"{only} GROUP BY a.anonymous_id"
    )
    ambiguous = wh.count("SELECT count(*) FROM _idr_anon WHERE persons > 1")
    # Attached where the link is unique; back to anonymous where it became ambiguous or vanished.
    target = "CASE WHEN a.persons = 1 THEN a.canonical_id END"
    mark = "CASE WHEN a.persons = 1 THEN '' END"

    def move(where: str) -> int:
        # The anonymous events wanted first (a filter inside the scan), then the join. A few
        # devices' events are found by row id; every anonymous event (a full run) by a scan.
        anonymous = f"anonymous_id IS NOT NULL AND (profile_id IS NULL OR {SOURCE_COL} = '') {where}"
        rows = f"({_found('events', anonymous)})" if where else f"(SELECT *, rowid AS _row FROM events WHERE {anonymous})"
        return _move(wh, "events",
            f"SELECT e.* EXCLUDE (_row) REPLACE ({target} AS profile_id, {mark} AS {SOURCE_COL}), e._row AS _rid "
            f"FROM {rows} e LEFT JOIN _idr_anon a ON a.anonymous_id = e.anonymous_id "
            f"WHERE (e.profile_id IS DISTINCT FROM {target} OR e.{SOURCE_COL} IS DISTINCT FROM {mark})"
        )

    if affected_anon is None:
        moved = move("")
        wh.execute(f"DELETE FROM {ANON_STATE}")
    else:
        # Anonymous events loaded since the last run (row groups of older loads are skipped).
        moved = move(f"AND _load_id > {int(watermark)} AND anonymous_id IN (SELECT anonymous_id FROM {affected_anon})")
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_anon_changed AS SELECT f.anonymous_id FROM {affected_anon} f "
            f"LEFT JOIN _idr_anon a ON a.anonymous_id = f.anonymous_id "
            f"LEFT JOIN {ANON_STATE} s ON s.anonymous_id = f.anonymous_id WHERE ({target}) IS DISTINCT FROM s.canonical_id"
        )
        if wh.count("SELECT count(*) FROM _idr_anon_changed"):
            moved += move("AND anonymous_id IN (SELECT anonymous_id FROM _idr_anon_changed)")
        wh.execute(f"DELETE FROM {ANON_STATE} WHERE anonymous_id IN (SELECT anonymous_id FROM {affected_anon})")
    wh.execute(f"INSERT INTO {ANON_STATE} SELECT anonymous_id, canonical_id FROM _idr_anon WHERE persons = 1")
    wh.execute("DROP TABLE IF EXISTS _idr_anon")
    return moved, ambiguous
