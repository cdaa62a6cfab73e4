"""Checking that an ad-hoc query only reads (sqlglot), before the engine sees it."""

from __future__ import annotations

from segflow.errors import QueryError

__all__ = ["check_read_only"]


def check_read_only(sql: str, dialect: str = "duckdb") -> None:
    """Raise :class:`QueryError` unless *sql* is one statement that only reads.

    Allowed: SELECT (with WITH, UNION, ...), DESCRIBE, SHOW, SUMMARIZE, EXPLAIN SELECT.
    """
    import sqlglot
    from sqlglot import exp

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise QueryError("empty query", code="empty_query")
    head = text.split(None, 1)[0].upper()
    if head in ("SHOW", "DESCRIBE", "SUMMARIZE", "EXPLAIN"):
        rest = text.split(None, 1)[1] if " " in text else ""
        if head in ("EXPLAIN", "SUMMARIZE") and rest.split(None, 1)[0].upper() in ("SELECT", "WITH", "FROM", "ANALYZE"):
            check_read_only(rest.removeprefix("ANALYZE").removeprefix("analyze"), dialect)
        elif ";" in text:
            raise QueryError("only one statement at a time", code="multiple_statements")
        return
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise QueryError(f"cannot parse the query: {first}", code="parse_error") from None
    if len(statements) != 1:
        raise QueryError("only one statement at a time", code="multiple_statements")
    tree = statements[0]
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Merge, exp.Copy,
              exp.Command, exp.Set, exp.Pragma, exp.Use, exp.TruncateTable, exp.Attach, exp.Detach, exp.Transaction,
              exp.Commit, exp.Rollback, exp.Into)
    found = tree if isinstance(tree, writes) else tree.find(*writes)
    if found is not None or not isinstance(tree, exp.Query):
        what = (found or tree).key.upper()
        raise QueryError(f"segflow sql only reads: {what} is not allowed", code="write_refused")
