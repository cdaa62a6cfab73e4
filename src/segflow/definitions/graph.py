"""The dependency graph of every definition kind: who must be refreshed before whom.

Each kind says what the graph needs through :func:`segflow.definitions.kinds.register_kind`:
its nodes (:class:`GraphNode`), with the nodes each one reads, whether the runner
refreshes it, whether references to it are edges, and the file to name in errors.
Today: a segment reads the segments (``{segment: x}``), rule-computed tags (``{tag: x}``)
and traits (``{trait: x}``) its rule names; a tag reads the segments in its
``depends_on`` and the tags, segments and traits its rules use; a trait reads none.

    >>> graph = build_graph({"segment": segments, "tag": tags})      # doctest: +SKIP
    >>> graph.order()                                                 # doctest: +SKIP
    [('segment', 'viewers'), ('tag', 'vip'), ('segment', 'bj_viewers')]

Refreshes run in :meth:`DependencyGraph.order`; a cycle is refused with the file and
rule path of a reference that closes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from segflow.segments.definition import DefinitionError

__all__ = ["DependencyGraph", "GraphNode", "Node", "build_graph", "dependency_order", "rule_reads"]

#: ``(kind, name)``: ``("segment", "viewers")``, ``("tag", "crm/vip")``, ``("trait", "views_7d")``.
Node = tuple[str, str]


@dataclass(frozen=True)
class GraphNode:
    """One definition as the graph sees it.

    *reads* may name definitions that do not exist or are not *tracked* (a tag assigned
    by hand, a segment the checker will refuse): they are not edges, nothing here
    refreshes them.
    """

    kind: str
    name: str
    #: The definitions it reads, as ``(kind, name)``.
    reads: frozenset[Node] = frozenset()
    #: Whether the runner refreshes it node by node (a dynamic segment, a computed tag).
    refreshable: bool = False
    #: Whether references to it are edges: its content comes from definitions
    #: (segments, computed tags, traits), not from assignments by hand.
    tracked: bool = True
    #: Where it is defined, for error messages (``segments/vip.yaml``).
    file: str | None = None
    #: The rule data (for the path of a reference that closes a cycle).
    rule: Any = field(default=None, compare=False)

    @property
    def key(self) -> Node:
        return (self.kind, self.name)


def _label(node: Node) -> str:
    return f"{node[0]} {node[1]}"


@dataclass
class DependencyGraph:
    """Edges ``node -> the nodes it reads``, plus where each definition lives (for errors)."""

    upstream: dict[Node, set[Node]]
    files: dict[Node, str | None]
    rules: dict[Node, Any]
    #: The nodes the runner refreshes.
    refreshable: set[Node] = field(default_factory=set)

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

    def with_upstream(self, wanted: Iterable[Node]) -> set[Node]:
        """*wanted* plus every refreshable node it reads, transitively (also through nodes that are
        not refreshed themselves: a model's trait reads the model)."""
        out, seen, stack = set(wanted), set(wanted), list(wanted)
        while stack:
            for up in self.upstream.get(stack.pop(), ()):
                if up not in seen:
                    seen.add(up)
                    stack.append(up)
                    if up in self.refreshable:
                        out.add(up)
        return out

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
    """The rule path of the ``{segment: ...}`` / ``{tag: ...}`` / ``{trait: ...}`` leaf naming *target*."""
    from segflow.rules.ast import SegmentRef, Tag, Trait, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    leaf: type[SegmentRef | Tag | Trait] | None = {"segment": SegmentRef, "tag": Tag, "trait": Trait}.get(target[0])
    if rule is None or leaf is None:
        return None
    try:
        tree = parse_rule(rule)
    except RuleError:
        return None
    for node in walk(tree):
        if isinstance(node, (SegmentRef, Tag, Trait)) and isinstance(node, leaf) and node.name == target[1]:
            return node.path or "(rule)"
    return None


def rule_reads(rule: Any) -> set[Node]:
    """The segments, tags and traits a rule (data) names; a rule that does not parse reads nothing here
    (checking reports it with its path)."""
    from segflow.rules.ast import SegmentRef, Tag, Trait, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    if rule is None:
        return set()
    try:
        tree = parse_rule(rule)
    except RuleError:
        return set()
    kinds = ((SegmentRef, "segment"), (Tag, "tag"), (Trait, "trait"))
    return {(kind, n.name) for n in walk(tree) for cls, kind in kinds if isinstance(n, cls)}


def build_graph(definitions: Mapping[str, Mapping[str, Any]]) -> DependencyGraph:
    """The graph of *definitions* (``{kind: {name: definition}}``), each kind's nodes given by
    its registered :class:`~segflow.definitions.kinds.DefinitionKind`."""
    from segflow.definitions.kinds import get_kind

    nodes: dict[Node, GraphNode] = {}
    for kind, defs in definitions.items():
        for node in get_kind(kind).nodes(defs):
            nodes[node.key] = node
    upstream: dict[Node, set[Node]] = {}
    for key, node in nodes.items():
        upstream[key] = {r for r in node.reads if r in nodes and nodes[r].tracked}
    return DependencyGraph(upstream=upstream, files={k: n.file for k, n in nodes.items()},
                           rules={k: n.rule for k, n in nodes.items()},
                           refreshable={k for k, n in nodes.items() if n.refreshable})


def dependency_order(definitions: Mapping[str, Mapping[str, Any]]) -> list[Node]:
    """Every definition, each after everything it reads; raises on a cycle."""
    return build_graph(definitions).order()
