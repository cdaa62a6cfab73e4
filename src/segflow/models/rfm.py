"""RFM: recency, frequency and monetary value of paid orders, as scores and a tier per profile.

    >>> result = run_rfm(ws, as_of=datetime(2026, 11, 1, tzinfo=UTC))   # doctest: +SKIP
    >>> result.tiers                                                     # doctest: +SKIP
    {'high_value': 41210, 'potential': 180_344, 'churn_risk': 402_118}

One SQL query computes every profile's scores and :func:`~segflow.traits.store.write_owned_traits`
writes them as the traits ``rfm_r``, ``rfm_f``, ``rfm_m``, ``rfm_score`` (integers) and
``rfm_tier`` (text), owned by ``model:rfm``: rules read them like any trait
(``{trait: rfm_score, eq: 5}``, ``{trait: rfm_tier, eq: high_value}``). Only ``paid``
orders with ``ts <= as_of`` count (a missing status is ``paid``, the loader's default),
of profiles that exist at ``as_of`` (``created_at`` missing or ``<= as_of``, as in rules);
a profile without one has no scores (NULL in all five: not "churn risk"). Windows are
exact durations, as in the rule language: *within 30 days* is ``T - 30d < ts <= T``.

Three modes (``mode`` in the config):

``guide`` (the default) — the rule engine of the operations guide (seed 003), as written:

* R = 1 if the last paid order is within ``recency_days[0]`` (30) days, 2 if within
  ``recency_days[1]`` (90) days, else 3. An order exactly 30 days old is R 2 (30 < 30 is
  false); exactly 90 days old, R 3.
* F = paid orders within ``window_days`` (90): 1 if >= ``frequency_min[0]`` (5), 2 if
  >= ``frequency_min[1]`` (2), else 3 (at most one order, or none in the window).
* M = their total amount: 1 if >= ``monetary_min[0]`` (1000), 2 if >= ``monetary_min[1]``
  (500), else 3 — 999.50 is M 2; amounts are compared exactly, never rounded.
* ``rfm_score`` = R + F + M (3-9, lower is better); ``rfm_tier`` = ``high_value``
  (3-5, 高价值客户), ``potential`` (6-7, 潜力客户), ``churn_risk`` (8-9, 流失风险客户).

``quantile`` — quintiles, 5 = best (the common convention): R from the days since the
last paid order (fewer is better), F from the count and M from the total of paid orders
within ``window_days`` (365). Each score is ``1 + floor(5 · percent_rank)`` over the
profiles that bought (capped at 5), so equal values always share a score. ``rfm_score``
= R + F + M (3-15, higher is better); ``rfm_tier`` is the cell of the eight-cell grid
below, with quintiles 3-5 "high" and 1-2 "low".

``grid`` — the classic eight cells: R, F and M each "high" (2) or "low" (1) against the
mean of the profiles that bought: R is high when the days since the last order are
*below* the mean, F and M when *above* it (equal to the mean is low). ``rfm_score`` =
R + F + M (3-6); ``rfm_tier`` is the cell (:data:`GRID_CELLS`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from segflow.clock import at_or_now, utc
from segflow.errors import ModelError
from segflow.models.registry import ModelKind, register_model
from segflow.schema.types import AttributeType as T

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["GRID_CELLS", "GUIDE_TIERS", "OUTPUTS", "OWNER", "RfmConfig", "RfmResult", "load_rfm_config",
           "rfm_sql", "run_rfm"]

OWNER = "model:rfm"
#: The traits the model writes and their types.
OUTPUTS: dict[str, T] = {"rfm_r": T.INTEGER, "rfm_f": T.INTEGER, "rfm_m": T.INTEGER, "rfm_score": T.INTEGER,
                         "rfm_tier": T.STRING}

#: Guide tiers: value → (English label, Chinese label, lowest and highest R + F + M).
GUIDE_TIERS: dict[str, tuple[str, str, int, int]] = {
    "high_value": ("high value", "高价值客户", 3, 5),
    "potential": ("potential", "潜力客户", 6, 7),
    "churn_risk": ("churn risk", "流失风险客户", 8, 9),
}

#: Grid cells: (R high, F high, M high) → (value, English label, Chinese label).
GRID_CELLS: dict[tuple[bool, bool, bool], tuple[str, str, str]] = {
    (True, True, True): ("important_value", "important value", "重要价值客户"),
    (True, False, True): ("important_development", "important development", "重要发展客户"),
    (False, True, True): ("important_retention", "important retention", "重要保持客户"),
    (False, False, True): ("important_win_back", "important win-back", "重要挽留客户"),
    (True, True, False): ("general_value", "general value", "一般价值客户"),
    (True, False, False): ("general_development", "general development", "一般发展客户"),
    (False, True, False): ("general_retention", "general retention", "一般保持客户"),
    (False, False, False): ("general_win_back", "general win-back", "一般挽留客户"),
}

_DEFAULT_WINDOW = {"guide": 90, "quantile": 365, "grid": 365}


class RfmConfig(BaseModel):
    """What ``models/rfm.yaml`` (or ``--config FILE``) may set; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["guide", "quantile", "grid"] = "guide"
    #: guide: the two recency limits in days (R 1 within the first, R 2 within the second).
    recency_days: tuple[int, int] = (30, 90)
    #: Days of orders F and M count (default 90 for guide, 365 for quantile and grid);
    #: R always looks at every paid order up to T.
    window_days: int | None = None
    #: guide: the fewest orders for F 1 and F 2.
    frequency_min: tuple[int, int] = (5, 2)
    #: guide: the least total amount for M 1 and M 2.
    monetary_min: tuple[float, float] = (1000.0, 500.0)

    @field_validator("recency_days")
    @classmethod
    def _recency(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 0 < v[0] < v[1]:
            raise ValueError(f"need 0 < first < second, got [{v[0]}, {v[1]}]")
        return v

    @field_validator("window_days")
    @classmethod
    def _window(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"need at least 1 day, got {v}")
        return v

    @field_validator("frequency_min")
    @classmethod
    def _frequency(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not v[0] > v[1] >= 1:
            raise ValueError(f"need first > second >= 1, got [{v[0]}, {v[1]}]")
        return v

    @field_validator("monetary_min")
    @classmethod
    def _monetary(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] > v[1] >= 0:
            raise ValueError(f"need first > second >= 0, got [{v[0]:g}, {v[1]:g}]")
        return v

    @property
    def window(self) -> int:
        return self.window_days if self.window_days is not None else _DEFAULT_WINDOW[self.mode]

    def fingerprint(self) -> str:
        from segflow.models.config import config_fingerprint

        return config_fingerprint(self, window_days=self.window)


def load_rfm_config(path: Path | None = None, *, root: Path | None = None,
                    overrides: dict[str, Any] | None = None) -> tuple[RfmConfig, str | None]:
    """The config in *path*, else ``<root>/models/rfm.yaml`` when it exists, else the defaults,
    with *overrides* on top. Returns it and the file it came from. ModelError naming the file
    and field for a config that cannot be used (:mod:`segflow.models.config`)."""
    from segflow.models.config import load_model_config

    return load_model_config("rfm", RfmConfig, path, root=root, overrides=overrides)


# -- the query ----------------------------------------------------------------------------------

def _ts(value: datetime) -> str:
    return f"CAST('{utc(value).isoformat()}' AS TIMESTAMPTZ)"


def _num(value: float) -> str:
    return repr(float(value)) if float(value) != int(value) else str(int(value))


def _paid_orders(t: datetime) -> str:
    """FROM and WHERE of the orders that count: paid, up to *t*, of a profile that exists at *t*."""
    return f"""FROM "orders" AS "o"
  JOIN "profiles" AS "p" ON "p"."profile_id" = "o"."profile_id"
  WHERE COALESCE("o"."status", 'paid') = 'paid' AND "o"."ts" <= {_ts(t)}
    AND ("p"."created_at" IS NULL OR "p"."created_at" <= {_ts(t)})"""


def rfm_sql(config: RfmConfig, as_of: datetime) -> str:
    """DuckDB SQL: one row per profile with a paid order up to *as_of*: ``profile_id`` and
    the five outputs (:data:`OUTPUTS`)."""
    t = utc(as_of)
    since = t - timedelta(days=config.window)
    base = f"""\
WITH "paid" AS (
  SELECT "o"."profile_id" AS "profile_id",
         MAX("o"."ts") AS "last_ts",
         COUNT(*) FILTER (WHERE "o"."ts" > {_ts(since)}) AS "n",
         COALESCE(SUM("o"."amount") FILTER (WHERE "o"."ts" > {_ts(since)}), 0) AS "total"
  {_paid_orders(t)}
  GROUP BY 1
)"""
    if config.mode == "guide":
        r1, r2 = (t - timedelta(days=d) for d in config.recency_days)
        f1, f2 = config.frequency_min
        m1, m2 = config.monetary_min
        scored = f"""\
"scored" AS (
  SELECT "profile_id",
         CASE WHEN "last_ts" > {_ts(r1)} THEN 1 WHEN "last_ts" > {_ts(r2)} THEN 2 ELSE 3 END AS "rfm_r",
         CASE WHEN "n" >= {f1} THEN 1 WHEN "n" >= {f2} THEN 2 ELSE 3 END AS "rfm_f",
         CASE WHEN "total" >= {_num(m1)} THEN 1 WHEN "total" >= {_num(m2)} THEN 2 ELSE 3 END AS "rfm_m"
  FROM "paid"
)"""
        tiers = " ".join(f"WHEN \"rfm_r\" + \"rfm_f\" + \"rfm_m\" <= {hi} THEN '{value}'"
                         for value, (_, _, _, hi) in GUIDE_TIERS.items())
        tier = f"CASE {tiers} END"
    else:
        if config.mode == "quantile":
            def score(order: str) -> str:
                return f"LEAST(5, 1 + CAST(floor(5 * percent_rank() OVER (ORDER BY {order})) AS INTEGER))"

            # Fewer days since the last order is better: rank the last order time ascending.
            scored = f"""\
"scored" AS (
  SELECT "profile_id", {score('"last_ts"')} AS "rfm_r", {score('"n"')} AS "rfm_f",
         {score('"total"')} AS "rfm_m"
  FROM "paid"
)"""
            high = 3
        else:
            # Exact: x above the mean is x · count > Σx (ages in microseconds, as HUGEINT).
            age = f'CAST(epoch_us({_ts(t)}) - epoch_us("last_ts") AS HUGEINT)'
            scored = f"""\
"sums" AS (
  SELECT COUNT(*) AS "c", SUM({age}) AS "age", SUM("n") AS "n", SUM("total") AS "total" FROM "paid"
),
"scored" AS (
  SELECT "p"."profile_id",
         CASE WHEN CAST(epoch_us({_ts(t)}) - epoch_us("p"."last_ts") AS HUGEINT) * "s"."c" < "s"."age"
              THEN 2 ELSE 1 END AS "rfm_r",
         CASE WHEN "p"."n" * "s"."c" > "s"."n" THEN 2 ELSE 1 END AS "rfm_f",
         CASE WHEN "p"."total" * "s"."c" > "s"."total" THEN 2 ELSE 1 END AS "rfm_m"
  FROM "paid" AS "p" CROSS JOIN "sums" AS "s"
)"""
            high = 2
        cells = " ".join(
            f"WHEN \"rfm_r\" {'>=' if r else '<'} {high} AND \"rfm_f\" {'>=' if f else '<'} {high} "
            f"AND \"rfm_m\" {'>=' if m else '<'} {high} THEN '{value}'"
            for (r, f, m), (value, _, _) in GRID_CELLS.items())
        tier = f"CASE {cells} END"
    return f"""{base},
{scored}
SELECT "profile_id", "rfm_r", "rfm_f", "rfm_m", "rfm_r" + "rfm_f" + "rfm_m" AS "rfm_score", {tier} AS "rfm_tier"
FROM "scored"
"""


# -- running it --------------------------------------------------------------------------------

@dataclass
class RfmResult:
    """What one run wrote: per tier and per (R, F) cell, counts of profiles."""

    mode: str
    as_of: datetime
    config: dict[str, Any]
    file: str | None
    profiles: int
    scored: int
    tiers: dict[str, int]
    #: {"R,F": {"profiles": n, "monetary": mean M score}} — the heat map's cells.
    grid: dict[str, dict[str, float]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tier_labels(mode: str) -> dict[str, dict[str, str]]:
    """``{tier value: {"en": ..., "zh": ...}}`` of *mode*, in display order."""
    if mode == "guide":
        return {v: {"en": en, "zh": zh} for v, (en, zh, _, _) in GUIDE_TIERS.items()}
    return {v: {"en": en, "zh": zh} for v, en, zh in GRID_CELLS.values()}


def run_rfm(ctx: ProjectContext, *, as_of: datetime | None = None, config: RfmConfig | None = None,
            file: str | None = None) -> RfmResult:
    """Score every profile as of *as_of* (default now) and write the ``rfm_*`` traits.

    All or nothing: on any error the previous ``rfm_*`` columns stay as they were.
    ModelError when there are no paid orders up to *as_of*.
    """
    from segflow.traits.store import write_owned_traits

    cfg = config or RfmConfig()
    when = at_or_now(as_of, ctx.clock)
    wh = ctx.warehouse
    started = time.perf_counter()
    none = ModelError(f"rfm: no paid orders up to {when.isoformat()}: load an orders file, or give a later "
                      "as-of time", code="no_orders", path="orders")
    if not wh.table_exists("orders"):
        raise none
    counts = write_owned_traits(ctx, OWNER, OUTPUTS, rfm_sql(cfg, when), as_of=when, file=file,
                                fingerprint=cfg.fingerprint(), empty=none)
    tiers = dict(wh.rows('SELECT "rfm_tier", count(*) FROM "traits" WHERE "rfm_tier" IS NOT NULL '
                         'GROUP BY 1 ORDER BY 1'))
    labels = tier_labels(cfg.mode)
    ordered = {t: int(tiers.get(t, 0)) for t in labels}
    grid = {f"{r},{f}": {"profiles": int(n), "monetary": float(m)} for r, f, n, m in wh.rows(
        'SELECT "rfm_r", "rfm_f", count(*), avg("rfm_m") FROM "traits" WHERE "rfm_score" IS NOT NULL '
        'GROUP BY 1, 2 ORDER BY 1, 2')}
    profiles = wh.count('SELECT count(*) FROM "traits"')
    return RfmResult(mode=cfg.mode, as_of=when, config=cfg.model_dump(mode="json") | {"window_days": cfg.window},
                     file=file, profiles=profiles, scored=counts["rfm_score"], tiers=ordered, grid=grid,
                     labels=labels, seconds=time.perf_counter() - started)


def _describe(result: RfmResult) -> str:
    return ", ".join(f"{result.labels[t]['en']} {n:,}" for t, n in result.tiers.items() if n or result.mode == "guide")


register_model(ModelKind(name="rfm", outputs=OUTPUTS, settings=RfmConfig, load=load_rfm_config, run=run_rfm,
                         describe=_describe, title="recency, frequency and money scores and a value tier"))
