"""Clusters (segflow.models.clusters): a shop with three planted groups of buyers is recovered
and described in the right words, k by silhouette finds three, a seed gives the same ids,
as-of hides later orders, every bad config is a one-line error that writes nothing, the
command prints JSON and draws the chart; standardising and describing against oracles
(hypothesis).

The planted groups (as of T = 2026-03-01 12:00 UTC), 40 buyers each:

* ``deal``  — 3-4 orders of about 30, recent, a ``coupon_redeemed`` event for every order;
* ``loyal`` — 14-17 orders of about 300, recent, no coupon;
* ``gone``  — 3-4 orders of about 120, the last 250-320 days before T, no coupon; each
  also has a big order a day *after* T, which must not count.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import ModelError
from segflow.models.clusters import (
    BUILTIN,
    HIGH,
    PERSONAS,
    TYPICAL,
    ClustersConfig,
    Feature,
    describe_centre,
    load_clusters_config,
    run_clusters,
    standardise,
)
from segflow.traits.store import owned_columns
from segflow.workspace import Workspace

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GROUPS = ("deal", "loyal", "gone")
FEATURES = ["orders", "avg_order_value", "total_spend", "days_since_last_order", "coupon_rate"]
PER_GROUP = 40


def planted(folder: Path, seed: int = 7) -> dict[str, str]:
    """Write profiles.csv, orders.csv and events.csv of the three groups (and two profiles
    that must not be clustered); return profile → group."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, str] = {}
    orders: list[str] = []
    events: list[str] = []
    profiles = ["profile_id,age,score"]

    def order(pid: str, ts: datetime, amount: float, coupon: bool) -> None:
        oid = f"o{len(orders)}"
        orders.append(f"{oid},{pid},{ts.isoformat()},{amount:.2f},paid")
        if coupon:
            events.append(f"e{len(events)},{pid},coupon_redeemed,{ts.isoformat()}")

    for group in GROUPS:
        for i in range(PER_GROUP):
            pid = f"{group}{i:02d}"
            truth[pid] = group
            # score: a numeric attribute the lapsed group lacks
            profiles.append(f"{pid},{20 + i},{'' if group == 'gone' else i % 7}")
            if group == "deal":
                for _ in range(int(rng.integers(3, 5))):
                    order(pid, T - int(rng.integers(1, 40)) * DAY, rng.normal(30, 3), True)
            elif group == "loyal":
                for _ in range(int(rng.integers(14, 18))):
                    order(pid, T - int(rng.integers(1, 40)) * DAY, rng.normal(300, 30), False)
            else:
                for _ in range(int(rng.integers(3, 5))):
                    order(pid, T - int(rng.integers(250, 321)) * DAY, rng.normal(120, 12), False)
                order(pid, T + DAY, 5000.0, False)  # after T: must not count
    profiles += ["never_bought,30,1", "late_only,30,1"]
    order("late_only", T + 2 * DAY, 100.0, True)
    (folder / "profiles.csv").write_text("\n".join(profiles) + "\n")
    (folder / "orders.csv").write_text("order_id,profile_id,ts,amount,status\n" + "\n".join(orders) + "\n")
    (folder / "events.csv").write_text("event_id,profile_id,event,ts\n" + "\n".join(events) + "\n")
    return truth


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("clusters")
    truth = planted(root / "files")
    ws = segflow.init(root / "proj", timezone="UTC")
    try:
        for kind in ("profiles", "orders", "events"):
            assert ws.load(kind, [root / "files" / f"{kind}.csv"])[0].rejected == 0
    finally:
        ws.close()
    return root / "proj", truth


@pytest.fixture
def ws(shop: tuple[Path, dict[str, str]]) -> Iterator[Workspace]:
    w = segflow.open(shop[0])
    yield w
    w.close()


def written(ws: Workspace) -> dict[str, tuple[Any, Any]]:
    return {p: (c, lab) for p, c, lab in ws.warehouse.rows(
        "SELECT profile_id, cluster, cluster_label FROM traits ORDER BY 1")}


def adjusted_rand(a: list[Any], b: list[Any]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


CONFIG = ClustersConfig.model_validate({"features": FEATURES, "k_range": [2, 6]})


# -- the planted structure ---------------------------------------------------------------------

def test_the_planted_groups_are_recovered_and_described(ws: Workspace, shop: tuple[Path, dict[str, str]]) -> None:
    truth = shop[1]
    result = run_clusters(ws, as_of=T, config=CONFIG)
    assert result.k == 3 and result.k_chosen_by == "silhouette"
    assert max(result.silhouettes, key=lambda k: result.silhouettes[k]) == "3"
    assert set(result.silhouettes) == {"2", "3", "4", "5", "6"}
    got = written(ws)
    assert adjusted_rand([truth[p] for p in truth], [got[p][0] for p in truth]) > 0.95
    # never bought, or bought only after T: not clustered
    assert got["never_bought"] == (None, None) and got["late_only"] == (None, None)
    assert (result.buyers, result.clustered) == (3 * PER_GROUP, 3 * PER_GROUP)
    by_group: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        ids = {got[p][0] for p, g in truth.items() if g == group}
        assert len(ids) == 1, group
        (cluster,) = ids
        by_group[group] = next(c for c in result.clusters if c["id"] == cluster)
    deal, loyal, gone = (by_group[g] for g in GROUPS)
    assert deal["label"] == "price-sensitive"
    assert "high coupon use" in " ".join(deal["words"]) and "low order value" in " ".join(deal["words"])
    assert deal["description"].endswith("→ price-sensitive")
    assert loyal["label"] == "loyal big spenders"
    assert any("many orders" in w for w in loyal["words"]) and any("high spend" in w for w in loyal["words"])
    assert gone["label"] == "lapsed" and any("long since last order" in w for w in gone["words"])
    # the numbers behind the words, in original units: the order after T is not in them
    assert 250 <= gone["features"]["days_since_last_order"]["centre"] <= 320
    assert gone["features"]["avg_order_value"]["centre"] == pytest.approx(120, abs=10)
    assert deal["features"]["coupon_rate"]["centre"] == 1.0
    assert loyal["features"]["coupon_rate"]["centre"] == 0.0
    assert deal["features"]["coupon_rate"]["z"] > HIGH > -HIGH > deal["features"]["avg_order_value"]["z"]
    population = deal["features"]["orders"]["population"]
    assert population == pytest.approx(statistics.mean(c["features"]["orders"]["centre"] * c["size"]
                                                       for c in result.clusters) * 3 / result.clustered)
    # ids by size, largest first; the labels are the persona names
    assert [c["size"] for c in result.clusters] == sorted((c["size"] for c in result.clusters), reverse=True)
    assert [c["id"] for c in result.clusters] == [1, 2, 3]
    assert {lab for _, lab in got.values() if lab} == {"price-sensitive", "loyal big spenders", "lapsed"}
    state = owned_columns(ws.warehouse, "model:clusters")
    assert sorted(state) == ["cluster", "cluster_label"]
    assert state["cluster"]["as_of"] == T and state["cluster"]["non_null"] == 3 * PER_GROUP
    assert ws.warehouse.columns("traits")["cluster"] == "BIGINT"


def test_both_algorithms_are_scored_on_the_same_sample(ws: Workspace) -> None:
    result = run_clusters(ws, as_of=T, config=CONFIG)
    assert result.algorithm == "kmeans"
    assert set(result.comparison) == {"kmeans", "minibatch", "agreement"}
    assert result.comparison["kmeans"]["silhouette"] == pytest.approx(result.silhouettes["3"], abs=0.05)
    assert result.comparison["agreement"] > 0.9
    mini = run_clusters(ws, as_of=T, config=CONFIG.model_copy(update={"algorithm": "minibatch", "compare": False}))
    assert mini.algorithm == "minibatch" and set(mini.comparison) == {"minibatch"}
    forced = run_clusters(ws, as_of=T, config=CONFIG.model_copy(update={"minibatch_from": 10}))
    assert forced.algorithm == "minibatch"


def test_the_same_seed_gives_the_same_result(ws: Workspace, shop: tuple[Path, dict[str, str]]) -> None:
    first = run_clusters(ws, as_of=T, config=CONFIG)
    traits = written(ws)
    again = run_clusters(ws, as_of=T, config=CONFIG)
    assert written(ws) == traits
    assert again.clusters == first.clusters and again.silhouettes == first.silhouettes
    other = run_clusters(ws, as_of=T, config=CONFIG.model_copy(update={"seed": 11}))
    assert sorted(c["label"] for c in other.clusters) == sorted(c["label"] for c in first.clusters)
    truth = shop[1]
    assert adjusted_rand([traits[p][0] for p in truth], [written(ws)[p][0] for p in truth]) == 1.0


def test_a_fixed_k(ws: Workspace) -> None:
    result = run_clusters(ws, as_of=T, config=CONFIG.model_copy(update={"k": 4}))
    assert result.k == 4 and result.k_chosen_by == "fixed" and result.silhouettes == {}
    assert len(result.clusters) == 4 and sum(c["size"] for c in result.clusters) == 3 * PER_GROUP
    assert len({c["label"] for c in result.clusters}) == 4  # a repeated persona is told apart


def test_as_of_moves_the_window(ws: Workspace) -> None:
    """Two days after T the big orders count: the lapsed group has bought again."""
    run_clusters(ws, as_of=T + 3 * DAY, config=CONFIG)
    got = written(ws)
    assert got["late_only"][0] is not None
    gone = {got[f"gone{i:02d}"][1] for i in range(PER_GROUP)}
    assert "lapsed" not in gone


def test_default_features_and_an_attribute(ws: Workspace) -> None:
    result = run_clusters(ws, as_of=T)
    names = [f["name"] for f in result.features]
    # no order items in this shop, and every order and event at 12:00: category_diversity and
    # active_hours (1 for everyone) are left out of the defaults, and the result says so
    assert names == ["orders", "total_spend", "avg_order_value", "days_since_last_order", "coupon_rate", "events"]
    assert result.notes == ["default features without data left out: category_diversity",
                            "default features the same for every buyer left out: active_hours (1)"]
    config = ClustersConfig.model_validate({"features": ["orders", {"name": "age", "log": True}], "k": 2})
    result = run_clusters(ws, as_of=T, config=config)
    age = result.features[1]
    assert (age["name"], age["source"], age["log"]) == ("age", "attribute", True)
    assert age["mean"] == pytest.approx(statistics.mean(math.log1p(20 + i) for i in range(PER_GROUP)))


def test_a_trait_feature(ws: Workspace) -> None:
    """rfm_m (the guide's M score) as a feature: read from the traits table as stored."""
    from segflow.models.rfm import run_rfm

    run_rfm(ws, as_of=T)
    config = ClustersConfig.model_validate({"features": ["orders", "trait:rfm_m", "coupon_rate"], "k": 3})
    result = run_clusters(ws, as_of=T, config=config)
    assert [(f["name"], f["source"]) for f in result.features][1] == ("rfm_m", "trait")
    assert result.clustered == 3 * PER_GROUP and result.missing == {}
    loyal = next(c for c in result.clusters if c["features"]["orders"]["centre"] > 10)
    assert loyal["features"]["rfm_m"]["centre"] == 1.0  # 14+ orders of ~300 within 90 days: M 1


def test_missing_values_are_skipped_or_filled(ws: Workspace) -> None:
    config = ClustersConfig.model_validate({"features": ["orders", "score", "coupon_rate"], "k": 2})
    result = run_clusters(ws, as_of=T, config=config)
    assert result.missing == {"score": PER_GROUP}
    assert (result.buyers, result.clustered) == (3 * PER_GROUP, 2 * PER_GROUP)
    assert all(written(ws)[f"gone{i:02d}"] == (None, None) for i in range(PER_GROUP))
    for fill, value in (("zero", 0.0), ("mean", 3.0)):
        filled = run_clusters(ws, as_of=T, config=config.model_copy(update={"missing": fill}))
        assert filled.clustered == 3 * PER_GROUP and filled.missing == {"score": PER_GROUP}
        mean = sum(i % 7 for i in range(PER_GROUP)) / PER_GROUP
        population = next(iter(filled.clusters))["features"]["score"]["population"]
        expected = (2 * PER_GROUP * mean + PER_GROUP * (0.0 if fill == "zero" else mean)) / (3 * PER_GROUP)
        assert population == pytest.approx(expected), value


def test_the_project_file_and_the_model_registry(ws: Workspace) -> None:
    """``models/clusters.yaml`` is what the registry (tag refreshes, definitions) runs with."""
    from segflow.models.registry import model_of_trait, output_types, run_model

    assert model_of_trait("cluster_label") == "clusters" and output_types()["cluster"].value == "integer"
    file = ws.root / "models" / "clusters.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text("model: clusters\nk: 3\nfeatures: [orders, avg_order_value, coupon_rate]\n")
    try:
        result = run_model(ws, "clusters", as_of=T)
        assert (result.k, result.file, result.scored) == (3, str(file), 3 * PER_GROUP)
        assert owned_columns(ws.warehouse, "model:clusters")["cluster"]["file"] == str(file)
    finally:
        file.unlink()


# -- bad input: one line, the file and the field, nothing written ----------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("features: [orders, age2]\n", "cfg.yaml: features[1]: unknown feature 'age2': not a built-in aggregate, "
                                   "a computed trait or a profile attribute (built-ins: orders,"),
    ("features: [orders, trait:nope]\n", "cfg.yaml: features[1]: unknown feature 'trait:nope': not a computed trait"),
    ("features: [orders, attribute:email]\n", "cfg.yaml: features[1]: profile attribute 'email' is string: only "
                                              "numeric attributes can be clustered"),
    ("features: [orders, cluster]\n", "cfg.yaml: features[1]: 'cluster' is this model's own output"),
    ("features: [orders, category_diversity]\n", "cfg.yaml: features[1]: category_diversity: needs order items"),
    ("features: [orders, x:y]\n", "cfg.yaml: features[1]: unknown source 'x' in 'x:y'"),
    ("coupon_column: coupon\n", "cfg.yaml: coupon_column: orders have no column 'coupon'"),
])
def test_a_config_the_project_refutes_is_one_line_and_writes_nothing(ws: Workspace, tmp_path: Path, text: str,
                                                                     message: str) -> None:
    run_clusters(ws, as_of=T, config=CONFIG)
    before = ws.warehouse.rows("SELECT * FROM traits ORDER BY profile_id")
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    config, file = load_clusters_config(path)
    with pytest.raises(ModelError) as info:
        run_clusters(ws, as_of=T, config=config, file=file)
    assert str(info.value).startswith(str(tmp_path / message)), str(info.value)
    assert "\n" not in str(info.value)
    assert ws.warehouse.rows("SELECT * FROM traits ORDER BY profile_id") == before


@pytest.mark.parametrize(("text", "message"), [
    ("k: 1\n", "cfg.yaml: k: need 2 <= k <= 50, got 1"),
    ("k: 99\n", "cfg.yaml: k: need 2 <= k <= 50, got 99"),
    ("k_range: [6, 3]\n", "cfg.yaml: k_range: need 2 <= first <= second <= 50, got [6, 3]"),
    ("k_range: [1, 3]\n", "cfg.yaml: k_range: need 2 <= first <= second <= 50, got [1, 3]"),
    ("sample: 10\n", "cfg.yaml: sample: need 100 <= sample <= 100000, got 10"),
    ("features: []\n", "cfg.yaml: features: give a list of at least one feature"),
    ("features: [orders, orders]\n", "cfg.yaml: features: 'orders' is listed twice"),
    ("features: [{name: orders, logg: true}]\n", "cfg.yaml: features[0].logg: Extra inputs are not permitted"),
    ("algorithm: spectral\n", "cfg.yaml: algorithm: Input should be 'auto', 'kmeans' or 'minibatch'"),
    ("ks: 3\n", "cfg.yaml: ks: Extra inputs are not permitted"),
    ("model: rfm\n", "cfg.yaml: model: this is a config of 'rfm', not of clusters"),
    ("- 1\n", "cfg.yaml: expected a mapping of settings, got list"),
])
def test_a_bad_config_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as info:
        load_clusters_config(path)
    assert str(info.value).startswith(str(tmp_path / message)), str(info.value)
    assert "\n" not in str(info.value)


def test_config_from_the_project_folder_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "clusters.yaml").write_text("model: clusters\nk_range: [3, 5]\nseed: 4\n"
                                                       "features: [orders, {name: events, log: false}]\n")
    config, file = load_clusters_config(root=tmp_path)
    assert (config.k_range, config.seed, file) == ((3, 5), 4, str(tmp_path / "models" / "clusters.yaml"))
    assert config.features is not None and config.features[1].log is False
    config, _ = load_clusters_config(root=tmp_path, overrides={"k": 4})
    assert config.k == 4 and config.seed == 4
    assert load_clusters_config(root=tmp_path / "nowhere") == (ClustersConfig(), None)


def test_too_few_buyers_for_k_and_a_constant_feature(ws: Workspace, tmp_path: Path) -> None:
    run_clusters(ws, as_of=T, config=CONFIG)
    before = written(ws)
    with pytest.raises(ModelError, match=r"^k: 50 clusters need more than 50 buyers with every feature; there "
                                         r"are 40 up to"):
        run_clusters(ws, as_of=T - 200 * DAY, config=ClustersConfig(k=50, features=CONFIG.features))
    # 40 buyers, but only two different order counts (3 or 4): not enough for 3 clusters
    with pytest.raises(ModelError, match=r"^k: 3 clusters need more than 3 distinct buyers \(different values of "
                                         r"the features\); the 40 sampled have 2$"):
        run_clusters(ws, as_of=T - 200 * DAY, config=ClustersConfig.model_validate({"features": ["orders"], "k": 3}))
    ranged = run_clusters(ws, as_of=T - 200 * DAY,
                          config=ClustersConfig.model_validate({"features": ["orders", "avg_order_value"]}))
    assert ranged.k >= 2 and set(ranged.silhouettes) <= {str(k) for k in range(2, 9)}
    run_clusters(ws, as_of=T, config=CONFIG)
    before = written(ws)
    path = tmp_path / "c.yaml"
    path.write_text("features: [orders, coupon_rate]\n")
    config, file = load_clusters_config(path)
    with pytest.raises(ModelError, match=r"c\.yaml: features\[1\]: coupon_rate is 0 for every one of the 40 "
                                         "buyers: it cannot tell clusters apart") as info:
        run_clusters(ws, as_of=T - 200 * DAY, config=config, file=file)
    assert info.value.code == "constant_feature"
    assert written(ws) == before


def test_no_orders_is_an_error(ws: Workspace, project: Workspace) -> None:
    with pytest.raises(ModelError, match="^clusters: no paid orders up to 2020-01-01") as info:
        run_clusters(ws, as_of=datetime(2020, 1, 1, tzinfo=UTC))
    assert info.value.code == "no_orders"
    with pytest.raises(ModelError, match="no paid orders") as info:
        run_clusters(project, as_of=T)
    assert info.value.code == "no_orders"
    assert project.warehouse.columns("traits") == {"profile_id": "VARCHAR"}


# -- the pieces against oracles ------------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(data=st.data(), rows=st.integers(2, 12), cols=st.integers(1, 4),
       clip=st.one_of(st.none(), st.floats(0.5, 4)))
def test_standardise_matches_the_formula(data: st.DataObject, rows: int, cols: int, clip: float | None) -> None:
    values = [[data.draw(st.floats(-1e4, 1e6, allow_nan=False)) for _ in range(cols)] for _ in range(rows)]
    logs = [data.draw(st.booleans()) for _ in range(cols)]
    z, mean, std = standardise(np.array(values), logs, clip)
    for j in range(cols):
        column = [math.log1p(max(r[j], 0.0)) if logs[j] else r[j] for r in values]
        m, s = statistics.fmean(column), statistics.pstdev(column)
        assert mean[j] == pytest.approx(m, rel=1e-9, abs=1e-9)
        assert std[j] == pytest.approx(s, rel=1e-6, abs=1e-6)
        for i in range(rows):
            expected = 0.0 if std[j] == 0 else (column[i] - mean[j]) / std[j]
            if clip is not None:
                expected = max(-clip, min(clip, expected))
            assert z[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-9)


_ALL = [Feature(n, "builtin", n, b.log, b.high, b.low, b.unit) for n, b in BUILTIN.items()]


@settings(max_examples=300, deadline=None)
@given(chosen=st.sets(st.sampled_from(sorted(BUILTIN)), min_size=1),
       data=st.data())
def test_describe_centre_follows_its_rules(chosen: set[str], data: st.DataObject) -> None:
    features = [f for f in _ALL if f.name in chosen]
    z = {f.name: data.draw(st.sampled_from([-2.0, -1.0, -0.7, -0.5, -0.2, 0.0, 0.3, 0.5, 0.8, 1.5]))
         for f in features}
    words, persona = describe_centre(z, features)

    def matches(rule: dict[str, int]) -> bool:
        return all(n in z and z[n] * sign >= 0.5 for n, sign in rule.items())

    rules = [name for name, rule in PERSONAS if matches(rule)]
    deviating = sorted((f for f in features if abs(z[f.name]) >= 0.5), key=lambda f: (-abs(z[f.name]), f.name))
    if rules:
        assert persona == rules[0]
        rule = next(r for name, r in PERSONAS if name == persona and matches(r))
        for name, sign in rule.items():  # the rule's own features are among the words
            f = next(f for f in features if f.name == name)
            assert any((f.high if sign > 0 else f.low) in w for w in words)
    elif deviating:
        f = deviating[0]
        assert persona == f"customers with {f.high if z[f.name] > 0 else f.low}"
    else:
        assert persona == TYPICAL and words == []
    assert len(words) >= min(3, len(deviating))
    strengths = []
    for w in words:  # every word is a deviating feature's, strongest first, "very" from |z| >= 1
        f = next(f for f in deviating if w.removeprefix("very ") in (f.high, f.low))
        assert (w.removeprefix("very ") == f.high) == (z[f.name] > 0)
        assert w.startswith("very ") == (abs(z[f.name]) >= 1.0 and w != f.high and w != f.low)
        strengths.append(abs(z[f.name]))
    assert strengths == sorted(strengths, reverse=True)


# -- the command ---------------------------------------------------------------------------------

def test_the_command_prints_json_and_draws_the_chart(shop: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root = shop[0]
    (tmp_path / "c.yaml").write_text(f"features: {json.dumps(FEATURES)}\nk_range: [2, 6]\n")
    base = [sys.executable, "-m", "segflow.cli.app", "model", "clusters", "-p", str(root), "--as-of", T.isoformat(),
            "--config", str(tmp_path / "c.yaml")]
    chart = tmp_path / "clusters.png"
    proc = subprocess.run([*base, "--format", "json", "--chart", str(chart)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["k"] == 3 and summary["file"] == str(tmp_path / "c.yaml")
    assert sorted(c["label"] for c in summary["clusters"]) == ["lapsed", "loyal big spenders", "price-sensitive"]
    assert set(summary["silhouettes"]) == {"2", "3", "4", "5", "6"}
    assert summary["comparison"]["kmeans"]["silhouette"] > 0.5
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5000
    proc = subprocess.run([*base, "--k", "2", "--chart", str(tmp_path / "c.html")], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "2 clusters of 120 buyers" in proc.stdout and "all buyers" in proc.stdout
    assert "Clusters of 120 buyers" in (tmp_path / "c.html").read_text()
    (tmp_path / "bad.yaml").write_text("features: [orders, age2]\n")
    proc = subprocess.run([*base[:-1], str(tmp_path / "bad.yaml")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert f"{tmp_path / 'bad.yaml'}: features[1]: unknown feature 'age2'" in proc.stderr
    proc = subprocess.run([*base, "--k", "1"], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "k: need 2 <= k <= 50, got 1" in proc.stderr
