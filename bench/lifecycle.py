"""The ``lifecycle`` suite: one day of the default lifecycle stages at 1M profiles, end to end, against pandas.

    python bench/run.py lifecycle --profiles 1000000 [--seed 0] [--repeat 3]

On a scratch copy of the loaded shop's project (``bench/project.py``), as of the shop's
end, each side ``--repeat`` times after one untimed warm-up, median reported, each after
waiting for a quiet machine:

* **floor**: the model's one ``CASE`` query (:func:`segflow.models.lifecycle.lifecycle_sql`,
  the return-order table it reads made once beforehand) into a temporary table — the
  engine's work, nothing written;
* **segflow**: ``run_lifecycle`` end to end — the rules checked and compiled, the query,
  the day's changes in ``lifecycle_history``, the ``traits`` table rewritten with
  ``lifecycle_stage`` and ``lifecycle_since``, the counts it prints. The warm-up is the
  first day recorded (every profile enters its stage); the timed runs re-run that day
  (its rows replaced), which is what a daily schedule re-run does;
* **pandas**: the same default stages on DataFrames — the paid orders and the profiles read
  from the warehouse as Arrow → pandas (counted: a pandas user has to read them), then
  ``groupby`` and vectorised ``numpy.select``; its result is kept in memory, not written.

Every side must give every profile the same stage, or the suite exits 1. Figures go to
``bench/results/lifecycle-<profiles>-<seed>.json`` and the ``lifecycle`` section of
``docs/benchmarks.md``. Target (issue 14): one day <= 5 s at 1M profiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    machine_info,
    machine_line,
    markdown_table,
    save_results,
    side_row,
    source_digest,
    timed_side,
    wait_until_idle,
)

__all__ = ["HEADERS", "LifecycleOptions", "pandas_lifecycle", "render_section", "result_rows",
           "run_lifecycle_suite"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]
HEADERS = ["side", "seconds", "CPU s", "ratio", "note"]


@dataclass
class LifecycleOptions:
    profiles: int = 1_000_000
    seed: int = 0
    data: Path = Path("bench/data")
    out: Path = Path("bench/out")
    repeat: int = 3
    idle_timeout: float = 60.0
    docs: bool = True

    def command(self) -> str:
        return f"python bench/run.py lifecycle --profiles {self.profiles} --seed {self.seed} --repeat {self.repeat}"


def pandas_lifecycle(orders: Any, profiles: Any, t: datetime) -> Any:
    """The default stages on DataFrames: orders (profile_id, ts, status) and profiles
    (profile_id, created_at) → Series of the stage by profile_id (first match wins)."""
    import numpy as np
    import pandas as pd

    ts = pd.Timestamp(t)
    day = pd.Timedelta(days=1)
    existing = profiles[profiles["created_at"].isna() | (profiles["created_at"] <= ts)]["profile_id"]
    paid = orders[(orders["status"] == "paid") & orders["ts"].notna() & orders["profile_id"].notna()]
    paid = paid.sort_values(["profile_id", "ts"], kind="stable")
    previous = paid.groupby("profile_id", sort=False)["ts"].shift()
    returns = paid["ts"] - previous > 180 * day
    paid = paid.assign(ret=returns)[paid["ts"] <= ts]
    g = paid.assign(in365=paid["ts"] > ts - 365 * day,
                    ret30=paid["ret"] & (paid["ts"] > ts - 30 * day)).groupby("profile_id", sort=False).agg(
        first=("ts", "min"), last=("ts", "max"), n365=("in365", "sum"), returned=("ret30", "any"))
    g = g.reindex(pd.Index(existing, name="profile_id"))
    bought = g["first"].notna()
    stage = np.select(
        [~bought, g["first"] > ts - 30 * day, g["returned"].fillna(False).astype(bool),
         (g["n365"] >= 3) & (g["last"] > ts - 90 * day), g["last"] > ts - 90 * day, g["last"] > ts - 180 * day],
        ["prospect", "new", "reactivated", "loyal", "active", "at_risk"], "dormant")
    return pd.Series(stage, index=g.index)


_time = timed_side


def run_lifecycle_suite(opts: LifecycleOptions, report: Reporter) -> dict[str, Any]:
    """Time every side, check they agree, save the figures and (optionally) the docs."""
    import shutil

    import segflow
    from bench.load import LoadOptions
    from bench.project import ensure_project, scratch_copy
    from segflow.models.lifecycle import (
        LifecycleConfig,
        _check_stages,
        _prepare_returns,
        lifecycle_sql,
        run_lifecycle,
    )

    report("project", "finding or loading the shop's project")
    src, manifest = ensure_project(LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data))
    t = datetime.fromisoformat(manifest["end"].replace("Z", "+00:00")).astimezone(UTC) - timedelta(hours=4)
    report("project", "copying the warehouse into a scratch project")
    root = scratch_copy(src, opts.out / f"lifecycle-{opts.profiles}-{opts.seed}")
    ws = segflow.open(root)
    wh = ws.warehouse
    try:
        sizes = {"profiles": wh.count("SELECT count(*) FROM profiles"),
                 "orders": wh.count("SELECT count(*) FROM orders")}

        def idle() -> None:
            if opts.idle_timeout > 0:
                wait_until_idle(timeout=opts.idle_timeout)

        checked, _ = _check_stages(ws, LifecycleConfig(), None)
        _prepare_returns(ws, checked)
        sql = lifecycle_sql(ws, checked, t)
        sides: dict[str, Any] = {}
        report("floor", f"{opts.repeat} runs")
        _, sides["floor"] = _time(lambda: wh.temp_table("_bench_lifecycle", sql), opts.repeat, idle)
        report("segflow", f"{opts.repeat} runs")
        result, sides["segflow"] = _time(lambda: run_lifecycle(ws, as_of=t), opts.repeat, idle)
        model = {pid: stage for pid, stage in wh.rows(
            "SELECT profile_id, lifecycle_stage FROM traits WHERE lifecycle_stage IS NOT NULL")}

        def pandas_side() -> Any:
            orders = wh.query("SELECT profile_id, ts, status FROM orders").to_pandas()
            profiles = wh.query("SELECT profile_id, created_at FROM profiles").to_pandas()
            return pandas_lifecycle(orders, profiles, t)

        report("pandas", f"{opts.repeat} runs")
        series, sides["pandas"] = _time(pandas_side, opts.repeat, idle)
        by_pandas = {str(pid): str(stage) for pid, stage in series.items()}
        checks = {"pandas gives the same stages": by_pandas == model}
        data = {
            "suite": "lifecycle",
            "options": {"profiles": opts.profiles, "seed": opts.seed, "repeat": opts.repeat},
            "command": opts.command(),
            "machine": {**machine_info(), "segflow_src": source_digest()},
            "as_of": t.isoformat(),
            "sizes": {**sizes, "staged": sum(result.stages.values())},
            "stages": result.stages,
            "sides": sides,
            "checks": checks,
        }
    finally:
        ws.close()
        shutil.rmtree(root, ignore_errors=True)
    save_results("lifecycle", data, profiles=opts.profiles, seed=opts.seed, docs=opts.docs, render=render_section,
                 results=RESULTS_DIR)
    return data


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    s = data["sides"]

    def row(label: str, side: str, note: str = "") -> list[str]:
        return side_row(s, side, label, note)

    return [
        row("floor: the stages' CASE query into a temp table", "floor", "nothing written"),
        row("segflow `run_lifecycle` (2 traits + history written)", "segflow",
            f"{data['sizes']['staged']:,} of {data['sizes']['profiles']:,} profiles staged"),
        row("pandas (read from the warehouse + groupby)", "pandas",
            "same stages" if data["checks"]["pandas gives the same stages"] else "DIFFERENT stages"),
    ]


def render_section(results: list[dict[str, Any]]) -> str:
    parts = ["## Lifecycle (`python bench/run.py lifecycle`)", "",
             "The default lifecycle stages for one day as of the shop's end: the model end to end (the day's "
             "history rows and the two `lifecycle_*` traits written) against the same stages in pandas; the "
             "floor is the model's one CASE query into a temporary table. Median of the timed runs after a "
             "warm-up. Target: one day <= 5 s at 1M profiles.", ""]
    for data in results:
        n = data["sizes"]
        parts += [f"### {n['profiles']:,} profiles, {n['orders']:,} orders", "",
                  markdown_table(HEADERS, result_rows(data), right={1, 2}), "",
                  f"Stages: {', '.join(f'{k} {v:,}' for k, v in data['stages'].items())}. "
                  f"Command: `{data['command']}`. {machine_line(data['machine'])}", ""]
    return "\n".join(parts)
