"""Moved: the dependency graph of every kind lives in :mod:`segflow.definitions.graph`.

Kept so ``from segflow.segments.order import build_graph`` (two-argument form: segments,
tags) and the other names keep working across the issue-12 branches; new code calls
``segflow.definitions.graph.build_graph({"segment": ..., "tag": ..., "trait": ...})``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segflow.definitions import graph as _graph
from segflow.definitions.graph import DependencyGraph, Node

__all__ = ["DependencyGraph", "Node", "build_graph", "dependency_order", "is_computed_tag"]


def is_computed_tag(tag: Any) -> bool:
    """Whether a tag is computed by a refresh (re-export of :func:`segflow.tags.refresh.is_computed_tag`)."""
    from segflow.tags.refresh import is_computed_tag as _is_computed_tag

    return _is_computed_tag(tag)


def build_graph(segments: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> DependencyGraph:
    """The graph of *segments* and *tags* (see :func:`segflow.definitions.graph.build_graph`)."""
    return _graph.build_graph({"segment": segments, "tag": tags or {}})


def dependency_order(segments: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> list[Node]:
    """Every segment and tag, each after everything it reads; raises on a cycle."""
    return build_graph(segments, tags).order()
