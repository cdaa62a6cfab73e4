"""Dependency order across segments and tags: who must be refreshed before whom.

A segment depends on the segments (``{segment: x}``) and rule-computed tags
(``{tag: x}``) its rule reads; a tag depends on the segments in its ``depends_on`` and
the tags and segments its rule reads. Refreshes run in :func:`dependency_order`; a
cycle is refused with the file and rule path of a reference that closes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from segflow.segments.definition import DefinitionError, rule_references

__all__ = ["DependencyGraph", "Node", "build_graph", "dependency_order", "is_computed_tag"]

#: ``("segment", name)`` or ``("tag", name)``.
Node = tuple[str, str]


def is_computed_tag(tag: Any) -> bool:
    """Whether a tag definition is computed by a refresh (rule, cases, SQL, Python), not assigned by hand."""
    computed = getattr(tag, "computed", None)
    return bool(computed) if computed is not None else getattr(tag, "rule", None) is not None


def _label(node: Node) -> str:
    return f"{node[0]} {node[1]}"


@dataclass
class DependencyGraph:
    """Edges ``node -> the nodes it reads``, plus where each definition lives (for errors)."""

    upstream: dict[Node, set[Node]]
    files: dict[Node, str | None]
    rules: dict[Node, Any]

    def order(self, only: Iterable[Node] | None = None) -> list[Node]:
        """Every node (or those of *only*), each after everything it reads."""
        try:
            ordered = list(TopologicalSorter(self.upstream).static_order())
        except CycleError as exc:
            cycle: list[Node] = list(exc.args[1])
            raise self._cycle_error(cycle) from None
        if only is None:
            return ordered
        wanted = set(only)
        return [n for n in ordered if n in wanted]

    def downstream(self, roots: Iterable[Node]) -> set[Node]:
        """*roots* and every node that reads one of them, directly or not."""
        readers: dict[Node, set[Node]] = {}
        for node, ups in self.upstream.items():
            for up in ups:
                readers.setdefault(up, set()).add(node)
        seen: set[Node] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(readers.get(node, ()))
        return seen

    def rank(self, node: Node) -> int:
        """Length of the longest chain of upstream definitions (0 = reads none)."""
        memo: dict[Node, int] = {}

        def depth(n: Node) -> int:
            if n not in memo:
                memo[n] = 0
                memo[n] = max((depth(u) + 1 for u in self.upstream.get(n, ())), default=0)
            return memo[n]

        return depth(node)

    def _cycle_error(self, cycle: list[Node]) -> DefinitionError:
        # graphlib reports the cycle as [a, b, ..., a] where each node depends on the next one's
        # predecessor; walk it in "reads" direction for the message.
        nodes = cycle[:-1] if len(cycle) > 1 and cycle[0] == cycle[-1] else cycle
        nodes = list(reversed(nodes))
        first, second = nodes[0], nodes[1 % len(nodes)]
        path = _reference_path(self.rules.get(first), second)
        where = self.files.get(first) or _label(first)
        trail = " → ".join(_label(n) for n in [*nodes, nodes[0]])
        return DefinitionError(f"{where}: rule.{path}: definitions refer to each other in a cycle: {trail}"
                               if path else f"{where}: definitions refer to each other in a cycle: {trail}",
                               code="definition_cycle", path=f"{where}:rule.{path}" if path else where)


def _reference_path(rule: Any, target: Node) -> str | None:
    """The rule path of the ``{segment: ...}`` / ``{tag: ...}`` leaf naming *target*."""
    from segflow.rules.ast import SegmentRef, Tag, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    if rule is None:
        return None
    try:
        tree = parse_rule(rule)
    except RuleError:
        return None
    for node in walk(tree):
        if (target[0] == "segment" and isinstance(node, SegmentRef) or target[0] == "tag" and isinstance(node, Tag)) \
                and node.name == target[1]:
            return node.path or "(rule)"
    return None


def build_graph(segments: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> DependencyGraph:
    """The graph of *segments* (``SegmentDefinition``) and *tags* (objects with ``.rule`` and ``.depends_on``).

    References to names that are not defined here (tags assigned by hand, segments the
    checker will refuse) are not edges: nothing here refreshes them.
    """
    tags = tags or {}
    upstream: dict[Node, set[Node]] = {}
    files: dict[Node, str | None] = {}
    rules: dict[Node, Any] = {}

    def edges(rule: Any, extra_segments: Iterable[str] = (), extra_tags: Iterable[str] = ()) -> set[Node]:
        segs, tag_names = rule_references(rule)
        out = {("segment", s) for s in (*segs, *extra_segments) if s in segments}
        out |= {("tag", t) for t in (*tag_names, *extra_tags) if t in tags and is_computed_tag(tags[t])}
        return out

    for name, seg in segments.items():
        node = ("segment", name)
        upstream[node] = edges(seg.rule) if seg.rule is not None else set()
        files[node] = seg.file
        rules[node] = seg.rule
    for name, tag in tags.items():
        node = ("tag", name)
        rule = getattr(tag, "rule", None)
        if rule is not None and not isinstance(rule, (dict, list, str)):
            rule = getattr(rule, "data", None)  # a parsed rule object: its data, if it kept it
        upstream[node] = edges(rule, getattr(tag, "depends_on", None) or (), getattr(tag, "tags_used", None) or ())
        for case in getattr(tag, "cases", None) or ():  # valued tags: one rule per case
            upstream[node] |= edges(getattr(case, "rule", None))
        upstream[node].discard(node)
        files[node] = getattr(tag, "file", None) or f"tags/{name}"
        rules[node] = rule
    return DependencyGraph(upstream=upstream, files=files, rules=rules)


def dependency_order(segments: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> list[Node]:
    """Every segment and tag, each after everything it reads; raises on a cycle."""
    return build_graph(segments, tags).order()
