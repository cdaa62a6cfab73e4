"""What every command shares: the ``--project`` option, output formats, opening the
project, reading times given on the command line, and the results table of refreshes.

Only Typer and Rich are imported at start (the CLI starts fast); the rest inside.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from segflow.cli.output import out, to_json
from segflow.errors import SegflowError

if TYPE_CHECKING:
    from datetime import datetime

    from segflow.workspace import Workspace

__all__ = [
    "ProjectOpt",
    "Shown",
    "TableFormat",
    "fmt_time",
    "num",
    "open_project",
    "parse_columns",
    "parse_time",
    "print_json",
    "print_results",
    "results_table",
]

ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", "-p", help="Project folder (default: $SEGFLOW_PROJECT, else the current folder)."),
]


class Shown(str, Enum):
    """Output for people (a table) or for programs (one JSON document)."""

    table = "table"
    json = "json"


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def open_project(project: Path | None, *, read_only: bool = False) -> Workspace:
    """The project at *project* (else ``$SEGFLOW_PROJECT``, else the current folder)."""
    import segflow

    return segflow.open(project, read_only=read_only)


def parse_time(text: str | None, option: str = "--as-of") -> datetime | None:
    """An ISO date or timestamp given to *option* (naive times are UTC); None stays None.

    Every command's ``--as-of`` goes through here: one later than the wall clock is accepted
    (the command runs as of it) with a warning on stderr (:func:`segflow.clock.future_as_of`).
    The worker's ``--now`` is checked by the worker itself, which refuses a future time."""
    from segflow.clock import future_as_of, parse_iso

    if text is None:
        return None
    try:
        when = parse_iso(text)
    except ValueError:
        code = "bad_as_of" if option == "--as-of" else "bad_time"
        raise SegflowError(f"{option} {text!r}: expected an ISO date or timestamp, e.g. 2026-03-01T02:00:00Z",
                           code=code) from None
    warning = future_as_of(when) if option == "--as-of" else None
    if warning:
        from segflow.cli.output import err

        err.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    return when


def parse_columns(text: str | None) -> list[str] | None:
    """``a, b,c`` → ``["a", "b", "c"]`` (None when not given)."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def fmt_time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def num(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def print_json(value: Any) -> None:
    sys.stdout.write(to_json(value) + "\n")


def results_table(results: list[Any], title: str) -> None:
    """Refresh results (segments, tags, traits) as a table: kind, name, status, counts, seconds."""
    from rich.table import Table

    table = Table(title=title)
    errors = any(r.error for r in results)
    # Numbers never wrap; on a narrow terminal the names wrap instead (and the error
    # column is there only when something failed).
    for col in ("kind", "name", "status", "members", "entered", "exited", "seconds", *(("error",) if errors else ())):
        number = col in ("members", "entered", "exited", "seconds")
        table.add_column(col, justify="right" if number else "left", no_wrap=col != "name" and col != "error",
                         overflow="fold")
    for r in results:
        colour = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(r.status, "")
        table.add_row(r.kind, r.name, f"[{colour}]{r.status}[/{colour}]", num(r.members), num(r.entered),
                      num(r.exited), "-" if r.seconds is None else f"{r.seconds:.3f}",
                      *((r.error or "",) if errors else ()))
    out.print(table)


def print_results(results: list[Any], fmt: Shown, title: str) -> None:
    """Refresh results as a table or JSON; exit 1 when one did not succeed."""
    if fmt is Shown.json:
        print_json([r.to_dict() for r in results])
    elif results:
        results_table(results, title)
    else:
        out.print("Nothing to refresh.")
    if any(r.status != "ok" for r in results):
        raise typer.Exit(1)
