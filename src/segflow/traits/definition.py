"""Trait definitions: the YAML files of a project's ``traits/`` folder → checked, frozen data.

One trait per file; the file stem is the trait's name unless the file gives ``name:``::

    # traits/email_open_rate_90d.yaml
    kind: ratio
    numerator: {event: email_opened}
    denominator: {event: email_delivered}
    within: 90d

:func:`load_trait_definitions` reads every file, collects every problem (each with its
file and its path in the definition, ``traits/open_rate.yaml: within: ...``) and raises
one :class:`~segflow.errors.DefinitionError` listing them all, so nothing half-understood is
ever computed. Windows and ``where:`` filters are parsed and checked by the rule
language's own parser and checker, so they mean exactly what they mean in a rule.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError
from segflow.rules.ast import AggFunc, Aggregate, Compare, Event, Op, Orders, PropFilter, Window
from segflow.rules.check import CheckContext, check_rule
from segflow.rules.errors import Problem, RuleError
from segflow.rules.parse import _Parser
from segflow.schema.kinds import KINDS, ORDER_STATUSES
from segflow.schema.types import AttributeType as T

__all__ = [
    "TRAITS_DIR",
    "EventSpec",
    "TraitDefinition",
    "TraitKind",
    "builtin_order_columns",
    "load_trait_definitions",
    "parse_trait",
]

#: The project folder holding trait definitions.
TRAITS_DIR = "traits"

#: A trait name is a column of the ``traits`` table (:mod:`segflow.names`): letters of any
#: script but no upper-case ones (DuckDB column names are case-insensitive, so ``Foo`` and
#: ``foo`` would collide), digits and ``_``, starting with a letter, at most 63 characters; NFC.
_NAME_SETTINGS: dict[str, Any] = {"first": "letter", "marks": "_", "lower": True, "max_len": 63}
_RESERVED = ("profile_id",)


class TraitKind(str, Enum):
    COUNTER = "counter"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    MOST_FREQUENT = "most_frequent"
    FIRST = "first"
    LAST = "last"
    DISTINCT_COUNT = "distinct_count"
    DISTINCT_LIST = "distinct_list"
    RATIO = "ratio"


#: Kinds that aggregate a numeric property / order column.
NUMERIC_KINDS = (TraitKind.SUM, TraitKind.AVG, TraitKind.MIN, TraitKind.MAX)
#: Kinds that need ``prop``.
_PROP_REQUIRED = (*NUMERIC_KINDS, TraitKind.MOST_FREQUENT, TraitKind.DISTINCT_COUNT, TraitKind.DISTINCT_LIST)
#: Kinds that may take ``prop`` (first/last: without it, the time itself).
_PROP_ALLOWED = (*_PROP_REQUIRED, TraitKind.FIRST, TraitKind.LAST)
#: Kinds whose value over no rows is 0 rather than missing (as count and sum in rules).
ZERO_WHEN_EMPTY = (TraitKind.COUNTER, TraitKind.SUM, TraitKind.DISTINCT_COUNT)

_COMMON_KEYS = ("name", "description", "kind", "source", "within", "between")
_SOURCES = ("events", "orders")


@dataclass(frozen=True, kw_only=True, slots=True)
class EventSpec:
    """Which events count: names and checked ``where`` filters (the rule language's)."""

    names: tuple[str, ...]
    where: tuple[PropFilter, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class TraitDefinition:
    """One checked trait. ``source`` is ``"events"`` or ``"orders"``.

    Events traits other than ratio read ``events``; ratio reads ``numerator`` and
    ``denominator``; orders traits read ``statuses`` (empty = any status) and ``where``
    (order and item filters, checked against the order columns). ``prop`` is an event
    property or an order column. ``data`` is the definition as written (its
    fingerprint tells a changed definition from an unchanged one).
    """

    name: str
    kind: TraitKind
    source: str = "events"
    file: str = ""
    description: str = ""
    events: EventSpec | None = None
    prop: str | None = None
    window: Window = Window()
    where: tuple[PropFilter, ...] = ()
    statuses: tuple[str, ...] = ("paid",)
    numerator: EventSpec | None = None
    denominator: EventSpec | None = None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def type(self) -> T:
        """The type of the trait's value, fixed by its kind (see docs/traits.md)."""
        if self.kind in (TraitKind.COUNTER, TraitKind.DISTINCT_COUNT):
            return T.INTEGER
        if self.kind in (*NUMERIC_KINDS, TraitKind.RATIO):
            return T.NUMBER
        if self.kind is TraitKind.DISTINCT_LIST:
            return T.LIST
        if self.kind in (TraitKind.FIRST, TraitKind.LAST) and self.prop is None:
            return T.TIMESTAMP
        return T.STRING

    @property
    def window_text(self) -> str:
        """``90d``, ``2026-01-01 .. 2026-01-31`` or ``all history``."""
        if self.window.within is not None:
            return str(self.window.within)
        if self.window.between is not None:
            low, high = self.window.between
            return f"{low.isoformat()} .. {high.isoformat()}"
        return "all history"

    def fingerprint(self) -> str:
        """A stable digest of the definition as written (changes when the file's meaning does)."""
        meaning = {k: v for k, v in self.data.items() if k != "description"}
        text = json.dumps({**meaning, "name": self.name}, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def builtin_order_columns() -> tuple[dict[str, T], dict[str, T]]:
    """The built-in columns of ``orders`` and ``order_items`` with their types."""
    return (
        {c.name: c.type for c in KINDS["orders"].columns},
        {c.name: c.type for c in KINDS["order_items"].columns},
    )


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _TraitParser:
    """Parses one file's data, collecting problems (paths relative to the definition)."""

    def __init__(self, order_columns: dict[str, T], item_columns: dict[str, T]) -> None:
        self.problems: list[Problem] = []
        self.order_columns = order_columns
        self.item_columns = item_columns

    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(code, path, message))

    def absorb(self, problems: list[Problem]) -> None:
        self.problems.extend(p for p in problems if p.severity == "error")

    # -- pieces ---------------------------------------------------------------
    def names(self, raw: Any, path: str, what: str) -> tuple[str, ...] | None:
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
            self.fail(path, "bad_name", f"{what} takes an event name or a list of names")
            return None
        return tuple(dict.fromkeys(n.strip() for n in names))

    def event_spec(self, data: dict[str, Any], base: str, window: Window, *, what: str) -> EventSpec | None:
        """``event`` and ``where`` of *data*, checked as a rule's event condition would be."""
        if "event" not in data:
            self.fail(_join(base, "event"), "missing_event", f"{what} needs event: an event name or a list of names")
            return None
        names = self.names(data["event"], _join(base, "event"), "event")
        rules = _Parser()
        where = rules.where(data.get("where"), _join(base, "where"), "event")
        self.absorb(rules.problems)
        if names is None or rules.problems:
            return None
        count = Aggregate(path=base, func=AggFunc.COUNT, tests=(Compare(path=base, op=Op.GTE, value=1),))
        node = Event(path=_join(base, "event"), names=names, where=where, window=window, agg=count)
        try:
            checked, _ = check_rule(node, CheckContext(profile_attributes={}, events_seen=None))
        except RuleError as exc:
            self.absorb(exc.problems)
            return None
        assert isinstance(checked, Event)
        return EventSpec(names=checked.names, where=checked.where)

    def only(self, data: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(str(key), "unknown_key", f"unknown key {key!r} for {what} (allowed: {', '.join(allowed)})")

    # -- the definition ---------------------------------------------------------
    def trait(self, data: Any, name: str) -> TraitDefinition | None:
        if not isinstance(data, dict):
            self.fail("", "not_a_mapping", "a trait definition is a mapping (kind: counter, event: ..., within: 90d)")
            return None
        kinds = ", ".join(k.value for k in TraitKind)
        raw_kind = data.get("kind")
        if raw_kind is None:
            self.fail("kind", "missing_kind", f"kind is required (one of {kinds})")
            return None
        try:
            kind = TraitKind(raw_kind)
        except ValueError:
            self.fail("kind", "unknown_kind", f"unknown kind {raw_kind!r} (kinds: {kinds})")
            return None
        source = data.get("source", "events")
        if source not in _SOURCES:
            self.fail("source", "bad_source", f"source is events or orders, not {source!r}")
            return None
        if source == "orders" and kind is TraitKind.RATIO:
            self.fail("source", "bad_source", "a ratio trait counts events (numerator and denominator); "
                      "source: orders does not apply")
            return None
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail("description", "bad_value", "description takes text")
        what = f"a {kind.value} trait" + (" of orders" if source == "orders" else "")
        rules = _Parser()
        window = rules.window(data, "")
        self.absorb(rules.problems)
        common = dict(name=name, kind=kind, source=source, window=window, data=data,
                      description=description if isinstance(description, str) else "")

        if kind is TraitKind.RATIO:
            self.only(data, (*_COMMON_KEYS, "numerator", "denominator"), what)
            parts = {}
            for part in ("numerator", "denominator"):
                spec = data.get(part)
                if spec is None:
                    self.fail(part, "missing_" + part, f"a ratio trait needs {part}: {{event: NAME, where: ...}}")
                    continue
                if isinstance(spec, (str, list)):
                    spec = {"event": spec}
                if not isinstance(spec, dict):
                    self.fail(part, "bad_value", f"{part} takes {{event: NAME}} (with an optional where:)")
                    continue
                for key in spec:
                    if key not in ("event", "where"):
                        self.fail(_join(part, str(key)), "unknown_key",
                                  f"unknown key {key!r} in {part} (allowed: event, where)")
                parts[part] = self.event_spec(spec, part, window, what=part)
            if self.problems or any(p is None for p in parts.values()):
                return None
            return TraitDefinition(**common, numerator=parts["numerator"], denominator=parts["denominator"])

        prop = data.get("prop")
        if "prop" in data and (not isinstance(prop, str) or not prop.strip()):
            self.fail("prop", "bad_prop", "prop takes the name of a property")
            prop = None
        elif isinstance(prop, str):
            prop = prop.strip()
        if "prop" in data and kind not in _PROP_ALLOWED:
            self.fail("prop", "unexpected_prop", f"{what} does not take prop")
        if source == "orders" and prop is None and kind in NUMERIC_KINDS:
            prop = "amount"
        if prop is None and kind in _PROP_REQUIRED and "prop" not in data:
            example = "amount" if kind in NUMERIC_KINDS else "category"
            self.fail("prop", "missing_prop", f"{what} needs prop: the property to aggregate, e.g. prop: {example}")

        if source == "orders":
            return self.orders_trait(data, kind, prop, window, what, common)
        self.only(data, (*_COMMON_KEYS, "event", "where", "prop"), what)
        events = self.event_spec(data, "", window, what=what)
        if self.problems or events is None:
            return None
        return TraitDefinition(**common, events=events, prop=prop)

    def orders_trait(self, data: dict[str, Any], kind: TraitKind, prop: str | None, window: Window, what: str,
                     common: dict[str, Any]) -> TraitDefinition | None:
        self.only(data, (*_COMMON_KEYS, "status", "where", "prop"), what)
        status = data.get("status", ["paid"])
        statuses: tuple[str, ...] = ()
        if status != "any":
            listed = [status] if isinstance(status, str) else status
            if not isinstance(listed, list) or not listed or not all(isinstance(s, str) for s in listed):
                self.fail("status", "bad_value", "status takes a status, a list of statuses, or any")
                listed = []
            statuses = tuple(dict.fromkeys(s.strip().lower() for s in listed))
            for s in statuses:
                if s not in ORDER_STATUSES:
                    self.fail("status", "bad_value",
                              f"unknown order status {s!r} (statuses: {', '.join(ORDER_STATUSES)}, or any)")
        if prop is not None:
            col_type = self.order_columns.get(prop)
            if col_type is None:
                close = difflib.get_close_matches(prop, list(self.order_columns), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail("prop", "unknown_column", f"unknown order column {prop!r}{hint}")
            elif kind in NUMERIC_KINDS and col_type not in (T.INTEGER, T.NUMBER, T.DECIMAL):
                self.fail("prop", "not_numeric", f"{kind.value} needs a numeric column; {prop} is {col_type.value}")
        rules = _Parser()
        where = rules.where(data.get("where"), "where", "order")
        self.absorb(rules.problems)
        if rules.problems:
            return None
        count = Aggregate(path="", func=AggFunc.COUNT, tests=(Compare(path="", op=Op.GTE, value=1),))
        # Statuses were checked above; "any" here keeps the checker from reporting them twice.
        node = Orders(path="", statuses=(), where=where, window=window, agg=count)
        ctx = CheckContext(profile_attributes={}, order_columns=self.order_columns, item_columns=self.item_columns)
        try:
            checked, _ = check_rule(node, ctx)
        except RuleError as exc:
            self.absorb(exc.problems)
            return None
        if self.problems:
            return None
        assert isinstance(checked, Orders)
        return TraitDefinition(**common, prop=prop, statuses=statuses, where=checked.where)


def parse_trait(
    data: Any,
    *,
    name: str,
    file: str = "",
    order_columns: dict[str, T] | None = None,
    item_columns: dict[str, T] | None = None,
) -> TraitDefinition:
    """Parse and check one trait's *data* (already loaded from YAML).

    *name* is the trait's name when *data* has no ``name:``; *file* prefixes every
    message. Order and item columns default to the built-in ones. Raises
    :class:`DefinitionError` listing every problem.

        >>> parse_trait({"kind": "counter", "event": "login", "within": "30d"}, name="logins_30d").type.value
        'integer'
    """
    problems, trait = _parse(data, name, order_columns, item_columns)
    if problems or trait is None:
        raise _error([(file, p) for p in problems] or [(file, Problem("invalid", "", "invalid trait"))])
    return trait


def _parse(data: Any, stem: str, order_columns: dict[str, T] | None,
           item_columns: dict[str, T] | None) -> tuple[list[Problem], TraitDefinition | None]:
    builtin_orders, builtin_items = builtin_order_columns()
    parser = _TraitParser(order_columns if order_columns is not None else builtin_orders,
                          item_columns if item_columns is not None else builtin_items)
    from segflow.names import nfc, problem

    name = stem = nfc(stem)
    if isinstance(data, dict) and "name" in data:
        name = nfc(data["name"]) if isinstance(data["name"], str) else data["name"]
        if problem(name, **_NAME_SETTINGS) is not None or name in _RESERVED:
            parser.fail("name", "bad_name", _bad_name(name))
    elif problem(stem, **_NAME_SETTINGS) is not None or stem in _RESERVED:
        parser.fail("", "bad_name", _bad_name(stem) + "; rename the file or give name:")
    trait = parser.trait(data, name if isinstance(name, str) else stem)
    return parser.problems, (None if parser.problems else trait)


def _bad_name(name: Any) -> str:
    if name in _RESERVED:
        return f"{name!r} is reserved; choose another trait name"
    return (f"{name!r} is not a trait name (lower-case letters, digits and _, starting with a letter, "
            "at most 63 characters)")


def _error(problems: list[tuple[str, Problem]], context: tuple[str, ...] = ()) -> DefinitionError:
    """One DefinitionError for every problem: a line each, ``file: path: message``; the code
    and path of the first; *context* (a caret under a YAML error) only when that is the one problem."""
    lines = []
    for file, p in problems:
        parts = [part for part in (file, p.path) if part]
        lines.append(": ".join([*parts, p.message]))
    first_file, first = problems[0]
    return DefinitionError("\n".join(lines), code=first.code, path=first.path or first_file or None,
                           context=context if len(problems) == 1 else ())


def load_trait_definitions(
    root: str | Path,
    *,
    order_columns: dict[str, T] | None = None,
    item_columns: dict[str, T] | None = None,
    errors: list[DefinitionError] | None = None,
) -> list[TraitDefinition]:
    """Every trait defined in ``<root>/traits/*.yaml`` (and ``.yml``), sorted by name.

    Raises :class:`DefinitionError` when any file has a problem, listing every problem of
    every file, one line each (``traits/open_rate.yaml: within: '7days' is not a
    duration ...``); its ``code`` and ``path`` are those of the first problem. Order and
    item columns default to the built-in ones; :func:`segflow.traits.refresh_traits`
    passes the workspace's (with the inferred and declared attributes). With *errors*, that
    error is appended to it instead and the traits that loaded are returned.
    """
    from segflow.yamlfile import YamlSyntax, read_yaml

    folder = Path(root) / TRAITS_DIR
    files = sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if folder.is_dir() else []
    problems: list[tuple[str, Problem]] = []
    traits: list[TraitDefinition] = []
    seen: dict[str, str] = {}
    context: tuple[str, ...] = ()
    for path in files:
        shown = f"{TRAITS_DIR}/{path.name}"
        try:
            data = read_yaml(path)
        except YamlSyntax as bad:
            problems.append((shown, Problem("bad_yaml", "", str(bad))))
            context = context or bad.context
            continue
        found, trait = _parse(data, path.stem, order_columns, item_columns)
        problems.extend((shown, p) for p in found)
        if trait is None:
            continue
        if trait.name in seen:
            where = "name" if isinstance(data, dict) and "name" in data else ""
            problems.append((shown, Problem("duplicate_trait", where,
                                            f"trait {trait.name!r} is already defined in {seen[trait.name]}")))
            continue
        seen[trait.name] = shown
        traits.append(replace(trait, file=shown))
    if problems and errors is not None:
        errors.append(_error(problems, context))
    elif problems:
        raise _error(problems, context)
    return sorted(traits, key=lambda t: t.name)
