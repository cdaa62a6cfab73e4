"""A brute-force oracle for the rule language, written from the contract alone.

Sources: spec/rules.md, docs/rules.md and the module docstring of
:mod:`segflow.rules.ast` ("Semantics" and "Data each leaf reads"). It deliberately shares
no code with the SQL compiler or the single-profile evaluator: it walks a *checked* rule
tree with plain nested loops over plain Python rows and returns the member profile ids.
Clarity over speed; every number is compared exactly (as a :class:`~fractions.Fraction`).

A dataset is ``{table: [row, ...]}`` with rows as dicts keyed by warehouse column names
(a missing key or ``None`` is a missing value): ``profiles``, ``accounts``, ``events``
(``properties`` a dict or None), ``orders``, ``order_items``, ``memberships``,
``subscriptions``, ``tag_assignments``, ``segment_members``, ``traits``. Timestamps are
timezone-aware datetimes, dates are ``date``, decimals ``Decimal``, lists ``list[str]``.

Readings of points the contract leaves to interpretation (stated so a disagreement can
be judged):

* an event property is read as its JSON text (a string as itself, ``true``/``false``,
  a number as JSON writes it, JSON null = missing); compared as a number only when that
  text is a plain decimal number (``NUMERIC_TEXT`` below, the same on every engine: no
  blanks, no ``inf``, no non-ASCII digits), as a boolean only when it is ``true`` or
  ``false``; otherwise the property is missing for that test;
* ``sum``/``avg``/``min``/``max`` skip rows whose property/column is missing; ``sum`` of
  nothing is 0, the others missing;
* a tag's value is read like a (possibly multi-valued) attribute, so that a negative
  operator is the exact complement of its twin for tags too: the positive tests (eq, in,
  gt..., contains, starts_with, ends_with, ``is_null: false``) hold when one current
  assignment of the tag has a value passing all of them; each negative test (ne,
  not_in, not_contains, and ``is_null: true``, the complement of ``is_null: false``) holds
  when no current assignment passes its positive twin. So ``{tag: t, ne: x}`` is true for
  a profile without the tag, exactly like ``{attr: city, ne: x}`` for one without a city;
  ``{tag: t}`` without tests needs a current assignment;
* ``anniversary_*`` on a timestamp use its calendar date in the workspace zone; the next
  anniversary depends on month and day only (Feb 29 → Feb 28 in common years).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from segflow.rules.ast import (
    AggFunc,
    All,
    AnyOf,
    Attr,
    Compare,
    Duration,
    Event,
    MemberOf,
    Not,
    Op,
    Orders,
    PropFilter,
    Sample,
    SegmentRef,
    Subscribed,
    Tag,
    Trait,
    Window,
)
from segflow.schema.types import AttributeType as T

__all__ = ["members", "NUMERIC_TEXT", "Env", "KNOWN_QUIRKS"]

#: What an event property's text must be to be compared as a number (whole match).
NUMERIC_TEXT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?", re.ASCII)

_NEGATIVE = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_CONTAINS: Op.CONTAINS}


#: Deviations of the back ends from the contract that the oracle can imitate, so that a
#: known (reported, not yet fixed) disagreement does not hide new ones in the random
#: test. Each has an explicit xfail test in test_differential.py stating the contract.
KNOWN_QUIRKS = frozenset({
    # An avg/min/max/first/last over *no rows* fails every test, even ne/not_in and
    # is_null: true (the contract: it is missing, so ne/not_in/not_contains and
    # is_null: true hold, as for any missing value).
    "empty_aggregate_tests_false",
})


class Env:
    """The evaluation moment: T (aware), the workspace zone and T's calendar date there."""

    def __init__(self, as_of: datetime, zone: str, quirks: frozenset[str] = frozenset()) -> None:
        assert as_of.tzinfo is not None
        assert quirks <= KNOWN_QUIRKS, quirks - KNOWN_QUIRKS
        self.quirks = quirks
        self.t = as_of
        self.zone = ZoneInfo(zone)
        self.today = as_of.astimezone(self.zone).date()

    def local_date(self, v: date | datetime) -> date:
        if isinstance(v, datetime):
            return v.astimezone(self.zone).date()
        return v


# -- values ----------------------------------------------------------------------------


def _number(v: Any) -> Fraction:
    if isinstance(v, bool):
        raise TypeError(v)
    if isinstance(v, (int, Decimal)):
        return Fraction(v)
    if isinstance(v, float):
        return Fraction(v)  # the exact value of the double
    raise TypeError(f"not a number: {v!r}")


def _norm(v: Any, vtype: T) -> Any:
    """A value in a form where ==, < compare exactly like the type says."""
    if vtype in (T.INTEGER, T.NUMBER, T.DECIMAL):
        return _number(v)
    if vtype is T.TIMESTAMP:
        assert isinstance(v, datetime) and v.tzinfo is not None, v
        return v
    if vtype is T.DATE:
        assert isinstance(v, date) and not isinstance(v, datetime), v
        return v
    if vtype is T.BOOLEAN:
        assert isinstance(v, bool), v
        return v
    if vtype is T.STRING:
        assert isinstance(v, str), v
        return v  # Python orders str by code point = UTF-8 byte order
    return v


def _anniversary(d: date, year: int) -> date:
    if d.month == 2 and d.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, d.month, d.day)


def days_to_anniversary(d: date, today: date) -> int:
    nxt = _anniversary(d, today.year)
    if nxt < today:
        nxt = _anniversary(d, today.year + 1)
    return (nxt - today).days


def _whole_days(d: Duration) -> int:
    assert d.seconds % 86400 == 0, d
    return d.seconds // 86400


def _positive(op: Op, value: Any, v: Any, vtype: T, env: Env) -> bool:
    """The positive operator *op* on a present value *v*."""
    if op in (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
        if vtype is T.LIST:
            assert op is Op.CONTAINS
            return value in list(v)
        assert isinstance(v, str) and isinstance(value, str)
        if op is Op.CONTAINS:
            return value in v
        if op is Op.STARTS_WITH:
            return v.startswith(value)
        return v.endswith(value)
    if op in (Op.WITHIN, Op.BEFORE):
        assert isinstance(value, Duration)
        if vtype is T.DATE:
            n = _whole_days(value)
            if op is Op.WITHIN:
                return env.today - timedelta(days=n) < v <= env.today
            return v < env.today - timedelta(days=n)
        start = env.t - timedelta(seconds=value.seconds)
        if op is Op.WITHIN:
            return start < v <= env.t
        return v < start
    if op is Op.ANNIVERSARY_WITHIN:
        return days_to_anniversary(env.local_date(v), env.today) <= _whole_days(value)
    if op is Op.ANNIVERSARY_MONTH:
        month = env.today.month if value == "current" else value
        return env.local_date(v).month == month
    x = _norm(v, vtype)
    if op is Op.EQ:
        return x == _norm(value, vtype)
    if op is Op.IN:
        return any(x == _norm(o, vtype) for o in value)
    if op is Op.BETWEEN:
        lo, hi = value
        return _norm(lo, vtype) <= x <= _norm(hi, vtype)
    if op is Op.GT:
        return x > _norm(value, vtype)
    if op is Op.GTE:
        return x >= _norm(value, vtype)
    if op is Op.LT:
        return x < _norm(value, vtype)
    if op is Op.LTE:
        return x <= _norm(value, vtype)
    raise AssertionError(f"operator {op} on {vtype}")


def holds(c: Compare, v: Any, env: Env) -> bool:
    """One comparison on a value (None = missing): strictly true or false."""
    vtype = c.vtype
    assert vtype is not None, f"unchecked comparison at {c.path}"
    if c.op is Op.IS_NULL:
        return (v is None) is bool(c.value)
    if c.op in _NEGATIVE:
        return not holds_positive(_NEGATIVE[c.op], c.value, v, vtype, env)
    return holds_positive(c.op, c.value, v, vtype, env)


def holds_positive(op: Op, value: Any, v: Any, vtype: T, env: Env) -> bool:
    if v is None:
        return False
    return _positive(op, value, v, vtype, env)


def holds_all(tests: tuple[Compare, ...], v: Any, env: Env) -> bool:
    return all(holds(c, v, env) for c in tests)


# -- event properties ------------------------------------------------------------------


def property_text(props: Any, key: str) -> str | None:
    """The JSON text of a property (None when missing or JSON null)."""
    if not isinstance(props, dict) or key not in props:
        return None
    v = props[key]
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # what JSON writes for the plain values the tests use (12.5, 100.0)
    if isinstance(v, str):
        return v
    # an array or object: its compact JSON text (the contract does not say; see the
    # nested-property test in test_differential.py, where the engines disagree)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def property_value(text: str | None, vtype: T) -> Any:
    """The property as the type the test's literal asks for, or None (missing)."""
    if text is None:
        return None
    if vtype in (T.NUMBER, T.INTEGER, T.DECIMAL):
        if NUMERIC_TEXT.fullmatch(text):
            return float(text)
        return None
    if vtype is T.BOOLEAN:
        return {"true": True, "false": False}.get(text)
    return text


def _event_passes(props: Any, where: tuple[PropFilter, ...], env: Env) -> bool:
    for f in where:
        text = property_text(props, f.prop)
        for c in f.tests:
            if c.op is Op.IS_NULL:
                v: Any = text
            else:
                v = property_value(text, c.vtype)  # type: ignore[arg-type]
            if not holds(c, v, env):
                return False
    return True


# -- windows and aggregates --------------------------------------------------------------


def _in_window(ts: datetime | None, w: Window, env: Env) -> bool:
    if ts is None or ts > env.t:
        return False
    if w.within is not None:
        return ts > env.t - timedelta(seconds=w.within.seconds)
    if w.between is not None:
        lo, hi = w.between
        return lo <= ts <= hi
    return True


def _aggregate(func: AggFunc, rows: list[dict[str, Any]], value_of: Any, env: Env) -> Any:
    """The aggregate over *rows*; *value_of(row)* gives a row's number (None = missing)."""
    if func is AggFunc.COUNT:
        return len(rows)
    if func is AggFunc.DISTINCT_DAYS:
        return len({env.local_date(r["ts"]) for r in rows})
    if func is AggFunc.FIRST:
        return min((r["ts"] for r in rows), default=None)
    if func is AggFunc.LAST:
        return max((r["ts"] for r in rows), default=None)
    values = [_number(x) for x in (value_of(r) for r in rows) if x is not None]
    if func is AggFunc.SUM:
        return sum(values, Fraction(0))
    if not values:
        return None
    if func is AggFunc.AVG:
        return sum(values, Fraction(0)) / len(values)
    if func is AggFunc.MIN:
        return min(values)
    if func is AggFunc.MAX:
        return max(values)
    raise AssertionError(func)


def _agg_holds(tests: tuple[Compare, ...], value: Any, env: Env, *, no_rows: bool = False) -> bool:
    """Aggregate tests: numbers are compared exactly (Fraction), times as datetimes."""
    if no_rows and value is None and "empty_aggregate_tests_false" in env.quirks:
        return False
    for c in tests:
        v = value
        if isinstance(v, Fraction) and c.op not in (Op.IS_NULL,):
            # compare the exact aggregate with the exact literal(s)
            if not _fraction_holds(c, v, env):
                return False
            continue
        if not holds(c, v, env):
            return False
    return True


def _fraction_holds(c: Compare, v: Fraction, env: Env) -> bool:
    if c.op in _NEGATIVE:
        return not _fraction_positive(_NEGATIVE[c.op], c.value, v)
    return _fraction_positive(c.op, c.value, v)


def _fraction_positive(op: Op, value: Any, v: Fraction) -> bool:
    if op is Op.EQ:
        return v == _number(value)
    if op is Op.IN:
        return any(v == _number(o) for o in value)
    if op is Op.BETWEEN:
        return _number(value[0]) <= v <= _number(value[1])
    if op is Op.GT:
        return v > _number(value)
    if op is Op.GTE:
        return v >= _number(value)
    if op is Op.LT:
        return v < _number(value)
    if op is Op.LTE:
        return v <= _number(value)
    raise AssertionError(op)


# -- the walk ------------------------------------------------------------------------------


class _Oracle:
    def __init__(self, data: dict[str, list[dict[str, Any]]], env: Env) -> None:
        self.data = {k: list(v) for k, v in data.items()}
        self.env = env
        self.accounts = {a["account_id"]: a for a in self.data.get("accounts", [])}
        self.traits = {t["profile_id"]: t for t in self.data.get("traits", [])}

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.data.get(table, [])

    def universe(self) -> list[dict[str, Any]]:
        return [p for p in self.rows("profiles") if p.get("created_at") is None or p["created_at"] <= self.env.t]

    def matches(self, node: Any, p: dict[str, Any]) -> bool:
        return getattr(self, f"leaf_{type(node).__name__}")(node, p)

    # combinators
    def leaf_All(self, n: All, p: dict[str, Any]) -> bool:
        return all(self.matches(i, p) for i in n.items)

    def leaf_AnyOf(self, n: AnyOf, p: dict[str, Any]) -> bool:
        assert n.items
        return any(self.matches(i, p) for i in n.items)

    def leaf_Not(self, n: Not, p: dict[str, Any]) -> bool:
        return not self.matches(n.item, p)

    # profile leaves
    def leaf_Attr(self, n: Attr, p: dict[str, Any]) -> bool:
        if n.account:
            account = self.accounts.get(p.get("account_id")) if p.get("account_id") is not None else None
            v = account.get(n.name) if account else None
        else:
            v = p.get(n.name)
        return holds_all(n.tests, v, self.env)

    def leaf_Trait(self, n: Trait, p: dict[str, Any]) -> bool:
        row = self.traits.get(p["profile_id"])
        v = row.get(n.name) if row else None
        return holds_all(n.tests, v, self.env)

    def leaf_Tag(self, n: Tag, p: dict[str, Any]) -> bool:
        values = []  # the values of the profile's current assignments of the tag (None = no value)
        for row in self.rows("tag_assignments"):
            if row["profile_id"] != p["profile_id"] or row["tag"] != n.name:
                continue
            assigned, expires = row.get("assigned_at"), row.get("expires_at")
            if assigned is not None and assigned > self.env.t:
                continue
            if expires is not None and expires <= self.env.t:
                continue
            values.append(row.get("value"))
        positive = [c for c in n.tests if c.op not in _NEGATIVE and not (c.op is Op.IS_NULL and c.value)]
        negative = [c for c in n.tests if c not in positive]
        if (positive or not n.tests) and not any(holds_all(tuple(positive), v, self.env) for v in values):
            return False
        for c in negative:
            twin = replace(c, op=Op.IS_NULL, value=False) if c.op is Op.IS_NULL else replace(c, op=_NEGATIVE[c.op])
            if any(holds(twin, v, self.env) for v in values):
                return False
        return True

    def leaf_SegmentRef(self, n: SegmentRef, p: dict[str, Any]) -> bool:
        return any(r["segment"] == n.name and r["profile_id"] == p["profile_id"] for r in self.rows("segment_members"))

    def leaf_MemberOf(self, n: MemberOf, p: dict[str, Any]) -> bool:
        for r in self.rows("memberships"):
            if r["profile_id"] != p["profile_id"] or r["kind"] != n.kind:
                continue
            if n.key is not None and r["key"] != n.key:
                continue
            if r.get("since") is not None and r["since"] > self.env.t:
                continue
            return True
        return False

    def leaf_Subscribed(self, n: Subscribed, p: dict[str, Any]) -> bool:
        if n.channel == "email" and p.get("email") is None:
            return False
        if n.channel == "sms" and p.get("phone") is None:
            return False
        for r in self.rows("subscriptions"):
            if r["profile_id"] != p["profile_id"] or r["channel"] != n.channel:
                continue
            if n.topic is not None and r.get("topic") != n.topic:
                continue
            if r["status"] != "opted_in":
                continue
            if r.get("ts") is not None and r["ts"] > self.env.t:
                continue
            return True
        return False

    def leaf_Sample(self, n: Sample, p: dict[str, Any]) -> bool:
        digest = hashlib.md5(f"{p['profile_id']}:{n.salt}".encode()).hexdigest()
        return int(digest[:8], 16) / 2**32 < n.fraction

    # behaviour
    def leaf_Event(self, n: Event, p: dict[str, Any]) -> bool:
        rows = [
            e for e in self.rows("events")
            if e.get("profile_id") == p["profile_id"]
            and e["event"] in n.names
            and _in_window(e["ts"], n.window, self.env)
            and _event_passes(e.get("properties"), n.where, self.env)
        ]
        prop = n.agg.prop

        def value_of(e: dict[str, Any]) -> Any:
            return property_value(property_text(e.get("properties"), prop), T.NUMBER)

        value = _aggregate(n.agg.func, rows, value_of, self.env)
        return _agg_holds(n.agg.tests, value, self.env, no_rows=not rows)

    def _order_passes(self, o: dict[str, Any], n: Orders) -> bool:
        order_filters = [f for f in n.where if f.target == "order"]
        item_filters = [f for f in n.where if f.target == "item"]
        assert all(f.target in ("order", "item") for f in n.where)
        for f in order_filters:
            if not holds_all(f.tests, o.get(f.prop), self.env):
                return False
        if not item_filters:
            return True
        for item in self.rows("order_items"):
            if item["order_id"] != o["order_id"]:
                continue
            if all(holds_all(f.tests, item.get(f.prop), self.env) for f in item_filters):
                return True
        return False

    def leaf_Orders(self, n: Orders, p: dict[str, Any]) -> bool:
        rows = [
            o for o in self.rows("orders")
            if o["profile_id"] == p["profile_id"]
            and (not n.statuses or o.get("status") in n.statuses)
            and _in_window(o["ts"], n.window, self.env)
            and self._order_passes(o, n)
        ]
        prop = n.agg.prop or "amount"
        value = _aggregate(n.agg.func, rows, lambda o: o.get(prop), self.env)
        return _agg_holds(n.agg.tests, value, self.env, no_rows=not rows)


def members(
    tree: Any, data: dict[str, list[dict[str, Any]]], *, as_of: datetime, timezone: str,
    quirks: frozenset[str] = frozenset(),
) -> set[str]:
    """The profile ids matching the checked rule *tree* over *data* as of *as_of* in *timezone*.

    *quirks* (names from :data:`KNOWN_QUIRKS`) imitate known deviations of the back ends.
    """
    oracle = _Oracle(data, Env(as_of, timezone, quirks))
    return {p["profile_id"] for p in oracle.universe() if oracle.matches(tree, p)}
