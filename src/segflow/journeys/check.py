"""Checking journeys against the project: the graph, what they name, and every rule in them.

:func:`check_journeys` returns every problem, one line each, naming the journey's file, the
node id and the field (for a rule, the path inside it)::

    journeys/dormant.yaml: nodes.used_it.branch[0].when.event.within: ...
    journeys/dormant.yaml: nodes.sms_reminder.send.template: unknown template 'coupon_remider' ...

The checks are named step functions composed in one list (:data:`CHECKS`), each reading
one :class:`_Check` (the journey, and what the project holds, built once per call):

* :func:`check_targets` — every ``start`` / ``next`` / ``then`` / ``else`` names a node;
* :func:`check_reachable` — every node is reached by some path from ``start``;
* :func:`check_cycles` — every cycle passes a ``wait`` (else a run would loop in one step);
* :func:`check_splits` — split weights sum to 100;
* :func:`check_segments` — the entry's segment exists; a ``segment:`` effect names a static one;
* :func:`check_tags` — a ``tag:`` effect names a tag people (or journeys) assign, not a computed one;
* :func:`check_sends` — the template exists and is for the send's channel, which is configured;
* :func:`check_attributes` — ``set:`` writes known profile attributes with fitting values; a
  date entry reads a date or timestamp attribute;
* :func:`check_rules` — ``exit_when``, each branch's ``when``, a schedule's ``audience`` and the
  ``where`` filters of an event entry, the goal and a ``wait: {for: ...}`` (as the rule
  ``{event: NAME, where: {...}}``) pass the rule checks with the journey windows allowed
  (``within: journey`` / ``within: node``). Their warnings (an event name never seen) go to
  *warnings*, with the same prefix, so a journey never silently reads an event no one has.

The structural problems of a single file (keys, shapes, durations, a branch without
``else``) are the definition's (:mod:`segflow.journeys.definition`); a journey that loaded
has none of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segflow.errors import SegflowError
from segflow.journeys.model import (
    Branch,
    DateEntry,
    EventEntry,
    EventMatch,
    Journey,
    ScheduleEntry,
    SegmentEffect,
    SegmentEntry,
    Send,
    SetAttributes,
    Split,
    TagEffect,
    Wait,
    WaitFor,
    WaitUntil,
)

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.check import CheckContext

__all__ = ["CHECKS", "check_journey_graph", "check_journeys", "journey_rules", "node_targets"]


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def node_targets(journey: Journey) -> Iterator[tuple[str, str]]:
    """``(field path, node id)`` for every reference to a node: ``start``, each ``next``, a
    branch's cases and ``else``, a split's arms, a wait-for's ``then`` and ``else``."""
    yield "start", journey.start
    for node_id, node in journey.nodes.items():
        here = f"nodes.{node_id}"
        body = node.body
        if isinstance(body, Branch):
            for i, case in enumerate(body.cases):
                yield f"{here}.branch[{i}].next", case.next
            yield f"{here}.branch[{len(body.cases)}].else", body.otherwise
        elif isinstance(body, Split):
            for arm in body.arms:
                yield f"{here}.split.{arm.name}.next", arm.next
        elif isinstance(body, WaitFor):
            yield f"{here}.wait.then", body.then
            yield f"{here}.wait.else", body.otherwise
        elif node.next is not None:
            yield f"{here}.next", node.next


def journey_rules(journey: Journey) -> Iterator[tuple[str, Any]]:
    """``(field path, rule data)`` for every rule a journey reads; an event match is the rule
    ``{event: NAME, where: {...}}``, at the path of the match (``goal``, ``entry.event``, ``nodes.x.wait.for``)."""
    def event_rule(match: EventMatch) -> dict[str, Any]:
        rule: dict[str, Any] = {"event": match.name}
        if match.where:
            rule["where"] = match.where
        return rule

    entry = journey.entry
    if isinstance(entry, EventEntry):
        yield "entry.event", event_rule(entry.event)
    elif isinstance(entry, ScheduleEntry):
        yield "entry.schedule.audience", entry.audience
    if journey.exit_when is not None:
        yield "exit_when", journey.exit_when
    if journey.goal is not None:
        yield "goal", event_rule(journey.goal.event)
    for node_id, node in journey.nodes.items():
        body = node.body
        if isinstance(body, Branch):
            for i, case in enumerate(body.cases):
                yield f"nodes.{node_id}.branch[{i}].when", case.when
        elif isinstance(body, WaitFor):
            yield f"nodes.{node_id}.wait.for", event_rule(body.event)


@dataclass
class _Check:
    """One journey and what the project holds (shared by every journey of the call)."""

    ctx: ProjectContext | None
    journey: Journey
    segments: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)
    #: Tags stored in the warehouse (assigned), defined or not.
    stored_tags: frozenset[str] = frozenset()
    templates: Mapping[str, Any] = field(default_factory=dict)
    #: Template names whose file exists but does not load.
    broken_templates: frozenset[str] = frozenset()
    channels: Mapping[str, Any] | None = None
    channel_error: str | None = None
    profile_attributes: Mapping[str, Any] = field(default_factory=dict)
    rules_context: CheckContext | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{self.journey.file}: {path}: {message}")


# -- the graph -------------------------------------------------------------------------------
def check_targets(c: _Check) -> None:
    """Every reference names a node of the journey."""
    nodes = c.journey.nodes
    for path, target in node_targets(c.journey):
        if target not in nodes:
            c.fail(path, f"unknown node {target!r}{_suggest(target, nodes)}")


def _edges(journey: Journey) -> dict[str, list[str]]:
    return {node_id: [t for t in node.targets() if t in journey.nodes] for node_id, node in journey.nodes.items()}


def check_reachable(c: _Check) -> None:
    """Every node is on some path from ``start``."""
    journey = c.journey
    if journey.start not in journey.nodes:
        return  # reported by check_targets; every node would be unreachable
    edges = _edges(journey)
    seen = {journey.start}
    todo = [journey.start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for node_id in journey.nodes:
        if node_id not in seen:
            c.fail(f"nodes.{node_id}", f"no path from start ({journey.start}) reaches this node")


def _is_wait(body: Any) -> bool:
    return isinstance(body, (Wait, WaitUntil, WaitFor))


def check_cycles(c: _Check) -> None:
    """Every cycle passes a wait node: a cycle of instant nodes would loop within one step.

    The wait nodes are taken out of the graph; any cycle left (a strongly connected part
    of two or more nodes, or a node leading to itself) is a cycle without a wait.
    """
    journey = c.journey
    edges = {n: [t for t in ts if not _is_wait(journey.nodes[t].body)]
             for n, ts in _edges(journey).items() if not _is_wait(journey.nodes[n].body)}
    for part in _strongly_connected(edges):
        if len(part) > 1 or part[0] in edges[part[0]]:
            ordered = sorted(part, key=list(journey.nodes).index)
            loop = " → ".join([*ordered, ordered[0]])
            c.fail(f"nodes.{ordered[0]}", f"a cycle without a wait node: {loop} (add a wait to it)")


def _strongly_connected(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of *edges* (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                part = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    part.append(top)
                    if top == node:
                        break
                parts.append(part)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return parts


def check_splits(c: _Check) -> None:
    """A split's weights sum to 100 (each is a whole number, as the definition makes sure)."""
    for node_id, node in c.journey.nodes.items():
        if isinstance(node.body, Split):
            total = sum(arm.weight for arm in node.body.arms)
            if total != 100:
                weights = " + ".join(f"{arm.name} {arm.weight}" for arm in node.body.arms)
                c.fail(f"nodes.{node_id}.split", f"the weights sum to {total} ({weights}), not 100")


# -- what a journey names ------------------------------------------------------------------------
def check_segments(c: _Check) -> None:
    """The entry's segment is defined; a ``segment:`` effect names a static segment."""
    entry = c.journey.entry
    if isinstance(entry, SegmentEntry) and entry.segment not in c.segments:
        key = "segment_exited" if entry.exited else "segment_entered"
        c.fail(f"entry.{key}", f"unknown segment {entry.segment!r}{_suggest(entry.segment, c.segments)}")
    for node_id, node in c.journey.nodes.items():
        body = node.body
        if not isinstance(body, SegmentEffect):
            continue
        path = f"nodes.{node_id}.segment.{'remove' if body.remove else 'add'}"
        segment = c.segments.get(body.segment)
        if segment is None:
            c.fail(path, f"unknown segment {body.segment!r}{_suggest(body.segment, c.segments)}")
        elif getattr(segment, "type", None) != "static":
            c.fail(path, f"segment {body.segment!r} is dynamic (its rule decides its members); a journey adds "
                   "to and removes from static segments only")


def check_tags(c: _Check) -> None:
    """A ``tag:`` effect names a tag assigned by hand: a manual tag in ``tags/``, or one already
    assigned without a definition (not a computed tag, whose members its rule decides)."""
    for node_id, node in c.journey.nodes.items():
        body = node.body
        if not isinstance(body, TagEffect):
            continue
        path = f"nodes.{node_id}.tag.{'remove' if body.remove else 'add'}"
        tag = c.tags.get(body.tag)
        if tag is not None:
            if getattr(tag, "computed", False):
                c.fail(path, f"tag {body.tag!r} is computed (source {tag.source}): a journey's add would sit beside "
                       "its computed members and a remove could not take them away; a journey adds and removes "
                       "manual tags only")
        elif body.tag not in c.stored_tags:
            c.fail(path, f"unknown tag {body.tag!r}{_suggest(body.tag, set(c.tags) | c.stored_tags)} (define it as a "
                   f"manual tag: tags/{body.tag}.yaml with a description)")


def check_sends(c: _Check) -> None:
    """A send's template exists and is for its channel; the channel is configured."""
    for node_id, node in c.journey.nodes.items():
        body = node.body
        if not isinstance(body, Send):
            continue
        path = f"nodes.{node_id}.send"
        if c.channels is not None and body.channel not in c.channels:
            c.fail(f"{path}.channel", f"unknown channel {body.channel!r}{_suggest(body.channel, c.channels)} "
                   f"(channels: {', '.join(sorted(c.channels)) or 'none'})")
        elif c.channels is None and c.channel_error:
            c.fail(f"{path}.channel", f"the channels cannot be read: {c.channel_error}")
        template = c.templates.get(body.template)
        if template is None:
            if body.template in c.broken_templates:
                c.fail(f"{path}.template", f"template {body.template!r} does not load (see its problems)")
            else:
                c.fail(f"{path}.template", f"unknown template {body.template!r}"
                       f"{_suggest(body.template, c.templates)} (templates/{body.template}.yaml)")
        elif template.channel != body.channel:
            c.fail(f"{path}.template", f"template {body.template!r} is for channel {template.channel!r}, "
                   f"this send is on {body.channel!r}")


_DATE_TYPES = ("date", "timestamp")


def _fits(value: Any, type_name: str) -> bool:
    """Whether *value* (from YAML) can be stored in an attribute of type *type_name*."""
    if value is None or type_name in ("json", "list"):
        return True
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if type_name in ("number", "decimal"):
        return isinstance(value, (int, float, Decimal))
    if type_name in _DATE_TYPES:
        if isinstance(value, (date, datetime)):
            return True
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return False
            return True
    return False


def check_attributes(c: _Check) -> None:
    """``set:`` writes known profile attributes, values of their type; a date entry reads a
    date or timestamp attribute."""
    attrs = c.profile_attributes
    entry = c.journey.entry
    if isinstance(entry, DateEntry):
        found = attrs.get(entry.attr)
        if found is None:
            c.fail("entry.date.attr", f"unknown profile attribute {entry.attr!r}{_suggest(entry.attr, attrs)}")
        elif found.type.value not in _DATE_TYPES:
            c.fail("entry.date.attr", f"attribute {entry.attr!r} is {found.type.value}; a date entry reads a date "
                   "or timestamp attribute")
    for node_id, node in c.journey.nodes.items():
        body = node.body
        if not isinstance(body, SetAttributes):
            continue
        for name, value in body.values.items():
            path = f"nodes.{node_id}.set.{name}"
            found = attrs.get(name)
            if name == "profile_id":
                c.fail(path, "profile_id is the profile's id and cannot be set")
            elif found is None:
                c.fail(path, f"unknown profile attribute {name!r}{_suggest(name, attrs)} (declare it in schema.yaml)")
            elif not _fits(value, found.type.value):
                c.fail(path, f"{value!r} does not fit attribute {name!r} ({found.type.value})")


def check_rules(c: _Check) -> None:
    """Every rule of the journey passes the rule checks (journey windows allowed)."""
    from segflow.errors import RuleError
    from segflow.rules.project import check_in

    assert c.ctx is not None
    for path, rule in journey_rules(c.journey):
        try:
            checked = check_in(c.ctx, rule, context=c.rules_context, journey=True)  # type: ignore[call-arg]
        except RuleError as exc:
            for p in exc.problems:
                c.fail(f"{path}.{p.path}" if p.path else path, p.message)
            continue
        except SegflowError as exc:
            c.fail(path, exc.message)
            continue
        for w in checked.warnings:
            c.warnings.append(f"{c.journey.file}: {path}.{w.path}: {w.message}" if w.path
                              else f"{c.journey.file}: {path}: {w.message}")


def check_webhooks(c: _Check) -> None:
    """A webhook's body template compiles (Jinja2, the sandbox's syntax; the URL is checked when read)."""
    import jinja2

    from segflow.journeys.model import Webhook
    from segflow.journeys.templates import _compiled

    for node_id, node in c.journey.nodes.items():
        body = node.body
        if not isinstance(body, Webhook):
            continue
        if body.body:
            try:
                _compiled(body.body, False)
            except jinja2.TemplateSyntaxError as exc:
                c.fail(f"nodes.{node_id}.webhook.body", f"line {exc.lineno}: {exc.message}")


#: The graph checks: they read the journey alone.
GRAPH_CHECKS: tuple[Callable[[_Check], None], ...] = (check_targets, check_reachable, check_cycles, check_splits)
#: Every check, in the order its problems are listed.
CHECKS: tuple[Callable[[_Check], None], ...] = (*GRAPH_CHECKS, check_segments, check_tags, check_sends,
                                                check_webhooks, check_attributes, check_rules)


def check_journey_graph(journey: Journey) -> list[str]:
    """The graph problems of *journey* alone (targets, reachability, cycles, split weights)."""
    c = _Check(ctx=None, journey=journey)
    for step in GRAPH_CHECKS:
        step(c)
    return c.problems


def check_journeys(ctx: ProjectContext, journeys: Mapping[str, Journey], *, segments: Mapping[str, Any],
                   tags: Mapping[str, Any], rules_context: CheckContext | None = None,
                   warnings: list[str] | None = None) -> list[str]:
    """Every problem of *journeys* against the project, one line each (``file: path: message``).

    *segments* and *tags* are the project's definitions by name (``load_segment_definitions``,
    ``load_tag_definitions``); *rules_context* is the call's :func:`~segflow.rules.project.rule_context`
    (built here when not given). The rule checks' warnings (an event name never seen) are
    appended to *warnings*. An empty list: the journeys may be applied.
    """
    if not journeys:
        return []
    from segflow.journeys.templates import TEMPLATES_DIR, load_templates
    from segflow.rules.project import rule_context

    template_errors: list[SegflowError] = []
    templates = load_templates(ctx.root, errors=template_errors)
    folder = ctx.root / TEMPLATES_DIR
    broken = frozenset(p.stem for p in folder.glob("*.y*ml")) - set(templates) if template_errors and \
        folder.is_dir() else frozenset()
    channels: Mapping[str, Any] | None = None
    channel_error = None
    try:
        from segflow.channels import configured_channels

        channels = configured_channels(ctx.config)
    except SegflowError as exc:
        channel_error = exc.message
    context = rules_context if rules_context is not None else rule_context(ctx)
    names = sorted(journeys)
    shared = _Check(ctx=ctx, journey=journeys[names[0]], segments=segments, tags=tags,
                    stored_tags=frozenset(context.tags), templates=templates, broken_templates=broken,
                    channels=channels, channel_error=channel_error,
                    profile_attributes=ctx.registry.attributes("profiles"), rules_context=context)
    problems: list[str] = []
    for name in names:
        c = replace(shared, journey=journeys[name], problems=[], warnings=[])
        for step in CHECKS:
            step(c)
        problems += c.problems
        if warnings is not None:
            warnings += c.warnings
    return problems
