"""The ``activity`` suite: the activity and loyalty model end to end, against its query and pandas.

    python bench/run.py activity --profiles 1000000 [--seed 0] [--repeat 3]

On a scratch copy of the loaded shop's project (``bench/project.py``), as of the shop's
end, with the default settings, each side ``--repeat`` times after one untimed warm-up,
median reported, each after waiting for a quiet machine:

* **floor**: the model's one query (:func:`segflow.models.activity.activity_sql`) into a
  temporary table — the engine's work, nothing written;
* **segflow**: ``run_activity`` end to end — the config checks, the query, the level and
  component counts, the ``traits`` table rewritten with the four columns (the others kept),
  ``trait_state``;
* **pandas**: the same formulas on DataFrames (:func:`pandas_activity`) — the events the
  components read (filtered by name and the widest window as they are read: reading every
  event of the shop into pandas would be slower still), the paid orders and the profiles,
  read from the warehouse as Arrow → pandas (counted: a pandas user has to read them),
  then ``groupby`` counts, ``rank(method="max", pct=True)`` (= ``cume_dist``) and the
  weighted mean; its result is kept in memory, not written.

Every profile must get the same scores (within 1e-6) and levels from pandas as from the
model, or the suite exits 1. Figures go to ``bench/results/activity-<profiles>-<seed>.json``
and the ``activity`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from segflow.models.activity import ActivityConfig

__all__ = ["HEADERS", "ActivityOptions", "pandas_activity", "render_section", "result_rows", "run_activity_suite"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]
HEADERS = ["side", "seconds", "CPU s", "ratio", "note"]


@dataclass
class ActivityOptions:
    profiles: int = 1_000_000
    seed: int = 0
    data: Path = Path("bench/data")
    out: Path = Path("bench/out")
    repeat: int = 3
    idle_timeout: float = 60.0
    docs: bool = True

    def command(self) -> str:
        return f"python bench/run.py activity --profiles {self.profiles} --seed {self.seed} --repeat {self.repeat}"


def _read_sql(config: ActivityConfig, t: datetime) -> tuple[str, str, str]:
    """The reads of the pandas side: events the components count, paid orders, profiles."""
    from segflow.models.activity import SCORES

    parts = [c for s in SCORES for c in config.score(s).components.values() if c.weight > 0]
    names = sorted({n for c in parts for n in (*c.events, *c.per)})
    widest = max((config.window(c) for c in parts if c.kind in ("rate", "count", "days")), default=1)
    quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in names) or "NULL"
    cut, since = t.isoformat(), (t - timedelta(days=widest)).isoformat()
    events = (f"SELECT profile_id, event, ts FROM events WHERE profile_id IS NOT NULL AND ts <= '{cut}' "
              f"AND ts > '{since}' AND event IN ({quoted})")
    orders = f"SELECT profile_id, ts FROM orders WHERE COALESCE(status, 'paid') = 'paid' AND ts <= '{cut}'"
    return events, orders, "SELECT profile_id, created_at FROM profiles"


def pandas_activity(events: Any, orders: Any, profiles: Any, t: datetime, config: ActivityConfig,
                    timezone: str = "UTC") -> Any:
    """The model's formulas on DataFrames (events: profile_id, event, ts; orders: paid ones,
    profile_id, ts; profiles: profile_id, created_at) → DataFrame indexed by profile_id:
    activity_score, activity_level, loyalty_score, loyalty_level. Event and order
    components only (no trait or attribute)."""
    import numpy as np
    import pandas as pd

    from segflow.models.activity import SCORES

    ts = pd.Timestamp(t)
    pop = pd.Index(profiles.loc[profiles["created_at"].isna() | (profiles["created_at"] <= ts), "profile_id"])
    events = events[events["profile_id"].isin(pop)]
    orders = orders[orders["profile_id"].isin(pop)]
    last = orders.groupby("profile_id")["ts"].max().reindex(pop)
    out = pd.DataFrame(index=pop)
    for score in SCORES:
        spec = config.score(score)
        num = pd.Series(0.0, index=pop)
        den = pd.Series(0.0, index=pop)
        did = pd.Series(False, index=pop)
        for name, c in spec.components.items():
            if c.weight <= 0:
                continue
            since = ts - pd.Timedelta(days=config.window(c))
            recent = events[events["ts"] > since]

            def counted(names: tuple[str, ...], frame: Any = recent) -> Any:
                return frame[frame["event"].isin(names)].groupby("profile_id").size().reindex(pop, fill_value=0)

            if c.kind == "rate":
                n, d = counted(c.events), counted(c.per)
                value = (n / d.where(d > 0)).clip(upper=1.0)
                positive, order, acted = value > 0, value, n > 0
            elif c.kind == "count":
                value = counted(c.events).astype(float)
                positive, order, acted = value > 0, value, value > 0
            elif c.kind == "days":
                hits = recent[recent["event"].isin(c.events)]
                days = hits["ts"].dt.tz_convert(timezone).dt.date
                value = days.groupby(hits["profile_id"]).nunique().reindex(pop, fill_value=0).astype(float)
                positive, order, acted = value > 0, value, value > 0
            elif c.kind == "orders":
                value = orders[orders["ts"] > since].groupby("profile_id").size().reindex(pop, fill_value=0)
                value = value.astype(float)
                positive, order, acted = value > 0, value, value > 0
            elif c.kind == "recency":
                age = (ts - last).dt.total_seconds() / 86400.0
                value, positive, order, acted = age, last.notna(), last, last.notna()
            else:
                raise ValueError(f"{score}.{name}: the pandas side reads events and orders only")
            did |= acted
            if not positive.any():
                continue  # left out for everyone
            if c.scale == "percentile":
                ranks = order[positive].rank(method="max", pct=True) * 100.0
                scaled = pd.Series(np.where(value.isna(), np.nan, 0.0), index=pop)
                scaled[ranks.index] = ranks
                if c.kind == "recency":
                    scaled = scaled.fillna(0.0)
            elif c.kind == "recency":
                scaled = (100.0 * (1.0 - value / (c.linear_cap or 1.0)).clip(lower=0.0)).fillna(0.0)
            else:
                scaled = 100.0 * (value / (c.linear_cap or 1.0)).clip(0.0, 1.0)
            w = spec.weights[name]
            num += w * scaled.fillna(0.0)
            den += np.where(scaled.isna(), 0.0, w)
        value = (num / den.where(den > 0)).round(6)
        levels = np.select([~did, value.isna(), value >= spec.levels.high, value >= spec.levels.medium],
                           ["inactive", "", "high", "medium"], "low")
        has_events = any(c.kind not in ("trait", "attribute") and c.weight > 0 for c in spec.components.values())
        if not has_events:
            levels = np.select([value.isna(), value >= spec.levels.high, value >= spec.levels.medium],
                               ["", "high", "medium"], "low")
        out[f"{score}_score"] = value
        out[f"{score}_level"] = pd.Series(levels, index=pop).replace("", None)
    return out


_time = timed_side


def _same(model: dict[str, tuple[Any, ...]], frame: Any) -> tuple[bool, int]:
    """Whether pandas gives every profile the model's scores (within 1e-6) and levels;
    the number of profiles that differ."""
    import math

    def close(a: Any, b: Any) -> bool:
        if a is None or (isinstance(a, float) and math.isnan(a)):
            return b is None or (isinstance(b, float) and math.isnan(b))
        return b is not None and not (isinstance(b, float) and math.isnan(b)) and abs(float(a) - float(b)) <= 1e-6

    differ = 0
    rows = {str(pid): row for pid, *row in frame.itertuples(index=True, name=None)}
    for pid, (a_s, a_l, l_s, l_l) in model.items():
        row = rows.get(pid)
        if row is None or not (close(a_s, row[0]) and a_l == row[1] and close(l_s, row[2]) and l_l == row[3]):
            differ += 1
    return differ == 0 and len(rows) == len(model), differ


def run_activity_suite(opts: ActivityOptions, report: Reporter) -> dict[str, Any]:
    """Time every side, check they agree, save the figures and (optionally) the docs."""
    import shutil

    import segflow
    from bench.load import LoadOptions
    from bench.project import ensure_project, scratch_copy
    from segflow.models.activity import ActivityConfig, activity_sql, run_activity

    report("project", "finding or loading the shop's project")
    src, manifest = ensure_project(LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data))
    t = datetime.fromisoformat(manifest["end"].replace("Z", "+00:00")).astimezone(UTC) - timedelta(hours=4)
    report("project", "copying the warehouse into a scratch project")
    root = scratch_copy(src, opts.out / f"activity-{opts.profiles}-{opts.seed}")
    ws = segflow.open(root)
    wh = ws.warehouse
    config = ActivityConfig()
    zone = ws.config.timezone
    try:
        sizes = {"profiles": wh.count("SELECT count(*) FROM profiles"),
                 "events": wh.count("SELECT count(*) FROM events"),
                 "orders": wh.count("SELECT count(*) FROM orders")}

        def idle() -> None:
            if opts.idle_timeout > 0:
                wait_until_idle(timeout=opts.idle_timeout)

        sql = activity_sql(config, t, timezone=zone)
        sides: dict[str, Any] = {}
        report("floor", f"{opts.repeat} runs")
        _, sides["floor"] = _time(lambda: wh.temp_table("_bench_activity", sql), opts.repeat, idle)
        wh.drop_tables("_bench_activity")
        report("segflow", f"{opts.repeat} runs")
        result, sides["segflow"] = _time(lambda: run_activity(ws, as_of=t, config=config), opts.repeat, idle)
        model = {pid: tuple(rest) for pid, *rest in wh.rows(
            "SELECT profile_id, activity_score, activity_level, loyalty_score, loyalty_level FROM traits "
            "WHERE activity_score IS NOT NULL OR loyalty_score IS NOT NULL OR activity_level IS NOT NULL")}
        events_sql, orders_sql, profiles_sql = _read_sql(config, t)

        def pandas_side() -> Any:
            events = wh.query(events_sql).to_pandas()
            orders = wh.query(orders_sql).to_pandas()
            profiles = wh.query(profiles_sql).to_pandas()
            return pandas_activity(events, orders, profiles, t, config, timezone=zone)

        report("pandas", f"{opts.repeat} runs")
        frame, sides["pandas"] = _time(pandas_side, opts.repeat, idle)
        same, differ = _same(model, frame)
        read = wh.count(f"SELECT count(*) FROM ({events_sql})")
        data = {
            "suite": "activity",
            "options": {"profiles": opts.profiles, "seed": opts.seed, "repeat": opts.repeat},
            "command": opts.command(),
            "machine": {**machine_info(), "segflow_src": source_digest()},
            "as_of": t.isoformat(),
            "sizes": {**sizes, "events_read": read, "scored": result.scored},
            "levels": result.levels,
            "sides": sides,
            "checks": {"pandas gives the same scores and levels": same},
            "differ": differ,
        }
    finally:
        ws.close()
        shutil.rmtree(root, ignore_errors=True)
    save_results("activity", data, profiles=opts.profiles, seed=opts.seed, docs=opts.docs, render=render_section,
                 results=RESULTS_DIR)
    return data


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    s = data["sides"]

    def row(label: str, side: str, note: str = "") -> list[str]:
        return side_row(s, side, label, note)

    same = data["checks"]["pandas gives the same scores and levels"]
    return [
        row("floor: the model's query into a temp table", "floor", "nothing written"),
        row("segflow `run_activity` (4 traits written)", "segflow",
            f"{data['sizes']['scored']:,} of {data['sizes']['profiles']:,} profiles scored"),
        row("pandas (read from the warehouse + groupby, rank)", "pandas",
            f"{data['sizes']['events_read']:,} events read; "
            + ("same scores" if same else f"DIFFERENT for {data['differ']:,} profiles")),
    ]


def render_section(results: list[dict[str, Any]]) -> str:
    parts = ["## Activity and loyalty (`python bench/run.py activity`)", "",
             "The activity and loyalty model with its default settings as of the shop's end: the model end to "
             "end (the four traits written) against the same formulas in pandas; the floor is the model's one "
             "query into a temporary table. Median of the timed runs after a warm-up.", ""]
    for data in results:
        n = data["sizes"]
        levels = "; ".join(f"{score}: " + ", ".join(f"{k} {v:,}" for k, v in lv.items())
                           for score, lv in data["levels"].items())
        parts += [f"### {n['profiles']:,} profiles, {n['events']:,} events, {n['orders']:,} orders", "",
                  markdown_table(HEADERS, result_rows(data), right={1, 2}), "",
                  f"Levels: {levels}. Command: `{data['command']}`. {machine_line(data['machine'])}", ""]
    return "\n".join(parts)
