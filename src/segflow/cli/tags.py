"""``segflow tags ...``: the tag library from the command line.

Registered in :mod:`segflow.cli.app` as the ``tags`` sub-app. Heavy libraries (and
:mod:`segflow.tags`, which reaches them) are imported inside the commands so that
``segflow --help`` stays instant.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from segflow.cli.common import ProjectOpt
from segflow.cli.common import Shown as Format
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _when
from segflow.cli.common import print_json as _json
from segflow.cli.output import err, out, progress_bar
from segflow.clock import utc
from segflow.errors import SegflowError

if TYPE_CHECKING:
    pass

__all__ = ["tags_app"]

tags_app = typer.Typer(
    help="The tag library: hierarchical tags (group/tag) from rules, SQL, Python, files and people.",
    no_args_is_help=True,
)



FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]


def _stamp(value: datetime) -> str:
    """A time for a table: UTC to the second (JSON output keeps full ISO times)."""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _table(title: str, columns: list[str], rows: list[list[Any]], *, right: tuple[str, ...] = ()) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else _stamp(v) if isinstance(v, datetime) else str(v) for v in row))
    out.print(table)


@tags_app.command("templates")
def templates(fmt: FormatOpt = Format.table) -> None:
    """List the industry tag templates shipped with segflow and their tags."""
    from segflow.tags import list_templates

    found = list_templates()
    if fmt is Format.json:
        _json([{"name": t.name, "title": t.title, "description": t.description, "traits": t.traits,
                "tags": [{"name": n, "label": lab, "description": d} for n, (lab, d) in t.tags.items()]} for t in found])
        return
    for t in found:
        rows = [[name, label, desc] for name, (label, desc) in t.tags.items()]
        _table(f"{t.name} — {t.title} ({len(rows)} tags)", ["tag", "label", "description"], rows)
    out.print("Install one with: segflow tags install NAME")


@tags_app.command("install")
def install(
    name: Annotated[str, typer.Argument(help="Template name: ecommerce, saas, b2b or retail.")],
    project: ProjectOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace project files that differ from the template.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Copy a template's tag (and trait) definitions into the project's tags/ and traits/."""
    from segflow.tags import install_templates

    with _open(project) as ws:
        result = install_templates(ws, name, force=force)
    if fmt is Format.json:
        _json(result.__dict__)
    else:
        out.print(f"Template [bold]{name}[/bold]: {len(result.written)} file(s) written, "
                  f"{len(result.unchanged)} already there")
        for rel in result.written:
            out.print(f"  + {rel}")
        for rel in result.conflicts:
            err.print(f"[yellow]Kept[/yellow] {rel}: it differs from the template (use --force to replace it)")
        for line in result.problems:
            err.print(f"[yellow]Warning:[/yellow] {line}", highlight=False)
        if not result.problems:
            out.print("Next: segflow tags refresh")
    if result.conflicts and not force:
        raise typer.Exit(1)


@tags_app.command("refresh")
def refresh(
    names: Annotated[list[str] | None, typer.Argument(help="Tags to refresh (default: every tag in tags/).")] = None,
    project: ProjectOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Compute as of this ISO time (default: now, UTC).")] = None,
    with_used: Annotated[bool, typer.Option("--with-used", help="Also refresh (first) the tags the named tags' "
                                            "rules use.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Compute rule, SQL and Python tags into tag_assignments (manual assignments are kept).

    Exits 1 when a tag failed (its previous assignments are kept and the error recorded).
    """
    from segflow.tags import refresh_tags

    when = _when(as_of)
    with _open(project) as ws, ExitStack() as stack:
        task: list[Any] = []

        def report(tag: str, done: int, total: int) -> None:
            # The bar starts with the first tag, so that refused definitions print only their error.
            if not task:
                bar = stack.enter_context(progress_bar())
                task.extend([bar, bar.add_task("tags", total=total)])
            task[0].update(task[1], completed=done, description=f"tag {tag}")

        results = refresh_tags(ws, names or None, as_of=when, with_used=with_used, progress=report)
    failed = [r for r in results if r.error]
    if fmt is Format.json:
        _json([r.__dict__ for r in results])
    else:
        rows = [[r.name, r.source, f"{r.members:,}", f"+{r.added:,}", f"-{r.removed:,}", f"{r.changed:,}",
                 f"{r.expired:,}", f"{r.seconds:.3f}", r.error or ""] for r in results]
        stamp = results[0].as_of.isoformat() if results else (when or ws.clock.now()).isoformat()
        _table(f"{len(results)} tags as of {stamp}",
               ["tag", "source", "members", "added", "removed", "changed", "expired", "seconds", "error"], rows,
               right=("members", "added", "removed", "changed", "expired", "seconds"))
        total = sum(r.seconds for r in results)
        out.print(f"Refreshed in {total:.2f} s" + (f"; [red]{len(failed)} failed[/red]" if failed else ""))
    if failed:
        raise typer.Exit(1)


@tags_app.command("list")
def list_tags(
    group: Annotated[str | None, typer.Argument(help="Only tags under this group, e.g. rfm or lifecycle.")] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Every tag (defined in tags/ or assigned): source, kind, schedule, members now, last refresh."""
    from segflow.tags import tags_overview

    with _open(project) as ws:
        rows = tags_overview(ws, group)
    if fmt is Format.json:
        _json(rows)
        return
    _table(f"{len(rows)} tags", ["tag", "label", "source", "kind", "schedule", "members", "by source", "as of", "error"],
           [[r["name"], r["label"], r["source"], r["kind"], r["schedule"] or "", f"{r['members']:,}",
             ", ".join(f"{k} {v:,}" for k, v in r["by_source"].items()), r["as_of"], r["error"] or ""] for r in rows],
           right=("members",))


@tags_app.command("show")
def show(
    tag: Annotated[str, typer.Argument(help="A tag name, e.g. rfm/tier.")],
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One tag: definition, members now, members per source, values, expiry, last refreshes."""
    from segflow.tags import tag_summary

    with _open(project) as ws:
        s = tag_summary(ws, tag)
    if fmt is Format.json:
        _json(s)
        return
    title = f"[bold]{s['name']}[/bold]" + (f" ({s['label']})" if s["label"] else "")
    out.print(title)
    if s["defined"]:
        out.print(f"  {s['description']}")
        out.print(f"  source {s['source']}, {s['kind']}, schedule {s['schedule'] or '-'}, file {s['file']}")
        for key in ("tags_used", "traits_used", "depends_on"):
            if s[key]:
                out.print(f"  {key.replace('_', ' ')}: {', '.join(s[key])}")
    else:
        out.print("  not defined in tags/ (assigned only)")
    out.print(f"  [bold]{s['members']:,}[/bold] members now; by source: "
              + (", ".join(f"{k} {v:,}" for k, v in s["by_source"].items()) or "none"))
    if s["values"]:
        _table("values", ["value", "members"], [[v, f"{n:,}"] for v, n in s["values"].items()], right=("members",))
    if s["expired"] or s["will_expire"]:
        out.print(f"  expired (purged at the next refresh): {s['expired']:,}; expiring later: {s['will_expire']:,}"
                  + (f" (next {s['next_expiry'].isoformat()})" if s["next_expiry"] else ""))
    if s["refreshes"]:
        _table("last refreshes", ["as of", "refreshed at", "members", "added", "removed", "seconds", "error"],
               [[r["as_of"], r["refreshed_at"], f"{r['members']:,}", f"{r['added']:,}", f"{r['removed']:,}",
                 f"{r['seconds']:.3f}", r["error"] or ""] for r in s["refreshes"]],
               right=("members", "added", "removed", "seconds"))


def _print_merged(merged: dict[str, str]) -> None:
    """One line per merged record's id given: it acted on its person."""
    from segflow.identity.persons import merged_note

    for record, person in merged.items():
        out.print(merged_note(record, person), highlight=False)


@tags_app.command("assign")
def assign(
    tag: Annotated[str, typer.Argument(help="A tag name, e.g. crm/key_account.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Profile ids.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Ids: a .csv with profile_id[,value][,expires], "
                                                 "or one id per line.")] = None,
    value: Annotated[str | None, typer.Option(help="The tag's value (a valued tag).")] = None,
    expires: Annotated[str | None, typer.Option(help="A duration (30d, 12h) or an ISO time; default: the "
                                                   "definition's expires:, else never.")] = None,
    source: Annotated[str, typer.Option(help="manual, model or journey.")] = "manual",
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Tag profiles by id (arguments and/or a file); unknown ids are reported, the others tagged."""
    from segflow.tags import assign_tags

    if not ids and file is None:
        raise SegflowError("give profile ids or --file", code="no_ids")
    with _open(project) as ws:
        result = assign_tags(ws, tag, ids or None, file=file, value=value, source=source, expires=expires)
    if fmt is Format.json:
        _json(result.__dict__)
    else:
        out.print(f"{tag}: {result.added:,} added, {result.updated:,} updated, {result.unchanged:,} unchanged"
                  + (f", {result.repeated:,} repeated ids" if result.repeated else ""))
        _print_merged(result.merged)
    if result.unknown:
        shown = ", ".join(result.unknown[:10]) + (" ..." if len(result.unknown) > 10 else "")
        err.print(f"[yellow]Warning:[/yellow] {len(result.unknown):,} unknown profile id(s) not tagged: {shown}",
                  highlight=False)


@tags_app.command("remove")
def remove(
    tag: Annotated[str, typer.Argument(help="A tag name.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Profile ids.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Ids, as for assign.")] = None,
    source: Annotated[str, typer.Option(help="Remove assignments of this source (manual, model, journey, rule, "
                                        "sql, python) or 'any'.")] = "manual",
    everyone: Annotated[bool, typer.Option("--all", help="Remove the tag from every profile (of that source).")] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Untag profiles (by id, file, or --all). Computed tags come back at their next refresh."""
    from segflow.tags import remove_tags

    if not ids and file is None and not everyone:
        raise SegflowError("give profile ids, --file or --all", code="no_ids")
    with _open(project) as ws:
        result = remove_tags(ws, tag, ids or None, file=file, source=None if source == "any" else source,
                             everyone=everyone)
    if fmt is Format.json:
        _json(result.__dict__)
    else:
        out.print(f"{tag}: {result.removed:,} assignment(s) removed"
                  + (f", {result.not_tagged:,} id(s) did not have it" if result.not_tagged else ""))
        _print_merged(result.merged)
    if result.unknown:
        shown = ", ".join(result.unknown[:10]) + (" ..." if len(result.unknown) > 10 else "")
        err.print(f"[yellow]Warning:[/yellow] {len(result.unknown):,} unknown profile id(s): {shown}", highlight=False)


class MembersFormat(str, Enum):
    ids = "ids"
    csv = "csv"
    json = "json"
    table = "table"


@tags_app.command("members")
def members(
    tag: Annotated[str, typer.Argument(help="A tag name, or group/* for every tag of a group.")],
    value: Annotated[str | None, typer.Option(help="Only assignments with this value.")] = None,
    source: Annotated[str | None, typer.Option(help="Only assignments of this source.")] = None,
    project: ProjectOpt = None,
    fmt: Annotated[MembersFormat, typer.Option("--format", help="ids (one per line), csv, json or table.")] = MembersFormat.ids,
) -> None:
    """The profiles carrying a tag now: ids, or every assignment with value, source and times."""
    from segflow.cli.output import print_arrow
    from segflow.tags import tag_members

    with _open(project) as ws:
        table = tag_members(ws, tag, value=value, source=source)
    if fmt is MembersFormat.ids:
        ids = sorted(set(table.column("profile_id").to_pylist()))
        sys.stdout.write("".join(f"{pid}\n" for pid in ids))
        return
    print_arrow(table, fmt.value, title=f"{tag}: {table.num_rows:,} assignments")


@tags_app.command("of")
def of(
    profile_id: Annotated[str, typer.Argument(help="A profile id.")],
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Every tag one profile carries now, with value, source, since and expiry."""
    from segflow.tags import tags_of

    with _open(project) as ws:
        found = tags_of(ws, profile_id)
    rows = found.tags
    if fmt is Format.json:
        if found.note:
            err.print(f"Note: {found.note}", highlight=False)
        _json(rows)
        return
    if found.note:
        out.print(found.note, highlight=False)
    _table(f"{found.profile_id}: {len(rows)} tag assignment(s)", ["tag", "label", "value", "source", "since", "expires"],
           [[r["tag"], r["label"], r["value"], r["source"], r["assigned_at"], r["expires_at"]] for r in rows])
