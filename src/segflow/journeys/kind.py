"""The ``journey`` definition kind: journeys in the dependency graph.

A journey reads the segment it enters from and the static segments it adds to (its
rules read segments, tags and traits, checked at plan / apply); it is not refreshed
by the runner — the worker's journey tick (:mod:`segflow.journeys.worker`) advances it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segflow.definitions.graph import GraphNode
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.journeys.model import Journey, SegmentEffect, SegmentEntry
from segflow.scheduler.jobs import register_tick

__all__ = ["journey_nodes"]


def journey_nodes(defs: Mapping[str, Journey | None]) -> list[GraphNode]:
    out = []
    for name, journey in defs.items():
        reads: set[tuple[str, str]] = set()
        if journey is not None:
            if isinstance(journey.entry, SegmentEntry):
                reads.add(("segment", journey.entry.segment))
            reads |= {("segment", n.body.segment) for n in journey.nodes.values() if isinstance(n.body, SegmentEffect)}
        file: Any = journey.file if journey is not None else f"journeys/{name}.yaml"
        out.append(GraphNode("journey", name, frozenset(reads), refreshable=False, file=file))
    return out


def _journey_tick(ctx: Any, *, now: Any, worker: str, lease: Any) -> Any:
    from segflow.journeys.engine import EngineOptions, run_journeys

    return run_journeys(ctx, now=now, worker=worker, options=EngineOptions(lease=lease))


register_kind(DefinitionKind("journey", nodes=journey_nodes))
register_tick("journeys", _journey_tick)
