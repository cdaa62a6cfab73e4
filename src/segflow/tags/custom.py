"""Custom tagging logic: a read-only SQL query, or a registered Python function.

**SQL.** A tag's ``sql:`` is one SELECT over warehouse tables returning ``profile_id``
and, for a valued tag, ``value``::

    sql: |
      SELECT profile_id, category AS value
      FROM orders JOIN order_items USING (order_id)
      WHERE status = 'paid' AND ts > :as_of - INTERVAL 180 DAY AND ts <= :as_of
      GROUP BY ALL HAVING count(*) >= 3

:func:`check_tag_sql` parses it with sqlglot and refuses anything else: several
statements, anything that writes, tables that are not warehouse tables (files, table
functions, other databases), file-reading functions, ``SELECT *``, output columns other
than ``profile_id`` and ``value``. The parameters ``:as_of`` (a TIMESTAMPTZ, the refresh's
as-of), ``:today`` (its date in the workspace zone) and ``:timezone`` (the zone's name)
become typed literals in the sqlglot tree (:func:`render_tag_sql`), never pasted text.

**Python.** A function registered with :func:`tag_function` (or named as
``module:function``, imported with the project folder on ``sys.path``) is called as
``fn(ws, as_of)`` and returns profile ids, ``(profile_id, value)`` pairs, a mapping id →
value, or a pyarrow table / pandas DataFrame with ``profile_id`` (and ``value``)::

    from segflow.tags import tag_function

    @tag_function("crm/key_accounts")
    def key_accounts(ws, as_of):
        return ws.sql("SELECT profile_id FROM profiles WHERE account_id IN ('acc_00001')")
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.clock import utc
from segflow.errors import DefinitionError

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from segflow.context import ProjectContext

__all__ = [
    "PARAMETERS",
    "TagFunction",
    "check_tag_sql",
    "members_table",
    "registered_functions",
    "render_tag_sql",
    "resolve_function",
    "run_tag_function",
    "tag_function",
]

#: ``fn(ws, as_of)`` → ids, (id, value) pairs, {id: value}, or an Arrow table / DataFrame.
TagFunction = Callable[["ProjectContext", datetime], Any]

#: Parameters a tag query may use, with what they become.
PARAMETERS = {"as_of": "the refresh's as-of (TIMESTAMPTZ)", "today": "as-of's date in the workspace zone (DATE)",
              "timezone": "the workspace time zone (text)"}

_FUNCTIONS: dict[str, TagFunction] = {}

#: Warehouse tables a tag query may read.
_SYSTEM = ("tag_assignments", "segment_members", "traits", "trait_state")
#: Functions that reach outside the warehouse (files, settings, other databases).
_DENIED_FUNCTION = re.compile(
    r"^(read_|glob$|sniff_csv|parquet_|iceberg_|delta_|duckdb_|pragma_|query$|query_table|getenv|current_setting|"
    r"which_secret|load_|install_|sqlite_|postgres_|mysql_|http|json_execute|textual|ducklake)",
    re.IGNORECASE,
)


def _allowed_tables() -> set[str]:
    from segflow.schema.kinds import KINDS

    return set(KINDS) | set(_SYSTEM)


def _fail(message: str, code: str = "bad_sql") -> DefinitionError:
    return DefinitionError(message, code=code, path="sql")


def _parse(sql: str) -> exp.Query:
    import sqlglot
    from sqlglot import exp

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise _fail("sql is empty", "empty_sql")
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise _fail(f"cannot parse the query: {str(exc).splitlines()[0]}", "sql_parse_error") from None
    if len(statements) != 1:
        raise _fail(f"sql must be one SELECT, not {len(statements)} statements", "multiple_statements")
    tree = statements[0]
    if isinstance(tree, (exp.Command, exp.Alias, exp.Column, exp.Identifier)):
        raise _fail(f"sql must be a SELECT; {text.split(None, 1)[0]!r} does not start one", "not_a_select")
    if not isinstance(tree, exp.Query):
        raise _fail(f"sql must be a SELECT, not {tree.key.upper()}", "not_a_select")
    return tree


def check_tag_sql(sql: str) -> list[str]:
    """Check that *sql* is one read-only SELECT over warehouse tables; return its output columns.

    Raises :class:`DefinitionError` (``path`` ``sql``) naming what is refused.
    """
    from sqlglot import exp

    tree = _parse(sql)
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Merge, exp.Copy,
              exp.Command, exp.Set, exp.Pragma, exp.Use, exp.TruncateTable, exp.Attach, exp.Detach,
              exp.Transaction, exp.Commit, exp.Rollback, exp.Into)
    found = tree.find(*writes)
    if found is not None:
        raise _fail(f"sql only reads: {found.key.upper()} is not allowed", "write_refused")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    allowed = _allowed_tables()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise _fail(f"sql reads only warehouse tables, not {table.this.sql('duckdb')}", "table_refused")
        name = table.name
        if table.catalog or (table.db and table.db.lower() != "main"):
            raise _fail(f"sql reads only the warehouse's own tables, not {table.sql('duckdb')}", "table_refused")
        if name.lower() in ctes and not table.db:
            continue
        if name not in allowed:
            raise _fail(f"sql reads an unknown table {name!r} (tables: {', '.join(sorted(allowed))})", "unknown_table")
    for func in tree.find_all(exp.Func):
        fname = func.name if isinstance(func, exp.Anonymous) else func.sql_name()
        if _DENIED_FUNCTION.match(fname or ""):
            raise _fail(f"sql may not call {fname.lower()}(): tag queries read warehouse tables only", "function_refused")
    for param in tree.find_all(exp.Placeholder, exp.Parameter):
        pname = param.name
        if pname not in PARAMETERS:
            what = f":{pname}" if pname and pname != "?" else "?"
            raise _fail(f"unknown parameter {what} (parameters: {', '.join(':' + p for p in PARAMETERS)})",
                        "unknown_parameter")
    columns = [s.alias_or_name for s in tree.selects]
    if any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
           for s in tree.selects):
        raise _fail("sql must name its columns: profile_id and optionally value (no SELECT *)", "star_refused")
    if "profile_id" not in columns:
        raise _fail(f"sql must return a profile_id column (it returns {', '.join(columns)})", "missing_profile_id")
    extra = [c for c in columns if c not in ("profile_id", "value")]
    if extra or len(columns) != len(set(columns)):
        raise _fail(f"sql returns profile_id and optionally value, not {', '.join(columns)}", "bad_columns")
    return columns


def render_tag_sql(sql: str, *, as_of: datetime, timezone_name: str = "UTC") -> tuple[str, bool]:
    """The checked query with its parameters as typed literals, and whether it returns ``value``.

    The result is wrapped so its columns are exactly ``profile_id, value`` (``value``
    NULL for a plain tag), both as text.
    """
    from zoneinfo import ZoneInfo

    import sqlglot
    from sqlglot import exp

    columns = check_tag_sql(sql)
    tree = _parse(sql)
    when = utc(as_of)
    today = when.astimezone(ZoneInfo(timezone_name)).date()
    literals = {
        "as_of": exp.cast(exp.Literal.string(when.isoformat()), exp.DataType.build("TIMESTAMPTZ")),
        "today": exp.cast(exp.Literal.string(today.isoformat()), exp.DataType.build("DATE")),
        "timezone": exp.Literal.string(timezone_name),
    }

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Placeholder, exp.Parameter)) and node.name in literals:
            return literals[node.name].copy()
        return node

    bound = tree.transform(bind)
    valued = "value" in columns
    inner = exp.Subquery(this=bound, alias=exp.TableAlias(this=exp.to_identifier("q", quoted=True)))
    value: exp.Expression = (exp.cast(exp.column("value", table="q", quoted=True), exp.DataType.build("VARCHAR"))
                             if valued else exp.cast(exp.Null(), exp.DataType.build("VARCHAR")))
    wrapped = sqlglot.select(
        exp.alias_(exp.cast(exp.column("profile_id", table="q", quoted=True), exp.DataType.build("VARCHAR")),
                   "profile_id", quoted=True),
        exp.alias_(value, "value", quoted=True),
    ).from_(inner)
    return wrapped.sql(dialect="duckdb"), valued


# -- Python functions -------------------------------------------------------------------


def tag_function(name: str) -> Callable[[TagFunction], TagFunction]:
    """Decorator registering *fn* under *name* for ``python: name`` in a tag definition."""

    def register(fn: TagFunction) -> TagFunction:
        _FUNCTIONS[name] = fn
        return fn

    return register


def registered_functions() -> dict[str, TagFunction]:
    """The functions registered so far, by name."""
    return dict(_FUNCTIONS)


def resolve_function(ref: str, root: Path | None = None) -> TagFunction:
    """The function *ref* names: a registered name, or ``module:function`` (imported with the
    project folder *root* first on ``sys.path``, so a project may keep it in ``tag_logic.py``)."""
    if ref in _FUNCTIONS:
        return _FUNCTIONS[ref]
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(_FUNCTIONS)) or "none registered"
        raise DefinitionError(f"python: {ref!r} is neither a registered tag function ({known}) nor module:function",
                              code="unknown_function", path="python")
    added = root is not None and str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DefinitionError(f"python: cannot import {module_name!r}: {exc}", code="unknown_function",
                              path="python") from None
    finally:
        if added:
            sys.path.remove(str(root))
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise DefinitionError(f"python: {module_name} has no function {attr!r}", code="unknown_function",
                              path="python")
    if ref not in _FUNCTIONS and attr in _FUNCTIONS:  # the import may have registered it under its own name
        return _FUNCTIONS[attr]
    return fn  # type: ignore[no-any-return]


def run_tag_function(fn: TagFunction, ws: ProjectContext, as_of: datetime, *, name: str = "") -> pa.Table:
    """Call *fn* and normalise what it returns to an Arrow table ``profile_id, value`` (text)."""
    return members_table(fn(ws, as_of), what=f"tag {name}: the function returned")


def members_table(result: Any, *, what: str = "got", path: str = "python") -> pa.Table:
    """Profile ids, ``(profile_id, value)`` pairs, ``{id: value}``, or an Arrow table / pandas
    DataFrame with ``profile_id`` (and ``value``) → an Arrow table ``profile_id, value`` (text).

    Anything else raises :class:`DefinitionError` (code ``bad_function_result``): a tag
    function's output is part of its tag's definition."""
    import pyarrow as pa

    if hasattr(result, "to_arrow") and not isinstance(result, pa.Table):  # polars and the like
        result = result.to_arrow()
    if type(result).__module__.startswith("pandas"):
        result = pa.Table.from_pandas(result, preserve_index=False)
    if isinstance(result, pa.Table):
        if "profile_id" not in result.column_names:
            raise DefinitionError(f"{what} a table without profile_id (columns: {', '.join(result.column_names)})",
                                  code="bad_function_result", path=path)
        ids = result.column("profile_id").cast(pa.string())
        values = (result.column("value").cast(pa.string()) if "value" in result.column_names
                  else pa.nulls(len(ids), pa.string()))
        return pa.table({"profile_id": ids, "value": values})
    ids_out: list[Any] = []
    values_out: list[Any] = []
    items: Iterable[Any] = result.items() if isinstance(result, Mapping) else (result or ())
    for item in items:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            pid, value = item
        elif isinstance(item, (str, int)):
            pid, value = item, None
        else:
            raise DefinitionError(f"{what} {item!r}; expected profile ids or (profile_id, value) pairs",
                                  code="bad_function_result", path=path)
        ids_out.append(None if pid is None else str(pid))
        values_out.append(None if value is None else str(value))
    return pa.table({"profile_id": pa.array(ids_out, pa.string()), "value": pa.array(values_out, pa.string())})
