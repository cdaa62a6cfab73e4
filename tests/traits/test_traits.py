"""Computed traits: every kind on a hand-made shop with exact values, the definition
checks (message and path), the refresh (atomic, partial, time travel) and the CLI.

The shop, as of T = 2026-03-01 12:00 UTC (T - 7d = 02-22 12:00, T - 90d = 12-01 12:00):

* p1 views at T - 7d exactly (outside ``within: 7d``), T - 7d + 1 s, T exactly (inside),
  and T + 1 s (after T: ignored everywhere); a ``buy`` whose price is the text "5";
* p2 has two pairs of views at the same instant, to pin the tie-breaks (event_id first);
* p3 has nothing; p4 has unicode values; p5 has only events after T.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import DefinitionError
from segflow.traits import (
    TraitKind,
    last_refresh,
    load_trait_definitions,
    parse_trait,
    refresh_traits,
)
from segflow.traits.compile import compile_trait_sql
from segflow.workspace import Workspace

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PROFILES = [{"profile_id": p} for p in ("p1", "p2", "p3", "p4", "p5")]

EVENTS = [
    # p1: window boundaries, after-T data, a numeric property written as text
    ("e01", "p1", "view", "2026-02-22T12:00:00", {"category": "beauty", "price": 10}),
    ("e02", "p1", "view", "2026-02-22T12:00:01", {"category": "shoes", "price": 20}),
    ("e03", "p1", "view", "2026-03-01T12:00:00", {"category": "beauty", "price": 30}),
    ("e04", "p1", "view", "2026-03-01T12:00:01", {"category": "shoes", "price": 1000}),
    ("e05", "p1", "buy", "2026-02-25T00:00:00", {"category": "bags", "price": "5"}),
    # p2: ties — first at 01-15 (e08 shoes / e10 beauty), last at 02-02 (e11 shoes / e12 beauty)
    ("e08", "p2", "view", "2026-01-15T00:00:00", {"category": "shoes"}),
    ("e10", "p2", "view", "2026-01-15T00:00:00", {"category": "beauty"}),
    ("e11", "p2", "view", "2026-02-02T00:00:00", {"category": "shoes"}),
    ("e12", "p2", "view", "2026-02-02T00:00:00", {"category": "beauty"}),
    # p4: unicode
    ("e20", "p4", "view", "2026-02-20T00:00:00", {"category": "美妆"}),
    ("e21", "p4", "view", "2026-02-21T00:00:00", {"category": "Éclair"}),
    ("e22", "p4", "view", "2026-02-21T00:00:00", {"category": "美妆"}),
    # p5: only after T
    ("e30", "p5", "view", "2026-03-05T00:00:00", {"category": "shoes", "price": 7}),
    # email: p1 delivered at T - 90d exactly (outside), twice inside, opened once (+ once after T)
    ("m1", "p1", "email_delivered", "2025-12-01T12:00:00", {}),
    ("m2", "p1", "email_delivered", "2026-01-10T00:00:00", {}),
    ("m3", "p1", "email_delivered", "2026-02-10T00:00:00", {}),
    ("m4", "p1", "email_opened", "2026-02-11T00:00:00", {}),
    ("m5", "p1", "email_opened", "2026-03-02T00:00:00", {}),
    # p2 opened without a delivery in the window: zero denominator; p4 opened twice
    ("m6", "p2", "email_opened", "2026-02-01T00:00:00", {}),
    ("m7", "p4", "email_delivered", "2026-02-01T00:00:00", {}),
    ("m8", "p4", "email_opened", "2026-02-02T00:00:00", {}),
    ("m9", "p4", "email_opened", "2026-02-03T00:00:00", {}),
    # coupons: p1 received 4 in 180 days (and one older), redeemed 3
    ("c1", "p1", "coupon_received", "2025-06-01T00:00:00", {}),
    ("c2", "p1", "coupon_received", "2025-10-01T00:00:00", {}),
    ("c3", "p1", "coupon_received", "2025-11-01T00:00:00", {}),
    ("c4", "p1", "coupon_received", "2026-01-01T00:00:00", {}),
    ("c5", "p1", "coupon_received", "2026-02-01T00:00:00", {}),
    ("c6", "p1", "coupon_redeemed", "2025-10-05T00:00:00", {}),
    ("c7", "p1", "coupon_redeemed", "2026-01-05T00:00:00", {}),
    ("c8", "p1", "coupon_redeemed", "2026-02-05T00:00:00", {}),
    ("c9", "p2", "coupon_received", "2026-02-01T00:00:00", {}),
]

ORDERS = [
    ("o1", "p1", "2026-01-01T00:00:00", "100.50", "paid", "上海店"),
    ("o2", "p1", "2026-02-20T00:00:00", "200", "paid", "online"),
    ("o3", "p1", "2026-02-25T00:00:00", "50", "refunded", "online"),
    ("o4", "p1", "2026-03-05T00:00:00", "999", "paid", "online"),
    ("o5", "p2", "2025-09-01T00:00:00", "80", "paid", "online"),
]
ORDER_ITEMS = [("o1", "A", 1, "100.50", "beauty"), ("o2", "B", 2, "100", "shoes"), ("o5", "C", 1, "80", "beauty")]

TRAITS: dict[str, str] = {
    # events
    "views_7d": "kind: counter\nevent: view\nwithin: 7d\n",
    "views": "kind: counter\nevent: view\n",
    "pricey_views": "kind: counter\nevent: view\nwhere: {price: {gte: 20}}\n",
    "meizhuang_views": "kind: counter\nevent: view\nwhere: {category: 美妆}\n",
    "spend": "kind: sum\nevent: [view, buy]\nprop: price\n",
    "avg_price": "kind: avg\nevent: view\nprop: price\n",
    "min_price": "kind: min\nevent: view\nprop: price\n",
    "max_price": "kind: max\nevent: view\nprop: price\n",
    "favorite_category": "kind: most_frequent\nevent: view\nprop: category\n",
    "first_category": "kind: first\nevent: view\nprop: category\n",
    "last_category": "kind: last\nevent: view\nprop: category\n",
    "first_seen": "kind: first\nevent: view\n",
    "last_seen": "kind: last\nevent: view\n",
    "category_count": "kind: distinct_count\nevent: view\nprop: category\n",
    "categories": "kind: distinct_list\nevent: view\nprop: category\n",
    "email_open_rate_90d": (
        "kind: ratio\nnumerator: {event: email_opened}\ndenominator: {event: email_delivered}\nwithin: 90d\n"
    ),
    "coupon_redeem_rate_180d": (
        "kind: ratio\nnumerator: coupon_redeemed\ndenominator: coupon_received\nwithin: 180d\n"
    ),
    # orders
    "orders": "kind: counter\nsource: orders\n",
    "orders_any_status": "kind: counter\nsource: orders\nstatus: any\n",
    "orders_30d": "kind: counter\nsource: orders\nwithin: 30d\n",
    "beauty_orders": "kind: counter\nsource: orders\nwhere: {category: beauty}\n",
    "revenue": "kind: sum\nsource: orders\n",
    "avg_order": "kind: avg\nsource: orders\n",
    "min_order": "kind: min\nsource: orders\nprop: amount\n",
    "max_order": "kind: max\nsource: orders\n",
    "first_order": "kind: first\nsource: orders\n",
    "last_order": "kind: last\nsource: orders\n",
    "last_store": "kind: last\nsource: orders\nprop: store\n",
}

N = None  # missing
EXPECTED: dict[str, dict[str, Any]] = {
    "views_7d": dict(p1=2, p2=0, p3=0, p4=0, p5=0),
    "views": dict(p1=3, p2=4, p3=0, p4=3, p5=0),
    "pricey_views": dict(p1=2, p2=0, p3=0, p4=0, p5=0),
    "meizhuang_views": dict(p1=0, p2=0, p3=0, p4=2, p5=0),
    "spend": dict(p1=65.0, p2=0.0, p3=0.0, p4=0.0, p5=0.0),
    "avg_price": dict(p1=20.0, p2=N, p3=N, p4=N, p5=N),
    "min_price": dict(p1=10.0, p2=N, p3=N, p4=N, p5=N),
    "max_price": dict(p1=30.0, p2=N, p3=N, p4=N, p5=N),
    "favorite_category": dict(p1="beauty", p2="beauty", p3=N, p4="美妆", p5=N),
    "first_category": dict(p1="beauty", p2="shoes", p3=N, p4="美妆", p5=N),
    "last_category": dict(p1="beauty", p2="beauty", p3=N, p4="美妆", p5=N),
    "first_seen": dict(p1=utc("2026-02-22T12:00:00"), p2=utc("2026-01-15T00:00:00"), p3=N,
                       p4=utc("2026-02-20T00:00:00"), p5=N),
    "last_seen": dict(p1=T, p2=utc("2026-02-02T00:00:00"), p3=N, p4=utc("2026-02-21T00:00:00"), p5=N),
    "category_count": dict(p1=2, p2=2, p3=0, p4=2, p5=0),
    "categories": dict(p1=["beauty", "shoes"], p2=["beauty", "shoes"], p3=N, p4=["Éclair", "美妆"], p5=N),
    "email_open_rate_90d": dict(p1=0.5, p2=N, p3=N, p4=2.0, p5=N),
    "coupon_redeem_rate_180d": dict(p1=0.75, p2=0.0, p3=N, p4=N, p5=N),
    "orders": dict(p1=2, p2=1, p3=0, p4=0, p5=0),
    "orders_any_status": dict(p1=3, p2=1, p3=0, p4=0, p5=0),
    "orders_30d": dict(p1=1, p2=0, p3=0, p4=0, p5=0),
    "beauty_orders": dict(p1=1, p2=1, p3=0, p4=0, p5=0),
    "revenue": dict(p1=300.5, p2=80.0, p3=0.0, p4=0.0, p5=0.0),
    "avg_order": dict(p1=150.25, p2=80.0, p3=N, p4=N, p5=N),
    "min_order": dict(p1=100.5, p2=80.0, p3=N, p4=N, p5=N),
    "max_order": dict(p1=200.0, p2=80.0, p3=N, p4=N, p5=N),
    "first_order": dict(p1=utc("2026-01-01T00:00:00"), p2=utc("2025-09-01T00:00:00"), p3=N, p4=N, p5=N),
    "last_order": dict(p1=utc("2026-02-20T00:00:00"), p2=utc("2025-09-01T00:00:00"), p3=N, p4=N, p5=N),
    "last_store": dict(p1="online", p2="online", p3=N, p4=N, p5=N),
}

TYPES = {
    "views_7d": "integer", "views": "integer", "pricey_views": "integer", "meizhuang_views": "integer",
    "spend": "number", "avg_price": "number", "min_price": "number", "max_price": "number",
    "favorite_category": "string", "first_category": "string", "last_category": "string",
    "first_seen": "timestamp", "last_seen": "timestamp", "category_count": "integer", "categories": "list",
    "email_open_rate_90d": "number", "coupon_redeem_rate_180d": "number",
    "orders": "integer", "orders_any_status": "integer", "orders_30d": "integer", "beauty_orders": "integer",
    "revenue": "number", "avg_order": "number", "min_order": "number", "max_order": "number",
    "first_order": "timestamp", "last_order": "timestamp", "last_store": "string",
}


def write_csv(path: Path, header: list[str], rows: list[Any]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load_shop(ws: Workspace, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "profiles": write_csv(folder / "profiles.csv", ["profile_id"], [[p["profile_id"]] for p in PROFILES]),
        "events": write_csv(folder / "events.csv", ["event_id", "profile_id", "event", "ts", "properties"],
                            [[i, p, e, ts + "Z", json.dumps(props, ensure_ascii=False)] for i, p, e, ts, props in EVENTS]),
        "orders": write_csv(folder / "orders.csv", ["order_id", "profile_id", "ts", "amount", "status", "store"],
                            [[o, p, ts + "Z", a, s, st_] for o, p, ts, a, s, st_ in ORDERS]),
        "order_items": write_csv(folder / "items.csv", ["order_id", "sku", "quantity", "price", "category"], ORDER_ITEMS),
    }
    for kind, path in files.items():
        summary = ws.load(kind, [path])[0]
        assert summary.rejected == 0, (kind, summary)


def write_traits(root: Path, traits: dict[str, str]) -> None:
    for name, text in traits.items():
        (root / "traits" / f"{name}.yaml").write_text(text, encoding="utf-8")


def make_shop(folder: Path) -> Workspace:
    ws = segflow.init(folder / "shop")
    load_shop(ws, folder / "files")
    write_traits(ws.root, TRAITS)
    return ws


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh shop, for tests that change it."""
    ws = make_shop(tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def refreshed(shop: Workspace) -> tuple[Workspace, dict[str, Any]]:
    """A fresh shop refreshed as of T, for tests that change it."""
    return shop, refresh_traits(shop, as_of=T)


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dict[str, Any]]]:
    """One shop refreshed as of T, shared by the tests that only read it."""
    ws = make_shop(tmp_path_factory.mktemp("computed"))
    summary = refresh_traits(ws, as_of=T)
    yield ws, summary
    ws.close()


def table(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The traits table as {profile_id: {trait: value}}."""
    return {row.pop("profile_id"): row for row in ws.sql("SELECT * FROM traits").to_pylist()}


def normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


# -- every kind, exact values ---------------------------------------------------------


@pytest.mark.parametrize("trait", list(EXPECTED), ids=list(EXPECTED))
def test_every_kind_gives_the_exact_values(computed: tuple[Workspace, dict[str, Any]], trait: str) -> None:
    ws, _ = computed
    got = {pid: normalise(row[trait]) for pid, row in table(ws).items()}
    assert got == EXPECTED[trait]


def test_every_profile_gets_one_row_and_typed_columns(computed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, summary = computed
    assert ws.sql("SELECT profile_id FROM traits").column(0).to_pylist() == ["p1", "p2", "p3", "p4", "p5"]
    duck = {"integer": "BIGINT", "number": "DOUBLE", "string": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE",
            "list": "VARCHAR[]"}
    columns = ws.warehouse.columns("traits")
    assert columns == {"profile_id": "VARCHAR", **{name: duck[TYPES[name]] for name in sorted(TRAITS)}}
    assert {name: t["type"] for name, t in summary["traits"].items()} == TYPES


def test_summary_reports_types_counts_times_and_as_of(computed: tuple[Workspace, dict[str, Any]]) -> None:
    _, summary = computed
    assert summary["as_of"] == T
    assert summary["profiles"] == 5
    assert list(summary["traits"]) == sorted(TRAITS)
    for name, info in summary["traits"].items():
        expected_non_null = sum(v is not None for v in EXPECTED[name].values())
        assert info["non_null"] == expected_non_null, name
        assert info["seconds"] >= 0 and info["refreshed"] is True and info["as_of"] == T
        assert info["file"] == f"traits/{name}.yaml"
    assert summary["seconds"] >= sum(t["seconds"] for t in summary["traits"].values())


def test_as_of_is_stored(computed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = computed
    state = last_refresh(ws)
    assert state is not None and state["as_of"] == T
    assert set(state["traits"]) == set(TRAITS)
    assert state["traits"]["views"]["as_of"] == T and state["traits"]["views"]["type"] == "integer"


def test_traits_are_usable_in_rules(computed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = computed

    def members(rule: Any) -> list[str]:
        return sorted(ws.preview(rule, as_of=T, limit=None).members.column("profile_id").to_pylist())

    assert members({"trait": "email_open_rate_90d", "gte": 0.3}) == ["p1", "p4"]
    assert members({"trait": "favorite_category", "eq": "美妆"}) == ["p4"]
    assert members({"trait": "categories", "contains": "shoes"}) == ["p1", "p2"]
    assert members({"trait": "last_seen", "within": "7d"}) == ["p1"]
    # the coupon-sensitive recipe of docs/rules.md
    assert members({"all": [{"event": "coupon_received", "within": "180d", "count": {"gte": 4}},
                            {"trait": "coupon_redeem_rate_180d", "gte": 0.7}]}) == ["p1"]


def test_time_travel_gives_the_values_of_then(shop: Workspace) -> None:
    refresh_traits(shop, as_of=utc("2026-02-22T12:00:01"))
    rows = table(shop)
    assert rows["p1"]["views"] == 2 and rows["p1"]["views_7d"] == 2  # e01 and e02 (stamped exactly then)
    assert rows["p1"]["last_seen"] == utc("2026-02-22T12:00:01")
    assert rows["p1"]["email_open_rate_90d"] == pytest.approx(1 / 3)  # m1 is inside 90 days of then


def test_naive_as_of_is_utc(shop: Workspace) -> None:
    summary = refresh_traits(shop, as_of=datetime(2026, 3, 1, 12, 0))
    assert summary["as_of"] == T
    assert table(shop)["p1"]["views_7d"] == 2


def test_timezone_does_not_move_windows(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "sh", timezone="Asia/Shanghai")
    load_shop(ws, tmp_path / "files")
    write_traits(ws.root, {"views_7d": TRAITS["views_7d"]})
    refresh_traits(ws, as_of=T)
    assert {p: r["views_7d"] for p, r in table(ws).items()}["p1"] == 2
    ws.close()


# -- refresh: atomic, partial, state --------------------------------------------------


def test_invalid_trait_fails_the_whole_refresh_and_leaves_the_table(refreshed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = refreshed
    before, state_before = table(ws), last_refresh(ws)
    write_traits(ws.root, {"open_rate": "kind: ratio\nnumerator: a\ndenominator: b\nwithin: 7days\n"})
    with pytest.raises(DefinitionError) as info:
        refresh_traits(ws, as_of=utc("2026-04-01T00:00:00"))
    assert info.value.message == (
        "traits/open_rate.yaml: within: '7days' is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)"
    )
    assert (info.value.code, info.value.path) == ("bad_duration", "within")
    assert table(ws) == before
    assert last_refresh(ws) == state_before


def test_a_failing_query_rolls_everything_back(refreshed: tuple[Workspace, dict[str, Any]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import segflow.traits.refresh as refresh_module

    ws, _ = refreshed
    before, columns, state_before = table(ws), ws.warehouse.columns("traits"), last_refresh(ws)
    real = refresh_module.compile_trait_sql

    def broken(trait: Any, **options: Any) -> str:
        if trait.name == "views":  # well after the first few traits have been computed
            return "SELECT profile_id, 1 / 0 AS value FROM no_such_table"
        return real(trait, **options)

    monkeypatch.setattr(refresh_module, "compile_trait_sql", broken)
    with pytest.raises(Exception, match="no_such_table"):
        refresh_traits(ws, as_of=utc("2026-04-01T00:00:00"))
    assert table(ws) == before and ws.warehouse.columns("traits") == columns
    assert last_refresh(ws) == state_before
    temps = ws.warehouse.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '_segflow%'").fetchall()
    assert temps == []


def test_refresh_by_name_keeps_the_others(refreshed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = refreshed
    later = utc("2026-03-06T00:00:00")
    summary = refresh_traits(ws, as_of=later, names=["views"])
    assert [n for n, t in summary["traits"].items() if t["refreshed"]] == ["views"]
    assert summary["traits"]["views_7d"] == {
        "kind": "counter", "type": "integer", "file": "traits/views_7d.yaml", "non_null": 5,
        "seconds": None, "as_of": T, "refreshed": False,
    }
    rows = table(ws)
    assert rows["p1"]["views"] == 4 and rows["p5"]["views"] == 1  # recomputed as of later
    assert rows["p1"]["last_order"] == utc("2026-02-20T00:00:00")  # kept as of T
    state = last_refresh(ws)
    assert state is not None and state["as_of"] == later
    assert state["traits"]["views"]["as_of"] == later and state["traits"]["orders"]["as_of"] == T


def test_refresh_by_name_recomputes_a_changed_definition(refreshed: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = refreshed
    write_traits(ws.root, {"views_7d": "kind: counter\nevent: view\nwithin: 30d\n"})
    (ws.root / "traits" / "orders.yaml").unlink()
    summary = refresh_traits(ws, as_of=T, names=["views"])
    assert sorted(n for n, t in summary["traits"].items() if t["refreshed"]) == ["views", "views_7d"]
    assert "orders" not in ws.warehouse.columns("traits")
    assert table(ws)["p1"]["views_7d"] == 3


def test_refresh_unknown_name(shop: Workspace) -> None:
    with pytest.raises(DefinitionError) as info:
        refresh_traits(shop, names=["nope"])
    assert info.value.code == "unknown_trait" and info.value.path == "nope"
    assert info.value.message.startswith("no trait 'nope' in traits/ (traits: avg_order, avg_price,")


def test_new_profiles_and_no_definitions(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "empty")
    write_csv(tmp_path / "p.csv", ["profile_id"], [["a"], ["b"]])
    ws.load("profiles", [tmp_path / "p.csv"])
    summary = refresh_traits(ws, as_of=T)
    assert summary["traits"] == {} and summary["profiles"] == 2
    assert ws.warehouse.columns("traits") == {"profile_id": "VARCHAR"}
    write_traits(ws.root, {"views": TRAITS["views"]})
    refresh_traits(ws, as_of=T)
    assert table(ws) == {"a": {"views": 0}, "b": {"views": 0}}
    ws.close()


# -- definitions: loading and every check ------------------------------------------------


def test_load_definitions_sorted_with_types(computed: tuple[Workspace, dict[str, Any]]) -> None:
    traits = load_trait_definitions(computed[0].root)
    assert [t.name for t in traits] == sorted(TRAITS)
    by_name = {t.name: t for t in traits}
    assert {n: t.type.value for n, t in by_name.items()} == TYPES
    rate = by_name["email_open_rate_90d"]
    assert rate.kind is TraitKind.RATIO and rate.window_text == "90d"
    assert rate.numerator is not None and rate.numerator.names == ("email_opened",)
    assert by_name["revenue"].prop == "amount" and by_name["revenue"].statuses == ("paid",)
    assert by_name["orders_any_status"].statuses == ()


def test_name_key_overrides_the_file_stem(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "n")
    write_traits(ws.root, {"whatever": "name: logins_30d\nkind: counter\nevent: login\nwithin: 30d\n"})
    [trait] = load_trait_definitions(ws.root)
    assert (trait.name, trait.file) == ("logins_30d", "traits/whatever.yaml")
    ws.close()


INVALID = [
    ("bad_duration", "kind: counter\nevent: x\nwithin: 7days",
     "within: '7days' is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)", "within"),
    ("unknown_kind", "kind: count\nevent: x",
     "kind: unknown kind 'count' (kinds: counter, sum, avg, min, max, most_frequent, first, last, "
     "distinct_count, distinct_list, ratio)", "kind"),
    ("missing_kind", "event: x",
     "kind: kind is required (one of counter, sum, avg, min, max, most_frequent, first, last, "
     "distinct_count, distinct_list, ratio)", "kind"),
    ("missing_prop", "kind: sum\nevent: x",
     "prop: a sum trait needs prop: the property to aggregate, e.g. prop: amount", "prop"),
    ("missing_prop_text", "kind: most_frequent\nevent: x",
     "prop: a most_frequent trait needs prop: the property to aggregate, e.g. prop: category", "prop"),
    ("unexpected_prop", "kind: counter\nevent: x\nprop: y", "prop: a counter trait does not take prop", "prop"),
    ("missing_event", "kind: counter\nwithin: 7d",
     "event: a counter trait needs event: an event name or a list of names", "event"),
    ("bad_event", "kind: counter\nevent: []", "event: event takes an event name or a list of names", "event"),
    ("missing_denominator", "kind: ratio\nnumerator: {event: a}",
     "denominator: a ratio trait needs denominator: {event: NAME, where: ...}", "denominator"),
    ("ratio_key", "kind: ratio\nnumerator: {event: a, when: 1}\ndenominator: b",
     "numerator.when: unknown key 'when' in numerator (allowed: event, where)", "numerator.when"),
    ("ratio_where", "kind: ratio\nnumerator: {event: a, where: {n: {gte: [1]}}}\ndenominator: b",
     "numerator.where.n.gte: gte takes one plain value, got a list", "numerator.where.n.gte"),
    ("ratio_orders", "kind: ratio\nsource: orders\nnumerator: a\ndenominator: b",
     "source: a ratio trait counts events (numerator and denominator); source: orders does not apply", "source"),
    ("bad_operator", "kind: counter\nevent: x\nwhere: {price: {greater: 3}}",
     "where.price.greater: unknown operator 'greater' (operators: eq, ne, in, not_in, gt, gte, lt, lte, between, "
     "contains, not_contains, starts_with, ends_with, is_null, within, before, anniversary_within, "
     "anniversary_month)", "where.price.greater"),
    ("property_within", "kind: counter\nevent: x\nwhere: {ts: {within: 7d}}",
     "where.ts.within: within does not apply to event properties", "where.ts.within"),
    ("unknown_key", "kind: counter\nevent: x\nfoo: 1",
     "foo: unknown key 'foo' for a counter trait (allowed: name, description, kind, source, within, between, "
     "event, where, prop)", "foo"),
    ("bad_source", "kind: counter\nevent: x\nsource: clicks", "source: source is events or orders, not 'clicks'",
     "source"),
    ("between_order", "kind: counter\nevent: x\nbetween: [2026-02-01, 2026-01-01]",
     "between: between: the start is after the end", "between"),
    ("orders_column", "kind: sum\nsource: orders\nprop: amout",
     "prop: unknown order column 'amout' (did you mean 'amount'?)", "prop"),
    ("orders_not_numeric", "kind: sum\nsource: orders\nprop: store", "prop: sum needs a numeric column; store is string",
     "prop"),
    ("orders_status", "kind: counter\nsource: orders\nstatus: shipped",
     "status: unknown order status 'shipped' (statuses: paid, refunded, returned, cancelled, or any)", "status"),
    ("orders_where_column", "kind: counter\nsource: orders\nwhere: {colour: red}",
     "where.colour: unknown order or item column 'colour'", "where.colour"),
    ("orders_where_type", "kind: counter\nsource: orders\nwhere: {amount: {gte: lots}}",
     "where.amount.gte: amount is decimal, so 'lots' does not fit", "where.amount.gte"),
    ("orders_event", "kind: counter\nsource: orders\nevent: x",
     "event: unknown key 'event' for a counter trait of orders (allowed: name, description, kind, source, within, "
     "between, status, where, prop)", "event"),
    ("reserved_name", "name: profile_id\nkind: counter\nevent: x",
     "name: 'profile_id' is reserved; choose another trait name", "name"),
    ("bad_name", "name: Open Rate\nkind: counter\nevent: x",
     "name: 'Open Rate' is not a trait name (lower-case letters, digits and _, starting with a letter, "
     "at most 63 characters)", "name"),
]


@pytest.mark.parametrize(("text", "message", "path"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_definition_is_reported_with_file_and_path(tmp_path: Path, text: str, message: str, path: str) -> None:
    root = tmp_path / "p"
    (root / "traits").mkdir(parents=True)
    (root / "traits" / "t.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_trait_definitions(root)
    assert info.value.message == f"traits/t.yaml: {message}"
    assert info.value.path == path


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "traits").mkdir(parents=True)
    files = {
        "a.yaml": "kind: sum\nevent: x\nwithin: soon\n",
        "b.yml": "kind: [unclosed\n",
        "c.yaml": "- not a mapping\n",
        "Bad-Name.yaml": "kind: counter\nevent: x\n",
        "d.yaml": "name: e\nkind: counter\nevent: x\n",
        "e.yaml": "kind: counter\nevent: y\n",
        "notes.txt": "not a trait",
    }
    for name, text in files.items():
        (root / "traits" / name).write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_trait_definitions(root)
    lines = info.value.message.splitlines()
    assert lines[0] == "traits/Bad-Name.yaml: 'Bad-Name' is not a trait name (lower-case letters, digits and _, " \
                       "starting with a letter, at most 63 characters); rename the file or give name:"
    assert lines[1:3] == [
        "traits/a.yaml: within: 'soon' is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)",
        "traits/a.yaml: prop: a sum trait needs prop: the property to aggregate, e.g. prop: amount",
    ]
    assert lines[3] == "traits/b.yml: not valid YAML (line 1, column 16): expected ',' or ']', but got '<stream end>'"
    assert lines[4:] == [
        "traits/c.yaml: a trait definition is a mapping (kind: counter, event: ..., within: 90d)",
        "traits/e.yaml: trait 'e' is already defined in traits/d.yaml",
    ]
    assert (info.value.code, info.value.path) == ("bad_name", "traits/Bad-Name.yaml")


def test_parse_trait_directly() -> None:
    trait = parse_trait({"kind": "first", "event": "signup"}, name="signed_up_at")
    assert trait.type.value == "timestamp" and trait.window_text == "all history"
    with pytest.raises(DefinitionError) as info:
        parse_trait({"kind": "first", "event": "signup", "within": "x"}, name="s", file="traits/s.yaml")
    assert info.value.message.startswith("traits/s.yaml: within: 'x' is not a duration")


def test_a_window_longer_than_history_has_no_lower_bound() -> None:
    sql = compile_trait_sql(parse_trait({"kind": "counter", "event": "x", "within": "9999999w"}, name="t"), as_of=T)
    assert '"e"."ts" >' not in sql and "\"e\".\"ts\" <= CAST('2026-03-01T12:00:00+00:00' AS TIMESTAMPTZ)" in sql


def test_declared_order_columns_are_accepted_at_refresh(shop: Workspace) -> None:
    shop.declare("orders", "coupon_value", "number")
    write_traits(shop.root, {"coupon_total": "kind: sum\nsource: orders\nprop: coupon_value\n"})
    with pytest.raises(DefinitionError):  # the built-in columns only
        load_trait_definitions(shop.root)
    summary = refresh_traits(shop, as_of=T)
    assert summary["traits"]["coupon_total"]["type"] == "number"


# -- against a brute-force oracle -----------------------------------------------------------

@pytest.fixture(scope="module")
def oracle_db() -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE profiles (profile_id VARCHAR)")
    con.execute("INSERT INTO profiles VALUES ('p1'), ('p2'), ('p3')")
    con.execute("CREATE TABLE events (event_id VARCHAR, profile_id VARCHAR, event VARCHAR, ts TIMESTAMPTZ, properties JSON)")
    yield con
    con.close()


def oracle(rows: list[tuple[str, str, str, datetime, str]], kind: str) -> dict[str, Any]:
    """The trait *kind* of category over views within 7 days of T, computed the slow, obvious way."""
    out: dict[str, Any] = {}
    for pid in ("p1", "p2", "p3"):
        mine = [r for r in rows if r[1] == pid and r[2] == "view" and T - timedelta(days=7) < r[3] <= T]
        cats = [(r[3], r[0], json.loads(r[4])["category"]) for r in mine if "category" in json.loads(r[4])]
        counts: dict[str, int] = {}
        for _, _, c in cats:
            counts[c] = counts.get(c, 0) + 1
        out[pid] = {
            "counter": len(mine),
            "most_frequent": min(counts, key=lambda c: (-counts[c], c)) if counts else None,
            "first": min(cats)[2] if cats else None,
            "last": max(cats)[2] if cats else None,
            "distinct_count": len(counts),
            "distinct_list": sorted(counts) or None,
        }[kind]
    return out


_KINDS = ("counter", "most_frequent", "first", "last", "distinct_count", "distinct_list")
_SQL = {
    kind: compile_trait_sql(parse_trait({"kind": kind, "event": "view", "within": "7d",
                                         **({} if kind == "counter" else {"prop": "category"})}, name="t"), as_of=T)
    for kind in _KINDS
}
_event = st.tuples(
    st.sampled_from(["p1", "p2", "p3"]),
    st.sampled_from(["view", "buy"]),
    st.integers(min_value=-10, max_value=2),  # whole days from T, so the window's edges are hit
    st.sampled_from(["a", "b", "B", "é", "美", None]),
    st.booleans(),  # on the hour or one second later: ties on ts, broken by event_id
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_event, max_size=12))
def test_compiled_traits_match_a_brute_force_oracle(oracle_db: Any, events: list[tuple[Any, ...]]) -> None:
    rows = []
    for i, (pid, name, days, cat, later) in enumerate(events):
        props = json.dumps({} if cat is None else {"category": cat}, ensure_ascii=False)
        ts = T + timedelta(days=days, seconds=1 if later else 0)
        rows.append((f"e{(i * 7) % 13:02d}{i}", pid, name, ts, props))  # ids not in time order
    oracle_db.execute("DELETE FROM events")
    if rows:
        oracle_db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    for kind in _KINDS:
        assert dict(oracle_db.execute(_SQL[kind]).fetchall()) == oracle(rows, kind), kind


# -- the command line -----------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_refresh_and_list(shop: Workspace) -> None:
    root = str(shop.root)
    shop.close()
    result = run("traits", "refresh", "--project", root, "--format", "json", "--as-of", "2026-03-01T12:00:00Z")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["as_of"] == "2026-03-01T12:00:00+00:00" and summary["profiles"] == 5
    assert summary["traits"]["email_open_rate_90d"]["type"] == "number"
    assert summary["traits"]["email_open_rate_90d"]["non_null"] == 2
    assert set(summary["traits"]) == set(TRAITS)

    as_table = run("traits", "refresh", "--project", root, "--as-of", "2026-03-01T12:00:00Z", "--name", "views")
    assert as_table.returncode == 0, as_table.stderr
    assert "email_open_rate_90d" in as_table.stdout and "kept" in as_table.stdout

    listed = run("traits", "list", "--project", root, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["coupon_redeem_rate_180d"] == {
        "name": "coupon_redeem_rate_180d", "kind": "ratio", "type": "number", "source": "events", "window": "180d",
        "file": "traits/coupon_redeem_rate_180d.yaml", "description": "", "as_of": "2026-03-01T12:00:00+00:00",
    }
    assert run("traits", "list", "--project", root).returncode == 0


def test_cli_invalid_trait_exits_1_and_writes_nothing(shop: Workspace) -> None:
    root = shop.root
    shop.close()
    (root / "traits" / "open_rate.yaml").write_text("kind: ratio\nnumerator: a\ndenominator: b\nwithin: 7days\n")
    result = run("traits", "refresh", "--project", str(root), "--format", "json")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "Error: traits/open_rate.yaml: within: '7days' is not a duration (an integer and min, h, d or w: "
        "90min, 12h, 7d, 2w)"
    )
    with segflow.open(root) as ws:
        assert ws.warehouse.columns("traits") == {"profile_id": "VARCHAR"}
