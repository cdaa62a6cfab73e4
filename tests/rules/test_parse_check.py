"""Every parser and checker problem, asserted by type (code), message and path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import yaml

from segflow.rules.ast import AggFunc, All, Attr, Duration, Event, Not, Op, Orders
from segflow.rules.check import CheckContext, check_rule
from segflow.rules.errors import RuleError
from segflow.rules.parse import load_rule_text, parse_rule
from segflow.schema.types import AttributeType as T

CTX = CheckContext(
    profile_attributes={"city": T.STRING, "age": T.INTEGER, "birthday": T.DATE, "created_at": T.TIMESTAMP,
                        "vip": T.BOOLEAN, "interests": T.LIST, "score": T.NUMBER, "extra": T.JSON},
    account_attributes={"industry": T.STRING, "employees": T.INTEGER},
    order_columns={"amount": T.DECIMAL, "store": T.STRING, "status": T.STRING, "ts": T.TIMESTAMP},
    item_columns={"category": T.STRING, "sku": T.STRING, "price": T.DECIMAL},
    tags={"lifecycle/churn_risk", "rfm_tier"},
    traits={"email_open_rate_90d": T.NUMBER, "favorite_category": T.STRING},
    segments={"high_value": None, "a": {"segment": "b"}, "b": {"segment": "target"}},
    events_seen={"add_to_cart", "order_paid", "login"},
    segment_name="target",
    parse=parse_rule,
)


def problems(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(RuleError) as info:
        tree = parse_rule(yaml.safe_load(text))
        check_rule(tree, CTX)
    return [(p.code, p.path, p.message) for p in info.value.problems]


def checked(text: str):
    tree, warnings = check_rule(parse_rule(yaml.safe_load(text)), CTX)
    return tree, warnings


PARSE_CASES = [
    ("[1, 2]", [("not_a_condition", "", "expected a condition (a mapping), got a list")]),
    ("{}", [("empty_condition", "", "empty condition: use all/any/not or a leaf such as attr or event")]),
    ("{cities: x}", [("unknown_condition", "", "unknown condition with keys ['cities']: expected one of all, any, not, "
                      "attr, tag, trait, segment, member_of, subscribed, sample, event, orders")]),
    ("{attr: city, tag: x, eq: y}", [("ambiguous_condition", "", "one condition per mapping, found attr, tag")]),
    ("{any: []}", [("empty_any", "any", "an empty any matches no one; remove it or add conditions")]),
    ("{all: x}", [("not_a_list", "all", "all takes a list of conditions")]),
    ("{all: [{attr: city, equals: x}]}", [("unknown_operator", "all[0].equals",
      "unknown operator 'equals' (operators: eq, ne, in, not_in, gt, gte, lt, lte, between, contains, not_contains, "
      "starts_with, ends_with, is_null, within, before, anniversary_within, anniversary_month)")]),
    ("{attr: city}", [("missing_operator", "", "no comparison given (e.g. eq: value, gte: 10, within: 7d)")]),
    ("{attr: city, in: []}", [("bad_value", "in", "in takes a non-empty list")]),
    ("{attr: age, between: [1]}", [("bad_value", "between", "between takes a list of two values [low, high]")]),
    ("{attr: city, is_null: 1}", [("bad_value", "is_null", "is_null takes true or false")]),
    ("{attr: created_at, within: 7 days}", [("bad_duration", "within",
      "'7 days' is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)")]),
    ("{attr: birthday, anniversary_month: 13}", [("bad_value", "anniversary_month",
      "anniversary_month takes current or a month number 1..12")]),
    ("{attr: city, eq: [a]}", [("bad_value", "eq", "eq takes one plain value, got a list")]),
    ("{event: add_to_cart, within: 7d, between: [2026-01-01, 2026-02-01]}", [("ambiguous_window", "between",
      "give within or between, not both")]),
    ("{event: add_to_cart, between: [2026-02-01, 2026-01-01]}", [("bad_value", "between",
      "between: the start is after the end")]),
    ("{event: add_to_cart, count: {gte: 1}, sum: {prop: price, gte: 1}}", [("two_aggregates", "sum",
      "one aggregate per condition, found count, sum")]),
    ("{event: add_to_cart, sum: {gte: 1}}", [("missing_prop", "sum",
      "sum needs prop: the property to aggregate, e.g. sum: {prop: price, gte: 100}")]),
    ("{event: add_to_cart, count: {prop: x, gte: 1}}", [("unexpected_prop", "count.prop", "count does not take prop")]),
    ("{event: [], within: 7d}", [("bad_name", "event", "event takes an event name or a list of names")]),
    ("{event: login, where: []}", [("bad_where", "where",
      "where takes a mapping of property: value or property: {operator: value}")]),
    ("{event: login, colour: red}", [("unknown_key", "colour",
      "unknown key 'colour' here (allowed: avg, between, count, distinct_days, event, first, last, max, min, sum, where, within)")]),
    ("{sample: 1.5}", [("bad_value", "sample", "sample takes a fraction in (0, 1], e.g. 0.1 for 10 %"),
                       ("missing_salt", "salt", "sample needs a salt (any text, e.g. the test's name)")]),
    ("{member_of: {key: G1}}", [("bad_value", "member_of", "member_of takes {kind: K} or {kind: K, key: KEY}")]),
    ("{orders: [1]}", [("bad_value", "orders", "orders takes a mapping: {within: 90d, count: {gte: 2}}")]),
    ("{orders: {status: 5}}", [("bad_value", "orders.status", "status takes a status, a list of statuses, or any")]),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parser_problems(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert problems(text) == expected


CHECK_CASES = [
    ("{attr: cty, eq: x}", [("unknown_attribute", "attr", "unknown attribute 'cty' of profiles (did you mean 'city'?)")]),
    ("{attr: account.industri, eq: x}", [("unknown_attribute", "attr",
      "unknown attribute 'account.industri' of accounts (did you mean 'industry'?)")]),
    ("{attr: age, contains: x}", [("unsupported_operator", "contains",
      "contains does not apply to age (integer; use eq, ne, in, not_in, gt, gte, lt, lte, between, is_null)")]),
    ("{attr: age, eq: '22'}", [("wrong_value_type", "eq", "age is integer, so '22' does not fit")]),
    ("{attr: city, eq: 5}", [("wrong_value_type", "eq", "city is string, so 5 does not fit (put text in quotes)")]),
    ("{attr: birthday, gte: someday}", [("wrong_value_type", "gte",
      "birthday is date, so 'someday' does not fit (an ISO date such as 2026-03-01)")]),
    ("{attr: age, in: [1, x]}", [("wrong_value_type", "in[1]", "age is integer, so 'x' does not fit")]),
    ("{attr: age, between: [30, 20]}", [("bad_value", "between", "between: 30 is greater than 20")]),
    ("{attr: birthday, within: 12h}", [("bad_duration", "within",
      "12h is not whole days, and birthday is compared by calendar day")]),
    ("{attr: vip, gt: true}", [("unsupported_operator", "gt", "gt does not apply to vip (boolean; use eq, ne, is_null)")]),
    ("{attr: extra, eq: x}", [("unsupported_operator", "eq", "eq does not apply to extra (json; use is_null)")]),
    ("{tag: vipp}", [("unknown_tag", "tag", "unknown tag 'vipp'")]),
    ("{tag: lifecycle/churn_risc}", [("unknown_tag", "tag",
      "unknown tag 'lifecycle/churn_risc' (did you mean 'lifecycle/churn_risk'?)")]),
    ("{trait: open_rate, gte: 0.3}", [("unknown_trait", "trait", "unknown trait 'open_rate' (did you mean 'email_open_rate_90d'?)")]),
    ("{trait: email_open_rate_90d, gte: high}", [("wrong_value_type", "gte",
      "trait email_open_rate_90d is number, so 'high' does not fit")]),
    ("{segment: high_valu}", [("unknown_segment", "segment", "unknown segment 'high_valu' (did you mean 'high_value'?)")]),
    ("{segment: a}", [("segment_cycle", "segment", "segments refer to each other in a cycle: target → a → b → target")]),
    ("{orders: {status: lost}}", [("bad_value", "orders.status",
      "unknown order status 'lost' (statuses: paid, refunded, returned, cancelled, or any)")]),
    ("{orders: {where: {colour: red}}}", [("unknown_column", "orders.where.colour",
      "unknown order or item column 'colour'")]),
    ("{orders: {sum: {prop: store, gte: 1}}}", [("not_numeric", "orders.sum",
      "sum needs a numeric column; store is string")]),
    ("{orders: {where: {price: {gte: cheap}}}}", [("wrong_value_type", "orders.where.price.gte",
      "price is decimal, so 'cheap' does not fit")]),
    ("{event: login, last: {gte: 3}}", [("wrong_value_type", "last.gte",
      "last of the events is timestamp, so 3 does not fit (an ISO date such as 2026-03-01 or 2026-03-01T10:00:00Z)")]),
    ("{event: login, where: {ts: {within: 7d}}}", [("unsupported_operator", "where.ts.within",
      "within does not apply to event properties")]),
]


@pytest.mark.parametrize(("text", "expected"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_checker_problems(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert problems(text) == expected


def test_every_problem_is_reported_at_once_with_nested_paths() -> None:
    got = problems("""
all:
  - {attr: cty, eq: x}
  - any:
      - {event: login, within: 7days}
      - not: {tag: nope}
  - orders: {within: 90d, count: {gte: many}}
""")
    assert [(code, path) for code, path, _ in got] == [("bad_duration", "all[1].any[0].within")]
    # The parser stops at shape errors; once the shape is right the checker reports the rest, all together.
    got = problems("""
all:
  - {attr: cty, eq: x}
  - any:
      - {event: login, within: 7d}
      - not: {tag: nope}
  - orders: {within: 90d, count: {gte: many}}
""")
    assert [(code, path) for code, path, _ in got] == [
        ("unknown_attribute", "all[0].attr"),
        ("unknown_tag", "all[1].any[1].not.tag"),
        ("wrong_value_type", "all[2].orders.count.gte"),
    ]


def test_unknown_event_is_a_warning_not_an_error() -> None:
    tree, warnings = checked("{event: add_to_kart, within: 7d}")
    assert isinstance(tree, Event)
    assert [(w.code, w.path, w.message) for w in warnings] == [
        ("unknown_event", "event", "no event 'add_to_kart' has been loaded yet (did you mean 'add_to_cart'?)")]


def test_checked_values_have_the_attribute_types() -> None:
    tree, _ = checked("""
all:
  - {attr: age, between: [22, 28]}
  - {attr: score, gte: 3}
  - {attr: birthday, gte: 1990-01-01}
  - {attr: created_at, lt: "2026-03-01T10:00:00+08:00"}
  - {attr: interests, contains: 美妆}
  - not: {orders: {within: 90d}}
  - orders: {avg: {gte: 500}}
""")
    assert isinstance(tree, All)
    age, score, birthday, created, interests, dormant, avg = tree.items
    assert age.tests[0].value == (22, 28) and age.vtype is T.INTEGER
    assert score.tests[0].value == 3.0 and isinstance(score.tests[0].value, float)
    assert birthday.tests[0].value == date(1990, 1, 1)
    assert created.tests[0].value == datetime(2026, 3, 1, 2, tzinfo=UTC)
    assert interests.tests[0].value == "美妆" and interests.tests[0].vtype is T.LIST
    assert isinstance(dormant, Not) and isinstance(dormant.item, Orders)
    assert dormant.item.window.within == Duration(amount=90, unit="d")
    assert dormant.item.agg.func is AggFunc.COUNT and dormant.item.agg.tests[0].op is Op.GTE
    assert avg.agg.func is AggFunc.AVG and avg.agg.prop == "amount" and avg.agg.tests[0].value == Decimal("500")


def test_item_and_order_filters_are_told_apart() -> None:
    tree, _ = checked("{orders: {where: {category: beauty, store: 上海店}, total: {gte: 100}}}")
    assert [(f.prop, f.target) for f in tree.where] == [("category", "item"), ("store", "order")]


def test_rule_file_may_wrap_the_rule() -> None:
    data = load_rule_text("name: dormant\nrule:\n  attr: city\n  eq: Beijing\n")
    assert isinstance(parse_rule(data), Attr)
    with pytest.raises(RuleError, match=r"^\(rule\): not valid YAML \(line 1, column 7\): "):
        load_rule_text("all: [")
