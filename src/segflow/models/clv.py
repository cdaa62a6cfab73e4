"""Lifetime value as traits: fit BG/NBD and Gamma-Gamma on the orders, score every buyer.

    >>> result = run_clv(ws, as_of=datetime(2026, 11, 1, tzinfo=UTC))   # doctest: +SKIP
    >>> result.bgnbd["r"], result.customers                              # doctest: +SKIP
    (0.61, 482_113)

The numbers come from :mod:`segflow.models.lifetime` (the summary in SQL, the fits with
scipy); this module runs them on a project and writes, owned by ``model:clv``, the traits

* ``p_alive`` — the probability the customer has not dropped out;
* ``expected_orders`` — expected purchase days in the next ``horizon × step`` time units;
* ``expected_order_value`` — expected worth of one future purchase (Gamma-Gamma);
* ``clv`` — the discounted value of the next ``horizon`` periods of ``step`` time units.

Customers are the profiles with a paid order up to *as_of*; the others get NULL. Both fits
run before anything is written: a fit that fails leaves the previous ``clv`` traits as
they were.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from segflow.clock import at_or_now
from segflow.errors import ModelError
from segflow.models.registry import ModelKind, register_model
from segflow.schema.types import AttributeType as T

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["OUTPUTS", "OWNER", "ClvResult", "ClvSettings", "load_clv_config", "run_clv"]

OWNER = "model:clv"
OUTPUTS: dict[str, T] = {"p_alive": T.NUMBER, "expected_orders": T.NUMBER, "expected_order_value": T.NUMBER,
                         "clv": T.NUMBER}
#: One month in each time unit: the default period of ``clv``.
MONTH = {"days": 30.0, "weeks": 4.345}
_TABLE = "_segflow_clv_scores"


class ClvSettings(BaseModel):
    """What ``models/clv.yaml`` (or ``--config FILE``) may set; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_unit: Literal["days", "weeks"] = "days"
    #: Periods the value adds up.
    horizon: int = Field(default=12, ge=1)
    #: Length of one period in time units (None: a month, 30 days or 4.345 weeks).
    step: float | None = Field(default=None, gt=0)
    discount_rate: float = Field(default=0.0, ge=0)
    penalizer: float = Field(default=0.0, ge=0)

    @property
    def period(self) -> float:
        return self.step if self.step is not None else MONTH[self.time_unit]

    def fingerprint(self) -> str:
        from segflow.models.config import config_fingerprint

        return config_fingerprint(self, step=self.period)


def load_clv_config(path: Path | None = None, *, root: Path | None = None,
                    overrides: dict[str, Any] | None = None) -> tuple[ClvSettings, str | None]:
    """The settings in *path*, else ``<root>/models/clv.yaml`` when it exists, else the
    defaults, with the non-None *overrides* on top (:mod:`segflow.models.config`)."""
    from segflow.models.config import load_model_config

    return load_model_config("clv", ClvSettings, path, root=root, overrides=overrides)


@dataclass
class ClvResult:
    as_of: datetime
    settings: dict[str, Any]
    #: The settings file, when there was one.
    file: str | None
    customers: int
    bgnbd: dict[str, Any]
    gamma_gamma: dict[str, Any]
    #: trait → {"mean", "p50", "p90", "max"} over the customers.
    traits: dict[str, dict[str, float]]
    seconds: float
    #: "clv" (up to its 99th percentile) and "p_alive" → {"edges": [...], "counts": [...]}, 40 bins.
    histograms: dict[str, dict[str, list[float] | list[int]]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_clv(ctx: ProjectContext, *, as_of: datetime | None = None, settings: ClvSettings | None = None,
            file: str | None = None) -> ClvResult:
    """Fit both models on the paid orders up to *as_of* (default now) and write the traits."""
    import numpy as np
    import pyarrow as pa

    from segflow.models.lifetime import clv, fit_bgnbd, fit_gamma_gamma, rfm_summary_sql
    from segflow.traits.store import write_owned_traits

    cfg = settings or ClvSettings()
    period = cfg.period
    when = at_or_now(as_of, ctx.clock)
    wh = ctx.warehouse
    started = time.perf_counter()
    if not wh.table_exists("orders"):
        raise ModelError("clv: no orders loaded: load an orders file first", code="no_orders", path="orders")
    sql = rfm_summary_sql(when, time_unit=cfg.time_unit, timezone=ctx.config.timezone)
    data = wh.execute(f"SELECT * FROM ({sql}) AS s ORDER BY profile_id").fetchnumpy()
    ids = data["profile_id"]
    if len(ids) == 0:
        raise ModelError(f"clv: no paid orders up to {when.isoformat()}: nothing to fit", code="no_orders",
                         path="orders")
    x, tx, age, m = (np.asarray(data[c], dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = fit_bgnbd(x, tx, age, penalizer=cfg.penalizer)
    gg = fit_gamma_gamma(x, m, penalizer=cfg.penalizer)
    scores = {
        "p_alive": bg.p_alive(x, tx, age),
        "expected_orders": bg.expected_purchases(cfg.horizon * period, x, tx, age),
        "expected_order_value": gg.expected_order_value(x, m),
        "clv": clv(bg, gg, x, tx, age, m, horizon=cfg.horizon, step=period, discount_rate=cfg.discount_rate),
    }
    for name, values in scores.items():
        if not np.all(np.isfinite(values)):
            raise ModelError(f"clv: {int((~np.isfinite(values)).sum())} customers got a non-finite {name}; "
                             "nothing was written", path=name)
    table = pa.table({"profile_id": pa.array(ids, type=pa.string()),
                      **{name: pa.array(values, type=pa.float64()) for name, values in scores.items()}})
    with wh.registered(_TABLE, table) as name:
        write_owned_traits(ctx, OWNER, OUTPUTS, f'SELECT * FROM "{name}"', as_of=when, file=file, fingerprint=cfg.fingerprint())
    stats = {name: {"mean": float(np.mean(v)), "p50": float(np.percentile(v, 50)),
                    "p90": float(np.percentile(v, 90)), "max": float(np.max(v))} for name, v in scores.items()}
    top = max(float(np.percentile(scores["clv"], 99)), 1e-9)
    histograms: dict[str, dict[str, list[float] | list[int]]] = {}
    for name, values, upper in (("clv", scores["clv"], top), ("p_alive", scores["p_alive"], 1.0)):
        counts, edges = np.histogram(np.clip(values, 0.0, upper), bins=40, range=(0.0, upper))
        histograms[name] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    return ClvResult(as_of=when, settings=cfg.model_dump() | {"step": period}, file=file, customers=int(len(ids)),
                     bgnbd=bg.to_dict(), gamma_gamma=gg.to_dict(), traits=stats,
                     seconds=time.perf_counter() - started, histograms=histograms)


def _run(ctx: ProjectContext, *, as_of: datetime | None = None, config: ClvSettings | None = None,
         file: str | None = None) -> ClvResult:
    return run_clv(ctx, as_of=as_of, settings=config, file=file)


def _describe(result: ClvResult) -> str:
    return (f"{result.customers:,} customers, mean CLV {result.traits['clv']['mean']:,.2f} over "
            f"{result.settings['horizon']} periods")


register_model(ModelKind(name="clv", outputs=OUTPUTS, settings=ClvSettings, load=load_clv_config, run=_run,
                         describe=_describe, title="lifetime value: BG/NBD and Gamma-Gamma"))
