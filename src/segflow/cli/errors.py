"""The command line's one error handler, and the hints it adds to domain errors.

Domain errors name the thing at fault and never a command-line flag (they reach the
Python and HTTP APIs too); here, by error code, the CLI adds how to fix it with the
command line.
"""

from __future__ import annotations

import sys

from segflow.cli.output import err
from segflow.errors import SegflowError

__all__ = ["HINTS", "hint_for", "report"]

#: error code (or ``ErrorClass.code`` where a code is shared) → what to do about it on the command line.
HINTS: dict[str, str] = {
    "no_project": "run `segflow init DIR`, or pass --project DIR (or set $SEGFLOW_PROJECT)",
    "LoadError.bad_format": "name the format with --file-format csv|jsonl|parquet",
    "no_profile": "give a profile id, or --by TYPE VALUE",
    # QueryError only: a rule's, a trait's or an id file's unknown column is not about --columns.
    "QueryError.unknown_column": "--columns takes columns of profiles (see them with `segflow schema show profiles`)",
    "QueryError.bad_format": "choose the export format with --format (see `segflow segment export --help`)",
    "QueryError.bad_columns": "--columns goes with --format csv, parquet or json; drop it for a platform format",
    "QueryError.bad_export_path": "end the file name in .csv, .json, .jsonl or .parquet, or drop --format to let "
                                  "the suffix choose",
    "future_clock": "pass --allow-future to run as of that time anyway (the real runs until then are skipped)",
}


def hint_for(exc: SegflowError) -> str | None:
    """The CLI hint for *exc*, unless its message already says it."""
    hint = HINTS.get(f"{type(exc).__name__}.{exc.code}", HINTS.get(exc.code))
    if hint is None:
        return None
    flag = next((w for w in hint.split() if w.startswith("--")), None)
    return None if flag and flag in exc.message else hint


def report(exc: SegflowError) -> None:
    """Print ``Error: <message>``, its context (a file's line and a caret under the spot),
    indented, and the hint, on stderr."""
    from rich.markup import escape

    err.print(f"[red]Error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
    for line in exc.context:
        err.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    hint = hint_for(exc)
    if hint:
        err.print(f"  Hint: {hint}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
