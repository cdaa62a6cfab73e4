"""The load suite: ``segflow load`` against a no-cleaning DuckDB floor and a pandas baseline.

For each kind file of one synthetic shop, three sides load the same file, each into a
fresh database file under ``bench/out/`` (deleted afterwards), each in its own Python
process (so one side's memory or caches never slow another):

* **floor** — ``CREATE TABLE t AS SELECT * FROM read_csv('file')`` on a new DuckDB file,
  default settings: the fastest a file can become a table, with no cleaning at all;
* **segflow** — ``segflow.init(dir)`` then ``ws.load(kind, [file])`` (only the load is timed);
* **pandas** — :mod:`bench.baselines.pandas_load` (read_csv, clean, ``to_sql`` to SQLite).

The file is read once before each kind so every side finds it in the OS page cache.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a worker script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    REPO,
    CpuMeter,
    fresh_dir,
    human_count,
    human_rate,
    human_seconds,
    machine_info,
    machine_line,
    markdown_table,
    peak_rss_mb,
    source_digest,
    stopwatch,
    wait_until_idle,
    warm_file,
    write_section,
)

__all__ = ["LoadOptions", "SideResult", "KindResult", "run_load_suite", "render_section"]

SIDES = ("floor", "segflow", "pandas")
RESULTS_DIR = REPO / "bench" / "results"
#: Settings of the benchmark project: those of ``segflow demo`` (the generator's shop is Chinese).
PROJECT_SETTINGS = {"timezone": "Asia/Shanghai", "default_phone_country": "CN"}
#: pandas ``to_sql`` settings (chosen as the faster of the two usual ones for SQLite).
PANDAS_CHUNKSIZE = 10_000
PANDAS_METHOD: str | None = None

#: ``report(kind, side, stage, fraction)`` while a side runs.
Reporter = Callable[[str, str, str, float | None], None]


@dataclass
class LoadOptions:
    profiles: int = 1_000_000
    seed: int = 0
    data: Path = REPO / "bench" / "data"
    out: Path = REPO / "bench" / "out"
    kinds: tuple[str, ...] = ("events", "profiles", "orders")
    repeat: int = 1
    pandas_max_rows: int = 5_000_000
    end: date = date(2026, 11, 1)
    days: int = 365
    docs: bool = True
    #: Before each run, wait until other processes use under 0.3 cores and the disk is
    #: quiet, for at most this many seconds (0: do not wait).
    idle_timeout: float = 120.0

    def command(self) -> str:
        return (
            f"python bench/run.py load --profiles {self.profiles} --seed {self.seed} "
            f"--kinds {','.join(self.kinds)} --repeat {self.repeat} --pandas-max-rows {self.pandas_max_rows}"
        )


@dataclass
class SideResult:
    side: str
    #: Records measured (pandas: the rows it read, possibly only the first N).
    rows: int
    #: Median over the repeats.
    seconds: float
    runs: list[float] = field(default_factory=list)
    extrapolated: bool = False
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class KindResult:
    kind: str
    file: str
    file_rows: int
    file_mib: float
    #: What the generator's manifest says a correct loader rejects and collapses.
    expected_rejects: int | None = None
    expected_duplicates: int | None = None
    sides: dict[str, SideResult] = field(default_factory=dict)

    def ratio(self, side: str) -> float:
        ours, other = self.sides.get("segflow"), self.sides.get(side)
        if ours is None or other is None:
            return float("nan")
        return ours.rate / other.rate

    def sanity(self) -> tuple[bool, str]:
        """segflow's accepted + rejected + duplicates == rows in the file."""
        seg = self.sides.get("segflow")
        if seg is None:
            return True, "n/a"
        s = seg.extra
        total = s["accepted"] + s["rejected"] + s["duplicates"]
        ok = total == s["rows"] == self.file_rows
        detail = f"{total:,} = {s['accepted']:,} + {s['rejected']:,} + {s['duplicates']:,} vs {self.file_rows:,} in the file"
        if self.expected_rejects is not None:
            detail += (f"; manifest expects {self.expected_rejects:,} rejected, "
                       f"{self.expected_duplicates:,} duplicates")
        return ok, detail


# -- the shop ---------------------------------------------------------------


def size_tag(profiles: int, seed: int, days: int = 365) -> str:
    """``<profiles>-<seed>``, plus ``-d<days>`` for a history other than a year: the name
    of a shop's (and its project's) cache folder and of the suites' result files."""
    return f"{profiles}-{seed}" + (f"-d{days}" if days != 365 else "")


def shop_dir(opts: LoadOptions) -> Path:
    return opts.data / f"shop-{size_tag(opts.profiles, opts.seed, opts.days)}"


def ensure_shop(opts: LoadOptions, progress: Callable[[str, float], None] | None = None) -> tuple[Path, dict[str, Any]]:
    """The shop's folder and manifest, generated once (into a temp folder, then renamed)."""
    target = shop_dir(opts)
    manifest = target / "manifest.json"
    if manifest.is_file():
        return target, json.loads(manifest.read_text(encoding="utf-8"))
    from segflow.generate import generate_shop

    partial = target.with_name(target.name + ".partial")
    fresh_dir(partial)
    generate_shop(
        partial, profiles=opts.profiles, seed=opts.seed, days=opts.days, end=opts.end, fmt="csv", progress=progress
    )
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    return target, json.loads(manifest.read_text(encoding="utf-8"))


def file_of(manifest: dict[str, Any], kind: str) -> tuple[str, int]:
    info = manifest["files"][kind]
    return info["file"], int(info["rows"])


# -- one side, inside a worker process ---------------------------------------


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def run_floor(kind: str, path: Path, workdir: Path) -> dict[str, Any]:
    import duckdb

    db = workdir / "floor.duckdb"
    con = duckdb.connect(str(db))
    lit = "'" + str(path).replace("'", "''") + "'"
    with stopwatch() as sw:
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({lit})")
    rows = int(con.execute("SELECT count(*) FROM t").fetchone()[0])
    with stopwatch() as closing:
        con.close()
    return {"rows": rows, "seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds, "close_seconds": closing.seconds,
            "db_mib": db.stat().st_size / 2**20}


def run_segflow(kind: str, path: Path, workdir: Path) -> dict[str, Any]:
    import segflow
    from bench.breakdown import instrumented, top_statements

    ws = segflow.init(workdir / "project", **PROJECT_SETTINGS)

    def report(stage: str, fraction: float | None) -> None:
        _emit({"progress": stage, "fraction": fraction})

    with instrumented(ws) as timings, stopwatch() as sw:
        summary = ws.load(kind, [path], progress=report)[0]
    with stopwatch() as closing:
        ws.close()
    db = workdir / "project" / ".segflow" / "warehouse.duckdb"
    return {"rows": summary.rows, "seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds,
            "close_seconds": closing.seconds, "steps": [[n, t] for n, t in timings.steps],
            "statements": top_statements(timings, sw.seconds),
            "db_mib": db.stat().st_size / 2**20, "summary": summary.to_dict()}


def run_pandas(kind: str, path: Path, workdir: Path, max_rows: int, file_rows: int) -> dict[str, Any]:
    from bench.baselines.pandas_load import load_with_pandas

    limit = max_rows if file_rows > max_rows else None
    with stopwatch() as sw:
        res = load_with_pandas(kind, path, workdir / "pandas.sqlite", max_rows=limit,
                               chunksize=PANDAS_CHUNKSIZE, method=PANDAS_METHOD)
    return {"rows": res.rows_read, "seconds": res.seconds, "cpu_seconds": sw.cpu_seconds,
            "extrapolated": limit is not None,
            "rows_written": res.rows_written, "read_seconds": res.read_seconds,
            "clean_seconds": res.clean_seconds, "write_seconds": res.write_seconds,
            "db_mib": (workdir / "pandas.sqlite").stat().st_size / 2**20, **res.details}


def worker_main(spec: dict[str, Any]) -> None:
    """Entry point of a worker process: run one side once and print its result as JSON."""
    workdir, path = Path(spec["workdir"]), Path(spec["file"])
    side, kind = spec["side"], spec["kind"]
    if side == "floor":
        out = run_floor(kind, path, workdir)
    elif side == "segflow":
        out = run_segflow(kind, path, workdir)
    else:
        out = run_pandas(kind, path, workdir, spec["pandas_max_rows"], spec["file_rows"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["load_average_1min"] = os.getloadavg()[0]
    _emit({"result": out})


# -- driving the workers -------------------------------------------------------


def _run_worker(spec: dict[str, Any], on_progress: Callable[[str, float | None], None]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env)
        result: dict[str, Any] | None = None
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "progress" in msg:
                on_progress(msg["progress"], msg["fraction"])
            elif "result" in msg:
                result = msg["result"]
        code = proc.wait()
        if code != 0 or result is None:
            err.seek(0)
            tail = err.read()[-4000:]
            raise RuntimeError(f"{spec['side']} on {spec['kind']} failed (exit {code}):\n{tail}")
    return result


def run_side(opts: LoadOptions, kind: str, side: str, path: Path, file_rows: int, report: Reporter) -> SideResult:
    """Run *side* ``opts.repeat`` times, each in a fresh folder; keep the median time."""
    runs: list[dict[str, Any]] = []
    for i in range(opts.repeat):
        if opts.idle_timeout > 0:
            report(kind, side, "waiting for other processes to go quiet", None)
            idle_before = wait_until_idle(timeout=opts.idle_timeout)
        else:
            idle_before = float("nan")
        report(kind, side, f"run {i + 1}/{opts.repeat}", None)
        workdir = fresh_dir(opts.out / f"{kind}-{side}-{i}")
        spec = {"side": side, "kind": kind, "file": str(path), "workdir": str(workdir),
                "pandas_max_rows": opts.pandas_max_rows, "file_rows": file_rows}
        try:
            with CpuMeter() as meter:
                run = _run_worker(spec, lambda stage, f: report(kind, side, stage, f))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        run["other_cores_before"] = idle_before
        run["other_cores_during"] = meter.other_cores
        runs.append(run)
    times = [r["seconds"] for r in runs]
    median = statistics.median(times)
    report(kind, side, f"{median:.2f} s", 1.0)
    chosen = min(runs, key=lambda r: abs(r["seconds"] - median))
    extra = {k: v for k, v in chosen.items() if k not in ("rows", "seconds", "extrapolated", "peak_rss_mb")}
    extra = extra.pop("summary", {}) | extra
    return SideResult(side, int(chosen["rows"]), median, times, bool(chosen.get("extrapolated", False)),
                      max(r["peak_rss_mb"] for r in runs), extra)


def run_kind(opts: LoadOptions, kind: str, shop: Path, manifest: dict[str, Any], report: Reporter) -> KindResult:
    name, rows = file_of(manifest, kind)
    info = manifest["files"][kind]
    path = shop / name
    report(kind, "warm", "reading the file once", None)
    size = warm_file(path)
    result = KindResult(kind, name, rows, size / 2**20, info.get("expected_rejects"), info.get("expected_duplicates"))
    for side in SIDES:
        result.sides[side] = run_side(opts, kind, side, path, rows, report)
    return result


def run_load_suite(opts: LoadOptions, report: Reporter,
                   gen_progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Generate (or reuse) the shop, measure every kind, save and return the results."""
    shop, manifest = ensure_shop(opts, gen_progress)
    sources_before = source_digest()
    opts.out.mkdir(parents=True, exist_ok=True)
    kinds = [run_kind(opts, kind, shop, manifest, report) for kind in opts.kinds]
    try:
        opts.out.rmdir()
    except OSError:
        pass
    data = {
        "suite": "load",
        "options": {"profiles": opts.profiles, "seed": opts.seed, "days": opts.days, "end": opts.end.isoformat(),
                    "kinds": list(opts.kinds), "repeat": opts.repeat, "pandas_max_rows": opts.pandas_max_rows},
        "command": opts.command(),
        "machine": machine_info(opts.data) | {"segflow_src_at_start": sources_before},
        "pandas": {"chunksize": PANDAS_CHUNKSIZE, "method": PANDAS_METHOD or "executemany (method=None)"},
        "kinds": [_kind_dict(k) for k in kinds],
    }
    for k in data["kinds"]:
        k["measured"] = {"date": data["machine"]["date"], "segflow_src": data["machine"]["segflow_src"],
                         "command": data["command"]}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    target = RESULTS_DIR / f"load-{opts.profiles}-{opts.seed}.json"
    data = merge_earlier(data, target)
    target.write_text(json.dumps(data, indent=2) + "\n")
    if opts.docs:
        write_section("load", render_section(load_saved_results()))
    return data


def merge_earlier(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Keep the kinds an earlier run of the same shop measured and this one did not
    (``--kinds profiles`` re-measures one row without dropping the others)."""
    if not path.is_file():
        return data
    earlier = json.loads(path.read_text())
    measured = {k["kind"] for k in data["kinds"]}
    kept = []
    for k in earlier.get("kinds", []):
        if k["kind"] not in measured:
            k.setdefault("measured", {"date": earlier["machine"]["date"],
                                      "segflow_src": earlier["machine"].get("segflow_src", "not recorded"),
                                      "command": earlier["command"]})
            kept.append(k)
    order = {name: i for i, name in enumerate(earlier["options"]["kinds"] + data["options"]["kinds"])}
    data["kinds"] = sorted(data["kinds"] + kept, key=lambda k: order.get(k["kind"], 99))
    return data


def _kind_dict(k: KindResult) -> dict[str, Any]:
    ok, detail = k.sanity()
    return {
        "kind": k.kind, "file": k.file, "file_rows": k.file_rows, "file_mib": round(k.file_mib, 1),
        "expected_rejects": k.expected_rejects, "expected_duplicates": k.expected_duplicates,
        "sides": {name: asdict(s) | {"rate": s.rate} for name, s in k.sides.items()},
        "segflow_vs_floor": k.ratio("floor"), "segflow_vs_pandas": k.ratio("pandas"),
        "sanity_ok": ok, "sanity": detail,
    }


def load_saved_results() -> list[dict[str, Any]]:
    """Every saved load result, largest shop first."""
    found = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("load-*.json"))]
    return sorted(found, key=lambda d: (-d["options"]["profiles"], d["options"]["seed"]))


# -- reporting -------------------------------------------------------------------

TABLE_HEADERS = ["kind", "rows", "MiB", "floor", "segflow", "pandas", "segflow ÷ floor",
                 "segflow ÷ pandas", "rows check"]


def _side_cell(side: dict[str, Any]) -> str:
    mark = "*" if side["extrapolated"] else ""
    return f"{human_seconds(side['seconds'])} · {human_rate(side['rate'])}{mark}"


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    """Rows of the results table (cells as text) for one saved run."""
    rows = []
    for k in data["kinds"]:
        s = k["sides"]
        rows.append([
            k["kind"], human_count(k["file_rows"]), f"{k['file_mib']:,.0f}",
            _side_cell(s["floor"]), _side_cell(s["segflow"]), _side_cell(s["pandas"]),
            f"{k['segflow_vs_floor']:.2f} {'✅' if k['segflow_vs_floor'] >= 0.5 else '❌'}",
            f"{k['segflow_vs_pandas']:.1f}x {'✅' if k['segflow_vs_pandas'] >= 5 else '❌'}",
            "ok" if k["sanity_ok"] else "MISMATCH",
        ])
    return rows


def _expected(value: int, expected: int | None) -> str:
    if expected is None:
        return human_count(value)
    return f"{value:,} ({'=' if value == expected else '≠'} {expected:,})"


def _cpu(side: dict[str, Any]) -> str:
    cpu = side["extra"].get("cpu_seconds")
    return "?" if cpu is None else f"{cpu / side['seconds']:.1f}"


def _segflow_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for k in data["kinds"]:
        fl, seg = k["sides"]["floor"], k["sides"]["segflow"]
        s = seg["extra"]
        measured = [side["extra"]["other_cores_during"] for side in k["sides"].values()
                    if "other_cores_during" in side["extra"]]
        others = f"{max(measured):.2f}" if measured else "not measured"
        rows.append([
            k["kind"], human_count(s["accepted"]),
            _expected(s["rejected"], k.get("expected_rejects")),
            _expected(s["duplicates"], k.get("expected_duplicates")),
            f"{_cpu(fl)} / {_cpu(seg)}",
            f"{fl['extra']['close_seconds']:.1f} / {s['close_seconds']:.1f}",
            f"{fl['peak_rss_mb']:,.0f} / {seg['peak_rss_mb']:,.0f}",
            f"{fl['extra']['db_mib']:,.0f} / {s['db_mib']:,.0f}",
            _cpu_ratio(k, "floor"), _cpu_ratio(k, "pandas"), others,
        ])
    return rows


def _cpu_ratio(k: dict[str, Any], other: str) -> str:
    """segflow ÷ *other* in rows per CPU second (less sensitive to a busy machine than wall time)."""
    seg, oth = k["sides"]["segflow"], k["sides"][other]
    a, b = seg["extra"].get("cpu_seconds"), oth["extra"].get("cpu_seconds")
    if not a or not b:
        return "?"
    return f"{(seg['rows'] / a) / (oth['rows'] / b):.2f}"


SEGFLOW_HEADERS = ["kind", "segflow accepted", "rejected (= manifest)", "duplicates (= manifest)",
                   "cores used floor / segflow", "close s floor / segflow", "peak MiB floor / segflow",
                   "database MiB floor / segflow", "CPU ratio ÷ floor", "CPU ratio ÷ pandas",
                   "other load (cores)"]


def _pandas_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for k in data["kinds"]:
        pd_ = k["sides"]["pandas"]
        e = pd_["extra"]
        rows.append([
            k["kind"], human_count(pd_["rows"]), human_count(e["rows_written"]),
            f"{e['read_seconds']:.1f} / {e['clean_seconds']:.1f} / {e['write_seconds']:.1f}",
            f"{pd_['peak_rss_mb']:,.0f}", f"{e['db_mib']:,.0f}",
        ])
    return rows


def _time_rows(data: dict[str, Any], n: int = 4) -> list[list[str]]:
    """segflow's slowest statements per kind, and what the rest took."""
    rows = []
    for k in data["kinds"]:
        seg = k["sides"]["segflow"]
        stmts = seg["extra"].get("statements", [])[:n]
        total = seg["seconds"]
        for st in stmts:
            sql = st["sql"].replace("|", "\\|")
            rows.append([k["kind"], f"`{sql[:90]}…`" if len(sql) > 90 else f"`{sql}`", st["inside"],
                         f"{st['seconds']:.1f}", f"{100 * st['share']:.0f}%"])
        if stmts:
            rest = total - sum(st["seconds"] for st in stmts)
            rows.append([k["kind"], "everything else (other statements, Python steps)", "", f"{rest:.1f}",
                         f"{100 * rest / total:.0f}%"])
    return rows


TIME_HEADERS = ["kind", "segflow statement", "inside", "seconds", "share of load"]


PANDAS_HEADERS = ["kind", "pandas rows read", "rows kept", "read / clean / to_sql s", "peak MiB", "SQLite MiB"]

_EXPLANATION = """\
Each side loads the same generated CSV file into a fresh database file on local disk,
in its own Python process, after the file has been read once (so all three find it in
the OS page cache). Cells show seconds · rows per second (rows of the file ÷ seconds).

* **floor**: `CREATE TABLE t AS SELECT * FROM read_csv('file')` on a new DuckDB file
  with default settings: DuckDB's sniffer and typed parser, no cleaning at all. The
  fastest a file can become a table; segflow cannot beat it, the target is half its rate.
* **segflow**: `segflow.init(dir, timezone="Asia/Shanghai", default_phone_country="CN")`,
  then `ws.load(kind, [file])`; only the load call is timed. That is the full pipeline:
  every cell trimmed and typed, e-mails lower-cased, phones to E.164, timestamps in
  several spellings, JSON properties checked, required columns and enumerations
  checked, missing event ids derived, in-file duplicates collapsed, merge into the table
  by the kind's policy, rejected rows written to a rejects file with their line
  numbers, all in one transaction.
* **pandas**: what an analyst would otherwise write (`bench/baselines/pandas_load.py`):
  `pd.read_csv(file, dtype=str)`, strip every cell, lower-case e-mails, strip phone
  punctuation, `pd.to_datetime(..., errors="coerce", utc=True)`, `pd.to_numeric` for
  amounts, drop rows missing an id or a required value, drop events whose `properties`
  fails `json.loads` (or is not an object), `drop_duplicates` on the key, then
  `DataFrame.to_sql(kind, sqlalchemy.create_engine("sqlite:///file"), chunksize={chunksize},
  method={method})` (faster than `method="multi"` for SQLite on this machine). No rejects file,
  no line numbers, no merge with stored rows. `to_datetime` without a format infers it from
  the first value, so other spellings become missing and their rows are dropped (see
  "rows kept" in the pandas table).

`*` = pandas ran on the first {max_rows} rows only (`--pandas-max-rows`) and its rate
is extrapolated to the whole file. Targets: segflow ÷ floor ≥ 0.5, segflow ÷ pandas ≥ 5.
"rows check": segflow's accepted + rejected + duplicates equals the rows of the file;
the second table also compares rejected and duplicates with the generator's manifest.
"cores used" is CPU seconds ÷ wall seconds of the timed part (the machine's cores bound
it). "close s" is the time of closing the database afterwards, not included in the
figures: DuckDB checkpoints there, and a plain `CREATE TABLE AS` leaves more of that work
to the close than segflow's load, which commits (and checkpoints) inside the timed call.
"CPU ratio" compares rows per CPU second (all threads) instead of rows per wall second:
it moves less when other processes share the machine, but it does not credit DuckDB for
using several cores where pandas uses one. "other load" is the most CPU other processes
used while any side of the row ran (average cores; the suite waits up to
`--idle-timeout` seconds for a quiet machine before each run, but cannot stop others).
A row measured with other load near the number of cores is slowed for every side and
its wall-time ratios are only indicative.
"""


def render_run(data: dict[str, Any]) -> str:
    opts = data["options"]
    parts = [
        f"### {opts['profiles']:,} profiles (seed {opts['seed']}, {opts['days']} days to {opts['end']})",
        "",
        f"Machine: {machine_line(data['machine'])}.",
        "",
    ]
    m = data["machine"]
    if m.get("segflow_src_at_start", m.get("segflow_src")) != m.get("segflow_src"):
        parts += ["**segflow's sources changed while this ran** "
                  f"({m['segflow_src_at_start']} → {m['segflow_src']}): sides may have run different code.", ""]
    runs: dict[tuple[str, str], list[str]] = {}
    for k in data["kinds"]:
        when = k.get("measured", {"date": m["date"], "command": data["command"]})
        runs.setdefault((when["date"], when["command"]), []).append(k["kind"])
    if len(runs) > 1:
        parts += ["Rows from more than one run: " + "; ".join(
            f"{', '.join(kinds)} on {date} (`{command}`, sources {k_src(data, kinds[0])})"
            for (date, command), kinds in sorted(runs.items())) + ".", ""]
    parts += [
        f"```\n{data['command']}\n```",
        "",
        markdown_table(TABLE_HEADERS, result_rows(data), right=set(range(1, 9))),
        "",
        markdown_table(SEGFLOW_HEADERS, _segflow_rows(data), right=set(range(1, 11))),
        "",
        markdown_table(PANDAS_HEADERS, _pandas_rows(data), right=set(range(1, 6))),
    ]
    times = _time_rows(data)
    if times:
        parts += ["", "Where segflow's load time goes (each statement's execute + fetch, timed by "
                  "`bench/breakdown.py`'s connection proxy during the run above):", "",
                  markdown_table(TIME_HEADERS, times, right={3, 4})]
    return "\n".join(parts)


def k_src(data: dict[str, Any], kind: str) -> str:
    for k in data["kinds"]:
        if k["kind"] == kind:
            return k.get("measured", {}).get("segflow_src", data["machine"].get("segflow_src", "not recorded"))
    return "?"


def render_section(results: list[dict[str, Any]]) -> str:
    """The whole "Loading" section of docs/benchmarks.md, one subsection per shop size."""
    first = results[0] if results else {"pandas": {"chunksize": PANDAS_CHUNKSIZE, "method": "None"},
                                        "options": {"pandas_max_rows": 5_000_000}}
    method = first["pandas"]["method"]
    text = _EXPLANATION.format(
        chunksize=first["pandas"]["chunksize"],
        method="None" if method.startswith("executemany") else f'"{method}"',
        max_rows=f"{first['options']['pandas_max_rows']:,}",
    )
    runs = "\n\n".join(render_run(d) for d in results)
    return f"## Loading\n\n{text}\n{runs}\n"


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    worker_main(json.loads(sys.argv[2]))
