"""CLI: ``segflow plan``, ``segflow apply`` and ``segflow worker`` (registered by :mod:`segflow.cli.segments`).

Only Typer and Rich are imported at start; everything else inside the commands.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from segflow.cli.common import ProjectOpt, Shown, fmt_time, num, results_table
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _when
from segflow.cli.output import err, out, to_json
from segflow.errors import SegflowError

__all__ = ["apply", "plan", "worker"]


def _plan_table(plan: Any, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in ("kind", "name", "change", "file", "schedule", "members now", "after", "Δ"):
        table.add_column(col, justify="right" if col in ("members now", "after", "Δ") else "left", overflow="fold")
    colours = {"new": "green", "changed": "yellow", "removed": "red", "unchanged": "dim"}
    for c in plan.changes:
        delta = "-" if c.delta is None else f"{c.delta:+,}"
        table.add_row(c.kind, c.name, f"[{colours[c.action]}]{c.action}[/{colours[c.action]}]", c.file or "-",
                      c.schedule or "-", num(c.members_before), num(c.members_after), delta)
    out.print(table)
    for c in plan.changes:  # a changed journey: what happens to its runs in progress
        if c.kind == "journey" and (c.runs_moved or c.runs_ended):
            out.print(f"journey {c.name}: {c.runs_moved or 0:,} run(s) in progress continue on the new version, "
                      f"{c.runs_ended or 0:,} end ({'journey_removed' if c.action == 'removed' else 'node_removed'})",
                      highlight=False)


def _definitions_errors(exc: SegflowError) -> None:
    problems = getattr(exc, "problems", None)
    if problems and len(problems) > 1:
        for p in problems:
            err.print(f"[red]Error:[/red] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    raise exc


def _warn(warnings: list[str]) -> None:
    """Each check warning on its own ``Warning:`` line on stderr, as ``segment preview`` prints them."""
    for w in warnings:
        err.print(f"[yellow]Warning:[/yellow] {w}", highlight=False, soft_wrap=True)


def plan(project: ProjectOpt = None,
         fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
         diff: Annotated[bool, typer.Option("--diff", help="Also show each change as a diff of the definition.")]
         = False) -> None:
    """Show what apply would change: new, changed and removed definitions, with member counts."""
    from segflow.definitions.plan import make_plan
    from segflow.definitions.versions import current_versions

    with _open(project) as ws:
        try:
            result = make_plan(ws)
        except SegflowError as exc:
            _definitions_errors(exc)
        applied = current_versions(ws.state) if diff else {}
    _warn(result.warnings)
    if fmt is Shown.json:
        sys.stdout.write(to_json(result.to_dict()) + "\n")
        return
    _plan_table(result, f"plan ({len(result.pending)} to apply; counts as of {fmt_time(result.as_of)})")
    if not result.pending:
        out.print("Nothing to apply: the project folder matches the applied definitions.")
    for c in result.pending if diff else ():
        old = applied[(c.kind, c.name)].body if (c.kind, c.name) in applied and c.action != "new" else None
        _print_diff(c, old, c.local.body if c.local else None)


def _print_diff(change: Any, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """A unified diff of the applied and the new definition, as YAML."""
    import difflib

    import yaml
    from rich.text import Text

    def lines(body: dict[str, Any] | None) -> list[str]:
        return yaml.safe_dump(body, sort_keys=True, allow_unicode=True).splitlines() if body is not None else []

    label = f"{change.kind} {change.name}"
    text = "\n".join(difflib.unified_diff(lines(old), lines(new), fromfile=f"{label} (applied)",
                                          tofile=f"{label} ({change.file or 'removed'})", lineterm=""))
    colours = {"+": "green", "-": "red", "@": "cyan"}
    for line in text.splitlines():
        colour = colours.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
        out.print(Text(line, style=colour or ""))


def apply(
    project: ProjectOpt = None,
    no_refresh: Annotated[bool, typer.Option("--no-refresh", help="Record the definitions, refresh nothing.")] = False,
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
) -> None:
    """Apply the project folder: version changed definitions, update schedules, refresh what changed."""
    from segflow.definitions.plan import apply as run_apply

    with _open(project) as ws:
        try:
            result = run_apply(ws, refresh=not no_refresh)
        except SegflowError as exc:
            _definitions_errors(exc)
    _warn(result.plan.warnings)
    if fmt is Shown.json:
        sys.stdout.write(to_json({"changes": [c.to_dict() for c in result.plan.pending],
                                  "warnings": list(result.plan.warnings),
                                  "versions": [{"kind": k, "name": n, "version": v}
                                               for (k, n), v in result.versions.items()],
                                  "refreshed": [r.to_dict() for r in result.refreshed]}) + "\n")
    else:
        for c in result.plan.pending:
            out.print(f"{c.action:>8} {c.kind} {c.name} → version {result.versions[(c.kind, c.name)]}")
        if not result.plan.pending:
            out.print("Nothing to apply.")
        if result.refreshed:
            results_table(result.refreshed, "refreshed")
    if result.failed:
        raise typer.Exit(1)


def worker(
    project: ProjectOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for due work.")] = 30.0,
    lease: Annotated[int, typer.Option(help="Lease in seconds: work not finished by then (a refresh, a batch of journey steps or messages) may be taken again by another worker.")] = 900,
    name: Annotated[str | None, typer.Option("--name", help="Worker name in run rows (default host:pid).")] = None,
    now: Annotated[str | None, typer.Option(help="Run as of this ISO time instead of the clock. Not a dry run: the "
                                                 "due schedules really run and their next run moves on from it.")]
    = None,
    allow_future: Annotated[bool, typer.Option("--allow-future", help="Accept a --now later than the wall clock "
                                                                       "(the real runs until then are skipped).")]
    = False,
) -> None:
    """Run due scheduled refreshes, journeys and message deliveries; several workers share the work
    exactly once."""
    from datetime import timedelta

    from segflow.scheduler.worker import run_worker

    fixed = _when(now, "--now")
    if lease <= 0 or poll <= 0:
        raise SegflowError("--lease and --poll must be positive", code="bad_worker_option")

    def show(r: Any) -> None:
        detail = (f"{r.members:,} members (+{r.entered:,} −{r.exited:,})" if r.members is not None and r.entered
                  is not None else (r.error or ""))
        out.print(f"{r.status:>7} {r.kind} {r.name} as of {fmt_time(r.as_of)}  {detail}", highlight=False)

    def show_tick(tick: str, report: Any) -> None:
        if isinstance(report, str):
            out.print(f" failed {tick}: {report}", highlight=False)
            return
        out.print(f"{'ok':>7} {tick} as of {fmt_time(report.now)}  {report.entered:,} entered, {report.steps:,} "
                  f"steps, {report.sent:,} sent, {report.failed:,} failed, {report.skipped:,} skipped"
                  + (f", {report.retried:,} to retry" if report.retried else ""), highlight=False)
        for line in report.errors:
            err.print(f"[yellow]{line}[/yellow]")

    import signal

    def stop(signum: int, frame: Any) -> None:  # SIGTERM (systemd, docker stop) stops like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with _open(project) as ws:
        try:
            summary = run_worker(ws, once=once, poll=poll, lease=timedelta(seconds=lease), worker=name,
                                 clock=(lambda: fixed) if fixed else None, on_result=show,
                                 allow_future=allow_future, on_tick=show_tick)
        except KeyboardInterrupt:
            err.print("Worker stopped; a refresh it was running was rolled back and is left due for the next worker.")
            return
    if once:
        err.print(f"[dim]worker {summary.worker}: {len(summary.results)} refresh(es), {summary.failed} failed[/dim]")
    if summary.failed:
        raise typer.Exit(1)
