"""The ``rfm`` suite: the guide's RFM model at 1M profiles, end to end, against pandas.

    python bench/run.py rfm --profiles 1000000 [--seed 0] [--repeat 3]

On a scratch copy of the loaded shop's project (``bench/project.py``), as of the shop's
end, each side ``--repeat`` times after one untimed warm-up, median reported, each after
waiting for a quiet machine:

* **floor**: the model's one query (:func:`segflow.models.rfm.rfm_sql`) into a temporary
  table — the engine's work, nothing written;
* **segflow**: ``run_rfm`` end to end — the query, the ``traits`` table rewritten with the
  five ``rfm_*`` columns (the other columns kept), ``trait_state``, the tier and grid
  counts it prints;
* **pandas**: the same rules on DataFrames — the orders (amounts as whole cents, so sums
  are exact) and the profiles read from the warehouse as Arrow → pandas (counted: a
  pandas user has to read them), then
  ``groupby`` and vectorised ``numpy.select``; its result is kept in memory, not written;
* **rule tags**: ``refresh_tags`` of the guide's rules written as four ``rfm/*`` rule
  tags (``bench/rfm_rule_tags``: the e-commerce template's tags before the model existed,
  what a user of the template ran then);
* **template tags**: the template's four ``rfm/*`` tags as they are now: they read the
  model's traits, so a refresh is the model's run plus four tags over the ``traits`` table.

Every side must give every profile the same R, F, M and tier, or the suite exits 1.
Figures go to ``bench/results/rfm-<profiles>-<seed>.json`` and the ``rfm`` section of
``docs/benchmarks.md``. Targets (issue 14): segflow <= 1 s and >= 10x pandas at 1M.
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

__all__ = ["HEADERS", "RfmOptions", "pandas_rfm", "render_section", "result_rows", "run_rfm_suite"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]
HEADERS = ["side", "seconds", "CPU s", "ratio", "note"]
RULE_TAGS = REPO / "bench" / "rfm_rule_tags"
TAGS = ["rfm/recency_score", "rfm/frequency_score", "rfm/monetary_score", "rfm/tier"]


@dataclass
class RfmOptions:
    profiles: int = 1_000_000
    seed: int = 0
    data: Path = Path("bench/data")
    out: Path = Path("bench/out")
    repeat: int = 3
    idle_timeout: float = 60.0
    docs: bool = True

    def command(self) -> str:
        return f"python bench/run.py rfm --profiles {self.profiles} --seed {self.seed} --repeat {self.repeat}"


def pandas_rfm(orders: Any, profiles: Any, t: datetime) -> Any:
    """The guide's rules on DataFrames: orders (profile_id, ts, cents, status; amounts in
    whole cents, so sums are exact) and
    profiles (profile_id, created_at) → DataFrame indexed by profile_id: r, f, m, tier."""
    import numpy as np
    import pandas as pd

    ts = pd.Timestamp(t)
    existing = profiles[profiles["created_at"].isna() | (profiles["created_at"] <= ts)]["profile_id"]
    paid = orders[(orders["status"].fillna("paid") == "paid") & (orders["ts"] <= ts)
                  & orders["profile_id"].isin(existing)]
    window = paid["ts"] > ts - pd.Timedelta(days=90)
    per = paid.assign(n=window.astype("int64"), total=paid["cents"].where(window, 0))
    g = per.groupby("profile_id", sort=False).agg(last=("ts", "max"), n=("n", "sum"), total=("total", "sum"))
    r = np.select([g["last"] > ts - pd.Timedelta(days=30), g["last"] > ts - pd.Timedelta(days=90)], [1, 2], 3)
    f = np.select([g["n"] >= 5, g["n"] >= 2], [1, 2], 3)
    m = np.select([g["total"] >= 100_000, g["total"] >= 50_000], [1, 2], 3)
    score = r + f + m
    tier = np.select([score <= 5, score <= 7], ["high_value", "potential"], "churn_risk")
    return pd.DataFrame({"r": r, "f": f, "m": m, "tier": tier}, index=g.index)


_time = timed_side


def run_rfm_suite(opts: RfmOptions, report: Reporter) -> dict[str, Any]:
    """Time every side, check they agree, save the figures and (optionally) the docs."""
    import shutil

    import segflow
    from bench.load import LoadOptions
    from bench.project import ensure_project, scratch_copy
    from segflow.models.rfm import RfmConfig, rfm_sql, run_rfm
    from segflow.tags import install_templates, refresh_tags

    report("project", "finding or loading the shop's project")
    src, manifest = ensure_project(LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data))
    t = datetime.fromisoformat(manifest["end"].replace("Z", "+00:00")).astimezone(UTC) - timedelta(hours=4)
    report("project", "copying the warehouse into a scratch project")
    root = scratch_copy(src, opts.out / f"rfm-{opts.profiles}-{opts.seed}")
    ws = segflow.open(root)
    wh = ws.warehouse
    try:
        sizes = {"profiles": wh.count("SELECT count(*) FROM profiles"),
                 "orders": wh.count("SELECT count(*) FROM orders")}

        def idle() -> None:
            if opts.idle_timeout > 0:
                wait_until_idle(timeout=opts.idle_timeout)

        sql = rfm_sql(RfmConfig(), t)
        sides: dict[str, Any] = {}
        report("floor", f"{opts.repeat} runs")
        _, sides["floor"] = _time(lambda: wh.temp_table("_bench_rfm", sql), opts.repeat, idle)
        report("segflow", f"{opts.repeat} runs")
        result, sides["segflow"] = _time(lambda: run_rfm(ws, as_of=t), opts.repeat, idle)
        model = {pid: (r, f, m, tier) for pid, r, f, m, tier in wh.rows(
            "SELECT profile_id, rfm_r, rfm_f, rfm_m, rfm_tier FROM traits WHERE rfm_r IS NOT NULL")}

        def pandas_side() -> Any:
            orders = wh.query("SELECT profile_id, ts, CAST(round(amount * 100) AS BIGINT) AS cents, status "
                              "FROM orders").to_pandas()
            profiles = wh.query("SELECT profile_id, created_at FROM profiles").to_pandas()
            return pandas_rfm(orders, profiles, t)

        report("pandas", f"{opts.repeat} runs")
        frame, sides["pandas"] = _time(pandas_side, opts.repeat, idle)
        by_pandas = {str(pid): (int(r), int(f), int(m), str(tier))
                     for pid, r, f, m, tier in frame.itertuples(index=True, name=None)}

        def by_tags() -> dict[str, tuple[int, int, int, str]]:
            tags: dict[str, list[str]] = {}
            for tag, pid, value in wh.rows("SELECT tag, profile_id, value FROM tag_assignments "
                                           "WHERE tag LIKE 'rfm/%' AND tag <> 'rfm/high_value'"):
                tags.setdefault(pid, ["", "", "", ""])[TAGS.index(tag)] = value
            return {pid: (int(v[0]), int(v[1]), int(v[2]), v[3]) for pid, v in tags.items()}

        install_templates(ws, "ecommerce")

        def template_side() -> Any:  # run the model (a refresh as of t would reuse a fresh one), then the tags
            run_rfm(ws, as_of=t)
            return refresh_tags(ws, TAGS, as_of=t)

        report("template tags", f"{opts.repeat} runs")
        _, sides["template_tags"] = _time(template_side, opts.repeat, idle)
        by_template = by_tags()
        for f in RULE_TAGS.glob("*.yaml"):
            shutil.copy(f, root / "tags" / "rfm" / f.name)
        report("rule tags", f"{opts.repeat} runs")
        _, sides["rule_tags"] = _time(lambda: refresh_tags(ws, TAGS, as_of=t), opts.repeat, idle)
        checks = {"pandas gives the same scores": by_pandas == model,
                  "rule tags give the same scores": by_tags() == model,
                  "template tags give the same scores": by_template == model}
        data = {
            "suite": "rfm",
            "options": {"profiles": opts.profiles, "seed": opts.seed, "repeat": opts.repeat},
            "command": opts.command(),
            "machine": {**machine_info(), "segflow_src": source_digest()},
            "as_of": t.isoformat(),
            "sizes": {**sizes, "scored": result.scored},
            "tiers": result.tiers,
            "sides": sides,
            "checks": checks,
        }
    finally:
        ws.close()
        shutil.rmtree(root, ignore_errors=True)
    save_results("rfm", data, profiles=opts.profiles, seed=opts.seed, docs=opts.docs, render=render_section,
                 results=RESULTS_DIR)
    return data


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    s = data["sides"]

    def row(label: str, side: str, note: str = "") -> list[str]:
        return side_row(s, side, label, note)

    return [
        row("floor: the model's query into a temp table", "floor", "nothing written"),
        row("segflow `run_rfm` (5 traits written)", "segflow",
            f"{data['sizes']['scored']:,} of {data['sizes']['profiles']:,} profiles scored"),
        row("pandas (read from the warehouse + groupby)", "pandas",
            "same scores" if data["checks"]["pandas gives the same scores"] else "DIFFERENT scores"),
        row("the guide as 4 rule tags `rfm/*` (the template before the model)", "rule_tags",
            "same scores" if data["checks"]["rule tags give the same scores"] else "DIFFERENT scores"),
        row("template tags `rfm/*` now: the model + 4 tags reading its traits", "template_tags",
            "same scores" if data["checks"]["template tags give the same scores"] else "DIFFERENT scores"),
    ]


def render_section(results: list[dict[str, Any]]) -> str:
    parts = ["## RFM (`python bench/run.py rfm`)", "",
             "The guide's RFM rules as of the shop's end: the model end to end (the five `rfm_*` traits "
             "written) against the same rules in pandas and written as four `rfm/*` rule tags (the e-commerce "
             "template's before the model; the template's tags now read the model); "
             "the floor is the model's one query into a temporary table. Median of the timed runs after a "
             "warm-up. Targets: segflow <= 1 s and >= 10x pandas at 1M profiles.", ""]
    for data in results:
        n = data["sizes"]
        parts += [f"### {n['profiles']:,} profiles, {n['orders']:,} orders", "",
                  markdown_table(HEADERS, result_rows(data), right={1, 2}), "",
                  f"Tiers: {', '.join(f'{k} {v:,}' for k, v in data['tiers'].items())}. "
                  f"Command: `{data['command']}`. {machine_line(data['machine'])}", ""]
    return "\n".join(parts)
