"""Run a benchmark suite: ``python bench/run.py load [--profiles N] [--seed S] ...``.

Suites write their figures to ``bench/results/<suite>-*.json`` and regenerate their own
section of ``docs/benchmarks.md``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402

from bench.common import DOCS_FILE, machine_line  # noqa: E402

console = Console() if sys.stdout.isatty() else Console(width=160)


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if not kinds:
        raise argparse.ArgumentTypeError("give at least one kind")
    return kinds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    suites = parser.add_subparsers(dest="suite", required=True)
    load = suites.add_parser("load", help="segflow load vs a DuckDB floor and a pandas baseline")
    load.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    load.add_argument("--seed", type=int, default=0, help="generator seed")
    load.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of generated shops")
    load.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch databases (deleted)")
    load.add_argument("--kinds", type=_kinds, default=("events", "profiles", "orders"), help="comma-separated")
    load.add_argument("--repeat", type=int, default=1, help="runs per side; the median is reported")
    load.add_argument("--pandas-max-rows", type=int, default=5_000_000,
                      help="pandas reads at most this many rows; its rate is extrapolated")
    load.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 1), help="last day of history")
    load.add_argument("--days", type=int, default=365, help="days of history")
    load.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    load.add_argument("--idle-timeout", type=float, default=120.0,
                      help="before each run wait up to this many seconds for other processes "
                           "to go quiet (0: do not wait)")
    load.add_argument("--generate-only", action="store_true", help="only generate (or find) the shop")
    pj = suites.add_parser("project", help="make (or find) the loaded project of a shop, for the query suites")
    pj.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    pj.add_argument("--seed", type=int, default=0, help="generator seed")
    pj.add_argument("--days", type=int, default=365, help="days of history")
    pj.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    rl = suites.add_parser("rules", help="a 6-condition segment rule: segflow vs floor, pandas, Mautic-style")
    rl.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    rl.add_argument("--seed", type=int, default=0, help="generator seed")
    rl.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    rl.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    rl.add_argument("--evaluator-sample", type=int, default=200, help="profiles for the single-profile evaluator")
    rl.add_argument("--idle-timeout", type=float, default=60.0,
                    help="before each side wait up to this many seconds for other processes to go quiet")
    rl.add_argument("--no-mautic", action="store_true", help="skip the Mautic-style PostgreSQL side")
    rl.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    pv = suites.add_parser("preview", help="segflow segment preview --members as a process vs its query alone")
    pv.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    pv.add_argument("--seed", type=int, default=0, help="generator seed")
    pv.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    pv.add_argument("--repeat", type=int, default=5, help="timed runs per side after a warm-up; median reported")
    pv.add_argument("--idle-timeout", type=float, default=60.0,
                    help="before each side wait up to this many seconds for other processes to go quiet")
    pv.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    sg = suites.add_parser("segments", help="refresh a ~20%% segment after a day of events vs a Mautic-style rebuild")
    sg.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    sg.add_argument("--seed", type=int, default=0, help="generator seed")
    sg.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    sg.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    sg.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    sg.add_argument("--idle-timeout", type=float, default=60.0,
                    help="before each side wait up to this many seconds for other processes to go quiet")
    sg.add_argument("--no-templates", action="store_true", help="skip refreshing every installed template")
    sg.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    tg = suites.add_parser("tags", help="refresh every e-commerce template tag after a day vs delete + insert")
    tg.add_argument("--profiles", type=int, default=100_000, help="profiles in the synthetic shop")
    tg.add_argument("--seed", type=int, default=0, help="generator seed")
    tg.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    tg.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    tg.add_argument("--repeat", type=int, default=1, help="timed runs per side; median reported")
    tg.add_argument("--idle-timeout", type=float, default=60.0,
                    help="before each side wait up to this many seconds for other processes to go quiet")
    tg.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    idn = suites.add_parser("identity", help="segflow resolve vs networkx; incremental 1 %% new records vs full")
    idn.add_argument("--profiles", type=int, default=100_000, help="profiles in the synthetic shop")
    idn.add_argument("--seed", type=int, default=0, help="generator seed")
    idn.add_argument("--days", type=int, default=365,
                     help="days of history (fewer days: same identifiers, fewer events)")
    idn.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    idn.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch projects (deleted)")
    idn.add_argument("--new-fraction", type=float, default=0.01, help="new records for the incremental run")
    idn.add_argument("--idle-timeout", type=float, default=60.0,
                     help="before each side wait up to this many seconds for other processes to go quiet")
    idn.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    rf = suites.add_parser("rfm", help="the guide's RFM model end to end vs pandas and the template's rfm tags")
    rf.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    rf.add_argument("--seed", type=int, default=0, help="generator seed")
    rf.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    rf.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    rf.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    rf.add_argument("--idle-timeout", type=float, default=60.0, help="seconds to wait for a quiet machine per run")
    rf.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    cl = suites.add_parser("clv", help="fit BG/NBD and Gamma-Gamma and score every customer vs lifetimes")
    cl.add_argument("--profiles", type=int, default=1_000_000, help="customers in the synthetic summary")
    cl.add_argument("--seed", type=int, default=0, help="simulation seed")
    cl.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    cl.add_argument("--idle-timeout", type=float, default=60.0,
                    help="before each side wait up to this many seconds for other processes to go quiet")
    cl.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    ac = suites.add_parser("activity", help="the activity and loyalty model end to end vs its query and pandas")
    ac.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    ac.add_argument("--seed", type=int, default=0, help="generator seed")
    ac.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    ac.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    ac.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    ac.add_argument("--idle-timeout", type=float, default=60.0, help="seconds to wait for a quiet machine per run")
    ac.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    lc = suites.add_parser("lifecycle", help="one day of the lifecycle stages end to end vs its query and pandas")
    lc.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    lc.add_argument("--seed", type=int, default=0, help="generator seed")
    lc.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    lc.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    lc.add_argument("--repeat", type=int, default=3, help="timed runs per side after a warm-up; median reported")
    lc.add_argument("--idle-timeout", type=float, default=60.0, help="seconds to wait for a quiet machine per run")
    lc.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    tr = suites.add_parser("tracking", help="Segment-compatible tracking ingest on loopback vs a plain endpoint")
    tr.add_argument("--events", type=int, default=200_000, help="track calls sent")
    tr.add_argument("--batch", type=int, default=100, help="calls per /v1/batch request")
    tr.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    tr.add_argument("--steady", type=float, default=10_000.0, help="events/s of the paced latency run (0: none)")
    tr.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch projects (deleted)")
    tr.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    la = suites.add_parser("latency", help="event-triggered journeys: event sent → outbox row, under a steady stream")
    la.add_argument("--profiles", type=int, default=100_000, help="profiles in the project")
    la.add_argument("--rate", type=float, default=200.0, help="events per second sent")
    la.add_argument("--seconds", type=float, default=30.0, help="how long the stream runs")
    la.add_argument("--interval", type=float, default=0.2, help="segflow serve --interval")
    la.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch projects (deleted)")
    la.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    jr = suites.add_parser("journeys", help="journey step transitions/s on SQLite and PostgreSQL vs a Mautic-style "
                                            "runner; messages/s to a local SMTP sink")
    jr.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the project")
    jr.add_argument("--entering", type=int, default=200_000, help="profiles entering the journey")
    jr.add_argument("--baseline-sample", type=int, default=20_000, help="runs the Mautic-style side advances")
    jr.add_argument("--messages", type=int, default=5_000, help="messages sent to the SMTP sink")
    jr.add_argument("--seed", type=int, default=0, help="(names the results file)")
    jr.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch projects (deleted)")
    jr.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    cs = suites.add_parser("clusters", help="the k-means clusters model end to end vs pandas + scikit-learn")
    cs.add_argument("--profiles", type=int, default=1_000_000, help="profiles in the synthetic shop")
    cs.add_argument("--rows", type=int, default=1_000_000, help="rows of the planted matrix (0: skip it)")
    cs.add_argument("--seed", type=int, default=0, help="generator and model seed")
    cs.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of shops and projects")
    cs.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch project (deleted)")
    cs.add_argument("--repeat", type=int, default=1, help="timed runs per side; median reported")
    cs.add_argument("--idle-timeout", type=float, default=60.0, help="seconds to wait for a quiet machine per run")
    cs.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS_FILE.name}")
    bd = suites.add_parser("breakdown", help="time every statement and step of one segflow load")
    bd.add_argument("--profiles", type=int, default=100_000, help="profiles in the synthetic shop")
    bd.add_argument("--seed", type=int, default=0, help="generator seed")
    bd.add_argument("--data", type=Path, default=Path("bench/data"), help="cache of generated shops")
    bd.add_argument("--out", type=Path, default=Path("bench/out"), help="scratch databases (deleted)")
    bd.add_argument("--kind", default="events", help="kind file to load")
    bd.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the staging SELECT")
    bd.add_argument("--no-references", action="store_true", help="skip the reference reads of the file")
    return parser


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
    )


def run_load(args: argparse.Namespace) -> int:
    from bench.load import TABLE_HEADERS, LoadOptions, result_rows, run_load_suite

    opts = LoadOptions(
        profiles=args.profiles, seed=args.seed, data=args.data.resolve(), out=args.out.resolve(),
        kinds=args.kinds, repeat=max(1, args.repeat), pandas_max_rows=args.pandas_max_rows,
        end=args.end, days=args.days, docs=not args.no_docs, idle_timeout=args.idle_timeout,
    )
    with _progress() as bar:
        tasks: dict[tuple[str, str], TaskID] = {}

        def task(key: tuple[str, str], total: float | None) -> TaskID:
            if key not in tasks:
                tasks[key] = bar.add_task(" ".join(key), total=total, stage="")
            return tasks[key]

        def finish_others(key: tuple[str, str]) -> None:
            for other, tid in tasks.items():  # a new step starting means the others are done
                if other != key and not bar.tasks[tid].finished:
                    bar.update(tid, total=1.0, completed=1.0, stage="done")

        def gen(stage: str, fraction: float) -> None:
            # generate_shop reports the overall fraction; the stage names what it is doing.
            key = ("generate", "shop")
            bar.update(task(key, 1.0), completed=fraction, stage=stage)

        def report(kind: str, side: str, stage: str, fraction: float | None) -> None:
            finish_others((kind, side))
            bar.update(task((kind, side), None), stage=stage)
            if fraction is not None:
                bar.update(tasks[(kind, side)], total=1.0, completed=fraction)
            if not console.is_terminal and (stage.startswith("run ") or fraction == 1.0):
                console.log(f"{kind} {side}: {stage}")

        if args.generate_only:
            from bench.load import ensure_shop

            shop, _ = ensure_shop(opts, gen)
            console.print(f"Shop ready in {shop}")
            return 0
        data = run_load_suite(opts, report, gen)
        for tid in tasks.values():
            if not bar.tasks[tid].finished:
                bar.update(tid, total=1.0, completed=1.0, stage="done")

    table = Table(title=f"load: {opts.profiles:,} profiles, seed {opts.seed}")
    for i, h in enumerate(TABLE_HEADERS):
        table.add_column(h, justify="right" if i else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    if any(k["sides"]["pandas"]["extrapolated"] for k in data["kinds"]):
        console.print(f"* pandas ran on the first {opts.pandas_max_rows:,} rows; its rate is extrapolated.")
    bad = [k["kind"] for k in data["kinds"] if not k["sanity_ok"]]
    for k in data["kinds"]:
        console.print(f"[dim]{k['kind']}: rows check {k['sanity']}[/dim]")
    if opts.docs:
        console.print(f"Updated {DOCS_FILE}")
    return 1 if bad else 0


def run_breakdown(args: argparse.Namespace) -> int:
    from bench.breakdown import breakdown_for
    from bench.load import PROJECT_SETTINGS, RESULTS_DIR, LoadOptions, ensure_shop, file_of

    opts = LoadOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), out=args.out.resolve())
    with console.status("generating / finding the shop"):
        shop, manifest = ensure_shop(opts)
    name, rows = file_of(manifest, args.kind)
    with console.status(f"loading {name} ({rows:,} rows) with every statement timed"):
        bd = breakdown_for(args.kind, shop / name, opts.out, PROJECT_SETTINGS, explain=args.explain,
                           references=not args.no_references)
    steps = Table(title=f"ws.load({args.kind!r}): {bd.total:.2f} s for {rows:,} rows")
    for col in ("step", "seconds", "% of load"):
        steps.add_column(col, justify="left" if col == "step" else "right")
    for name_, secs in bd.steps:
        steps.add_row(name_, f"{secs:.2f}", f"{100 * secs / bd.total:.0f}%")
    console.print(steps)
    stmts = Table(title="slowest SQL statements (execute + fetch)")
    for col in ("inside", "statement", "seconds", "% of load"):
        stmts.add_column(col, justify="right" if col in ("seconds", "% of load") else "left")
    for where, sql, secs in sorted(bd.statements, key=lambda s: -s[2])[:12]:
        stmts.add_row(where, " ".join(sql.split())[:110], f"{secs:.2f}", f"{100 * secs / bd.total:.0f}%")
    console.print(stmts)
    if bd.references:
        refs = Table(title="reference reads of the same file (fresh DuckDB file each)")
        for col in ("statement", "seconds", "rows/s"):
            refs.add_column(col, justify="left" if col == "statement" else "right")
        for label, secs, n in bd.references:
            refs.add_row(label, f"{secs:.2f}", f"{n / secs:,.0f}")
        console.print(refs)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = RESULTS_DIR / f"breakdown-{args.kind}-{args.profiles}-{args.seed}.txt"
    lines = [f"ws.load({args.kind!r}) {bd.total:.3f} s, {rows} rows; summary {bd.summary}", "", "steps:"]
    lines += [f"  {secs:9.3f}  {n}" for n, secs in bd.steps]
    lines += ["", "statements (execute + fetch):"]
    lines += [f"  {secs:9.3f}  [{w}] {' '.join(sql.split())}" for w, sql, secs in bd.statements]
    lines += ["", "references:"] + [f"  {secs:9.3f}  {n:,} rows  {label}" for label, secs, n in bd.references]
    if bd.explain:
        lines += ["", "EXPLAIN ANALYZE of the staging statement:", bd.explain]
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(f"Full report: {report}")
    return 0


def run_project(args: argparse.Namespace) -> int:
    from bench.load import LoadOptions
    from bench.project import ensure_project

    opts = LoadOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), days=args.days)
    with _progress() as bar:
        tid = bar.add_task("project", total=1.0, stage="")

        def report(stage: str, fraction: float | None) -> None:
            bar.update(tid, stage=stage, completed=fraction or 0.0)

        root, _ = ensure_project(opts, report)
        bar.update(tid, completed=1.0, stage="done")
    console.print(f"Project ready in {root}")
    return 0


def run_rules(args: argparse.Namespace) -> int:
    from bench.rules import RulesOptions, result_rows, run_rules_suite

    opts = RulesOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), repeat=max(1, args.repeat),
                        evaluator_sample=max(2, args.evaluator_sample), idle_timeout=args.idle_timeout,
                        docs=not args.no_docs, mautic=not args.no_mautic)
    with console.status("rules") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_rules_suite(opts, report)
    table = Table(title=f"rules: {opts.profiles:,} profiles, {data['members']:,} members")
    for i, h in enumerate(("side", "seconds", "CPU s", "÷ segflow query", "note")):
        table.add_column(h, justify="right" if i in (1, 2, 3) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    ev = data["sides"]["evaluator"]
    console.print(f"evaluator: fetch {ev['fetch_ms']:.2f} ms (batched {ev['batch_fetch_ms']:.2f} ms) "
                  f"+ evaluate {ev['evaluate_ms']:.3f} ms per profile")
    console.print(f"same members: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_preview(args: argparse.Namespace) -> int:
    from bench.preview import PreviewOptions, result_rows, run_preview_suite

    opts = PreviewOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), repeat=max(1, args.repeat),
                          idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("preview") as status:
        data = run_preview_suite(opts, lambda side, stage: status.update(f"{side}: {stage}"))
    table = Table(title=f"preview: {opts.profiles:,} profiles, {data['members']:,} members")
    for i, h in enumerate(("side", "seconds", "÷ floor", "note")):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"same ids: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_segments(args: argparse.Namespace) -> int:
    from bench.segments import SegmentsOptions, result_rows, run_segments_suite

    opts = SegmentsOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), out=args.out.resolve(),
                           repeat=max(1, args.repeat), idle_timeout=args.idle_timeout,
                           templates=not args.no_templates, docs=not args.no_docs)
    with console.status("segments") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_segments_suite(opts, report)
    seg = data["segment"]
    table = Table(title=f"segments: {data['sizes']['profiles']:,} profiles; {seg['name']} {seg['members']:,} members "
                        f"(+{seg['entered']:,} −{seg['exited']:,})")
    for i, h in enumerate(("side", "seconds", "CPU s", "÷ segflow refresh", "note")):
        table.add_column(h, justify="right" if i in (1, 2, 3) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    if data["templates"]:
        t = data["templates"]
        console.print(f"every template definition: {t['seconds']:.2f} s total")
        for d in t["definitions"]:
            secs = "-" if d["seconds"] is None else f"{d['seconds']:.3f}"
            console.print(f"  {d['kind']:8} {d['name']:45} {secs:>8} s  {d['status']}")
    console.print(f"same members: {data['same_members']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if data["same_members"] else 1


def run_tags(args: argparse.Namespace) -> int:
    from bench.tags import TagsOptions, result_rows, run_tags_suite

    opts = TagsOptions(profiles=args.profiles, seed=args.seed, data=args.data.resolve(), out=args.out.resolve(),
                       repeat=max(1, args.repeat), idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("tags") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_tags_suite(opts, report)
    table = Table(title=f"tags: {data['sizes']['profiles']:,} profiles")
    for i, h in enumerate(("tag", "members", "day-2 change", "first s", "segflow s", "rebuild s", "rebuild ÷ segflow")):
        table.add_column(h, justify="left" if i in (0, 2) else "right")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"same assignments: {data['same_assignments']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if data["same_assignments"] else 1


def run_identity(args: argparse.Namespace) -> int:
    from bench.identity import IdentityOptions, result_rows, run_identity_suite

    opts = IdentityOptions(profiles=args.profiles, seed=args.seed, days=args.days, data=args.data.resolve(), out=args.out.resolve(),
                           new_fraction=args.new_fraction, idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("identity") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_identity_suite(opts, report)
    table = Table(title=f"identity: {opts.profiles:,} profiles, {data['identifier_rows']:,} identifier rows")
    for i, h in enumerate(("side", "seconds", "CPU s", "ratio", "note")):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    checks = {"networkx same partition": data["networkx"]["same_partition"],
              "incremental equals full": data["incremental_equals_full"]}
    console.print(f"checks: {checks}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(checks.values()) else 1


def run_rfm(args: argparse.Namespace) -> int:
    from bench.rfm import HEADERS, RfmOptions, result_rows, run_rfm_suite

    opts = RfmOptions(profiles=args.profiles, seed=args.seed, data=args.data, out=args.out, repeat=args.repeat,
                      idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("rfm") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_rfm_suite(opts, report)
    n = data["sizes"]
    table = Table(title=f"rfm: {n['profiles']:,} profiles, {n['orders']:,} orders")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"checks: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_clv(args: argparse.Namespace) -> int:
    from bench.clv import HEADERS, ClvOptions, result_rows, run_clv_suite

    opts = ClvOptions(profiles=args.profiles, seed=args.seed, repeat=max(1, args.repeat),
                      idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("clv") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_clv_suite(opts, report)
    n = data["sizes"]
    table = Table(title=f"clv: {n['customers']:,} customers, {n['repeat_buyers']:,} repeat buyers")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if i in (1, 2, 3, 4) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    for side, values in data["params"].items():
        console.print(f"  {side:26} " + "  ".join(f"{v:.5g}" for v in values))
    console.print(f"checks: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_activity(args: argparse.Namespace) -> int:
    from bench.activity import HEADERS, ActivityOptions, result_rows, run_activity_suite

    opts = ActivityOptions(profiles=args.profiles, seed=args.seed, data=args.data, out=args.out,
                           repeat=max(1, args.repeat), idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("activity") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_activity_suite(opts, report)
    n = data["sizes"]
    table = Table(title=f"activity: {n['profiles']:,} profiles, {n['events']:,} events, {n['orders']:,} orders")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"checks: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_lifecycle(args: argparse.Namespace) -> int:
    from bench.lifecycle import HEADERS, LifecycleOptions, result_rows, run_lifecycle_suite

    opts = LifecycleOptions(profiles=args.profiles, seed=args.seed, data=args.data, out=args.out,
                            repeat=max(1, args.repeat), idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("lifecycle") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_lifecycle_suite(opts, report)
    n = data["sizes"]
    table = Table(title=f"lifecycle: {n['profiles']:,} profiles, {n['orders']:,} orders")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"checks: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_clusters(args: argparse.Namespace) -> int:
    from bench.clusters import HEADERS, ClustersOptions, result_rows, run_clusters_suite

    opts = ClustersOptions(profiles=args.profiles, rows=args.rows, seed=args.seed, data=args.data, out=args.out,
                           repeat=max(1, args.repeat), idle_timeout=args.idle_timeout, docs=not args.no_docs)
    with console.status("clusters") as status:
        def report(side: str, stage: str) -> None:
            status.update(f"{side}: {stage}")
            if not console.is_terminal:
                console.log(f"{side}: {stage}")

        data = run_clusters_suite(opts, report)
    n = data["sizes"]
    table = Table(title=f"clusters: {n['profiles']:,} profiles, {n['orders']:,} orders, {n['events']:,} events")
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="right" if i in (1, 2) else "left")
    for row in result_rows(data):
        table.add_row(*row)
    console.print(table)
    console.print(f"checks: {data['checks']}")
    console.print(f"[dim]{machine_line(data['machine'])}[/dim]")
    return 0 if all(data["checks"].values()) else 1


def run_journeys_bench(args: argparse.Namespace) -> int:
    from bench.journeys import JourneysOptions, render, run_journeys_suite

    opts = JourneysOptions(profiles=args.profiles, entering=args.entering, seed=args.seed, out=args.out.resolve(),
                           baseline_sample=args.baseline_sample, messages=args.messages, docs=not args.no_docs)
    with console.status("journeys") as status:
        def report(stage: str) -> None:
            status.update(stage)
            if not console.is_terminal:
                console.log(stage)

        data = run_journeys_suite(opts, report)
    console.print(render([data]))
    return 0 if data["messages"]["sink_received"] == data["messages"]["messages"] else 1


def run_tracking_bench(args: argparse.Namespace) -> int:
    from bench.tracking import TrackingOptions, render, run_tracking_suite

    opts = TrackingOptions(events=args.events, batch=args.batch, connections=args.connections, steady=args.steady,
                           out=args.out.resolve(), docs=not args.no_docs)
    with console.status("tracking") as status:
        def report(stage: str) -> None:
            status.update(stage)
            if not console.is_terminal:
                console.log(stage)

        data = run_tracking_suite(opts, report)
    console.print(render([data]))
    s = data["sides"]["segflow"]
    sent = s["events"] + (s["steady"]["events"] if s.get("steady") else 0)
    return 0 if s["failures"] == 0 and s.get("in_warehouse") == sent else 1


def run_latency_bench(args: argparse.Namespace) -> int:
    from bench.journey_latency import LatencyOptions, render, run_latency_suite

    opts = LatencyOptions(profiles=args.profiles, rate=args.rate, seconds=args.seconds, interval=args.interval,
                          out=args.out.resolve(), docs=not args.no_docs)
    with console.status("latency") as status:
        def report(stage: str) -> None:
            status.update(stage)
            if not console.is_terminal:
                console.log(stage)

        data = run_latency_suite(opts, report)
    console.print(render([data]))
    return 0 if data["api"]["missing"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.suite == "latency":
        return run_latency_bench(args)
    if args.suite == "journeys":
        return run_journeys_bench(args)
    if args.suite == "tracking":
        return run_tracking_bench(args)
    if args.suite == "identity":
        return run_identity(args)
    if args.suite == "tags":
        return run_tags(args)
    if args.suite == "segments":
        return run_segments(args)
    if args.suite == "rules":
        return run_rules(args)
    if args.suite == "preview":
        return run_preview(args)
    if args.suite == "project":
        return run_project(args)
    if args.suite == "load":
        return run_load(args)
    if args.suite == "clv":
        return run_clv(args)
    if args.suite == "rfm":
        return run_rfm(args)
    if args.suite == "activity":
        return run_activity(args)
    if args.suite == "lifecycle":
        return run_lifecycle(args)
    if args.suite == "clusters":
        return run_clusters(args)
    if args.suite == "breakdown":
        return run_breakdown(args)
    raise AssertionError(args.suite)


if __name__ == "__main__":
    sys.exit(main())
