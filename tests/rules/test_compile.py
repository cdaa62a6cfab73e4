"""The rule compiler's API, its Python-side calendar and count logic, and engine agreement.

The golden files (test_compile_golden.py) pin the SQL of every leaf and operator; here
the pieces are tested against brute-force oracles, and DuckDB against PostgreSQL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pgdata
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from segflow.errors import SegflowError
from segflow.rules.ast import AnyOf, Attr, Compare, Op
from segflow.rules.compile import _month_day_runs, _presence, compile_rule, compile_sql
from segflow.rules.errors import RuleError
from segflow.schema.types import AttributeType as T

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rule(data: Any):
    return pgdata.checked(data)


@pytest.fixture(scope="module")
def duck():
    wh = pgdata.duckdb_warehouse()
    yield wh.con
    wh.close()


def members(con: Any, tree: Any, **options: Any) -> set[str]:
    return {r[0] for r in con.execute(compile_sql(tree, as_of=options.pop("as_of", AS_OF), **options)).fetchall()}


# -- API -----------------------------------------------------------------------------


def test_compile_rule_returns_a_select_rendered_by_compile_sql() -> None:
    tree = rule({"attr": "city", "eq": "Beijing"})
    select = compile_rule(tree, as_of=AS_OF, dialect="postgres")
    assert isinstance(select, exp.Select)
    assert compile_sql(tree, as_of=AS_OF, dialect="postgres") == select.sql(dialect="postgres")
    assert [s.alias_or_name for s in select.selects] == ["profile_id"]


def test_naive_as_of_is_utc() -> None:
    tree = rule({"event": "login", "within": "7d"})
    naive = compile_sql(tree, as_of=datetime(2026, 3, 1, 12, 0))
    assert naive == compile_sql(tree, as_of=AS_OF)
    shanghai = datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    assert compile_sql(tree, as_of=shanghai) == naive


def test_unknown_dialect() -> None:
    with pytest.raises(SegflowError) as info:
        compile_sql(rule({"tag": "vip"}), as_of=AS_OF, dialect="oracle")
    assert info.value.code == "unknown_dialect"
    assert str(info.value) == "no SQL dialect 'oracle' for rules (dialects: duckdb, postgres, postgresql)"


def test_unknown_timezone() -> None:
    with pytest.raises(SegflowError) as info:
        compile_sql(rule({"tag": "vip"}), as_of=AS_OF, timezone="Mars/Olympus")
    assert info.value.code == "bad_timezone"
    assert str(info.value) == "unknown time zone 'Mars/Olympus' (use an IANA name such as Asia/Shanghai)"


def test_an_unchecked_tree_is_refused() -> None:
    tree = Attr(path="all[0].attr", name="city", tests=(Compare(path="all[0].eq", op=Op.EQ, value="x"),))
    with pytest.raises(RuleError) as info:
        compile_sql(tree, as_of=AS_OF)
    assert (info.value.code, info.value.path) == ("not_checked", "all[0].eq")
    assert str(info.value) == "all[0].eq: the rule was not checked; run check_rule first"


#: How each shape starts, after the universe test, per dialect (see dialects.ANTI_JOIN).
_EXISTS = 'AND EXISTS(SELECT 1 FROM "events" AS "e" WHERE "e"."profile_id" = "p"."profile_id"'
_IN_GROUPED = 'AND "p"."profile_id" IN (SELECT "{a}"."profile_id" FROM'
SHAPES = {
    "duckdb": {
        "some": _EXISTS,
        "none": 'AND NOT "p"."profile_id" IN (SELECT "e"."profile_id" FROM "events" AS "e" WHERE',
        "grouped": _IN_GROUPED,
        "grouped, negated": 'AND NOT "p"."profile_id" IN (SELECT "{a}"."profile_id" FROM',
    },
    "postgres": {
        "some": _EXISTS,
        "none": 'AND NOT EXISTS(SELECT 1 FROM "events" AS "e" WHERE "e"."profile_id" = "p"."profile_id"',
        "grouped": _IN_GROUPED,
        "grouped, negated": 'AND NOT EXISTS(SELECT 1 FROM (SELECT "{a}"."profile_id" FROM',
    },
}


@pytest.mark.parametrize("dialect", SHAPES)
@pytest.mark.parametrize(
    ("data", "shape"),
    [
        ({"event": "login"}, "some"),
        ({"event": "login", "count": {"gt": 0}}, "some"),
        ({"event": "login", "distinct_days": {"gte": 1}}, "some"),
        ({"event": "login", "count": {"eq": 0}}, "none"),
        ({"event": "login", "count": {"lt": 1}}, "none"),
        ({"event": "login", "count": {"not_in": [1, 2, 3], "lte": 3}}, "none"),
        ({"event": "login", "count": {"gte": 2}}, "grouped"),
        ({"event": "login", "count": {"lt": 2}}, "grouped, negated"),
        ({"orders": {"total": {"lt": 100}}}, "grouped, negated"),
        ({"orders": {"avg": {"lt": 100}}}, "grouped"),
        ({"not": {"event": "login"}}, "none"),
        ({"not": {"not": {"event": "login"}}}, "some"),
        ({"not": {"orders": {"avg": {"lt": 100}}}}, "grouped, negated"),
    ],
    ids=lambda v: None if isinstance(v, dict) else v,
)
def test_aggregate_shapes(data: dict[str, Any], shape: str, dialect: str) -> None:
    sql = compile_sql(rule(data), as_of=AS_OF, dialect=dialect)
    after_universe = sql.split("AS TIMESTAMPTZ)) ", 1)[1]
    assert after_universe.startswith(SHAPES[dialect][shape].format(a="o" if "orders" in str(data) else "e"))
    assert ("GROUP BY" in sql) is shape.startswith("grouped")


def test_a_count_test_that_always_or_never_holds_reads_no_events() -> None:
    sql = compile_sql(rule({"event": "login", "count": {"gte": 0}}), as_of=AS_OF)
    assert sql == compile_sql(rule({"all": []}), as_of=AS_OF)
    assert "events" not in sql
    sql = compile_sql(rule({"event": "login", "count": {"lt": 0}}), as_of=AS_OF)
    assert sql.endswith("AS TIMESTAMPTZ)) AND FALSE")


def test_an_empty_any_is_refused_not_compiled_to_false() -> None:
    with pytest.raises(RuleError) as info:
        compile_sql(AnyOf(path="all[1].any", items=()), as_of=AS_OF)
    assert (info.value.code, info.value.path) == ("empty_any", "all[1].any")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"attr": "last_login", "within": "9999999w"}, {"p01", "p02", "p07"}),  # not p04: after T
        ({"attr": "signup_day", "before": "9999999w"}, set()),
        ({"event": "login", "within": "9999999w"}, {"p06", "p07"}),
    ],
    ids=["timestamp", "date", "event"],
)
def test_a_window_reaching_before_year_1_has_no_lower_bound(duck: Any, data: Any, expected: set[str]) -> None:
    assert members(duck, rule(data)) == expected


def test_values_are_typed_literals() -> None:
    sql = compile_sql(
        rule({"all": [{"attr": "score", "gte": 0.3}, {"attr": "birthday", "lt": "2000-01-01"},
                      {"attr": "last_login", "gte": "2026-01-01T08:00:00+08:00"}, {"orders": {"total": {"gte": 9.5}}}]}),
        as_of=AS_OF, dialect="postgres",
    )
    assert '"p"."score" >= CAST(0.3 AS DOUBLE PRECISION)' in sql
    assert "\"p\".\"birthday\" < CAST('2000-01-01' AS DATE)" in sql
    assert "\"p\".\"last_login\" >= CAST('2026-01-01T00:00:00+00:00' AS TIMESTAMPTZ)" in sql
    assert 'COALESCE(SUM("o"."amount"), 0) >= 9.5' in sql


# -- Python-side logic against brute force ----------------------------------------------


@pytest.mark.parametrize(
    ("tests", "expected"),
    [
        ({"gte": 1}, "some"),
        ({"gt": 0}, "some"),
        ({"ne": 0}, "some"),
        ({"not_in": [0]}, "some"),
        ({"eq": 0}, "none"),
        ({"lt": 1}, "none"),
        ({"lte": 0}, "none"),
        ({"between": [0, 0]}, "none"),
        ({"is_null": True}, "never"),
        ({"is_null": False}, "always"),
        ({"gte": 0}, "always"),
        ({"lt": 0}, "never"),
        ({"gte": 1, "lte": 1000}, None),
        ({"gte": 2}, None),
        ({"lt": 2}, None),
        ({"ne": 1}, None),
        ({"in": [0, 1]}, None),
    ],
    ids=str,
)
def test_presence(tests: dict[str, Any], expected: str | None) -> None:
    tree = rule({"event": "login", "count": tests})
    assert _presence(tree.agg.tests) == expected


def _days_to_anniversary(today: date, born: date) -> int:
    """Brute force: the days from *today* to *born*'s next anniversary (Feb 29 → Feb 28)."""
    for year in range(today.year, today.year + 3):
        try:
            day = born.replace(year=year)
        except ValueError:
            day = date(year, 2, 28)
        if day >= today:
            return (day - today).days
    raise AssertionError("unreachable")


def _in_runs(born: date, runs: list[tuple[int, int]]) -> bool:
    code = born.month * 100 + born.day
    return not runs or any(lo <= code <= hi for lo, hi in runs)


@given(
    today=st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31)),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=400),
)
@settings(max_examples=1000, deadline=None)
def test_anniversary_runs_match_brute_force(today: date, born: date, days: int) -> None:
    assert _in_runs(born, _month_day_runs(today, days)) == (_days_to_anniversary(today, born) <= days)


@pytest.mark.parametrize(
    ("today", "born", "days", "inside"),
    [
        (date(2026, 12, 30), date(1990, 1, 2), 3, True),
        (date(2026, 12, 30), date(1990, 1, 2), 2, False),
        (date(2026, 2, 28), date(1992, 2, 29), 1, True),  # Feb 28 in a non-leap year
        (date(2028, 2, 28), date(1992, 2, 29), 1, True),  # Feb 29 exists in 2028
        (date(2028, 2, 28), date(1992, 2, 29), 0, False),
        (date(2027, 3, 1), date(1992, 2, 29), 364, False),  # next: Feb 29 2028, 365 days
        (date(2027, 3, 1), date(1992, 2, 29), 365, True),
        (date(2026, 3, 1), date(1990, 3, 1), 0, True),  # today counts as 0
    ],
)
def test_anniversary_examples(today: date, born: date, days: int, inside: bool) -> None:
    assert _in_runs(born, _month_day_runs(today, days)) is inside


# -- values are data, never SQL ----------------------------------------------------------

NASTY = ["O'Brien", "a\\b", "'; DROP TABLE profiles; --", "100%_", '"quoted"', "北京", "Zoë 😀", "tab\there", ""]


@pytest.fixture(scope="module")
def cities():
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE profiles (profile_id VARCHAR, created_at TIMESTAMPTZ, city VARCHAR)")
    yield con
    con.close()


@given(text=st.text(max_size=12).filter(lambda s: "\x00" not in s))
@settings(max_examples=200, deadline=None)
def test_any_text_is_matched_literally(cities: Any, text: str) -> None:
    con = cities
    rows = {"hit": text, "miss": text + "x", "other": "x" + text}
    con.execute("DELETE FROM profiles")
    con.executemany("INSERT INTO profiles VALUES (?, NULL, ?)", list(rows.items()))
    python = {Op.EQ: str.__eq__, Op.STARTS_WITH: str.startswith, Op.ENDS_WITH: str.endswith,
              Op.CONTAINS: lambda city, part: part in city}
    for op, passes in python.items():
        tree = Attr(name="city", vtype=T.STRING, tests=(Compare(op=op, value=text, vtype=T.STRING),))
        assert members(con, tree) == {pid for pid, city in rows.items() if passes(city, text)}, op


@pytest.mark.postgres
def test_nasty_text_on_postgres(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pgdata.psycopg_url(pg_url), autocommit=True) as con:
        con.execute("CREATE TABLE profiles (profile_id text, created_at timestamptz, city text)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO profiles VALUES (%s, NULL, %s)", [(f"p{i}", s) for i, s in enumerate(NASTY)])
        for i, text in enumerate(NASTY):
            tree = Attr(name="city", vtype=T.STRING, tests=(Compare(op=Op.EQ, value=text, vtype=T.STRING),))
            sql = compile_sql(tree, as_of=AS_OF, dialect="postgres")
            assert {r[0] for r in con.execute(sql).fetchall()} == {f"p{i}"}, text


# -- the sample is the same hash everywhere ------------------------------------------------

SAMPLE_IDS = ["p01", "ü", "客户-42", "😀", "a:b", "x" * 60, *[f"u{i}" for i in range(200)]]


def _python_sample(ids: list[str], fraction: float, salt: str) -> set[str]:
    return {i for i in ids if int(hashlib.md5(f"{i}:{salt}".encode()).hexdigest()[:8], 16) / 2**32 < fraction}


def _sample_rule(fraction: float, salt: str):
    return rule({"sample": fraction, "salt": salt})


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_sample_matches_python_on_duckdb(fraction: float) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE profiles (profile_id VARCHAR, created_at TIMESTAMPTZ)")
    con.executemany("INSERT INTO profiles VALUES (?, NULL)", [(i,) for i in SAMPLE_IDS])
    assert members(con, _sample_rule(fraction, "spring_test")) == _python_sample(SAMPLE_IDS, fraction, "spring_test")


@pytest.mark.postgres
def test_sample_matches_python_on_postgres(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pgdata.psycopg_url(pg_url), autocommit=True) as con:
        con.execute("CREATE TABLE profiles (profile_id text, created_at timestamptz)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO profiles VALUES (%s, NULL)", [(i,) for i in SAMPLE_IDS])
        for fraction in (0.1, 0.5, 1.0):
            sql = compile_sql(_sample_rule(fraction, "salt'ed"), as_of=AS_OF, dialect="postgres")
            assert {r[0] for r in con.execute(sql).fetchall()} == _python_sample(SAMPLE_IDS, fraction, "salt'ed")


# -- DuckDB and PostgreSQL agree on generated rules ------------------------------------------

_LEAVES = st.one_of(
    st.builds(lambda op, v: {"attr": "city", op: v}, st.sampled_from(["eq", "ne", "gt", "lte", "contains", "not_contains"]),
              st.sampled_from(["Beijing", "beijing", "北京", "Москва", "S", "i"])),
    st.builds(lambda op, v: {"attr": "age", op: v}, st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
              st.integers(20, 61)),
    st.builds(lambda lo, n: {"attr": "score", "between": [lo, lo + n]}, st.sampled_from([0.0, 0.1, 0.3, 0.5]),
              st.sampled_from([0.0, 0.2, 0.5])),
    st.builds(lambda op, n: {"attr": "birthday", op: f"{n}d"}, st.sampled_from(["anniversary_within", "within", "before"]),
              st.integers(1, 400)),
    st.builds(lambda m: {"attr": "birthday", "anniversary_month": m}, st.one_of(st.just("current"), st.integers(1, 12))),
    st.builds(lambda op, n: {"attr": "last_login", op: f"{n}h"}, st.sampled_from(["within", "before"]), st.integers(1, 5000)),
    st.builds(lambda v: {"attr": "interests", "contains": v}, st.sampled_from(["sports", "books", "спорт"])),
    st.builds(lambda name, n, agg, op, v: {"event": name, "within": f"{n}d", agg: {op: v}},
              st.sampled_from(["add_to_cart", "login"]), st.integers(1, 500),
              st.sampled_from(["count", "distinct_days"]), st.sampled_from(["eq", "gte", "lt", "ne"]), st.integers(0, 3)),
    st.builds(lambda agg, op, v: {"event": "add_to_cart", agg: {"prop": "price", op: v}},
              st.sampled_from(["sum", "avg", "min", "max"]), st.sampled_from(["gte", "lt", "eq"]),
              st.sampled_from([0, 30, 45, 100.25, 120, 200.5, 300])),
    st.builds(lambda p, op, v: {"event": "add_to_cart", "where": {p: {op: v}}},
              st.sampled_from(["price", "category", "gift"]), st.sampled_from(["eq", "ne"]),
              st.sampled_from([30, 120, "beauty", "美妆", True, False])),
    st.builds(lambda op, v, n: {"orders": {"within": f"{n}d", "count": {op: v}}},
              st.sampled_from(["gte", "lt", "eq", "ne"]), st.integers(0, 3), st.integers(1, 900)),
    st.builds(lambda agg, op, v, n: {"orders": {"within": f"{n}d", agg: {op: v}}},
              st.sampled_from(["total", "avg", "min", "max"]), st.sampled_from(["gte", "lt", "eq", "ne"]),
              st.sampled_from([0, 500, 499.99, 500.01, 1000, 1200]), st.integers(1, 900)),
    st.builds(lambda agg, op, n: {"orders": {agg: {op: f"{n}d"}}}, st.sampled_from(["first", "last"]),
              st.sampled_from(["within", "before"]), st.integers(1, 900)),
    st.builds(lambda v: {"tag": "rfm_tier", "ne": v}, st.sampled_from(["high_value", "mid"])),
    st.builds(lambda f: {"sample": f, "salt": "s"}, st.sampled_from([0.25, 0.5, 0.75])),
)
_RULES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=5,
)


@pytest.mark.postgres
def test_duckdb_and_postgres_agree(pg_url: str, duck: Any) -> None:
    """Random rules (combinators over most leaves, any zone, T over 400 days) have the same
    members on both engines."""
    import psycopg

    pgdata.load_postgres(pg_url)
    with psycopg.connect(pgdata.psycopg_url(pg_url)) as con:

        @given(data=_RULES, zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
               hours=st.integers(-24 * 400, 24 * 30))
        @settings(max_examples=150, deadline=None)
        def agree(data: Any, zone: str, hours: int) -> None:
            tree = rule(data)
            as_of = AS_OF + timedelta(hours=hours)
            expected = members(duck, tree, as_of=as_of, timezone=zone)
            sql = compile_sql(tree, as_of=as_of, timezone=zone, dialect="postgres")
            assert {r[0] for r in con.execute(sql).fetchall()} == expected

        agree()


# -- avg of exact columns ---------------------------------------------------------------


def _avg_orders_warehouse(groups: list[list[str]]):
    from decimal import Decimal

    from segflow.warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(":memory:")
    wh.ensure_tables(pgdata.extra_attributes())
    ts = AS_OF - timedelta(days=1)
    for p, amounts in enumerate(groups):
        wh.con.execute("INSERT INTO profiles (profile_id) VALUES (?)", [f"p{p}"])
        wh.con.executemany(
            "INSERT INTO orders (order_id, profile_id, ts, amount, status) VALUES (?, ?, ?, ?, 'paid')",
            [(f"o{p}-{i}", f"p{p}", ts, Decimal(a)) for i, a in enumerate(amounts)],
        )
    return wh


@pytest.mark.parametrize("op", ["eq", "gte", "lte", "ne", "gt", "lt"])
def test_avg_of_a_decimal_column_is_exact(op: str) -> None:
    """The mean of the first five amounts is exactly 484982.59996; DuckDB's avg(DECIMAL)
    is a DOUBLE (ungrouped it gives 484982.59995999996 here), so the compiled test compares
    ``sum(amount)`` with ``484982.59996 * count(amount)``, exact on every engine and plan."""
    from decimal import Decimal

    from segflow.rules.evaluate import evaluate
    from segflow.rules.profile_data import ProfileData

    groups = [
        ["484982.5999", "484982.6000", "484982.6000", "484982.6000", "484982.5999"],  # mean 484982.59996
        ["0.1000", "0.2000"],  # mean 0.15
        ["484982.6000"],
    ]
    wh = _avg_orders_warehouse(groups)
    value = Decimal("484982.59996")
    tree = rule({"orders": {"avg": {op: float(value)}}})
    expected = set()
    for p, amounts in enumerate(groups):
        mean = sum(Decimal(a) for a in amounts) / len(amounts)
        holds = {"eq": mean == value, "ne": mean != value, "gte": mean >= value, "lte": mean <= value,
                 "gt": mean > value, "lt": mean < value}[op]
        if holds:
            expected.add(f"p{p}")
        data = ProfileData(profile={"profile_id": f"p{p}"},
                           orders=[{"amount": Decimal(a), "ts": AS_OF - timedelta(days=1), "status": "paid",
                                    "items": []} for a in amounts])
        assert evaluate(tree, data, as_of=AS_OF) is holds, (p, op)
    assert members(wh.con, tree) == expected
    wh.close()
