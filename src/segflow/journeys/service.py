"""Journeys for people: list, show, stats, start / pause / stop — what the CLI and the API call.

States: ``apply`` makes a new journey ``active``. ``pause`` holds it: no step is taken
and nobody enters, but entries keep counting — on ``start`` the runs due meanwhile go on
and the entries of the pause are taken with their own times. ``stop`` ends it: its runs in
progress exit (reason ``stopped``) and the entries until a later ``start`` are dropped
(entries count again from that start).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import at_or_now
from segflow.errors import DefinitionError

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.model import Journey

__all__ = ["JourneyInfo", "JourneyStats", "NodeStats", "journey_stats", "list_journeys", "set_status"]


@dataclass
class JourneyInfo:
    name: str
    version: int
    status: str
    description: str
    entry: str
    active: int
    entered: int
    converted: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class NodeStats:
    node: str
    kind: str
    label: str
    targets: tuple[str, ...]
    #: Runs that reached the node.
    entered: int = 0
    #: Runs at the node now, waiting (or queued over the active limit).
    waiting: int = 0
    #: Runs that left it for the next node (holdout runs included).
    passed: int = 0
    #: Messages / effects of the node: sent (or done), failed, skipped (with reasons), pending.
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    #: Runs that ended at this node (exit node, exit_when, goal...).
    ended: int = 0
    #: Runs that reached the node and converted (their goal).
    converted: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "targets": list(self.targets)}


@dataclass
class GroupStats:
    """Runs of one split arm, or of the holdout, and how many converted."""

    group: str
    runs: int
    converted: int

    @property
    def rate(self) -> float | None:
        return None if self.runs == 0 else self.converted / self.runs

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "runs": self.runs, "converted": self.converted, "rate": self.rate}


@dataclass
class JourneyStats:
    name: str
    version: int
    status: str
    runs: int
    active: int
    converted: int
    exits: dict[str, int]
    nodes: list[NodeStats]
    groups: list[GroupStats]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "status": self.status, "runs": self.runs,
                "active": self.active, "converted": self.converted, "exits": dict(self.exits),
                "nodes": [n.to_dict() for n in self.nodes], "groups": [g.to_dict() for g in self.groups]}


def graph_order(journey: Journey) -> list[str]:
    """The node ids from the start, depth first along each node's targets in order (the main path
    first: a branch's first case before its else), each once, then any node no path reaches."""
    order: list[str] = []
    stack = [journey.start]
    while stack:
        node_id = stack.pop()
        if node_id in order or node_id not in journey.nodes:
            continue
        order.append(node_id)
        stack.extend(reversed(journey.nodes[node_id].targets()))
    return order + [n for n in journey.nodes if n not in order]


def _states(ctx: ProjectContext) -> dict[str, Any]:
    from segflow.journeys import store

    return store.states(ctx.state)


def _entry_text(journey: Journey) -> str:
    from segflow.journeys.model import DateEntry, EventEntry, ScheduleEntry, SegmentEntry

    e = journey.entry
    if isinstance(e, SegmentEntry):
        return f"segment_{'exited' if e.exited else 'entered'}: {e.segment}"
    if isinstance(e, EventEntry):
        return f"event: {e.event.name}"
    if isinstance(e, DateEntry):
        return f"date: {e.attr}"
    if isinstance(e, ScheduleEntry):
        return f"schedule: {e.cron}"
    return "manual"


def list_journeys(ctx: ProjectContext) -> list[JourneyInfo]:
    """Every applied journey (removed ones left out) with its state and run counts."""
    from segflow.journeys.versions import applied_journey
    from segflow.state.tables import journey_runs as r

    states = _states(ctx)
    counts: dict[str, tuple[int, int, int]] = {}
    with ctx.state.engine.connect() as conn:
        for name, total, active, converted in conn.execute(sa.select(
                r.c.journey, sa.func.count(),
                sa.func.sum(sa.case((r.c.status.in_(("waiting", "queued")), 1), else_=0)),
                sa.func.count(r.c.converted_at)).group_by(r.c.journey)):
            counts[name] = (int(total), int(active or 0), int(converted))
    out = []
    for name, state in sorted(states.items()):
        if state.status == "removed":
            continue
        journey = applied_journey(ctx, name, state.version)
        total, active, converted = counts.get(name, (0, 0, 0))
        out.append(JourneyInfo(name, state.version, state.status, journey.description, _entry_text(journey),
                               active, total, converted))
    return out


def _state_of(ctx: ProjectContext, name: str) -> Any:
    states = _states(ctx)
    if name not in states or states[name].status == "removed":
        from difflib import get_close_matches

        known = sorted(n for n, s in states.items() if s.status != "removed")
        close = get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f" (applied: {', '.join(known)})" if known else
                                                              " (none is applied: add journeys/NAME.yaml and apply)")
        raise DefinitionError(f"no journey {name!r} is applied{hint}", code="unknown_journey", path=name)
    return states[name]


def journey_stats(ctx: ProjectContext, name: str) -> JourneyStats:
    """Per node: reached, waiting, passed, sent / failed / skipped, ended, converted; per split
    arm and the holdout: runs and conversion rate."""
    from segflow.journeys.versions import applied_journey
    from segflow.state.tables import journey_runs as r
    from segflow.state.tables import journey_steps as s
    from segflow.state.tables import outbox as o

    state = _state_of(ctx, name)
    journey = applied_journey(ctx, name, state.version)
    nodes = {n.id: NodeStats(n.id, n.kind, n.label, n.targets()) for n in journey.nodes.values()}

    def node(node_id: str) -> NodeStats:
        if node_id not in nodes:  # a node of an earlier version
            nodes[node_id] = NodeStats(node_id, "removed", "", ())
        return nodes[node_id]

    with ctx.state.engine.connect() as conn:
        reached = sa.union(sa.select(s.c.run_id, s.c.node).where(s.c.journey == name),
                           sa.select(r.c.id.label("run_id"), r.c.node).where(r.c.journey == name)).subquery()
        for node_id, n in conn.execute(sa.select(reached.c.node, sa.func.count(sa.distinct(reached.c.run_id)))
                                       .group_by(reached.c.node)):
            node(node_id).entered = int(n)
        converted_q = (sa.select(reached.c.node, sa.func.count(sa.distinct(reached.c.run_id)))
                       .join(r, r.c.id == reached.c.run_id).where(r.c.converted_at.is_not(None))
                       .group_by(reached.c.node))
        for node_id, n in conn.execute(converted_q):
            node(node_id).converted = int(n)
        for node_id, n in conn.execute(sa.select(s.c.node, sa.func.count(sa.distinct(s.c.run_id))).where(
                s.c.journey == name, s.c.outcome.in_(("passed", "queued", "held_out"))).group_by(s.c.node)):
            node(node_id).passed = int(n)
        exits: dict[str, int] = defaultdict(int)
        runs = active = converted = 0
        for node_id, status, reason, conv, n in conn.execute(sa.select(
                r.c.node, r.c.status, r.c.exit_reason, r.c.converted_at.is_not(None), sa.func.count())
                .where(r.c.journey == name).group_by(r.c.node, r.c.status, r.c.exit_reason,
                                                     r.c.converted_at.is_not(None))):
            n = int(n)
            runs += n
            converted += n if conv else 0
            if status in ("waiting", "queued"):
                node(node_id).waiting += n
                active += n
            else:
                node(node_id).ended += n
                exits[reason or status] += n
        for node_id, status, error, n in conn.execute(sa.select(o.c.node, o.c.status, o.c.error, sa.func.count())
                                                      .where(o.c.journey == name)
                                                      .group_by(o.c.node, o.c.status, o.c.error)):
            ns, n = node(node_id), int(n)
            if status in ("sent", "done", "simulated"):
                ns.sent += n
            elif status == "failed":
                ns.failed += n
                ns.errors[error or "failed"] = ns.errors.get(error or "failed", 0) + n
            elif status == "skipped":
                ns.skipped += n
                ns.skip_reasons[error or "skipped"] = ns.skip_reasons.get(error or "skipped", 0) + n
            else:
                ns.pending += n
        groups = []
        for holdout, variant, n, conv in conn.execute(sa.select(
                r.c.holdout, r.c.variant, sa.func.count(), sa.func.count(r.c.converted_at))
                .where(r.c.journey == name).group_by(r.c.holdout, r.c.variant).order_by(r.c.holdout, r.c.variant)):
            label = "holdout" if holdout else (variant or "all")
            groups.append(GroupStats(label, int(n), int(conv)))
    order = graph_order(journey) + [n for n in nodes if n not in journey.nodes]
    return JourneyStats(name, state.version, state.status, runs, active, converted, dict(exits),
                        [nodes[n] for n in order], groups)


def set_status(ctx: ProjectContext, name: str, action: str, *, at: datetime | None = None) -> str:
    """``start``, ``pause`` or ``stop`` journey *name* (see the module doc); returns the new status."""
    from segflow.journeys import store
    from segflow.state.tables import journey_runs as r

    if action not in ("start", "pause", "stop"):
        raise ValueError(action)
    when = at_or_now(at, ctx.clock)
    state = _state_of(ctx, name)
    status = {"start": "active", "pause": "paused", "stop": "stopped"}[action]
    with ctx.state.begin() as conn:
        values: dict[str, Any] = {"status": status}
        if action == "start" and state.status == "stopped":
            values["entry_cursor"] = when  # entries while stopped are dropped
        store.put_state(conn, name, **values)
        if action == "stop":
            conn.execute(r.update().where(r.c.journey == name, r.c.status.in_(("waiting", "queued"))).values(
                status="exited", exit_reason="stopped", finished_at=when, due_at=None))
    return status
