"""Rules against a project: what a rule may refer to, and the one parse → check → compile path.

Every caller that turns rule data into SQL (preview, segment refresh, tags, plan) goes
through here, so a rule is checked once per call and compiled for the project's own
engine (``ctx.warehouse.DIALECT``):

    >>> rules = rule_context(ctx)                                     # doctest: +SKIP
    >>> checked = check_in(ctx, {"attr": "city", "eq": "Beijing"}, context=rules)  # doctest: +SKIP
    >>> sql = compile_in(ctx, checked.tree, as_of=now)                # doctest: +SKIP

:func:`rule_context` is built once per call and passed on: it reads the registry's
attributes, the stored tags, traits and segments and the ``segments/`` folder. Event
names are looked up lazily (:class:`EventNames`): a rule naming ``view_product`` costs one
probe that stops at the first such event, not a scan of every distinct event name.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import LoadError, Problem
from segflow.rules.check import CheckContext, check_rule
from segflow.rules.parse import load_rule_text, parse_partial, parse_rule
from segflow.schema.types import AttributeType

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.ast import Condition
    from segflow.warehouse.base import Warehouse

__all__ = ["CheckedRule", "EventNames", "check_in", "compile_batch_in", "compile_in", "read_rule_file", "rule_context", "rule_data"]

_ENGINE_TYPES = {
    "VARCHAR": AttributeType.STRING,
    "BIGINT": AttributeType.INTEGER,
    "INTEGER": AttributeType.INTEGER,
    "DOUBLE": AttributeType.NUMBER,
    "FLOAT": AttributeType.NUMBER,
    "BOOLEAN": AttributeType.BOOLEAN,
    "DATE": AttributeType.DATE,
    "TIMESTAMP WITH TIME ZONE": AttributeType.TIMESTAMP,
    "TIMESTAMP": AttributeType.TIMESTAMP,
    "JSON": AttributeType.JSON,
    "VARCHAR[]": AttributeType.LIST,
}


def read_rule_file(path: str | Path) -> Any:
    """Rule data from a YAML/JSON file (a segment file may wrap it as ``rule:``)."""
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: no such rule file", code="no_file", path=str(p))
    return load_rule_text(p.read_bytes(), source=str(p))


def rule_data(rule: Any, source: str | None = None) -> tuple[Any, str | None]:
    """*rule* as data, and its source: a path to a ``.yaml``/``.yml``/``.json`` file is read."""
    if isinstance(rule, (str, Path)) and Path(rule).suffix in (".yaml", ".yml", ".json"):
        return read_rule_file(rule), source or str(rule)
    return rule, source


class EventNames(Collection[str]):
    """The event names in the warehouse's ``events``, read only as far as asked.

    ``name in names`` asks whether any event has that name (``EXISTS``: the engine stops
    at the first match) and remembers the answer; iterating (only needed to suggest a
    close name for an unknown one) reads every distinct name once.
    """

    def __init__(self, wh: Warehouse) -> None:
        self._wh = wh
        self._seen: dict[str, bool] = {}
        self._all: frozenset[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._all is not None:
            return name in self._all
        if name not in self._seen:
            self._seen[name] = bool(self._wh.scalar("SELECT EXISTS (SELECT 1 FROM events WHERE event = ?)", [name]))
        return self._seen[name]

    def _names(self) -> frozenset[str]:
        if self._all is None:
            self._all = frozenset(r[0] for r in self._wh.rows("SELECT DISTINCT event FROM events"))
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())


def _column_types(wh: Warehouse, table: str) -> dict[str, AttributeType]:
    out = {}
    for name, type_ in wh.columns(table).items():
        if name.startswith("_"):
            continue
        upper = type_.upper()
        t = _ENGINE_TYPES.get(upper) or (AttributeType.DECIMAL if upper.startswith("DECIMAL") else None)
        if t is not None:
            out[name] = t
    return out


def rule_context(ctx: ProjectContext, *, segment_name: str | None = None, events_seen: bool = True,
                 journey: bool = False) -> CheckContext:
    """What rules in *ctx* may refer to: registry attributes, tags, traits, segments, events.

    Build it once per call and pass it to every :func:`check_in` of that call. With
    *events_seen* False, unknown event names are not looked up (refreshes show no warnings);
    with *journey*, the journey windows ``within: journey`` / ``within: node`` are allowed.
    """
    registry = ctx.registry
    wh = ctx.warehouse

    def types(kind: str) -> dict[str, AttributeType]:
        return {name: a.type for name, a in registry.attributes(kind).items()}

    traits = {k: v for k, v in _column_types(wh, "traits").items() if k != "profile_id"}
    tags = {r[0] for r in wh.rows("SELECT DISTINCT tag FROM tag_assignments")}
    segments: dict[str, Any] = {r[0]: None for r in wh.rows("SELECT DISTINCT segment FROM segment_members")}
    for path in sorted((ctx.root / "segments").glob("*.y*ml")):
        try:
            segments[path.stem] = read_rule_file(path)
        except Exception:  # a broken segment file is reported when that segment is checked
            segments.setdefault(path.stem, None)
    return CheckContext(
        profile_attributes=types("profiles"),
        account_attributes=types("accounts"),
        order_columns=types("orders"),
        item_columns=types("order_items"),
        tags=tags,
        traits=traits,
        segments=segments,
        events_seen=EventNames(wh) if events_seen else None,
        segment_name=segment_name,
        parse=parse_rule,
        journey=journey,
    )


@dataclass(frozen=True)
class CheckedRule:
    """A parsed and checked rule: its tree (ready to compile or evaluate) and its warnings."""

    tree: Condition
    warnings: list[Problem] = field(default_factory=list)
    source: str | None = None


def check_in(ctx: ProjectContext, rule: Any, *, source: str | None = None, context: CheckContext | None = None,
             segment_name: str | None = None, journey: bool = False) -> CheckedRule:
    """Parse and check *rule* (data, or a path to a rule file) against *ctx*.

    *context* is the call's :func:`rule_context` (built here when not given); *segment_name*
    is the segment being defined, for cycle checks; *journey* allows the journey windows
    (``within: journey`` / ``within: node``) of a journey's rules. Raises :class:`~segflow.errors.RuleError`
    listing every error.
    """
    data, source = rule_data(rule, source)
    base = context if context is not None else rule_context(ctx)
    if segment_name is not None:
        base = replace(base, segment_name=segment_name)
    if journey and not base.journey:
        base = replace(base, journey=True)
    tree, problems = parse_partial(data)
    if tree is None:  # nothing parsed: the shape problems are all there is to report
        parse_rule(data, source=source)
    assert tree is not None
    tree, warnings = check_rule(tree, base, source=source, parse_problems=problems)
    return CheckedRule(tree=tree, warnings=list(warnings), source=source)


def compile_in(ctx: ProjectContext, tree: Condition, *, as_of: datetime, dialect: str | None = None) -> str:
    """The checked *tree* as SQL selecting ``profile_id`` as of *as_of*, in the project's time
    zone, for the project's engine (or *dialect*, to show it for another)."""
    from segflow.rules.compile import compile_sql

    return compile_sql(tree, as_of=as_of, timezone=ctx.config.timezone, dialect=dialect or ctx.warehouse.DIALECT)


def compile_batch_in(ctx: ProjectContext, tree: Condition, *, as_of: datetime, batch_table: str) -> str:
    """The checked *tree* as SQL selecting the ``run_id`` of each row of *batch_table* (a journey's
    runs: ``run_id, profile_id, journey_since, node_since``) whose profile it matches as of *as_of*
    (:func:`segflow.rules.compile.compile_batch`), in the project's zone and engine."""
    from segflow.rules.compile import compile_batch

    return compile_batch(tree, as_of=as_of, batch_table=batch_table, timezone=ctx.config.timezone,
                         dialect=ctx.warehouse.DIALECT)
