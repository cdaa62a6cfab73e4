"""Support for the evaluator and explain tests: checked rule trees and profile data.

``checked(yaml_text)`` is the one place that turns rule text into a checked tree:
``parse_rule`` then ``check_rule`` against :data:`CTX`, the schema these tests use
(built-in columns plus a few test attributes and traits).

The module is named ``test_evaluate_*`` to live with the evaluator's test files; its
own tests pin what the evaluator takes from the checker (vtypes, converted values,
order filter targets), so a change in the checker's contract shows here first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from segflow.rules.ast import Condition
from segflow.rules.check import CheckContext, check_rule
from segflow.rules.evaluate import evaluate
from segflow.rules.explain import explain, render_explain
from segflow.rules.parse import parse_rule
from segflow.rules.profile_data import ProfileData
from segflow.schema.kinds import KINDS
from segflow.schema.types import AttributeType as T

UTC = UTC
#: The default as-of time of the tests: 2026-03-01 12:00 UTC (Sunday).
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: The schema of these tests: built-in columns plus test attributes.
SCHEMA: dict[str, dict[str, T]] = {kind: {c.name: c.type for c in k.columns} for kind, k in KINDS.items()}
SCHEMA["profiles"].update(
    age=T.INTEGER, score=T.NUMBER, balance=T.DECIMAL, vip=T.BOOLEAN, interests=T.LIST, last_login=T.TIMESTAMP, nickname=T.STRING,
    joined_on=T.DATE,
)
SCHEMA["orders"].update(points=T.INTEGER)
SCHEMA["accounts"].update(tags=T.LIST)
TRAITS: dict[str, T] = {
    "email_open_rate_90d": T.NUMBER,
    "favorite_category": T.STRING,
    "orders_365d": T.INTEGER,
    "last_seen": T.TIMESTAMP,
}

CTX = CheckContext(
    profile_attributes=SCHEMA["profiles"],
    account_attributes=SCHEMA["accounts"],
    order_columns=SCHEMA["orders"],
    item_columns=SCHEMA["order_items"],
    tags={"vip", "rfm_tier", "loyalty/gold"},
    traits=TRAITS,
    segments={"high_value": None, "churned": None},
)


def checked(rule: str | dict[str, Any]) -> Condition:
    """Rule YAML text (or loaded data) → a checked tree."""
    data = yaml.safe_load(rule) if isinstance(rule, str) else rule
    tree, _warnings = check_rule(parse_rule(data), CTX)
    return tree


# -- profile data factories ------------------------------------------------------------------


def profile(profile_id: str = "p1", **attrs: Any) -> ProfileData:
    """A ProfileData with the profile row ``{profile_id, **attrs}``; fill the lists after."""
    return ProfileData(profile={"profile_id": profile_id, **attrs})


def ev(name: str, ts: datetime, **properties: Any) -> dict[str, Any]:
    return {"event": name, "ts": ts, "properties": properties}


def order(
    order_id: str, ts: datetime, amount: str, status: str = "paid", items: list[dict[str, Any]] | None = None, **cols: Any
) -> dict[str, Any]:
    return {"order_id": order_id, "ts": ts, "amount": Decimal(amount), "status": status, "items": items or [], **cols}


def item(sku: str, price: str, category: str | None = None, quantity: int = 1) -> dict[str, Any]:
    return {"sku": sku, "price": Decimal(price), "category": category, "quantity": quantity}


def ago(days: float = 0, **kw: float) -> datetime:
    """T0 minus a duration."""
    return T0 - timedelta(days=days, **kw)


def run(rule: str | dict[str, Any], data: ProfileData, *, as_of: datetime = T0, tz: str = "UTC") -> bool:
    """evaluate(), after asserting that explain() reaches the same value."""
    tree = checked(rule)
    value = evaluate(tree, data, as_of=as_of, timezone=tz)
    explained = explain(tree, data, as_of=as_of, timezone=tz)
    assert explained.value is value, render_explain(explained)
    return value


# -- what the evaluator takes from the checker ----------------------------------------------


def test_checked_values_have_the_attribute_type() -> None:
    tree = checked("{all: [{attr: age, between: [22, 28]}, {attr: balance, eq: 10.1}, {attr: birthday, gte: 2000-01-01}]}")
    age, balance, birthday = tree.items  # type: ignore[attr-defined]
    assert age.vtype is T.INTEGER and age.tests[0].value == (22, 28) and age.tests[0].vtype is T.INTEGER
    assert balance.tests[0].value == Decimal("10.1") and isinstance(balance.tests[0].value, Decimal)
    assert birthday.tests[0].value == date(2000, 1, 1) and birthday.tests[0].vtype is T.DATE


def test_event_where_is_typed_from_the_literal_and_order_where_targets_items() -> None:
    event = checked("{event: view, where: {price: {gte: 100}, is_new: true, sku: 123abc}}")
    assert [c.vtype for f in event.where for c in f.tests] == [T.NUMBER, T.BOOLEAN, T.STRING]  # type: ignore[attr-defined]
    orders = checked("{orders: {where: {store: S1, category: beauty}, total: {gte: 10}}}")
    assert [f.target for f in orders.where] == ["order", "item"]  # type: ignore[attr-defined]
    assert orders.agg.tests[0].vtype is T.DECIMAL and orders.agg.tests[0].value == Decimal(10)  # type: ignore[attr-defined]


def test_every_comparison_of_a_checked_tree_has_a_vtype() -> None:
    from segflow.rules.evaluate import require_checked

    require_checked(checked(
        "{all: [{tag: rfm_tier, ne: low}, {event: buy, where: {sku: {is_null: true}}}, {orders: {last: {within: 7d}}},"
        " {trait: orders_365d, gte: 2}, {attr: account.industry, eq: finance}]}"
    ))
