"""explain / render_explain: each node's truth value and the values behind it.

That explain's root value is evaluate's is checked on every case of test_evaluate.py
(its ``run`` helper); here: the exact text and data of each kind of node.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from test_evaluate_support import T0, ago, checked, ev, item, order, profile

import segflow.rules.evaluate as evaluate_module
from segflow.rules.evaluate import evaluate
from segflow.rules.explain import ExplainNode, explain, render_explain
from segflow.rules.profile_data import ProfileData


def rich() -> ProfileData:
    data = profile("p1", city="北京", age=25, birthday=date(2000, 3, 4), email="a@example.com", interests=["beauty"])
    data.events = [ev("purchase", ago(1), price=100), ev("purchase", ago(2), price="n/a"), ev("login", ago(40))]
    data.orders = [
        order("o1", ago(10), "100.10", items=[item("A", "50", "beauty")]),
        order("o2", ago(20), "200.20"),
        order("o3", ago(5), "999", status="refunded"),
    ]
    data.tags = [
        {"tag": "rfm_tier", "value": "high_value", "assigned_at": None, "expires_at": None},
        {"tag": "vip", "value": None, "assigned_at": ago(30), "expires_at": ago(1)},
    ]
    data.memberships = [{"kind": "wecom_group", "key": "G1", "since": ago(3)}]
    data.subscriptions = [{"channel": "email", "status": "opted_in", "topic": "", "ts": None}]
    data.traits = {"email_open_rate_90d": 0.42}
    data.segments = {"high_value"}
    return data


def explained(rule: str, data: ProfileData | None = None, **kw: Any) -> ExplainNode:
    tree = checked(rule)
    data = data or rich()
    node = explain(tree, data, as_of=T0, **kw)
    assert node.value is evaluate(tree, data, as_of=T0, **kw)
    return node


def test_the_tree_with_every_node_s_value() -> None:
    rule = """
    all:
      - attr: city
        in: [Beijing, Shanghai]
      - not: {event: add_to_cart, within: 7d}
    """
    text = render_explain(explained(rule, profile(city="Beijing")))
    assert text == (
        "✓ all → true\n"
        "  ✓ attr city = 'Beijing' (in ['Beijing', 'Shanghai']) → true\n"
        "  ✓ not → true\n"
        "    ✗ event add_to_cart in last 7d: count = 0, needs >= 1 → false"
    )


LINES = [
    # attributes
    ("{attr: city, eq: 北京}", "✓ attr city = '北京' (= '北京') → true"),
    ("{attr: city, ne: 北京}", "✗ attr city = '北京' (!= '北京') → false"),
    ("{attr: nickname, ne: x}", "✓ attr nickname is missing (!= 'x') → true"),
    ("{attr: age, gte: 22, lte: 24}", "✗ attr age = 25 (>= 22 ✓, <= 24 ✗) → false"),
    ("{attr: age, between: [20, 30]}", "✓ attr age = 25 (between 20 and 30) → true"),
    ("{attr: city, is_null: false}", "✓ attr city = '北京' (is not null) → true"),
    ("{attr: city, not_in: [上海]}", "✓ attr city = '北京' (not in ['上海']) → true"),
    ("{attr: city, starts_with: 北}", "✓ attr city = '北京' (starts with '北') → true"),
    ("{attr: interests, contains: beauty}", "✓ attr interests = ['beauty'] (contains 'beauty') → true"),
    ("{attr: birthday, within: 30d}", "✗ attr birthday = 2000-03-04 (within 30d) → false"),
    ("{attr: birthday, anniversary_within: 7d}", "✓ attr birthday = 2000-03-04 (anniversary within 7d: next in 3 days) → true"),
    ("{attr: birthday, anniversary_within: 1d}", "✗ attr birthday = 2000-03-04 (anniversary within 1d: next in 3 days) → false"),
    ("{attr: birthday, anniversary_month: current}", "✓ attr birthday = 2000-03-04 (anniversary month current: 3) → true"),
    ("{attr: account.industry, eq: finance}", "✗ attr account.industry is missing, no account (= 'finance') → false"),
    ("{trait: email_open_rate_90d, gte: 0.3}", "✓ trait email_open_rate_90d = 0.42 (>= 0.3) → true"),
    # tags, segments, memberships, subscriptions, samples
    ("{tag: rfm_tier, eq: high_value}", "✓ tag rfm_tier = 'high_value' (= 'high_value') → true"),
    ("{tag: vip}", "✗ tag vip: not assigned → false"),
    ("{tag: vip, ne: gold}", "✓ tag vip: not assigned (!= 'gold') → true"),
    ("{segment: high_value}", "✓ segment high_value: member → true"),
    ("{segment: churned}", "✗ segment churned: not a member → false"),
    ("{member_of: {kind: wecom_group, key: G1}}", "✓ member_of wecom_group key 'G1': since 2026-02-26 12:00:00+00:00 → true"),
    ("{member_of: wechat_oa}", "✗ member_of wechat_oa: no membership → false"),
    ("{subscribed: email}", "✓ subscribed email: opted in, email present → true"),
    ("{subscribed: push}", "✗ subscribed push: no opted-in subscription → false"),
    ("{sample: 0.5, salt: spring_test}", "✗ sample 0.5 (salt 'spring_test'): bucket 0.641815 >= 0.5 → false"),
    # events
    ("{event: add_to_cart, within: 7d}", "✗ event add_to_cart in last 7d: count = 0, needs >= 1 → false"),
    (
        "{event: purchase, within: 7d, where: {price: {gte: 50}}, sum: {prop: price, gte: 100}}",
        "✓ event purchase where price >= 50.0 in last 7d: sum(price) = 100.0 over 1 event, needs >= 100.0 → true",
    ),
    (
        "{event: purchase, avg: {prop: price, gte: 100, lte: 200}}",
        "✓ event purchase: avg(price) = 100.0 over 2 events, needs >= 100.0 ✓ and <= 200.0 ✓ → true",
    ),
    ("{event: refund, avg: {prop: price, ne: 5}}", "✗ event refund: avg(price) = missing (no events), needs != 5.0 → false"),
    (
        "{event: purchase, within: 7d, avg: {prop: discount, is_null: true}}",
        "✓ event purchase in last 7d: avg(discount) = missing (no discount values in 2 events), needs is null → true",
    ),
    ("{event: [login, purchase], distinct_days: {gte: 2}}", "✓ event [login, purchase]: distinct_days = 3 over 3 events, needs >= 2 → true"),
    ("{event: login, last: {before: 30d}}", "✓ event login: last = 2026-01-20 12:00:00+00:00 over 1 event, needs before 30d → true"),
    (
        "{event: login, between: [2026-01-01, '2026-01-31T23:59:59Z']}",
        "✓ event login between 2026-01-01 00:00:00+00:00 and 2026-01-31 23:59:59+00:00: count = 1, needs >= 1 → true",
    ),
    (
        "{event: view, where: {category: [beauty, food], ref: {ne: x}}}",
        "✗ event view where category in ['beauty', 'food'], ref != 'x': count = 0, needs >= 1 → false",
    ),
    # orders
    ("{orders: {within: 90d, count: {gte: 2}}}", "✓ orders paid in last 90d: count = 2, needs >= 2 → true"),
    ("{orders: {total: {eq: 300.3}}}", "✓ orders paid: sum(amount) = 300.30 over 2 orders, needs = 300.3 → true"),
    (
        "{orders: {status: any, where: {category: beauty, store: S1}, total: {gte: 100}}}",
        "✗ orders (any status) where item category = 'beauty', store = 'S1': sum(amount) = 0 (no orders), needs >= 100 → false",
    ),
    (
        "{orders: {status: [paid, refunded], avg: {gte: 500}}}",
        "✗ orders paid, refunded: avg(amount) = 433.10 over 3 orders, needs >= 500 → false",
    ),
    (
        "{orders: {between: [2026-01-01, 2026-02-01], last: {within: 30d}}}",
        "✗ orders paid between 2026-01-01 00:00:00+00:00 and 2026-02-01 00:00:00+00:00: last = missing (no orders),"
        " needs within 30d → false",
    ),
]


@pytest.mark.parametrize("rule, line", [pytest.param(r, line, id=r) for r, line in LINES])
def test_each_kind_of_node_explains_itself(rule: str, line: str) -> None:
    assert explained(rule).line() == line


def test_an_exact_average_is_shown_rounded() -> None:
    data = profile()
    data.orders = [order("o1", ago(1), "0.1"), order("o2", ago(2), "0.2"), order("o3", ago(3), "0.0001")]
    assert explained("{orders: {avg: {gt: 0.1000333}}}", data).line() == (
        "✓ orders paid: avg(amount) = 0.10003333… over 3 orders, needs > 0.1000333 → true"
    )


def test_a_tag_with_several_values_shows_them_all() -> None:
    data = profile()
    data.tags = [{"tag": "rfm_tier", "value": v, "assigned_at": None, "expires_at": None} for v in ("a", "b")]
    node = explained("{tag: rfm_tier, eq: a, ne: b}", data)
    assert node.line() == "✗ tag rfm_tier = 'a', 'b' (= 'a', != 'b') → false"
    assert [t.passed for t in node.tests] == [None, None]  # decided over both values, not per test


def test_a_profile_created_after_T_is_explained_above_the_tree() -> None:
    data = profile(city="Beijing", created_at=T0 + timedelta(days=1))
    assert render_explain(explained("{attr: city, eq: Beijing}", data)) == (
        "✗ profile p1: created 2026-03-02 12:00:00+00:00, after the as-of time 2026-03-01 12:00:00+00:00 → false\n"
        "  ✓ attr city = 'Beijing' (= 'Beijing') → true"
    )


def test_every_child_is_explained_even_after_the_answer_is_known() -> None:
    node = explained("{any: [{attr: city, eq: 北京}, {attr: age, gt: 99}, {not: {segment: churned}}]}")
    assert render_explain(node, indent="    ") == (
        "✓ any → true\n"
        "    ✓ attr city = '北京' (= '北京') → true\n"
        "    ✗ attr age = 25 (> 99) → false\n"
        "    ✓ not → true\n"
        "        ✗ segment churned: not a member → false"
    )


def test_to_dict_is_json_ready() -> None:
    node = explained("{all: [{attr: birthday, anniversary_within: 7d}, {orders: {total: {gte: 100}}}]}")
    data = node.to_dict()
    json.dumps(data, ensure_ascii=False)
    assert (data["kind"], data["path"], data["value"], data["text"]) == ("all", "all", True, "✓ all → true")
    birthday, orders = data["children"]
    assert birthday == {
        "kind": "attr",
        "path": "all[0].attr",
        "value": True,
        "label": "attr birthday",
        "text": "✓ attr birthday = 2000-03-04 (anniversary within 7d: next in 3 days) → true",
        "seen": {"value": "2000-03-04"},
        "tests": [{"op": "anniversary_within", "value": "7d", "text": "anniversary within 7d", "passed": True, "note": "next in 3 days"}],
        "children": [],
    }
    assert orders["kind"] == "orders" and orders["path"] == "all[1].orders"
    assert orders["seen"] == {"rows": 2, "aggregate": "300.30", "values": 2}
    assert orders["tests"] == [{"op": "gte", "value": "100", "text": ">= 100", "passed": True, "note": None}]


def test_explain_runs_the_evaluator_s_own_comparisons(monkeypatch: pytest.MonkeyPatch) -> None:
    # Explain is the evaluator with tracing on, not a second implementation: change how
    # the evaluator compares, and explain follows.
    tree = checked("{attr: city, eq: Shanghai}")
    data = rich()
    assert explain(tree, data, as_of=T0).value is False
    monkeypatch.setattr(evaluate_module, "passes", lambda c, v, env: True)
    assert evaluate(tree, data, as_of=T0) is True
    assert explain(tree, data, as_of=T0).line() == "✓ attr city = '北京' (= 'Shanghai') → true"
