"""Refreshing segments: the segment kind of the definitions runner, and ``refresh`` by name.

    >>> results = refresh(ctx)                                  # doctest: +SKIP
    >>> [(r.name, r.members, r.entered, r.exited) for r in results]   # doctest: +SKIP

Refresh uses the *applied* definitions (``segflow apply``), not the files being
edited. Each dynamic segment is checked, compiled as of the refresh time and written
with :func:`~segflow.segments.membership.replace_members`; a ``refresh_runs`` row
records the outcome. A failing segment keeps its previous membership, its run is
``failed`` with the error, and the definitions that read it are ``skipped`` (they would
read stale members); the others are refreshed.

The ordering, upstream, skipping and run rows are the definitions runner's
(:mod:`segflow.definitions.runner`); this module gives it what is segment-specific:
the graph nodes of segments, the applied definitions, and the refresh of one segment
(compile, replace the members). It registers the ``segment`` kind and job kind on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now, utc
from segflow.definitions.graph import GraphNode, Node, rule_reads
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.definitions.runner import (
    RefreshCall,
    RefreshJob,
    RefreshOutcome,
    RefreshProgress,
    RefreshResult,
    check_context,
    record_run,
    run_refresh,
)
from segflow.errors import QueryError
from segflow.scheduler.jobs import register_job_kind
from segflow.segments.definition import DefinitionError

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.check import CheckContext

# RefreshResult, RefreshProgress, check_context and utc moved to segflow.definitions.runner and
# segflow.clock; applied_tags to segflow.tags.refresh. They stay importable from here (CLI, tests,
# benchmarks and other branches import them).
__all__ = ["RefreshProgress", "RefreshResult", "applied_tags", "check_context", "compile_segment", "refresh",
           "refresh_segment", "segment_nodes", "utc"]


def applied_tags(ctx: ProjectContext) -> dict[str, Any]:
    """The tag definitions in ``tags/`` (re-export of :func:`segflow.tags.refresh.applied_tags`)."""
    from segflow.tags.refresh import applied_tags as _applied_tags

    return _applied_tags(ctx)


def compile_segment(ctx: ProjectContext, rules: CheckContext, seg: Any, as_of: datetime) -> str:
    """The checked rule of *seg* as SQL selecting ``profile_id``; raises the rule's errors."""
    from segflow.rules.project import check_in, compile_in

    checked = check_in(ctx, seg.rule, source=seg.file or f"segment {seg.name}", context=rules, segment_name=seg.name)
    return compile_in(ctx, checked.tree, as_of=as_of)


# -- the segment kind -------------------------------------------------------------------------

def segment_nodes(segments: Mapping[str, Any]) -> list[GraphNode]:
    """The graph nodes of *segments* (``SegmentDefinition``): each reads what its rule names."""
    return [GraphNode("segment", name, frozenset(rule_reads(seg.rule)), refreshable=bool(seg.dynamic),
                      file=seg.file, rule=seg.rule)
            for name, seg in segments.items()]


def _applied(ctx: ProjectContext) -> dict[str, tuple[int | None, Any]]:
    from segflow.definitions.versions import applied_segments

    return dict(applied_segments(ctx.state))


def _refresh_members(job: RefreshJob) -> RefreshOutcome:
    """One dynamic segment: compile its rule, replace its members (one warehouse transaction)."""
    from segflow.segments.membership import replace_members

    sql = compile_segment(job.ctx, job.call.rules, job.definition, job.as_of)
    # The adapter has the connection's execute/register: membership runs over it unchanged.
    diff = replace_members(job.ctx.warehouse, job.name, sql, at=job.as_of, run_id=job.run_id)  # type: ignore[arg-type]
    return RefreshOutcome(members=diff.members, entered=diff.entered, exited=diff.exited)


def _segment_job(ctx: ProjectContext, name: str, *, as_of: datetime, trigger: str,
                 worker: str | None) -> list[RefreshResult]:
    return refresh(ctx, [name], as_of=as_of, trigger=trigger, worker=worker)


register_kind(DefinitionKind("segment", nodes=segment_nodes, load=_applied, refresh=_refresh_members))
register_job_kind("segment", _segment_job, description="refresh one dynamic segment")


# -- refreshing by name -----------------------------------------------------------------------

def refresh_segment(ctx: ProjectContext, rules: CheckContext, name: str, version: int | None, seg: Any,
                    as_of: datetime, *, trigger: str = "manual", worker: str | None = None) -> RefreshResult:
    """Refresh one dynamic segment against the rule context *rules*: one run row, one warehouse transaction."""
    call = RefreshCall(ctx, as_of, {"segment": {name: (version, seg)}}, trigger=trigger, worker=worker)
    call.rules = rules  # type: ignore[misc]  # the caller's context, built once
    return record_run(ctx, "segment", name, version, as_of,
                      lambda run_id: _refresh_members(RefreshJob(call, "segment", name, version, seg, run_id)),
                      trigger=trigger, worker=worker)


def _check_names(ctx: ProjectContext, applied: Mapping[str, tuple[int | None, Any]], tags: Mapping[str, Any],
                 names: list[str] | None, tag_names: list[str] | None) -> None:
    for name in names or ():
        if name not in applied:
            known = ", ".join(sorted(applied)) or "none"
            hint = " (its file is not applied yet: run segflow apply)" \
                if (ctx.root / "segments" / f"{name}.yaml").exists() else ""
            raise DefinitionError(f"no applied segment {name!r}{hint}; applied segments: {known}",
                                  code="unknown_segment", path=name)
        if not applied[name][1].dynamic:
            raise DefinitionError(f"segment {name!r} is static: change its members with segflow segment add/remove",
                                  code="static_segment", path=name)
    for name in tag_names or ():
        if name not in tags:
            raise DefinitionError(f"no tag {name!r} in tags/", code="unknown_tag", path=name)


def refresh(
    ctx: ProjectContext,
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
    """Refresh the applied dynamic segments *names* (default: all, plus every computed tag) in dependency order.

    *tag_names* adds tags to refresh by name; *upstream* adds every dynamic segment and
    computed tag the named ones read, directly or not. Unknown names and static segments raise
    :class:`DefinitionError` before anything runs. Returns one result per definition.
    """
    from segflow.tags.refresh import applied_tag_versions

    if ctx.read_only:
        raise QueryError("cannot refresh segments: the workspace is open read-only", code="read_only")
    when = at_or_now(as_of, ctx.clock)
    applied = _applied(ctx)
    tags = applied_tag_versions(ctx) if include_tags or tag_names else {}
    _check_names(ctx, applied, {n: d for n, (_, d) in tags.items()}, names, tag_names)
    explicit = names is not None or tag_names is not None
    wanted: set[Node] | None = None  # every dynamic segment and (with include_tags) computed tag
    if explicit:
        wanted = {("segment", n) for n in names or ()} | {("tag", n) for n in tag_names or ()}
    return run_refresh(ctx, wanted, definitions={"segment": applied, "tag": tags}, as_of=when, trigger=trigger,
                       worker=worker, upstream=upstream and explicit, progress=progress)
