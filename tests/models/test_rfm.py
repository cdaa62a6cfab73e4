"""RFM: the guide's rules at every boundary by hand, all three modes against a Python oracle
(hypothesis), the template's rfm tags on a generated shop, and the traits it writes.

As of T = 2026-03-01 12:00 UTC the guide's limits fall at T - 30d = 01-30 12:00 and
T - 90d = 12-01 12:00 (a window is T - d < ts <= T, as in rules).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import DefinitionError, ModelError
from segflow.models.rfm import GRID_CELLS, RfmConfig, load_rfm_config, run_rfm
from segflow.schema.types import AttributeType
from segflow.segments.preview import member_ids
from segflow.traits import refresh_traits
from segflow.traits.store import owned_columns
from segflow.workspace import Workspace

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
COLUMNS = ("rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_tier")
T_INT = AttributeType.INTEGER


def load(ws: Workspace, folder: Path, profiles: list[tuple[str, datetime | None]],
         orders: list[tuple[str, datetime, str, str]]) -> None:
    """Load *profiles* (id, created_at) and *orders* (profile, ts, amount, status) as CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.csv").write_text(
        "profile_id,created_at\n" + "".join(f"{p},{c.isoformat() if c else ''}\n" for p, c in profiles))
    (folder / "orders.csv").write_text("order_id,profile_id,ts,amount,status\n" + "".join(
        f"o{i},{p},{ts.isoformat()},{amount},{status}\n" for i, (p, ts, amount, status) in enumerate(orders)))
    for kind in ("profiles", "orders"):
        assert ws.load(kind, [folder / f"{kind}.csv"])[0].rejected == 0


def scores(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    rows = ws.warehouse.rows(f'SELECT profile_id, {", ".join(COLUMNS)} FROM traits ORDER BY 1')
    return {r[0]: tuple(r[1:]) for r in rows}


# -- the guide, by hand ------------------------------------------------------------------------

#: profile → (created_at, orders as (ts, amount, status), expected (R, F, M, score, tier)).
GUIDE_CASES: dict[str, tuple[datetime | None, list[tuple[datetime, str, str]], tuple[Any, ...]]] = {
    # last order exactly 30 days before T: outside "within 30 days" → R 2
    "r30_exact": (None, [(T - 30 * DAY, "10", "paid")], (2, 3, 3, 8, "churn_risk")),
    "r30_inside": (None, [(T - 30 * DAY + SECOND, "10", "paid")], (1, 3, 3, 7, "potential")),
    # exactly 90 days: R 3, and the order is outside the F and M window too
    "r90_exact": (None, [(T - 90 * DAY, "5000", "paid")], (3, 3, 3, 9, "churn_risk")),
    "r90_inside": (None, [(T - 90 * DAY + SECOND, "5000", "paid")], (2, 3, 1, 6, "potential")),
    # an order at T itself counts; one a second after T does not
    "at_t": (None, [(T, "1", "paid"), (T + SECOND, "9999", "paid")], (1, 3, 3, 7, "potential")),
    # five orders in the window, 999.50 in all: F 1, M 2 (never rounded up)
    "f5_m999_50": (None, [(T - d * DAY, a, "paid") for d, a in
                          ((1, "199.90"), (10, "199.90"), (20, "199.90"), (40, "199.90"), (89, "199.90"))],
                   (1, 1, 2, 4, "high_value")),
    # four orders and 1000.00 exactly: F 2, M 1
    "f4_m1000": (None, [(T - d * DAY, "250", "paid") for d in (2, 3, 4, 5)], (1, 2, 1, 4, "high_value")),
    # two orders, 500 exactly: F 2, M 2; a refunded order counts for nothing
    "f2_m500": (None, [(T - 45 * DAY, "200", "paid"), (T - 50 * DAY, "300", "paid"),
                       (T - 2 * DAY, "900", "refunded")], (2, 2, 2, 6, "potential")),
    # one order in the window and older ones: F 3 (<= 1), R from the window's order
    "f1_old": (None, [(T - 60 * DAY, "499.99", "paid"), (T - 200 * DAY, "9000", "paid"),
                      (T - 300 * DAY, "10", "paid")], (2, 3, 3, 8, "churn_risk")),
    # score 5 exactly is high value
    "score5": (None, [(T - 5 * DAY, "600", "paid"), (T - 6 * DAY, "500", "paid")], (1, 2, 1, 4, "high_value")),
    "score5b": (None, [(T - 35 * DAY, "400", "paid"), (T - 36 * DAY, "700", "paid")], (2, 2, 1, 5, "high_value")),
    # no score: only refunds, only orders after T, no orders, not yet created at T
    "refunds_only": (None, [(T - DAY, "100", "refunded")], (None,) * 5),
    "after_t_only": (None, [(T + DAY, "100", "paid")], (None,) * 5),
    "never_bought": (None, [], (None,) * 5),
    "created_later": (T + DAY, [(T - DAY, "100", "paid")], (None,) * 5),
}


@pytest.fixture
def guide_shop(project: Workspace, tmp_path: Path) -> Workspace:
    profiles = [(p, created) for p, (created, _, _) in GUIDE_CASES.items()]
    orders = [(p, ts, a, s) for p, (_, rows, _) in GUIDE_CASES.items() for ts, a, s in rows]
    load(project, tmp_path / "files", profiles, orders)
    return project


def test_guide_rules_at_every_boundary(guide_shop: Workspace) -> None:
    result = run_rfm(guide_shop, as_of=T)
    assert scores(guide_shop) == {p: expected for p, (_, _, expected) in GUIDE_CASES.items()}
    assert result.scored == sum(1 for *_, e in GUIDE_CASES.values() if e[0] is not None)
    assert result.tiers == {"high_value": 4, "potential": 4, "churn_risk": 3}
    assert result.profiles == len(GUIDE_CASES)
    assert result.labels["high_value"] == {"en": "high value", "zh": "高价值客户"}
    assert sum(cell["profiles"] for cell in result.grid.values()) == result.scored


def test_the_traits_are_typed_and_rules_read_them(guide_shop: Workspace) -> None:
    run_rfm(guide_shop, as_of=T)
    types = guide_shop.warehouse.columns("traits")
    assert [types[c] for c in COLUMNS] == ["BIGINT"] * 4 + ["VARCHAR"]
    high = member_ids(guide_shop, {"trait": "rfm_score", "eq": 5}, as_of=T).ids
    assert high == ["score5b"]
    tier = member_ids(guide_shop, {"trait": "rfm_tier", "eq": "high_value"}, as_of=T).ids
    assert tier == sorted(p for p, (*_, e) in GUIDE_CASES.items() if e[4] == "high_value")
    state = owned_columns(guide_shop.warehouse, "model:rfm")
    assert sorted(state) == sorted(COLUMNS)
    assert state["rfm_score"]["as_of"] == T and state["rfm_score"]["non_null"] == 11


def test_as_of_moves_the_windows(guide_shop: Workspace) -> None:
    """A day later the order at exactly T - 30d (R 2) is 31 days old; the one at T is 1 day old."""
    run_rfm(guide_shop, as_of=T + DAY)
    got = scores(guide_shop)
    assert got["r30_inside"][0] == 2 and got["at_t"][:3] == (1, 2, 1)  # the 9999 order is now in
    assert got["r90_inside"] == (3, 3, 3, 9, "churn_risk")
    assert got["after_t_only"] == (1, 3, 3, 7, "potential")
    assert got["created_later"] == (1, 3, 3, 7, "potential")  # created at T + 1d: it exists now


def test_trait_refresh_keeps_the_model_columns(guide_shop: Workspace) -> None:
    (guide_shop.root / "traits").mkdir(exist_ok=True)
    (guide_shop.root / "traits" / "orders_90d.yaml").write_text("kind: counter\nsource: orders\nwithin: 90d\n")
    run_rfm(guide_shop, as_of=T)
    before = scores(guide_shop)
    refresh_traits(guide_shop, as_of=T)
    assert scores(guide_shop) == before
    counts = dict(guide_shop.warehouse.rows("SELECT profile_id, orders_90d FROM traits"))
    assert counts["f5_m999_50"] == 5
    # and a model run keeps the defined traits
    run_rfm(guide_shop, as_of=T, config=RfmConfig(mode="grid"))
    assert dict(guide_shop.warehouse.rows("SELECT profile_id, orders_90d FROM traits")) == counts


def test_a_model_run_follows_the_profiles_and_keeps_every_other_column(guide_shop: Workspace, tmp_path: Path) -> None:
    """Profiles that came since the last write get a row, merged-away ones lose theirs, the
    other columns keep their values, and the table stays in profile_id order."""
    from segflow.traits.store import write_owned_traits

    (guide_shop.root / "traits").mkdir(exist_ok=True)
    (guide_shop.root / "traits" / "orders_90d.yaml").write_text("kind: counter\nsource: orders\nwithin: 90d\n")
    refresh_traits(guide_shop, as_of=T)
    counts = dict(guide_shop.warehouse.rows("SELECT profile_id, orders_90d FROM traits"))
    guide_shop.warehouse.execute("DELETE FROM profiles WHERE profile_id = 'never_bought'")
    (tmp_path / "more.csv").write_text("profile_id\naa_first\nzz_last\n")
    assert guide_shop.load("profiles", [tmp_path / "more.csv"])[0].rejected == 0
    write_owned_traits(guide_shop, "model:test", {"x": T_INT}, "SELECT 'zz_last' AS profile_id, 7 AS x",
                       as_of=T)
    rows = guide_shop.warehouse.rows("SELECT profile_id, orders_90d, x FROM traits")
    ids = [r[0] for r in rows]
    assert ids == sorted(ids) and ids[0] == "aa_first" and ids[-1] == "zz_last"
    assert "never_bought" not in ids and len(ids) == guide_shop.warehouse.count("SELECT count(*) FROM profiles")
    assert {r[0]: r[1] for r in rows if r[0] in counts} == {p: n for p, n in counts.items() if p != "never_bought"}
    assert {r[0]: r[2] for r in rows if r[2] is not None} == {"zz_last": 7}


def test_a_trait_file_named_like_a_model_column_is_refused(guide_shop: Workspace) -> None:
    run_rfm(guide_shop, as_of=T)
    (guide_shop.root / "traits").mkdir(exist_ok=True)
    (guide_shop.root / "traits" / "rfm_score.yaml").write_text("kind: counter\nsource: orders\n")
    with pytest.raises(DefinitionError, match="rfm_score.*model:rfm") as info:
        refresh_traits(guide_shop, as_of=T)
    assert info.value.code == "trait_conflict"
    with pytest.raises(DefinitionError, match="also defined in") as info:
        run_rfm(guide_shop, as_of=T)
    assert info.value.code == "trait_conflict"


def test_no_paid_orders_is_an_error_and_keeps_the_last_scores(guide_shop: Workspace) -> None:
    run_rfm(guide_shop, as_of=T)
    before = scores(guide_shop)
    with pytest.raises(ModelError, match="no paid orders up to 2020-01-01"):
        run_rfm(guide_shop, as_of=datetime(2020, 1, 1, tzinfo=UTC))
    assert scores(guide_shop) == before


def test_no_orders_at_all(project: Workspace) -> None:
    with pytest.raises(ModelError, match="no paid orders") as info:
        run_rfm(project, as_of=T)
    assert info.value.code == "no_orders"


# -- the config --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("recency: [30, 90]\n", "cfg.yaml: recency: Extra inputs are not permitted"),
    ("recency_days: [90, 30]\n", "cfg.yaml: recency_days: need 0 < first < second, got [90, 30]"),
    ("mode: deciles\n", "cfg.yaml: mode: Input should be 'guide', 'quantile' or 'grid'"),
    ("monetary_min: [500, 1000]\n", "cfg.yaml: monetary_min: need first > second >= 0"),
    ("window_days: 0\n", "cfg.yaml: window_days: need at least 1 day"),
    ("- 1\n", "cfg.yaml: expected a mapping of settings, got list"),
    ("mode: [\n", "cfg.yaml: not valid YAML"),
    ("model: clusters\n", "cfg.yaml: model: this is a config of 'clusters', not of rfm"),
])
def test_a_bad_config_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as info:
        load_rfm_config(path)
    assert str(info.value).startswith(str(tmp_path / message))
    assert "\n" not in str(info.value)


def test_config_from_the_project_folder_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "rfm.yaml").write_text("model: rfm\nmode: quantile\nwindow_days: 180\n")
    config, file = load_rfm_config(root=tmp_path)
    assert (config.mode, config.window, file) == ("quantile", 180, str(tmp_path / "models" / "rfm.yaml"))
    config, _ = load_rfm_config(root=tmp_path, overrides={"mode": "grid"})
    assert (config.mode, config.window) == ("grid", 180)
    assert load_rfm_config(root=tmp_path / "nowhere") == (RfmConfig(), None)
    assert RfmConfig(mode="grid").window == 365 and RfmConfig().window == 90


# -- every mode against a Python oracle ----------------------------------------------------------

def oracle(config: RfmConfig, profiles: dict[str, datetime | None],
           orders: list[tuple[str, datetime, Decimal, str]], t: datetime) -> dict[str, tuple[Any, ...]]:
    """The module docstring's rules, row by row, in exact arithmetic."""
    since = t - config.window * DAY
    paid: dict[str, list[tuple[datetime, Decimal]]] = {}
    for p, ts, amount, status in orders:
        created = profiles[p]
        if status == "paid" and ts <= t and (created is None or created <= t):
            paid.setdefault(p, []).append((ts, amount))
    facts = {p: (max(ts for ts, _ in rows), sum(1 for ts, _ in rows if ts > since),
                 sum((a for ts, a in rows if ts > since), Decimal(0))) for p, rows in paid.items()}
    out: dict[str, tuple[Any, ...]] = {p: (None,) * 5 for p in profiles}
    if config.mode == "guide":
        (d1, d2), (f1, f2), (m1, m2) = config.recency_days, config.frequency_min, config.monetary_min
        for p, (last, n, total) in facts.items():
            r = 1 if last > t - d1 * DAY else 2 if last > t - d2 * DAY else 3
            f = 1 if n >= f1 else 2 if n >= f2 else 3
            m = 1 if total >= Decimal(str(m1)) else 2 if total >= Decimal(str(m2)) else 3
            s = r + f + m
            out[p] = (r, f, m, s, "high_value" if s <= 5 else "potential" if s <= 7 else "churn_risk")
        return out
    ages = {p: (t - last) for p, (last, _, _) in facts.items()}
    if config.mode == "quantile":
        def quintiles(values: dict[str, Any]) -> dict[str, int]:
            count = len(values)
            ranks = {p: sum(1 for w in values.values() if w < v) for p, v in values.items()}
            return {p: min(5, 1 + math.floor(5 * (rank / (count - 1) if count > 1 else 0.0)))
                    for p, rank in ranks.items()}
        r_s = quintiles({p: -ages[p] for p in facts})
        f_s = quintiles({p: n for p, (_, n, _) in facts.items()})
        m_s = quintiles({p: total for p, (_, _, total) in facts.items()})
        high = 3
    else:
        count = len(facts)
        micro = {p: age // timedelta(microseconds=1) for p, age in ages.items()}
        r_s = {p: 2 if micro[p] * count < sum(micro.values()) else 1 for p in facts}
        f_s = {p: 2 if n * count > sum(v[1] for v in facts.values()) else 1 for p, (_, n, _) in facts.items()}
        m_s = {p: 2 if total * count > sum(v[2] for v in facts.values()) else 1
               for p, (_, _, total) in facts.items()}
        high = 2
    for p in facts:
        r, f, m = r_s[p], f_s[p], m_s[p]
        out[p] = (r, f, m, r + f + m, GRID_CELLS[(r >= high, f >= high, m >= high)][0])
    return out


_PIDS = [f"c{i}" for i in range(8)]
_order = st.tuples(
    st.sampled_from(_PIDS),
    # whole seconds within ~400 days before T and a few after; the guide's limits are likely
    st.one_of(st.integers(-400 * 86400, 3 * 86400),
              st.sampled_from([-30 * 86400, -90 * 86400, -30 * 86400 + 1, -90 * 86400 + 1, 0, 1, -365 * 86400])),
    st.one_of(st.integers(0, 200_000).map(lambda c: Decimal(c) / 100), st.sampled_from(
        [Decimal("999.50"), Decimal("1000"), Decimal("500"), Decimal("499.99")])),
    st.sampled_from(["paid", "paid", "paid", "refunded"]),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path_factory.mktemp("rfm") / "proj")
    ws.warehouse.executemany("INSERT INTO profiles (profile_id, created_at) VALUES (?, ?)",
                             [[p, None] for p in _PIDS])
    yield ws
    ws.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(_order, min_size=1, max_size=30), mode=st.sampled_from(["guide", "quantile", "grid"]),
       created_after=st.sets(st.sampled_from(_PIDS), max_size=2))
def test_every_mode_matches_the_oracle(scratch: Workspace, orders: list[Any], mode: str,
                                       created_after: set[str]) -> None:
    rows = [(p, T + timedelta(seconds=s), amount, status) for p, s, amount, status in orders]
    created = {p: (T + DAY if p in created_after else None) for p in _PIDS}
    wh = scratch.warehouse
    wh.execute("DELETE FROM orders")
    wh.executemany("UPDATE profiles SET created_at = ? WHERE profile_id = ?", [[c, p] for p, c in created.items()])
    wh.executemany("INSERT INTO orders (order_id, profile_id, ts, amount, status) VALUES (?, ?, ?, ?, ?)",
                   [[f"o{i}", p, ts, amount, status] for i, (p, ts, amount, status) in enumerate(rows)])
    config = RfmConfig(mode=mode)
    expected = oracle(config, created, rows, T)
    if all(v[0] is None for v in expected.values()):
        with pytest.raises(ModelError, match="no paid orders"):
            run_rfm(scratch, as_of=T, config=config)
        return
    run_rfm(scratch, as_of=T, config=config)
    assert scores(scratch) == expected


# -- the template's rfm tags on a generated shop --------------------------------------------------

RULE_TAGS = Path(__file__).resolve().parents[2] / "bench" / "rfm_rule_tags"
SCORE_TAGS = ["rfm/recency_score", "rfm/frequency_score", "rfm/monetary_score", "rfm/tier"]


@pytest.fixture(scope="module")
def generated_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, datetime]]:
    from segflow.generate import generate_shop
    from segflow.tags import install_templates

    root = tmp_path_factory.mktemp("rfm_shop")
    when = datetime(2026, 2, 28, 20, 0, tzinfo=UTC)
    manifest = generate_shop(root / "data", profiles=1500, seed=5, days=365, end=date(2026, 3, 1), fmt="csv")
    ws = segflow.init(root / "proj", timezone="Asia/Shanghai", default_phone_country="CN")
    try:
        for kind in ("profiles", "orders"):
            ws.load(kind, [root / "data" / manifest["files"][kind]["file"]])
        install_templates(ws, "ecommerce")
    finally:
        ws.close()
    yield root / "proj", when


def tag_values(ws: Workspace, names: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for tag, pid, value in ws.warehouse.rows("SELECT tag, profile_id, value FROM tag_assignments"):
        if tag in names:
            out.setdefault(pid, {})[tag] = value
    return out


def test_the_guide_mode_equals_the_guide_written_as_rule_tags(generated_shop: tuple[Path, datetime],
                                                              tmp_path: Path) -> None:
    """The guide's rules written in the rule language (the template's tags before the model,
    kept in bench/rfm_rule_tags) give every profile the same scores and tier as the model."""
    import shutil

    from segflow.tags import refresh_tags

    source, when = generated_shop
    shutil.copytree(source, tmp_path / "proj")
    for f in RULE_TAGS.glob("*.yaml"):
        shutil.copy(f, tmp_path / "proj" / "tags" / "rfm" / f.name)
    ws = segflow.open(tmp_path / "proj")
    try:
        assert [r.error for r in refresh_tags(ws, SCORE_TAGS, as_of=when)] == [None] * 4
        assert owned_columns(ws.warehouse, "model:rfm") == {}  # the rule tags read no model
        tags = tag_values(ws, SCORE_TAGS)
        result = run_rfm(ws, as_of=when)
        model = {p: s for p, s in scores(ws).items() if s[0] is not None}
        assert len(model) == result.scored > 300
        assert set(model) == set(tags)
        for pid, (r, f, m, _, tier) in model.items():
            assert (str(r), str(f), str(m), tier) == tuple(tags[pid][n] for n in SCORE_TAGS), pid
        assert all(result.tiers.values())
    finally:
        ws.close()


def test_the_template_tags_read_the_model_run_as_of_the_refresh(generated_shop: tuple[Path, datetime],
                                                                tmp_path: Path) -> None:
    import shutil

    from segflow.tags import refresh_tags

    source, when = generated_shop
    shutil.copytree(source, tmp_path / "proj")
    ws = segflow.open(tmp_path / "proj")
    try:
        names = [*SCORE_TAGS, "rfm/high_value"]
        assert [r.error for r in refresh_tags(ws, names, as_of=when)] == [None] * 5
        state = owned_columns(ws.warehouse, "model:rfm")
        assert {row["as_of"] for row in state.values()} == {when}  # the refresh ran the model as of its time
        first_run = {row["refreshed_at"] for row in state.values()}
        tags = tag_values(ws, names)
        model = {p: s for p, s in scores(ws).items() if s[0] is not None}
        assert set(model) == set(tags) and len(model) > 300
        for pid, (r, f, m, _, tier) in model.items():
            assert tuple(tags[pid][n] for n in SCORE_TAGS) == (str(r), str(f), str(m), tier), pid
            assert ("rfm/high_value" in tags[pid]) == (tier == "high_value")

        # as of the same time with the same settings: the model's traits are reused
        refresh_tags(ws, ["rfm/tier"], as_of=when)
        assert {row["refreshed_at"] for row in owned_columns(ws.warehouse, "model:rfm").values()} == first_run
        # a later time, or other settings, run it again
        later = when + 40 * DAY
        assert [r.error for r in refresh_tags(ws, ["rfm/tier"], as_of=later)] == [None]
        assert {row["as_of"] for row in owned_columns(ws.warehouse, "model:rfm").values()} == {later}
        (ws.root / "models").mkdir(exist_ok=True)
        (ws.root / "models" / "rfm.yaml").write_text("monetary_min: [2000, 800]\n")
        refresh_tags(ws, ["rfm/monetary_score"], as_of=later)
        config = load_rfm_config(root=ws.root)[0]
        assert {row["fingerprint"] for row in owned_columns(ws.warehouse, "model:rfm").values()} == {
            config.fingerprint()}

        # a model that fails (no paid order yet) refreshes none of its readers, which keep their values
        before = tag_values(ws, names)
        results = {r.name: r.error for r in refresh_tags(ws, names, as_of=datetime(2000, 1, 1, tzinfo=UTC))}
        assert all(results[n] and "not refreshed" in results[n] for n in names), results
        assert "model rfm failed: rfm: no paid orders up to 2000-01-01" in str(results["rfm/tier"])
        assert "reads tag 'rfm/tier'" in str(results["rfm/high_value"])
        assert tag_values(ws, names) == before
    finally:
        ws.close()


# -- the command ---------------------------------------------------------------------------------

def test_the_command_writes_and_prints_json(guide_shop: Workspace) -> None:
    root = guide_shop.root
    guide_shop.close()
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "rfm", "-p", str(root),
                           "--as-of", T.isoformat(), "--format", "json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["tiers"] == {"high_value": 4, "potential": 4, "churn_risk": 3}
    assert summary["mode"] == "guide" and summary["config"]["window_days"] == 90
    chart = root / "rfm.png"
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "rfm", "-p", str(root),
                           "--as-of", T.isoformat(), "--mode", "grid", "--chart", str(chart)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "重要价值客户" in proc.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5000
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "rfm", "-p", str(root),
                           "--chart", str(root / "rfm.jpg")], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "use a name ending in .png, .svg, .html" in proc.stderr
    bad = root / "bad.yaml"
    bad.write_text("recency_days: [90, 30]\n")
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "rfm", "-p", str(root),
                           "--config", str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert f"{bad}: recency_days: need 0 < first < second" in proc.stderr
