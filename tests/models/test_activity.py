"""Activity and loyalty (segflow.models.activity): a hand-computed shop, weights and
renormalisation, as-of, a Python oracle in exact arithmetic (hypothesis), config errors
that write nothing, level tags from the level traits, and the command.

As of T = 2026-03-01 12:00 UTC (the project's zone is UTC), the activity window is
T - 90d < ts <= T and the loyalty components' windows T - 365d < ts <= T.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import ModelError
from segflow.models.activity import SCORES, ActivityConfig, load_activity_config, run_activity
from segflow.segments.preview import member_ids
from segflow.traits.store import owned_columns
from segflow.workspace import Workspace

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
COLUMNS = ("activity_score", "activity_level", "loyalty_score", "loyalty_level")

#: profile → created_at
PROFILES: dict[str, datetime | None] = {"a": None, "b": None, "c": None, "d": None, "e": T + DAY, "f": None}
#: (profile, event, ts)
EVENTS: list[tuple[str, str, datetime]] = [
    # a: 2 opens of 4 delivered, 5 page views, coupons redeemed on 2 days (two on one day), 1 share
    *[("a", "email_delivered", T - d * DAY) for d in (1, 2, 3, 4)],
    *[("a", "email_opened", T - d * DAY) for d in (1, 2)],
    *[("a", "page_view", T - d * DAY) for d in (1, 2, 3, 4, 5)],
    ("a", "coupon_redeemed", T - 10 * DAY), ("a", "coupon_redeemed", T - 10 * DAY + HOUR),
    ("a", "coupon_redeemed", T - 20 * DAY),
    ("a", "page_view", T - 90 * DAY),            # exactly 90 days old: outside the window
    ("a", "share", T - 200 * DAY),               # inside loyalty's 365 days
    # b: 2 opens of 2 delivered, 1 page view
    ("b", "email_delivered", T - DAY), ("b", "email_delivered", T - 2 * DAY),
    ("b", "email_opened", T - DAY), ("b", "email_opened", T - 2 * DAY), ("b", "page_view", T - 3 * DAY),
    # c: no e-mail at all, 10 page views, a coupon on one day, 2 shares
    *[("c", "page_view", T - d * HOUR) for d in range(10)],
    ("c", "coupon_redeemed", T - 30 * DAY), ("c", "share", T - 5 * DAY), ("c", "share", T - 6 * DAY),
    # d: one e-mail delivered, never opened: received is not doing
    ("d", "email_delivered", T - DAY),
    # e: created after T
    ("e", "page_view", T - DAY),
    # f: only an event after T
    ("f", "page_view", T + HOUR),
]
#: (profile, ts, status)
ORDERS: list[tuple[str, datetime, str]] = [
    ("a", T - 10 * DAY, "paid"), ("a", T - 100 * DAY, "paid"),
    ("b", T - 200 * DAY, "paid"),
    ("c", T - 5 * DAY, "refunded"),
    ("d", T - 400 * DAY, "paid"),
    ("e", T - DAY, "paid"),
]

#: By hand, the defaults. Activity (weights .3/.4/.3; percentiles among positive values):
#: open rate a .5 → 50, b 1 → 100, d 0 → 0, c f missing; page views b 1 → 33.3, a 5 → 66.7,
#: c 10 → 100; coupon days c 1 → 50, a 2 → 100.
#: a = .3·50 + .4·66.67 + .3·100 = 71.67; b = .3·100 + .4·33.33 = 43.33;
#: c = (.4·100 + .3·50) / .7 = 78.57 (no e-mail: renormalised); d, f: did nothing.
#: Loyalty (.4/.3/.3): last order d T-400d → 33.3, b → 66.7, a → 100; orders in 365 days
#: b 1 → 50, a 2 → 100; shares a 1 → 50, c 2 → 100.
#: a = 40 + 30 + 15 = 85; b = 26.67 + 15 = 41.67; c = 30 (referrals only); d = 13.33.
EXPECTED: dict[str, tuple[Any, ...]] = {
    "a": (71.666667, "high", 85.0, "high"),
    "b": (43.333333, "medium", 41.666667, "medium"),
    "c": (78.571429, "high", 30.0, "low"),
    "d": (0.0, "inactive", 13.333333, "low"),
    "e": (None, None, None, None),
    "f": (0.0, "inactive", 0.0, "inactive"),
}


def write_files(folder: Path, profiles: dict[str, datetime | None], events: list[tuple[str, str, datetime]],
                orders: list[tuple[str, datetime, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.csv").write_text(
        "profile_id,created_at\n" + "".join(f"{p},{c.isoformat() if c else ''}\n" for p, c in profiles.items()))
    (folder / "events.csv").write_text("event_id,profile_id,event,ts\n" + "".join(
        f"e{i},{p},{name},{ts.isoformat()}\n" for i, (p, name, ts) in enumerate(events)))
    (folder / "orders.csv").write_text("order_id,profile_id,ts,amount,status\n" + "".join(
        f"o{i},{p},{ts.isoformat()},10,{status}\n" for i, (p, ts, status) in enumerate(orders)))


def load(ws: Workspace, folder: Path) -> None:
    for kind in ("profiles", "events", "orders"):
        assert ws.load(kind, [folder / f"{kind}.csv"])[0].rejected == 0


def outputs(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    rows = ws.warehouse.rows(f'SELECT profile_id, {", ".join(COLUMNS)} FROM traits ORDER BY 1')
    return {r[0]: tuple(r[1:]) for r in rows}


def approx(values: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {p: tuple(pytest.approx(v, abs=1e-6) if isinstance(v, float) else v for v in row)
            for p, row in values.items()}


@pytest.fixture
def shop(project: Workspace, tmp_path: Path) -> Workspace:
    write_files(tmp_path / "files", PROFILES, EVENTS, ORDERS)
    load(project, tmp_path / "files")
    return project


# -- by hand -------------------------------------------------------------------------------------

def test_the_defaults_by_hand(shop: Workspace) -> None:
    result = run_activity(shop, as_of=T)
    assert outputs(shop) == approx(EXPECTED)
    assert result.scored == 5 and result.profiles == 6
    assert result.levels == {"activity": {"high": 2, "medium": 1, "low": 0, "inactive": 2},
                             "loyalty": {"high": 1, "medium": 1, "low": 2, "inactive": 1}}
    assert result.grid == {"high,high": 1, "high,low": 1, "medium,medium": 1, "inactive,low": 1,
                           "inactive,inactive": 1}
    assert result.labels["activity"]["high"] == {"en": "high activity", "zh": "高活跃度"}
    assert result.labels["loyalty"]["medium"]["zh"] == "中忠诚度"
    open_rate = result.components["activity"]["open_rate"]
    assert open_rate == {"kind": "rate", "share": 0.3, "profiles": 3, "mean": pytest.approx(50.0),
                         "dropped": False}
    assert result.components["loyalty"]["referrals"]["profiles"] == 5
    assert result.config["loyalty"]["components"]["frequency"]["window_days"] == 365
    # the built-in lists name events this shop lacks (like, comment, ...): no warning for those
    assert result.warnings == []


def test_the_traits_are_typed_owned_and_rules_read_them(shop: Workspace) -> None:
    run_activity(shop, as_of=T)
    types = shop.warehouse.columns("traits")
    assert [types[c] for c in COLUMNS] == ["DOUBLE", "VARCHAR", "DOUBLE", "VARCHAR"]
    assert member_ids(shop, {"trait": "activity_level", "eq": "high"}, as_of=T).ids == ["a", "c"]
    assert member_ids(shop, {"trait": "loyalty_score", "gte": 40}, as_of=T).ids == ["a", "b"]
    state = owned_columns(shop.warehouse, "model:activity")
    assert sorted(state) == sorted(COLUMNS)
    assert state["activity_score"]["as_of"] == T and state["activity_score"]["non_null"] == 5


def test_level_tags_are_a_valued_rule_tag_over_the_level_trait(shop: Workspace) -> None:
    """The documented way to have level tags: a tag file with one case per level."""
    from segflow.tags import refresh_tags

    run_activity(shop, as_of=T)
    folder = shop.root / "tags" / "activity"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "level.yaml").write_text("label: 活跃度\ncases:\n" + "".join(
        f"  - {{value: {lv}, rule: {{trait: activity_level, eq: {lv}}}}}\n"
        for lv in ("high", "medium", "low", "inactive")))
    assert [r.error for r in refresh_tags(shop, ["activity/level"], as_of=T)] == [None]
    tags = dict(shop.warehouse.rows("SELECT profile_id, value FROM tag_assignments WHERE tag = 'activity/level'"))
    assert tags == {p: row[1] for p, row in EXPECTED.items() if row[1] is not None}


# -- weights, renormalisation, scales --------------------------------------------------------------

def test_weights_change_the_scores_as_documented(shop: Workspace) -> None:
    only_interactions = ActivityConfig.model_validate({"activity": {"components": {
        "open_rate": {"weight": 0}, "participation": {"weight": 0}, "interactions": {"weight": 5}}}})
    result = run_activity(shop, as_of=T, config=only_interactions)
    got = outputs(shop)
    assert {p: got[p][:2] for p in "abcdf"} == approx({
        "a": (66.666667, "medium"), "b": (33.333333, "low"), "c": (100.0, "high"), "d": (0.0, "inactive"),
        "f": (0.0, "inactive")})
    assert list(result.components["activity"]) == ["interactions"]
    assert result.config["activity"]["components"]["interactions"]["share"] == 1.0
    # loyalty untouched by the activity weights
    assert {p: got[p][2:] for p in "abcdf"} == approx({p: EXPECTED[p][2:] for p in "abcdf"})


def test_a_missing_component_renormalises_the_others(shop: Workspace) -> None:
    """c received no e-mail: open rate is missing, not 0; as 0 it would score .4·100 + .3·50 = 55."""
    run_activity(shop, as_of=T)
    assert outputs(shop)["c"][0] == pytest.approx((0.4 * 100 + 0.3 * 50) / 0.7, abs=1e-6)


def test_a_component_nobody_has_is_left_out_with_a_warning(project: Workspace, tmp_path: Path) -> None:
    events = [e for e in EVENTS if e[1] != "share"]
    write_files(tmp_path / "files", PROFILES, events, ORDERS)
    load(project, tmp_path / "files")
    result = run_activity(project, as_of=T)
    assert result.components["loyalty"]["referrals"]["dropped"] is True
    assert any(w.startswith("loyalty.components.referrals: no profile has any") for w in result.warnings)
    # a: recency 100 and frequency 100 over weights .4 + .3: 100, not 70
    got = outputs(project)
    assert got["a"][2:] == (pytest.approx(100.0), "high")
    assert got["c"][2:] == (pytest.approx(0.0), "inactive")  # never bought, and no share now


def test_linear_scales_with_caps(shop: Workspace) -> None:
    config = ActivityConfig.model_validate({"activity": {"components": {
        "interactions": {"scale": "linear", "cap": 10}, "open_rate": {"scale": "linear"},
        "participation": {"weight": 0}}},
        "loyalty": {"components": {"recency": {"scale": "linear", "cap": 100}, "frequency": {"weight": 0},
                                   "referrals": {"weight": 0}}}})
    run_activity(shop, as_of=T, config=config)
    got = outputs(shop)
    # a: .3·50 (rate .5) + .4·50 (5 of 10) over .7; c: interactions alone, 10 of 10
    assert got["a"][0] == pytest.approx((0.3 * 50 + 0.4 * 50) / 0.7, abs=1e-6)
    assert got["c"][0] == pytest.approx(100.0)
    # recency linear: bought 10 days ago with cap 100 → 90; 200 and 400 days → 0
    assert [got[p][2] for p in "abd"] == [pytest.approx(90.0), 0.0, 0.0]
    assert [got[p][3] for p in "abd"] == ["high", "low", "low"]


def test_trait_and_attribute_components(project: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    write_files(folder, PROFILES, EVENTS, ORDERS)
    (folder / "profiles.csv").write_text("profile_id,created_at,points\na,,100\nb,,300\nc,,\nd,,0\n"
                                       f"e,{(T + DAY).isoformat()},5\nf,,\n")
    load(project, folder)
    (project.root / "traits").mkdir(exist_ok=True)
    (project.root / "traits" / "views_30d.yaml").write_text("kind: counter\nevent: page_view\n"
                                                            "within: 30d\n")
    from segflow.traits import refresh_traits

    refresh_traits(project, as_of=T)
    config = ActivityConfig.model_validate({
        "activity": {"components": {"views": {"kind": "trait", "trait": "views_30d", "weight": 1},
                                    "open_rate": None, "interactions": None, "participation": None}},
        "loyalty": {"components": {"points": {"kind": "attribute", "attribute": "points", "weight": 1},
                                   "recency": {"weight": 0}, "frequency": {"weight": 0},
                                   "referrals": {"weight": 0}}}})
    result = run_activity(project, as_of=T, config=config)
    got = outputs(project)
    # views: b 1, a 5, c 10 → 33.3, 66.7, 100; only a trait: nobody is inactive
    assert [got[p][:2] for p in "abcd"] == [(pytest.approx(200 / 3, abs=1e-6), "medium"),
                                            (pytest.approx(100 / 3, abs=1e-6), "low"), (100.0, "high"),
                                            (0.0, "low")]
    # points: a 100 → 50, b 300 → 100, d 0 → 0, c and f missing → no score
    assert [got[p][2] for p in "abcdf"] == [50.0, 100.0, None, 0.0, None]
    assert result.warnings == []
    run_activity(project, as_of=T + DAY, config=config)   # the trait was computed as of T
    assert run_activity(project, as_of=T + DAY, config=config).warnings == [
        f"activity.components.views: trait views_30d holds its values as of {T.isoformat()}, "
        f"not as of {(T + DAY).isoformat()}"]


# -- as of ----------------------------------------------------------------------------------------

def test_as_of_excludes_later_data(shop: Workspace) -> None:
    run_activity(shop, as_of=T)
    got = outputs(shop)
    assert got["f"][1] == "inactive" and got["e"] == (None,) * 4
    run_activity(shop, as_of=T + 2 * HOUR)       # f's page view at T + 1h now counts
    later = outputs(shop)
    assert later["f"][1] != "inactive" and later["f"][0] > 0
    assert later["e"] == (None,) * 4              # created at T + 1d
    run_activity(shop, as_of=T - 11 * DAY)       # a's last order is now the one 100 days before T
    earlier = outputs(shop)
    profiles = {p: c for p, c in PROFILES.items()}
    assert earlier == approx(oracle(ActivityConfig(), profiles, EVENTS, ORDERS, T - 11 * DAY))
    state = owned_columns(shop.warehouse, "model:activity")
    assert state["loyalty_level"]["as_of"] == T - 11 * DAY


def test_no_data_at_all_is_an_error_that_writes_nothing(shop: Workspace) -> None:
    run_activity(shop, as_of=T)
    before = outputs(shop)
    with pytest.raises(ModelError, match="no events or paid orders up to 2020-01-01") as info:
        run_activity(shop, as_of=datetime(2020, 1, 1, tzinfo=UTC))
    assert info.value.code == "no_data"
    assert outputs(shop) == before


# -- an oracle in exact arithmetic -----------------------------------------------------------------

def oracle(config: ActivityConfig, profiles: dict[str, datetime | None], events: list[tuple[str, str, datetime]],
           orders: list[tuple[str, datetime, str]], t: datetime) -> dict[str, tuple[Any, ...]]:
    """The module docstring's formulas, profile by profile, in fractions (zone UTC; events
    and orders only: no trait or attribute components)."""
    pop = [p for p, c in profiles.items() if c is None or c <= t]
    out: dict[str, tuple[Any, ...]] = {p: (None,) * 4 for p in profiles}
    paid = [(p, ts) for p, ts, s in orders if s == "paid" and ts <= t and p in pop]
    last = {p: max(ts for q, ts in paid if q == p) for p in {p for p, _ in paid}}
    result: dict[str, list[Any]] = {p: [] for p in pop}
    for score in SCORES:
        spec = config.score(score)
        sums: dict[str, list[Fraction]] = {p: [Fraction(0), Fraction(0)] for p in pop}
        did = dict.fromkeys(pop, False)
        for c in spec.components.values():
            if c.weight <= 0:
                continue
            since = t - timedelta(days=config.window(c))

            def inside(ts: datetime, names: tuple[str, ...], name_: str, since: datetime = since) -> bool:
                return name_ in names and since < ts <= t

            value: dict[str, Any] = {}
            positive: dict[str, bool] = {}
            order: dict[str, Any] = {}
            for p in pop:
                mine = [(n, ts) for q, n, ts in events if q == p]
                if c.kind == "rate":
                    num = sum(1 for n, ts in mine if inside(ts, c.events, n))
                    den = sum(1 for n, ts in mine if inside(ts, c.per, n))
                    v = min(Fraction(1), Fraction(num, den)) if den else None
                    value[p], positive[p], order[p] = v, bool(v), v
                    did[p] |= num > 0
                elif c.kind in ("count", "days"):
                    hits = [ts for n, ts in mine if inside(ts, c.events, n)]
                    v = Fraction(len(hits) if c.kind == "count" else len({ts.date() for ts in hits}))
                    value[p], positive[p], order[p] = v, v > 0, v
                    did[p] |= v > 0
                elif c.kind == "orders":
                    v = Fraction(sum(1 for q, ts in paid if q == p and ts > since))
                    value[p], positive[p], order[p] = v, v > 0, v
                    did[p] |= v > 0
                elif c.kind == "recency":
                    has = p in last
                    age = Fraction((t - last[p]) // timedelta(microseconds=1), 86_400_000_000) if has else None
                    value[p], positive[p], order[p] = age, has, last.get(p)
                    did[p] |= has
            if not any(positive.values()):
                continue  # left out for everyone
            ranked = [p for p in pop if positive[p]]
            for p in pop:
                if c.kind == "recency" and not positive[p]:
                    s: Fraction | None = Fraction(0)
                elif value[p] is None:
                    s = None
                elif c.scale == "percentile":
                    s = Fraction(0) if not positive[p] else Fraction(
                        100 * sum(1 for q in ranked if order[q] <= order[p]), len(ranked))
                elif c.kind == "recency":
                    s = 100 * max(Fraction(0), 1 - value[p] / Fraction(c.linear_cap or 1))
                else:
                    s = 100 * min(Fraction(1), max(Fraction(0), value[p] / Fraction(c.linear_cap or 1)))
                if s is not None:
                    sums[p][0] += Fraction(c.weight) * s
                    sums[p][1] += Fraction(c.weight)
        has_event_parts = any(c.kind != "trait" and c.kind != "attribute" and c.weight > 0
                              for c in spec.components.values())
        for p in pop:
            num, den = sums[p]
            score_value = round(num / den, 6) if den else None
            if has_event_parts and not did[p]:
                level: str | None = "inactive"
            elif score_value is None:
                level = None
            elif score_value >= Fraction(spec.levels.high):
                level = "high"
            elif score_value >= Fraction(spec.levels.medium):
                level = "medium"
            else:
                level = "low"
            result[p] += [None if score_value is None else float(score_value), level]
    out.update({p: tuple(v) for p, v in result.items()})
    return out


def test_the_oracle_agrees_with_the_hand_computed_shop() -> None:
    assert oracle(ActivityConfig(), PROFILES, EVENTS, ORDERS, T) == approx(EXPECTED)


_PIDS = [f"c{i}" for i in range(6)]
_NAMES = ["email_delivered", "email_opened", "page_view", "search", "coupon_redeemed", "share", "login"]
_event = st.tuples(st.sampled_from(_PIDS), st.sampled_from(_NAMES),
                   st.one_of(st.integers(-400 * 86400, 86400), st.sampled_from([0, 1, -90 * 86400, -365 * 86400])))
_order = st.tuples(st.sampled_from(_PIDS), st.integers(-500 * 86400, 86400), st.sampled_from(["paid", "paid",
                                                                                               "refunded"]))
_weight = st.sampled_from([0, 1, 2, 3])


@st.composite
def _configs(draw: st.DrawFn) -> ActivityConfig:
    def comps(names: list[str], linear: dict[str, float]) -> dict[str, Any]:
        weights = [draw(_weight) for _ in names]
        if not any(weights):
            weights[0] = 1
        out: dict[str, Any] = {}
        for name, w in zip(names, weights):
            spec: dict[str, Any] = {"weight": w}
            if draw(st.booleans()):
                spec.update({"scale": "linear", "cap": linear[name]})
            out[name] = spec
        return out

    return ActivityConfig.model_validate({
        "window_days": draw(st.sampled_from([30, 90])),
        "activity": {"components": comps(["open_rate", "interactions", "participation"],
                                         {"open_rate": 0.5, "interactions": 4, "participation": 2}),
                     "levels": draw(st.sampled_from([{"high": 70, "medium": 40}, {"high": 50, "medium": 25}]))},
        "loyalty": {"components": comps(["recency", "frequency", "referrals"],
                                        {"recency": 120, "frequency": 3, "referrals": 2})},
    })


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path_factory.mktemp("activity") / "proj", timezone="UTC")
    ws.warehouse.executemany("INSERT INTO profiles (profile_id, created_at) VALUES (?, ?)",
                             [[p, None] for p in _PIDS])
    yield ws
    ws.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_event, max_size=40), orders=st.lists(_order, max_size=12), config=_configs(),
       created_after=st.sets(st.sampled_from(_PIDS), max_size=2))
def test_the_scores_match_the_oracle(scratch: Workspace, events: list[Any], orders: list[Any],
                                     config: ActivityConfig, created_after: set[str]) -> None:
    ev = [(p, name, T + timedelta(seconds=s)) for p, name, s in events]
    od = [(p, T + timedelta(seconds=s), status) for p, s, status in orders]
    created = {p: (T + DAY if p in created_after else None) for p in _PIDS}
    wh = scratch.warehouse
    wh.execute("DELETE FROM events")
    wh.execute("DELETE FROM orders")
    wh.executemany("UPDATE profiles SET created_at = ? WHERE profile_id = ?", [[c, p] for p, c in created.items()])
    if ev:
        wh.executemany("INSERT INTO events (event_id, profile_id, event, ts) VALUES (?, ?, ?, ?)",
                       [[f"e{i}", p, name, ts] for i, (p, name, ts) in enumerate(ev)])
    if od:
        wh.executemany("INSERT INTO orders (order_id, profile_id, ts, amount, status) VALUES (?, ?, ?, 1, ?)",
                       [[f"o{i}", p, ts, status] for i, (p, ts, status) in enumerate(od)])
    expected = oracle(config, created, ev, od, T)
    if all(row[0] is None and row[2] is None for row in expected.values()):
        with pytest.raises(ModelError, match="no events or paid orders"):
            run_activity(scratch, as_of=T, config=config)
        return
    run_activity(scratch, as_of=T, config=config)
    assert outputs(scratch) == approx(expected)


# -- the config ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("windw_days: 30\n", "cfg.yaml: windw_days: Extra inputs are not permitted"),
    ("window_days: 0\n", "cfg.yaml: window_days: Input should be greater than or equal to 1"),
    ("activity: {levels: {high: 40, medium: 70}}\n",
     "cfg.yaml: activity.levels: need 0 < medium < high <= 100, got medium 70, high 40"),
    ("activity: {components: {open_rate: {weight: -1}}}\n",
     "cfg.yaml: activity.components.open_rate.weight: Input should be greater than or equal to 0"),
    ("loyalty: {components: {recency: {weight: 0}, frequency: {weight: 0}, referrals: {weight: 0}}}\n",
     "cfg.yaml: loyalty.components: every weight is 0"),
    ("activity: {components: {interactions: {scale: linear}}}\n",
     "cfg.yaml: activity.components.interactions: cap: a linear count component needs the value that scores 100"),
    ("activity: {components: {opens: {kind: rate, events: [email_opened]}}}\n",
     "cfg.yaml: activity.components.opens: per: a rate needs the events it is a rate of"),
    ("loyalty: {components: {recency: {events: [share]}}}\n",
     "cfg.yaml: loyalty.components.recency: events: a recency component does not read it"),
    ("activity: {components: {Opens: {kind: count, events: [x]}}}\n",
     "cfg.yaml: activity.components: 'Opens' is not a component name"),
    ("activity: {components: {x: {kind: clicks}}}\n", "cfg.yaml: activity.components.x.kind: Input should be"),
    ("activity: {components: {x: {kind: trait}}}\n",
     "cfg.yaml: activity.components.x: trait: a trait component needs the trait's name"),
    ("model: rfm\n", "cfg.yaml: model: this is a config of 'rfm', not of activity"),
    ("- 1\n", "cfg.yaml: expected a mapping of settings, got list"),
])
def test_a_bad_config_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as info:
        load_activity_config(path)
    assert str(info.value).startswith(str(tmp_path / message)), str(info.value)
    assert "\n" not in str(info.value) and info.value.code == "invalid_config"


def test_config_from_the_project_folder_merges_over_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "activity.yaml").write_text(
        "model: activity\nwindow_days: 30\nactivity:\n  components:\n    open_rate: {weight: 3}\n"
        "    checkins: {kind: days, events: [check_in], weight: 1}\n")
    config, file = load_activity_config(root=tmp_path)
    assert file == str(tmp_path / "models" / "activity.yaml")
    comps = config.activity.components
    assert list(comps) == ["open_rate", "interactions", "participation", "checkins"]
    assert comps["open_rate"].per == ("email_delivered", "push_delivered")   # kept from the default
    assert config.activity.weights == pytest.approx({"open_rate": 3 / 4.7, "interactions": 0.4 / 4.7,
                                                     "participation": 0.3 / 4.7, "checkins": 1 / 4.7})
    assert config.window(comps["interactions"]) == 30 and config.window(config.loyalty.components["frequency"]) == 365
    assert load_activity_config(root=tmp_path / "nowhere") == (ActivityConfig(), None)


@pytest.mark.parametrize(("spec", "message"), [
    ("{kind: trait, trait: points_total}", "loyalty.components.extra.trait: unknown trait 'points_total'"),
    ("{kind: trait, trait: activity_score}", "loyalty.components.extra.trait: activity_score is this model's own"),
    ("{kind: attribute, attribute: pointz}", "loyalty.components.extra.attribute: unknown profile attribute "
                                             "'pointz' (numeric attributes: points)"),
    ("{kind: attribute, attribute: city}", "loyalty.components.extra.attribute: profile attribute 'city' is "
                                           "string, not a number"),
])
def test_an_unknown_trait_or_attribute_is_an_error_that_writes_nothing(project: Workspace, tmp_path: Path,
                                                                       spec: str, message: str) -> None:
    folder = tmp_path / "files"
    write_files(folder, PROFILES, EVENTS, ORDERS)
    (folder / "profiles.csv").write_text("profile_id,created_at,points\n" + "".join(
        f"{p},{c.isoformat() if c else ''},1\n" for p, c in PROFILES.items()))
    load(project, folder)
    run_activity(project, as_of=T)
    before = outputs(project)
    path = tmp_path / "bad.yaml"
    path.write_text(f"loyalty:\n  components:\n    extra: {spec}\n")
    config, file = load_activity_config(path)
    with pytest.raises(ModelError) as info:
        run_activity(project, as_of=T - DAY, config=config, file=file)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)
    assert "\n" not in str(info.value)
    assert outputs(project) == before
    assert owned_columns(project.warehouse, "model:activity")["activity_score"]["as_of"] == T


def test_configured_event_names_the_project_lacks_are_warnings(shop: Workspace) -> None:
    config = ActivityConfig.model_validate({"activity": {"components": {
        "interactions": {"events": ["page_view", "page_veiw"]}}}})
    result = run_activity(shop, as_of=T, config=config)
    assert result.warnings == ["activity.components.interactions: no event is named page_veiw (counted as none)"]


# -- the command ----------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "activity", *args],
                          capture_output=True, text=True, check=False)


def test_the_command_prints_json_and_draws_the_chart(shop: Workspace) -> None:
    root = shop.root
    shop.close()
    proc = _cli("-p", str(root), "--as-of", T.isoformat(), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["levels"]["activity"] == {"high": 2, "medium": 1, "low": 0, "inactive": 2}
    assert summary["grid"]["high,high"] == 1 and summary["scored"] == 5
    assert summary["config"]["window_days"] == 90 and summary["file"] is None
    chart = root / "activity.png"
    proc = _cli("-p", str(root), "--as-of", T.isoformat(), "--chart", str(chart))
    assert proc.returncode == 0, proc.stderr
    assert "高活跃度" in proc.stdout and "无购买或推荐" in proc.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5000
    proc = _cli("-p", str(root), "--chart", str(root / "activity.jpg"))
    assert proc.returncode != 0 and "use a name ending in .png, .svg, .html" in proc.stderr
    (root / "models").mkdir(exist_ok=True)
    bad = root / "models" / "activity.yaml"
    bad.write_text("loyalty:\n  components:\n    points: {kind: trait, trait: points}\n")
    proc = _cli("-p", str(root), "--as-of", T.isoformat())
    assert proc.returncode != 0
    assert f"{bad}: loyalty.components.points.trait: unknown trait 'points'" in proc.stderr
