"""Where the time of one ``ws.load`` goes: every SQL statement and Python step, timed.

Nothing in ``src/`` is changed: the workspace's DuckDB connection is wrapped in a proxy
that times each ``execute`` (and the fetch that follows it), and the loader's Python
steps (fingerprint, reading the source, merge, rejects) are wrapped at run time in this
process only. Optionally the staging ``SELECT`` (the cleaning) is run again under
``EXPLAIN ANALYZE``, and reference reads of the same file are timed for comparison.

    python bench/run.py breakdown --profiles 100000 --kind events [--explain]
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import REPO, fresh_dir, stopwatch, warm_file

__all__ = ["Breakdown", "run_breakdown", "reference_reads"]

#: Functions of ``segflow.ingest.loader`` (looked up there at call time) to time as steps.
LOADER_STEPS = ("_fingerprint", "open_source", "infer_types", "staging_sql", "_parser_rejects",
                "merge_staged", "_rejects", "write_rejects", "csv_record_lines", "_drop_temp")


@dataclass
class Breakdown:
    total: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)
    statements: list[tuple[str, str, float]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    staging_select: str | None = None
    explain: str | None = None
    references: list[tuple[str, float, int]] = field(default_factory=list)


class _Recorder:
    def __init__(self) -> None:
        self.stack: list[str] = []
        self.out = Breakdown()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.stack.append(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.out.steps.append((" > ".join(self.stack), time.perf_counter() - t0))
            self.stack.pop()

    def statement(self, sql: str, seconds: float) -> None:
        self.out.statements.append((" > ".join(self.stack) or "load_file", sql, seconds))


class _TimedResult:
    """What ``execute`` returned, with the fetch time added to the statement's time."""

    def __init__(self, inner: Any, rec: _Recorder, index: int) -> None:
        self._inner, self._rec, self._index = inner, rec, index

    def _timed(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            value = getattr(self._inner, name)(*args, **kwargs)
            step, sql, secs = self._rec.out.statements[self._index]
            self._rec.out.statements[self._index] = (step, sql, secs + time.perf_counter() - t0)
            return value

        return call

    def __getattr__(self, name: str) -> Any:
        if name in ("fetchone", "fetchall", "fetchmany", "fetch_arrow_table", "arrow", "df"):
            return self._timed(name)
        return getattr(self._inner, name)


class _TimedConnection:
    def __init__(self, con: Any, rec: _Recorder) -> None:
        self._con, self._rec = con, rec

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = self._con.execute(sql, *args, **kwargs)
        self._rec.statement(sql, time.perf_counter() - t0)
        return _TimedResult(result, self._rec, len(self._rec.out.statements) - 1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _wrap(module: Any, name: str, rec: _Recorder) -> Callable[[], None]:
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with rec.step(name):
            return original(*args, **kwargs)

    setattr(module, name, timed)
    return lambda: setattr(module, name, original)


@contextmanager
def instrumented(ws: Any) -> Iterator[Breakdown]:
    """Time every statement and loader step of loads run on *ws* inside the block.

    The proxy and wrappers cost a Python call per statement (a load runs a few dozen),
    so the load's own timing is unaffected.
    """
    import segflow.ingest.loader as loader

    rec = _Recorder()
    wh = ws.warehouse
    raw = wh.con
    wh._con = _TimedConnection(raw, rec)  # the adapter's connection (a read-only property outside warehouse/)
    undo = [_wrap(loader, name, rec) for name in LOADER_STEPS if hasattr(loader, name)]
    try:
        yield rec.out
    finally:
        for restore in undo:
            restore()
        wh._con = raw
    staging = [s for _, s, _ in rec.out.statements if s.startswith("CREATE TEMP TABLE _staged_")]
    if staging:
        rec.out.staging_select = staging[0].split(" AS ", 1)[1]


def top_statements(bd: Breakdown, total: float, n: int = 8) -> list[dict[str, Any]]:
    """The *n* slowest statements, as dicts (where, statement start, seconds, share)."""
    rows = sorted(bd.statements, key=lambda s: -s[2])[:n]
    return [{"inside": w, "sql": " ".join(sql.split())[:200], "seconds": secs, "share": secs / total}
            for w, sql, secs in rows]


def run_breakdown(kind: str, path: Path, workdir: Path, settings: dict[str, Any]) -> Breakdown:
    """Load *path* into a fresh project under *workdir* with every step and statement timed."""
    import segflow

    ws = segflow.init(fresh_dir(workdir) / "project", **settings)
    try:
        with instrumented(ws) as out, stopwatch() as sw:
            summary = ws.load(kind, [path])[0]
    finally:
        ws.close()
    out.total = sw.seconds
    out.summary = summary.to_dict()
    return out


def explain_staging(select: str, workdir: Path) -> str:
    """Operator profile of the staging SELECT on a fresh DuckDB file (DuckDB's JSON profiler).

    One line per operator: its time (summed over threads, so it can exceed the wall
    time), rows out, and the start of its expressions.
    """
    import json

    import duckdb

    out = workdir / "profile.json"
    con = duckdb.connect(str(workdir / "explain.duckdb"))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET enable_profiling = 'json'; SET profiling_output = '{out}'")
        with stopwatch() as sw:
            con.execute(f"CREATE TEMP TABLE _x AS {select}")
        con.execute("SET enable_profiling = 'no_output'")
    finally:
        con.close()
    data = json.loads(out.read_text())
    lines = [f"wall {sw.seconds:.2f} s"]
    for root in data.get("operator", data.get("children", [])):
        lines += _plan_lines(root, 0)
    return "\n".join(lines)


def _plan_lines(node: dict[str, Any], depth: int) -> list[str]:
    kind = node.get("type") or node.get("operator_type") or node.get("operator_name") or "?"
    secs = float(node.get("timing", node.get("operator_timing", 0.0)) or 0.0)
    rows = node.get("intermediate_rows", node.get("operator_cardinality", ""))
    info = node.get("extra_info") or {}
    what = " ".join(str(info.get(k, "")) for k in ("Function", "Projections", "Aggregates", "Groups") if k in info)
    what = " ".join(what.split())
    line = f"{'  ' * depth}{kind:<18} {secs:8.3f} s {rows!s:>12} rows  {what[:160]}"
    return [line] + [x for child in node.get("children", []) for x in _plan_lines(child, depth + 1)]


def reference_reads(path: Path, workdir: Path, select: str | None) -> list[tuple[str, float, int]]:
    """The same file read in simpler ways, each on a fresh DuckDB file: what costs what."""
    import duckdb

    lit = "'" + str(path).replace("'", "''") + "'"
    cases = {
        "floor: CREATE TABLE AS read_csv(file)": f"CREATE TABLE t AS SELECT * FROM read_csv({lit})",
        "read_csv(all_varchar) into a table": f"CREATE TABLE t AS SELECT * FROM read_csv({lit}, all_varchar = true)",
        "segflow's reader options (store_rejects, strict) into a TEMP table":
            f"CREATE TEMP TABLE t AS SELECT * FROM read_csv({lit}, all_varchar = true, header = true, "
            f"store_rejects = true, encoding = 'utf-8', strict_mode = true, null_padding = false)",
    }
    if select:
        cases["segflow's staging SELECT (cleaning) into a TEMP table"] = f"CREATE TEMP TABLE t AS {select}"
    out = []
    for i, (label, sql) in enumerate(cases.items()):
        con = duckdb.connect(str(workdir / f"ref{i}.duckdb"))
        con.execute("SET TimeZone = 'UTC'")
        with stopwatch() as sw:
            con.execute(sql)
        rows = int(con.execute("SELECT count(*) FROM t").fetchone()[0])
        con.close()
        out.append((label, sw.seconds, rows))
    return out


def breakdown_for(kind: str, path: Path, out: Path, settings: dict[str, Any], *, explain: bool,
                  references: bool) -> Breakdown:
    warm_file(path)
    workdir = fresh_dir(out / f"breakdown-{kind}")
    try:
        result = run_breakdown(kind, path, workdir, settings)
        if explain and result.staging_select:
            result.explain = explain_staging(result.staging_select, workdir)
        if references:
            result.references = reference_reads(path, workdir, result.staging_select)
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        try:
            out.rmdir()  # only when empty
        except OSError:
            pass
    return result


def default_out() -> Path:
    return REPO / "bench" / "out"
