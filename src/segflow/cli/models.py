"""``segflow model ...``: run a customer model, write its traits, print a summary.

Registered in :mod:`segflow.cli.app` as the ``model`` sub-app. The models live in
:mod:`segflow.models`; this module only parses options and prints.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from segflow.cli.common import ProjectOpt
from segflow.cli.common import Shown as Format
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _when
from segflow.cli.common import print_json as _json
from segflow.cli.output import out

__all__ = ["model_app"]

model_app = typer.Typer(help="Customer models (RFM, lifetime value): computed as of a time, written as traits.",
                        no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]
AsOfOpt = Annotated[str | None, typer.Option(help="Compute as of this ISO time (default: now, UTC).")]
ChartOpt = Annotated[Path | None, typer.Option(help="Also draw the model's picture to this .png, .svg or .html file.")]


class RfmMode(str, Enum):
    guide = "guide"
    quantile = "quantile"
    grid = "grid"


class TimeUnit(str, Enum):
    days = "days"
    weeks = "weeks"


@model_app.command("rfm")
def rfm(
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    config: Annotated[Path | None, typer.Option(help="Settings file (default: models/rfm.yaml when there).")] = None,
    mode: Annotated[RfmMode | None, typer.Option(help="guide (the default), quantile or grid.")] = None,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Score every profile by recency, frequency and money; write the rfm_* traits."""
    from segflow.charts import check_chart_path
    from segflow.models.rfm import load_rfm_config, run_rfm

    when = _when(as_of)
    if chart is not None:
        check_chart_path(chart)
    with _open(project) as ws:
        settings, file = load_rfm_config(config, root=ws.root, overrides={"mode": mode.value if mode else None})
        result = run_rfm(ws, as_of=when, config=settings, file=file)
    if chart is not None:
        from segflow.charts import save_chart
        from segflow.models.charts import rfm_chart

        save_chart(rfm_chart(result), chart)
    if fmt is Format.json:
        _json(result.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"RFM ({result.mode}) of {result.scored:,} buyers among {result.profiles:,} profiles "
                        f"as of {result.as_of.isoformat()}")
    for col in ("tier", "label", "标签", "profiles", "share"):
        table.add_column(col, justify="right" if col in ("profiles", "share") else "left")
    for tier, n in result.tiers.items():
        label = result.labels[tier]
        share = f"{n / result.scored:.1%}" if result.scored else "-"
        table.add_row(tier, label["en"], label["zh"], f"{n:,}", share)
    out.print(table)
    out.print(f"Wrote rfm_r, rfm_f, rfm_m, rfm_score, rfm_tier in {result.seconds:.2f} s "
              f"(rules read them: {{trait: rfm_tier, eq: {next(iter(result.tiers))}}}).")
    if chart is not None:
        out.print(f"Chart: {chart}")


@model_app.command("clv")
def clv(
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    time_unit: Annotated[TimeUnit, typer.Option(help="The models' time unit.")] = TimeUnit.days,
    horizon: Annotated[int, typer.Option(help="Periods of value to add up (clv), in --step time units each.")] = 12,
    step: Annotated[float | None, typer.Option(help="Length of one period in time units (default: a month, "
                                                    "30 days or 4.345 weeks).")] = None,
    discount_rate: Annotated[float, typer.Option(help="Discount per period.")] = 0.0,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on paid orders; write p_alive, expected_orders, expected_order_value, clv."""
    from segflow.charts import check_chart_path
    from segflow.models.clv import ClvSettings, run_clv

    when = _when(as_of)
    if chart is not None:
        check_chart_path(chart)
    settings = ClvSettings(time_unit=time_unit.value, horizon=horizon, step=step, discount_rate=discount_rate)
    with _open(project) as ws:
        result = run_clv(ws, as_of=when, settings=settings)
    if chart is not None:
        from segflow.charts import save_chart
        from segflow.models.charts import clv_chart

        save_chart(clv_chart(result), chart)
    summary = result.to_dict()
    if fmt is Format.json:
        _json(summary)
        return
    from rich.table import Table

    fit = Table(title=f"lifetime value of {result.customers:,} customers as of {result.as_of.isoformat()} "
                      f"({result.settings['time_unit']})")
    fit.add_column("model")
    fit.add_column("parameters")
    fit.add_column("log-likelihood", justify="right")
    fit.add_row("BG/NBD", _params(summary["bgnbd"], ("r", "alpha", "a", "b")),
                f"{summary['bgnbd']['log_likelihood']:,.1f}")
    fit.add_row("Gamma-Gamma", _params(summary["gamma_gamma"], ("p", "q", "gamma")),
                f"{summary['gamma_gamma']['log_likelihood']:,.1f}")
    out.print(fit)
    stats = Table(title="per customer")
    for col in ("trait", "mean", "p50", "p90", "max"):
        stats.add_column(col, justify="left" if col == "trait" else "right")
    for name, s in result.traits.items():
        stats.add_row(name, *(f"{s[k]:,.3f}" for k in ("mean", "p50", "p90", "max")))
    out.print(stats)
    if chart is not None:
        out.print(f"Chart: {chart}")
    sys.stdout.flush()


def _params(values: dict[str, Any], names: tuple[str, ...]) -> str:
    return ", ".join(f"{n} {values[n]:.4g}" for n in names)
