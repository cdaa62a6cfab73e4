"""The single-profile evaluator: a checked rule tree run in Python over one profile's data.

The counterpart of the SQL compiler (as sqlglot's ``executor/python.py`` is of its
generator): the same AST, the same semantics (the module docstring of
:mod:`segflow.rules.ast`), no SQL. Used for real-time decisions (journey branches and
triggers), previews, and — through :mod:`segflow.rules.explain`, which runs this very
evaluator with tracing on — "why is / isn't this customer in the segment".

    >>> evaluate(tree, data, as_of=datetime(2026, 3, 1, tzinfo=timezone.utc))  # doctest: +SKIP
    True

Points of the semantics that are easy to get wrong, all pinned by tests:

* the universe: a profile whose ``created_at`` is after T does not exist yet → False;
* strict two-valued logic: a test on a missing value is false, and ``ne``/``not_in``/
  ``not_contains`` are computed as ``not`` of their positive twin (so they match it);
* an event property is read as the test's type (:func:`property_value`), through its
  text as the SQL reads it: a number when the text is a plain decimal number, a boolean
  when it is ``true``/``false``, else the text; one that does not read so is missing;
* tests on a tag's value follow :func:`related_passes`: a profile without the tag is
  like one whose value is missing (``ne`` passes);
* aggregates over no rows: count/sum/distinct_days are 0; avg/min/max/first/last are
  missing and every test on them fails, negative ones too. Over rows whose values are
  all missing (an event property that is never a number) sum is 0 and avg/min/max
  missing, which ``ne``/``is_null`` then pass, as in SQL;
* decimals are added and compared exactly; float sums are correctly rounded (``fsum``);
* DATE ``within``/``before`` count whole days back from T's calendar date in the
  workspace zone; anniversaries and months use that zone too, as do distinct days.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segflow.clock import utc
from segflow.errors import SegflowError
from segflow.rules.ast import (
    POSITIVE_TWIN,
    AggFunc,
    Aggregate,
    All,
    AnyOf,
    Attr,
    Compare,
    Condition,
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
from segflow.rules.errors import Problem, RuleError
from segflow.rules.profile_data import ProfileData
from segflow.schema.types import AttributeType as T

__all__ = [
    "evaluate",
    "passes",
    "property_value",
    "property_text",
    "related_passes",
    "days_to_anniversary",
    "sample_bucket",
    "in_universe",
    "require_checked",
    "trace",
    "Env",
    "Trace",
]

_DAY = 86400
#: Aggregates that are 0 over no rows; the others are missing then.
_ZERO_WHEN_EMPTY = (AggFunc.COUNT, AggFunc.SUM, AggFunc.DISTINCT_DAYS)

# Which operators apply to which value types. The checker refuses the rest; a tree
# that gets here anyway raises rather than silently matching no one.
_ORDERED = frozenset({T.STRING, T.INTEGER, T.NUMBER, T.DECIMAL, T.BOOLEAN, T.DATE, T.TIMESTAMP})
_TEMPORAL = frozenset({T.DATE, T.TIMESTAMP})
_ALLOWED: dict[Op, frozenset[T]] = {
    Op.EQ: _ORDERED,
    Op.NE: _ORDERED,
    Op.IN: _ORDERED,
    Op.NOT_IN: _ORDERED,
    Op.GT: _ORDERED,
    Op.GTE: _ORDERED,
    Op.LT: _ORDERED,
    Op.LTE: _ORDERED,
    Op.BETWEEN: _ORDERED,
    Op.CONTAINS: frozenset({T.STRING, T.LIST}),
    Op.NOT_CONTAINS: frozenset({T.STRING, T.LIST}),
    Op.STARTS_WITH: frozenset({T.STRING}),
    Op.ENDS_WITH: frozenset({T.STRING}),
    Op.IS_NULL: frozenset(T),
    Op.WITHIN: _TEMPORAL,
    Op.BEFORE: _TEMPORAL,
    Op.ANNIVERSARY_WITHIN: _TEMPORAL,
    Op.ANNIVERSARY_MONTH: _TEMPORAL,
}


@dataclass(frozen=True, slots=True)
class Env:
    """The evaluation context: T, the workspace zone and T's calendar date in it."""

    as_of: datetime
    zone: ZoneInfo
    today: date
    #: A journey run's entry and the time it reached its node (``within: journey`` / ``within: node``).
    journey_since: datetime | None = None
    node_since: datetime | None = None

    @classmethod
    def make(cls, as_of: datetime, timezone: str, *, journey_since: datetime | None = None,
             node_since: datetime | None = None) -> Env:
        as_of = utc(as_of)
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SegflowError(
                f"unknown time zone {timezone!r} (use an IANA name such as Asia/Shanghai)", code="bad_timezone"
            ) from None
        return cls(as_of=as_of, zone=zone, today=as_of.astimezone(zone).date(),
                   journey_since=None if journey_since is None else utc(journey_since),
                   node_since=None if node_since is None else utc(node_since))

    def local_date(self, value: date) -> date:
        """A timestamp's calendar date in the workspace zone (a date is its own)."""
        return value.astimezone(self.zone).date() if isinstance(value, datetime) else value


# -- comparisons ---------------------------------------------------------------


def _whole_days(d: Duration, path: str) -> int:
    if d.seconds % _DAY:
        raise RuleError([Problem("bad_duration", path, f"{d} is not a whole number of days, which a date needs")])
    return d.seconds // _DAY


def _anniversary(v: date, year: int) -> date:
    if v.month == 2 and v.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, v.month, v.day)


def days_to_anniversary(v: date, today: date) -> int:
    """Days from *today* to *v*'s next yearly anniversary on or after it (today → 0).

    A Feb 29 date has its anniversary on Feb 28 in years without one.
    """
    nxt = _anniversary(v, today.year)
    if nxt < today:
        nxt = _anniversary(v, today.year + 1)
    return (nxt - today).days


def _positive(op: Op, c: Compare, v: Any, env: Env) -> bool:
    if op is Op.IS_NULL:
        return (v is None) is bool(c.value)
    if v is None:
        return False
    x = c.value
    if op is Op.EQ:
        return bool(v == x)
    if op is Op.IN:
        return v in x  # type: ignore[operator]
    if op is Op.GT:
        return bool(v > x)
    if op is Op.GTE:
        return bool(v >= x)
    if op is Op.LT:
        return bool(v < x)
    if op is Op.LTE:
        return bool(v <= x)
    if op is Op.BETWEEN:
        low, high = cast("tuple[Any, Any]", x)
        return bool(low <= v <= high)
    if op is Op.CONTAINS:
        return x in v
    if op is Op.STARTS_WITH:
        return bool(v.startswith(x))
    if op is Op.ENDS_WITH:
        return bool(v.endswith(x))
    if op is Op.WITHIN or op is Op.BEFORE:
        assert isinstance(x, Duration)
        if c.vtype is T.DATE:
            low = env.today - timedelta(days=_whole_days(x, c.path))
            return low < v <= env.today if op is Op.WITHIN else v < low
        start = env.as_of - timedelta(seconds=x.seconds)
        return start < v <= env.as_of if op is Op.WITHIN else v < start
    if op is Op.ANNIVERSARY_WITHIN:
        assert isinstance(x, Duration)
        return days_to_anniversary(env.local_date(v), env.today) <= _whole_days(x, c.path)
    if op is Op.ANNIVERSARY_MONTH:
        month = env.today.month if x == "current" else x
        return env.local_date(v).month == month
    raise AssertionError(op)  # every Op is handled above or is a negative twin


def passes(c: Compare, v: Any, env: Env) -> bool:
    """Whether value *v* (None: missing) passes the checked comparison *c* as of ``env``.

    Negative operators are exactly ``not`` their positive twin, so they pass on missing.
    """
    twin = POSITIVE_TWIN.get(c.op)
    if twin is not None:
        return not _positive(twin, c, v, env)
    return _positive(c.op, c, v, env)


def _float_text(x: float) -> str:
    """A JSON number's text as the warehouse reads it (DuckDB's ``json_extract_string``):
    shortest round-trip digits, plain notation for exponents -6..20 with ``.0`` on whole
    numbers, else ``1.5e300`` / ``1e-7``."""
    if not math.isfinite(x):
        return repr(x)
    d = Decimal(repr(x))
    sign, digits, exponent = d.as_tuple()
    e = len(digits) + int(exponent) - 1
    if -7 < e < 21:
        text = format(d, "f")
        return text if "." in text else text + ".0"
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return ("-" if sign else "") + f"{body}e{e}"


def property_text(raw: Any) -> str | None:
    """An event property as text, as the SQL back ends read it (``->>``): a string as it is,
    ``true``/``false``, a number's JSON text, an object or array as compact JSON; JSON
    null (or no such property) is missing."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return _float_text(raw)
    if isinstance(raw, Decimal):
        return _float_text(float(raw))
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


@cache
def _numeric_text() -> re.Pattern[str]:
    # One definition for every back end; imported late because it pulls in sqlglot.
    from segflow.rules.dialects import NUMERIC_TEXT

    return re.compile(NUMERIC_TEXT)


def property_value(raw: Any, vtype: T | None) -> Any:
    """An event property read as the type of the value it is compared with (*vtype*).

    Its text (:func:`property_text`) is a number when it is a plain decimal number
    (``NUMERIC_TEXT`` of :mod:`segflow.rules.dialects`: ``12``, ``"12.5"``, ``1e3``; not
    ``" 12"`` or ``"inf"``), a boolean when it is ``true`` or ``false`` (so the string
    ``"true"`` is true too), else text; a property that does not read as the type is missing.
    """
    text = property_text(raw)
    if text is None:
        return None
    if vtype is T.NUMBER:
        return float(text) if _numeric_text().fullmatch(text) else None
    if vtype is T.BOOLEAN:
        return {"true": True, "false": False}.get(text)
    return text


def _negative(c: Compare) -> bool:
    """Tests that a missing value passes: ne, not_in, not_contains, is_null: true."""
    return c.op in POSITIVE_TWIN or (c.op is Op.IS_NULL and bool(c.value))


def related_passes(tests: tuple[Compare, ...], values: list[Any], env: Env) -> bool:
    """Tests on the values of several rows (the active assignments of one tag).

    The positive tests hold together on one row; each negative test holds on every row
    (it is the complement of "some row passes the twin"). So no row behaves exactly
    like one row with a missing value, and ``{tag: tier, ne: gold}`` matches profiles
    without the tag. No tests at all: some row exists.
    """
    positives = [c for c in tests if not _negative(c)]
    ok = True
    if positives or not tests:
        ok = any(all(passes(c, v, env) for c in positives) for v in values)
    return ok and all(passes(c, v, env) for c in tests if _negative(c) for v in values)


# -- aggregates -----------------------------------------------------------------


def _sum(values: list[Any]) -> Any:
    if any(isinstance(v, float) for v in values):
        return math.fsum(values)
    if any(isinstance(v, Decimal) for v in values):
        with localcontext() as ctx:
            ctx.prec = 60
            return sum(values, Decimal(0))
    return sum(values)


def _avg(values: list[Any]) -> Any:
    if any(isinstance(v, float) for v in values):
        return math.fsum(values) / len(values)
    if any(isinstance(v, Decimal) for v in values):
        # 60 digits: a quotient this precise cannot cross a value of at most 18 digits.
        with localcontext() as ctx:
            ctx.prec = 60
            return sum(values, Decimal(0)) / len(values)
    return sum(values) / len(values)


def sample_bucket(profile_id: str, salt: str) -> float:
    """The profile's stable position in [0, 1): ``int(md5(f"{id}:{salt}")[:8], 16) / 2**32``."""
    digest = hashlib.md5(f"{profile_id}:{salt}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def in_universe(data: ProfileData, env: Env) -> bool:
    """A profile exists at T unless its ``created_at`` is after T (missing counts as existing)."""
    created = data.profile.get("created_at")
    return created is None or created <= env.as_of


# -- the evaluator ----------------------------------------------------------------


@dataclass(slots=True)
class Trace:
    """What the evaluator saw at one node (recorded only when tracing, for explain)."""

    node: Any
    value: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    children: list[Trace] = field(default_factory=list)


class _Evaluator:
    def __init__(self, data: ProfileData, env: Env, *, trace: bool = False) -> None:
        self.data = data
        self.env = env
        self.tracing = trace
        self.current = Trace(node=None)

    def visit(self, node: Condition) -> bool:
        method = _DISPATCH.get(type(node))
        if method is None:
            raise RuleError([Problem("unsupported_condition", node.path, f"cannot evaluate {type(node).__name__}")])
        if not self.tracing:
            return method(self, node)
        parent, self.current = self.current, Trace(node=node)
        try:
            self.current.value = method(self, node)
        finally:
            record, self.current = self.current, parent
        parent.children.append(record)
        return record.value

    def note(self, **facts: Any) -> None:
        if self.tracing:
            self.current.facts.update(facts)

    def tests(self, tests: tuple[Compare, ...], value: Any) -> bool:
        if not self.tracing:
            return all(passes(c, value, self.env) for c in tests)
        results = [(c, passes(c, value, self.env)) for c in tests]
        self.note(tests=results)
        return all(ok for _, ok in results)

    # -- combinators --
    def all_(self, node: All) -> bool:
        if self.tracing:  # visit every child so that explain shows them all
            return all([self.visit(item) for item in node.items])
        return all(self.visit(item) for item in node.items)

    def any_(self, node: AnyOf) -> bool:
        if self.tracing:
            return any([self.visit(item) for item in node.items])
        return any(self.visit(item) for item in node.items)

    def not_(self, node: Not) -> bool:
        return not self.visit(node.item)

    # -- profile leaves --
    def attr(self, node: Attr) -> bool:
        if node.account:
            row = self.data.account
            if row is None:
                self.note(no_account=True)
            value = None if row is None else row.get(node.name)
        else:
            value = self.data.profile.get(node.name)
        self.note(value=value)
        return self.tests(node.tests, value)

    def trait(self, node: Trait) -> bool:
        value = self.data.traits.get(node.name)
        self.note(value=value)
        return self.tests(node.tests, value)

    def tag(self, node: Tag) -> bool:
        at = self.env.as_of
        group = node.name[:-1] if node.name.endswith("/*") else None  # group/* matches every tag under it
        active = [
            row
            for row in self.data.tags
            if (row.get("tag") == node.name or (group is not None and str(row.get("tag") or "").startswith(group)))
            and (row.get("assigned_at") is None or row["assigned_at"] <= at)
            and (row.get("expires_at") is None or row["expires_at"] > at)
        ]
        values = [row.get("value") for row in active]
        value = related_passes(node.tests, values, self.env)
        if self.tracing:
            # Per-test outcomes mean something for at most one active value.
            tested = [(c, passes(c, values[0] if values else None, self.env)) for c in node.tests]
            self.note(active=values, tests=tested if len(values) <= 1 else [(c, None) for c in node.tests])
        return value

    def segment(self, node: SegmentRef) -> bool:
        return node.name in self.data.segments

    def member_of(self, node: MemberOf) -> bool:
        at = self.env.as_of
        rows = [
            row
            for row in self.data.memberships
            if row.get("kind") == node.kind
            and (node.key is None or row.get("key") == node.key)
            and (row.get("since") is None or row["since"] <= at)
        ]
        self.note(rows=rows)
        return bool(rows)

    def subscribed(self, node: Subscribed) -> bool:
        at = self.env.as_of
        rows = [
            row
            for row in self.data.subscriptions
            if row.get("channel") == node.channel
            and (node.topic is None or row.get("topic") == node.topic)
            and row.get("status") == "opted_in"
            and (row.get("ts") is None or row["ts"] <= at)
        ]
        address = {"email": "email", "sms": "phone"}.get(node.channel)
        has_address = address is None or self.data.profile.get(address) is not None
        self.note(rows=rows, address=address, has_address=has_address)
        return bool(rows) and has_address

    def sample(self, node: Sample) -> bool:
        bucket = sample_bucket(self.data.profile_id, node.salt)
        self.note(bucket=bucket)
        return bucket < node.fraction

    # -- behaviour --
    def _in_window(self, ts: datetime | None, window: Window) -> bool:
        at = self.env.as_of
        if ts is None or ts > at:
            return False
        if window.scope is not None:
            since = self.env.journey_since if window.scope == "journey" else self.env.node_since
            if since is None:
                raise RuleError([Problem("journey_window", window.path,
                                         f"within: {window.scope} needs the run's {window.scope} time")])
            return ts >= since
        if window.within is not None:
            return ts > at - timedelta(seconds=window.within.seconds)
        if window.between is not None:
            return window.between[0] <= ts <= window.between[1]
        return True

    def _aggregate(self, agg: Aggregate, rows: list[dict[str, Any]], read: Callable[[dict[str, Any]], Any]) -> bool:
        func = agg.func
        value: Any
        if not rows and func not in _ZERO_WHEN_EMPTY:
            # avg/min/max/first/last of nothing: missing, and every test on it fails,
            # the negative ones too (spec: "any comparison on them is false").
            self.note(rows=0, aggregate=None, empty=True, tests=[(c, False) for c in agg.tests])
            return False
        if func is AggFunc.COUNT:
            value = len(rows)
        elif func is AggFunc.DISTINCT_DAYS:
            value = len({self.env.local_date(row["ts"]) for row in rows})
        elif func is AggFunc.FIRST:
            value = min((row["ts"] for row in rows), default=None)
        elif func is AggFunc.LAST:
            value = max((row["ts"] for row in rows), default=None)
        else:
            values = [v for v in map(read, rows) if v is not None]
            if func is AggFunc.SUM:
                value = _sum(values)
            elif not values:
                value = None
            elif func is AggFunc.AVG:
                value = _avg(values)
            elif func is AggFunc.MIN:
                value = min(values)
            else:
                value = max(values)
            self.note(values=len(values))
        self.note(rows=len(rows), aggregate=value)
        return self.tests(agg.tests, value)

    def event(self, node: Event) -> bool:
        names = node.names
        rows = [
            row
            for row in self.data.events
            if row.get("event") in names
            and self._in_window(row.get("ts"), node.window)
            and _props_pass(node.where, row.get("properties") or {}, self.env)
        ]
        prop = node.agg.prop

        def read(row: dict[str, Any]) -> Any:
            return property_value((row.get("properties") or {}).get(prop), T.NUMBER)

        return self._aggregate(node.agg, rows, read)

    def orders(self, node: Orders) -> bool:
        statuses = node.statuses
        order_filters = tuple(f for f in node.where if f.target == "order")
        item_filters = tuple(f for f in node.where if f.target == "item")
        rows = [
            row
            for row in self.data.orders
            if (not statuses or row.get("status") in statuses)
            and self._in_window(row.get("ts"), node.window)
            and _columns_pass(order_filters, row, self.env)
            and (not item_filters or any(_columns_pass(item_filters, item, self.env) for item in row.get("items") or ()))
        ]
        prop = node.agg.prop or "amount"
        return self._aggregate(node.agg, rows, lambda row: row.get(prop))


_DISPATCH: dict[type, Callable[[_Evaluator, Any], bool]] = {
    All: _Evaluator.all_,
    AnyOf: _Evaluator.any_,
    Not: _Evaluator.not_,
    Attr: _Evaluator.attr,
    Trait: _Evaluator.trait,
    Tag: _Evaluator.tag,
    SegmentRef: _Evaluator.segment,
    MemberOf: _Evaluator.member_of,
    Subscribed: _Evaluator.subscribed,
    Sample: _Evaluator.sample,
    Event: _Evaluator.event,
    Orders: _Evaluator.orders,
}


def _props_pass(filters: tuple[PropFilter, ...], properties: dict[str, Any], env: Env) -> bool:
    for f in filters:
        raw = properties.get(f.prop)
        for c in f.tests:
            if not passes(c, property_value(raw, c.vtype), env):
                return False
    return True


def _columns_pass(filters: Iterable[PropFilter], row: dict[str, Any], env: Env) -> bool:
    return all(passes(c, row.get(f.prop), env) for f in filters for c in f.tests)


# -- checked trees only ------------------------------------------------------------------


def _compares(node: Condition) -> Iterable[Compare]:
    if isinstance(node, (All, AnyOf)):
        for item in node.items:
            yield from _compares(item)
    elif isinstance(node, Not):
        yield from _compares(node.item)
    elif isinstance(node, (Attr, Trait, Tag)):
        yield from node.tests
    elif isinstance(node, (Event, Orders)):
        for f in node.where:
            yield from f.tests
        yield from node.agg.tests


def require_checked(tree: Condition) -> None:
    """Raise unless every comparison of *tree* has a type the operator applies to."""
    problems = []
    for c in _compares(tree):
        if c.vtype is None:
            problems.append(Problem("unchecked_rule", c.path, "the rule was not checked (run check_rule first)"))
        elif c.vtype not in _ALLOWED[c.op]:
            problems.append(Problem("bad_operator", c.path, f"{c.op.value} does not apply to a {c.vtype.value} value"))
    if problems:
        raise RuleError(problems)


def evaluate(tree: Condition, data: ProfileData, *, as_of: datetime, timezone: str = "UTC",
             journey_since: datetime | None = None, node_since: datetime | None = None) -> bool:
    """Whether the profile in *data* matches the checked rule *tree* as of *as_of*.

    *timezone* is the workspace zone (calendar dates, anniversaries, distinct days);
    *journey_since* / *node_since* are a journey run's entry and the time it reached its node,
    which ``within: journey`` / ``within: node`` count from (required by such a rule).
    A profile created after *as_of* matches nothing. Raises :class:`RuleError` for a
    tree that :func:`segflow.rules.check.check_rule` did not produce.
    """
    require_checked(tree)
    env = Env.make(as_of, timezone, journey_since=journey_since, node_since=node_since)
    if not in_universe(data, env):
        return False
    return _Evaluator(data, env).visit(tree)


def trace(tree: Condition, data: ProfileData, env: Env) -> Trace:
    """Evaluate with tracing on: the root's :class:`Trace` (every child visited)."""
    require_checked(tree)
    evaluator = _Evaluator(data, env, trace=True)
    evaluator.visit(tree)
    return evaluator.current.children[0]
