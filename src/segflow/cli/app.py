"""The ``segflow`` command line (Typer + Rich).

Every command takes ``--project DIR`` (default ``$SEGFLOW_PROJECT``, else the current
folder). Errors print ``Error: ...`` and exit 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from segflow.cli.common import ProjectOpt, TableFormat
from segflow.cli.common import Shown as SummaryFormat
from segflow.cli.common import open_project as _open
from segflow.cli.common import parse_time as _as_of
from segflow.cli.errors import report as report_error
from segflow.cli.errors import report_json
from segflow.cli.output import err, out, print_arrow, progress_bar, to_json
from segflow.errors import SegflowError


def _flags_without_a_type() -> None:
    """Typer 0.2x shows every option's type in help, flags too (``--help <bool>``); a flag takes
    no value, so show none (``TyperOption.display_type_rich`` returning None hides the column)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)  # type: ignore[arg-type]

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_a_type()

app = typer.Typer(
    name="segflow",
    help="Customer segmentation and marketing automation: load, resolve, segment, act, measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _project_first(
    project: Annotated[Path | None, typer.Option(
        "--project", "-p", help="Project folder for the command (default: $SEGFLOW_PROJECT, else the current folder); "
                                "also accepted after the command.")] = None,
) -> None:
    """Customer segmentation and marketing automation: load, resolve, segment, act, measure."""
    if project is not None:  # ``segflow --project DIR CMD``: as if $SEGFLOW_PROJECT were DIR (a later --project wins)
        os.environ["SEGFLOW_PROJECT"] = str(project.expanduser().resolve())


schema_app = typer.Typer(help="The schema registry: attribute types per kind.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
segment_app = typer.Typer(help="Segments: preview, refresh, members, history, overlap, export, add/remove.",
                          no_args_is_help=True)
app.add_typer(segment_app, name="segment")


def _register_serve() -> None:
    from segflow.cli.serve import register

    register(app)


_register_serve()

class Dialect(str, Enum):
    duckdb = "duckdb"
    postgres = "postgres"


class FileFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to make into a project (created if missing).")],
    timezone: Annotated[str, typer.Option(help="IANA time zone for calendar operations.")] = "UTC",
    phone_country: Annotated[str | None, typer.Option(help="Default phone country, e.g. CN or US.")] = None,
) -> None:
    """Create a project: segflow.yaml, schema.yaml, segments/ tags/ traits/ journeys/."""
    import segflow

    ws = segflow.init(directory, timezone=timezone, default_phone_country=phone_country)
    ws.close()
    out.print(f"Created project [bold]{ws.root}[/bold]")
    out.print(f"Next: segflow load profiles FILE --project {ws.root}")


@app.command()
def load(
    kind: Annotated[str, typer.Argument(help="profiles, accounts, identities, events, orders, order_items, memberships, subscriptions")],
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON Lines or Parquet files.")],
    project: ProjectOpt = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="Summary as a table or one JSON object.")] = SummaryFormat.table,
    file_format: Annotated[str | None, typer.Option(help="csv, jsonl or parquet (default: from the file name).")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Rejects file (one FILE) or folder (several).")] = None,
    new_attributes: Annotated[bool, typer.Option("--new-attributes", help="Add every new column as an attribute, "
                                                 "even one whose name is close to a known one (refused otherwise "
                                                 "as a probable typo).")] = False,
) -> None:
    """Load files into the warehouse: typed, cleaned, deduplicated, each file atomically."""
    from segflow.ingest import load_files

    with _open(project) as ws, progress_bar() as bar:
        tasks: dict[tuple[Path, str], int] = {}

        def report(file: Path, stage: str, fraction: float | None) -> None:
            if (file, stage) not in tasks:
                tasks[file, stage] = bar.add_task(f"{file.name}: {stage}", total=1.0 if fraction is not None else None)
            if fraction is not None:
                bar.update(tasks[file, stage], completed=fraction)

        loaded = load_files(ws, kind, files, file_format=file_format, rejects=rejects, progress=report,
                            new_attributes=new_attributes)
    summaries = loaded.files
    if fmt is SummaryFormat.json:
        sys.stdout.write(to_json(loaded.to_dict()) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"load {kind}")
    for col in ("file", "rows", "accepted", "inserted", "updated", "rejected", "duplicates", "seconds"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for s in summaries:
        table.add_row(Path(s.file).name, *(f"{getattr(s, c):,}" for c in ("rows", "accepted", "inserted", "updated", "rejected", "duplicates")), f"{s.seconds:.2f}")
    out.print(table)
    for s in summaries:
        if s.new_attributes:
            out.print("New attributes (inferred): " + ", ".join(f"{k} {v}" for k, v in s.new_attributes.items()))
        if s.rejects_file:
            out.print(f"Rejected rows of {Path(s.file).name}: [bold]{s.rejects_file}[/bold]")
        if s.suppressed:
            out.print(f"Suppressed rows of {Path(s.file).name} (erased people; not kept, not in the rejects): "
                      f"{s.suppressed:,}")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One read-only statement (SELECT, WITH, DESCRIBE, SHOW).")],
    project: ProjectOpt = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table, csv or json.")] = TableFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in table format.")] = 100,
) -> None:
    """Query the warehouse (read-only: writes are refused)."""
    with _open(project, read_only=True) as ws:
        started = time.perf_counter()
        result = ws.sql(query)
        elapsed = time.perf_counter() - started
    print_arrow(result, fmt.value, limit=limit)
    if fmt is TableFormat.table:
        err.print(f"[dim]{result.num_rows} rows in {elapsed:.3f} s[/dim]")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the files (created).")],
    profiles: Annotated[int, typer.Option(help="Rows in the profiles file.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 0,
    days: Annotated[int, typer.Option(help="Days of history.")] = 365,
    end: Annotated[str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default: today, UTC).")] = None,
    fmt: Annotated[FileFormat, typer.Option("--format", help="csv or parquet.")] = FileFormat.csv,
) -> None:
    """Write a realistic synthetic shop (every kind) into a folder."""
    manifest = _generate(out_dir, profiles=profiles, seed=seed, days=days, end=end, fmt=fmt.value)
    _print_manifest(manifest, out_dir)


def _generate(out_dir: Path, *, profiles: int, seed: int, days: int, end: str | None, fmt: str) -> dict:
    from datetime import date

    from segflow.errors import GenerateError
    from segflow.generate import generate_shop

    try:
        end_date = date.fromisoformat(end) if end else None
    except ValueError:
        raise GenerateError(f"--end {end!r}: expected YYYY-MM-DD", code="bad_end") from None
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def report(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"generate: {stage}", total=1.0)
            bar.update(tasks[stage], completed=fraction)

        return generate_shop(out_dir, profiles=profiles, seed=seed, days=days, end=end_date, fmt=fmt, progress=report)


def _print_manifest(manifest: dict, out_dir: Path) -> None:
    from rich.table import Table

    table = Table(title=f"synthetic shop in {out_dir}")
    for col in ("kind", "file", "rows", "dirty rows"):
        table.add_column(col, justify="right" if col in ("rows", "dirty rows") else "left")
    for kind, info in manifest["files"].items():
        dirty = sum(info.get("dirty", {}).values())
        table.add_row(kind, info["file"], f"{info['rows']:,}", f"{dirty:,}")
    out.print(table)


@app.command()
def demo(
    directory: Annotated[Path | None, typer.Argument(help="Project folder (default: <system temp>/segflow-demo, "
                                                          "replaced by each plain `segflow demo`).")] = None,
    profiles: Annotated[int, typer.Option(help="Profiles in the synthetic shop.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    days: Annotated[int, typer.Option(help="Days of history.")] = 365,
) -> None:
    """Make a project, generate a shop, load it and show what is there: the newcomer's command."""
    from rich.table import Table

    from segflow.cli.common import results_table
    from segflow.demo import default_demo_root, run_demo

    root = directory.resolve() if directory else default_demo_root()
    out.print(f"[bold]segflow demo[/bold] in {root}")
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def report(stage: str, fraction: float) -> None:
            group = stage.split(":")[0].split(" ")[0]
            if group not in tasks:
                tasks[group] = bar.add_task(stage, total=1.0)
            bar.update(tasks[group], completed=fraction, description=stage)

        result = run_demo(root, profiles=profiles, seed=seed, days=days, progress=report, replace=directory is None)
    table = Table(title="loaded")
    for col in ("table", "file rows", "loaded", "rejected", "duplicates", "seconds"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for s in result.loads:
        table.add_row(s.kind, f"{s.rows:,}", f"{result.counts[s.kind]:,}", f"{s.rejected:,}", f"{s.duplicates:,}",
                      f"{s.seconds:.2f}")
    out.print(table)
    resolved = result.resolved
    assert resolved is not None
    out.print(f"Resolved identities: [bold]{resolved.sources:,}[/bold] source records -> "
              f"[bold]{resolved.persons:,}[/bold] people ({resolved.seconds:.2f} s; `segflow profile show ID`)")
    out.print(f"Rejected rows (with line numbers and reasons): {result.rejects_dir}")
    out.print(f"Installed the e-commerce tag templates ({result.tag_files} files)")
    out.print(f"Wrote {len(result.segments_written)} example segments to {root / 'segments'}; applied "
              f"{result.applied} definitions")
    if result.refreshed:
        results_table(result.refreshed, "segments and tags refreshed (in dependency order)")
    for name, outcome in result.models.items():
        if isinstance(outcome, str):
            out.print(f"Model {name} (`segflow model {name}`): not run: {outcome}", highlight=False)
        else:
            out.print(f"Model {name} (`segflow model {name}`): {result.summaries.get(name, '')}", highlight=False)
    for chart in result.charts:
        out.print(f"Chart: {chart}")
    if result.journeys:
        out.print(f"Installed and applied the guide's journeys: {', '.join(result.journeys)} "
                  "(`segflow journey list`)", highlight=False)
    sim = result.simulation
    if isinstance(sim, str):
        out.print(f"Journey simulation not run: {sim}", highlight=False)
    elif sim is not None:
        from segflow.cli.journeys import stats_table

        stats_table(sim.stats, f"journey {sim.journey} simulated from {sim.start:%Y-%m-%d} to {sim.end:%Y-%m-%d} "
                               f"(no message sent): {len(sim.messages):,} message(s) would go out")
        out.print(f"Would-be messages: {sim.out}  (`segflow journey simulate {sim.journey} --from ... --to ...`)",
                  highlight=False)
    kept = ("replaced by the next plain `segflow demo`" if directory is None else "kept")
    if result.replaced:
        out.print(f"(The earlier demo project in {result.root} was replaced.)", highlight=False)
    out.print(f"The project is in {result.root} ({result.size_bytes / 2**20:,.0f} MiB; {kept}; remove it with "
              f"`rm -rf {result.root}`).", highlight=False)
    out.print(f"Done in {result.seconds:.1f} s. Try:")
    out.print(f"  segflow sql --project {root} \"SELECT event, count(*) AS n FROM events GROUP BY ALL ORDER BY n DESC\"")
    out.print(f"  segflow segment list --project {root}")


@app.command()
def status(project: ProjectOpt = None) -> None:
    """Rows per table and the latest loads."""
    from rich.table import Table

    with _open(project) as ws:
        counts = ws.table_counts()
        loads = ws.state.loads(limit=10)
    table = Table(title=f"warehouse of {ws.root}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    recent = Table(title="latest loads")
    for col in ("id", "kind", "file", "status", "accepted", "rejected", "duplicates"):
        recent.add_column(col)
    for row in loads:
        recent.add_row(str(row["id"]), row["kind"], Path(row["path"]).name, row["status"],
                       f"{row['accepted']:,}", f"{row['rejected']:,}", f"{row['duplicates']:,}")
    out.print(recent)


@schema_app.command("show")
def schema_show(
    kind: Annotated[str | None, typer.Argument(help="One kind (default: all).")] = None,
    project: ProjectOpt = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format")] = SummaryFormat.table,
) -> None:
    """List the columns of each kind with type, label and origin (builtin/declared/inferred)."""
    from rich.table import Table

    from segflow.schema.service import describe_schema

    with _open(project) as ws:
        described = describe_schema(ws, kind).to_dict()
    if fmt is SummaryFormat.json:
        sys.stdout.write(to_json(described) + "\n")
        return
    for name, cols in described.items():
        table = Table(title=name)
        for col in ("column", "type", "origin", "label"):
            table.add_column(col)
        for c in cols:
            table.add_row(c["name"], c["type"], c["origin"], c["label"])
        out.print(table)


@schema_app.command("add")
def schema_add(
    kind: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument()],
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="string, integer, number, decimal, boolean, date, timestamp, json, list")],
    label: Annotated[str, typer.Option(help="Label shown to marketers.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Declare an attribute (written to schema.yaml) and add its warehouse column."""
    from segflow.schema.service import declare

    with _open(project) as ws:
        attr = declare(ws, kind, name, type_, label)
    out.print(f"Declared {attr.kind}.{attr.name} as {attr.type.value}")


@schema_app.command("drop")
def schema_drop(
    kind: Annotated[str, typer.Argument(help="The kind (profiles, accounts, ...), or KIND.NAME.")],
    name: Annotated[str | None, typer.Argument(help="The attribute.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOpt = None,
) -> None:
    """Remove a declared or inferred attribute: its registry entry, schema.yaml entry, column and data."""
    from segflow.schema.drop import check_drop, drop_attribute

    if name is None:
        kind, _, name = kind.partition(".")
        if not name:
            raise typer.BadParameter("give KIND NAME or KIND.NAME", param_hint="NAME")
    with _open(project) as ws:
        plan = check_drop(ws, kind, name)
        where = " and its schema.yaml entry" if plan.declared else ""
        question = (f"Drop {plan.kind}.{plan.name} ({plan.type}, {plan.origin}): its column with "
                    f"{plan.values:,} stored value(s){where}? This cannot be undone")
        if not yes and not typer.confirm(question, default=False, err=True):
            err.print("Nothing dropped.")
            raise typer.Exit(1)
        done = drop_attribute(ws, kind, name)
    out.print(f"Dropped {done.kind}.{done.name} ({done.values:,} values)")


def _is_interrupt(exc: BaseException) -> bool:
    # DuckDB turns Ctrl-C during a query into its own "interrupted" error.
    return isinstance(exc, KeyboardInterrupt) or "interrupted" in str(exc).lower()[:200]


@segment_app.command("preview")
def segment_preview(
    rule_file: Annotated[Path, typer.Argument(help="A rule (or segment) in YAML or JSON.")],
    project: ProjectOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Evaluate as of this ISO time (default: now, UTC).")] = None,
    members: Annotated[bool, typer.Option("--members", help="Print every member id, one per line, nothing else.")] = False,
    explain_id: Annotated[str | None, typer.Option("--explain", metavar="PROFILE_ID",
                                                      help="Why this profile is (not) a member.")] = None,
    sql_dialect: Annotated[Dialect | None, typer.Option("--sql", help="Print the compiled query for this engine.")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table, json or csv.")] = TableFormat.table,
    limit: Annotated[int, typer.Option(help="Sample members shown.")] = 20,
) -> None:
    """Check a rule, count its members and show a sample (or all ids, an explanation, the SQL)."""
    from segflow.segments.preview import checked, explain_one, member_ids, preview, rule_sql

    when = _as_of(as_of)
    with _open(project) as ws:
        try:
            rule = checked(ws, rule_file)
        except SegflowError as exc:
            if fmt is not TableFormat.json:
                raise  # main() prints every problem on its own Error: line
            report_json(exc)  # {code, message, path, problems} on stderr, as errors go
            raise typer.Exit(1) from None
        for w in rule.warnings:
            err.print(f"[yellow]Warning:[/yellow] {w}", highlight=False)
        if sql_dialect is not None:
            sys.stdout.write(rule_sql(ws, rule, dialect=sql_dialect.value, as_of=when).sql + "\n")
            return
        if explain_id is not None:
            from segflow.rules.explain import render_explain

            found = explain_one(ws, rule, explain_id, as_of=when)
            if fmt is TableFormat.json:
                sys.stdout.write(to_json(found.to_dict()) + "\n")
            else:
                sys.stdout.write((f"{found.note}\n" if found.note else "") + render_explain(found.tree) + "\n")
            return
        if members:
            sys.stdout.write("".join(f"{pid}\n" for pid in member_ids(ws, rule, as_of=when).ids))
            return
        result = preview(ws, rule, as_of=when, limit=limit)
    if fmt is TableFormat.json:
        sys.stdout.write(to_json({"count": result.count, "seconds": round(result.seconds, 4),
                                  "as_of": result.as_of, "members": result.members.to_pylist(),
                                  "warnings": [str(w) for w in result.warnings]}) + "\n")
        return
    if fmt is TableFormat.csv:
        print_arrow(result.members, "csv")
        return
    out.print(f"[bold]{result.count:,}[/bold] members as of {result.as_of.isoformat()} ({result.seconds:.3f} s)")
    if result.count:
        print_arrow(result.members, "table", title=f"first {min(limit, result.count)} members")


# -- traits: computed traits (segflow.traits) ---------------------------------------------
traits_app = typer.Typer(help="Computed traits: per-profile aggregates defined in traits/.", no_args_is_help=True)
app.add_typer(traits_app, name="traits")


@traits_app.command("refresh")
def traits_refresh(
    project: ProjectOpt = None,
    as_of: Annotated[str | None, typer.Option(help="Compute as of this ISO time (default: now, UTC).")] = None,
    names: Annotated[list[str] | None, typer.Option("--name", help="Recompute only this trait (repeatable); "
                                                       "the others keep their stored values.")] = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="Summary as a table or one JSON object.")] = SummaryFormat.table,
) -> None:
    """Compute every trait in traits/ into the traits table (all or nothing)."""
    from segflow.traits import refresh_traits

    when = _as_of(as_of)
    with _open(project) as ws:
        with progress_bar() as bar:
            tasks: list[int] = []

            def report(stage: str, done: int, total: int) -> None:
                if not tasks:
                    tasks.append(bar.add_task("traits", total=total + 1))
                label = "writing the traits table" if stage == "write" else f"trait {stage}"
                bar.update(tasks[0], completed=done, description=label)

            summary = refresh_traits(ws, as_of=when, names=names or None, progress=report)
    if fmt is SummaryFormat.json:
        sys.stdout.write(to_json(summary) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"traits of {summary['profiles']:,} profiles as of {summary['as_of'].isoformat()}")
    for col in ("trait", "kind", "type", "non-null", "seconds", "as of"):
        table.add_column(col, justify="right" if col in ("non-null", "seconds") else "left")
    for name, t in summary["traits"].items():
        seconds = "kept" if t["seconds"] is None else f"{t['seconds']:.3f}"
        table.add_row(name, t["kind"], t["type"], f"{t['non_null']:,}", seconds, t["as_of"].isoformat())
    out.print(table)
    out.print(f"Refreshed in {summary['seconds']:.2f} s")


@traits_app.command("list")
def traits_list(
    project: ProjectOpt = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="table or json.")] = SummaryFormat.table,
) -> None:
    """Show the trait definitions, their types and when each was last computed."""
    from segflow.traits.catalog import list_traits

    with _open(project) as ws:
        rows = [t.to_dict() for t in list_traits(ws)]
    if fmt is SummaryFormat.json:
        sys.stdout.write(to_json(rows) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} traits in {ws.root / 'traits'}")
    for col in ("trait", "kind", "type", "source", "window", "computed as of", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], r["type"], r["source"], r["window"],
                      r["as_of"].isoformat() if r["as_of"] else "-", r["description"])
    out.print(table)


# -- segments, plan/apply, worker (segflow.cli.segments) ------------------------------------
from segflow.cli.segments import register as _register_segments  # noqa: E402

_register_segments(app, segment_app)

# -- tags: the tag library (segflow.cli.tags) ------------------------------------------------
from segflow.cli.tags import tags_app  # noqa: E402

app.add_typer(tags_app, name="tags")

# -- customer models (segflow.cli.models) ---------------------------------------------------
from segflow.cli.models import model_app  # noqa: E402

app.add_typer(model_app, name="model")

# -- journeys (segflow.cli.journeys) ----------------------------------------------------------
from segflow.cli.journeys import journey_app, journeys_app  # noqa: E402

app.add_typer(journey_app, name="journey")
app.add_typer(journeys_app, name="journeys")

# -- API keys and the audit log (segflow.cli.keys) -------------------------------------------
from segflow.cli.keys import audit_app, keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

# -- identity resolution and the global file (segflow.cli.identity) -------------------------
from segflow.cli.identity import register as _register_identity  # noqa: E402

_register_identity(app)


def main() -> None:
    debug = "--debug" in sys.argv or bool(os.environ.get("SEGFLOW_DEBUG"))
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
    except SegflowError as exc:
        if debug:
            raise
        report_error(exc)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("Interrupted: nothing of the file being loaded was written.")
        sys.exit(130)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # click usage errors, via typer
            exc.show()
            sys.exit(exc.exit_code)
        if _is_interrupt(exc):
            err.print("Interrupted: nothing of the file being loaded was written.")
            sys.exit(130)
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err.print(f"[red]Error:[/red] {first} (unexpected {type(exc).__name__}; rerun with --debug for the traceback)",
                  highlight=False, soft_wrap=True)
        sys.exit(1)
    if isinstance(code, int) and code != 0:
        if code == 130:
            err.print("Interrupted: nothing of the file being loaded was written.")
        sys.exit(code)


if __name__ == "__main__":
    main()
