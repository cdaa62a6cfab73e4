from __future__ import annotations

import pytest

from segflow.errors import QueryError
from segflow.warehouse.readonly import check_read_only


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select count(*) from events where event = 'login';",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x UNION ALL SELECT 2",
        "DESCRIBE events",
        "SHOW TABLES",
        "SUMMARIZE SELECT * FROM profiles",
        "FROM profiles LIMIT 3",
    ],
)
def test_reads_are_allowed(sql: str) -> None:
    check_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "code", "message"),
    [
        ("DELETE FROM profiles", "write_refused", "segflow sql only reads: DELETE is not allowed"),
        ("INSERT INTO events SELECT * FROM events", "write_refused", "segflow sql only reads: INSERT is not allowed"),
        ("DROP TABLE events", "write_refused", "segflow sql only reads: DROP is not allowed"),
        ("CREATE TABLE x AS SELECT 1", "write_refused", "segflow sql only reads: CREATE is not allowed"),
        ("UPDATE profiles SET city = 'x'", "write_refused", "segflow sql only reads: UPDATE is not allowed"),
        ("COPY events TO '/tmp/x.csv'", "write_refused", "segflow sql only reads: COPY is not allowed"),
        ("SELECT 1; DROP TABLE events", "multiple_statements", "only one statement at a time"),
        ("", "empty_query", "empty query"),
    ],
    ids=["delete", "insert", "drop", "create", "update", "copy", "two", "empty"],
)
def test_writes_are_refused(sql: str, code: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        check_read_only(sql)
    assert info.value.code == code
    assert str(info.value) == message
