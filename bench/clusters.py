"""The ``clusters`` suite: the k-means clusters model end to end, against pandas + scikit-learn.

    python bench/run.py clusters --profiles 1000000 [--rows 1000000] [--seed 0] [--repeat 1]

Two parts, each side ``--repeat`` times (median reported), each after waiting for a quiet
machine:

**On the shop's project** (``bench/project.py``, a scratch copy, as of the shop's end),
with the model's default config — the eight default features (orders, total_spend,
avg_order_value, days_since_last_order, coupon_rate, category_diversity, active_hours,
events), k by silhouette in 2..8, both algorithms compared:

* **floor**: the model's one feature query (:func:`segflow.models.clusters.features_sql`)
  into a temporary table — the engine's work, nothing fitted or written;
* **segflow**: ``run_clusters`` end to end — the query, choosing k on a 5,000-buyer
  sample, the fit of every buyer, the other algorithm for comparison, the descriptions,
  the ``cluster`` and ``cluster_label`` traits written;
* **baseline**: what a pandas + scikit-learn user writes — orders, order items, events and
  profiles read from the warehouse as Arrow → pandas (counted), the same eight features
  with ``groupby``, ``log1p`` + ``StandardScaler``, then for each k in 2..8 ``KMeans(k,
  n_init=4)`` on every buyer and ``silhouette_score(sample_size=5000)``, keeping the best.

The baseline's features must equal the floor's (relative 1e-9) or the suite exits 1; the
agreement (adjusted Rand index) of the two clusterings is reported.

**On a matrix of ``--rows`` rows × 8 features** (six planted Gaussian groups, seeded):
segflow's numeric pipeline (:func:`~segflow.models.clusters.cluster_values`: standardise,
k on a sample, MiniBatchKMeans from 500,000 rows, KMeans for comparison, describe)
against the same scikit-learn user code; both report the silhouette of KMeans and
MiniBatchKMeans on the same sample and the adjusted Rand index against the planted groups.

Figures go to ``bench/results/clusters-<profiles>-<seed>.json`` and the ``clusters`` section
of ``docs/benchmarks.md``. Target (issue 14): clusters on 1M rows × 8 features <= 60 s.
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

__all__ = ["HEADERS", "ClustersOptions", "pandas_features", "render_section", "result_rows", "run_clusters_suite",
           "sklearn_user"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]
HEADERS = ["side", "seconds", "CPU s", "ratio", "note"]
K_RANGE = range(2, 9)
LOGGED = ("orders", "total_spend", "avg_order_value", "category_diversity", "events")


@dataclass
class ClustersOptions:
    profiles: int = 1_000_000
    #: rows of the synthetic matrix (0: skip that part)
    rows: int = 1_000_000
    seed: int = 0
    data: Path = Path("bench/data")
    out: Path = Path("bench/out")
    repeat: int = 1
    idle_timeout: float = 60.0
    docs: bool = True

    def command(self) -> str:
        return (f"python bench/run.py clusters --profiles {self.profiles} --rows {self.rows} --seed {self.seed} "
                f"--repeat {self.repeat}")


def pandas_features(orders: Any, items: Any, events: Any, profiles: Any, t: datetime, timezone: str,
                    coupon_event: str = "coupon_redeemed") -> Any:
    """The eight default features on DataFrames, as a pandas user computes them: DataFrame
    indexed by profile_id (sorted), one column per feature."""
    import numpy as np
    import pandas as pd

    ts = pd.Timestamp(t)
    existing = profiles[profiles["created_at"].isna() | (profiles["created_at"] <= ts)]["profile_id"]
    paid = orders[(orders["status"].fillna("paid") == "paid") & (orders["ts"] <= ts)
                  & orders["profile_id"].isin(existing)]
    paid = paid.assign(amount=paid["amount"].astype(float))
    g = paid.groupby("profile_id").agg(orders=("order_id", "size"), total_spend=("amount", "sum"),
                                       last=("ts", "max"))
    out = pd.DataFrame(index=g.index)
    out["orders"] = g["orders"].astype(float)
    out["total_spend"] = g["total_spend"].astype(float)
    out["avg_order_value"] = out["total_spend"] / out["orders"]
    out["days_since_last_order"] = (ts - g["last"]).dt.total_seconds() / 86400.0
    ev = events[(events["ts"] <= ts) & events["profile_id"].notna()]
    coupons = ev[ev["event"] == coupon_event].groupby("profile_id").size()
    out["coupon_rate"] = np.minimum(1.0, coupons.reindex(out.index, fill_value=0) / out["orders"])
    bought = items.merge(paid[["order_id", "profile_id"]], on="order_id")
    out["category_diversity"] = bought.groupby("profile_id")["category"].nunique().reindex(
        out.index, fill_value=0).astype(float)
    hours = pd.concat([ev[["profile_id", "ts"]], paid[["profile_id", "ts"]]])
    hours = hours.assign(h=hours["ts"].dt.tz_convert(timezone).dt.hour)
    out["active_hours"] = hours.groupby("profile_id")["h"].nunique().reindex(out.index).astype(float)
    out["events"] = ev.groupby("profile_id").size().reindex(out.index, fill_value=0).astype(float)
    return out.sort_index()


def sklearn_user(x: Any, seed: int, log: list[bool] | None = None) -> tuple[int, dict[int, float], Any]:
    """What a scikit-learn user writes: log1p, StandardScaler, KMeans(k, n_init=4) on every
    row for each k in 2..8, silhouette_score on a 5,000-row sample; the best k, the
    silhouettes and its labels."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    values = np.array(x, dtype=float)
    for j, flag in enumerate(log or []):
        if flag:
            values[:, j] = np.log1p(values[:, j])
    z = StandardScaler().fit_transform(values)
    scores: dict[int, float] = {}
    labels: dict[int, Any] = {}
    for k in K_RANGE:
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
        labels[k] = model.labels_
        scores[k] = float(silhouette_score(z, model.labels_, sample_size=min(5000, len(z)), random_state=seed))
    best = max(scores, key=lambda k: scores[k])
    return best, scores, labels[best]


def planted_matrix(rows: int, seed: int) -> tuple[Any, Any]:
    """*rows* × 8 values in six planted Gaussian groups (shuffled) and the group of each row."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(6, 8))
    truth = rng.integers(0, 6, size=rows)
    return centres[truth] + rng.normal(0, 1, size=(rows, 8)), truth


_time = timed_side


def run_clusters_suite(opts: ClustersOptions, report: Reporter) -> dict[str, Any]:
    """Time every side, check the features agree, save the figures and (optionally) the docs."""
    import shutil

    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    import segflow
    from bench.load import LoadOptions
    from bench.project import ensure_project, scratch_copy
    from segflow.models.clusters import (
        ClustersConfig,
        Feature,
        cluster_values,
        features_sql,
        resolve_features,
        run_clusters,
    )

    def idle() -> None:
        if opts.idle_timeout > 0:
            wait_until_idle(timeout=opts.idle_timeout)

    report("project", "finding or loading the shop's project")
    src, manifest = ensure_project(LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data))
    t = datetime.fromisoformat(manifest["end"].replace("Z", "+00:00")).astimezone(UTC) - timedelta(hours=4)
    report("project", "copying the warehouse into a scratch project")
    root = scratch_copy(src, opts.out / f"clusters-{opts.profiles}-{opts.seed}")
    ws = segflow.open(root)
    wh = ws.warehouse
    sides: dict[str, Any] = {}
    checks: dict[str, bool] = {}
    try:
        sizes = {"profiles": wh.count("SELECT count(*) FROM profiles"),
                 "orders": wh.count("SELECT count(*) FROM orders"),
                 "events": wh.count("SELECT count(*) FROM events")}
        config = ClustersConfig(seed=opts.seed)
        features = resolve_features(ws, config)
        names = [f.name for f in features]
        sql = features_sql(features, t, timezone=ws.config.timezone)
        report("floor", f"{opts.repeat} runs")
        _, sides["floor"] = _time(lambda: wh.temp_table("_bench_clusters", sql), opts.repeat, idle)
        floor = wh.query('SELECT * FROM "_bench_clusters" ORDER BY profile_id').to_pandas().set_index("profile_id")
        report("segflow", f"{opts.repeat} runs")
        result, sides["segflow"] = _time(lambda: run_clusters(ws, as_of=t, config=config), opts.repeat, idle)
        ours = dict(wh.rows("SELECT profile_id, cluster FROM traits WHERE cluster IS NOT NULL"))

        def baseline() -> Any:
            orders = wh.query("SELECT order_id, profile_id, ts, amount, status FROM orders").to_pandas()
            items = wh.query("SELECT order_id, category, quantity FROM order_items").to_pandas()
            events = wh.query("SELECT profile_id, event, ts FROM events").to_pandas()
            profiles = wh.query("SELECT profile_id, created_at FROM profiles").to_pandas()
            frame = pandas_features(orders, items, events, profiles, t, ws.config.timezone)
            return frame, sklearn_user(frame[names].to_numpy(), opts.seed, [n in LOGGED for n in names])

        report("baseline", f"{opts.repeat} runs (pandas + scikit-learn)")
        (frame, (k_user, user_scores, user_labels)), sides["baseline"] = _time(baseline, opts.repeat, idle,
                                                                                 warm=False)
        same_rows = list(frame.index) == list(floor.index)
        checks["baseline features equal the model's query"] = same_rows and bool(np.allclose(
            frame[names].to_numpy(dtype=float), floor[names].to_numpy(dtype=float), rtol=1e-9, atol=1e-9))
        by_id = [ours.get(p) for p in frame.index]
        agreement = float(adjusted_rand_score(user_labels, by_id)) if None not in by_id else None
        project = {"k": result.k, "silhouettes": result.silhouettes, "comparison": result.comparison,
                   "algorithm": result.algorithm, "buyers": result.clustered, "features": names,
                   "timings": result.timings,
                   "clusters": [{"id": c["id"], "label": c["label"], "size": c["size"]} for c in result.clusters],
                   "baseline": {"k": k_user, "silhouettes": {str(k): v for k, v in user_scores.items()},
                                "agreement": agreement}}
    finally:
        ws.close()
        shutil.rmtree(root, ignore_errors=True)

    matrix: dict[str, Any] | None = None
    if opts.rows > 0:
        report("matrix", f"{opts.rows:,} rows × 8 features")
        x, truth = planted_matrix(opts.rows, opts.seed)
        cols = [Feature(f"f{j}", "builtin", f"f{j}", False, f"high f{j}", f"low f{j}", "") for j in range(8)]
        fit, sides["matrix_segflow"] = _time(lambda: cluster_values(x, cols, ClustersConfig(seed=opts.seed)),
                                             opts.repeat, idle, warm=False)
        report("matrix", "scikit-learn user code")
        (k_user, user_scores, user_labels), sides["matrix_baseline"] = _time(
            lambda: sklearn_user(x, opts.seed), opts.repeat, idle, warm=False)
        matrix = {"rows": opts.rows, "k": fit.k, "silhouettes": fit.silhouettes, "comparison": fit.comparison,
                  "algorithm": fit.algorithm, "timings": fit.timings,
                  "recovered": float(adjusted_rand_score(truth, fit.labels)),
                  "baseline": {"k": k_user, "silhouettes": {str(k): v for k, v in user_scores.items()},
                               "recovered": float(adjusted_rand_score(truth, user_labels))}}
    data = {
        "suite": "clusters",
        "options": {"profiles": opts.profiles, "rows": opts.rows, "seed": opts.seed, "repeat": opts.repeat},
        "command": opts.command(),
        "machine": {**machine_info(), "segflow_src": source_digest()},
        "as_of": t.isoformat(),
        "sizes": sizes,
        "project": project,
        "matrix": matrix,
        "sides": sides,
        "checks": checks,
    }
    save_results("clusters", data, profiles=opts.profiles, seed=opts.seed, docs=opts.docs, render=render_section,
                 results=RESULTS_DIR)
    return data


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    s = data["sides"]
    p = data["project"]

    def row(label: str, side: str, base: str, note: str = "") -> list[str]:
        return side_row(s, side, label, note, base=base)

    def sil(comparison: dict[str, Any]) -> str:
        return ", ".join(f"{a} {v['silhouette']:.3f}" for a, v in comparison.items() if isinstance(v, dict))

    agreement = p["baseline"]["agreement"]
    rows = [
        row("floor: the feature query into a temp table", "floor", "segflow", "nothing fitted or written"),
        row("segflow `run_clusters` (2 traits written)", "segflow", "segflow",
            f"{p['buyers']:,} buyers, k = {p['k']} ({p['algorithm']}); silhouette {sil(p['comparison'])}"),
        row("pandas features + scikit-learn KMeans per k", "baseline", "segflow",
            f"k = {p['baseline']['k']}; "
            + ("same features" if data["checks"]["baseline features equal the model's query"] else
               "DIFFERENT features")
            + ("" if agreement is None else f"; agreement with segflow (ARI) {agreement:.3f}")),
    ]
    m = data.get("matrix")
    if m:
        rows += [
            row(f"segflow `cluster_values`, {m['rows']:,} × 8 matrix", "matrix_segflow", "matrix_segflow",
                f"k = {m['k']} ({m['algorithm']}); silhouette {sil(m['comparison'])}; planted groups ARI "
                f"{m['recovered']:.3f}"),
            row(f"scikit-learn user code, {m['rows']:,} × 8 matrix", "matrix_baseline", "matrix_segflow",
                f"k = {m['baseline']['k']}; planted groups ARI {m['baseline']['recovered']:.3f}"),
        ]
    return rows


def _sizes(data: dict[str, Any]) -> str:
    return ", ".join(f"{c['label']} {c['size']:,}" for c in data["project"]["clusters"])


def render_section(results: list[dict[str, Any]]) -> str:
    parts = ["## Clusters (`python bench/run.py clusters`)", "",
             "The k-means clusters model with its default config (eight features, k by silhouette in 2..8, "
             "KMeans and MiniBatchKMeans compared) end to end, against the same features in pandas and "
             "scikit-learn as a user writes it (KMeans on every row for each k); the floor is the model's "
             "feature query into a temporary table. Then the numeric pipeline alone on a planted matrix. "
             "Target: clusters on 1M rows × 8 features <= 60 s.", ""]
    for data in results:
        n = data["sizes"]
        parts += [f"### {n['profiles']:,} profiles, {n['orders']:,} orders, {n['events']:,} events", "",
                  markdown_table(HEADERS, result_rows(data), right={1, 2}), "",
                  f"Clusters: {_sizes(data)}. "
                  f"Command: `{data['command']}`. {machine_line(data['machine'])}", ""]
    return "\n".join(parts)
