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

model_app = typer.Typer(help="Customer models (RFM, lifetime value, activity and loyalty, lifecycle stages, "
                        "clusters): computed as of a time, written as traits.",
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


@model_app.command("list")
def model_list(project: ProjectOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Every model: what it writes, its file in models/ and schedule, when its traits are as of."""
    from segflow.models.registry import list_models

    with _open(project) as ws:
        infos = list_models(ws)
    if fmt is Format.json:
        _json([i.to_dict() for i in infos])
        return
    from rich.table import Table

    table = Table(title="models")
    for col in ("model", "what", "writes", "file", "schedule", "traits as of"):
        table.add_column(col)
    for i in infos:
        when = "never run" if i.as_of is None else i.as_of.isoformat() + ("" if i.current else " (other settings)")
        table.add_row(i.name, i.title, ", ".join(i.outputs), i.file or "-", i.schedule or "-", when)
    out.print(table)


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
    _draw("rfm", result, chart)
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
    config: Annotated[Path | None, typer.Option(help="Settings file (default: models/clv.yaml when there).")] = None,
    time_unit: Annotated[TimeUnit | None, typer.Option(help="The models' time unit (default: days).")] = None,
    horizon: Annotated[int | None, typer.Option(help="Periods of value to add up (clv), in --step time units "
                                                     "each (default: 12).")] = None,
    step: Annotated[float | None, typer.Option(help="Length of one period in time units (default: a month, "
                                                    "30 days or 4.345 weeks).")] = None,
    discount_rate: Annotated[float | None, typer.Option(help="Discount per period (default: 0).")] = None,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on paid orders; write p_alive, expected_orders, expected_order_value, clv."""
    from segflow.charts import check_chart_path
    from segflow.models.clv import load_clv_config, run_clv

    when = _when(as_of)
    if chart is not None:
        check_chart_path(chart)
    overrides = {"time_unit": time_unit.value if time_unit else None, "horizon": horizon, "step": step,
                 "discount_rate": discount_rate}
    with _open(project) as ws:
        settings, file = load_clv_config(config, root=ws.root, overrides=overrides)
        result = run_clv(ws, as_of=when, settings=settings, file=file)
    _draw("clv", result, chart)
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


def _draw(model: str, result: Any, chart: Path | None) -> None:
    """Draw *model*'s picture of *result* to *chart* (its path was checked before the run)."""
    if chart is not None:
        from segflow.charts import save_chart
        from segflow.models.charts import CHARTS

        save_chart(CHARTS[model](result), chart)


def _params(values: dict[str, Any], names: tuple[str, ...]) -> str:
    return ", ".join(f"{n} {values[n]:.4g}" for n in names)


@model_app.command("activity")
def activity(
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    config: Annotated[Path | None, typer.Option(help="Settings file (default: models/activity.yaml when there).")]
    = None,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Score activity and loyalty (0-100) and their levels; write activity_score, activity_level,
    loyalty_score, loyalty_level."""
    from segflow.charts import check_chart_path
    from segflow.cli.output import err
    from segflow.models.activity import LEVELS, load_activity_config, run_activity

    when = _when(as_of)
    if chart is not None:
        check_chart_path(chart)
    with _open(project) as ws:
        settings, file = load_activity_config(config, root=ws.root)
        result = run_activity(ws, as_of=when, config=settings, file=file)
    _draw("activity", result, chart)
    if fmt is Format.json:
        _json(result.to_dict())
        return
    from rich.table import Table

    for w in result.warnings:
        err.print(f"[yellow]Warning:[/yellow] {w}", highlight=False)
    table = Table(title=f"activity and loyalty of {result.scored:,} profiles as of {result.as_of.isoformat()}")
    for col in ("level", "活跃度", "profiles", "share", "忠诚度", "profiles ", "share "):
        table.add_column(col, justify="right" if col.strip() in ("profiles", "share") else "left")

    def share(n: int) -> str:
        return f"{n / result.scored:.1%}" if result.scored else "-"

    for level in LEVELS:
        a, lo = result.levels["activity"][level], result.levels["loyalty"][level]
        table.add_row(level, result.labels["activity"][level]["zh"], f"{a:,}", share(a),
                      result.labels["loyalty"][level]["zh"], f"{lo:,}", share(lo))
    means = {s: "-" if m is None else f"{m:.1f}" for s, m in result.means.items()}
    table.add_row("mean score", "", means["activity"], "", "", means["loyalty"], "", end_section=False)
    out.print(table)
    parts = Table(title="components")
    for col in ("score", "component", "kind", "weight", "profiles", "mean", "note"):
        parts.add_column(col, justify="right" if col in ("weight", "profiles", "mean") else "left")
    for score, comps in result.components.items():
        for name, c in comps.items():
            mean = "-" if c["mean"] is None else f"{c['mean']:.1f}"
            parts.add_row(score, name, c["kind"], f"{c['share']:.2f}", f"{c['profiles']:,}", mean,
                          "no data: left out" if c["dropped"] else "")
    out.print(parts)
    out.print(f"Wrote activity_score, activity_level, loyalty_score, loyalty_level in {result.seconds:.2f} s "
              "(rules read them: {trait: activity_level, eq: high}).")
    if chart is not None:
        out.print(f"Chart: {chart}")


def _day_or_time(text: str | None, option: str) -> Any:
    """A plain ISO date (``2026-03-01``) stays a date (that day in the project's zone); anything
    else is a time, whose day in the project's zone is meant."""
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return _when(text, option)


@model_app.command("lifecycle")
def lifecycle(
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of a range (ISO date or time): the stage "
                                                              "distribution per day, read-only.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day of the range (ISO date or time).")] = None,
    config: Annotated[Path | None, typer.Option(help="Stages file (default: models/lifecycle.yaml when there).")] = None,
    backfill: Annotated[bool, typer.Option(help="With --from/--to: also record each day in the lifecycle "
                                                "history.")] = False,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Put every profile in its lifecycle stage (first matching rule); write lifecycle_stage,
    lifecycle_since and the day's changes. With --from/--to: stages per day and the migration matrix."""
    from segflow.charts import check_chart_path
    from segflow.errors import SegflowError
    from segflow.models.lifecycle import lifecycle_range, load_lifecycle_config, run_lifecycle

    ranged = start is not None or end is not None
    if ranged and (start is None or end is None):
        raise SegflowError("give both --from and --to for a range", code="bad_range")
    if ranged and as_of is not None:
        raise SegflowError("--as-of is for one day; a range is --from and --to", code="bad_range")
    if backfill and not ranged:
        raise SegflowError("--backfill records a range: give --from and --to", code="bad_range")
    when = _when(as_of)
    first, last = _day_or_time(start, "--from"), _day_or_time(end, "--to")
    if chart is not None:
        check_chart_path(chart)
    with _open(project) as ws:
        settings, file = load_lifecycle_config(config, root=ws.root)
        if ranged:
            from segflow.cli.output import progress_bar

            with progress_bar() as bar:
                task = bar.add_task("lifecycle", total=None)

                def report(done: int, total: int, day: Any) -> None:
                    bar.update(task, total=total, completed=done, description=f"lifecycle {day}")

                result: Any = lifecycle_range(ws, first, last, config=settings, file=file, backfill=backfill,
                                              progress=report)
        else:
            result = run_lifecycle(ws, as_of=when, config=settings, file=file)
    _draw("lifecycle", result, chart)
    if fmt is Format.json:
        _json(result.to_dict())
        return
    from segflow.cli.output import err

    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    if ranged:
        _print_lifecycle_range(result)
    else:
        _print_lifecycle_day(result)
    if chart is not None:
        out.print(f"Chart: {chart}")


def _print_lifecycle_day(result: Any) -> None:
    from rich.table import Table

    table = Table(title=f"lifecycle stages of {result.profiles:,} profiles as of {result.as_of.isoformat()} "
                        f"(day {result.day}, {result.timezone})")
    for col in ("stage", "label", "标签", "profiles", "share", "entered today"):
        table.add_column(col, justify="right" if col in ("profiles", "share", "entered today") else "left")
    rows = [(s, result.labels[s]["en"], result.labels[s]["zh"], n, result.entered.get(s, 0))
            for s, n in result.stages.items()]
    if result.unclassified:
        rows.append(("(none)", "unclassified", "未分类", result.unclassified, 0))
    for stage, en, zh, n, entered in rows:
        share = f"{n / result.profiles:.1%}" if result.profiles else "-"
        table.add_row(stage, en, zh, f"{n:,}", share, f"{entered:,}")
    out.print(table)
    first = " (the first day recorded: every profile entered its stage)" if result.first_day else ""
    moves = ", ".join(f"{t['from'] or '-'} → {t['to'] or '-'} {t['profiles']:,}" for t in result.transitions[:8])
    more = f", ... ({len(result.transitions) - 8} more)" if len(result.transitions) > 8 else ""
    out.print(f"{result.changes:,} changes on {result.day}{first}" + (f": {moves}{more}" if moves and not first else "")
              + ".")
    out.print(f"Wrote lifecycle_stage, lifecycle_since and the history in {result.seconds:.2f} s "
              f"(rules read them: {{trait: lifecycle_stage, eq: {next(iter(result.stages))}}}).")


def _print_lifecycle_range(result: Any) -> None:
    from rich.table import Table

    names = list(result.labels)
    extra = any(d["unclassified"] for d in result.days)
    days = Table(title=f"lifecycle stages per day, {result.start} to {result.end} (end of day, {result.timezone})")
    for col in ["day", *names, *(["unclassified"] if extra else []), "profiles"]:
        days.add_column(col, justify="left" if col == "day" else "right")
    for d in result.days:
        cells = [f"{d['stages'][s]:,}" for s in names] + ([f"{d['unclassified']:,}"] if extra else [])
        days.add_row(str(d["day"]), *cells, f"{d['profiles']:,}")
    out.print(days)
    rows = result.matrix["rows"]
    cols = list(next(iter(rows.values())))
    matrix = Table(title=f"migration: stage on {result.matrix['from']} (rows) → stage on {result.matrix['to']} "
                         "(columns)")
    matrix.add_column("from \\ to")
    for c in cols:
        matrix.add_column(c, justify="right")
    matrix.add_column("total", justify="right")
    for r, cells in rows.items():
        matrix.add_row(r, *(f"{cells[c]:,}" for c in cols), f"{sum(cells.values()):,}")
    out.print(matrix)
    written = f"; {result.changes:,} history rows recorded" if result.backfilled else " (read-only: nothing written)"
    out.print(f"{len(result.days)} days in {result.seconds:.2f} s{written}.")


@model_app.command("clusters")
def clusters(
    project: ProjectOpt = None,
    as_of: AsOfOpt = None,
    config: Annotated[Path | None, typer.Option(help="Settings file (default: models/clusters.yaml when there).")]
    = None,
    k: Annotated[int | None, typer.Option(help="A fixed number of clusters (default: chosen by silhouette "
                                               "within k_range, 2-8).")] = None,
    chart: ChartOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Cluster the buyers with k-means over their features; write cluster and cluster_label."""
    from segflow.charts import check_chart_path
    from segflow.models.clusters import load_clusters_config, run_clusters

    when = _when(as_of)
    if chart is not None:
        check_chart_path(chart)
    with _open(project) as ws:
        settings, file = load_clusters_config(config, root=ws.root, overrides={"k": k})
        result = run_clusters(ws, as_of=when, config=settings, file=file)
    _draw("clusters", result, chart)
    if fmt is Format.json:
        _json(result.to_dict())
        return
    from rich.table import Table

    names = [f["name"] for f in result.features]
    table = Table(title=f"{result.k} clusters of {result.clustered:,} buyers among {result.profiles:,} profiles "
                        f"as of {result.as_of.isoformat()}")
    for col in ("cluster", "label", "buyers", "share", "description"):
        table.add_column(col, justify="right" if col in ("cluster", "buyers", "share") else "left")
    for c in result.clusters:
        table.add_row(str(c["id"]), c["label"], f"{c['size']:,}", f"{c['share']:.1%}", c["description"])
    out.print(table)
    if len(result.clusters) <= 6:
        centres = Table(title="centres (original units) and z vs all buyers")
        centres.add_column("feature")
        for c in result.clusters:
            centres.add_column(str(c["id"]), justify="right")
        centres.add_column("all buyers", justify="right")
        for name in names:
            cells = [c["features"][name] for c in result.clusters]
            centres.add_row(name, *(f"{x['centre']:,.2f} ({x['z']:+.2f})" for x in cells),
                            f"{cells[0]['population']:,.2f}")
    else:  # too many columns: one row per cluster, z only (the JSON has the centres)
        centres = Table(title="centres: z vs all buyers")
        centres.add_column("cluster", justify="right")
        for name in names:
            centres.add_column(name, justify="right")
        for c in result.clusters:
            centres.add_row(str(c["id"]), *(f"{c['features'][n]['z']:+.2f}" for n in names))
    out.print(centres)
    if result.silhouettes:
        out.print(f"silhouette by k (KMeans, sample of {result.sample:,}): " + ", ".join(
            f"{key} {v:.3f}" for key, v in result.silhouettes.items()) + f" → k = {result.k}")
    out.print("fit: " + "; ".join(f"{a}{' (written)' if a == result.algorithm else ''} silhouette "
                                  f"{v['silhouette']:.3f} in {v['seconds']:.2f} s"
                                  for a, v in result.comparison.items() if isinstance(v, dict))
              + (f"; agreement (adjusted Rand) {result.comparison['agreement']:.3f}"
                 if "agreement" in result.comparison else ""))
    if result.clustered < result.buyers:
        out.print(f"{result.buyers - result.clustered:,} buyers left out for a missing value: "
                  + ", ".join(f"{n} {m:,}" for n, m in result.missing.items()))
    out.print(f"Wrote cluster, cluster_label in {result.seconds:.2f} s "
              "(rules read them: {trait: cluster, eq: 1}).")
    if chart is not None:
        out.print(f"Chart: {chart}")
