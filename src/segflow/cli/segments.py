"""CLI: ``segflow segment refresh|list|members|history|overlap|export|add|remove`` (and, from
:mod:`segflow.cli.definitions`, ``plan``, ``apply``, ``worker``).

Registered on the main app by :func:`register`. Only Typer and Rich are imported here
at start; everything else is imported inside the commands.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from segflow.cli.common import (
    ProjectOpt,
    Shown,
    fmt_time,
    num,
    parse_columns,
    print_results,
)
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _when
from segflow.cli.output import err, out, print_arrow, to_json
from segflow.errors import SegflowError

__all__ = ["register"]

class MemberFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    json = "json"
    customer_match = "customer-match"
    meta = "meta"


# -- segment ... ---------------------------------------------------------------------------

def segment_refresh(
    names: Annotated[list[str] | None, typer.Argument(help="Segments to refresh (not what reads them).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dynamic segment and rule tag, in dependency order.")] = False,
    as_of: Annotated[str | None, typer.Option(help="Evaluate as of this ISO time (default: now).")] = None,
    upstream: Annotated[bool, typer.Option("--upstream", help="Also refresh the segments and tags they read.")]
    = False,
    project: ProjectOpt = None,
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
) -> None:
    """Recompute dynamic segments: membership and entered/exited history, one transaction each."""
    from segflow.segments.refresh import refresh

    if bool(names) == all_:
        raise SegflowError("name the segments to refresh, or pass --all (not both)", code="refresh_usage")
    with _open(project) as ws:
        results = refresh(ws, None if all_ else list(names or []), as_of=_when(as_of), upstream=upstream)
        _warn_unapplied(ws, {r.name for r in results if r.kind == "segment"})
    print_results(results, fmt, "refresh")


def _warn_unapplied(ws: Any, names: set[str]) -> None:
    """Warn when a refreshed segment's file differs from the applied version that was used."""
    from segflow.definitions.versions import applied_segments
    from segflow.segments.definition import load_segment_definitions

    try:
        files = load_segment_definitions(ws.root)
    except SegflowError:
        return  # a broken file is reported by segflow plan
    for name, (version, seg) in applied_segments(ws.state).items():
        if name in names and name in files and files[name].fingerprint() != seg.fingerprint():
            err.print(f"[yellow]Warning:[/yellow] {files[name].file} changed since it was applied; refreshed "
                      f"the applied version {version} (segflow plan shows the change, segflow apply applies it)",
                      highlight=False)


def segment_list(project: ProjectOpt = None,
                 fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table) -> None:
    """Applied segments: type, schedule, next run, members, last refresh."""
    from segflow.segments.listing import list_segments

    with _open(project) as ws:
        rows = [s.to_dict() for s in list_segments(ws)]
    if fmt is Shown.json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} segments")
    labelled = any(r["label"] for r in rows)
    for col in ("segment", *(("label",) if labelled else ()), "type", "v", "schedule", "next run (UTC)", "members",
                "last refresh", "as of"):
        table.add_column(col, justify="right" if col in ("v", "members") else "left", overflow="fold")
    for r in rows:
        table.add_row(r["name"], *((r["label"] or "-",) if labelled else ()), r["type"], str(r["version"]),
                      r["schedule"] or "-", fmt_time(r["next_run"]), f"{r['members']:,}", r["last_status"] or "-",
                      fmt_time(r["last_as_of"]))
    out.print(table)
    for r in rows:
        if r["unknown_events"]:
            names = ", ".join(repr(e) for e in r["unknown_events"])
            err.print(f"[yellow]Warning:[/yellow] segment {r['name']}: no event {names} has been loaded yet: "
                      "that part of its rule matches no one", highlight=False, soft_wrap=True)


def segment_members(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    shown: Annotated[MemberFormat | None, typer.Option(
        "--format", help="table, csv, json or parquet (default: csv; with --to, the one the file's suffix names).")]
    = None,
    columns: Annotated[str | None, typer.Option(help="Profile columns to add, e.g. email,phone,city.")] = None,
    to: Annotated[Path | None, typer.Option("--to", help="Write to this file (.csv, .json, .jsonl, .parquet) "
                                                         "instead of standard output.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many members.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Print (or write) a segment's members: profile_id, entered_at and any profile columns."""
    from segflow.segments.export import export_format, write_table
    from segflow.segments.query import members

    if to is not None and shown is MemberFormat.table:
        raise SegflowError("--to needs --format csv, json or parquet", code="bad_format")
    written = export_format(to, shown.value if shown else None) if to is not None else None
    fmt = shown or MemberFormat.csv
    with _open(project) as ws:
        table = members(ws, name, columns=parse_columns(columns), limit=limit)
    if to is not None and written is not None:
        write_table(table, to, written)
        err.print(f"Wrote {table.num_rows:,} members to {to} ({written})")
        return
    if fmt is MemberFormat.parquet:
        if sys.stdout.isatty():
            raise SegflowError("parquet is binary: pass --to FILE or redirect standard output", code="bad_format")
        import pyarrow.parquet as pq

        pq.write_table(table, sys.stdout.buffer)
        return
    if fmt is MemberFormat.json:
        sys.stdout.write("".join(to_json(row) + "\n" for row in table.to_pylist()))
        return
    print_arrow(table, fmt.value, limit=50 if fmt is MemberFormat.table else None, title=f"members of {name}")


def segment_history(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    changes: Annotated[bool, typer.Option("--changes", help="List entered/exited events instead of runs.")] = False,
    since: Annotated[str | None, typer.Option(help="Events at or after this ISO time (with --changes).")] = None,
    change: Annotated[str | None, typer.Option(help="entered or exited (with --changes).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many rows.")] = None,
    fmt: Annotated[MemberFormat, typer.Option("--format", help="table, csv or json.")] = MemberFormat.table,
    project: ProjectOpt = None,
) -> None:
    """A segment's refreshes (size, entered, exited, errors), or with --changes who entered and left when."""
    from segflow.segments.query import changes as list_changes
    from segflow.segments.query import history

    if fmt is MemberFormat.parquet:
        raise SegflowError("history: --format table, csv or json", code="bad_format")
    with _open(project) as ws:
        if changes:
            table = list_changes(ws, name, since=_when(since, "--since"), change=change, limit=limit)
            print_arrow(table, fmt.value, limit=100 if fmt is MemberFormat.table else None,
                        title=f"entered/exited {name}")
            return
        rows = history(ws, name, limit=limit or 50)
    if fmt is not MemberFormat.table:
        import pyarrow as pa

        print_arrow(pa.Table.from_pylist(rows), fmt.value) if rows else sys.stdout.write("[]\n" if fmt is
                                                                                         MemberFormat.json else "")
        return
    from rich.table import Table

    table = Table(title=f"history of {name} (newest first)")
    for col in ("run", "as of", "trigger", "status", "members", "entered", "exited", "seconds", "error"):
        table.add_column(col, justify="right" if col in ("run", "members", "entered", "exited", "seconds") else "left")
    for r in rows:
        table.add_row(str(r["id"]), fmt_time(r["as_of"]), r["trigger"], r["status"], num(r["members"]),
                      num(r["entered"]), num(r["exited"]), "-" if r["seconds"] is None else f"{r['seconds']:.3f}",
                      r["error"] or "")
    out.print(table)


def segment_overlap(
    names: Annotated[list[str], typer.Argument(help="Two or more segments.")],
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
    project: ProjectOpt = None,
) -> None:
    """Pairwise overlaps (both, Jaccard) and how many are in all / any of the segments."""
    from segflow.segments.query import overlap

    with _open(project) as ws:
        result = overlap(ws, names)
    if fmt is Shown.json:
        sys.stdout.write(to_json(result) + "\n")
        return
    from rich.table import Table

    table = Table(title="overlap")
    for col in ("a", "b", "size a", "size b", "in both", "Jaccard"):
        table.add_column(col, justify="left" if col in ("a", "b") else "right")
    for p in result["pairs"]:
        table.add_row(p["a"], p["b"], f"{result['sizes'][p['a']]:,}", f"{result['sizes'][p['b']]:,}",
                      f"{p['both']:,}", f"{p['jaccard']:.3f}")
    out.print(table)
    out.print(f"In all {len(names)}: [bold]{result['all']:,}[/bold]   in any: [bold]{result['any']:,}[/bold]")


def segment_export(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    to: Annotated[Path, typer.Option("--to", help="File to write.")],
    fmt: Annotated[ExportFormat | None, typer.Option(
        "--format", help="csv, parquet, json (JSON Lines), customer-match (Google) or meta (default: the one the "
                         "file's suffix names: .csv, .parquet, .json or .jsonl; csv without a suffix).")] = None,
    columns: Annotated[str | None, typer.Option(help="Profile columns to add (csv, parquet, json).")] = None,
    project: ProjectOpt = None,
) -> None:
    """Write a segment's members to a file, or as a hashed audience upload for Google or Meta."""
    from segflow.segments.export import export_format, export_members

    chosen = export_format(to, fmt.value if fmt else None)
    with _open(project) as ws:
        result = export_members(ws, name, to, fmt=chosen, columns=parse_columns(columns))
    out.print(f"Wrote {result.rows:,} rows for {result.members:,} members of {name} to {result.path} ({result.format})")
    if result.without_identifier:
        err.print(f"[yellow]{result.without_identifier:,} members have no usable email or phone and are not in "
                  "the file[/yellow]")


def _ids(ids: list[str] | None, file: Path | None) -> list[str]:
    from segflow.segments.static import read_ids

    got = list(ids or [])
    if file is not None:
        got += read_ids(file)
    if not got:
        raise SegflowError("give profile ids as arguments or with --file FILE", code="no_ids")
    return got


def _print_import(name: str, verb: str, result: Any, count: int) -> None:
    out.print(f"{verb} {count:,} profiles; {name} has {result.diff.members:,} members "
              f"({result.unchanged:,} unchanged)")
    from segflow.identity.persons import merged_note

    for record, person in result.merged.items():
        out.print(merged_note(record, person), highlight=False)
    if result.unknown:
        shown = ", ".join(result.unknown[:10]) + (" ..." if len(result.unknown) > 10 else "")
        err.print(f"[yellow]{len(result.unknown):,} unknown profile ids not added:[/yellow] {shown}")


def segment_add(
    name: Annotated[str, typer.Argument(help="A static segment.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Profile ids.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Ids: a CSV with profile_id, or one per line.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Add profiles to a static segment (unknown ids are reported, the others added)."""
    from segflow.segments.static import add_members

    with _open(project) as ws:
        result = add_members(ws, name, _ids(ids, file))
    _print_import(name, "Added", result, result.diff.entered)


def segment_remove(
    name: Annotated[str, typer.Argument(help="A static segment.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Profile ids.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Ids: a CSV with profile_id, or one per line.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Remove profiles from a static segment."""
    from segflow.segments.static import remove_members

    with _open(project) as ws:
        result = remove_members(ws, name, _ids(ids, file))
    _print_import(name, "Removed", result, result.diff.exited)


def register(app: typer.Typer, segment_app: typer.Typer) -> None:
    """Add the commands of this module to the main app and its ``segment`` sub-app."""
    for fn, cmd in ((segment_refresh, "refresh"), (segment_list, "list"), (segment_members, "members"),
                    (segment_history, "history"), (segment_overlap, "overlap"), (segment_export, "export"),
                    (segment_add, "add"), (segment_remove, "remove")):
        segment_app.command(cmd)(fn)
    from segflow.cli.definitions import apply, plan, worker

    app.command("plan")(plan)
    app.command("apply")(apply)
    app.command("worker")(worker)
