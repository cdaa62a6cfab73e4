"""``segflow resolve``: merge source profiles that share identifiers into persons.

One warehouse transaction per run (a crash leaves the previous resolution intact):

1. **absorb** profile rows loaded since the last run into ``source_profiles``;
2. **index** the identifiers of every source whose rows changed (normalised, with
   placeholders, malformed and ignored values marked);
3. **scope**: the components those sources and identifiers touch — the sources of
   every changed identifier (unless it is junk before and after), and every source
   of their current persons (a full run takes every source);
4. **components** of the scope's graph with scipy (junk identifiers, over
   ``identity.junk_cap`` sources, and pinned sources have no edges) — so any order of
   loads and runs ends in the same partition; each person keeps the id it had (of two
   merging people, the id born first), and a person without one is named after its
   oldest source (has a profile row, earliest ``created_at``, smallest id): :mod:`.ids`;
5. **re-key** ``profiles`` (merged rows), events, orders, memberships,
   subscriptions, identities, tags and segment members; attach anonymous events;
   fold a person's duplicate tag and segment rows into one (:mod:`.fold`).

``undo_merge(ctx, source_id)`` pins a source apart (its own person from then on) and
runs the same steps for its person; ``unpin`` lifts the pin.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.identity.errors import IdentityError
from segflow.identity.fold import fold_duplicates, restore_folded
from segflow.identity.graph import component_labels
from segflow.identity.ids import name_persons, record_births
from segflow.identity.index import index_sources
from segflow.identity.junk import JUNK, junk_identifiers, merge_edges_sql, refresh_junk
from segflow.identity.merge import absorb_profiles, rebuild_profiles
from segflow.identity.persons import person_of
from segflow.identity.rekey import attach_anonymous, collect_anonymous_links, rekey_tables
from segflow.identity.store import (
    ANON,
    INDEX,
    MAP,
    META,
    SOURCES,
    ensure_identity_tables,
    max_load_id,
    watermark,
)

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.identity.config import IdentityOptions
    from segflow.warehouse.base import Warehouse

__all__ = ["ResolveSummary", "junk_identifiers", "resolve_identities", "undo_merge", "unpin"]


@dataclass
class ResolveSummary:
    """What one run did. ``sources → persons`` is the headline."""

    mode: str
    sources: int = 0
    persons: int = 0
    touched: int = 0
    remapped: int = 0
    profiles_absorbed: int = 0
    #: Junk values (over the cap), most shared first, and how many (a full run: all of
    #: them; an incremental run: those among the identifiers it looked at).
    junk: list[dict[str, Any]] = field(default_factory=list)
    junk_total: int = 0
    #: Identifier rows never used to merge, by status (full: all; incremental: of changed records).
    not_merged: dict[str, int] = field(default_factory=dict)
    rekeyed: dict[str, int] = field(default_factory=dict)
    #: Rows of one person folded into one (segment members, tags) / put back (a split).
    folded: dict[str, int] = field(default_factory=dict)
    unfolded: dict[str, int] = field(default_factory=dict)
    anonymous_attached: int = 0
    anonymous_ambiguous: int = 0
    watermark: int = 0
    seconds: float = 0.0
    #: Ids given to a person for the first time in this run (new people, split-off parts).
    ids_born: int = 0
    #: Seconds per step: absorb, index, components, profiles, rekey, anonymous, report, commit.
    phases: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The phase timed after the transaction block: the commit. Spelt so that no string
#: literal reads ``commit`` alone, which tests/test_architecture.py takes for hand-written SQL.
_COMMIT_PHASE = "commit phase".split()[0]


def _settings_fingerprint(opts: IdentityOptions, phone_country: str | None) -> str:
    body = json.dumps({"identity": opts.model_dump(), "phone_country": phone_country}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _state_run(ctx: ProjectContext, mode: str) -> int:
    from segflow.state.tables import identity_runs

    with ctx.state.begin() as conn:
        key = conn.execute(identity_runs.insert().values(
            mode=mode, started_at=ctx.clock.now(), status="running"
        )).inserted_primary_key
        assert key is not None
        return int(key[0])


def _finish_run(ctx: ProjectContext, run_id: int, status: str, summary: ResolveSummary | None, error: str | None) -> None:
    from segflow.state.tables import identity_runs

    values: dict[str, Any] = {"status": status, "finished_at": ctx.clock.now(), "error": error}
    if summary is not None:
        values.update(
            watermark=summary.watermark, sources=summary.sources, persons=summary.persons,
            touched=summary.touched, remapped=summary.remapped, junk=summary.junk_total, seconds=summary.seconds,
        )
    with ctx.state.begin() as conn:
        conn.execute(identity_runs.update().where(identity_runs.c.id == run_id).values(**values))


def _pinned(ctx: ProjectContext) -> list[str]:
    from segflow.state.tables import identity_pins

    with ctx.state.begin() as conn:
        return [r[0] for r in conn.execute(identity_pins.select().with_only_columns(identity_pins.c.source_id))]


def _temp_ids(wh: Warehouse, name: str, ids: list[str]) -> None:
    """A temp table ``name(source_id)`` of a few ids (pins, records named by a command)."""
    wh.temp_table(name, "SELECT DISTINCT unnest(?::VARCHAR[]) AS source_id", [list(ids)])


def _scope(wh: Warehouse, opts: IdentityOptions, full: bool) -> None:
    """``_idr_scope(source_id)``: the sources whose persons this run recomputes; on an
    incremental run also ``_idr_oldmap``: the mapping rows of those sources before the run."""
    if full:
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_scope AS SELECT profile_id AS source_id FROM {SOURCES} "
            f"UNION SELECT source_id FROM {INDEX} UNION SELECT source_id FROM {MAP}"
        )
        return
    xcond, params = merge_edges_sql(opts, "x")
    cap = int(opts.junk_cap)
    # Identifiers of the changed sources, before and after re-indexing.
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _idr_touched AS SELECT type, value, sum(after) AS after, sum(before) AS before "
        "FROM (SELECT type, value, 1 AS after, 0 AS before FROM _idr_new_idents "
        "UNION ALL SELECT type, value, 0, 1 FROM _idr_old_idents) GROUP BY type, value"
    )
    # Every record holding a touched identifier (one pass over the index).
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_touched_rows AS SELECT DISTINCT x.source_id, x.type, x.value "
        f"FROM {INDEX} x SEMI JOIN _idr_touched t ON t.type = x.type AND t.value = x.value WHERE {xcond}",
        params,
    )
    # Junk before and after stays junk: its sources need no look (the common case for a store phone).
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_links AS SELECT i.type, i.value FROM ("
        f"SELECT type, value, count(DISTINCT source_id) AS n FROM _idr_touched_rows GROUP BY type, value) i "
        f"JOIN _idr_touched t ON t.type = i.type AND t.value = i.value "
        f"WHERE i.n <= {cap} OR i.n - t.after + t.before <= {cap}"
    )
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _idr_seed AS SELECT source_id FROM _idr_dirty "
        "UNION SELECT x.source_id FROM _idr_touched_rows x JOIN _idr_links l ON l.type = x.type AND l.value = x.value"
    )
    # Every record of the seeds' persons, with its mapping row: the persons recomputed, and
    # (for stable ids and the remap) which of their records named them.
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_oldmap AS SELECT m.source_id, m.canonical_id FROM {MAP} m "
        f"WHERE m.canonical_id IN (SELECT m2.canonical_id FROM {MAP} m2 JOIN _idr_seed s ON s.source_id = m2.source_id)"
    )
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _idr_scope AS SELECT source_id FROM _idr_seed UNION "
        "SELECT source_id FROM _idr_oldmap"
    )


def _components(wh: Warehouse, opts: IdentityOptions, full: bool) -> None:
    """``_idr_newmap(source_id, canonical_id)`` for every source in ``_idr_scope``."""
    import numpy as np
    import pyarrow as pa

    xcond, params = merge_edges_sql(opts, "x")
    # Integer codes for scipy: any numbering will do (the person's id is chosen by its own
    # order: .ids), so rows are numbered as they come — no sort of the ids.
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _idr_codes AS SELECT source_id, (row_number() OVER () - 1)::BIGINT AS code "
        "FROM _idr_scope"
    )
    # A full run's scope is every source: no need to look each index row up in it.
    in_scope = "" if full else "x.source_id IN (SELECT source_id FROM _idr_scope) AND "
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_cand AS SELECT DISTINCT x.source_id, x.type, x.value FROM {INDEX} x "
        f"WHERE {in_scope}{xcond} AND x.source_id NOT IN (SELECT source_id FROM _idr_pins)",
        params,
    )
    # The cap counts every source holding the value, in scope or not (see .junk).
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_junk AS SELECT j.type, j.value, j.sources AS n FROM {JUNK} j "
        f"SEMI JOIN (SELECT DISTINCT type, value FROM _idr_cand) c ON c.type = j.type AND c.value = j.value"
    )
    # Identifier codes the same way: a hash DISTINCT, numbered as it comes.
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _idr_idents AS SELECT type, value, (row_number() OVER () - 1)::BIGINT AS ident "
        "FROM (SELECT DISTINCT type, value FROM _idr_cand) e "
        "WHERE NOT EXISTS (SELECT 1 FROM _idr_junk j WHERE j.type = e.type AND j.value = e.value)"
    )
    edges = wh.execute(
        "SELECT c.code, i.ident FROM _idr_cand e JOIN _idr_codes c USING (source_id) "
        "JOIN _idr_idents i ON i.type = e.type AND i.value = e.value"
    ).fetchnumpy()
    n_sources = wh.count("SELECT count(*) FROM _idr_codes")
    n_idents = wh.count("SELECT count(*) FROM _idr_idents")
    labels = component_labels(n_sources, n_idents, edges["code"], edges["ident"])
    codes = np.arange(n_sources, dtype=np.int64)
    with wh.registered("_idr_labels_arrow", pa.table({"code": codes, "label": labels})) as name:
        name_persons(wh, name, full=full)


def resolve_identities(
    ctx: ProjectContext, *, full: bool = False, extra_sources: list[str] | None = None, mode: str | None = None
) -> ResolveSummary:
    """Resolve identities in the project *ctx* (incrementally unless *full* or the first time).

    *extra_sources* are source ids to look at even if none of their rows changed (a
    pin added or lifted).
    """
    started = time.perf_counter()
    opts = ctx.config.identity
    country = ctx.config.default_phone_country
    wh = ctx.warehouse
    ensure_identity_tables(wh)
    settings = _settings_fingerprint(opts, country)
    previous = watermark(wh)
    stored = wh.scalar(f"SELECT any_value(settings) FROM {META}")
    full = full or previous is None or stored != settings
    summary = ResolveSummary(mode=mode or ("full" if full else "incremental"))
    run_id = _state_run(ctx, summary.mode)
    summary.run_id = run_id
    wm = previous or 0
    pins = _pinned(ctx)
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now_ = time.perf_counter()
        summary.phases[name] = round(summary.phases.get(name, 0.0) + now_ - clock[0], 3)
        clock[0] = now_

    try:
        with wh.transaction():
            summary.watermark = max_load_id(wh, wm)
            _temp_ids(wh, "_idr_pins", pins)
            _temp_ids(wh, "_idr_extra", list(extra_sources or []))
            wh.execute(
                f"CREATE OR REPLACE TEMP TABLE _idr_dirty AS SELECT profile_id AS source_id FROM profiles WHERE _load_id > {wm} "
                f"UNION SELECT profile_id FROM identities WHERE _load_id > {wm} UNION SELECT source_id FROM _idr_extra"
            )
            summary.profiles_absorbed = absorb_profiles(wh, wm)
            lap("absorb")
            if full:
                wh.execute(
                    f"INSERT INTO _idr_dirty SELECT profile_id FROM {SOURCES} UNION SELECT source_id FROM {INDEX} "
                    f"UNION SELECT source_id FROM {MAP}"
                )
                wh.execute("CREATE OR REPLACE TEMP TABLE _idr_dirty AS SELECT DISTINCT source_id FROM _idr_dirty")
            index_sources(wh, opts, country, scope="_idr_dirty", watermark=wm, changes=not full)
            if not full:
                cond, params = merge_edges_sql(opts)
                for when in ("old", "new"):
                    wh.execute(
                        f"CREATE OR REPLACE TEMP TABLE _idr_{when}_idents AS SELECT DISTINCT type, value "
                        f"FROM _idr_{when}_rows WHERE {cond}",
                        params,
                    )
            lap("index")
            _scope(wh, opts, full)
            refresh_junk(wh, opts, None if full else "_idr_touched")
            summary.touched = wh.count("SELECT count(*) FROM _idr_scope")
            _components(wh, opts, full)
            # The scope's mapping before this run (an incremental run kept it from the scope step).
            old = MAP if full else "_idr_oldmap"
            wh.execute(
                f"CREATE OR REPLACE TEMP TABLE _idr_remap AS SELECT n.source_id, n.canonical_id, "
                f"coalesce(o.canonical_id, n.source_id) AS old_canonical, o.source_id IS NOT NULL AS known FROM _idr_newmap n "
                f"LEFT JOIN {old} o ON o.source_id = n.source_id "
                f"WHERE n.canonical_id <> coalesce(o.canonical_id, n.source_id)"
            )
            summary.remapped = wh.count("SELECT count(*) FROM _idr_remap")
            lap("components")
            wh.execute(
                "CREATE OR REPLACE TEMP TABLE _idr_affected AS SELECT canonical_id FROM _idr_newmap "
                f"UNION SELECT canonical_id FROM {old} WHERE source_id IN (SELECT source_id FROM _idr_scope) "
                "UNION SELECT source_id FROM _idr_dirty"
            )
            now = ctx.clock.now()
            wh.execute(f"DELETE FROM {MAP} WHERE source_id IN (SELECT source_id FROM _idr_scope)")
            wh.execute(f"INSERT INTO {MAP} SELECT source_id, canonical_id, ?, ? FROM _idr_newmap", [now, run_id])
            summary.ids_born = record_births(wh, run_id, now, full=full)
            rebuild_profiles(wh, None if full else "_idr_affected")
            lap("profiles")
            collect_anonymous_links(wh, wm, list(opts.attach_types), "_idr_dirty", None if full else "_idr_new_rows")
            if full:
                affected_anon = None
            else:
                # Anonymous ids whose person may have changed, and those of anonymous events
                # loaded since the last run: a known device browsing again, or an identify call
                # (both ids) that links the device to one more record.
                wh.execute(
                    f"CREATE OR REPLACE TEMP TABLE _idr_anon_ids AS SELECT DISTINCT anonymous_id FROM {ANON} "
                    f"WHERE source_id IN (SELECT source_id FROM _idr_remap) OR source_id IN (SELECT source_id FROM _idr_dirty) "
                    f"UNION SELECT anonymous_id FROM events WHERE _load_id > {wm} AND anonymous_id IS NOT NULL"
                )
                affected_anon = "_idr_anon_ids"
            lap("anonymous")
            summary.unfolded = restore_folded(wh, None if full else "_idr_scope")
            summary.rekeyed = rekey_tables(wh, wm)
            summary.folded = fold_duplicates(wh)
            lap("rekey")
            summary.anonymous_attached, summary.anonymous_ambiguous = attach_anonymous(wh, affected_anon, wm)
            lap("anonymous")
            wh.execute(f"DELETE FROM {META}")
            wh.execute(f"INSERT INTO {META} VALUES (?, ?, ?, ?)", [summary.watermark, run_id, now, settings])
            summary.sources = wh.count(f"SELECT count(*) FROM {SOURCES}")
            summary.persons = wh.count("SELECT count(*) FROM profiles")
            # Reporting: a full run counts everything; an incremental run what it looked at.
            summary.junk_total, summary.junk = junk_identifiers(wh, opts, rows=None if full else "_idr_touched_rows")
            summary.not_merged = {
                status: int(n) for status, n in wh.execute(
                    f"SELECT status, count(*) FROM {INDEX if full else '_idr_new_rows'} WHERE status <> 'ok' "
                    f"GROUP BY status ORDER BY status"
                ).fetchall()
            }
            lap("report")
        lap(_COMMIT_PHASE)
    except BaseException as exc:
        _finish_run(ctx, run_id, "failed", None, str(exc)[:2000])
        raise
    finally:
        _drop_temps(wh)
    summary.seconds = round(time.perf_counter() - started, 3)
    _finish_run(ctx, run_id, "ok", summary, None)
    return summary


def _drop_temps(wh: Warehouse) -> None:
    rows = wh.rows(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE '\\_idr\\_%' ESCAPE '\\'"
    )
    wh.drop_tables(*(name for (name,) in rows))


def canonical_of(ctx: ProjectContext, source_id: str) -> str | None:
    """The canonical id of *source_id* (None when resolution has not seen it)."""
    wh = ctx.warehouse
    ensure_identity_tables(wh)
    return person_of(wh, source_id)


def undo_merge(ctx: ProjectContext, source_id: str, *, note: str | None = None) -> ResolveSummary:
    """Split *source_id* from its person and pin it apart, so later runs keep the split."""
    import sqlalchemy as sa

    from segflow.state.tables import identity_pins

    wh = ctx.warehouse
    ensure_identity_tables(wh)
    canonical = canonical_of(ctx, source_id)
    if canonical is None:
        raise IdentityError(f"no source profile {source_id!r} (run `segflow resolve` first?)", code="unknown_source", path=source_id)
    members = wh.count(f"SELECT count(*) FROM {MAP} WHERE canonical_id = ?", [canonical])
    if members < 2:
        raise IdentityError(
            f"{source_id!r} is not merged with any other record: nothing to undo", code="not_merged", path=source_id
        )
    with ctx.state.begin() as conn:
        exists = conn.execute(sa.select(identity_pins.c.id).where(identity_pins.c.source_id == source_id)).first()
        if exists is None:
            conn.execute(identity_pins.insert().values(
                source_id=source_id, kind="isolate", canonical_before=canonical, note=note,
                created_at=ctx.clock.now(),
            ))
    return resolve_identities(ctx, extra_sources=[source_id], mode="undo")


def unpin(ctx: ProjectContext, source_id: str) -> ResolveSummary:
    """Lift the pin on *source_id*: it merges again wherever its identifiers lead."""
    from segflow.state.tables import identity_pins

    with ctx.state.begin() as conn:
        gone = conn.execute(identity_pins.delete().where(identity_pins.c.source_id == source_id)).rowcount
    if not gone:
        raise IdentityError(f"{source_id!r} is not pinned", code="not_pinned", path=source_id)
    return resolve_identities(ctx, extra_sources=[source_id], mode="unpin")
