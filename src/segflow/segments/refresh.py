"""Refreshing segments (and rule-computed tags) in dependency order.

    >>> results = refresh(ws)                                  # doctest: +SKIP
    >>> [(r.name, r.members, r.entered, r.exited) for r in results]   # doctest: +SKIP

Refresh uses the *applied* definitions (``segflow apply``), not the files being
edited. Each dynamic segment is checked, compiled as of the refresh time and written
with :func:`~segflow.segments.membership.replace_members`; a ``refresh_runs`` row
records the outcome. A failing segment keeps its previous membership, its run is
``failed`` with the error, and the definitions that read it are ``skipped`` (they would
read stale members); the others are refreshed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError, SegflowError
from segflow.segments import runs
from segflow.segments.definition import DefinitionError
from segflow.segments.order import Node, build_graph, is_computed_tag

if TYPE_CHECKING:
    from segflow.rules.check import CheckContext
    from segflow.workspace import Workspace

__all__ = ["RefreshResult", "applied_tags", "check_context", "refresh", "utc"]

#: ``progress(node, index, total)`` before each definition is refreshed.
RefreshProgress = Callable[[Node, int, int], None]


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


def utc(value: datetime | None) -> datetime:
    when = value or datetime.now(UTC)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def applied_tags(ws: Workspace) -> dict[str, Any]:
    """The tag definitions in ``tags/``."""
    from segflow.tags import load_tag_definitions

    return dict(load_tag_definitions(ws.root))


def check_context(ws: Workspace, segments: dict[str, Any], tags: dict[str, Any], *,
                  segment_name: str | None = None) -> CheckContext:
    """The rule context of *ws*, knowing the given segments (with their rules) and tags."""
    from segflow.segments.preview import rule_context

    ctx = rule_context(ws, segment_name=segment_name, events_seen=False)
    known = {**ctx.segments, **{name: seg.rule for name, seg in segments.items()}}
    return replace(ctx, segments=known, tags=set(ctx.tags) | set(tags))


def compile_segment(ws: Workspace, ctx: CheckContext, seg: Any, as_of: datetime) -> str:
    """The checked rule of *seg* as DuckDB SQL selecting ``profile_id``; raises the rule's errors."""
    from segflow.rules.check import check_rule
    from segflow.rules.compile import compile_sql
    from segflow.rules.parse import parse_rule

    source = seg.file or f"segment {seg.name}"
    tree = parse_rule(seg.rule, source=source)
    checked, _ = check_rule(tree, replace(ctx, segment_name=seg.name), source=source)
    return compile_sql(checked, as_of=as_of, timezone=ws.config.timezone, dialect="duckdb")


def _refresh_tag(ws: Workspace, name: str, as_of: datetime, trigger: str, worker: str | None) -> RefreshResult:
    from segflow.definitions.versions import current_versions
    from segflow.tags import refresh_tags

    applied = current_versions(ws.state, "tag").get(("tag", name))
    run_id = runs.start_run(ws.state, kind="tag", name=name, version=applied.version if applied else None,
                            trigger=trigger, as_of=as_of, worker=worker)
    started = time.perf_counter()
    try:
        out = refresh_tags(ws, [name], as_of=as_of)
    except Exception as exc:
        seconds = time.perf_counter() - started
        runs.finish_run(ws.state, run_id, status="failed", seconds=seconds, error=_message(exc))
        return RefreshResult("tag", name, run_id, "failed", as_of, seconds=seconds, error=_message(exc))
    seconds = time.perf_counter() - started
    first = out[0] if isinstance(out, list) and out else None
    error = getattr(first, "error", None)
    if error:
        runs.finish_run(ws.state, run_id, status="failed", seconds=seconds, error=str(error))
        return RefreshResult("tag", name, run_id, "failed", as_of, seconds=seconds, error=str(error))
    count, added, removed = (getattr(first, a, None) for a in ("members", "added", "removed"))
    runs.finish_run(ws.state, run_id, status="ok", members=count, entered=added, exited=removed, seconds=seconds)
    return RefreshResult("tag", name, run_id, "ok", as_of, members=count, entered=added, exited=removed,
                         seconds=seconds)


def _message(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, SegflowError) else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def refresh_segment(ws: Workspace, ctx: CheckContext, name: str, version: int | None, seg: Any, as_of: datetime,
                    *, trigger: str = "manual", worker: str | None = None) -> RefreshResult:
    """Refresh one dynamic segment: one run row, one warehouse transaction."""
    from segflow.segments.membership import replace_members

    run_id = runs.start_run(ws.state, kind="segment", name=name, version=version, trigger=trigger, as_of=as_of,
                            worker=worker)
    started = time.perf_counter()
    try:
        sql = compile_segment(ws, ctx, seg, as_of)
        diff = replace_members(ws.warehouse.con, name, sql, at=as_of, run_id=run_id)
    except Exception as exc:  # the warehouse rolled back; record why
        seconds = time.perf_counter() - started
        runs.finish_run(ws.state, run_id, status="failed", seconds=seconds, error=_message(exc))
        return RefreshResult("segment", name, run_id, "failed", as_of, seconds=seconds, error=_message(exc))
    seconds = time.perf_counter() - started
    runs.finish_run(ws.state, run_id, status="ok", members=diff.members, entered=diff.entered, exited=diff.exited,
                    seconds=seconds)
    return RefreshResult("segment", name, run_id, "ok", as_of, diff.members, diff.entered, diff.exited, seconds)


def _with_upstream(graph: Any, wanted: set[Node], segments: dict[str, Any], tags: dict[str, Any]) -> set[Node]:
    """*wanted* plus everything refreshable it reads, transitively."""
    out, stack = set(wanted), list(wanted)
    while stack:
        for up in graph.upstream.get(stack.pop(), ()):
            refreshable = segments[up[1]].dynamic if up[0] == "segment" else is_computed_tag(tags[up[1]])
            if up not in out and refreshable:
                out.add(up)
                stack.append(up)
    return out


def refresh(
    ws: Workspace,
    names: list[str] | None = None,
    *,
    as_of: datetime | None = None,
    trigger: str = "manual",
    worker: str | None = None,
    include_tags: bool = True,
    tag_names: list[str] | None = None,
    upstream: bool = False,
    progress: RefreshProgress | None = None,
) -> list[RefreshResult]:
    """Refresh the applied dynamic segments *names* (default: all, plus every rule tag) in dependency order.

    *tag_names* adds tags to refresh by name; *upstream* adds every dynamic segment and
    computed tag the named ones read, directly or not. Unknown names and static segments raise
    :class:`DefinitionError` before anything runs. Returns one result per definition.
    """
    from segflow.definitions.versions import applied_segments

    if ws.read_only:
        raise QueryError("cannot refresh segments: the workspace is open read-only", code="read_only")
    when = utc(as_of)
    applied = applied_segments(ws.state)
    segments = {n: seg for n, (_, seg) in applied.items()}
    tags = applied_tags(ws) if include_tags or tag_names else {}
    for name in names or ():
        if name not in applied:
            known = ", ".join(sorted(applied)) or "none"
            hint = " (its file is not applied yet: run segflow apply)" if (ws.root / "segments" / f"{name}.yaml").exists() \
                else ""
            raise DefinitionError(f"no applied segment {name!r}{hint}; applied segments: {known}",
                                  code="unknown_segment", path=name)
        if not segments[name].dynamic:
            raise DefinitionError(f"segment {name!r} is static: change its members with segflow segment add/remove",
                                  code="static_segment", path=name)
    for name in tag_names or ():
        if name not in tags:
            raise DefinitionError(f"no tag {name!r} in tags/", code="unknown_tag", path=name)
    graph = build_graph(segments, tags)
    if names is None and tag_names is None:
        wanted: set[Node] = {("segment", n) for n, s in segments.items() if s.dynamic}
        if include_tags:
            wanted |= {("tag", n) for n, t in tags.items() if is_computed_tag(t)}
    else:
        wanted = {("segment", n) for n in names or ()} | {("tag", n) for n in tag_names or ()}
        if upstream:
            wanted = _with_upstream(graph, wanted, segments, tags)
    order = graph.order(wanted)
    ctx = check_context(ws, segments, tags)
    results: list[RefreshResult] = []
    broken: set[Node] = set()
    for i, node in enumerate(order):
        if progress:
            progress(node, i, len(order))
        bad = graph.upstream.get(node, set()) & broken
        if bad:
            up = sorted(bad)[0]
            error = f"not refreshed: it reads {up[0]} {up[1]!r}, whose refresh failed"
            run_id = runs.start_run(ws.state, kind=node[0], name=node[1], version=applied.get(node[1], (None,))[0]
                                    if node[0] == "segment" else None, trigger=trigger, as_of=when, worker=worker)
            runs.finish_run(ws.state, run_id, status="skipped", error=error)
            results.append(RefreshResult(node[0], node[1], run_id, "skipped", when, error=error))
            broken.add(node)
            continue
        if node[0] == "segment":
            version, seg = applied[node[1]]
            result = refresh_segment(ws, ctx, node[1], version, seg, when, trigger=trigger, worker=worker)
        else:
            result = _refresh_tag(ws, node[1], when, trigger, worker)
        if result.status != "ok":
            broken.add(node)
        results.append(result)
    return results
