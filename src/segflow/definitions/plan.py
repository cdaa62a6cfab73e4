"""``segflow plan`` and ``segflow apply``: the project folder → the applied definitions.

    >>> p = make_plan(ctx)                     # doctest: +SKIP
    >>> [(c.kind, c.name, c.action, c.members_before, c.members_after) for c in p.pending]   # doctest: +SKIP
    >>> result = apply(ctx)                    # doctest: +SKIP

For a changed or removed journey the plan says how many of its runs in progress the change
moves to the new version and how many it ends (``runs_moved``, ``runs_ended``).

The plan compares every file with the latest applied version (by fingerprint) and
says, per definition, ``new``, ``changed``, ``removed`` or ``unchanged``; for segments
and rule tags it shows the member count now and the count the new rule would give
(a preview as of now). Any rule that fails checking, or a dependency cycle, is
refused with its file and rule path before anything is written.

Apply, in order: checks (as plan); records a new version of each new, changed or
removed definition, brings the schedules and the journeys' states in line (a new journey
starts, a changed one moves its waiting runs to the new version), in one state-store transaction;
empties removed segments (each member gets an ``exited`` event); recomputes changed
traits; runs new and changed models (``models/*.yaml``); then refreshes the new and changed dynamic segments and rule tags and
everything that reads them (or a changed trait or model), in dependency order, through the
definitions runner (:mod:`~segflow.definitions.runner`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now
from segflow.definitions.graph import DependencyGraph, build_graph
from segflow.definitions.project import (
    LocalDefinition,
    ProjectDefinitions,
    check_definitions,
    local_definitions,
)
from segflow.definitions.versions import Version, current_versions, record_version

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.definitions.runner import RefreshResult
    from segflow.errors import SegflowError

__all__ = ["ApplyResult", "Change", "Plan", "apply", "make_plan"]

_ORDER = {"trait": 0, "model": 1, "tag": 2, "segment": 3, "journey": 4}


@dataclass
class Change:
    kind: str
    name: str
    #: "new", "changed", "removed" or "unchanged".
    action: str
    file: str | None
    #: The applied version this replaces (None for new).
    version: int | None
    schedule: str | None = None
    members_before: int | None = None
    members_after: int | None = None
    #: A changed or removed journey: its runs in progress that continue on the new version
    #: (their node is still there) and those that end (``node_removed`` / ``journey_removed``).
    runs_moved: int | None = None
    runs_ended: int | None = None
    local: LocalDefinition | None = field(default=None, repr=False)

    @property
    def delta(self) -> int | None:
        if self.members_before is None or self.members_after is None:
            return None
        return self.members_after - self.members_before

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "file": self.file,
                "version": self.version, "schedule": self.schedule, "members_before": self.members_before,
                "members_after": self.members_after, "delta": self.delta, "runs_moved": self.runs_moved,
                "runs_ended": self.runs_ended}


@dataclass
class Plan:
    as_of: datetime
    changes: list[Change]
    #: The checks' warnings, ``file: rule.path: message`` (an event no event has been loaded
    #: under: the rule matches no one until one is), as ``segment preview`` gives them.
    warnings: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "changes": [c.to_dict() for c in self.changes], "warnings": list(self.warnings)}


@dataclass
class ApplyResult:
    plan: Plan
    #: (kind, name) → the version written.
    versions: dict[tuple[str, str], int]
    refreshed: list[RefreshResult]
    traits: dict[str, Any] | None = None

    @property
    def failed(self) -> list[RefreshResult]:
        return [r for r in self.refreshed if r.status != "ok"]


def _segment_count(ctx: ProjectContext, name: str) -> int:
    from segflow.segments.membership import ensure_tables, member_count

    # membership's functions run over the adapter's execute (the connection's interface)
    ensure_tables(ctx.warehouse)  # type: ignore[arg-type]
    return member_count(ctx.warehouse, name)  # type: ignore[arg-type]


def _tag_count(ctx: ProjectContext, name: str) -> int:
    return ctx.warehouse.count("SELECT count(DISTINCT profile_id) FROM tag_assignments WHERE tag = ?", [name])


def _preview_count(ctx: ProjectContext, rules: Any, rule: Any, name: str | None, as_of: datetime) -> int:
    from segflow.rules.project import check_in, compile_in

    sql = compile_in(ctx, check_in(ctx, rule, context=rules, segment_name=name).tree, as_of=as_of)
    return ctx.warehouse.count(f"SELECT count(DISTINCT profile_id) FROM ({sql}) AS r")


def make_plan(ctx: ProjectContext, *, counts: bool = True, as_of: datetime | None = None) -> Plan:
    """What :func:`apply` would change; raises ``DefinitionsError`` listing every invalid rule."""
    when = at_or_now(as_of, ctx.clock)
    read: list[SegflowError] = []  # a file that does not parse does not hide the rule problems of the others
    defs = local_definitions(ctx, errors=read)
    warnings: list[str] = []
    rules = check_definitions(ctx, defs, warnings, errors=read)
    local = defs.all()
    applied: dict[tuple[str, str], Version] = {k: v for k, v in current_versions(ctx.state).items() if v.active}
    changes: list[Change] = []
    for key in sorted(set(local) | set(applied), key=lambda k: (_ORDER.get(k[0], 9), k[1])):
        kind, name = key
        mine, theirs = local.get(key), applied.get(key)
        if mine is None:
            action = "removed"
        elif theirs is None:
            action = "new"
        else:
            action = "unchanged" if mine.fingerprint == theirs.fingerprint else "changed"
        changes.append(Change(kind, name, action, (mine.file if mine else theirs.file if theirs else None),
                              theirs.version if theirs else None, schedule=mine.schedule if mine else None,
                              local=mine))
    _journey_runs(ctx, changes)
    if counts:
        pending_traits = {c.name for c in changes if c.kind == "trait" and c.action != "unchanged"}
        pending_traits |= _pending_model_traits(ctx, changes)
        for change in changes:
            if change.kind in ("segment", "tag"):
                _count(ctx, rules, change, pending_traits, when)
    return Plan(as_of=when, changes=changes, warnings=warnings)


def _journey_runs(ctx: ProjectContext, changes: list[Change]) -> None:
    """For each changed or removed journey: how many runs in progress its change moves and ends."""
    from segflow.journeys.versions import run_changes

    wanted = [c for c in changes if c.kind == "journey" and c.action in ("changed", "removed")]
    if not wanted:
        return
    with ctx.state.engine.connect() as conn:
        for c in wanted:
            c.runs_moved, c.runs_ended = run_changes(conn, c.name, c.local.obj if c.local else None)


def _pending_model_traits(ctx: ProjectContext, changes: list[Change]) -> set[str]:
    """Model traits a rule cannot be previewed on yet: of a model this apply runs, or never written."""
    from segflow.models.registry import get_model, output_types

    out = {t for c in changes if c.kind == "model" and c.action in ("new", "changed") for t in get_model(c.name).outputs}
    stored = set(ctx.warehouse.columns("traits")) if ctx.warehouse.table_exists("traits") else set()
    return out | (set(output_types()) - stored)


def _traits_read(rule: Any) -> set[str]:
    from segflow.rules.ast import Trait, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    try:
        return {n.name for n in walk(parse_rule(rule)) if isinstance(n, Trait)}
    except RuleError:
        return set()


def _count(ctx: ProjectContext, rules: Any, change: Change, pending_traits: set[str], when: datetime) -> None:
    """Fill *change*'s member counts: stored now, and a preview of the new rule (None when it reads a
    trait that is not computed yet)."""
    name, kind = change.name, change.kind
    change.members_before = _segment_count(ctx, name) if kind == "segment" else _tag_count(ctx, name)
    rule = getattr(change.local.obj, "rule", None) if change.local else None
    previewable = isinstance(rule, (dict, list))
    if change.action == "removed":
        change.members_after = 0
    elif previewable and _traits_read(rule) & pending_traits:
        change.members_after = None  # its trait changes with this apply: counted after it
    elif previewable and change.action != "unchanged":
        change.members_after = _preview_count(ctx, rules, rule, name if kind == "segment" else None, when)
    else:
        change.members_after = change.members_before


def _graph(defs: ProjectDefinitions, removed_traits: Iterable[str] = ()) -> DependencyGraph:
    """The graph of the project folder's segments, tags and traits (and traits being removed: their
    readers are refreshed, and fail, rather than keep what the removed trait gave them)."""
    traits: dict[str, Any] = {**dict.fromkeys(removed_traits), **defs.traits}
    return build_graph({**defs.graph_definitions(), "trait": traits})


def _desired_schedules(defs: dict[tuple[str, str], LocalDefinition], graph: DependencyGraph) -> list[Any]:
    """A schedule for every definition with ``schedule:`` whose kind the worker can run (a job kind)."""
    from segflow.scheduler.jobs import job_kinds
    from segflow.scheduler.schedules import Desired

    runnable = job_kinds()
    scheduled = {k for k, d in defs.items() if k[0] in runnable and d.schedule}
    out = []
    for key in scheduled:
        ups = graph.upstream.get(key, set())
        # Walk through unscheduled upstreams: what matters is the nearest scheduled ones.
        seen, stack, deps = set(), list(ups), set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in scheduled:
                deps.add(f"{node[0]}:{node[1]}")
            else:
                stack.extend(graph.upstream.get(node, ()))
        out.append(Desired(kind=key[0], name=key[1], cron=str(defs[key].schedule), depends_on=tuple(sorted(deps)),
                           rank=graph.rank(key)))
    return out


def apply(ctx: ProjectContext, *, refresh: bool = True, as_of: datetime | None = None) -> ApplyResult:
    """Make the applied definitions match the project folder (see the module doc)."""
    from segflow.definitions import runs
    from segflow.definitions.project import local_definitions as _local
    from segflow.scheduler.schedules import sync_schedules
    from segflow.segments.membership import drop_segment
    from segflow.segments.refresh import refresh as run_refresh

    when = at_or_now(as_of, ctx.clock)
    plan = make_plan(ctx, counts=False, as_of=when)
    defs = _local(ctx)
    local = defs.all()
    versions: dict[tuple[str, str], int] = {}
    with ctx.state.begin() as conn:
        for c in plan.pending:
            body = c.local.body if c.local else current_versions(ctx.state, c.kind, conn=conn)[(c.kind, c.name)].body
            versions[(c.kind, c.name)] = record_version(
                conn, kind=c.kind, name=c.name, body=body, file=c.file,
                status="removed" if c.action == "removed" else "active", applied_at=when)
        sync_schedules(conn, _desired_schedules(local, _graph(defs)), ctx.config.timezone, when)
        journeys = [(c.name, c.action, versions[(c.kind, c.name)], c.local.obj if c.local else None)
                    for c in plan.pending if c.kind == "journey"]
        if journeys:
            from segflow.journeys.versions import sync_states

            sync_states(conn, journeys, when)
    for c in plan.pending:
        if c.kind == "segment" and c.action == "removed":
            run_id = runs.start_run(ctx.state, kind="segment", name=c.name, version=versions[(c.kind, c.name)],
                                    trigger="delete", as_of=when)
            diff = drop_segment(ctx.warehouse, c.name, at=when, run_id=run_id)  # type: ignore[arg-type]
            runs.finish_run(ctx.state, run_id, status="ok", members=0, entered=0, exited=diff.exited)
    trait_summary = None
    trait_changes = [c for c in plan.pending if c.kind == "trait"]
    if trait_changes:
        from segflow.traits import refresh_traits

        trait_summary = refresh_traits(ctx, as_of=when, names=[c.name for c in trait_changes if c.action != "removed"])
    refreshed: list[RefreshResult] = []
    if refresh:
        models = _models_to_run(plan, defs)
        if models:
            from segflow.models.refresh import refresh_models

            refreshed = refresh_models(ctx, models, as_of=when, trigger="apply")
        refreshed += _refresh_changed(ctx, plan, defs, when, run_refresh)
    return ApplyResult(plan=plan, versions=versions, refreshed=refreshed, traits=trait_summary)


def _models_to_run(plan: Plan, defs: ProjectDefinitions) -> list[str]:
    """New and changed models, and the models that read a new or changed trait or model."""
    graph = _graph(defs)
    roots = {(c.kind, c.name) for c in plan.pending if c.action != "removed" and c.kind in ("trait", "model")}
    return sorted(n for k, n in graph.downstream(roots) & graph.refreshable if k == "model")


def _refresh_changed(ctx: ProjectContext, plan: Plan, defs: ProjectDefinitions, when: datetime,
                     run_refresh: Any) -> list[RefreshResult]:
    """Refresh new/changed dynamic segments and computed tags, and whatever reads them (or a changed trait)."""
    removed_traits = [c.name for c in plan.pending if c.kind == "trait" and c.action == "removed"]
    graph = _graph(defs, removed_traits)
    roots = {(c.kind, c.name) for c in plan.pending
             if c.action != "removed" and c.kind in ("segment", "tag", "trait", "model")} | {("trait", n) for n in removed_traits}
    affected = graph.downstream(roots) & graph.refreshable
    segs = sorted(n for k, n in affected if k == "segment")
    tags = sorted(n for k, n in affected if k == "tag")
    if not segs and not tags:
        return []
    return run_refresh(ctx, segs, tag_names=tags or None, as_of=when, trigger="apply")
