"""Why a profile is (or is not) in a segment: the rule tree with each node's truth value.

:func:`explain` runs the single-profile evaluator (:mod:`segflow.rules.evaluate`) with
tracing on — the very code that decides membership, so explain cannot disagree with it
— and turns what it recorded into :class:`ExplainNode` objects: each node's truth
value, the values behind it (the attribute's value, the aggregate and the number of
rows it covered, the active tag values, ...) and each comparison's outcome.
:func:`render_explain` prints the tree as indented plain text::

    ✗ all → false
      ✓ attr city = 'Beijing' (in ['Beijing', 'Shanghai']) → true
      ✗ event add_to_cart in last 7d: count = 0, needs >= 1 → false

and :meth:`ExplainNode.to_dict` gives the same as JSON-ready data (API, ``--json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

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
    PropFilter,
    Sample,
    SegmentRef,
    Subscribed,
    Tag,
    Trait,
    Window,
)
from segflow.rules.evaluate import Env, Trace, days_to_anniversary, in_universe, trace
from segflow.rules.profile_data import ProfileData

__all__ = ["ExplainNode", "TestResult", "explain", "render_explain"]

_CHECK, _CROSS = "✓", "✗"


@dataclass(frozen=True, kw_only=True, slots=True)
class TestResult:
    """One comparison and its outcome (``passed`` is None when it was not decided alone,
    e.g. a valued tag with several active values)."""

    op: str
    value: Any
    text: str
    passed: bool | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "value": _jsonable(self.value), "text": self.text, "passed": self.passed, "note": self.note}


@dataclass(frozen=True, kw_only=True, slots=True)
class ExplainNode:
    """One node of the explained tree.

    ``label`` names the condition (``event add_to_cart in last 7d``), ``summary`` says
    what was seen and needed (``: count = 0, needs >= 1``), ``seen`` holds the raw
    values (``{"rows": 0, "aggregate": 0}``), ``value`` is the node's truth value.
    """

    kind: str
    path: str
    label: str
    value: bool
    summary: str = ""
    seen: dict[str, Any]
    tests: tuple[TestResult, ...] = ()
    children: tuple[ExplainNode, ...] = ()

    def line(self) -> str:
        mark = _CHECK if self.value else _CROSS
        return f"{mark} {self.label}{self.summary} → {'true' if self.value else 'false'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "value": self.value,
            "label": self.label,
            "text": self.line(),
            "seen": _jsonable(self.seen),
            "tests": [t.to_dict() for t in self.tests],
            "children": [c.to_dict() for c in self.children],
        }


def explain(tree: Condition, data: ProfileData, *, as_of: datetime, timezone: str = "UTC",
            journey_since: datetime | None = None, node_since: datetime | None = None) -> ExplainNode:
    """Explain the checked rule *tree* for the profile in *data* as of *as_of*.

    The root's ``value`` is what :func:`~segflow.rules.evaluate.evaluate` returns (with the
    same *journey_since* / *node_since* of a journey run). For a profile created after
    *as_of*, the root is a ``universe`` node (false) above the tree.
    """
    env = Env.make(as_of, timezone, journey_since=journey_since, node_since=node_since)
    root = _node(trace(tree, data, env), env)
    if in_universe(data, env):
        return root
    created = data.profile.get("created_at")
    return ExplainNode(
        kind="universe",
        path="",
        label=f"profile {data.profile_id}",
        value=False,
        summary=f": created {_fmt(created)}, after the as-of time {_fmt(env.as_of)}",
        seen={"created_at": created, "as_of": env.as_of},
        children=(root,),
    )


def render_explain(node: ExplainNode, *, indent: str = "  ") -> str:
    """The explained tree as indented plain text, one node per line."""
    lines: list[str] = []

    def walk(n: ExplainNode, depth: int) -> None:
        lines.append(indent * depth + n.line())
        for child in n.children:
            walk(child, depth + 1)

    walk(node, 0)
    return "\n".join(lines)


# -- building nodes from the evaluator's trace ---------------------------------------------


def _node(record: Trace, env: Env) -> ExplainNode:
    node = record.node
    facts = record.facts
    seen = {k: v for k, v in facts.items() if k != "tests"}
    tested = facts["value"] if "value" in facts else facts.get("aggregate")
    tests = tuple(_result(c, ok, tested, env) for c, ok in facts.get("tests", ()))
    children = tuple(_node(child, env) for child in record.children)
    label, summary = _describe(node, record, tests, env)
    kind = {All: "all", AnyOf: "any", Not: "not", SegmentRef: "segment"}.get(type(node)) or _snake(type(node).__name__)
    return ExplainNode(
        kind=kind, path=node.path, label=label, value=record.value, summary=summary, seen=seen, tests=tests, children=children
    )


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


def _result(c: Compare, passed: bool | None, value: Any, env: Env) -> TestResult:
    note = None
    if c.op is Op.ANNIVERSARY_WITHIN and value is not None:
        days = days_to_anniversary(env.local_date(value), env.today)
        note = "today" if days == 0 else f"next in {days} day{'s' if days != 1 else ''}"
    elif c.op is Op.ANNIVERSARY_MONTH and c.value == "current":
        note = str(env.today.month)
    return TestResult(op=c.op.value, value=c.value, text=_test_text(c), passed=passed, note=note)


def _tests_text(tests: tuple[TestResult, ...], *, marks: bool) -> str:
    def one(t: TestResult) -> str:
        text = t.text + (f": {t.note}" if t.note else "")
        if marks and t.passed is not None:
            text += f" {_CHECK if t.passed else _CROSS}"
        return text

    return ", ".join(one(t) for t in tests)


def _describe(node: Any, record: Trace, tests: tuple[TestResult, ...], env: Env) -> tuple[str, str]:
    facts = record.facts
    several = len(tests) > 1
    if isinstance(node, All):
        return "all", ""
    if isinstance(node, AnyOf):
        return "any", ""
    if isinstance(node, Not):
        return "not", ""
    if isinstance(node, (Attr, Trait)):
        if isinstance(node, Attr):
            label = f"attr {'account.' if node.account else ''}{node.name}"
        else:
            label = f"trait {node.name}"
        value = facts.get("value")
        seen = f" = {_fmt(value)}" if value is not None else " is missing"
        if facts.get("no_account"):
            seen += ", no account"
        return label, f"{seen} ({_tests_text(tests, marks=several)})"
    if isinstance(node, Tag):
        label = f"tag {node.name}"
        active = facts.get("active", [])
        if not node.tests:
            return label, "" if active else ": not assigned"
        if not active:
            shown = ": not assigned"
        else:
            shown = " = " + ", ".join(_fmt(v) for v in active)
        return label, f"{shown} ({_tests_text(tests, marks=several)})"
    if isinstance(node, SegmentRef):
        return f"segment {node.name}", ": member" if record.value else ": not a member"
    if isinstance(node, MemberOf):
        label = f"member_of {node.kind}" + (f" key {node.key!r}" if node.key is not None else "")
        rows = facts.get("rows", [])
        if not rows:
            return label, ": no membership"
        sinces = [r.get("since") for r in rows]
        if len(rows) == 1:
            return label, f": since {_fmt(sinces[0])}" if sinces[0] is not None else ": member (since unknown)"
        return label, f": {len(rows)} memberships"
    if isinstance(node, Subscribed):
        label = f"subscribed {node.channel}" + (f" topic {node.topic!r}" if node.topic is not None else "")
        rows, address = facts.get("rows", []), facts.get("address")
        if not rows:
            return label, ": no opted-in subscription"
        if address and not facts.get("has_address"):
            return label, f": opted in, but no {address}"
        return label, ": opted in" + (f", {address} present" if address else "")
    if isinstance(node, Sample):
        bucket = facts.get("bucket", 0.0)
        label = f"sample {node.fraction:g} (salt {node.salt!r})"
        return label, f": bucket {bucket:.6f} {'<' if record.value else '>='} {node.fraction:g}"
    if isinstance(node, Event):
        names = node.names[0] if len(node.names) == 1 else "[" + ", ".join(node.names) + "]"
        label = f"event {names}{_where_text(node.where)}{_window_text(node.window)}"
        return label, _agg_text(node.agg, facts, tests, "event", several)
    if isinstance(node, Orders):
        status = ", ".join(node.statuses) if node.statuses else "(any status)"
        label = f"orders {status}{_where_text(node.where)}{_window_text(node.window)}"
        agg = node.agg
        return label, _agg_text(agg, facts, tests, "order", several, default_prop="amount")
    return type(node).__name__, ""


def _where_text(where: tuple[PropFilter, ...]) -> str:
    if not where:
        return ""
    parts = []
    for f in where:
        name = f"item {f.prop}" if f.target == "item" else f.prop
        parts.append(f"{name} " + ", ".join(_test_text(c) for c in f.tests))
    return " where " + ", ".join(parts)


def _window_text(window: Window) -> str:
    if window.scope is not None:
        return f" since the run {'entered the journey' if window.scope == 'journey' else 'reached its node'}"
    if window.within is not None:
        return f" in last {window.within}"
    if window.between is not None:
        return f" between {_fmt(window.between[0])} and {_fmt(window.between[1])}"
    return ""


def _agg_text(
    agg: Aggregate,
    facts: dict[str, Any],
    tests: tuple[TestResult, ...],
    noun: str,
    several: bool,
    default_prop: str | None = None,
) -> str:
    rows = facts.get("rows", 0)
    value = facts.get("aggregate")
    func = agg.func
    prop = agg.prop or default_prop
    name = f"{func.value}({prop})" if func in (AggFunc.SUM, AggFunc.AVG, AggFunc.MIN, AggFunc.MAX) else func.value
    counted = f"{rows} {noun}{'' if rows == 1 else 's'}"
    if func is AggFunc.COUNT:
        shown = f"{name} = {rows}"
    elif rows == 0:
        shown = f"{name} = {_fmt(value)} (no {noun}s)"
    elif value is None:
        shown = f"{name} = missing (no {prop} values in {counted})"
    else:
        shown = f"{name} = {_fmt(value)} over {counted}"
    needs = " and ".join(
        t.text + (f": {t.note}" if t.note else "") + (f" {_CHECK if t.passed else _CROSS}" if several else "") for t in tests
    )
    return f": {shown}, needs {needs}"


# -- text -----------------------------------------------------------------------------------

_SYMBOLS = {Op.EQ: "=", Op.NE: "!=", Op.GT: ">", Op.GTE: ">=", Op.LT: "<", Op.LTE: "<="}
_WORDS = {
    Op.IN: "in",
    Op.NOT_IN: "not in",
    Op.CONTAINS: "contains",
    Op.NOT_CONTAINS: "not contains",
    Op.STARTS_WITH: "starts with",
    Op.ENDS_WITH: "ends with",
    Op.WITHIN: "within",
    Op.BEFORE: "before",
    Op.ANNIVERSARY_WITHIN: "anniversary within",
    Op.ANNIVERSARY_MONTH: "anniversary month",
}


def _test_text(c: Compare) -> str:
    if c.op in _SYMBOLS:
        return f"{_SYMBOLS[c.op]} {_fmt(c.value)}"
    if c.op is Op.BETWEEN:
        low, high = cast("tuple[Any, Any]", c.value)
        return f"between {_fmt(low)} and {_fmt(high)}"
    if c.op is Op.IS_NULL:
        return "is null" if c.value else "is not null"
    if c.op is Op.ANNIVERSARY_MONTH:
        return f"anniversary month {c.value}"
    return f"{_WORDS[c.op]} {_fmt(c.value)}"


def _fmt(value: Any) -> str:
    """A value as a reader expects it: text quoted, missing as ``missing``."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -8:  # an exact average: show it rounded
            return f"{value:.8f}…"
        return str(value)
    if isinstance(value, (datetime, date, Duration)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(_fmt(v) for v in items) + "]"
    return repr(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
