"""Value spellings and normalisation, evaluated by DuckDB exactly as the loader does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from segflow.ingest.phones import phone_sql
from segflow.schema.types import AttributeType as T
from segflow.schema.types import parse_type, value_sql


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    return c


def typed(con: duckdb.DuckDBPyConnection, t: T, text: str | None):
    return con.execute(f"SELECT {value_sql(t, '$1::VARCHAR')}", [text]).fetchone()[0]


UTC = UTC


@pytest.mark.parametrize(
    ("t", "text", "expected"),
    [
        (T.TIMESTAMP, "2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-03-01T18:00:00+08:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-03-01 10:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "2024/03/01", datetime(2024, 3, 1, tzinfo=UTC)),
        (T.TIMESTAMP, "2024/03/01 10:00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "1709287200", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "1709287200000", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (T.TIMESTAMP, "2024-13-45T99:00:00Z", None),
        (T.TIMESTAMP, "yesterday", None),
        (T.DATE, "1990-02-28", date(1990, 2, 28)),
        (T.DATE, "2000/02/29", date(2000, 2, 29)),
        (T.DATE, "1990-02-30", None),
        (T.DATE, "not-a-date", None),
        (T.BOOLEAN, "Yes", True),
        (T.BOOLEAN, "0", False),
        (T.BOOLEAN, "maybe", None),
        (T.INTEGER, "42", 42),
        (T.INTEGER, "4.2", None),
        (T.NUMBER, "4.25", 4.25),
        (T.NUMBER, "4,25", None),
        (T.DECIMAL, "19.99", Decimal("19.9900")),
        (T.LIST, '["a", "b"]', ["a", "b"]),
        (T.LIST, "a| b |", ["a", "b"]),
        (T.JSON, '{"k": 1}', '{"k": 1}'),
        (T.JSON, "{broken", None),
    ],
)
def test_spellings(con: duckdb.DuckDBPyConnection, t: T, text: str, expected: object) -> None:
    assert typed(con, t, text) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("13812345678", "CN", "+8613812345678"),
        ("138 1234 5678", "CN", "+8613812345678"),
        ("138-1234-5678", "CN", "+8613812345678"),
        ("+86 138 1234 5678", "CN", "+8613812345678"),
        ("8613812345678", "CN", "+8613812345678"),
        ("0086 138 1234 5678", None, "+8613812345678"),
        ("(020) 1234 5678", "CN", "+862012345678"),
        ("+7 (912) 345-67-89", "CN", "+79123456789"),
        ("415-555-0100", "US", "+14155550100"),
        ("12345", "CN", "12345"),
        ("call me", "CN", "call me"),
        ("13812345678", None, "13812345678"),
        ("   ", "CN", None),
    ],
)
def test_phones_become_e164(con: duckdb.DuckDBPyConnection, raw: str, country: str | None, expected: str | None) -> None:
    assert con.execute(f"SELECT {phone_sql('$1::VARCHAR', country)}", [raw]).fetchone()[0] == expected


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown type 'money' \\(known: string, integer, number, decimal"):
        parse_type("money")
