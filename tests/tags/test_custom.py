"""Custom tagging logic: read-only SQL checked with sqlglot, and registered Python functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from segflow.errors import DefinitionError
from segflow.tags import check_tag_sql, refresh_tags, tag_function
from segflow.tags.custom import render_tag_sql, resolve_function
from segflow.workspace import Workspace

from .conftest import T, assignments

REFUSED = [
    ("INSERT INTO profiles (profile_id) VALUES ('x')", "not_a_select", "sql must be a SELECT, not INSERT"),
    ("SELECT profile_id FROM profiles; SELECT profile_id FROM events", "multiple_statements", "not 2 statements"),
    ("SELECT profile_id FROM read_csv('/etc/passwd')", "table_refused", "reads only warehouse tables"),
    ("SELECT profile_id FROM '/tmp/x.csv'", "unknown_table", "unknown table '/tmp/x.csv'"),
    ("SELECT profile_id FROM other.main.profiles", "table_refused", "the warehouse's own tables"),
    ("SELECT profile_id FROM secrets", "unknown_table", "unknown table 'secrets'"),
    ("SELECT profile_id, read_text('/etc/passwd') AS value FROM profiles", "function_refused", "may not call read_text()"),
    ("SELECT profile_id FROM profiles WHERE getenv('HOME') = ''", "function_refused", "may not call getenv()"),
    ("SELECT * FROM profiles", "star_refused", "no SELECT *"),
    ("SELECT city FROM profiles", "missing_profile_id", "must return a profile_id column (it returns city)"),
    ("SELECT profile_id, city FROM profiles", "bad_columns", "not profile_id, city"),
    ("SELECT profile_id FROM events WHERE ts < :now", "unknown_parameter", "unknown parameter :now"),
    ("SELECT profile_id FROM events WHERE ts < ?", "unknown_parameter", "unknown parameter ?"),
    ("SELECT profile_id FROM (SELECT profile_id INTO t FROM profiles)", "write_refused", "INTO is not allowed"),
    ("", "empty_sql", "sql is empty"),
    ("SELEC profile_id", "not_a_select", "sql must be a SELECT; 'SELEC' does not start one"),
    ("SELECT profile_id FROM profiles WHERE (", "sql_parse_error", "cannot parse the query"),
]


@pytest.mark.parametrize(("sql", "code", "message"), REFUSED, ids=[r[1] + f"-{i}" for i, r in enumerate(REFUSED)])
def test_unsafe_or_wrong_sql_is_refused(sql: str, code: str, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        check_tag_sql(sql)
    assert info.value.code == code
    assert message in str(info.value)
    assert info.value.path == "sql"


ACCEPTED = [
    "SELECT profile_id FROM profiles WHERE city = 'Beijing'",
    "SELECT p.profile_id, o.status AS value FROM profiles AS p JOIN main.orders AS o ON o.profile_id = p.profile_id",
    "WITH recent AS (SELECT profile_id FROM events WHERE ts > :as_of - INTERVAL 7 DAY) SELECT profile_id FROM recent",
    "SELECT profile_id FROM profiles UNION SELECT profile_id FROM tag_assignments WHERE tag = 'x'",
    "SELECT profile_id, count(*) AS value FROM events GROUP BY ALL HAVING count(*) > 1",
]


@pytest.mark.parametrize("sql", ACCEPTED, ids=["where", "join", "cte-param", "union", "count-star"])
def test_read_only_selects_over_warehouse_tables_pass(sql: str) -> None:
    assert "profile_id" in check_tag_sql(sql)


def test_parameters_become_typed_literals() -> None:
    sql, valued = render_tag_sql("SELECT profile_id FROM events WHERE ts <= :as_of AND CAST(ts AS DATE) <= :today "
                                 "AND :timezone <> ''", as_of=T, timezone_name="Asia/Shanghai")
    assert not valued
    assert "CAST('2026-03-01T00:00:00+00:00' AS TIMESTAMPTZ)" in sql
    assert "CAST('2026-03-01' AS DATE)" in sql and "'Asia/Shanghai'" in sql
    assert ":as_of" not in sql


def test_sql_tag_refreshes_with_values_and_as_of(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("orders/last_status", "sql: |\n  SELECT profile_id, max(status) AS value FROM orders\n"
                                 "  WHERE ts <= :as_of GROUP BY profile_id\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert (result.source, result.members, result.added, result.error) == ("sql", 3, 3, None)
    assert assignments(tiny, "orders/last_status") == {
        ("p1", "orders/last_status", "sql"): "paid", ("p2", "orders/last_status", "sql"): "paid",
        ("p3", "orders/last_status", "sql"): "cancelled"}
    [earlier] = refresh_tags(tiny, as_of=datetime.fromisoformat("2025-12-31T00:00:00+00:00"))
    assert (earlier.members, earlier.removed, earlier.added) == (1, 2, 0)


def test_sql_returning_unknown_profiles_counts_and_skips_them(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("x/ghosts", "sql: SELECT 'nobody' AS profile_id UNION ALL SELECT 'p1' AS profile_id\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert (result.members, result.unknown) == (1, 1)


def test_a_failing_query_keeps_the_previous_assignments_and_records_the_error(
    tiny: Workspace, define: Callable[[str, str], Path]
) -> None:
    path = define("x/risky", "sql: SELECT profile_id FROM profiles WHERE city = 'Beijing'\n")
    refresh_tags(tiny, as_of=T)
    path.write_text("sql: SELECT profile_id FROM profiles WHERE CAST(city AS INTEGER) > 0\n", encoding="utf-8")
    define("x/fine", "rule: {attr: member_level, eq: vip}\n")
    results = {r.name: r for r in refresh_tags(tiny, as_of=T)}
    assert "Could not convert string" in (results["x/risky"].error or "") or "Conversion Error" in (results["x/risky"].error or "")
    assert results["x/fine"].error is None and results["x/fine"].members == 2
    assert set(assignments(tiny, "x/risky")) == {("p1", "x/risky", "sql"), ("p4", "x/risky", "sql")}
    history = tiny.sql("SELECT name, error FROM tag_refreshes WHERE name = 'x/risky' ORDER BY refreshed_at").to_pylist()
    assert history[0]["error"] is None and history[1]["error"]


@tag_function("test_registered_vips")
def _registered_vips(ws: Workspace, as_of: datetime) -> list[tuple[str, str]]:
    return [("p1", "first"), ("p3", "third"), ("ghost", "x")]


RESULTS = {
    "ids": lambda ws, t: ["p1", "p2", "p2"],
    "pairs": lambda ws, t: [("p1", "a"), ("p2", None)],
    "mapping": lambda ws, t: {"p1": "a", "p2": "b"},
    "arrow": lambda ws, t: ws.sql("SELECT profile_id, city AS value FROM profiles WHERE city = 'Beijing'"),
    "pandas": lambda ws, t: ws.sql("SELECT profile_id FROM profiles WHERE member_level = 'vip'").to_pandas(),
}
EXPECTED = {
    "ids": {"p1": None, "p2": None},
    "pairs": {"p1": "a", "p2": None},
    "mapping": {"p1": "a", "p2": "b"},
    "arrow": {"p1": "Beijing", "p4": "Beijing"},
    "pandas": {"p1": None, "p3": None},
}


@pytest.mark.parametrize("shape", list(RESULTS), ids=str)
def test_python_functions_may_return_any_usual_shape(tiny: Workspace, define: Callable[[str, str], Path],
                                                     shape: str) -> None:
    tag_function(f"test_shape_{shape}")(RESULTS[shape])
    define("py/shape", f"python: test_shape_{shape}\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert result.error is None
    got = {p: v for (p, _, s), v in assignments(tiny, "py/shape").items() if s == "python"}
    assert got == EXPECTED[shape]


def test_registered_function_with_values_and_unknown_ids(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("py/vips", "python: test_registered_vips\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert (result.members, result.unknown) == (2, 1)


def test_module_function_from_the_project_folder(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    (tiny.root / "tag_logic_for_test.py").write_text(
        "def beijing(ws, as_of):\n    return ['p1', 'p4']\n", encoding="utf-8")
    define("py/beijing", "python: tag_logic_for_test:beijing\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert result.members == 2


@pytest.mark.parametrize(("ref", "message"), [
    ("nothing_registered_by_this_name", "is neither a registered tag function"),
    ("no_such_module_xyz:fn", "cannot import 'no_such_module_xyz'"),
    ("json:no_such_function", "json has no function 'no_such_function'"),
], ids=["unregistered", "no-module", "no-function"])
def test_unknown_functions_are_refused_before_anything_runs(tiny: Workspace, define: Callable[[str, str], Path],
                                                           ref: str, message: str) -> None:
    define("py/bad", f"python: {ref}\n")
    with pytest.raises(DefinitionError, match=message) as info:
        refresh_tags(tiny, as_of=T)
    assert str(info.value).startswith("tags/py/bad.yaml: python: ") and "python: python:" not in str(info.value)
    assert assignments(tiny) == {}


def test_a_function_returning_garbage_is_an_error_of_that_tag(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    tag_function("test_garbage")(lambda ws, t: [3.5])
    define("py/garbage", "python: test_garbage\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert "expected profile ids or (profile_id, value) pairs" in (result.error or "")


def test_resolve_prefers_registered_names() -> None:
    assert resolve_function("test_registered_vips") is _registered_vips
