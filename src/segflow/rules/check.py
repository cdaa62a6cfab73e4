"""Checking a parsed rule against the schema: names, types, operators, cycles.

:func:`check_rule` returns a *checked* tree — every comparison carries the type of what
it compares (``vtype``) and a value converted to that type — or raises
:class:`RuleError` listing every problem with its path. Unknown event names are
warnings (a rule may be written before the first such event arrives); everything else
is an error, so no invalid or partly understood rule ever runs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from segflow.clock import parse_iso
from segflow.rules.ast import (
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
    Sample,
    SegmentRef,
    Subscribed,
    Tag,
    Trait,
    Window,
    walk,
)
from segflow.rules.errors import Problem, RuleError
from segflow.schema.kinds import ORDER_STATUSES
from segflow.schema.types import AttributeType as T

__all__ = ["CheckContext", "by_place", "check_rule", "OPERATORS_BY_TYPE"]

_ORDERING = {Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IS_NULL}
_TEXT = _ORDERING | {Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH}
_TIME = _ORDERING | {Op.WITHIN, Op.BEFORE, Op.ANNIVERSARY_WITHIN, Op.ANNIVERSARY_MONTH}

#: Which operators each type accepts.
OPERATORS_BY_TYPE: dict[T, frozenset[Op]] = {
    T.STRING: frozenset(_TEXT),
    T.INTEGER: frozenset(_ORDERING),
    T.NUMBER: frozenset(_ORDERING),
    T.DECIMAL: frozenset(_ORDERING),
    T.BOOLEAN: frozenset({Op.EQ, Op.NE, Op.IS_NULL}),
    T.DATE: frozenset(_TIME),
    T.TIMESTAMP: frozenset(_TIME),
    T.LIST: frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.IS_NULL}),
    T.JSON: frozenset({Op.IS_NULL}),
}


@dataclass
class CheckContext:
    """What a rule may refer to. Built by the workspace from the registry and the stores."""

    profile_attributes: dict[str, T]
    account_attributes: dict[str, T] = field(default_factory=dict)
    order_columns: dict[str, T] = field(default_factory=dict)
    item_columns: dict[str, T] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    traits: dict[str, T] = field(default_factory=dict)
    #: Known segments; a value is the segment's rule data (for cycle checks), or None.
    segments: dict[str, Any] = field(default_factory=dict)
    #: Event names seen in the warehouse; None skips the warning.
    events_seen: Collection[str] | None = None
    #: The segment being defined (a rule that reaches it again is a cycle).
    segment_name: str | None = None
    #: Parses a referenced segment's rule data (for cycle checks).
    parse: Callable[[Any], Condition] | None = None
    #: Checking a journey's rule: ``within: journey`` and ``within: node`` are allowed.
    journey: bool = False


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _literal_type(value: Any) -> T:
    if isinstance(value, bool):
        return T.BOOLEAN
    if isinstance(value, (int, float, Decimal)):
        return T.NUMBER
    return T.STRING


class _Checker:
    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.problems: list[Problem] = []

    def fail(self, path: str, code: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(code, path, message, severity))

    # -- values -------------------------------------------------------------
    def convert(self, value: Any, vtype: T, path: str, what: str) -> Any:
        """*value* as a *vtype* value, or a problem and None."""
        try:
            if vtype is T.STRING:
                if isinstance(value, str):
                    return value
                raise TypeError
            if vtype is T.BOOLEAN:
                if isinstance(value, bool):
                    return value
                raise TypeError
            if isinstance(value, bool):
                raise TypeError
            if vtype is T.INTEGER:
                if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
                    return int(value)
                raise TypeError
            if vtype is T.NUMBER:
                if isinstance(value, (int, float)):
                    return float(value)
                raise TypeError
            if vtype is T.DECIMAL:
                if isinstance(value, (int, float, Decimal)):
                    return Decimal(str(value))
                raise TypeError
            if vtype is T.DATE:
                if isinstance(value, datetime):
                    raise TypeError
                if isinstance(value, date):
                    return value
                if isinstance(value, str):
                    return date.fromisoformat(value.strip())
                raise TypeError
            if vtype is T.TIMESTAMP:
                if isinstance(value, datetime):
                    return value if value.tzinfo else value.replace(tzinfo=UTC)
                if isinstance(value, date):
                    return datetime(value.year, value.month, value.day, tzinfo=UTC)
                if isinstance(value, str):
                    return parse_iso(value)
                raise TypeError
            if vtype is T.LIST:
                if isinstance(value, str):
                    return value
                raise TypeError
        except (TypeError, ValueError, InvalidOperation):
            pass
        hint = " (put text in quotes)" if vtype is T.STRING else ""
        if vtype in (T.DATE, T.TIMESTAMP):
            hint = " (an ISO date such as 2026-03-01" + (" or 2026-03-01T10:00:00Z)" if vtype is T.TIMESTAMP else ")")
        self.fail(path, "wrong_value_type", f"{what} is {vtype.value}, so {value!r} does not fit{hint}")
        return None

    def compare(self, c: Compare, vtype: T, what: str) -> Compare | None:
        allowed = OPERATORS_BY_TYPE[vtype]
        if c.op not in allowed:
            ops = ", ".join(op.value for op in Op if op in allowed)
            self.fail(c.path, "unsupported_operator", f"{c.op.value} does not apply to {what} ({vtype.value}; use {ops})")
            return None
        value = c.value
        if c.op in (Op.IN, Op.NOT_IN):
            items = [self.convert(v, vtype if vtype is not T.LIST else T.STRING, f"{c.path}[{i}]", what)
                     for i, v in enumerate(value)]  # type: ignore[arg-type]
            if any(v is None for v in items):
                return None
            value = tuple(items)
        elif c.op is Op.BETWEEN:
            low, high = (self.convert(v, vtype, f"{c.path}[{i}]", what) for i, v in enumerate(value))  # type: ignore[arg-type]
            if low is None or high is None:
                return None
            if low > high:
                self.fail(c.path, "bad_value", f"between: {low!r} is greater than {high!r}")
                return None
            value = (low, high)
        elif c.op in (Op.WITHIN, Op.BEFORE, Op.ANNIVERSARY_WITHIN):
            assert isinstance(value, Duration)
            if (vtype is T.DATE or c.op is Op.ANNIVERSARY_WITHIN) and value.seconds % 86400:
                self.fail(c.path, "bad_duration", f"{value} is not whole days, and {what} is compared by calendar day")
                return None
        elif c.op in (Op.IS_NULL, Op.ANNIVERSARY_MONTH):
            pass
        elif c.op in (Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
            value = self.convert(value, T.STRING, c.path, what)
            if value is None:
                return None
        else:
            value = self.convert(value, vtype, c.path, what)
            if value is None:
                return None
        return replace(c, value=value, vtype=vtype)

    def tests(self, tests: tuple[Compare, ...], vtype: T, what: str) -> tuple[Compare, ...] | None:
        out = [self.compare(c, vtype, what) for c in tests]
        kept = tuple(c for c in out if c is not None)
        return kept if len(kept) == len(out) else None

    # -- nodes ----------------------------------------------------------------
    def node(self, n: Condition) -> Condition | None:
        method = getattr(self, f"node_{type(n).__name__}")
        return method(n)

    def node_All(self, n: All) -> Condition | None:
        items = [self.node(i) for i in n.items]
        return None if any(i is None for i in items) else replace(n, items=tuple(items))  # type: ignore[arg-type]

    def node_AnyOf(self, n: AnyOf) -> Condition | None:
        items = [self.node(i) for i in n.items]
        return None if any(i is None for i in items) else replace(n, items=tuple(items))  # type: ignore[arg-type]

    def node_Not(self, n: Not) -> Condition | None:
        item = self.node(n.item)
        return None if item is None else replace(n, item=item)

    def node_Attr(self, n: Attr) -> Condition | None:
        known = self.ctx.account_attributes if n.account else self.ctx.profile_attributes
        label = f"account.{n.name}" if n.account else n.name
        vtype = known.get(n.name)
        if vtype is None:
            where = "accounts" if n.account else "profiles"
            self.fail(n.path, "unknown_attribute", f"unknown attribute {label!r} of {where}{_suggest(n.name, known)}")
            return None
        tests = self.tests(n.tests, vtype, label)
        return None if tests is None else replace(n, tests=tests, vtype=vtype)

    def node_Tag(self, n: Tag) -> Condition | None:
        if n.name.endswith("/*"):  # a group: any tag under it
            prefix = n.name[:-1]
            if len(prefix) < 2 or not any(t.startswith(prefix) for t in self.ctx.tags):
                groups = sorted({t.rsplit("/", 1)[0] + "/*" for t in self.ctx.tags if "/" in t})
                self.fail(n.path, "unknown_tag", f"no tag in group {n.name!r}{_suggest(n.name, groups)}")
                return None
        elif n.name not in self.ctx.tags:
            self.fail(n.path, "unknown_tag", f"unknown tag {n.name!r}{_suggest(n.name, self.ctx.tags)}")
            return None
        tests = self.tests(n.tests, T.STRING, f"the value of tag {n.name}")
        return None if tests is None else replace(n, tests=tests)

    def node_Trait(self, n: Trait) -> Condition | None:
        vtype = self.ctx.traits.get(n.name)
        if vtype is None:
            self.fail(n.path, "unknown_trait", f"unknown trait {n.name!r}{_suggest(n.name, self.ctx.traits)}")
            return None
        tests = self.tests(n.tests, vtype, f"trait {n.name}")
        return None if tests is None else replace(n, tests=tests, vtype=vtype)

    def node_SegmentRef(self, n: SegmentRef) -> Condition | None:
        if n.name not in self.ctx.segments:
            self.fail(n.path, "unknown_segment", f"unknown segment {n.name!r}{_suggest(n.name, self.ctx.segments)}")
            return None
        cycle = self._cycle(n.name)
        if cycle:
            self.fail(n.path, "segment_cycle", "segments refer to each other in a cycle: " + " → ".join(cycle))
            return None
        return n

    def _cycle(self, start: str) -> list[str] | None:
        """A path of segment references from *start* back to the segment being defined."""
        if self.ctx.segment_name is None or self.ctx.parse is None:
            return None
        target = self.ctx.segment_name
        stack: list[tuple[str, list[str]]] = [(start, [target, start])]
        seen: set[str] = set()
        while stack:
            name, trail = stack.pop()
            if name == target:
                return trail
            if name in seen:
                continue
            seen.add(name)
            data = self.ctx.segments.get(name)
            if data is None:
                continue
            try:
                tree = self.ctx.parse(data)
            except RuleError:
                continue
            for node in walk(tree):
                if isinstance(node, SegmentRef):
                    stack.append((node.name, trail + [node.name]))
        return None

    def node_MemberOf(self, n: MemberOf) -> Condition | None:
        return n

    def node_Subscribed(self, n: Subscribed) -> Condition | None:
        return n

    def node_Sample(self, n: Sample) -> Condition | None:
        return n

    def _aggregate(self, agg: Aggregate, columns: dict[str, T] | None, what: str) -> Aggregate | None:
        if agg.func in (AggFunc.COUNT, AggFunc.DISTINCT_DAYS):
            vtype = T.INTEGER
        elif agg.func in (AggFunc.FIRST, AggFunc.LAST):
            vtype = T.TIMESTAMP
        elif columns is None:  # event property
            vtype = T.NUMBER
        else:
            col_type = columns.get(agg.prop or "")
            if col_type is None:
                self.fail(agg.path, "unknown_column", f"unknown order column {agg.prop!r}{_suggest(agg.prop or '', columns)}")
                return None
            if col_type not in (T.INTEGER, T.NUMBER, T.DECIMAL):
                self.fail(agg.path, "not_numeric", f"{agg.func.value} needs a numeric column; {agg.prop} is {col_type.value}")
                return None
            vtype = T.DECIMAL if col_type is T.DECIMAL else T.NUMBER
        tests = self.tests(agg.tests, vtype, f"{agg.func.value} of {what}")
        return None if tests is None else replace(agg, tests=tests)

    def _scope(self, window: Window) -> bool:
        """A journey window (``within: journey`` / ``within: node``) outside a journey is refused."""
        if window.scope is not None and not self.ctx.journey:
            self.fail(f"{window.path}.within" if window.path else "within", "journey_window",
                      f"within: {window.scope} is only allowed in a journey's rules")
            return False
        return True

    def node_Event(self, n: Event) -> Condition | None:
        scoped = self._scope(n.window)
        seen = self.ctx.events_seen
        if seen is not None:
            for name in n.names:
                if name not in seen:
                    self.fail(n.path, "unknown_event",
                              f"no event {name!r} has been loaded yet{_suggest(name, seen)}", severity="warning")
        where = []
        for f in n.where:
            tests = []
            for c in f.tests:
                if c.op in (Op.WITHIN, Op.BEFORE, Op.ANNIVERSARY_WITHIN, Op.ANNIVERSARY_MONTH):
                    self.fail(c.path, "unsupported_operator", f"{c.op.value} does not apply to event properties")
                    continue
                # Properties are untyped JSON: the literal decides how they are compared.
                first = c.value[0] if isinstance(c.value, tuple) else c.value
                vtype = T.STRING if c.op is Op.IS_NULL else _literal_type(first)
                checked = self.compare(c, vtype, f"property {f.prop}")
                if checked is not None:
                    tests.append(checked)
            where.append(replace(f, tests=tuple(tests), target="event"))
        agg = self._aggregate(n.agg, None, "the events")
        if agg is None or not scoped or any(len(w.tests) != len(f.tests) for w, f in zip(where, n.where)):
            return None
        return replace(n, where=tuple(where), agg=agg)

    def node_Orders(self, n: Orders) -> Condition | None:
        ok = self._scope(n.window)
        for status in n.statuses:
            if status not in ORDER_STATUSES:
                self.fail(f"{n.path}.status", "bad_value",
                          f"unknown order status {status!r} (statuses: {', '.join(ORDER_STATUSES)}, or any)")
                ok = False
        where = []
        for f in n.where:
            if f.prop in self.ctx.order_columns:
                target, vtype = "order", self.ctx.order_columns[f.prop]
            elif f.prop in self.ctx.item_columns:
                target, vtype = "item", self.ctx.item_columns[f.prop]
            else:
                known = {**self.ctx.order_columns, **self.ctx.item_columns}
                self.fail(f.path, "unknown_column", f"unknown order or item column {f.prop!r}{_suggest(f.prop, known)}")
                ok = False
                continue
            tests = self.tests(f.tests, vtype, f.prop)
            if tests is None:
                ok = False
                continue
            where.append(replace(f, tests=tests, target=target))
        agg = self._aggregate(n.agg, self.ctx.order_columns, "the orders")
        if not ok or agg is None:
            return None
        return replace(n, where=tuple(where), agg=agg)


def _place(path: str) -> tuple[int, ...]:
    """Where *path* is in the rule, for ordering: its list positions (``all[2].any[0].attr`` → (2, 0))."""
    return tuple(int(i) for i in _INDEX.findall(path))


_INDEX = re.compile(r"\[(\d+)\]")


def by_place(problems: Iterable[Problem]) -> list[Problem]:
    """*problems* in the order of their place in the rule (a stable sort: those of one condition
    keep the order they were found in, shape problems before name and type problems)."""
    return sorted(problems, key=lambda p: _place(p.path))


def check_rule(tree: Condition, ctx: CheckContext, *, source: str | None = None,
               parse_problems: Iterable[Problem] = ()) -> tuple[Condition, list[Problem]]:
    """Check *tree*; return (checked tree, warnings) or raise :class:`RuleError` with every error.

    *parse_problems* are the shape problems of the rule *tree* was parsed from as far as it
    went (:func:`segflow.rules.parse.parse_partial`): they are raised together with the name
    and type problems of the parts that parsed, every one ordered by its place in the rule.
    """
    checker = _Checker(ctx)
    checked = checker.node(tree)
    found = by_place([*parse_problems, *checker.problems])
    if checked is None or any(p.severity == "error" for p in found):
        raise RuleError(found, source=source)
    return checked, [p for p in checker.problems if p.severity != "error"]
