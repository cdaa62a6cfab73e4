"""``segflow journey ...`` and ``segflow journeys templates``: parse, call the journeys service, print.

Registered in :mod:`segflow.cli.app`. The logic lives in :mod:`segflow.journeys`
(service, simulate, engine, examples); this module only parses options and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from segflow.cli.common import ProjectOpt, fmt_time, num
from segflow.cli.common import Shown as Format
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _when
from segflow.cli.common import print_json as _json
from segflow.cli.output import err, out
from segflow.errors import SegflowError

__all__ = ["journey_app", "journeys_app", "stats_table"]

journey_app = typer.Typer(help="Automated journeys: list, show, stats, simulate, start / pause / stop, enroll.",
                          no_args_is_help=True)
journeys_app = typer.Typer(help="Journey templates from the guides: list and install.", no_args_is_help=True)

FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]
NameArg = Annotated[str, typer.Argument(help="The journey (its file name in journeys/ without .yaml).")]


@journey_app.command("list")
def journey_list(project: ProjectOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Every applied journey: version, state, runs in progress, entered, converted."""
    from segflow.journeys.service import list_journeys

    with _open(project, read_only=True) as ws:
        infos = list_journeys(ws)
    if fmt is Format.json:
        _json([i.to_dict() for i in infos])
        return
    if not infos:
        out.print("No journey is applied: add journeys/NAME.yaml (or `segflow journeys templates --install`), "
                  "then `segflow apply`.")
        return
    from rich.table import Table

    table = Table(title="journeys")
    for col in ("journey", "version", "state", "entry", "in progress", "entered", "converted"):
        table.add_column(col, justify="right" if col in ("version", "in progress", "entered", "converted") else "left")
    for i in infos:
        table.add_row(i.name, str(i.version), i.status, i.entry, num(i.active), num(i.entered), num(i.converted))
    out.print(table)


def stats_table(stats: Any, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    cols = ("node", "kind", "next", "reached", "waiting", "passed", "sent", "failed", "skipped", "ended", "converted")
    for col in cols:
        table.add_column(col, justify="left" if col in ("node", "kind", "next") else "right", overflow="fold")
    for n in stats.nodes:
        table.add_row(escape(n.node + (f" ({n.label})" if n.label else "")), n.kind, escape(", ".join(n.targets) or "-"),
                      num(n.entered), num(n.waiting), num(n.passed), num(n.sent), num(n.failed), num(n.skipped),
                      num(n.ended), num(n.converted))
    out.print(table)
    for n in stats.nodes:
        for reason, count in sorted(n.skip_reasons.items()):
            out.print(f"  {n.node}: {count:,} skipped: {reason}", highlight=False)
        for error, count in sorted(n.errors.items()):
            out.print(f"  {n.node}: {count:,} failed: {error}", highlight=False)
    if stats.groups:
        groups = Table(title="conversion by group")
        for col in ("group", "runs", "converted", "rate"):
            groups.add_column(col, justify="left" if col == "group" else "right")
        for g in stats.groups:
            groups.add_row(g.group, num(g.runs), num(g.converted), "-" if g.rate is None else f"{g.rate:.1%}")
        out.print(groups)
    if stats.exits:
        out.print("ended: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.exits.items())), highlight=False)


@journey_app.command("stats")
def journey_stats_cmd(
    name: NameArg,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
    chart: Annotated[Path | None, typer.Option(help="Also draw the per-node counts to this .png, .svg or .html "
                                                    "file.")] = None,
) -> None:
    """Per node: reached, waiting, passed, sent, failed, skipped (with reasons), ended, converted; per split
    arm and holdout: conversion rate."""
    from segflow.journeys.service import journey_stats

    if chart is not None:
        from segflow.charts import check_chart_path

        check_chart_path(chart)
    with _open(project, read_only=True) as ws:
        stats = journey_stats(ws, name)
    if chart is not None:
        from segflow.charts import save_chart
        from segflow.journeys.charts import journey_chart

        save_chart(journey_chart(stats), chart)
    if fmt is Format.json:
        _json(stats.to_dict())
        return
    stats_table(stats, f"journey {stats.name} v{stats.version} ({stats.status}): {stats.runs:,} runs, "
                        f"{stats.active:,} in progress, {stats.converted:,} converted")
    if chart is not None:
        out.print(f"Chart: {chart}", highlight=False)


@journey_app.command("show")
def journey_show(name: NameArg, project: ProjectOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The journey's graph (entry, nodes and where each leads), with per-node counts."""
    from segflow.journeys.service import journey_stats, list_journeys

    with _open(project, read_only=True) as ws:
        stats = journey_stats(ws, name)
        info = next(i for i in list_journeys(ws) if i.name == name)
    if fmt is Format.json:
        _json({**info.to_dict(), "stats": stats.to_dict()})
        return
    out.print(f"[bold]{escape(info.name)}[/bold] v{info.version} ({info.status}) — "
              f"{escape(info.description or 'no description')}")
    out.print(f"entry: {info.entry}", highlight=False, markup=False)
    for n in stats.nodes:
        arrow = " → " + ", ".join(n.targets) if n.targets else ""
        label = f" ({n.label})" if n.label else ""
        out.print(f"  {n.node}{label} [{n.kind}]{arrow}   reached {n.entered:,}, waiting {n.waiting:,}",
                  highlight=False, markup=False)


@journey_app.command("simulate")
def journey_simulate(
    name: NameArg,
    start: Annotated[str, typer.Option("--from", help="Start of the replay (ISO time).")],
    end: Annotated[str, typer.Option("--to", help="End of the replay (ISO time).")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the would-be messages here, "
                                                                "one JSON object a line.")] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replay the stored history through the journey on a virtual clock, with no effects: what would
    be sent and when, and the per-node counts."""
    from segflow.cli.output import progress_bar
    from segflow.journeys.simulate import simulate

    t1, t2 = _when(start, "--from"), _when(end, "--to")
    assert t1 is not None and t2 is not None
    with _open(project, read_only=True) as ws, progress_bar() as bar:
        task = bar.add_task(f"simulating {name}", total=1.0)
        report = simulate(ws, name, start=t1, end=t2, out=out_file,
                          progress=lambda done: bar.update(task, completed=done))
    if fmt is Format.json:
        _json(report.to_dict())
        return
    stats_table(report.stats, f"simulation of {name} from {fmt_time(report.start)} to {fmt_time(report.end)}: "
                               f"{len(report.messages):,} message(s) in {report.seconds:.2f} s")
    if report.out:
        out.print(f"would-be messages written to {report.out}", highlight=False)


def _status(name: str, action: str, project: Path | None) -> None:
    from segflow.journeys.service import set_status

    with _open(project) as ws:
        status = set_status(ws, name, action)
    out.print(f"journey {name}: {status}", highlight=False)


@journey_app.command("start")
def journey_start(name: NameArg, project: ProjectOpt = None) -> None:
    """Make a paused or stopped journey active again (after a stop, entries count from now)."""
    _status(name, "start", project)


@journey_app.command("pause")
def journey_pause(name: NameArg, project: ProjectOpt = None) -> None:
    """Hold the journey: no steps, no entries until start (entries of the pause are then taken)."""
    _status(name, "pause", project)


@journey_app.command("stop")
def journey_stop(name: NameArg, project: ProjectOpt = None) -> None:
    """End the journey: its runs in progress exit (reason stopped); entries until a start are dropped."""
    _status(name, "stop", project)


@journey_app.command("enroll")
def journey_enroll(
    name: NameArg,
    ids: Annotated[list[str] | None, typer.Argument(help="Profile ids (any source id of the person).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file of profile ids, one a line.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Enrol profiles in a journey now (its re-entry policy applies)."""
    from segflow.journeys.engine import enroll
    from segflow.segments.static import read_ids

    wanted = list(ids or [])
    if file is not None:
        wanted += read_ids(file)
    if not wanted:
        raise SegflowError("give profile ids or a file of them", code="no_ids")
    with _open(project) as ws:
        started = enroll(ws, name, wanted)
    skipped = len(set(wanted)) - started
    out.print(f"journey {name}: {started:,} run(s) started" + (f", {skipped:,} not entered (already in the journey "
                                                                 "or not allowed to re-enter)" if skipped else ""),
              highlight=False)


@journeys_app.command("templates")
def journeys_templates(
    install: Annotated[list[str] | None, typer.Option("--install", help="Install these examples (repeat; "
                                                                        "'all' for every one).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files that differ.")] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The guides' journey templates: list them, or install them (journeys, their message templates and
    segments) into the project."""
    from segflow.journeys.examples import install_examples, list_examples

    if install:
        names = None if "all" in install else list(install)
        with _open(project) as ws:
            written = install_examples(ws.root, names, overwrite=overwrite)
        for path in written:
            out.print(f"wrote {path}", highlight=False)
        err.print("[dim]Next: segflow plan, then segflow apply.[/dim]")
        return
    infos = list_examples()
    if fmt is Format.json:
        _json([i.to_dict() for i in infos])
        return
    from rich.table import Table

    table = Table(title="journey templates")
    table.add_column("name")
    table.add_column("what")
    for i in infos:
        table.add_row(i.name, i.description)
    out.print(table)
