"""``segflow keys ...`` and ``segflow audit``: API keys and the audit log from the command line.

Registered in :mod:`segflow.cli.app`. :mod:`segflow.access` (and SQLAlchemy under it) is
imported inside the commands so that ``segflow --help`` stays instant.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any

import typer

from segflow.cli.common import ProjectOpt
from segflow.cli.common import Shown as Format
from segflow.cli.common import open_project as _open
from segflow.cli.common import print_json as _json
from segflow.cli.output import err, out
from segflow.clock import utc
from segflow.errors import SegflowError

__all__ = ["audit_app", "keys_app", "parse_duration"]

keys_app = typer.Typer(help="API keys: create, list, revoke and rotate write (tracking) and secret keys.",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: key changes and uses, applies, exports, erasures.")

FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]


class Kind(str, Enum):
    write = "write"
    secret = "secret"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, option: str) -> timedelta:
    """``0``, ``90s``, ``30m``, ``24h``, ``7d`` → a timedelta; an error naming *option* otherwise."""
    if text.strip() == "0":
        return timedelta(0)
    m = _DURATION.match(text)
    if not m:
        raise SegflowError(f"{option} {text!r}: expected a duration such as 0, 30m, 24h or 7d", code="bad_duration")
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


def _stamp(value: datetime | None) -> str:
    return "-" if value is None else utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _print_new(made: Any, fmt: Format, what: str) -> None:
    if fmt is Format.json:
        _json(made.to_dict())
        return
    info = made.info
    scopes = ", ".join(sorted(info.scopes)) or "(tracking calls only)"
    out.print(f"{what} {info.kind} key [bold]{info.prefix}…[/bold] (id {info.id}"
              + (f", {info.name!r}" if info.name else "") + f"); scopes: {scopes}", highlight=False)
    out.print(made.key, markup=False, highlight=False)
    err.print("[yellow]Copy the key now: it will not be shown again[/yellow] (segflow keeps only its hash).",
              highlight=False)


@keys_app.command("create")
def create(
    kind: Annotated[Kind, typer.Argument(help="write (tracking calls only) or secret (management calls).")],
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. 'web shop' or 'crm sync'.")] = "",
    scopes: Annotated[str | None, typer.Option("--scopes", help="Comma-separated scopes of a secret key, or all "
                                               "(default: the read scopes).")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Requests per second for this key (default: the "
                                               "server's default for its kind).")] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Make an API key and print it once."""
    from segflow.access.keys import create_key

    with _open(project) as ws:
        made = create_key(ws, kind.value, name=name, scopes=scopes, rate_limit=rate)
    _print_new(made, fmt, "Created")


@keys_app.command("list")
def list_(
    include_revoked: Annotated[bool, typer.Option("--all", help="Also list revoked keys.")] = False,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List the API keys (never the keys themselves: their prefixes)."""
    from segflow.access.keys import list_keys

    with _open(project) as ws:
        found = list_keys(ws, include_revoked=include_revoked)
        now = ws.clock.now()
    if fmt is Format.json:
        _json([k.to_dict(now) for k in found])
        return
    rows = [[str(k.id), k.prefix + "…", k.kind, k.name, " ".join(sorted(k.scopes)) or "-", _stamp(k.created_at),
             _stamp(k.last_used_at), k.status(now)] for k in found]
    _table(f"{len(rows)} API key(s)", ["id", "prefix", "kind", "name", "scopes", "created", "last used", "status"],
           rows)


@keys_app.command("revoke")
def revoke(
    ref: Annotated[str, typer.Argument(metavar="REF", help="The key's id, its prefix or the key.")],
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Revoke an API key: it stops working at once (within a second in a running server)."""
    from segflow.access.keys import get_key, revoke_key

    with _open(project) as ws:
        before = get_key(ws, ref)
        info = revoke_key(ws, before.id)
    if fmt is Format.json:
        _json({**info.to_dict(), "already_revoked": before.revoked_at is not None})
    elif before.revoked_at is not None:
        out.print(f"API key {info.prefix}… (id {info.id}) was already revoked at {_stamp(info.revoked_at)}",
                  highlight=False)
    else:
        out.print(f"Revoked API key {info.prefix}… (id {info.id}) at {_stamp(info.revoked_at)}", highlight=False)


@keys_app.command("rotate")
def rotate(
    ref: Annotated[str, typer.Argument(metavar="REF", help="The key's id, its prefix or the key.")],
    grace: Annotated[str, typer.Option("--grace", help="How long the old key keeps working: 0, 30m, 24h, 7d.")]
    = "24h",
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replace an API key with a new one (same kind, name, scopes, rate); the old one works until the grace ends."""
    from segflow.access.keys import get_key, rotate_key

    period = parse_duration(grace, "--grace")
    with _open(project) as ws:
        made = rotate_key(ws, ref, grace=period)
        old = get_key(ws, made.info.rotated_from or 0)
    _print_new(made, fmt, "Rotated into")
    if fmt is Format.table:
        out.print(f"The old key {old.prefix}… (id {old.id}) works until {_stamp(old.expires_at)} UTC.",
                  highlight=False)


@audit_app.callback(invoke_without_command=True)
def audit(
    since: Annotated[str | None, typer.Option("--since", help="Entries from this ISO time, or this long ago "
                                              "(30m, 24h, 7d).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="One action (key.revoke) or a group (key).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Entries shown, newest first.")] = 100,
    before: Annotated[int | None, typer.Option("--before", help="Only entries older than this id (the next "
                                               "page).")] = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show the audit log, newest first."""
    from segflow.access.audit import list_audit
    from segflow.cli.common import parse_time

    with _open(project) as ws:
        start: datetime | None = None
        if since is not None:
            start = (utc(ws.clock.now()) - parse_duration(since, "--since") if _DURATION.match(since)
                     else parse_time(since, "--since"))
        entries = list_audit(ws, since=start, action=action, limit=limit, before_id=before)
    if fmt is Format.json:
        _json([e.to_dict() for e in entries])
        return
    from segflow.jsonable import to_json

    rows = [[str(e.id), _stamp(e.at), e.actor, e.action, e.target, to_json(e.detail) if e.detail else ""]
            for e in entries]
    _table(f"{len(rows)} audit entr{'y' if len(rows) == 1 else 'ies'}",
           ["id", "at", "actor", "action", "target", "detail"], rows)
    if len(entries) == limit:
        out.print(f"More with --before {entries[-1].id}", highlight=False)
