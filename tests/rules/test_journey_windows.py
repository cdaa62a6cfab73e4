"""``within: journey`` / ``within: node``: parse, check, batch SQL and the single-profile evaluator.

The batch query (:func:`segflow.rules.compile.compile_batch`) runs on a DuckDB warehouse made
by the real adapter (the differential test's :class:`Duck`), with both anti-join styles
(DuckDB's ``NOT IN`` and a DuckDB dialect forced to write ``NOT EXISTS``, as PostgreSQL's
does); a hypothesis test compares it run by run with :func:`segflow.rules.evaluate.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_differential import Duck, _data, _events, _profiles, profile_data

from segflow.rules.ast import Event, Orders, walk
from segflow.rules.check import check_rule
from segflow.rules.compile import compile_batch, compile_sql
from segflow.rules.dialects import DuckDBDialect, SqlDialect
from segflow.rules.errors import RuleError
from segflow.rules.evaluate import evaluate
from segflow.rules.parse import parse_rule

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: The as-of time of the hand-written examples.
AS_OF = T0 + timedelta(days=10)


class _NotExistsDuckDB(DuckDBDialect):
    """DuckDB SQL with PostgreSQL's anti-join style (``NOT EXISTS``)."""

    ANTI_JOIN = "not_exists"


DIALECTS: list[Any] = [pytest.param(DuckDBDialect(), id="not_in"), pytest.param(_NotExistsDuckDB(), id="not_exists")]


def journey_context() -> Any:
    return replace(strategies.check_context(), journey=True)


def checked(rule: Any) -> Any:
    tree, _warnings = check_rule(parse_rule(rule), journey_context())
    return tree


# -- parse and check ------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "scope"), [
    pytest.param({"event": "login", "within": "journey"}, "journey", id="event-journey"),
    pytest.param({"event": "login", "within": "node", "count": {"gte": 2}}, "node", id="event-node"),
    pytest.param({"orders": {"within": "journey"}}, "journey", id="orders-journey"),
    pytest.param({"all": [{"attr": "age", "gte": 18}, {"not": {"event": "view", "within": "node"}}]}, "node",
                 id="nested"),
])
def test_parse_gives_a_scoped_window(rule: Any, scope: str) -> None:
    windows = [n.window for n in walk(parse_rule(rule)) if isinstance(n, (Event, Orders))]
    assert [(w.scope, w.within, w.between) for w in windows] == [(scope, None, None)]


def test_a_duration_window_has_no_scope() -> None:
    tree = parse_rule({"event": "login", "within": "7d"})
    assert isinstance(tree, Event) and tree.window.scope is None and tree.window.within is not None


@pytest.mark.parametrize(("rule", "path"), [
    pytest.param({"event": "login", "within": "journey"}, "within", id="top"),
    pytest.param({"all": [{"attr": "age", "gte": 18}, {"event": "login", "within": "node"}]}, "all[1].within",
                 id="in-all"),
    pytest.param({"any": [{"not": {"orders": {"within": "journey"}}}]}, "any[0].not.orders.within", id="orders"),
])
def test_outside_a_journey_the_window_is_refused_with_its_path(rule: Any, path: str) -> None:
    with pytest.raises(RuleError) as info:
        check_rule(parse_rule(rule), strategies.check_context())
    problems = [(p.code, p.path, p.message) for p in info.value.problems]
    scope = "node" if "node" in str(rule) else "journey"
    assert problems == [("journey_window", path, f"within: {scope} is only allowed in a journey's rules")]


def test_every_problem_is_reported_with_the_journey_one() -> None:
    rule = {"all": [{"event": "login", "within": "journey"}, {"attr": "nope", "eq": 1}]}
    with pytest.raises(RuleError) as info:
        check_rule(parse_rule(rule), strategies.check_context())
    assert {p.path for p in info.value.problems} == {"all[0].within", "all[1].attr"}


def test_in_a_journey_the_window_is_accepted() -> None:
    tree = checked({"all": [{"event": "login", "within": "journey"}, {"orders": {"within": "node"}}]})
    assert [n.window.scope for n in walk(tree) if isinstance(n, (Event, Orders))] == ["journey", "node"]


def test_the_normal_compile_refuses_a_journey_window() -> None:
    with pytest.raises(RuleError, match="only allowed in a journey's rules"):
        compile_sql(checked({"event": "login", "within": "journey"}), as_of=AS_OF)


def test_evaluating_a_journey_window_without_its_time_is_an_error() -> None:
    data = _data(profiles=_profiles("p1"), events=_events(("p1", "login", T0, None)))
    tree = checked({"event": "login", "within": "node"})
    with pytest.raises(RuleError, match="within: node needs the run's node time"):
        evaluate(tree, profile_data(data, "p1"), as_of=AS_OF, journey_since=T0)
    assert evaluate(tree, profile_data(data, "p1"), as_of=AS_OF, node_since=T0) is True


# -- the batch query ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duck() -> Iterator[Duck]:
    d = Duck()
    d.con.execute('CREATE TABLE "runs" (run_id VARCHAR, profile_id VARCHAR, '
                  "journey_since TIMESTAMPTZ, node_since TIMESTAMPTZ)")
    yield d
    d.close()


Run = tuple[str, str, datetime, datetime]


def batch_matches(duck: Duck, data: dict[str, Any], runs: list[Run], tree: Any, as_of: datetime,
                  dialect: SqlDialect, timezone: str = "UTC") -> set[str]:
    duck.fill(data)
    duck.con.execute('DELETE FROM "runs"')
    if runs:
        duck.con.executemany('INSERT INTO "runs" VALUES (?, ?, ?, ?)', [list(r) for r in runs])
    sql = compile_batch(tree, as_of=as_of, batch_table="runs", timezone=timezone, dialect=dialect)
    ids = [r[0] for r in duck.con.execute(sql).fetchall()]
    assert len(ids) == len(set(ids)), f"a run twice: {ids}"
    return set(ids)


def evaluated_matches(data: dict[str, Any], runs: list[Run], tree: Any, as_of: datetime,
                      timezone: str = "UTC") -> set[str]:
    known = {p["profile_id"] for p in data["profiles"]}
    return {run_id for run_id, pid, journey, node in runs
            if pid in known and evaluate(tree, profile_data(data, pid), as_of=as_of, timezone=timezone,
                                         journey_since=journey, node_since=node)}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("rule", "expected"), [
    pytest.param({"event": "coupon_used", "within": "journey"}, {"r_after", "r_at"}, id="journey"),
    pytest.param({"event": "coupon_used", "within": "node"}, {"r_after"}, id="node"),
    pytest.param({"not": {"event": "coupon_used", "within": "journey"}}, {"r_before"}, id="not"),
    pytest.param({"event": "coupon_used", "within": "journey", "count": {"eq": 0}}, {"r_before"}, id="count-0"),
    pytest.param({"event": "coupon_used", "within": "journey", "count": {"gte": 2}}, set(), id="count-2"),
    pytest.param({"not": {"event": "coupon_used", "within": "journey", "count": {"lt": 1}}}, {"r_after", "r_at"},
                 id="not-count-lt"),
    pytest.param({"any": [{"attr": "age", "gte": 30}, {"event": "coupon_used", "within": "journey"}]},
                 {"r_after", "r_at", "r_before"}, id="any"),
    pytest.param({"all": [{"attr": "age", "lt": 30}, {"not": {"event": "coupon_used", "within": "node"}}]},
                 {"r_at"}, id="all-not"),
])
def test_batch_windows_per_run(duck: Duck, dialect: SqlDialect, rule: Any, expected: set[str]) -> None:
    # One coupon at T0 + 5d. r_before entered after it; r_at entered at that very moment
    # (counts: the lower bound is inclusive) but reached its node later; r_after entered before.
    used = T0 + timedelta(days=5)
    data = _data(profiles=_profiles("a", "b", "c", age=[20, 20, 40]),
                 events=_events(("a", "coupon_used", used, None), ("b", "coupon_used", used, None),
                                ("c", "coupon_used", used, None)))
    runs: list[Run] = [
        ("r_after", "a", T0, T0 + timedelta(days=1)),
        ("r_at", "b", used, used + timedelta(seconds=1)),
        ("r_before", "c", used + timedelta(seconds=1), used + timedelta(days=1)),
    ]
    tree = checked(rule)
    assert batch_matches(duck, data, runs, tree, AS_OF, dialect) == expected
    assert evaluated_matches(data, runs, tree, AS_OF) == expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_same_profile_in_two_runs_is_answered_per_run(duck: Duck, dialect: SqlDialect) -> None:
    data = _data(profiles=_profiles("a"), events=_events(("a", "login", T0 + timedelta(days=3), None)))
    runs: list[Run] = [("early", "a", T0, T0), ("late", "a", T0 + timedelta(days=4), T0 + timedelta(days=4))]
    assert batch_matches(duck, data, runs, checked({"event": "login", "within": "journey"}), AS_OF,
                         dialect) == {"early"}
    assert batch_matches(duck, data, runs, checked({"not": {"event": "login", "within": "node"}}), AS_OF,
                         dialect) == {"late"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_events_after_t_and_profiles_created_after_t_do_not_count(duck: Duck, dialect: SqlDialect) -> None:
    data = _data(profiles=_profiles("a", "late", created_at=[None, AS_OF + timedelta(seconds=1)]),
                 events=_events(("a", "login", AS_OF + timedelta(seconds=1), None),
                                ("late", "login", T0 + timedelta(days=1), None)))
    runs: list[Run] = [("ra", "a", T0, T0), ("rlate", "late", T0, T0), ("rnone", "missing", T0, T0)]
    assert batch_matches(duck, data, runs, checked({"event": "login", "within": "journey"}), AS_OF,
                         dialect) == set()
    assert batch_matches(duck, data, runs, checked({"not": {"event": "login", "within": "journey"}}), AS_OF,
                         dialect) == {"ra"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_orders_within_journey(duck: Duck, dialect: SqlDialect) -> None:
    from decimal import Decimal

    data = _data(profiles=_profiles("a"), orders=[
        {"order_id": "o1", "profile_id": "a", "ts": T0 + timedelta(days=2), "status": "paid",
         "amount": Decimal("300")},
        {"order_id": "o2", "profile_id": "a", "ts": T0 + timedelta(days=6), "status": "paid",
         "amount": Decimal("250")},
    ])
    runs: list[Run] = [("r1", "a", T0, T0 + timedelta(days=5)), ("r2", "a", T0 + timedelta(days=3), T0)]
    total = checked({"orders": {"within": "journey", "total": {"gte": 500}}})
    assert batch_matches(duck, data, runs, total, AS_OF, dialect) == {"r1"}
    assert evaluated_matches(data, runs, total, AS_OF) == {"r1"}
    count = checked({"orders": {"within": "node", "count": {"eq": 1}}})
    assert batch_matches(duck, data, runs, count, AS_OF, dialect) == {"r1"}
    assert evaluated_matches(data, runs, count, AS_OF) == {"r1"}


# -- batch SQL == the single-profile evaluator, run by run ------------------------------------------

PROFILES = ("a", "b", "c")
NAMES = ("login", "view")
#: Offsets from T0 in hours: events, run times and T all come from here, so they meet exactly.
HOURS = (0, 1, 2, 24, 25, 48, 72, 96)


def _at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


WINDOWS = ("journey", "node", "1d", "3d", None)


@st.composite
def _leaf(draw: Any) -> Any:
    window = draw(st.sampled_from(WINDOWS))
    rule: dict[str, Any] = {"event": draw(st.sampled_from(NAMES))}
    if window is not None:
        rule["within"] = window
    agg = draw(st.sampled_from(["default", "count", "count", "last", "first", "distinct_days", "orders"]))
    if agg == "count":
        rule["count"] = {draw(st.sampled_from(["eq", "gte", "lt", "lte"])): draw(st.integers(0, 2))}
    elif agg in ("last", "first"):
        rule[agg] = {draw(st.sampled_from(["gte", "lt"])): _at(draw(st.sampled_from(HOURS))).isoformat()}
    elif agg == "distinct_days":
        rule[agg] = {"gte": draw(st.integers(1, 2))}
    elif agg == "orders":
        spec: dict[str, Any] = {"count": {"gte": draw(st.integers(0, 2))}}
        if window is not None:
            spec["within"] = window
        return {"orders": spec}
    return rule


def _rules() -> st.SearchStrategy[Any]:
    leaves = st.one_of(_leaf(), st.just({"attr": "age", "gte": 30}))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(lambda r: {"not": r}, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"all": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"any": rs}),
    ), max_leaves=4)


@st.composite
def _cases(draw: Any) -> tuple[dict[str, Any], list[Run], datetime, str, Any]:
    events = draw(st.lists(st.tuples(st.sampled_from(PROFILES), st.sampled_from(NAMES), st.sampled_from(HOURS)),
                           max_size=10))
    orders = draw(st.lists(st.tuples(st.sampled_from(PROFILES), st.sampled_from(HOURS)), max_size=4))
    created = draw(st.lists(st.sampled_from([None, *HOURS]), min_size=len(PROFILES), max_size=len(PROFILES)))
    data = _data(
        profiles=_profiles(*PROFILES, age=[20, 30, 40], created_at=[None if h is None else _at(h) for h in created]),
        events=_events(*((pid, name, _at(h), None) for pid, name, h in events)),
        orders=[{"order_id": f"o{i}", "profile_id": pid, "ts": _at(h), "status": "paid"}
                for i, (pid, h) in enumerate(orders)],
    )
    runs: list[Run] = []
    for i in range(draw(st.integers(1, 5))):
        entered = draw(st.sampled_from(HOURS))
        reached = draw(st.sampled_from([h for h in HOURS if h >= entered]))
        runs.append((f"r{i}", draw(st.sampled_from(PROFILES)), _at(entered), _at(reached)))
    as_of = _at(draw(st.sampled_from(HOURS)))
    zone = draw(st.sampled_from(["UTC", "Asia/Shanghai"]))
    return data, runs, as_of, zone, draw(_rules())


@pytest.mark.parametrize("dialect", DIALECTS)
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_cases())
def test_batch_sql_matches_the_evaluator_run_by_run(duck: Duck, dialect: SqlDialect, case: Any) -> None:
    data, runs, as_of, zone, rule = case
    tree = checked(rule)
    expected = evaluated_matches(data, runs, tree, as_of, zone)
    assert batch_matches(duck, data, runs, tree, as_of, dialect, zone) == expected, rule


def test_a_batch_table_with_plain_timestamp_columns_holds_utc_times(duck: Duck) -> None:
    # The brief's batch table: ``journey_since TIMESTAMP`` (UTC, no zone); the adapter's session is UTC.
    data = _data(profiles=_profiles("a"), events=_events(("a", "login", T0 + timedelta(hours=3), None)))
    duck.fill(data)
    duck.con.execute('CREATE OR REPLACE TEMP TABLE "plain_runs" (run_id VARCHAR, profile_id VARCHAR, '
                     "journey_since TIMESTAMP, node_since TIMESTAMP)")
    at = (T0 + timedelta(hours=3)).replace(tzinfo=None)
    duck.con.executemany('INSERT INTO "plain_runs" VALUES (?, ?, ?, ?)',
                         [["at", "a", at, at], ["after", "a", at + timedelta(seconds=1), at]])
    sql = compile_batch(checked({"event": "login", "within": "journey"}), as_of=AS_OF, batch_table="plain_runs")
    assert {r[0] for r in duck.con.execute(sql).fetchall()} == {"at"}
