"""The ``identity`` suite: ``segflow resolve`` against a networkx baseline, and an
incremental run for 1 % new records against a full run.

    python bench/run.py identity --profiles 100000 [--seed 0] [--new-fraction 0.01]

On scratch copies of the loaded shop's project (``bench/project.py``), in one run:

1. **segflow full**: ``resolve_identities`` on the freshly loaded shop — indexing and
   normalising every identifier, components (scipy), canonical profiles, and
   re-keying identities, events, orders, memberships and subscriptions;
2. **networkx**: ``bench/baselines/networkx_resolve.py`` in its own process, on the
   same edges as segflow's graph (exported after step 1: the normalised identifiers
   that may merge, junk left out) — graph building, ``connected_components`` and
   naming each person after its oldest record, *without* any re-keying; the two
   partitions are compared;
3. **new records**: 1 % of the shop's profiles again under new ids (``new_…``) with
   their identities and events — half keep their e-mail and phone (another channel of
   a known customer, so they merge into existing people), half lose them (new people);
4. **segflow incremental**: the copy of step 1 loads them (not timed) and resolves;
5. **segflow full (same data)**: a second fresh copy loads the shop plus the new
   records and resolves from scratch; its partition must equal step 4's. The ids may
   differ, as documented (docs/identity.md): person ids are stable, so step 4 keeps the
   ids of step 1, while a first run names a person after its oldest record, and a new
   record with a ``profiles`` row is "older" than a WeChat follower known only from
   ``identities`` (and than a record without ``created_at``). The people named
   differently are counted (at 1M: 5 of 692,580).

Ratios: networkx ÷ segflow full (target ≥ 10) and full ÷ incremental (target ≥ 20); the
latter also with each run's close (its checkpoint, when the commit did not take it), which
is timed beside the run. Each scratch copy is written to disk before anything is timed.
Figures go to ``bench/results/identity-<profiles>-<seed>.json`` and the ``identity``
section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    CpuMeter,
    machine_info,
    machine_line,
    markdown_table,
    peak_rss_mb,
    stopwatch,
    wait_until_idle,
    write_section,
)

__all__ = ["IdentityOptions", "render_section", "result_rows", "run_identity_suite"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]


@dataclass
class IdentityOptions:
    profiles: int = 100_000
    seed: int = 0
    #: Days of history; fewer days give the same identifiers with fewer events, which is
    #: how the 10M-identifier-row run (2.6M profiles) stays within one machine.
    days: int = 365
    data: Path = REPO / "bench" / "data"
    out: Path = REPO / "bench" / "out"
    new_fraction: float = 0.01
    idle_timeout: float = 60.0
    docs: bool = True

    @property
    def command(self) -> str:
        days = f" --days {self.days}" if self.days != 365 else ""
        return f"python bench/run.py identity --profiles {self.profiles} --seed {self.seed}{days}"


def _new_records(shop: Path, out: Path, fraction: float) -> dict[str, int]:
    """Write 1 % of the shop's profiles again under new ids (profiles, identities, events)."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    every = max(1, round(1 / fraction))
    # Deterministic sample; even hashes keep their e-mail and phone (they merge), odd ones drop them.
    con.execute(
        f"CREATE TABLE pick AS SELECT profile_id, hash(profile_id) % 2 = 0 AS keep FROM read_csv(?, all_varchar = true) "
        f"WHERE hash(profile_id || 'new') % {every} = 0",
        [str(shop / "profiles.csv")],
    )
    counts = {}
    profiles = (
        "SELECT p.* REPLACE ('new_' || p.profile_id AS profile_id, CASE WHEN k.keep THEN p.email END AS email, "
        "CASE WHEN k.keep THEN p.phone END AS phone, '2026-11-01T00:00:00Z' AS created_at) "
        "FROM read_csv(?, all_varchar = true) p JOIN pick k USING (profile_id)"
    )
    identities = (
        "SELECT 'new_' || i.profile_id AS profile_id, i.type, i.value FROM read_csv(?, all_varchar = true) i "
        "JOIN pick k USING (profile_id) WHERE k.keep OR i.type NOT IN ('email', 'phone', 'wechat_unionid', 'crm_contact_id')"
    )
    events = (
        "SELECT e.* REPLACE ('new_' || e.event_id AS event_id, 'new_' || e.profile_id AS profile_id) "
        "FROM read_csv(?, all_varchar = true) e JOIN pick k USING (profile_id)"
    )
    for kind, sql in (("profiles", profiles), ("identities", identities), ("events", events)):
        target = out / f"{kind}.csv"
        con.execute(f"COPY ({sql}) TO '{str(target).replace(chr(39), chr(39) * 2)}' (HEADER)", [str(shop / f"{kind}.csv")])
        counts[kind] = int(con.execute("SELECT count(*) FROM read_csv(?)", [str(target)]).fetchall()[0][0])
    con.close()
    return counts


def _export_edges(ws: Any, folder: Path) -> dict[str, int]:
    """The graph segflow used, as networkx input: merge edges (junk left out) and sources."""
    from segflow.identity.store import INDEX, SOURCES

    opts = ws.config.identity
    con = ws.warehouse.con
    folder.mkdir(parents=True, exist_ok=True)
    types = ", ".join("?" for _ in opts.merge_types)
    ok = f"status = 'ok' AND type IN ({types})"
    edges = (
        f"SELECT DISTINCT x.source_id, x.type || ':' || x.value AS ident FROM {INDEX} x ANTI JOIN "
        f"(SELECT type, value FROM {INDEX} WHERE {ok} GROUP BY type, value HAVING count(DISTINCT source_id) > "
        f"{int(opts.junk_cap)}) j ON j.type = x.type AND j.value = x.value WHERE x.{ok.replace(' AND type', ' AND x.type')}"
    )
    con.execute(f"COPY ({edges}) TO '{folder / 'edges.parquet'}' (FORMAT parquet)", list(opts.merge_types) * 2)
    sources = (
        f"SELECT u.source_id, s.profile_id IS NULL AS no_profile, "
        f"coalesce(epoch(s.created_at), 1e18)::DOUBLE AS created_key FROM "
        f"(SELECT profile_id AS source_id FROM {SOURCES} UNION SELECT source_id FROM {INDEX}) u "
        f"LEFT JOIN {SOURCES} s ON s.profile_id = u.source_id"
    )
    con.execute(f"COPY ({sources}) TO '{folder / 'sources.parquet'}' (FORMAT parquet)")
    n_edges = con.execute(f"SELECT count(*) FROM '{folder / 'edges.parquet'}'").fetchall()[0][0]
    n_sources = con.execute(f"SELECT count(*) FROM '{folder / 'sources.parquet'}'").fetchall()[0][0]
    return {"edges": int(n_edges), "sources": int(n_sources)}


def _timed_resolve(root: Path, idle_timeout: float, report: Reporter, label: str) -> dict[str, Any]:
    import segflow
    from segflow.identity.resolve import resolve_identities

    report(label, "waiting for the machine to go quiet")
    wait_until_idle(timeout=idle_timeout)
    ws = segflow.open(root)
    ws.warehouse  # noqa: B018 - open (and sync the schema) outside the timing
    # Python's imports of the graph libraries stay outside the timing too, as networkx's do.
    import numpy  # noqa: F401
    import pyarrow  # noqa: F401
    import scipy.sparse.csgraph  # noqa: F401
    report(label, "resolving")
    with CpuMeter() as meter, stopwatch() as sw:
        summary = resolve_identities(ws)
    # DuckDB checkpoints inside the commit when a transaction wrote more than its
    # checkpoint_threshold (16 MB) to the write-ahead log, and otherwise when the database
    # closes: a small run's checkpoint lands here, so the close is timed too (reported
    # beside the run, as the load suite does).
    with stopwatch() as closing:
        ws.close()
    return {"seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds, "other_cores": round(meter.other_cores, 2),
            "close_seconds": closing.seconds, "summary": summary.to_dict()}


def _same_partition(a: Path, b: str, where: str = "") -> bool:
    """Whether two persons tables (source_id, canonical_id) hold the same mapping."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    left = f"SELECT source_id, canonical_id FROM a.profile_map {where}"
    diff = con.execute(f"SELECT count(*) FROM (({left}) EXCEPT ({b})) UNION ALL SELECT count(*) FROM (({b}) EXCEPT ({left}))").fetchall()
    con.close()
    return all(n == 0 for (n,) in diff)


def run_identity_suite(opts: IdentityOptions, report: Reporter) -> dict[str, Any]:
    """Run every side (see the module docstring); save and return the figures."""
    from bench.load import LoadOptions, shop_dir, size_tag
    from bench.project import ensure_project, scratch_copy

    report("project", "making or finding the loaded shop")
    load_opts = LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data, days=opts.days)
    root, _ = ensure_project(load_opts)
    shop = shop_dir(load_opts)
    tag = size_tag(opts.profiles, opts.seed, opts.days)
    work = opts.out / f"identity-{tag}"
    if work.exists():
        shutil.rmtree(work)
    data: dict[str, Any] = {"profiles": opts.profiles, "seed": opts.seed, "days": opts.days, "command": opts.command,
                            "machine": machine_info(opts.out if opts.out.exists() else None)}
    try:
        a = scratch_copy(root, work / "a")
        full = _timed_resolve(a, opts.idle_timeout, report, "segflow full")
        data["full"] = full
        import segflow

        ws = segflow.open(a)
        data["graph"] = _export_edges(ws, work / "graph")
        data["identifier_rows"] = int(ws.warehouse.con.execute("SELECT count(*) FROM identity_index").fetchall()[0][0])
        data["rows"] = ws.table_counts()
        ws.close()

        report("networkx", "waiting for the machine to go quiet")
        wait_until_idle(timeout=opts.idle_timeout)
        report("networkx", "connected components")
        with CpuMeter() as meter:
            done = subprocess.run(
                [sys.executable, str(REPO / "bench" / "baselines" / "networkx_resolve.py"),
                 str(work / "graph" / "edges.parquet"), str(work / "graph" / "sources.parquet"),
                 str(work / "graph" / "networkx.parquet")],
                capture_output=True, text=True, check=True,
            )
        nx_figures = json.loads(done.stdout.strip().splitlines()[-1])
        nx_figures["other_cores"] = round(meter.other_cores, 2)
        nx_figures["same_partition"] = _same_partition(
            a / ".segflow" / "warehouse.duckdb", f"SELECT * FROM '{work / 'graph' / 'networkx.parquet'}'")
        data["networkx"] = nx_figures

        report("new records", "writing 1 % new records")
        data["new_records"] = _new_records(shop, work / "new", opts.new_fraction)
        ws = segflow.open(a)
        for kind in ("profiles", "identities", "events"):
            ws.load(kind, [work / "new" / f"{kind}.csv"])
        ws.close()
        data["incremental"] = _timed_resolve(a, opts.idle_timeout, report, "segflow incremental")

        b = scratch_copy(root, work / "b")
        ws = segflow.open(b)
        for kind in ("profiles", "identities", "events"):
            ws.load(kind, [work / "new" / f"{kind}.csv"])
        ws.close()
        data["full_same_data"] = _timed_resolve(b, opts.idle_timeout, report, "segflow full (same data)")
        data["incremental_vs_full"] = _compare_maps(a, b)
        data["incremental_equals_full"] = data["incremental_vs_full"]["same_partition"]
        data["peak_rss_mb"] = round(peak_rss_mb(), 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    data["ratios"] = {
        "networkx_over_segflow_full": data["networkx"]["total_s"] / data["full"]["seconds"],
        "networkx_components_over_segflow_full": data["networkx"]["components_s"] / data["full"]["seconds"],
        # Like for like: segflow's graph step (from the identifier index to every record's
        # person: codes, edges, junk out, scipy, naming) against networkx doing the same.
        "networkx_over_segflow_graph": data["networkx"]["total_s"] / _graph_seconds(data["full"]),
        "full_over_incremental": data["full_same_data"]["seconds"] / data["incremental"]["seconds"],
        # The same with each run's close (its checkpoint, when the commit left it in the WAL).
        "full_over_incremental_with_close": _with_close(data["full_same_data"]) / _with_close(data["incremental"]),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"identity-{tag}.json").write_text(
        json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    if opts.docs:
        write_section("identity", render_all())
    return data


def render_all(results: Path = RESULTS_DIR) -> str:
    """The docs section: every saved size of this suite, smallest first."""
    runs = []
    for path in results.glob("identity-*-*.json"):
        runs.append(json.loads(path.read_text(encoding="utf-8")))
    runs.sort(key=lambda d: (d["profiles"], d["seed"], d.get("days", 365)))
    intro = (
        "## Identity resolution (`identity`)\n\n"
        "`segflow resolve` on the loaded synthetic shop, side by side in one run with a networkx\n"
        "connected-components baseline on the same edges, and an incremental run for 1 % new records\n"
        "against a full run on the same data (see `bench/identity.py`). The issue's 10 M identifier rows\n"
        "come from `--profiles 2600000 --days 90`: the generator gives the same identifiers for a\n"
        "shorter history, with fewer events. Targets: networkx ÷ segflow full ≥ 10, full ÷ incremental\n"
        "≥ 20. \"networkx ÷ segflow graph\" compares like with like: networkx's whole run against the\n"
        "`components` phase of segflow's full run (scope, junk values, edges, scipy, naming each person),\n"
        "both from merge edges to every record's person; the graph libraries' imports are outside both\n"
        "timings. \"Reading the figures\" below the generated part says where the time goes.\n\n"
    )
    return intro + "\n".join(render_section(d) for d in runs)


def _compare_maps(a: Path, b: Path) -> dict[str, Any]:
    """Whether two projects' ``profile_map`` put the same records together (a bijection
    between their canonical ids), and how many people are named differently."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{a / '.segflow' / 'warehouse.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b / '.segflow' / 'warehouse.duckdb'}' AS b (READ_ONLY)")
    only, pairs, left, right, renamed = con.execute(
        "WITH j AS (SELECT x.canonical_id AS ca, y.canonical_id AS cb FROM a.profile_map x "
        "FULL JOIN b.profile_map y USING (source_id)) "
        "SELECT count(*) FILTER (WHERE ca IS NULL OR cb IS NULL), count(DISTINCT (ca, cb)), count(DISTINCT ca), "
        "count(DISTINCT cb), count(DISTINCT ca) FILTER (WHERE ca <> cb) FROM j"
    ).fetchall()[0]
    con.close()
    return {"same_partition": only == 0 and pairs == left == right, "persons": int(left),
            "named_differently": int(renamed)}


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    """Rows of the results table: side, seconds, CPU s, ratio, note."""
    full, nx, inc, full2 = data["full"], data["networkx"], data["incremental"], data["full_same_data"]
    s = full["summary"]
    return [
        ["segflow resolve (full, incl. re-keying)", f"{full['seconds']:.2f}", f"{full['cpu_seconds']:.2f}", "1.0×",
         f"{s['sources']:,} records → {s['persons']:,} people; {sum(s['rekeyed'].values()):,} rows re-keyed"],
        ["networkx (graph + components + naming only)", f"{nx['total_s']:.2f}", "", 
         f"networkx ÷ segflow = {nx['total_s'] / full['seconds']:.2f}",
         f"build {nx['build_s']:.2f} s, components {nx['components_s']:.2f} s; same partition: {nx['same_partition']}"],
        ["segflow graph step only (edges → components → names)", f"{_graph_seconds(full):.2f}", "",
         f"networkx ÷ segflow graph = {nx['total_s'] / _graph_seconds(full):.1f}", "the full run's `components` phase"],
        ["segflow resolve, full run (shop + new records)", f"{full2['seconds']:.2f}", f"{full2['cpu_seconds']:.2f}", "", ""],
        ["segflow resolve, incremental (new records only)", f"{inc['seconds']:.2f}", f"{inc['cpu_seconds']:.2f}",
         f"full ÷ incremental = {full2['seconds'] / inc['seconds']:.1f}",
         f"{inc['summary']['touched']:,} records looked at; same partition as full: {data['incremental_equals_full']}"
         + _renamed(data)],
    ]


def _renamed(data: dict[str, Any]) -> str:
    """How many people the incremental run names differently from a first run (stable ids)."""
    versus = data.get("incremental_vs_full")
    return f" ({versus['named_differently']:,} people keep an earlier id)" if versus else ""


def _with_close(run: dict[str, Any]) -> float:
    """A run's seconds plus closing the database after it (0 for figures saved before the
    close was timed)."""
    return float(run["seconds"]) + float(run.get("close_seconds", 0.0))


def _graph_seconds(run: dict[str, Any]) -> float:
    """The graph step of a resolve: its ``components`` phase (scope, junk, edges, scipy, naming)."""
    return float(run["summary"]["phases"]["components"])


def _phases(summary: dict[str, Any]) -> str:
    phases = summary.get("phases") or {}
    return ", ".join(f"{k} {v:.2f}" for k, v in phases.items()) or "not recorded"


def _close_note(data: dict[str, Any]) -> str:
    runs = (data["full"], data["incremental"], data["full_same_data"])
    if any("close_seconds" not in run for run in runs):
        return ""
    full, inc, full2 = (f"{run['close_seconds']:.2f}" for run in runs)
    return (
        f"\n* Closing the database after each run (not in the seconds above; DuckDB checkpoints there what\n"
        f"  the commit left in the write-ahead log): full {full} s, incremental {inc} s, full (same data)\n"
        f"  {full2} s. full ÷ incremental, each with its close: "
        f"**{data['ratios']['full_over_incremental_with_close']:.1f}×**."
    )


def render_section(data: dict[str, Any]) -> str:
    r = data["ratios"]
    g = data["graph"]
    new = data["new_records"]
    rows = result_rows(data)
    table = markdown_table(["side", "seconds", "CPU s", "ratio", "note"], rows, right={1, 2})
    days = f", {data['days']} days of history" if data.get("days", 365) != 365 else ""
    return f"""### {data['profiles']:,} profiles{days}

`{data['command']}` — {data['profiles']:,} profiles; {data['identifier_rows']:,} identifier rows
indexed; the graph: {g['sources']:,} records, {g['edges']:,} merge edges (normalised, placeholders and junk out).
New records for the incremental run: {new['profiles']:,} profiles, {new['identities']:,} identities rows,
{new['events']:,} events (half of the profiles join known people, half are new people).

{table}

* networkx ÷ segflow full: **{r['networkx_over_segflow_full']:.1f}×** (target ≥ 10×); networkx's
  `connected_components` alone ÷ segflow's whole run: {r['networkx_components_over_segflow_full']:.1f}×.
  segflow's figure includes what networkx does not do: indexing and normalising every identifier,
  the canonical profile rows and re-keying {sum(data['full']['summary']['rekeyed'].values()):,} rows of
  identities, events, orders, memberships and subscriptions.
* Like for like, networkx ÷ segflow's graph step (the same work: merge edges in, every record's person
  out): **{r.get('networkx_over_segflow_graph', float('nan')):.1f}×**.
* full ÷ incremental for {100 * new['profiles'] / max(data['full']['summary']['sources'], 1):.1f} % new records:
  **{r['full_over_incremental']:.1f}×** (target ≥ 20×).{_close_note(data)}
* Where the full run's time goes (s): {_phases(data['full']['summary'])}; the incremental run:
  {_phases(data['incremental']['summary'])}.
* Other processes' CPU during the runs (cores): full {data['full']['other_cores']}, networkx
  {data['networkx']['other_cores']}, incremental {data['incremental']['other_cores']}, full (same data)
  {data['full_same_data']['other_cores']} — the machine is shared.

{machine_line(data['machine'])}
"""
