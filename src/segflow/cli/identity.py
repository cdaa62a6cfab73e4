"""CLI: ``segflow resolve [--full] [--explain ID] [--undo-merge ID] [--unpin ID]`` and
``segflow profile show ID [--by TYPE VALUE]``.

Registered on the main app by :func:`register`. Only Typer and Rich are imported here
at start; resolution itself is imported inside the commands.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from segflow.cli.common import ProjectOpt, Shown
from segflow.cli.common import open_project as _open
from segflow.cli.output import out, to_json
from segflow.errors import SegflowError

__all__ = ["profile_app", "register", "render_summary"]


profile_app = typer.Typer(help="The global file of one person (after `segflow resolve`).", no_args_is_help=True)


def render_summary(summary: Any) -> None:
    """Print a :class:`~segflow.identity.resolve.ResolveSummary` for people."""
    from rich.table import Table

    out.print(
        f"[bold]{summary.sources:,}[/bold] source records → [bold]{summary.persons:,}[/bold] people "
        f"({summary.mode}, {summary.touched:,} records looked at, {summary.remapped:,} re-keyed to another person, "
        f"{summary.seconds:.2f} s)"
    )
    moved = {k: v for k, v in summary.rekeyed.items() if v}
    if moved:
        out.print("rows re-keyed: " + ", ".join(f"{k} {v:,}" for k, v in moved.items()))
    if summary.anonymous_attached or summary.anonymous_ambiguous:
        out.print(f"anonymous events attached: {summary.anonymous_attached:,}; "
                  f"anonymous ids linked to several people (left anonymous): {summary.anonymous_ambiguous:,}")
    if summary.not_merged:
        out.print("identifiers never used to merge: " + ", ".join(f"{k} {v:,}" for k, v in summary.not_merged.items()))
    if summary.junk_total:
        where = "in all" if summary.mode == "full" else "among the identifiers this run looked at"
        table = Table(title=f"junk identifiers (on more than the cap of records; {summary.junk_total:,} {where})")
        for col in ("type", "value", "records"):
            table.add_column(col, justify="right" if col == "records" else "left")
        for j in summary.junk:
            table.add_row(j["type"], j["value"], f"{j['sources']:,}")
        out.print(table)


def _render_explanation(ex: Any) -> None:
    out.print(f"person [bold]{ex.canonical_id}[/bold]: {len(ex.members)} source record(s)")
    for member in ex.members:
        chain = ex.paths.get(member) or []
        if member == ex.canonical_id:
            out.print(f"  {member}  (canonical: the oldest record)")
        elif not chain:
            out.print(f"  {member}  (no identifier path)")
        else:
            steps = " ".join(f"—{link.type} {link.value}→ {link.target}" for link in chain)
            out.print(f"  {member}  {chain[0].source} {steps}", highlight=False)
    if ex.pinned:
        out.print("pinned apart (--undo-merge): " + ", ".join(ex.pinned))
    if ex.unused:
        out.print("identifiers that linked nothing:")
        for u in ex.unused:
            out.print(f"  {u['source_id']}: {u['type']} {u['value']!s} — {u['reason']}", highlight=False)


def resolve(
    project: ProjectOpt = None,
    full: Annotated[bool, typer.Option("--full", help="Recompute every person, not only what changed.")] = False,
    explain: Annotated[str | None, typer.Option("--explain", metavar="ID",
                                                   help="Show the identifiers that joined this person's records.")] = None,
    undo_merge: Annotated[str | None, typer.Option("--undo-merge", metavar="SOURCE_ID",
                                                      help="Split this record from its person and pin it apart.")] = None,
    unpin: Annotated[str | None, typer.Option("--unpin", metavar="SOURCE_ID",
                                                 help="Lift a pin set by --undo-merge.")] = None,
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
) -> None:
    """Merge source profiles that share identifiers into one profile per person."""
    chosen = [o for o in (explain, undo_merge, unpin) if o is not None]
    if len(chosen) > 1 or (chosen and full):
        raise SegflowError("use one of --full, --explain, --undo-merge, --unpin at a time", code="bad_option")
    from segflow.identity import resolve as resolution

    with _open(project) as ws:
        if explain is not None:
            from segflow.identity.explain import explain_person

            ex = explain_person(ws, explain)
            if fmt is Shown.json:
                sys.stdout.write(to_json(ex.to_dict()) + "\n")
            else:
                if ex.note:
                    out.print(ex.note, highlight=False)
                _render_explanation(ex)
            return
        if undo_merge is not None:
            before = resolution.canonical_of(ws, undo_merge)
            summary = resolution.undo_merge(ws, undo_merge)
            if fmt is Shown.table:
                out.print(f"{undo_merge} split from {before} and pinned apart; later runs keep the split "
                          f"(segflow resolve --unpin {undo_merge} lifts it)")
        elif unpin is not None:
            summary = resolution.unpin(ws, unpin)
            if fmt is Shown.table:
                out.print(f"{unpin} unpinned: now part of {resolution.canonical_of(ws, unpin)}")
        else:
            summary = resolution.resolve_identities(ws, full=full)
    if fmt is Shown.json:
        sys.stdout.write(to_json(summary.to_dict()) + "\n")
    else:
        render_summary(summary)


@profile_app.command("show")
def profile_show(
    profile_id: Annotated[str | None, typer.Argument(help="Any source id or canonical id.")] = None,
    by: Annotated[tuple[str, str] | None, typer.Option("--by", metavar="TYPE VALUE",
                                                          help="Find the person by an identifier, e.g. --by email a@b.com.")] = None,
    project: ProjectOpt = None,
    limit: Annotated[int, typer.Option(help="Recent events and orders shown.")] = 10,
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
) -> None:
    """The global file: sources, identifiers by channel, attributes and where each came from, activity."""
    from segflow.identity.profile import global_file

    if (profile_id is None) == (by is None):
        raise SegflowError("give a profile id or --by TYPE VALUE (one of them)", code="bad_option")
    with _open(project) as ws:
        gf = global_file(ws, profile_id, by=by, limit=limit)
    if fmt is Shown.json:
        sys.stdout.write(to_json(gf.to_dict()) + "\n")
        return
    if gf.note:
        out.print(gf.note, highlight=False)
    _render_file(gf)


def _by(by: tuple[str, str] | None, profile_id: str | None) -> None:
    if (profile_id is None) == (by is None):
        raise SegflowError("give a profile id or --by TYPE VALUE (one of them)", code="bad_option")


@profile_app.command("erase")
def profile_erase(
    profile_id: Annotated[str | None, typer.Argument(help="Any source id or canonical id.")] = None,
    by: Annotated[tuple[str, str] | None, typer.Option("--by", metavar="TYPE VALUE",
                                                          help="Find the person by an identifier.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOpt = None,
    fmt: Annotated[Shown, typer.Option("--format", help="table or json.")] = Shown.table,
) -> None:
    """Erase a person everywhere (GDPR Art. 17 / PIPL Art. 47); later loads suppress them."""
    from segflow.cli.output import err
    from segflow.identity.profile import find_person
    from segflow.privacy import erase_person

    _by(by, profile_id)
    with _open(project) as ws:
        person = find_person(ws, profile_id, by=by)
        if not yes and not typer.confirm(f"Erase person {person} and every record of it? This cannot be undone",
                                         default=False, err=True):
            err.print("Nothing erased.")
            raise typer.Exit(1)
        report = erase_person(ws, person)
    if fmt is Shown.json:
        sys.stdout.write(to_json(report.to_dict()) + "\n")
        return
    out.print(f"Erased person [bold]{report.person}[/bold] (erasure {report.erasure_id}); "
              f"{report.identifiers:,} identifiers suppressed in later loads")
    for table, n in sorted(report.tables.items()):
        out.print(f"  {table}: {n:,} row(s)", highlight=False)
    for path in report.files:
        out.print(f"  scrubbed {path}", highlight=False)


@profile_app.command("export")
def profile_export(
    profile_id: Annotated[str | None, typer.Argument(help="Any source id or canonical id.")] = None,
    by: Annotated[tuple[str, str] | None, typer.Option("--by", metavar="TYPE VALUE",
                                                          help="Find the person by an identifier.")] = None,
    out_file: Annotated[str | None, typer.Option("--out", metavar="FILE", help="Write the JSON here.")] = None,
    project: ProjectOpt = None,
) -> None:
    """Everything segflow holds about a person, as JSON (GDPR Art. 15 / PIPL Art. 45)."""
    from pathlib import Path

    from segflow.privacy import export_person

    _by(by, profile_id)
    with _open(project) as ws:
        text = to_json(export_person(ws, profile_id, by=by).to_dict()) + "\n"
    if out_file is None:
        sys.stdout.write(text)
        return
    Path(out_file).write_text(text, encoding="utf-8")
    out.print(f"Wrote {out_file}")


@profile_app.command("unsuppress")
def profile_unsuppress(
    type_: Annotated[str, typer.Option("--type", help="Identifier type: email, phone, profile_id, ...")],
    value: Annotated[str, typer.Option("--value", help="The identifier's value.")],
    source: Annotated[str, typer.Option("--source", help="Where the consent came from (kept with the record).")],
    project: ProjectOpt = None,
) -> None:
    """Lift an erasure's suppression of one identifier: the person came back with consent."""
    from segflow.privacy import lift_suppression

    with _open(project) as ws:
        lift_suppression(ws, type_, value, source=source)
    out.print(f"{type_} {value} is no longer suppressed; rows carrying it load again", highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _render_file(gf: Any) -> None:
    from rich.table import Table

    out.print(f"[bold]person {gf.canonical_id}[/bold] — {len(gf.sources)} source record(s)")
    sources = Table(title="source records")
    for col in ("source id", "channel", "created at", "profile row"):
        sources.add_column(col)
    for s in gf.sources:
        sources.add_row(s["source_id"], _cell(s.get("channel")), _cell(s.get("created_at")), "yes" if s.get("has_profile") else "no")
    out.print(sources)
    if gf.identifiers:
        idents = Table(title="identifiers by channel")
        for col in ("type", "value", "record", "status"):
            idents.add_column(col)
        for type_, rows in gf.identifiers.items():
            for r in rows:
                idents.add_row(type_, _cell(r["value"]), r["source_id"], r["status"])
        out.print(idents)
    attrs = Table(title="attributes")
    for col in ("attribute", "value", "from record"):
        attrs.add_column(col)
    for name, a in gf.attributes.items():
        attrs.add_row(name, _cell(a["value"]), _cell(a["source"]))
    out.print(attrs)
    for title, rows in (("recent events", gf.events), ("recent orders", gf.orders), ("memberships", gf.memberships),
                        ("subscriptions", gf.subscriptions), ("tags", gf.tags)):
        if not rows:
            continue
        key = "tag_assignments" if title == "tags" else title.split()[-1]
        table = Table(title=f"{title} ({gf.counts.get(key, len(rows)):,} in all)")
        for col in rows[0]:
            table.add_column(col)
        for r in rows:
            table.add_row(*(_cell(v) for v in r.values()))
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``resolve`` and the ``profile`` sub-app to the main app."""
    app.command("resolve")(resolve)
    app.add_typer(profile_app, name="profile")
