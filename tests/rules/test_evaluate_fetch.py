"""fetch_profile_data on a real warehouse (segflow.init + ws.load), then evaluate on what it read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from test_evaluate_support import T0, UTC, checked

import segflow
from segflow.errors import QueryError
from segflow.rules.evaluate import evaluate
from segflow.rules.explain import explain, render_explain
from segflow.rules.profile_data import ProfileData, fetch_profile_data, fetch_profiles_data
from segflow.workspace import Workspace

FILES = {
    "profiles": (
        "profile_id,email,phone,city,birthday,created_at,account_id,member_level,interests\n"
        "p1, Ann@Example.com ,13800138000,北京,2000-02-29,2025-01-01T08:00:00+08:00,A1,gold,beauty|美妆\n"
        "p2,,,,,,,,\n"
        "p3,,,Shanghai,,2026-03-02T00:00:00Z,,,\n"
    ),
    "accounts": "account_id,name,industry,employees\nA1,Acme 公司,finance,250\n",
    "events": (
        "event_id,profile_id,event,ts,properties\n"
        'e1,p1,add_to_cart,2026-02-27T10:00:00Z,"{""category"": ""beauty"", ""price"": 199.5}"\n'
        'e2,p1,purchase,2026-02-28T10:00:00Z,"{""price"": ""150"", ""note"": ""口红 💄""}"\n'
        "e3,p1,login,2026-03-05T00:00:00Z,\n"
        "e4,p2,login,2026-02-01T00:00:00Z,\n"
    ),
    "orders": (
        "order_id,profile_id,ts,amount,status,store\n"
        "o1,p1,2026-02-20T10:00:00Z,100.10,paid,S1\n"
        "o2,p1,2026-01-10T10:00:00Z,200.2,REFUNDED,S2\n"
    ),
    "order_items": "order_id,sku,quantity,price,category\no1,SKU1,2,50.05,beauty\no2,SKU2,1,200.2,food\no2,SKU3,1,0,\n",
    "memberships": 'profile_id,kind,key,since,attrs\np1,WeCom_Group,G1,2025-06-01T00:00:00Z,"{""role"": ""member""}"\n',
    "subscriptions": "profile_id,channel,status,topic,ts\np1,Email,opted_in,,2025-06-01T00:00:00Z\np1,sms,opted_out,promo,\n",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One small shop for the whole module (read only by the tests)."""
    root = tmp_path_factory.mktemp("shop")
    project = segflow.init(root / "proj", default_phone_country="CN")
    project.declare("profiles", "interests", "list")
    for kind, text in FILES.items():
        path = root / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        [summary] = project.load(kind, [path])
        assert summary.rejected == 0, (kind, summary)
    con = project.warehouse.con
    con.execute(
        "INSERT INTO tag_assignments VALUES "
        "('p1', 'rfm_tier', 'high_value', 'rfm', '2026-01-01T00:00:00Z', NULL), "
        "('p1', 'vip', NULL, 'manual', NULL, '2026-02-01T00:00:00Z')"
    )
    con.execute("INSERT INTO segment_members VALUES ('high_value', 'p1', '2026-01-01T00:00:00Z')")
    con.execute("ALTER TABLE traits ADD COLUMN email_open_rate_90d DOUBLE")
    con.execute("INSERT INTO traits VALUES ('p1', 0.42)")
    yield project
    project.close()


def test_fetch_reads_every_table_as_plain_python(shop: Workspace) -> None:
    data = fetch_profile_data(shop.warehouse.con, "p1")
    p = data.profile
    assert data.profile_id == "p1"
    assert (p["email"], p["phone"], p["city"], p["interests"]) == ("ann@example.com", "+8613800138000", "北京", ["beauty", "美妆"])
    assert p["birthday"] == date(2000, 2, 29) and type(p["birthday"]) is date
    assert p["created_at"] == datetime(2025, 1, 1, 0, 0, tzinfo=UTC) and p["created_at"].tzinfo is not None
    assert "_load_id" not in p
    assert data.account is not None and (data.account["name"], data.account["employees"]) == ("Acme 公司", 250)

    assert [(e["event"], e["ts"]) for e in data.events] == [
        ("add_to_cart", datetime(2026, 2, 27, 10, tzinfo=UTC)),
        ("purchase", datetime(2026, 2, 28, 10, tzinfo=UTC)),
        ("login", datetime(2026, 3, 5, tzinfo=UTC)),
    ]
    assert data.events[0]["properties"] == {"category": "beauty", "price": 199.5}
    assert data.events[1]["properties"] == {"price": "150", "note": "口红 💄"}
    assert data.events[2]["properties"] == {}

    o1, o2 = sorted(data.orders, key=lambda o: o["order_id"])
    assert (o1["amount"], o1["status"], o1["store"]) == (Decimal("100.10"), "paid", "S1")
    assert o2["status"] == "refunded"
    assert [(i["sku"], i["quantity"], i["price"], i["category"]) for i in o1["items"]] == [("SKU1", 2, Decimal("50.05"), "beauty")]
    assert [i["sku"] for i in o2["items"]] == ["SKU2", "SKU3"]

    assert [(m["kind"], m["key"], m["attrs"]) for m in data.memberships] == [("wecom_group", "G1", {"role": "member"})]
    assert sorted((s["channel"], s["status"], s["topic"]) for s in data.subscriptions) == [
        ("email", "opted_in", ""), ("sms", "opted_out", "promo")
    ]
    assert [(t["tag"], t["value"]) for t in data.tags] == [("rfm_tier", "high_value"), ("vip", None)]
    assert data.tags[0]["assigned_at"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert data.segments == {"high_value"}
    assert data.traits == {"email_open_rate_90d": 0.42}


def test_fetch_of_a_profile_with_nothing_else(shop: Workspace) -> None:
    data = fetch_profile_data(shop.warehouse.con, "p2")
    assert data.profile["city"] is None and data.account is None
    assert [e["event"] for e in data.events] == ["login"]
    assert (data.orders, data.memberships, data.subscriptions, data.tags, data.segments, data.traits) == ([], [], [], [], set(), {})


def test_fetch_of_an_unknown_profile(shop: Workspace) -> None:
    with pytest.raises(QueryError) as info:
        fetch_profile_data(shop.warehouse.con, "nobody")
    assert (info.value.code, str(info.value)) == ("unknown_profile", "no profile 'nobody' in the warehouse")


def test_fetch_of_many_profiles_equals_one_at_a_time(shop: Workspace) -> None:
    con = shop.warehouse.con
    many = fetch_profiles_data(con, ["p3", "nobody", "p1", "p2", "p1"])
    assert sorted(many) == ["p1", "p2", "p3"]  # unknown ids left out, repeats once
    for pid, data in many.items():
        assert data == fetch_profile_data(con, pid)
    assert many["p1"].account is not None and many["p1"].orders[0]["items"]
    assert fetch_profiles_data(con, []) == {}


def test_fetch_works_on_a_read_only_workspace(tmp_path) -> None:
    """segflow profile show / explain open the warehouse read-only; the fetch's id table is TEMP."""
    file = tmp_path / "profiles.csv"
    file.write_text(FILES["profiles"], encoding="utf-8")
    with segflow.init(tmp_path / "proj", default_phone_country="CN") as ws:
        ws.load("profiles", [file])
    with segflow.open(tmp_path / "proj", read_only=True) as ro:
        assert sorted(fetch_profiles_data(ro.warehouse.con, ["p1", "p3"])) == ["p1", "p3"]
        assert fetch_profile_data(ro.warehouse.con, "p1").profile["city"] == "北京"


WHOLE_SHOP = """
all:
  - attr: city
    eq: 北京
  - attr: account.industry
    eq: finance
  - attr: interests
    contains: 美妆
  - attr: birthday
    anniversary_within: 1d
  - event: add_to_cart
    within: 7d
    where: {category: beauty, price: {gte: 100}}
  - event: purchase
    where: {price: {gte: 100}}
  - not: {event: login}
  - orders: {total: {eq: 100.10}}
  - orders: {where: {category: beauty}, within: 30d}
  - not: {orders: {where: {category: food}}}
  - tag: rfm_tier
    eq: high_value
  - not: {tag: vip}
  - segment: high_value
  - trait: email_open_rate_90d
    gte: 0.4
  - member_of: {kind: wecom_group, key: G1}
  - subscribed: email
  - not: {subscribed: sms}
"""


def test_evaluate_on_fetched_data(shop: Workspace) -> None:
    tree = checked(WHOLE_SHOP)
    con = shop.warehouse.con
    # 2026-02-28 is the Feb 29 birthday in a year without one.
    at = datetime(2026, 2, 28, 12, tzinfo=UTC)
    p1 = fetch_profile_data(con, "p1")
    assert evaluate(tree, p1, as_of=at) is True, render_explain(explain(tree, p1, as_of=at))
    assert evaluate(tree, p1, as_of=at + timedelta(days=1)) is False  # the birthday has passed
    assert evaluate(tree, fetch_profile_data(con, "p2"), as_of=at) is False
    p3 = fetch_profile_data(con, "p3")  # created after T
    assert evaluate(checked("{attr: city, eq: Shanghai}"), p3, as_of=T0) is False
    assert evaluate(checked("{attr: city, eq: Shanghai}"), p3, as_of=T0 + timedelta(days=1)) is True


def test_profile_data_defaults() -> None:
    data = ProfileData(profile={"profile_id": 7})
    assert data.profile_id == "7"
    assert (data.account, data.events, data.orders, data.tags, data.segments, data.traits) == (None, [], [], [], set(), {})
