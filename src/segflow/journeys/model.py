"""A journey definition as typed objects: what ``journeys/<name>.yaml`` says, checked.

:mod:`segflow.journeys.definition` reads a file into a :class:`Journey` (every problem at
once, each naming the journey, the node id and the field); the engine
(:mod:`segflow.journeys.engine`), the simulator and the CLI read only these classes.

Durations are whole seconds (``3d`` → 259200). Rules (``exit_when``, a branch's ``when``,
a schedule's ``audience``) are kept as the user's rule data (dict/list): the engine checks
and compiles them with the rule language, which allows ``within: journey`` (since the run
entered) and ``within: node`` (since the run reached the current node) inside journeys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Branch",
    "BranchCase",
    "DateEntry",
    "EventEntry",
    "EventMatch",
    "Exit",
    "Goal",
    "Journey",
    "Limits",
    "ManualEntry",
    "Node",
    "ScheduleEntry",
    "SegmentEntry",
    "SegmentEffect",
    "Send",
    "SetAttributes",
    "Split",
    "SplitArm",
    "TagEffect",
    "Wait",
    "WaitFor",
    "WaitUntil",
    "Webhook",
    "Entry",
    "Effect",
    "NODE_KINDS",
]


# -- entries (exactly one per journey) ------------------------------------------------------
@dataclass(frozen=True)
class SegmentEntry:
    """``segment_entered: NAME`` (``exited=False``) or ``segment_exited: NAME``."""

    segment: str
    exited: bool = False


@dataclass(frozen=True)
class EventMatch:
    """An event name and rule-language property filters (``where``: ``{prop: {op: value}}``)."""

    name: str
    where: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventEntry:
    event: EventMatch


@dataclass(frozen=True)
class DateEntry:
    """Once a year (DATE attribute) or once (TIMESTAMP) per profile, *offset* seconds from the
    date (``-7d`` → -604800), at local time *at* ("HH:MM") in the profile's ``timezone``
    attribute, else the project's zone."""

    attr: str
    offset: int = 0
    at: str = "00:00"


@dataclass(frozen=True)
class ScheduleEntry:
    cron: str
    #: A rule (``{segment: NAME}`` is the usual one).
    audience: Any


@dataclass(frozen=True)
class ManualEntry:
    pass


Entry = SegmentEntry | EventEntry | DateEntry | ScheduleEntry | ManualEntry


@dataclass(frozen=True)
class Goal:
    event: EventMatch
    #: Seconds after entry in which the goal event converts the run.
    window: int


@dataclass(frozen=True)
class Limits:
    #: At most this many runs in progress at once; entries beyond it wait (not dropped).
    active: int | None = None
    #: At most this many sends a day (project time zone) for this journey; the rest wait to the next day.
    sends_per_day: int | None = None


# -- nodes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    channel: str
    template: str
    topic: str | None = None
    transactional: bool = False


@dataclass(frozen=True)
class Wait:
    """``wait: 3d``: *seconds* after the run reached the node."""

    seconds: int


@dataclass(frozen=True)
class WaitUntil:
    """``wait: {until: "10:00", days: [mon, ...]}``: the next such local time (profile zone,
    else project zone); *days* are 0 = Monday ... 6 = Sunday (empty: every day)."""

    until: str
    days: tuple[int, ...] = ()


@dataclass(frozen=True)
class WaitFor:
    """``wait: {for: {event: NAME, where: {...}}, timeout: 3d, then: ID, else: ID}``."""

    event: EventMatch
    timeout: int
    then: str
    otherwise: str


@dataclass(frozen=True)
class BranchCase:
    when: Any
    next: str


@dataclass(frozen=True)
class Branch:
    cases: tuple[BranchCase, ...]
    otherwise: str


@dataclass(frozen=True)
class SplitArm:
    name: str
    weight: int
    next: str


@dataclass(frozen=True)
class Split:
    arms: tuple[SplitArm, ...]


@dataclass(frozen=True)
class TagEffect:
    tag: str
    remove: bool = False


@dataclass(frozen=True)
class SetAttributes:
    values: dict[str, Any]


@dataclass(frozen=True)
class SegmentEffect:
    segment: str
    remove: bool = False


@dataclass(frozen=True)
class Webhook:
    url: str
    method: str = "POST"
    #: A template text (Jinja2, sandboxed) rendered per profile; None: the default JSON body.
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exit:
    pass


Effect = Send | TagEffect | SetAttributes | SegmentEffect | Webhook
NodeBody = Send | Wait | WaitUntil | WaitFor | Branch | Split | TagEffect | SetAttributes | SegmentEffect | Webhook | Exit

#: The YAML key of each node kind.
NODE_KINDS = ("send", "wait", "branch", "split", "tag", "set", "segment", "webhook", "exit")


@dataclass(frozen=True)
class Node:
    id: str
    body: NodeBody
    #: The node after this one (None for exit, branch, split and wait-for, which name their targets).
    next: str | None = None
    #: A label shown in ``journey show`` (optional ``label:`` key).
    label: str = ""

    @property
    def kind(self) -> str:
        """``send``, ``wait``, ``branch``, ``split``, ``tag``, ``set``, ``segment``, ``webhook`` or ``exit``."""
        return {Send: "send", Wait: "wait", WaitUntil: "wait", WaitFor: "wait", Branch: "branch", Split: "split",
                TagEffect: "tag", SetAttributes: "set", SegmentEffect: "segment", Webhook: "webhook",
                Exit: "exit"}[type(self.body)]

    def targets(self) -> tuple[str, ...]:
        """Every node id this node can lead to, in order."""
        b = self.body
        if isinstance(b, Branch):
            return (*(c.next for c in b.cases), b.otherwise)
        if isinstance(b, Split):
            return tuple(a.next for a in b.arms)
        if isinstance(b, WaitFor):
            return (b.then, b.otherwise)
        return () if self.next is None else (self.next,)


@dataclass(frozen=True)
class Journey:
    name: str
    file: str
    entry: Entry
    start: str
    nodes: dict[str, Node]
    description: str = ""
    owner: str = ""
    label: str = ""
    #: None: from the apply time.
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    #: "never" (default), "always", or "after" with *re_entry_after* seconds.
    re_entry: str = "never"
    re_entry_after: int | None = None
    exit_when: Any = None
    goal: Goal | None = None
    holdout: float = 0.0
    limits: Limits = field(default_factory=Limits)
    #: The file's mapping, canonical: what is versioned (fingerprint).
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def body(self) -> dict[str, Any]:
        return dict(self.data)

    @property
    def schedule(self) -> str | None:
        """A ``schedule`` entry's cron (the worker's own tick handles it; not a refresh schedule)."""
        return None
