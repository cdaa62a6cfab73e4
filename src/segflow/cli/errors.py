"""The command line's one error handler, and the hints it adds to domain errors.

Domain errors name the thing at fault and never a command-line flag (they reach the
Python and HTTP APIs too); here, by error code, the CLI adds how to fix it with the
command line.
"""

from __future__ import annotations

import sys

from segflow.cli.output import err, to_json
from segflow.errors import SegflowError

__all__ = ["HINTS", "hint_for", "problem_lines", "report", "report_json"]

#: error code (or ``ErrorClass.code`` where a code is shared) → what to do about it on the command line.
HINTS: dict[str, str] = {
    "no_project": "run `segflow init DIR`, or pass --project DIR (or set $SEGFLOW_PROJECT)",
    "LoadError.bad_format": "name the format with --file-format csv|jsonl|parquet",
    "LoadError.possible_typo": "fix the header, or load again with --new-attributes to add the column(s) as they are "
                               "(or declare each first: `segflow schema add KIND NAME TYPE`)",
    "SchemaError.attribute_in_use": "after editing the files run `segflow apply`, so the applied versions stop "
                                    "reading it",
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


def problem_lines(exc: SegflowError) -> list[str]:
    """One line per problem of *exc* (a :class:`~segflow.errors.RuleError`'s, prefixed with its
    source, or a :class:`~segflow.errors.DefinitionsError`'s); ``[message]`` when it has none."""
    problems = getattr(exc, "problems", None) or []
    if len(problems) <= 1:
        return [exc.message]
    source = getattr(exc, "source", None)
    return [f"{source}: {p}" if source and not isinstance(p, str) else str(p) for p in problems]


def report_json(exc: SegflowError) -> None:
    """Print *exc* as its ``{code, message, path, problems}`` JSON body on stderr (``--format json``)."""
    sys.stderr.write(to_json(exc.to_dict()) + "\n")
    sys.stderr.flush()


def report(exc: SegflowError) -> None:
    """Print ``Error: <message>`` (or, for an error with several problems, each problem on its
    own ``Error:`` line), its context (a file's line and a caret under the spot), indented, and
    the hint, on stderr."""
    from rich.markup import escape

    lines = problem_lines(exc)
    if len(lines) > 1:  # every problem on its own line, each with its file and path
        for line in lines:
            err.print(f"[red]Error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    else:
        err.print(f"[red]Error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
    for line in exc.context if len(lines) <= 1 else ():
        err.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    hint = hint_for(exc)
    if hint:
        err.print(f"  Hint: {hint}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
