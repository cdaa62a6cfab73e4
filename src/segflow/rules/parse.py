"""YAML/JSON rule data → AST (:mod:`segflow.rules.ast`), collecting every problem.

The parser checks shape only (keys, operators, value forms, durations); names and types
are the checker's job. All problems are gathered and raised together as one
:class:`RuleError`, each with its path, so a user fixes a rule in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
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
    PropFilter,
    Sample,
    SegmentRef,
    Subscribed,
    Tag,
    Trait,
    Window,
)
from segflow.rules.errors import Problem, RuleError

__all__ = ["parse_rule", "parse_partial", "parse_duration", "load_rule_text"]

_DURATION = re.compile(r"^([1-9][0-9]{0,6})(min|h|d|w)$")
_OPS = {op.value: op for op in Op}
_LEAF_KEYS = ("attr", "tag", "trait", "segment", "member_of", "subscribed", "sample", "event", "orders")
_AGGS = {
    "count": AggFunc.COUNT,
    "sum": AggFunc.SUM,
    "total": AggFunc.SUM,
    "avg": AggFunc.AVG,
    "min": AggFunc.MIN,
    "max": AggFunc.MAX,
    "distinct_days": AggFunc.DISTINCT_DAYS,
    "first": AggFunc.FIRST,
    "last": AggFunc.LAST,
}
_EVENT_AGGS = ("count", "sum", "avg", "min", "max", "distinct_days", "first", "last")
_ORDER_AGGS = ("count", "total", "sum", "avg", "min", "max", "first", "last")
_WINDOW_KEYS = ("within", "between")
#: ``within: journey`` / ``within: node``: windows of a journey's run (checked: journeys only).
JOURNEY_SCOPES = ("journey", "node")


def parse_duration(text: Any) -> Duration | None:
    """``"7d"`` → Duration(7, "d"); None when *text* is not a duration."""
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text.strip())
    return Duration(amount=int(m.group(1)), unit=m.group(2)) if m else None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _iso(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if hasattr(value, "isoformat") and not isinstance(value, str):  # a YAML date
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return parse_iso(value)
        except ValueError:
            return None
    return None


class _Parser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(code, path, message))

    # -- conditions -------------------------------------------------------
    def condition(self, data: Any, path: str) -> Condition | None:
        if not isinstance(data, dict):
            self.fail(path, "not_a_condition", f"expected a condition (a mapping), got {_kind(data)}")
            return None
        if not data:
            self.fail(path, "empty_condition", "empty condition: use all/any/not or a leaf such as attr or event")
            return None
        heads = [k for k in ("all", "any", "not", *_LEAF_KEYS) if k in data]
        if len(heads) != 1:
            if not heads:
                self.fail(path, "unknown_condition",
                          f"unknown condition with keys {sorted(map(str, data))}: expected one of all, any, not, "
                          + ", ".join(_LEAF_KEYS))
            else:
                self.fail(path, "ambiguous_condition", f"one condition per mapping, found {', '.join(heads)}")
            return None
        head = heads[0]
        if head in ("all", "any"):
            self._only(data, {head}, path)
            items = data[head]
            if not isinstance(items, list):
                self.fail(_join(path, head), "not_a_list", f"{head} takes a list of conditions")
                return None
            if head == "any" and not items:
                self.fail(_join(path, head), "empty_any", "an empty any matches no one; remove it or add conditions")
                return None
            parsed = [self.condition(item, _join(_join(path, head), i)) for i, item in enumerate(items)]
            cls = All if head == "all" else AnyOf
            return cls(path=_join(path, head), items=tuple(p for p in parsed if p is not None))
        if head == "not":
            self._only(data, {"not"}, path)
            inner = self.condition(data["not"], _join(path, "not"))
            return Not(path=_join(path, "not"), item=inner) if inner is not None else None
        return getattr(self, f"leaf_{head}")(data, path)

    def _only(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(_join(path, str(key)), "unknown_key",
                          f"unknown key {key!r} here (allowed: {', '.join(sorted(allowed))})")

    # -- comparisons ------------------------------------------------------
    def tests(self, data: dict[str, Any], path: str, *, skip: set[str], required: bool = True) -> tuple[Compare, ...]:
        out = []
        for key, value in data.items():
            if key in skip:
                continue
            op = _OPS.get(str(key))
            here = _join(path, str(key))
            if op is None:
                self.fail(here, "unknown_operator", f"unknown operator {key!r} (operators: {', '.join(_OPS)})")
                continue
            compare = self.compare(op, value, here)
            if compare is not None:
                out.append(compare)
        if required and not out and not any(k not in skip for k in data):
            self.fail(path, "missing_operator", "no comparison given (e.g. eq: value, gte: 10, within: 7d)")
        return tuple(out)

    def compare(self, op: Op, value: Any, path: str) -> Compare | None:
        if op in (Op.IN, Op.NOT_IN):
            if not isinstance(value, list) or not value:
                self.fail(path, "bad_value", f"{op.value} takes a non-empty list")
                return None
            if any(isinstance(v, (dict, list)) or v is None for v in value):
                self.fail(path, "bad_value", f"{op.value} takes a list of plain values")
                return None
            return Compare(path=path, op=op, value=tuple(value))
        if op is Op.BETWEEN:
            if not isinstance(value, list) or len(value) != 2 or any(isinstance(v, (dict, list)) or v is None for v in value):
                self.fail(path, "bad_value", "between takes a list of two values [low, high]")
                return None
            return Compare(path=path, op=op, value=(value[0], value[1]))
        if op is Op.IS_NULL:
            if not isinstance(value, bool):
                self.fail(path, "bad_value", "is_null takes true or false")
                return None
            return Compare(path=path, op=op, value=value)
        if op in (Op.WITHIN, Op.BEFORE, Op.ANNIVERSARY_WITHIN):
            duration = parse_duration(value)
            if duration is None:
                self.fail(path, "bad_duration", f"{value!r} is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)")
                return None
            return Compare(path=path, op=op, value=duration)
        if op is Op.ANNIVERSARY_MONTH:
            if value == "current" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12):
                return Compare(path=path, op=op, value=value)
            self.fail(path, "bad_value", "anniversary_month takes current or a month number 1..12")
            return None
        if isinstance(value, (dict, list)) or value is None:
            self.fail(path, "bad_value", f"{op.value} takes one plain value, got {_kind(value)}")
            return None
        if op in (Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH) and isinstance(value, bool):
            self.fail(path, "bad_value", f"{op.value} takes text")
            return None
        return Compare(path=path, op=op, value=value)

    # -- profile leaves ----------------------------------------------------
    def _name(self, data: dict[str, Any], key: str, path: str) -> str | None:
        name = data[key]
        if not isinstance(name, str) or not name.strip():
            self.fail(path, "bad_name", f"{key} takes a name")
            return None
        return unicodedata.normalize("NFC", name.strip())  # one name however it was typed (segflow.names)

    def leaf_attr(self, data: dict[str, Any], base: str) -> Attr | None:
        path = _join(base, "attr")
        name = self._name(data, "attr", path)
        tests = self.tests(data, base, skip={"attr"})
        if name is None:
            return None
        account = name.startswith("account.")
        return Attr(path=path, name=name.removeprefix("account.") if account else name, account=account, tests=tests)

    def leaf_tag(self, data: dict[str, Any], base: str) -> Tag | None:
        path = _join(base, "tag")
        name = self._name(data, "tag", path)
        tests = self.tests(data, base, skip={"tag"}, required=False)
        return Tag(path=path, name=name, tests=tests) if name else None

    def leaf_trait(self, data: dict[str, Any], base: str) -> Trait | None:
        path = _join(base, "trait")
        name = self._name(data, "trait", path)
        tests = self.tests(data, base, skip={"trait"})
        return Trait(path=path, name=name, tests=tests) if name else None

    def leaf_segment(self, data: dict[str, Any], base: str) -> SegmentRef | None:
        path = _join(base, "segment")
        self._only(data, {"segment"}, base)
        name = self._name(data, "segment", path)
        return SegmentRef(path=path, name=name) if name else None

    def leaf_member_of(self, data: dict[str, Any], base: str) -> MemberOf | None:
        path = _join(base, "member_of")
        self._only(data, {"member_of"}, base)
        spec = data["member_of"]
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
            self.fail(path, "bad_value", "member_of takes {kind: K} or {kind: K, key: KEY}")
            return None
        self._only(spec, {"kind", "key"}, path)
        key = spec.get("key")
        if key is not None and not isinstance(key, (str, int)):
            self.fail(_join(path, "key"), "bad_value", "key takes a text value")
            return None
        return MemberOf(path=path, kind=spec["kind"].strip().lower(), key=None if key is None else str(key))

    def leaf_subscribed(self, data: dict[str, Any], base: str) -> Subscribed | None:
        path = _join(base, "subscribed")
        self._only(data, {"subscribed"}, base)
        spec = data["subscribed"]
        if isinstance(spec, str):
            spec = {"channel": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("channel"), str):
            self.fail(path, "bad_value", "subscribed takes a channel (email, sms, push, wechat) or {channel, topic}")
            return None
        self._only(spec, {"channel", "topic"}, path)
        topic = spec.get("topic")
        return Subscribed(path=path, channel=spec["channel"].strip().lower(), topic=None if topic is None else str(topic))

    def leaf_sample(self, data: dict[str, Any], base: str) -> Sample | None:
        path = _join(base, "sample")
        self._only(data, {"sample", "salt"}, base)
        fraction, salt = data["sample"], data.get("salt")
        ok = True
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            self.fail(path, "bad_value", "sample takes a fraction in (0, 1], e.g. 0.1 for 10 %")
            ok = False
        if not isinstance(salt, str) or not salt:
            self.fail(_join(base, "salt"), "missing_salt", "sample needs a salt (any text, e.g. the test's name)")
            ok = False
        return Sample(path=path, fraction=float(fraction), salt=str(salt)) if ok else None

    # -- behaviour ----------------------------------------------------------
    def window(self, data: dict[str, Any], path: str) -> Window:
        within = between = None
        if "within" in data and "between" in data:
            self.fail(_join(path, "between"), "ambiguous_window", "give within or between, not both")
        if "within" in data and data["within"] in JOURNEY_SCOPES:
            return Window(path=path, scope=str(data["within"]))
        if "within" in data:
            within = parse_duration(data["within"])
            if within is None:
                self.fail(_join(path, "within"), "bad_duration",
                          f"{data['within']!r} is not a duration (an integer and min, h, d or w: 90min, 12h, 7d, 2w)")
        elif "between" in data:
            raw = data["between"]
            start, end = (_iso(raw[0]), _iso(raw[1])) if isinstance(raw, list) and len(raw) == 2 else (None, None)
            if start is None or end is None:
                self.fail(_join(path, "between"), "bad_value", "between takes [ISO start, ISO end], e.g. [2026-01-01, 2026-01-31T23:59:59]")
            elif start > end:
                self.fail(_join(path, "between"), "bad_value", "between: the start is after the end")
            else:
                between = (start, end)
        return Window(path=path, within=within, between=between)

    def where(self, data: Any, path: str, target: str) -> tuple[PropFilter, ...]:
        if data is None:
            return ()
        if not isinstance(data, dict) or not data:
            self.fail(path, "bad_where", "where takes a mapping of property: value or property: {operator: value}")
            return ()
        out = []
        for prop, spec in data.items():
            here = _join(path, str(prop))
            if isinstance(spec, dict):
                tests = self.tests(spec, here, skip=set())
            elif isinstance(spec, list):
                compare = self.compare(Op.IN, spec, here)
                tests = (compare,) if compare else ()
            else:
                compare = self.compare(Op.EQ, spec, here)
                tests = (compare,) if compare else ()
            if tests:
                out.append(PropFilter(path=here, prop=str(prop), tests=tests, target=target))
        return tuple(out)

    def aggregate(self, data: dict[str, Any], path: str, allowed: tuple[str, ...], default_prop: str | None) -> Aggregate:
        present = [k for k in allowed if k in data]
        if len(present) > 1:
            self.fail(_join(path, present[1]), "two_aggregates", f"one aggregate per condition, found {', '.join(present)}")
        if not present:
            return Aggregate(path=path, func=AggFunc.COUNT, tests=(Compare(path=path, op=Op.GTE, value=1),))
        key = present[0]
        here = _join(path, key)
        spec = data[key]
        func = _AGGS[key]
        if not isinstance(spec, dict) or not spec:
            self.fail(here, "bad_aggregate", f"{key} takes comparisons, e.g. {key}: {{gte: 1}}")
            return Aggregate(path=here, func=func, tests=())
        prop = spec.get("prop")
        if func in (AggFunc.SUM, AggFunc.AVG, AggFunc.MIN, AggFunc.MAX):
            prop = prop if prop is not None else default_prop
            if not isinstance(prop, str) or not prop:
                self.fail(here, "missing_prop", f"{key} needs prop: the property to aggregate, e.g. {key}: {{prop: price, gte: 100}}")
        elif "prop" in spec:
            self.fail(_join(here, "prop"), "unexpected_prop", f"{key} does not take prop")
        tests = self.tests(spec, here, skip={"prop"})
        return Aggregate(path=here, func=func, prop=prop if isinstance(prop, str) else None, tests=tests)

    def leaf_event(self, data: dict[str, Any], path: str) -> Event | None:
        here = _join(path, "event")
        self._only(data, {"event", "where", *_WINDOW_KEYS, *_EVENT_AGGS}, path)
        raw = data["event"]
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
            self.fail(here, "bad_name", "event takes an event name or a list of names")
            return None
        window = self.window(data, path)
        where = self.where(data.get("where"), _join(path, "where"), "event")
        agg = self.aggregate(data, path, _EVENT_AGGS, None)
        return Event(path=here, names=tuple(n.strip() for n in names), where=where, window=window, agg=agg)

    def leaf_orders(self, data: dict[str, Any], base: str) -> Orders | None:
        path = _join(base, "orders")
        self._only(data, {"orders"}, base)
        spec = data["orders"]
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            self.fail(path, "bad_value", "orders takes a mapping: {within: 90d, count: {gte: 2}}")
            return None
        self._only(spec, {"status", "where", *_WINDOW_KEYS, *_ORDER_AGGS}, path)
        status = spec.get("status", ["paid"])
        if status == "any":
            statuses: tuple[str, ...] = ()
        else:
            listed = [status] if isinstance(status, str) else status
            if not isinstance(listed, list) or not listed or not all(isinstance(s, str) for s in listed):
                self.fail(_join(path, "status"), "bad_value", "status takes a status, a list of statuses, or any")
                listed = ["paid"]
            statuses = tuple(s.strip().lower() for s in listed)
        window = self.window(spec, path)
        where = self.where(spec.get("where"), _join(path, "where"), "order")
        agg = self.aggregate(spec, path, _ORDER_AGGS, "amount")
        return Orders(path=path, statuses=statuses, where=where, window=window, agg=agg)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def parse_rule(data: Any, *, source: str | None = None) -> Condition:
    """Parse rule *data* (already loaded from YAML/JSON) into an AST.

    Raises :class:`RuleError` listing every problem, each with its path.

        >>> parse_rule({"all": [{"attr": "city", "eq": "Beijing"}]}).items[0].name
        'city'
    """
    tree, problems = parse_partial(data)
    if problems or tree is None:
        raise RuleError(problems or [Problem("empty_condition", "", "no rule")], source=source)
    return tree


def parse_partial(data: Any) -> tuple[Condition | None, list[Problem]]:
    """Rule *data* parsed as far as it goes: the tree of the parts that parsed (a part with a
    problem is left out, or kept without what was wrong in it) and every shape problem.

    :func:`segflow.rules.project.check_in` checks that tree too, so the name and type problems
    of the parts that parsed are reported in the same run as the shape problems.
    """
    parser = _Parser()
    tree = parser.condition(data, "")
    return tree, list(parser.problems)


def load_rule_text(text: str | bytes, *, source: str | None = None) -> Any:
    """YAML or JSON text → data (JSON is YAML). A rule file may wrap it as ``rule:``.

    Text that does not parse raises :class:`RuleError` ``<source>: not valid YAML (line L,
    column C): <problem>``, with the source line and a caret as its ``context``.
    """
    from segflow.yamlfile import YamlSyntax, parse_yaml

    try:
        data = parse_yaml(text)
    except YamlSyntax as bad:
        error = RuleError([Problem("bad_yaml", "", str(bad))], source=source)
        if source:  # a syntax error is the file's, not at a path in the rule: no "(rule): "
            error.message = f"{source}: {bad}"
        error.context = bad.context
        raise error from None
    if isinstance(data, dict) and "rule" in data and not any(k in data for k in ("all", "any", "not", *_LEAF_KEYS)):
        data = data["rule"]
    return data
