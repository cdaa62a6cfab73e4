"""The refresh runner: refreshable definitions of every kind, in dependency order, one run row each.

    >>> results = run_refresh(ctx, {("segment", "vip")}, definitions=defs, upstream=True)  # doctest: +SKIP
    >>> [(r.kind, r.name, r.status) for r in results]                                    # doctest: +SKIP
    [('tag', 'crm/key_account', 'ok'), ('segment', 'vip', 'ok')]

The steps, for one call:

1. the graph of the given definitions (:func:`~segflow.definitions.graph.build_graph`);
   with *upstream*, every refreshable definition the wanted ones read is added;
2. the order (:meth:`~segflow.definitions.graph.DependencyGraph.order`; a cycle raises);
3. each definition in turn: a ``running`` run row (:mod:`~segflow.definitions.runs`),
   its kind's ``refresh`` (segment: compile and replace the members; tag: compute the
   assignments), then the row finished ``ok`` with the counts or ``failed`` with the
   error. A failure keeps that definition's previous state; the definitions that read
   it are ``skipped`` (they would read stale data), the others still run.

What the kinds share in one call (the rule context every rule is checked against) is
built once, on first use, by :attr:`RefreshCall.rules`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from segflow.definitions import runs
from segflow.definitions.graph import Node, build_graph
from segflow.definitions.kinds import get_kind
from segflow.errors import SegflowError

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.check import CheckContext

__all__ = [
    "RefreshCall",
    "RefreshJob",
    "RefreshOutcome",
    "RefreshProgress",
    "RefreshResult",
    "check_context",
    "message",
    "record_run",
    "run_refresh",
]

#: ``progress(node, index, total)`` before each definition is refreshed.
RefreshProgress = Callable[[Node, int, int], None]
#: ``{kind: {name: (applied version or None, definition)}}``.
Definitions = Mapping[str, Mapping[str, tuple[int | None, Any]]]


@dataclass(frozen=True)
class RefreshResult:
    kind: str
    name: str
    run_id: int | None
    #: "ok", "failed" or "skipped".
    status: str
    as_of: datetime
    members: int | None = None
    entered: int | None = None
    exited: int | None = None
    seconds: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class RefreshOutcome:
    """What one kind's refresh of one definition did (counts as in :mod:`~segflow.definitions.runs`).

    An ``error`` marks a refresh that failed without raising (the kind recorded it and kept
    the previous state)."""

    members: int | None = None
    entered: int | None = None
    exited: int | None = None
    error: str | None = None


def check_context(ctx: ProjectContext, segments: Mapping[str, Any], tags: Mapping[str, Any], *,
                  segment_name: str | None = None) -> CheckContext:
    """The rule context of *ctx*, knowing the given segments (with their rules) and tags."""
    from segflow.rules.project import rule_context

    base = rule_context(ctx, segment_name=segment_name, events_seen=False)
    known = {**base.segments, **{name: seg.rule for name, seg in segments.items()}}
    return replace(base, segments=known, tags=set(base.tags) | set(tags))


@dataclass
class RefreshCall:
    """One runner call: the context, the time, the definitions, and what the kinds share."""

    ctx: ProjectContext
    as_of: datetime
    definitions: Definitions
    trigger: str = "manual"
    worker: str | None = None

    def of_kind(self, kind: str) -> dict[str, Any]:
        """``{name: definition}`` of *kind* in this call."""
        return {name: d for name, (_, d) in self.definitions.get(kind, {}).items()}

    @cached_property
    def rules(self) -> CheckContext:
        """The rule context knowing this call's segments and tags: built once per call."""
        return check_context(self.ctx, self.of_kind("segment"), self.of_kind("tag"))


@dataclass(frozen=True)
class RefreshJob:
    """One definition to refresh, handed to its kind's ``refresh``."""

    call: RefreshCall
    kind: str
    name: str
    version: int | None
    definition: Any
    run_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ctx(self) -> ProjectContext:
        return self.call.ctx

    @property
    def as_of(self) -> datetime:
        return self.call.as_of


def message(exc: BaseException) -> str:
    """The first line of an error, for a run row."""
    text = exc.message if isinstance(exc, SegflowError) else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def record_run(ctx: ProjectContext, kind: str, name: str, version: int | None, as_of: datetime,
               body: Callable[[int], RefreshOutcome], *, trigger: str = "manual",
               worker: str | None = None) -> RefreshResult:
    """Run *body(run_id)* between a ``running`` run row and its outcome (``ok`` or ``failed``).

    An exception from *body* is recorded as the failure (the kind's warehouse work rolled
    back) and not raised; Ctrl-C is not caught.
    """
    run_id = runs.start_run(ctx.state, kind=kind, name=name, version=version, trigger=trigger, as_of=as_of,
                            worker=worker)
    started = time.perf_counter()
    try:
        out = body(run_id)
    except Exception as exc:
        seconds = time.perf_counter() - started
        runs.finish_run(ctx.state, run_id, status="failed", seconds=seconds, error=message(exc))
        return RefreshResult(kind, name, run_id, "failed", as_of, seconds=seconds, error=message(exc))
    seconds = time.perf_counter() - started
    if out.error:
        runs.finish_run(ctx.state, run_id, status="failed", seconds=seconds, error=out.error)
        return RefreshResult(kind, name, run_id, "failed", as_of, seconds=seconds, error=out.error)
    runs.finish_run(ctx.state, run_id, status="ok", members=out.members, entered=out.entered, exited=out.exited,
                    seconds=seconds)
    return RefreshResult(kind, name, run_id, "ok", as_of, out.members, out.entered, out.exited, seconds)


def refresh_node(call: RefreshCall, node: Node) -> RefreshResult:
    """Refresh one definition of *call* through its kind, with its run row."""
    kind = get_kind(node[0])
    if kind.refresh is None:
        raise ValueError(f"{node[0]} definitions are not refreshed by the runner")
    version, definition = call.definitions[node[0]][node[1]]
    refresh = kind.refresh

    def body(run_id: int) -> RefreshOutcome:
        return refresh(RefreshJob(call, node[0], node[1], version, definition, run_id))

    return record_run(call.ctx, node[0], node[1], version, call.as_of, body, trigger=call.trigger,
                      worker=call.worker)


def _skip(call: RefreshCall, node: Node, up: Node) -> RefreshResult:
    error = f"not refreshed: it reads {up[0]} {up[1]!r}, whose refresh failed"
    version = call.definitions[node[0]][node[1]][0]
    run_id = runs.start_run(call.ctx.state, kind=node[0], name=node[1], version=version, trigger=call.trigger,
                            as_of=call.as_of, worker=call.worker)
    runs.finish_run(call.ctx.state, run_id, status="skipped", error=error)
    return RefreshResult(node[0], node[1], run_id, "skipped", call.as_of, error=error)


def run_refresh(
    ctx: ProjectContext,
    wanted: Iterable[Node] | None,
    *,
    definitions: Definitions,
    as_of: datetime,
    trigger: str = "manual",
    worker: str | None = None,
    upstream: bool = False,
    progress: RefreshProgress | None = None,
) -> list[RefreshResult]:
    """Refresh *wanted* (default: every refreshable definition of *definitions*) in dependency order.

    *definitions* are the definitions the graph is built from, by kind (as the kinds'
    ``load`` gives them); only kinds the runner refreshes belong here. See the module
    doc for the steps. Returns one result per definition, in the order they ran.
    """
    call = RefreshCall(ctx, as_of, definitions, trigger=trigger, worker=worker)
    graph = build_graph({kind: call.of_kind(kind) for kind in definitions})
    chosen = set(graph.refreshable) if wanted is None else set(wanted)
    if upstream:
        chosen = graph.with_upstream(chosen)
    order = graph.order(chosen)
    results: list[RefreshResult] = []
    broken: set[Node] = set()
    for i, node in enumerate(order):
        if progress:
            progress(node, i, len(order))
        bad = graph.upstream.get(node, set()) & broken
        result = _skip(call, node, sorted(bad)[0]) if bad else refresh_node(call, node)
        if result.status != "ok":
            broken.add(node)
        results.append(result)
    return results


def load_definitions(ctx: ProjectContext, kind_names: Iterable[str]) -> dict[str, Mapping[str, tuple[int | None, Any]]]:
    """The definitions a refresh runs, by kind (each kind's ``load``)."""
    out = {}
    for name in kind_names:
        load = get_kind(name).load
        if load is None:
            raise ValueError(f"{name} definitions are not refreshed by the runner")
        out[name] = load(ctx)
    return out
