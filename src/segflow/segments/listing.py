"""The applied segments with their schedule, size and last refresh (``segflow segment list``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["SegmentInfo", "event_names", "list_segments", "member_counts"]


@dataclass(frozen=True)
class SegmentInfo:
    name: str
    type: str
    version: int
    schedule: str | None
    next_run: datetime | None
    members: int
    last_status: str | None
    last_as_of: datetime | None
    description: str | None
    #: Event names its rule reads that no loaded event has: until one arrives, those parts
    #: of the rule match no one (a misspelt name keeps a scheduled segment empty).
    unknown_events: list[str] = field(default_factory=list)
    #: The display name (``label:``); '' when the file gives none.
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def member_counts(ctx: ProjectContext) -> dict[str, int]:
    """Members per segment now (segments with none are absent)."""
    from segflow.warehouse import tables

    wh = ctx.warehouse
    if not wh.table_exists(tables.SEGMENT_MEMBERS):
        return {}
    return {name: int(n) for name, n in wh.rows(
        f"SELECT segment, count(*) FROM {tables.SEGMENT_MEMBERS} GROUP BY segment")}


def list_segments(ctx: ProjectContext) -> list[SegmentInfo]:
    """Every applied segment, in name order of application."""
    from segflow.definitions.runs import last_runs
    from segflow.definitions.versions import applied_segments
    from segflow.rules.project import EventNames
    from segflow.scheduler.schedules import list_schedules

    applied = applied_segments(ctx.state)
    counts = member_counts(ctx)
    last = last_runs(ctx.state, "segment")
    nexts = {s.name: s.next_run_at for s in list_schedules(ctx.state) if s.kind == "segment"}
    seen = EventNames(ctx.warehouse) if ctx.warehouse.table_exists("events") else frozenset()
    return [SegmentInfo(name=n, type=seg.type, version=v, schedule=seg.schedule, next_run=nexts.get(n),
                        members=counts.get(n, 0), last_status=last[n].status if n in last else None,
                        last_as_of=last[n].as_of if n in last else None, description=seg.description,
                        unknown_events=[e for e in event_names(seg.rule) if e not in seen], label=seg.label)
            for n, (v, seg) in applied.items()]


def event_names(rule: Any) -> list[str]:
    """The event names a rule (data) reads, in order; none for a rule that does not parse."""
    from segflow.rules.ast import Event, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    if rule is None:
        return []
    try:
        tree = parse_rule(rule)
    except RuleError:
        return []
    return list(dict.fromkeys(name for node in walk(tree) if isinstance(node, Event) for name in node.names))
