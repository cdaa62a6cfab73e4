"""Activity and loyalty: two 0-100 scores and a level of each per profile (seed 000).

    >>> result = run_activity(ws, as_of=datetime(2026, 11, 1, tzinfo=UTC))   # doctest: +SKIP
    >>> result.levels["activity"]                                              # doctest: +SKIP
    {'high': 2210, 'medium': 3105, 'low': 4020, 'inactive': 4432}

The seed asks for an activity level "from open rate, interaction frequency and event
participation" and a loyalty level "from the last purchase and the frequency of
recommendations". Each score is a weighted mean of **components**; each component reads
one measure of the profile as of ``T`` and maps it to 0-100:

=================  ==========================================================  =================
kind               raw value as of T                                           "did something"
=================  ==========================================================  =================
``rate``           ``min(1, #events / #per)`` in the window; missing when      #events > 0
                   ``#per`` is 0 (nothing received: no rate to speak of)
``count``          number of ``events`` in the window                          value > 0
``days``           distinct local days (workspace time zone) with ``events``   value > 0
``orders``         paid orders in the window                                   value > 0
``recency``        time of the last paid order up to T (any age)               has one
``trait``          a numeric trait's stored value (missing when NULL)          (not counted)
``attribute``      a numeric profile attribute (missing when NULL)             (not counted)
=================  ==========================================================  =================

A window is ``T - window_days < ts <= T`` (``window_days``: the component's, else the
model's, 90). Only paid orders (a missing status is ``paid``) and events of profiles that
exist at T (``created_at`` missing or ``<= T``) count; a profile created after T gets no
scores (all four traits NULL).

**Mapping to 0-100** (``scale``):

* ``percentile`` (the default): a value of 0 or less scores 0; a positive value scores
  ``100 × cume_dist``, the share of profiles with a positive value whose value is at most
  this one (the most active score 100; equal values share a score). Percentile ranks put
  a rate, a count and a number of days on one scale, do not let a few heavy users squash
  everyone else to 0 (activity is log-normal), and mean the same in a shop of 1,000 and of
  1,000,000 profiles: ``high`` ≥ 70 is "at least as active as 70 % of the active". For
  ``recency`` the rank is of the last order's time (most recent = 100); non-buyers 0.
* ``linear`` with ``cap``: ``100 × clamp(value / cap, 0, 1)`` — a fixed business meaning
  ("10 check-ins is full marks"). For ``rate`` the cap defaults to 1 (a rate of 40 % = 40);
  for ``recency`` the score is ``100 × max(0, 1 - days since the last order / cap)``
  (cap default 365: bought today 100, a year ago or never 0).

**The score** of a profile is ``Σ wᵢ sᵢ / Σ wᵢ`` over its components that are not
missing: a profile who received no e-mail is scored on interactions and participation
alone, with their weights renormalised (0.4 / 0.7 and 0.3 / 0.7 by default), rather than
counted as never opening. A component **no profile has a positive value of** (no shares
recorded in the window, no e-mail ever delivered) is left out for everyone in the same way,
and the result says so (``components[...]["dropped"]``): it cannot tell anyone apart, and
counting it as 0 would only cap every score at 100 minus its weight. All missing: NULL.

**Levels**: ``inactive`` when the profile did nothing the score's event and order
components count (no open, interaction or participation in the window; for loyalty: never
bought and no referral in the window) — their score is then 0 from those components;
otherwise ``high`` when score ≥ ``levels.high`` (70), ``medium`` when ≥ ``levels.medium``
(40), else ``low``; NULL when the score is NULL. A score made only of trait and attribute
components has no inactive profiles. Scores are stored rounded to 6 decimals, and the level
is that of the stored score, so ``{trait: activity_score, gte: 70}`` and
``{trait: activity_level, eq: high}`` always agree.

One SQL query (:func:`activity_sql`) computes every profile's component scores, scores and
levels into a scratch table; :func:`~segflow.traits.store.write_owned_traits` writes
``activity_score``, ``activity_level``, ``loyalty_score`` and ``loyalty_level`` (owner
``model:activity``), in one transaction: on any error the previous values stay.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segflow.clock import at_or_now, utc
from segflow.errors import ModelError, QueryError
from segflow.models.registry import ModelKind, register_model
from segflow.schema.types import AttributeType as T

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["LABELS", "LEVELS", "OUTPUTS", "OWNER", "ActivityConfig", "ActivityResult", "Component", "Levels",
           "activity_sql", "load_activity_config", "run_activity"]

OWNER = "model:activity"
MODEL = "activity"
SCORES = ("activity", "loyalty")
#: The traits the model writes and their types.
OUTPUTS: dict[str, T] = {"activity_score": T.NUMBER, "activity_level": T.STRING,
                         "loyalty_score": T.NUMBER, "loyalty_level": T.STRING}
#: Level values, best first.
LEVELS = ("high", "medium", "low", "inactive")
#: score → level → (English label, Chinese label).
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "activity": {"high": ("high activity", "高活跃度"), "medium": ("medium activity", "中活跃度"),
                 "low": ("low activity", "低活跃度"), "inactive": ("inactive", "不活跃")},
    "loyalty": {"high": ("high loyalty", "高忠诚度"), "medium": ("medium loyalty", "中忠诚度"),
                "low": ("low loyalty", "低忠诚度"), "inactive": ("no purchase or referral", "无购买或推荐")},
}

Kind = Literal["rate", "count", "days", "orders", "recency", "trait", "attribute"]
_EVENT_KINDS = ("rate", "count", "days")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TABLE = "_segflow_activity"


class Component(BaseModel):
    """One measure of a score: what it reads (``kind`` and its fields), how it maps to 0-100
    (``scale``, ``cap``) and how much it counts (``weight``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    #: Relative weight (0 turns the component off); weights are normalised per score.
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    #: rate: the events counted (opens); count / days: the events counted.
    events: tuple[str, ...] = ()
    #: rate: the events it is a rate of (messages received).
    per: tuple[str, ...] = ()
    trait: str | None = None
    attribute: str | None = None
    scale: Literal["percentile", "linear"] = "percentile"
    #: linear: the value that scores 100 (recency: the days at which it scores 0).
    cap: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: Days of data the component reads (default: the model's ``window_days``).
    window_days: int | None = Field(default=None, ge=1)

    @field_validator("events", "per")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"event names must be non-empty texts, got {name!r}")
        return tuple(dict.fromkeys(v))

    @model_validator(mode="after")
    def _fits_kind(self) -> Component:
        def unused(name: str) -> None:
            raise ValueError(f"{name}: a {self.kind} component does not read it")

        needs_events = self.kind in _EVENT_KINDS
        if needs_events and not self.events:
            raise ValueError(f"events: a {self.kind} component needs the event names it counts")
        if not needs_events and self.events:
            unused("events")
        if self.kind == "rate" and not self.per:
            raise ValueError("per: a rate needs the events it is a rate of (e.g. email_delivered)")
        if self.kind != "rate" and self.per:
            unused("per")
        if (self.kind == "trait") != (self.trait is not None):
            if self.kind == "trait":
                raise ValueError("trait: a trait component needs the trait's name")
            unused("trait")
        if (self.kind == "attribute") != (self.attribute is not None):
            if self.kind == "attribute":
                raise ValueError("attribute: an attribute component needs the profile attribute's name")
            unused("attribute")
        if self.window_days is not None and self.kind in ("recency", "trait", "attribute"):
            unused("window_days")
        if self.scale == "linear" and self.linear_cap is None:
            raise ValueError(f"cap: a linear {self.kind} component needs the value that scores 100")
        if self.scale == "percentile" and self.cap is not None:
            raise ValueError("cap: only a linear scale has a cap")
        return self

    @property
    def linear_cap(self) -> float | None:
        """The cap of a linear scale, with the defaults of ``rate`` (1) and ``recency`` (365)."""
        if self.cap is not None:
            return self.cap
        return {"rate": 1.0, "recency": 365.0}.get(self.kind)


class Levels(BaseModel):
    """Score thresholds: ``high`` when score >= high, ``medium`` when >= medium, else ``low``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high: float = 70.0
    medium: float = 40.0

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if not 0 < self.medium < self.high <= 100:
            raise ValueError(f"need 0 < medium < high <= 100, got medium {self.medium:g}, high {self.high:g}")
        return self


def _component(kind: str, weight: float, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "weight": weight, **fields}


class _Score(BaseModel):
    """A score: its components (merged over :attr:`DEFAULTS`) and level thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {}

    levels: Levels = Levels()
    components: dict[str, Component] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _merge(cls, data: Any) -> Any:
        """A component named like a default takes the given fields over the default's (so
        ``open_rate: {weight: 0.5}`` changes only its weight; another ``kind`` replaces it);
        ``name: null`` removes a default; a new name is a new component."""
        if not isinstance(data, dict):
            return data
        given = data.get("components", {})
        if not isinstance(given, dict):
            return data
        merged: dict[str, Any] = {k: dict(v) for k, v in cls.DEFAULTS.items()}
        for name, spec in given.items():
            if spec is None:
                merged.pop(name, None)
            elif isinstance(spec, dict) and name in merged and spec.get("kind", merged[name]["kind"]) == \
                    merged[name]["kind"]:
                merged[name] = {**merged[name], **spec}
            else:
                merged[name] = spec
        return {**data, "components": merged}

    @field_validator("components")
    @classmethod
    def _components(cls, v: dict[str, Component]) -> dict[str, Component]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a component name (lower-case letters, digits and _, "
                                 "starting with a letter)")
        if not any(c.weight > 0 for c in v.values()):
            raise ValueError("every weight is 0: give at least one component a positive weight")
        return v

    @property
    def weights(self) -> dict[str, float]:
        """The normalised weights of the components that count (weight > 0), summing to 1."""
        total = sum(c.weight for c in self.components.values())
        return {n: c.weight / total for n, c in self.components.items() if c.weight > 0}


class ActivityScore(_Score):
    DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {
        # e-mail (and app push) opens per message received
        "open_rate": _component("rate", 0.3, events=("email_opened", "push_opened"),
                                per=("email_delivered", "push_delivered")),
        # interactions with the shop and its content
        "interactions": _component("count", 0.4, events=(
            "page_view", "view_product", "search", "add_to_cart", "email_clicked", "like", "comment")),
        # days taking part in activities: check-ins, events, campaigns, coupons redeemed
        "participation": _component("days", 0.3, events=(
            "check_in", "event_attended", "campaign_joined", "coupon_redeemed")),
    }


class LoyaltyScore(_Score):
    DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {
        "recency": _component("recency", 0.4),
        "frequency": _component("orders", 0.3, window_days=365),
        "referrals": _component("count", 0.3, events=("share", "referral", "invite", "referral_signup"),
                                window_days=365),
    }


class ActivityConfig(BaseModel):
    """What ``models/activity.yaml`` (or ``--config FILE``) may set; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Days of data a component reads unless it sets its own ``window_days``.
    window_days: int = Field(default=90, ge=1)
    activity: ActivityScore = Field(default_factory=ActivityScore)
    loyalty: LoyaltyScore = Field(default_factory=LoyaltyScore)

    def score(self, name: str) -> _Score:
        return self.activity if name == "activity" else self.loyalty

    def window(self, component: Component) -> int:
        return component.window_days if component.window_days is not None else self.window_days

    def resolved(self) -> dict[str, Any]:
        """Every setting, with each component's window and normalised weight (``share``)."""
        out: dict[str, Any] = {"window_days": self.window_days}
        for name in SCORES:
            score = self.score(name)
            comps = {}
            for cname, c in score.components.items():
                spec = c.model_dump(mode="json", exclude_none=True)
                spec.update({"share": round(score.weights.get(cname, 0.0), 6)})
                if c.kind not in ("recency", "trait", "attribute"):
                    spec["window_days"] = self.window(c)
                if c.scale == "linear":
                    spec["cap"] = c.linear_cap
                comps[cname] = spec
            out[name] = {"levels": score.levels.model_dump(mode="json"), "components": comps}
        return out

    def fingerprint(self) -> str:
        from segflow.models.config import config_fingerprint

        return config_fingerprint(self, resolved=self.resolved())


def load_activity_config(path: Path | None = None, *, root: Path | None = None,
                         overrides: dict[str, Any] | None = None) -> tuple[ActivityConfig, str | None]:
    """The settings in *path*, else ``<root>/models/activity.yaml`` when it exists, else the
    defaults (:mod:`segflow.models.config`). ModelError ``<file>: <field>: <message>``."""
    from segflow.models.config import load_model_config

    return load_model_config(MODEL, ActivityConfig, path, root=root, overrides=overrides)


# -- the query ----------------------------------------------------------------------------------

def _ts(value: datetime) -> str:
    return f"CAST('{utc(value).isoformat()}' AS TIMESTAMPTZ)"


def _str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _num(value: float) -> str:
    return repr(float(value))


def _in(names: tuple[str, ...]) -> str:
    return f'"e"."event" IN ({", ".join(_str(n) for n in names)})'


@dataclass(frozen=True)
class _Part:
    """One component's SQL: its raw value, when it is positive, the order a percentile
    ranks it by, and whether the profile did something."""

    score: str
    name: str
    component: Component
    value: str       # NULL = missing
    positive: str
    order: str
    did: str | None  # None: not counted for "inactive"

    @property
    def col(self) -> str:
        return f"{self.score}__{self.name}"


def _parts(config: ActivityConfig, t: datetime, *, timezone: str) -> tuple[list[_Part], list[str], list[str]]:
    """The components' SQL, the aggregates of ``ev`` and of ``paid`` they need."""
    ev: list[str] = []
    paid: list[str] = []
    parts: list[_Part] = []
    zone = _str(timezone)
    for score_name in SCORES:
        score = config.score(score_name)
        for name, c in score.components.items():
            if c.weight <= 0:
                continue
            col = f"{score_name}__{name}"
            since = _ts(t - timedelta(days=config.window(c)))
            window = f'"e"."ts" > {since}'
            if c.kind == "rate":
                ev += [f'COUNT(*) FILTER (WHERE {_in(c.events)} AND {window}) AS "{col}__n"',
                       f'COUNT(*) FILTER (WHERE {_in(c.per)} AND {window}) AS "{col}__d"']
                n, d = f'COALESCE("ev"."{col}__n", 0)', f'COALESCE("ev"."{col}__d", 0)'
                value = f"CASE WHEN {d} > 0 THEN LEAST(1.0, CAST({n} AS DOUBLE) / {d}) END"
                parts.append(_Part(score_name, name, c, value, f"{value} > 0", value, f"{n} > 0"))
            elif c.kind in ("count", "days"):
                what = "*" if c.kind == "count" else f'DISTINCT CAST(timezone({zone}, "e"."ts") AS DATE)'
                ev.append(f'COUNT({what}) FILTER (WHERE {_in(c.events)} AND {window}) AS "{col}"')
                value = f'COALESCE("ev"."{col}", 0)'
                parts.append(_Part(score_name, name, c, value, f"{value} > 0", value, f"{value} > 0"))
            elif c.kind == "orders":
                paid.append(f'COUNT(*) FILTER (WHERE "o"."ts" > {since}) AS "{col}"')
                value = f'COALESCE("paid"."{col}", 0)'
                parts.append(_Part(score_name, name, c, value, f"{value} > 0", value, f"{value} > 0"))
            elif c.kind == "recency":
                last = '"paid"."last_ts"'
                age = f"CAST(epoch_us({_ts(t)}) - epoch_us({last}) AS DOUBLE) / 86400000000.0"
                # percentile: ranked by the time itself; linear: days since (see _scaled)
                value = age if c.scale == "linear" else f"epoch_us({last})"
                parts.append(_Part(score_name, name, c, f"COALESCE({value}, -1)", f"{last} IS NOT NULL", last,
                                   f"{last} IS NOT NULL"))
            else:
                source = '"tr"' if c.kind == "trait" else '"pop"'
                column = c.trait if c.kind == "trait" else c.attribute
                value = f"CAST({source}.{_q(str(column))} AS DOUBLE)"
                parts.append(_Part(score_name, name, c, value, f"{value} > 0", value, None))
    return parts, ev, paid


def _scaled(p: _Part) -> str:
    """0-100 of the raw value ``"v"`` (see the module docstring); NULL when missing."""
    v, pos = f'"{p.col}__v"', f'"{p.col}__p"'
    c = p.component
    if c.scale == "percentile":
        return (f"CASE WHEN {v} IS NULL THEN NULL WHEN NOT {pos} THEN 0.0 "
                f'ELSE 100.0 * cume_dist() OVER (PARTITION BY {pos} ORDER BY "{p.col}__o") END')
    cap = _num(c.linear_cap or 1.0)
    if c.kind == "recency":
        return f"CASE WHEN NOT {pos} THEN 0.0 ELSE 100.0 * GREATEST(0.0, 1.0 - {v} / {cap}) END"
    return f"CASE WHEN {v} IS NULL THEN NULL ELSE 100.0 * LEAST(1.0, GREATEST(0.0, {v} / {cap})) END"


def activity_sql(config: ActivityConfig, as_of: datetime, *, timezone: str = "UTC",
                 events: bool = True, orders: bool = True) -> str:
    """DuckDB SQL: one row per profile that exists at *as_of*: ``profile_id``, each
    component's 0-100 score (``<score>__<component>``, NULL when missing or dropped), its
    ``…__kept`` flag, the four outputs (:data:`OUTPUTS`) and ``<score>__active``.
    *events* / *orders*: whether those tables exist (else they count as empty)."""
    t = utc(as_of)
    parts, ev_cols, paid_cols = _parts(config, t, timezone=timezone)
    event_parts = [p for p in parts if p.component.kind in _EVENT_KINDS]
    names = sorted({n for p in event_parts for n in (*p.component.events, *p.component.per)})
    widest = max((config.window(p.component) for p in event_parts), default=1)
    # Names read over different windows: each name only as far back as its longest window
    # (the loyalty components' 365 days need not read a year of page views). Measured on
    # the bench's 20,000-profile project (1.04M events), the query into a temp table: 0.24 s
    # with this predicate, 0.34-0.37 s without (median of 5; bench/run.py activity's floor).
    reach: dict[str, int] = {}
    for p in event_parts:
        for n in (*p.component.events, *p.component.per):
            reach[n] = max(reach.get(n, 0), config.window(p.component))
    by_window: dict[int, list[str]] = {}
    for n in names:
        by_window.setdefault(reach[n], []).append(n)
    narrow = "" if len(by_window) < 2 else "\n    AND (" + " OR ".join(
        f'("e"."ts" > {_ts(t - timedelta(days=w))} AND {_in(tuple(ns))})' for w, ns in sorted(by_window.items())) + ")"
    attributes = sorted({str(p.component.attribute) for p in parts if p.component.kind == "attribute"})
    traits = sorted({str(p.component.trait) for p in parts if p.component.kind == "trait"})
    ctes = [f"""\
"pop" AS (
  SELECT "p"."profile_id"{''.join(f', "p".{_q(a)}' for a in attributes)} FROM "profiles" AS "p"
  WHERE "p"."created_at" IS NULL OR "p"."created_at" <= {_ts(t)}
)"""]
    joins = []
    if ev_cols:
        source = '"events"' if events else (
            '(SELECT CAST(NULL AS VARCHAR) AS "profile_id", CAST(NULL AS VARCHAR) AS "event", '
            'CAST(NULL AS TIMESTAMPTZ) AS "ts" WHERE FALSE)')
        ctes.append(f"""\
"ev" AS (
  SELECT "e"."profile_id", {', '.join(ev_cols)}
  FROM {source} AS "e"
  WHERE "e"."profile_id" IS NOT NULL AND "e"."ts" <= {_ts(t)} AND "e"."ts" > {_ts(t - timedelta(days=widest))}
    AND "e"."event" IN ({', '.join(_str(n) for n in names)}){narrow}
  GROUP BY 1
)""")
        joins.append('LEFT JOIN "ev" ON "ev"."profile_id" = "pop"."profile_id"')
    if any(p.component.kind in ("orders", "recency") for p in parts):
        source = '"orders"' if orders else (
            '(SELECT CAST(NULL AS VARCHAR) AS "profile_id", CAST(NULL AS TIMESTAMPTZ) AS "ts", '
            'CAST(NULL AS VARCHAR) AS "status" WHERE FALSE)')
        ctes.append(f"""\
"paid" AS (
  SELECT "o"."profile_id", MAX("o"."ts") AS "last_ts"{''.join(', ' + c for c in paid_cols)}
  FROM {source} AS "o"
  WHERE COALESCE("o"."status", 'paid') = 'paid' AND "o"."ts" <= {_ts(t)}
  GROUP BY 1
)""")
        joins.append('LEFT JOIN "paid" ON "paid"."profile_id" = "pop"."profile_id"')
    if traits:
        joins.append('LEFT JOIN "traits" AS "tr" ON "tr"."profile_id" = "pop"."profile_id"')
    active = {s: [p.did for p in parts if p.score == s and p.did is not None] for s in SCORES}
    raw_cols = [f'{p.value} AS "{p.col}__v", {p.positive} AS "{p.col}__p", {p.order} AS "{p.col}__o"'
                for p in parts]
    raw_cols += [f'{" OR ".join(active[s]) if active[s] else "TRUE"} AS "{s}__active"' for s in SCORES]
    ctes.append(f"""\
"raw" AS (
  SELECT "pop"."profile_id", {', '.join(raw_cols)}
  FROM "pop" {' '.join(joins)}
)""")
    # A component no profile has a positive value of is left out for everyone.
    ctes.append(f"""\
"seen" AS (
  SELECT {', '.join(f'COALESCE(bool_or("{p.col}__p"), FALSE) AS "{p.col}__kept"' for p in parts)} FROM "raw"
)""")
    ctes.append(f"""\
"scaled" AS (
  SELECT "raw"."profile_id", {', '.join(f'CASE WHEN "seen"."{p.col}__kept" THEN {_scaled(p)} END AS "{p.col}"'
                                        for p in parts)},
         {', '.join(f'"seen"."{p.col}__kept"' for p in parts)}, "raw"."activity__active", "raw"."loyalty__active"
  FROM "raw" CROSS JOIN "seen"
)""")
    outputs = []
    for s in SCORES:
        score = config.score(s)
        mine = [p for p in parts if p.score == s]
        weights = score.weights
        num = " + ".join(f'{_num(weights[p.name])} * COALESCE("{p.col}", 0)' for p in mine)
        den = " + ".join(f'CASE WHEN "{p.col}" IS NULL THEN 0 ELSE {_num(weights[p.name])} END' for p in mine)
        outputs.append(f'ROUND(({num}) / NULLIF({den}, 0), 6) AS "{s}_score"')
    ctes.append(f"""\
"scores" AS (
  SELECT *, {', '.join(outputs)} FROM "scaled"
)""")
    levels = []
    for s in SCORES:
        lv = config.score(s).levels
        levels.append(f"""CASE WHEN NOT "{s}__active" THEN 'inactive' WHEN "{s}_score" IS NULL THEN NULL
              WHEN "{s}_score" >= {_num(lv.high)} THEN 'high' WHEN "{s}_score" >= {_num(lv.medium)} THEN 'medium'
              ELSE 'low' END AS "{s}_level\"""")
    return "WITH " + ",\n".join(ctes) + f"""
SELECT *, {', '.join(levels)}
FROM "scores"
"""


# -- checks of a config against the project ----------------------------------------------------

def _check_sources(ctx: ProjectContext, config: ActivityConfig, file: str | None, when: datetime) -> list[str]:
    """ModelError for a trait or attribute the project does not have (or that is not a
    number); returns warnings: trait values computed as of another time."""
    from segflow.traits.store import state_rows

    wh = ctx.warehouse
    prefix = f"{file}: " if file else ""
    numeric = (T.INTEGER, T.NUMBER, T.DECIMAL)
    traits = {n: ty for n, ty in wh.columns("traits").items() if n != "profile_id"} \
        if wh.table_exists("traits") else {}
    attributes = {n: a.type for n, a in ctx.registry.attributes("profiles").items()}
    columns = wh.columns("profiles")
    state = state_rows(wh)
    warnings: list[str] = []

    def fail(where: str, message: str) -> None:
        raise ModelError(f"{prefix}{where}: {message}", code="invalid_config", path=where)

    for s in SCORES:
        for name, c in config.score(s).components.items():
            where = f"{s}.components.{name}.{c.kind}"
            if c.kind == "trait" and c.weight > 0:
                trait = str(c.trait)
                if trait in OUTPUTS:
                    fail(where, f"{trait} is this model's own output")
                if trait not in traits:
                    known = ", ".join(sorted(n for n in traits if n not in OUTPUTS)) or "none computed yet"
                    fail(where, f"unknown trait {trait!r} (traits: {known})")
                engine = traits[trait].upper()
                if not (engine in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT") or engine.startswith("DECIMAL")):
                    fail(where, f"trait {trait!r} is {traits[trait]}, not a number")
                row = state.get(trait)
                if row is not None and row["as_of"] is not None and row["as_of"] != when:
                    warnings.append(f"{s}.components.{name}: trait {trait} holds its values as of "
                                    f"{row['as_of'].isoformat()}, not as of {when.isoformat()}")
            elif c.kind == "attribute" and c.weight > 0:
                attr = str(c.attribute)
                if attr not in attributes or attr not in columns:
                    numbers = sorted(n for n, ty in attributes.items() if ty in numeric and n in columns)
                    fail(where, f"unknown profile attribute {attr!r} (numeric attributes: "
                                f"{', '.join(numbers) or 'none'})")
                if attributes[attr] not in numeric:
                    fail(where, f"profile attribute {attr!r} is {attributes[attr].value}, not a number")
    return warnings


def _event_warnings(wh: Warehouse, config: ActivityConfig, *, events: bool) -> list[str]:
    """One warning per component with event names no event has, when its names were set by
    the config (the built-in lists name common events a shop may not have)."""
    from segflow.rules.project import EventNames

    seen = EventNames(wh) if events else frozenset()
    out = []
    for s in SCORES:
        score = config.score(s)
        for name, c in score.components.items():
            if c.weight <= 0 or c.kind not in _EVENT_KINDS:
                continue
            default = type(score).DEFAULTS.get(name, {})
            configured = [*(c.events if tuple(default.get("events", ())) != c.events else ()),
                          *(c.per if tuple(default.get("per", ())) != c.per else ())]
            missing = [n for n in configured if n not in seen]
            if missing:
                out.append(f"{s}.components.{name}: no event is named {', '.join(missing)} "
                           "(counted as none)")
    return out


# -- running it --------------------------------------------------------------------------------

@dataclass
class ActivityResult:
    """What one run wrote: level counts per score, the activity × loyalty grid, the components."""

    as_of: datetime
    #: Every setting, resolved (each component's window and normalised weight as ``share``).
    config: dict[str, Any]
    file: str | None
    #: Rows of ``traits`` (every profile) and those existing at ``as_of`` (scored).
    profiles: int
    scored: int
    #: score → level → profiles, in :data:`LEVELS` order.
    levels: dict[str, dict[str, int]]
    #: "<activity level>,<loyalty level>" → profiles: the heat map's cells.
    grid: dict[str, int] = field(default_factory=dict)
    #: score → component → {kind, share, profiles (with a value), mean (0-100), dropped}.
    components: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: score → mean score over the profiles with one.
    means: dict[str, float | None] = field(default_factory=dict)
    #: score → level → {"en": ..., "zh": ...}.
    labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def level_labels() -> dict[str, dict[str, dict[str, str]]]:
    return {s: {lv: {"en": en, "zh": zh} for lv, (en, zh) in LABELS[s].items()} for s in SCORES}


def run_activity(ctx: ProjectContext, *, as_of: datetime | None = None, config: ActivityConfig | None = None,
                 file: str | None = None) -> ActivityResult:
    """Score every profile's activity and loyalty as of *as_of* (default now) and write the
    four traits. *file* is where *config* came from (named in errors).

    All or nothing: a trait or attribute the project lacks is a ModelError naming the file
    and field before anything runs; no data at all for either score is a ModelError
    (``no_data``); on any error the previous values stay.
    """
    from segflow.traits.store import write_owned_traits

    cfg = config or ActivityConfig()
    when = at_or_now(as_of, ctx.clock)
    wh = ctx.warehouse
    if ctx.read_only:
        raise QueryError(f"cannot write the {OWNER} traits: the workspace is open read-only", code="read_only")
    started = time.perf_counter()
    warnings = _check_sources(ctx, cfg, file, when)
    has_events, has_orders = wh.table_exists("events"), wh.table_exists("orders")
    warnings += _event_warnings(wh, cfg, events=has_events)
    sql = activity_sql(cfg, when, timezone=ctx.config.timezone, events=has_events, orders=has_orders)
    parts = [(s, n) for s in SCORES for n, c in cfg.score(s).components.items() if c.weight > 0]
    try:
        wh.temp_table(_TABLE, sql)
        stats = _stats(wh, cfg, parts)
        if not any(c["kept"] for comps in stats["components"].values() for c in comps.values()):
            raise ModelError(f"activity: no events or paid orders up to {when.isoformat()} that the model reads "
                             "(and no trait or attribute value above 0): load events and orders, or give a "
                             "later as-of time", code="no_data", path="events")
        for s, comps in stats["components"].items():
            for n, c in comps.items():
                if not c["kept"]:
                    warnings.append(f"{s}.components.{n}: no profile has any up to {when.isoformat()} (in its "
                                    "window): left out, its weight shared by the others")
            if not any(c["kept"] for c in comps.values()):
                warnings.append(f"{s}: no profile has any data it reads up to {when.isoformat()}: every "
                                f"{s}_score is empty")
        write_owned_traits(ctx, OWNER, OUTPUTS, f'SELECT "profile_id", {", ".join(OUTPUTS)} FROM {_TABLE}',
                           as_of=when, file=file, fingerprint=cfg.fingerprint())
    finally:
        wh.drop_tables(_TABLE)
    components = {s: {n: {"kind": c["kind"], "share": c["share"], "profiles": c["profiles"], "mean": c["mean"],
                          "dropped": not c["kept"]} for n, c in comps.items()}
                  for s, comps in stats["components"].items()}
    return ActivityResult(as_of=when, config=cfg.resolved(), file=file,
                          profiles=wh.count('SELECT count(*) FROM "traits"'), scored=stats["scored"],
                          levels=stats["levels"], grid=stats["grid"], components=components, means=stats["means"],
                          labels=level_labels(), warnings=warnings, seconds=time.perf_counter() - started)


def _stats(wh: Warehouse, cfg: ActivityConfig, parts: list[tuple[str, str]]) -> dict[str, Any]:
    """Level counts, the grid, component coverage and means, from the scratch table."""
    cols = ['count(*)', 'avg("activity_score")', 'avg("loyalty_score")']
    for s, n in parts:
        cols += [f'count("{s}__{n}")', f'avg("{s}__{n}")', f'bool_or("{s}__{n}__kept")']
    row = wh.rows(f"SELECT {', '.join(cols)} FROM {_TABLE}")[0]
    scored = int(row[0])
    means = {"activity": row[1], "loyalty": row[2]}
    components: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SCORES}
    for i, (s, n) in enumerate(parts):
        count, mean, kept = row[3 + 3 * i: 6 + 3 * i]
        c = cfg.score(s).components[n]
        components[s][n] = {"kind": c.kind, "share": round(cfg.score(s).weights[n], 6), "profiles": int(count),
                            "mean": None if mean is None else round(float(mean), 4), "kept": bool(kept)}
    levels = {s: dict.fromkeys(LEVELS, 0) for s in SCORES}
    grid: dict[str, int] = {}
    for a, lo, n in wh.rows(f'SELECT "activity_level", "loyalty_level", count(*) FROM {_TABLE} GROUP BY 1, 2'):
        if a is not None:
            levels["activity"][a] += int(n)
        if lo is not None:
            levels["loyalty"][lo] += int(n)
        if a is not None and lo is not None:
            grid[f"{a},{lo}"] = int(n)
    ordered = {f"{a},{lo}": grid[f"{a},{lo}"] for a in LEVELS for lo in LEVELS if f"{a},{lo}" in grid}
    return {"scored": scored, "means": {k: None if v is None else round(float(v), 4) for k, v in means.items()},
            "components": components, "levels": levels, "grid": ordered}


def _describe(result: ActivityResult) -> str:
    return "; ".join(f"{score} " + ", ".join(f"{level} {n:,}" for level, n in result.levels[score].items())
                     for score in SCORES)


def _reads(config: ActivityConfig) -> set[tuple[str, str]]:
    """The traits its trait components read."""
    return {("trait", str(c.trait)) for s in SCORES for c in config.score(s).components.values()
            if c.kind == "trait" and c.weight > 0}


register_model(ModelKind(name=MODEL, outputs=OUTPUTS, settings=ActivityConfig, load=load_activity_config,
                         run=run_activity, describe=_describe, reads=_reads,
                         title="activity and loyalty scores (0-100) and levels"))
