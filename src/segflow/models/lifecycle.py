"""Lifecycle stages: every profile in one stage of an ordered list, each stage a rule; first match wins.

    >>> result = run_lifecycle(ws, as_of=datetime(2026, 11, 1, tzinfo=UTC))   # doctest: +SKIP
    >>> result.stages                                                         # doctest: +SKIP
    {'prospect': 9120, 'new': 310, 'reactivated': 41, 'loyal': 802, 'active': 1730, ...}

**Stages.** A config (:class:`LifecycleConfig`, ``models/lifecycle.yaml``) is an ordered
list of stages, each with a ``name``, a ``rule`` in the rule language and English and
Chinese labels. Every stage rule is checked with the project's rule checker and compiled
with the rule compiler as of T; the model combines them as one ``CASE WHEN stage 1 THEN ...
WHEN stage 2 ...`` over ``profiles`` — one set-based query, **first match wins**. A profile
that matches no stage has no stage (NULL, reported as ``unclassified``): never silently the
last one. Profiles that do not exist yet at T (``created_at > T``) have no stage either.

**Returned after a gap.** The rule language has windows measured back from T only, so
it cannot say "ordered within 30 days after more than 180 days without an order". A stage
may add that as a model-level condition, ``returned: {after: 180d, within: 30d}``: the
profile has a paid order ``r`` with ``T - within < r <= T`` whose previous paid order is
more than ``after`` before ``r`` (``r - previous > after``). The default ``reactivated``
stage is exactly that. It is stateless (it reads orders, not earlier runs), so it is true
as of any time, like a rule.

**Outputs.** :func:`run_lifecycle` writes the traits ``lifecycle_stage`` (text) and
``lifecycle_since`` (timestamp: when the profile entered its current stage, as far as the
history knows) owned by ``model:lifecycle``, and appends the day's changes to the warehouse
table ``lifecycle_history`` — in one transaction, so an error writes nothing.

**History** (``lifecycle_history(profile_id, stage, previous_stage, day, as_of, recorded_at)``):
one row per change, on the *day* of the run (T's date in the project's time zone), stamped
with the time the stages were evaluated as of (``as_of``). A profile's stage on a day is its
latest row on or before that day. ``lifecycle_days`` records each evaluated day. Re-running
a day replaces that day's rows (idempotent: never duplicated). Running a day *before* the
latest evaluated one inserts it: its changes are relative to the day before it, and the next
evaluated day keeps the stages it was evaluated with (its rows are rewritten relative to the
inserted day), so every evaluated day still reads back as it was evaluated. The first run
records every profile's stage as entered (``previous_stage`` NULL), as a segment's first
refresh does. :func:`lifecycle_changes` lists the changes since a time: "entered stage X",
what journeys start on.

**Range** (:func:`lifecycle_range`): the stage distribution at the end of each day (the last
microsecond of the day in the project's time zone; today: now) and the migration matrix
between the first and the last day. Read-only, unless ``backfill`` asks it to write each
day's history (never the traits).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from segflow import clock
from segflow.clock import at_or_now, utc
from segflow.errors import ModelError, QueryError, RuleError
from segflow.models.registry import ModelKind, register_model
from segflow.schema.types import AttributeType as T
from segflow.warehouse import tables

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext
    from segflow.rules.ast import Condition

__all__ = ["ABSENT", "DEFAULT_STAGES", "HISTORY_TABLE", "DAYS_TABLE", "OUTPUTS", "OWNER", "UNCLASSIFIED",
           "LifecycleConfig", "LifecycleRange", "LifecycleResult", "Returned", "Stage", "day_of", "end_of_day",
           "lifecycle_changes", "lifecycle_range", "lifecycle_sql", "load_lifecycle_config", "run_lifecycle"]

OWNER = "model:lifecycle"
#: The traits the model writes and their types.
OUTPUTS: dict[str, T] = {"lifecycle_stage": T.STRING, "lifecycle_since": T.TIMESTAMP}
HISTORY_TABLE = tables.LIFECYCLE_HISTORY
DAYS_TABLE = tables.LIFECYCLE_DAYS
#: A profile that matches no stage (its ``lifecycle_stage`` is NULL).
UNCLASSIFIED = "unclassified"
#: The migration matrix's row of profiles that did not exist yet on the first day.
ABSENT = "absent"
#: The longest range a call evaluates (a typo in a year would otherwise run for hours).
MAX_DAYS = 3660

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NEW, _RET = "_segflow_lc_new", "_segflow_lc_ret"

#: The default stages, in evaluation order (first match wins); docs/models.md explains each.
DEFAULT_STAGES: tuple[dict[str, Any], ...] = (
    {"name": "prospect", "label_en": "prospect", "label_zh": "潜在用户",
     "rule": {"not": {"orders": {}}}},
    {"name": "new", "label_en": "new", "label_zh": "新用户",
     "rule": {"orders": {"first": {"within": "30d"}}}},
    {"name": "reactivated", "label_en": "reactivated", "label_zh": "召回用户",
     "returned": {"after": "180d", "within": "30d"}},
    {"name": "loyal", "label_en": "loyal", "label_zh": "忠诚用户",
     "rule": {"all": [{"orders": {"within": "365d", "count": {"gte": 3}}}, {"orders": {"within": "90d"}}]}},
    {"name": "active", "label_en": "active", "label_zh": "活跃用户",
     "rule": {"orders": {"within": "90d"}}},
    {"name": "at_risk", "label_en": "at risk", "label_zh": "流失风险用户",
     "rule": {"all": [{"orders": {"within": "180d"}}, {"not": {"orders": {"within": "90d"}}}]}},
    {"name": "dormant", "label_en": "dormant", "label_zh": "沉睡用户",
     "rule": {"all": [{"orders": {}}, {"not": {"orders": {"within": "180d"}}}]}},
)


# -- the config ----------------------------------------------------------------------------------

def _duration(value: Any) -> Any:
    from segflow.rules.parse import parse_duration

    d = parse_duration(value)
    if d is None or d.seconds <= 0:
        raise ValueError(f"{value!r} is not a duration (an integer and min, h, d or w: 90min, 12h, 30d, 2w)")
    return d


class Returned(BaseModel):
    """A model-level condition: a paid order within ``within`` whose previous paid order is
    more than ``after`` before it (the customer came back after a gap)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    after: str = "180d"
    within: str = "30d"

    @field_validator("after", "within")
    @classmethod
    def _check(cls, v: Any) -> str:
        _duration(v)
        return str(v)

    @property
    def after_seconds(self) -> int:
        return int(_duration(self.after).seconds)

    @property
    def within_seconds(self) -> int:
        return int(_duration(self.within).seconds)


class Stage(BaseModel):
    """One stage: a name, a rule (the rule language; omitted = everyone), an optional
    :class:`Returned` condition, labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    rule: Any = None
    returned: Returned | None = None
    label_en: str | None = None
    label_zh: str | None = None
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a stage name (lower-case letters, digits and _, starting with a letter)")
        if v in (UNCLASSIFIED, ABSENT):
            raise ValueError(f"{v!r} is reserved (the model reports profiles without a stage under it)")
        return v

    @model_validator(mode="after")
    def _something(self) -> Stage:
        if self.rule is None and self.returned is None:
            raise ValueError(f"stage {self.name!r} needs a rule (or returned:); write rule: {{all: []}} "
                             "for a stage every remaining profile falls into")
        return self

    @property
    def en(self) -> str:
        return self.label_en or self.name.replace("_", " ")

    @property
    def zh(self) -> str:
        return self.label_zh or self.en


class LifecycleConfig(BaseModel):
    """What ``models/lifecycle.yaml`` (or a config file given to the command) may set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The stages in evaluation order: the first whose rule holds is the profile's stage.
    stages: tuple[Stage, ...] = tuple(Stage.model_validate(s) for s in DEFAULT_STAGES)

    @field_validator("stages")
    @classmethod
    def _some(cls, v: tuple[Stage, ...]) -> tuple[Stage, ...]:
        if not v:
            raise ValueError("give at least one stage")
        return v

    @model_validator(mode="after")
    def _unique(self) -> LifecycleConfig:
        seen: dict[str, int] = {}
        for i, stage in enumerate(self.stages):
            if stage.name in seen:
                raise ValueError(f"stages[{i}].name: {stage.name!r} is also the name of stages[{seen[stage.name]}]")
            seen[stage.name] = i
        return self

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def labels(self) -> dict[str, dict[str, str]]:
        return {s.name: {"en": s.en, "zh": s.zh} for s in self.stages}

    def fingerprint(self) -> str:
        from segflow.models.config import config_fingerprint

        return config_fingerprint(self)


def load_lifecycle_config(path: Path | None = None, *, root: Path | None = None) -> tuple[LifecycleConfig, str | None]:
    """The config in *path*, else ``<root>/models/lifecycle.yaml`` when it exists, else the
    defaults. Returns it and the file it came from. ModelError naming the file and field
    (``stages[2].name``) for a config that cannot be used (:mod:`segflow.models.config`);
    the stage rules are checked against the project by :func:`run_lifecycle`."""
    from segflow.models.config import load_model_config

    return load_model_config("lifecycle", LifecycleConfig, path, root=root)


# -- checking the stage rules ------------------------------------------------------------------

@dataclass(frozen=True)
class _Checked:
    stage: Stage
    #: The checked rule, or None when the stage has only ``returned``.
    tree: Condition | None


def _check_stages(ctx: ProjectContext, config: LifecycleConfig, file: str | None) -> tuple[list[_Checked], list[str]]:
    """Every stage rule parsed and checked against the project; ModelError (one line, naming
    the file and the stage's rule path) listing how many problems there are in all."""
    from segflow.rules.ast import Trait, walk
    from segflow.rules.project import check_in, rule_context

    context = rule_context(ctx)
    problems: list[tuple[str, str, str]] = []  # (path, code, message)
    warnings: list[str] = []
    checked: list[_Checked] = []
    for i, stage in enumerate(config.stages):
        base = f"stages[{i}].rule"
        if stage.rule is None:
            checked.append(_Checked(stage, None))
            continue
        try:
            rule = check_in(ctx, stage.rule, context=context)
        except RuleError as e:
            problems += [(f"{base}.{p.path}" if p.path else base, p.code, p.message) for p in e.problems]
            continue
        warnings += [f"{base}.{w.path}: {w.message}" if w.path else f"{base}: {w.message}" for w in rule.warnings]
        own = [n for n in walk(rule.tree) if isinstance(n, Trait) and n.name in OUTPUTS]
        if own:
            problems.append((f"{base}.{own[0].path}" if own[0].path else base, "self_reference",
                             f"reads {own[0].name}, which this model writes: a stage cannot depend on the "
                             "model's own output"))
            continue
        checked.append(_Checked(stage, rule.tree))
    if problems:
        path, code, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ModelError(f"{file or 'lifecycle config'}: {path}: {message}{more}", code=code, path=path)
    return checked, warnings


# -- time ------------------------------------------------------------------------------------

def day_of(t: datetime, zone: str) -> date:
    """The calendar day of *t* in the time zone *zone*."""
    return utc(t).astimezone(ZoneInfo(zone)).date()


def end_of_day(day: date, zone: str) -> datetime:
    """The last microsecond of *day* in *zone*, in UTC (what a daily stage is evaluated as of)."""
    midnight = datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=ZoneInfo(zone))
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


def _ts(value: datetime) -> str:
    return f"CAST('{utc(value).isoformat()}' AS TIMESTAMPTZ)"


def _date(value: date) -> str:
    return f"CAST('{value.isoformat()}' AS DATE)"


# -- the query -------------------------------------------------------------------------------

def _returns_sql(gap_seconds: int) -> str:
    """Paid orders whose previous paid order (of the same profile) is more than *gap_seconds*
    before them: ``profile_id, ts``. Independent of T (an order's previous order is earlier)."""
    return f"""SELECT "profile_id", "ts" FROM (
  SELECT "o"."profile_id" AS "profile_id", "o"."ts" AS "ts",
         lag("o"."ts") OVER (PARTITION BY "o"."profile_id" ORDER BY "o"."ts") AS "previous"
  FROM "orders" AS "o"
  WHERE "o"."status" = 'paid' AND "o"."profile_id" IS NOT NULL AND "o"."ts" IS NOT NULL
) AS "r" WHERE "previous" < "ts" - INTERVAL '{gap_seconds}' SECOND"""


def lifecycle_sql(ctx: ProjectContext, checked: list[_Checked], as_of: datetime) -> str:
    """One row per profile existing at *as_of*: ``profile_id`` and ``stage`` (the first stage
    whose rule holds; NULL when none does). The ``returned`` conditions read the temporary
    tables :func:`_prepare_returns` made."""
    import sqlglot
    from sqlglot import exp

    from segflow.rules.ast import All
    from segflow.rules.compile import RuleCompiler
    from segflow.rules.dialects import dialect_named

    dialect = dialect_named(ctx.warehouse.DIALECT)
    compiler = RuleCompiler(as_of, ctx.config.timezone, dialect)
    t = utc(as_of)
    ifs = []
    for i, c in enumerate(checked):
        conds: list[exp.Expr] = []
        if c.tree is not None:
            conds.append(compiler.condition(c.tree, True))
        if c.stage.returned is not None:
            since = t - timedelta(seconds=c.stage.returned.within_seconds)
            conds.append(sqlglot.parse_one(
                f'"p"."profile_id" IN (SELECT "profile_id" FROM {_RET}{i} WHERE "ts" > {_ts(since)} '
                f'AND "ts" <= {_ts(t)})', read=dialect.NAME))
        cond = exp.and_(*conds) if len(conds) > 1 else conds[0]
        ifs.append(exp.If(this=cond, true=exp.Literal.string(c.stage.name)))
    case = exp.Case(ifs=ifs, default=exp.Null())
    select = compiler.query(All(items=())).select(exp.alias_(case, "stage", quoted=True), append=True)
    return select.sql(dialect=dialect.NAME)


def _prepare_returns(ctx: ProjectContext, checked: list[_Checked]) -> list[str]:
    """The temporary tables of return orders the ``returned`` conditions read; their names."""
    made = []
    for i, c in enumerate(checked):
        if c.stage.returned is not None:
            ctx.warehouse.temp_table(f"{_RET}{i}", _returns_sql(c.stage.returned.after_seconds))
            made.append(f"{_RET}{i}")
    return made


def _counts(ctx: ProjectContext, table: str, names: list[str]) -> tuple[dict[str, int], int]:
    """Profiles per stage (in config order, zeros kept) and unclassified, of *table* (profile_id, stage)."""
    got = {s: int(n) for s, n in ctx.warehouse.rows(f'SELECT "stage", count(*) FROM {table} GROUP BY 1')}
    unclassified = got.pop(None, 0)  # type: ignore[call-overload]
    return {name: got.get(name, 0) for name in names}, unclassified


# -- history ---------------------------------------------------------------------------------

def _state_sql(*, before: date | None = None, upto: date | None = None) -> str:
    """Each profile's latest history row before / on or before a day: ``profile_id, stage, as_of``."""
    cond = f'"day" < {_date(before)}' if before is not None else f'"day" <= {_date(upto)}'  # type: ignore[arg-type]
    return f"""SELECT "h"."profile_id" AS "profile_id", "h"."stage" AS "stage", "h"."as_of" AS "as_of"
FROM {HISTORY_TABLE} AS "h" JOIN (
  SELECT "profile_id", max("day") AS "day" FROM {HISTORY_TABLE} WHERE {cond} GROUP BY 1
) AS "m" ON "m"."profile_id" = "h"."profile_id" AND "m"."day" = "h"."day\""""


def _write_history(ctx: ProjectContext, stages: str, day: date, at: datetime, fingerprint: str, *,
                   profiles: int) -> int:
    """Record the stages in the table *stages* (profile_id, stage) as day *day* evaluated as of
    *at*; returns the rows written for *day*. Inside the caller's transaction."""
    wh = ctx.warehouse
    tables.ensure(wh, HISTORY_TABLE, DAYS_TABLE)
    now = clock.now()
    following = wh.rows(f'SELECT "day", "as_of" FROM {DAYS_TABLE} WHERE "day" > ? ORDER BY "day" LIMIT 1', [day])
    if following:
        # The next evaluated day keeps the stages it was evaluated with: read them before
        # anything changes, and rewrite its rows relative to the day inserted before it.
        nxt, nxt_at = following[0]
        wh.temp_table("_segflow_lc_next", _state_sql(upto=nxt))
    wh.temp_table("_segflow_lc_prev", _state_sql(before=day))
    wh.execute(f'DELETE FROM {HISTORY_TABLE} WHERE "day" = ?', [day])
    wh.execute(f"""INSERT INTO {HISTORY_TABLE} ("profile_id", "stage", "previous_stage", "day", "as_of", "recorded_at")
SELECT COALESCE("n"."profile_id", "o"."profile_id"), "n"."stage", "o"."stage", ?, ?, ?
FROM {stages} AS "n" FULL OUTER JOIN "_segflow_lc_prev" AS "o" ON "o"."profile_id" = "n"."profile_id"
WHERE "n"."stage" IS DISTINCT FROM "o"."stage\"""", [day, utc(at), now])
    written = wh.count(f'SELECT count(*) FROM {HISTORY_TABLE} WHERE "day" = ?', [day])
    if following:
        wh.execute(f'DELETE FROM {HISTORY_TABLE} WHERE "day" = ?', [nxt])
        wh.execute(f"""INSERT INTO {HISTORY_TABLE} ("profile_id", "stage", "previous_stage", "day", "as_of", "recorded_at")
SELECT COALESCE("x"."profile_id", "n"."profile_id"), "x"."stage", "n"."stage", ?, ?, ?
FROM "_segflow_lc_next" AS "x" FULL OUTER JOIN {stages} AS "n" ON "n"."profile_id" = "x"."profile_id"
WHERE "x"."stage" IS DISTINCT FROM "n"."stage\"""", [nxt, nxt_at, now])
    wh.execute(f'DELETE FROM {DAYS_TABLE} WHERE "day" = ?', [day])
    wh.execute(f'INSERT INTO {DAYS_TABLE} VALUES (?, ?, ?, ?, ?, ?)', [day, utc(at), fingerprint, profiles, written, now])
    wh.drop_tables("_segflow_lc_prev", "_segflow_lc_next")
    return written


# -- one day ---------------------------------------------------------------------------------

@dataclass
class LifecycleResult:
    """What one run wrote: profiles per stage, and the day's changes."""

    as_of: datetime
    #: The day the run is recorded under in the history (T's date in *timezone*).
    day: date
    timezone: str
    file: str | None
    config: dict[str, Any]
    #: Profiles that exist at T.
    profiles: int
    #: Profiles per stage, in the config's order (zeros kept).
    stages: dict[str, int]
    #: Profiles that match no stage (``lifecycle_stage`` NULL).
    unclassified: int
    labels: dict[str, dict[str, str]]
    #: Profiles that entered each stage on this day (history rows; the first run: everyone).
    entered: dict[str, int]
    #: The day's changes: ``{"from": stage or None, "to": stage or None, "profiles": n}``.
    transitions: list[dict[str, Any]]
    #: History rows written for the day.
    changes: int
    #: True when the history had no day before this one (every stage is "entered").
    first_day: bool
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ready(ctx: ProjectContext, config: LifecycleConfig | None, file: str | None) -> tuple[
        LifecycleConfig, list[_Checked], list[str]]:
    cfg = config or LifecycleConfig()
    checked, warnings = _check_stages(ctx, cfg, file)
    return cfg, checked, warnings


def run_lifecycle(ctx: ProjectContext, *, as_of: datetime | None = None, config: LifecycleConfig | None = None,
                  file: str | None = None) -> LifecycleResult:
    """Put every profile in its stage as of *as_of* (default now): write ``lifecycle_stage``
    and ``lifecycle_since`` and record the day's changes in ``lifecycle_history``.

    All or nothing: a config whose rules fail the checks raises :class:`ModelError` before
    anything is written, and any later error leaves the traits and the history as they were.
    """
    from segflow.traits.store import write_owned_traits

    if ctx.read_only:
        raise QueryError("cannot write the lifecycle stages: the workspace is open read-only", code="read_only")
    started = time.perf_counter()
    cfg, checked, warnings = _ready(ctx, config, file)
    when = at_or_now(as_of, ctx.clock)
    zone = ctx.config.timezone
    day = day_of(when, zone)
    wh = ctx.warehouse
    temps = _prepare_returns(ctx, checked)
    try:
        with wh.transaction():
            wh.temp_table(_NEW, lifecycle_sql(ctx, checked, when))
            stages, unclassified = _counts(ctx, _NEW, cfg.names)
            profiles = sum(stages.values()) + unclassified
            first_day = not (wh.table_exists(DAYS_TABLE)
                             and wh.count(f'SELECT count(*) FROM {DAYS_TABLE} WHERE "day" < ?', [day]))
            changes = _write_history(ctx, _NEW, day, when, cfg.fingerprint(), profiles=profiles)
            since = _state_sql(upto=day)
            write_owned_traits(
                ctx, OWNER, OUTPUTS,
                f'SELECT "n"."profile_id" AS "profile_id", "n"."stage" AS "lifecycle_stage", '
                f'CASE WHEN "n"."stage" IS NULL THEN NULL ELSE "s"."as_of" END AS "lifecycle_since" '
                f'FROM {_NEW} AS "n" LEFT JOIN ({since}) AS "s" ON "s"."profile_id" = "n"."profile_id"',
                as_of=when, file=file, fingerprint=cfg.fingerprint())
            rows = wh.rows(f'SELECT "previous_stage", "stage", count(*) FROM {HISTORY_TABLE} WHERE "day" = ? '
                           'GROUP BY 1, 2', [day])
    finally:
        wh.drop_tables(_NEW, *temps)
    order = {name: i for i, name in enumerate(cfg.names)}

    def rank(stage: str | None) -> int:
        return -1 if stage is None else order.get(stage, len(order))

    transitions = [{"from": a, "to": b, "profiles": int(n)}
                   for a, b, n in sorted(rows, key=lambda r: (rank(r[0]), rank(r[1]), str(r[0]), str(r[1])))]
    entered = dict.fromkeys(cfg.names, 0)
    for t in transitions:
        if t["to"] is not None:
            entered[t["to"]] = entered.get(t["to"], 0) + t["profiles"]
    return LifecycleResult(as_of=when, day=day, timezone=zone, file=file, config=cfg.model_dump(mode="json"),
                           profiles=profiles, stages=stages, unclassified=unclassified, labels=cfg.labels(),
                           entered=entered, transitions=transitions, changes=changes, first_day=first_day,
                           warnings=warnings, seconds=time.perf_counter() - started)


def lifecycle_changes(ctx: ProjectContext, *, since: datetime | None = None, until: datetime | None = None,
                      stage: str | None = None, limit: int | None = None) -> pa.Table:
    """The recorded stage changes (``profile_id, stage, previous_stage, day, as_of, recorded_at``),
    oldest first: with *stage*, who **entered** that stage — the change a journey starts on,
    like a segment's ``entered``. *since* / *until* bound ``as_of`` (inclusive), the time the
    stages were evaluated as of."""
    wh = ctx.warehouse
    query = (f'SELECT "profile_id", "stage", "previous_stage", "day", "as_of", "recorded_at" FROM {HISTORY_TABLE} '
             "WHERE true")
    params: list[Any] = []
    for cond, value in (('"as_of" >= ?', since and utc(since)), ('"as_of" <= ?', until and utc(until)),
                        ('"stage" = ?', stage)):
        if value is not None:
            query += f" AND {cond}"
            params.append(value)
    query += ' ORDER BY "as_of", "profile_id"'
    if limit is not None:
        query += " LIMIT ?"
        params.append(int(limit))
    if not wh.table_exists(HISTORY_TABLE):  # never run: no changes (and nothing created on a read)
        import pyarrow as pa

        return pa.table({"profile_id": pa.array([], pa.string()), "stage": pa.array([], pa.string()),
                         "previous_stage": pa.array([], pa.string()), "day": pa.array([], pa.date32()),
                         "as_of": pa.array([], pa.timestamp("us", tz="UTC")),
                         "recorded_at": pa.array([], pa.timestamp("us", tz="UTC"))})
    return wh.query(query, params=params)


# -- a range of days -------------------------------------------------------------------------

#: progress(days done, days in all, the day just evaluated)
LifecycleProgress = Callable[[int, int, date], None]


@dataclass
class LifecycleRange:
    """The stage distribution at the end of each day, and the migration matrix between the
    first and the last day."""

    start: date
    end: date
    timezone: str
    file: str | None
    config: dict[str, Any]
    labels: dict[str, dict[str, str]]
    #: One entry per day: ``{"day", "as_of", "profiles", "stages": {name: n}, "unclassified"}``.
    days: list[dict[str, Any]]
    #: ``{"from": day, "to": day, "rows": {stage at the first day: {stage at the last day: n}}}``;
    #: rows and columns are every stage, then ``unclassified`` and (rows) ``absent`` when any.
    matrix: dict[str, Any]
    #: Whether each day's stages were written to the history.
    backfilled: bool = False
    #: History rows written (backfill only).
    changes: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _day(value: date | datetime, zone: str) -> date:
    return day_of(value, zone) if isinstance(value, datetime) else value


def lifecycle_range(ctx: ProjectContext, start: date | datetime, end: date | datetime, *,
                    config: LifecycleConfig | None = None, file: str | None = None, backfill: bool = False,
                    progress: LifecycleProgress | None = None) -> LifecycleRange:
    """Evaluate the stages at the end of every day from *start* to *end* (dates, or times
    whose day in the project's zone is meant; today is evaluated as of now).

    Read-only unless *backfill*: then each day's changes are recorded in the history as a
    daily run of that day would (the traits are not written). Every day gives the same
    stages as :func:`run_lifecycle` as of that day's end.
    """
    started = time.perf_counter()
    cfg, checked, warnings = _ready(ctx, config, file)
    if backfill and ctx.read_only:
        raise QueryError("cannot write the lifecycle history: the workspace is open read-only", code="read_only")
    zone = ctx.config.timezone
    first, last = _day(start, zone), _day(end, zone)
    now = at_or_now(None, ctx.clock)
    today = day_of(now, zone)
    if first > last:
        raise ModelError(f"lifecycle: the range starts on {first} after it ends on {last}", code="bad_range",
                         path="start")
    if last > today:
        raise ModelError(f"lifecycle: the range ends on {last}, after today ({today} in {zone})", code="bad_range",
                         path="end")
    total = (last - first).days + 1
    if total > MAX_DAYS:
        raise ModelError(f"lifecycle: {total} days from {first} to {last}; at most {MAX_DAYS} days at a time",
                         code="bad_range", path="start")
    wh = ctx.warehouse
    temps = _prepare_returns(ctx, checked)
    out: list[dict[str, Any]] = []
    changes = 0
    kept = {0: "_segflow_lc_first", total - 1: "_segflow_lc_last"}
    try:
        for k in range(total):
            day = first + timedelta(days=k)
            at = min(end_of_day(day, zone), now)
            table = kept.get(k, _NEW)
            wh.temp_table(table, lifecycle_sql(ctx, checked, at))
            stages, unclassified = _counts(ctx, table, cfg.names)
            profiles = sum(stages.values()) + unclassified
            if backfill:
                with wh.transaction():
                    changes += _write_history(ctx, table, day, at, cfg.fingerprint(), profiles=profiles)
            out.append({"day": day, "as_of": at, "profiles": profiles, "stages": stages,
                        "unclassified": unclassified})
            if progress is not None:
                progress(k + 1, total, day)
        matrix = _matrix(ctx, kept[0], kept[total - 1], cfg.names)
    finally:
        wh.drop_tables(_NEW, *kept.values(), *temps)
    return LifecycleRange(start=first, end=last, timezone=zone, file=file, config=cfg.model_dump(mode="json"),
                          labels=cfg.labels(), days=out, matrix={"from": first, "to": last, "rows": matrix},
                          backfilled=backfill, changes=changes, warnings=warnings,
                          seconds=time.perf_counter() - started)


def _matrix(ctx: ProjectContext, a: str, b: str, names: list[str]) -> dict[str, dict[str, int]]:
    """Profiles by (stage in *a*, stage in *b*); a profile missing from *a* is ``absent``."""
    cells = ctx.warehouse.rows(
        f'SELECT CASE WHEN "a"."profile_id" IS NULL THEN \'{ABSENT}\' ELSE COALESCE("a"."stage", \'{UNCLASSIFIED}\') '
        f'END, COALESCE("b"."stage", \'{UNCLASSIFIED}\'), count(*) '
        f'FROM {b} AS "b" LEFT JOIN {a} AS "a" ON "a"."profile_id" = "b"."profile_id" GROUP BY 1, 2')
    seen_rows = {r for r, _, _ in cells}
    seen_cols = {c for _, c, _ in cells}
    cols = names + [UNCLASSIFIED] * (UNCLASSIFIED in seen_cols)
    rows = names + [x for x in (UNCLASSIFIED, ABSENT) if x in seen_rows]
    matrix = {r: dict.fromkeys(cols, 0) for r in rows}
    for r, c, n in cells:
        matrix[r][c] = int(n)
    return matrix


def _describe(result: LifecycleResult) -> str:
    return ", ".join(f"{result.labels[s]['en']} {n:,}" for s, n in result.stages.items()) + (
        f", unclassified {result.unclassified:,}" if result.unclassified else "")


def _reads(config: LifecycleConfig) -> set[tuple[str, str]]:
    """The segments, tags and traits the stage rules name (graph edges: they are refreshed first)."""
    from segflow.definitions.graph import rule_reads

    return {node for stage in config.stages for node in rule_reads(stage.rule)}


register_model(ModelKind(name="lifecycle", outputs=OUTPUTS, settings=LifecycleConfig, load=load_lifecycle_config,
                         run=run_lifecycle, reads=_reads,
                         describe=_describe, title="lifecycle stages (first matching rule) and their history"))
