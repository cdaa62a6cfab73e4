"""Printing results: Rich tables for people, CSV and JSON for programs."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from segflow.jsonable import to_json

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["out", "err", "print_arrow", "to_json", "progress_bar"]

# Piped output (logs, files, CI) gets 160 columns rather than Rich's 80, so tables of
# segment and tag names are not cut short; a terminal uses its own width.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def print_arrow(table: pa.Table, fmt: str, *, limit: int | None = None, title: str | None = None) -> None:
    if fmt == "csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        for i, field in enumerate(table.schema):
            if pa.types.is_nested(field.type):  # lists, structs, maps: JSON text in the cell
                cells = [None if v is None else to_json(v) for v in table.column(i).to_pylist()]
                table = table.set_column(i, field.name, pa.array(cells, pa.string()))

        sink = sys.stdout.buffer
        pacsv.write_csv(table, sink)
        sink.flush()
        return
    if fmt == "json":
        sys.stdout.write(to_json(table.to_pylist()) + "\n")
        return
    shown = table if limit is None else table.slice(0, limit)
    rich_table = Table(title=title, show_lines=False)
    for name in table.column_names:
        rich_table.add_column(name, overflow="fold")
    for row in shown.to_pylist():
        rich_table.add_row(*("" if v is None else (v.isoformat() if isinstance(v, (datetime, date)) else str(v)) for v in row.values()))
    out.print(rich_table)
    if limit is not None and table.num_rows > limit:
        err.print(f"[dim]{table.num_rows} rows; showing the first {limit} (use --format csv for all)[/dim]")


def progress_bar() -> Any:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        # Not a terminal (a pipe, a log file): no bar, and no stray blank line where it stood.
        disable=not err.is_terminal,
    )
