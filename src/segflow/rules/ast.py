"""The rule AST: one tree, consumed by every back end (SQL compiler, evaluator, explainer).

Nodes are frozen, keyword-only dataclasses; every node carries ``path``, the place in
the user's definition it came from (``all[2].event.within``), so any back end can point
at the offending part. :func:`segflow.rules.parse.parse_rule` builds the tree from
YAML/JSON data; :func:`segflow.rules.check.check_rule` validates it against the schema
and returns a *checked* tree, in which every comparison value has been converted to the
type of what it is compared with (``vtype``). Back ends accept checked trees only.

Semantics (spec/rules.md), which every back end implements exactly:

* evaluation is "as of" a timestamp T (UTC); data stamped after T is ignored;
  ``within: 7d`` means ``T - 7d < ts <= T``; a day is exactly 24 h;
* every leaf is strictly true or false; a comparison with a missing value is false;
  ``ne``/``not_in``/``not_contains`` are the exact complement of ``eq``/``in``/``contains``;
* an aggregate over no rows: ``count`` and ``sum`` are 0, the others are missing;
* calendar operations (anniversaries, months, distinct days) use the workspace time zone;
  for a DATE value, ``within``/``before`` compare with T's calendar date in that zone and
  whole days (``within: 30d`` is ``D - 30 < v <= D``; the checker refuses ``12h`` on a date).

Data each leaf reads (warehouse tables, see docs/data.md):

* the universe is the ``profiles`` table, minus profiles whose ``created_at`` is after T
  (they did not exist yet; a missing ``created_at`` counts as existing);
* ``Attr``: a column of ``profiles`` (or of ``accounts`` joined on ``account_id``);
  attributes hold their current values (there is no attribute history);
* ``Event``: ``events`` rows with the profile's ``profile_id``, ``event`` in ``names``,
  ``ts <= T`` and in the window, whose ``properties`` pass every ``where`` filter
  (a property is compared as a number when the test's value is a number, as a boolean
  when it is a boolean, else as text; a missing property fails every test, except the
  negative operators which are the complement of their positive twin);
* ``Orders``: ``orders`` rows with ``status`` in ``statuses`` (any when empty), ``ts <= T``
  and in the window; ``where`` filters with target "order" test order columns, and an
  order passes the "item" filters when one of its ``order_items`` passes them all;
* ``Tag``: a ``tag_assignments`` row (profile_id, tag, value, source, assigned_at,
  expires_at) with ``assigned_at <= T`` (or missing) and ``expires_at`` missing or ``> T``;
  tests compare its ``value`` (text);
* ``SegmentRef``: a ``segment_members`` row (segment, profile_id);
* ``Trait``: the column named like the trait in the ``traits`` table (one row per profile);
* ``MemberOf``: a ``memberships`` row of ``kind`` (and ``key``) with ``since <= T`` or missing;
* ``Subscribed``: a ``subscriptions`` row for ``channel`` (``topic``; any topic when None)
  with status ``opted_in`` and ``ts <= T`` or missing; for ``email`` the profile's
  ``email`` must be present and for ``sms`` its ``phone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from segflow.schema.types import AttributeType

__all__ = [
    "Scalar",
    "Value",
    "Op",
    "Duration",
    "Compare",
    "Node",
    "All",
    "AnyOf",
    "Not",
    "Attr",
    "Tag",
    "Trait",
    "SegmentRef",
    "MemberOf",
    "Subscribed",
    "Sample",
    "PropFilter",
    "Window",
    "AggFunc",
    "Aggregate",
    "Event",
    "Orders",
    "Condition",
    "POSITIVE_TWIN",
    "walk",
]

Scalar = str | int | float | Decimal | bool | date | datetime


class Op(str, Enum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"  # inclusive on both ends
    CONTAINS = "contains"  # substring of text, or member of a list attribute
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IS_NULL = "is_null"  # value: bool
    WITHIN = "within"  # dates/timestamps: T - d < v <= T
    BEFORE = "before"  # dates/timestamps: v < T - d
    ANNIVERSARY_WITHIN = "anniversary_within"  # days to the next yearly anniversary <= d
    ANNIVERSARY_MONTH = "anniversary_month"  # value: 1..12 or "current"


#: Negative operators and the positive operator they are the exact complement of.
POSITIVE_TWIN = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_CONTAINS: Op.CONTAINS}


@dataclass(frozen=True, kw_only=True, slots=True)
class Duration:
    """``90min``, ``12h``, ``7d``, ``2w``: an integer and a unit; a day is exactly 24 h."""

    amount: int
    unit: str  # "min", "h", "d", "w"

    @property
    def seconds(self) -> int:
        return self.amount * {"min": 60, "h": 3600, "d": 86400, "w": 604800}[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


#: What a comparison compares against: a scalar, a list (in/not_in), a pair (between),
#: a duration (within/before/anniversary_within), a bool (is_null), a month or "current".
Value = Scalar | tuple[Scalar, ...] | Duration | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Node:
    path: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Compare(Node):
    op: Op
    value: Value
    #: Type of the left-hand side (set by the checker; None before checking).
    vtype: AttributeType | None = None


# -- combinators ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class All(Node):
    """AND; an empty ``all`` matches every profile."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class AnyOf(Node):
    """OR; never empty (the parser refuses an empty ``any``)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Not(Node):
    item: Condition


# -- profile-level leaves -----------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Attr(Node):
    """An attribute of the profile, or of its account when ``account`` (``account.industry``).

    ``tests`` are ANDed: ``{attr: age, gte: 22, lte: 28}`` has two.
    """

    name: str
    account: bool = False
    tests: tuple[Compare, ...]
    vtype: AttributeType | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Tag(Node):
    """Has the tag (no tests) or has it with a value passing ``tests`` (valued tags)."""

    name: str
    tests: tuple[Compare, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Trait(Node):
    """A computed trait's materialised value, compared like an attribute."""

    name: str
    tests: tuple[Compare, ...]
    vtype: AttributeType | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SegmentRef(Node):
    """Member of another segment (its stored membership)."""

    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberOf(Node):
    """A membership row of ``kind`` (and ``key`` when given) with ``since`` <= T or unknown."""

    kind: str
    key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscribed(Node):
    """Opted in on ``channel`` (``topic`` when given), stamped at or before T, and, for
    email/sms, with a usable address on the profile."""

    channel: str
    topic: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample(Node):
    """A stable pseudo-random share of profiles, identical on every engine:
    ``int(md5(f"{profile_id}:{salt}")[:8], 16) / 2**32 < fraction``."""

    fraction: float
    salt: str


# -- behaviour: events and orders ---------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class PropFilter(Node):
    """A filter on an event property, an order field or an order item field.

    ``target`` is "event" (a key of ``properties``), "order" (a column of orders) or
    "item" (a column of order_items: the order matches when one of its items passes
    every item filter). Set by the parser for events and by the checker for orders.
    """

    prop: str
    tests: tuple[Compare, ...]
    target: str = "event"


@dataclass(frozen=True, kw_only=True, slots=True)
class Window(Node):
    """Which rows count: ``within`` (T - d < ts <= T), ``between`` (inclusive ISO bounds,
    still never after T), or neither (all history up to T)."""

    within: Duration | None = None
    between: tuple[datetime, datetime] | None = None
    #: ``within: journey`` (since the run entered its journey) or ``within: node`` (since it
    #: reached its current node): rules inside journeys only, evaluated per run.
    scope: str | None = None


class AggFunc(str, Enum):
    COUNT = "count"
    SUM = "sum"  # orders: "total" is the same, over amount
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    DISTINCT_DAYS = "distinct_days"
    FIRST = "first"  # time of the first matching row
    LAST = "last"  # time of the last matching row


@dataclass(frozen=True, kw_only=True, slots=True)
class Aggregate(Node):
    """One aggregate per event/orders condition and the tests on its result.

    ``prop`` is the property (events) or column (orders; default ``amount``) for
    sum/avg/min/max. Over no rows count/sum/distinct_days are 0 and the others missing.
    """

    func: AggFunc
    prop: str | None = None
    tests: tuple[Compare, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Event(Node):
    names: tuple[str, ...]
    where: tuple[PropFilter, ...] = ()
    window: Window = Window()
    agg: Aggregate


@dataclass(frozen=True, kw_only=True, slots=True)
class Orders(Node):
    """Orders of the profile; ``statuses`` default ("paid",), empty tuple = any status."""

    statuses: tuple[str, ...] = ("paid",)
    where: tuple[PropFilter, ...] = ()
    window: Window = Window()
    agg: Aggregate


Condition = All | AnyOf | Not | Attr | Tag | Trait | SegmentRef | MemberOf | Subscribed | Sample | Event | Orders


def walk(node: Condition):  # type: ignore[no-untyped-def]
    """Every condition node of the tree, parents before children."""
    yield node
    if isinstance(node, (All, AnyOf)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)
