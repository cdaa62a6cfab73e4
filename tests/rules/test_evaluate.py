"""The single-profile evaluator: every leaf and operator of spec/rules.md, exact truth values.

T is 2026-03-01 12:00 UTC unless a test says otherwise. ``run`` also checks that explain
reaches the same value as evaluate for every case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from test_evaluate_support import T0, UTC, ago, checked, ev, item, order, profile, run

from segflow.rules.errors import RuleError
from segflow.rules.evaluate import evaluate, property_text, property_value, sample_bucket
from segflow.rules.parse import parse_rule
from segflow.rules.profile_data import ProfileData
from segflow.schema.types import AttributeType as T

US = timedelta(microseconds=1)


def noon(day: str) -> datetime:
    """12:00 UTC on an ISO date."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def cases(*rows: tuple[Any, ...]) -> Any:
    """Parametrize rows whose first item is the rule: the rule text is the test id."""
    return [pytest.param(*row, id=str(row[0])) for row in rows]


# -- combinators and the universe ---------------------------------------------------------


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{all: []}", True),
        ("{all: [{attr: city, eq: A}, {attr: age, gte: 18}]}", True),
        ("{all: [{attr: city, eq: A}, {attr: age, gte: 40}]}", False),
        ("{any: [{attr: city, eq: B}, {attr: age, gte: 40}]}", False),
        ("{any: [{attr: city, eq: B}, {attr: age, gte: 18}]}", True),
        ("{not: {attr: city, eq: A}}", False),
        ("{not: {not: {attr: city, eq: A}}}", True),
        ("{not: {all: []}}", False),
        ("{any: [{all: []}, {attr: city, eq: B}]}", True),
        ("{all: [{any: [{attr: city, eq: B}, {not: {attr: age, lt: 18}}]}, {attr: city, ne: B}]}", True),
    ),
)
def test_combinators(rule: str, expected: bool) -> None:
    assert run(rule, profile(city="A", age=30)) is expected


@pytest.mark.parametrize(
    "created_at, expected",
    [
        pytest.param(None, True, id="unknown-exists"),
        pytest.param(ago(1), True, id="before-T"),
        pytest.param(T0, True, id="exactly-T"),
        pytest.param(T0 + US, False, id="after-T"),
    ],
)
def test_profiles_created_after_T_are_outside_the_universe(created_at: datetime | None, expected: bool) -> None:
    data = profile(created_at=created_at)
    assert run("{all: []}", data) is expected
    assert run("{not: {attr: city, eq: X}}", data) is expected
    assert run("{not: {all: [{attr: city, eq: X}]}}", data) is expected


def test_a_naive_as_of_is_utc() -> None:
    data = profile(last_login=T0)
    tree = checked("{attr: last_login, within: 1h}")
    assert evaluate(tree, data, as_of=T0.replace(tzinfo=None)) is True
    assert evaluate(tree, data, as_of=(T0 - US).replace(tzinfo=None)) is False


def test_only_checked_trees_run() -> None:
    with pytest.raises(RuleError) as info:
        evaluate(parse_rule(yaml.safe_load("{all: [{attr: city, eq: A}]}")), profile(), as_of=T0)
    assert (info.value.code, info.value.path) == ("unchecked_rule", "all[0].eq")
    assert str(info.value) == "all[0].eq: the rule was not checked (run check_rule first)"


# -- attributes -----------------------------------------------------------------------------

STRING_CASES = cases(
    # rule, city = "Beijing", city missing
    ("{attr: city, eq: Beijing}", True, False),
    ("{attr: city, eq: beijing}", False, False),
    ("{attr: city, ne: Beijing}", False, True),
    ("{attr: city, ne: Shanghai}", True, True),
    ("{attr: city, in: [Beijing, Shanghai]}", True, False),
    ("{attr: city, not_in: [Beijing, Shanghai]}", False, True),
    ("{attr: city, not_in: [Shanghai]}", True, True),
    ("{attr: city, contains: jin}", True, False),
    ("{attr: city, contains: ''}", True, False),
    ("{attr: city, not_contains: jin}", False, True),
    ("{attr: city, not_contains: JIN}", True, True),
    ("{attr: city, starts_with: Bei}", True, False),
    ("{attr: city, starts_with: jing}", False, False),
    ("{attr: city, ends_with: jing}", True, False),
    ("{attr: city, is_null: true}", False, True),
    ("{attr: city, is_null: false}", True, False),
    ("{attr: city, gt: Aaa}", True, False),
    ("{attr: city, lt: Beijinh}", True, False),
    ("{attr: city, gte: Beijing, lte: Beijing}", True, False),
    ("{attr: city, between: [B, C]}", True, False),
    ("{attr: city, between: [a, b]}", False, False),
)


@pytest.mark.parametrize("rule, when_set, when_missing", STRING_CASES)
def test_text_attribute(rule: str, when_set: bool, when_missing: bool) -> None:
    assert run(rule, profile(city="Beijing")) is when_set
    assert run(rule, profile()) is when_missing
    assert run(rule, profile(city=None)) is when_missing


@pytest.mark.parametrize(
    "rule, value, expected",
    cases(
        ("{attr: city, eq: 北京}", "北京", True),
        ("{attr: city, in: [上海, 北京]}", "北京", True),
        ("{attr: city, ne: 北京}", "北京市", True),
        ("{attr: city, starts_with: 北}", "北京", True),
        ("{attr: city, contains: 京}", "北京", True),
        ("{attr: city, gt: 上海}", "北京", True),  # code point order: 北 U+5317 > 上 U+4E0A
        ("{attr: city, starts_with: Мос}", "Москва", True),
        ("{attr: nickname, ends_with: 💄}", "口红 💄", True),
        ("{attr: nickname, contains: 红 💄}", "口红 💄", True),
        ("{attr: nickname, eq: \u00e9}", "e\u0301", False),  # e + combining accent is not \u00e9: no normalisation
    ),
)
def test_unicode_text(rule: str, value: str, expected: bool) -> None:
    attr = "nickname" if "nickname" in rule else "city"
    assert run(rule, profile(**{attr: value})) is expected


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{attr: age, eq: 25}", True),
        ("{attr: age, ne: 25}", False),
        ("{attr: age, gt: 25}", False),
        ("{attr: age, gte: 25}", True),
        ("{attr: age, lt: 26}", True),
        ("{attr: age, lte: 24}", False),
        ("{attr: age, between: [25, 30]}", True),
        ("{attr: age, between: [20, 25]}", True),
        ("{attr: age, between: [22, 24]}", False),
        ("{attr: age, in: [20, 25]}", True),
        ("{attr: age, not_in: [20, 25]}", False),
        ("{attr: age, gte: 22, lte: 28}", True),
        ("{attr: age, gte: 26, lte: 28}", False),
        ("{attr: score, gte: 0.3}", True),
        ("{attr: score, eq: 0.3}", True),
        ("{attr: score, gt: 0.3}", False),
        ("{attr: score, gt: 0}", True),
        ("{attr: balance, eq: 10.1}", True),
        ("{attr: balance, eq: 10.10}", True),
        ("{attr: balance, gt: 10.0999}", True),
        ("{attr: balance, lt: 10.1}", False),
        ("{attr: balance, between: [10.1, 10.1]}", True),
        ("{attr: vip, eq: true}", True),
        ("{attr: vip, eq: false}", False),
        ("{attr: vip, ne: true}", False),
        ("{attr: vip, is_null: false}", True),
    ),
)
def test_numbers_decimals_and_booleans(rule: str, expected: bool) -> None:
    assert run(rule, profile(age=25, score=0.3, balance=Decimal("10.1000"), vip=True)) is expected


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{attr: age, gte: 0}", False),
        ("{attr: age, lt: 100}", False),
        ("{attr: age, between: [0, 200]}", False),
        ("{attr: age, ne: 25}", True),
        ("{attr: age, not_in: [1, 2]}", True),
        ("{attr: balance, gte: 0}", False),
        ("{attr: balance, ne: 0}", True),
        ("{attr: vip, eq: false}", False),
        ("{attr: vip, ne: true}", True),
        ("{attr: vip, ne: false}", True),
        ("{attr: vip, is_null: true}", True),
    ),
)
def test_missing_numbers_fail_every_test_but_the_negative_ones(rule: str, expected: bool) -> None:
    assert run(rule, profile(age=None, balance=None)) is expected


def test_decimal_attributes_compare_exactly() -> None:
    data = profile(balance=Decimal("0.3000"))
    assert run("{attr: balance, eq: 0.3}", data) is True
    assert run("{attr: balance, gt: 0.2999}", data) is True
    assert run("{attr: balance, lt: 0.3001}", data) is True
    assert run("{attr: balance, gte: 0.3001}", data) is False


@pytest.mark.parametrize(
    "rule, interests, expected",
    cases(
        ("{attr: interests, contains: beauty}", ["beauty", "美妆"], True),
        ("{attr: interests, contains: 美妆}", ["beauty", "美妆"], True),
        ("{attr: interests, contains: beau}", ["beauty", "美妆"], False),  # membership, not substring
        ("{attr: interests, not_contains: beauty}", ["beauty", "美妆"], False),
        ("{attr: interests, not_contains: sports}", ["beauty", "美妆"], True),
        ("{attr: interests, is_null: false}", ["beauty", "美妆"], True),
        ("{attr: interests, contains: beauty}", [], False),
        ("{attr: interests, not_contains: beauty}", [], True),
        ("{attr: interests, is_null: false}", [], True),  # an empty list is a value
        ("{attr: interests, contains: beauty}", None, False),
        ("{attr: interests, not_contains: beauty}", None, True),
        ("{attr: interests, is_null: true}", None, True),
    ),
)
def test_list_attributes(rule: str, interests: list[str] | None, expected: bool) -> None:
    assert run(rule, profile(interests=interests)) is expected


ACCOUNT = {"account_id": "A1", "industry": "finance", "employees": 250, "annual_revenue": 1.5e6, "tags": ["saas"]}


@pytest.mark.parametrize(
    "rule, with_account, without_account",
    cases(
        ("{attr: account.industry, eq: finance}", True, False),
        ("{attr: account.industry, ne: finance}", False, True),
        ("{attr: account.industry, in: [finance, retail]}", True, False),
        ("{attr: account.industry, not_in: [retail]}", True, True),
        ("{attr: account.industry, starts_with: fin}", True, False),
        ("{attr: account.industry, is_null: true}", False, True),
        ("{attr: account.employees, between: [100, 500]}", True, False),
        ("{attr: account.employees, gt: 250}", False, False),
        ("{attr: account.annual_revenue, gte: 1000000}", True, False),
        ("{attr: account.tags, contains: saas}", True, False),
        ("{attr: account.tags, not_contains: saas}", False, True),
        ("{all: [{attr: account.industry, eq: finance}, {attr: city, eq: Shanghai}]}", True, False),
    ),
)
def test_account_attributes(rule: str, with_account: bool, without_account: bool) -> None:
    linked = ProfileData(profile={"profile_id": "p1", "account_id": "A1", "city": "Shanghai"}, account=dict(ACCOUNT))
    unlinked = ProfileData(profile={"profile_id": "p1", "account_id": None, "city": "Shanghai"})
    dangling = ProfileData(profile={"profile_id": "p1", "account_id": "A404", "city": "Shanghai"}, account=None)
    assert run(rule, linked) is with_account
    assert run(rule, unlinked) is without_account
    assert run(rule, dangling) is without_account


def test_an_account_without_the_value_is_like_no_account() -> None:
    data = ProfileData(profile={"profile_id": "p1", "account_id": "A1"}, account={"account_id": "A1", "industry": None})
    assert run("{attr: account.industry, eq: finance}", data) is False
    assert run("{attr: account.industry, ne: finance}", data) is True


# -- dates and timestamps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, day, expected",
    cases(
        # within 30d on a DATE: D - 30 < v <= D, D = 2026-03-01 (T's date in UTC)
        ("{attr: joined_on, within: 30d}", "2026-03-01", True),
        ("{attr: joined_on, within: 30d}", "2026-01-31", True),
        ("{attr: joined_on, within: 30d}", "2026-01-30", False),
        ("{attr: joined_on, within: 30d}", "2026-03-02", False),
        ("{attr: joined_on, within: 720h}", "2026-01-31", True),
        ("{attr: joined_on, within: 1w}", "2026-02-23", True),
        ("{attr: joined_on, within: 1w}", "2026-02-22", False),
        ("{attr: joined_on, before: 30d}", "2026-01-29", True),
        ("{attr: joined_on, before: 30d}", "2026-01-30", False),
        ("{attr: joined_on, before: 30d}", "2026-03-01", False),
        ("{attr: joined_on, gte: 2026-01-01}", "2026-01-01", True),
        ("{attr: joined_on, gte: 2026-01-01}", "2025-12-31", False),
        ("{attr: joined_on, between: [2026-01-01, 2026-01-31]}", "2026-01-31", True),
        ("{attr: joined_on, between: [2026-01-01, 2026-01-31]}", "2026-02-01", False),
        ("{attr: joined_on, eq: '2026-02-14'}", "2026-02-14", True),
        ("{attr: joined_on, lt: '2026-02-14'}", "2026-02-14", False),
    ),
)
def test_dates_by_whole_days(rule: str, day: str, expected: bool) -> None:
    assert run(rule, profile(joined_on=date.fromisoformat(day))) is expected


@pytest.mark.parametrize("rule", ["{attr: joined_on, within: 30d}", "{attr: joined_on, before: 30d}", "{attr: joined_on, gte: 2000-01-01}"])
def test_missing_dates_fail(rule: str) -> None:
    assert run(rule, profile(joined_on=None)) is False


@pytest.mark.parametrize(
    "rule, day, utc, shanghai",
    cases(
        # T = 2026-02-28 20:00 UTC: 2026-02-28 in UTC, 2026-03-01 04:00 in Shanghai
        ("{attr: joined_on, within: 1d}", "2026-03-01", False, True),
        ("{attr: joined_on, within: 1d}", "2026-02-28", True, False),
        ("{attr: joined_on, before: 1d}", "2026-02-27", False, True),
    ),
)
def test_dates_use_T_s_calendar_date_in_the_workspace_zone(rule: str, day: str, utc: bool, shanghai: bool) -> None:
    at = datetime(2026, 2, 28, 20, 0, tzinfo=UTC)
    data = profile(joined_on=date.fromisoformat(day))
    assert run(rule, data, as_of=at) is utc
    assert run(rule, data, as_of=at, tz="Asia/Shanghai") is shanghai


@pytest.mark.parametrize(
    "rule, login, expected",
    cases(
        # within 7d: T - 7d < v <= T
        ("{attr: last_login, within: 7d}", T0 - timedelta(days=7), False),
        ("{attr: last_login, within: 7d}", T0 - timedelta(days=7) + US, True),
        ("{attr: last_login, within: 7d}", T0, True),
        ("{attr: last_login, within: 7d}", T0 + US, False),
        ("{attr: last_login, within: 1w}", T0 - timedelta(days=7), False),
        ("{attr: last_login, within: 90min}", T0 - timedelta(minutes=90), False),
        ("{attr: last_login, within: 90min}", T0 - timedelta(minutes=89), True),
        ("{attr: last_login, within: 12h}", T0 - timedelta(hours=12) + US, True),
        # before 7d: v < T - 7d
        ("{attr: last_login, before: 7d}", T0 - timedelta(days=7), False),
        ("{attr: last_login, before: 7d}", T0 - timedelta(days=7) - US, True),
        ("{attr: last_login, before: 7d}", T0 + timedelta(days=30), False),
        # absolute bounds, any spelling of the instant
        ("{attr: last_login, gte: '2026-01-01T00:00:00Z'}", datetime(2026, 1, 1, tzinfo=UTC), True),
        ("{attr: last_login, gte: '2026-01-01T00:00:00Z'}", datetime(2026, 1, 1, tzinfo=UTC) - US, False),
        ("{attr: last_login, gte: 2026-01-01}", datetime(2026, 1, 1, tzinfo=UTC), True),
        ("{attr: last_login, eq: '2026-03-01T20:00:00+08:00'}", T0, True),
        ("{attr: last_login, lt: '2026-03-01T20:00:00+08:00'}", T0, False),
        ("{attr: last_login, between: ['2026-03-01T00:00:00Z', '2026-03-01T12:00:00Z']}", T0, True),
        ("{attr: last_login, is_null: true}", None, True),
        ("{attr: last_login, within: 7d}", None, False),
        ("{attr: last_login, before: 7d}", None, False),
    ),
)
def test_timestamps(rule: str, login: datetime | None, expected: bool) -> None:
    assert run(rule, profile(last_login=login)) is expected


@pytest.mark.parametrize(
    "birthday, today, duration, expected",
    [
        # Feb 29 birthdays: Feb 28 in other years, Feb 29 in leap years
        pytest.param("2000-02-29", "2027-02-28", "1d", True, id="feb29-on-feb28-nonleap"),
        pytest.param("2000-02-29", "2027-02-27", "1d", True, id="feb29-1-day-before-nonleap"),
        pytest.param("2000-02-29", "2027-02-26", "1d", False, id="feb29-2-days-before-nonleap"),
        pytest.param("2000-02-29", "2027-03-01", "7d", False, id="feb29-just-passed-nonleap"),
        pytest.param("2000-02-29", "2027-03-01", "365d", True, id="feb29-next-in-leap-2028"),
        pytest.param("2000-02-29", "2028-02-28", "1d", True, id="feb29-1-day-before-leap"),
        pytest.param("2000-02-29", "2028-02-29", "1d", True, id="feb29-today-leap"),
        pytest.param("2000-02-29", "2028-02-22", "7d", True, id="feb29-7-days-leap"),
        pytest.param("2000-02-29", "2028-02-21", "7d", False, id="feb29-8-days-leap"),
        pytest.param("1991-02-28", "2028-02-29", "7d", False, id="feb28-passed-on-leap-day"),
        pytest.param("1991-02-28", "2027-02-28", "1d", True, id="feb28-today"),
        # across the year end
        pytest.param("1990-01-03", "2025-12-30", "7d", True, id="new-year-4-days"),
        pytest.param("1990-01-03", "2025-12-30", "3d", False, id="new-year-4-days-not-3"),
        pytest.param("1990-01-03", "2025-12-30", "4d", True, id="new-year-exactly-4"),
        pytest.param("1990-12-30", "2026-01-02", "7d", False, id="just-passed-362-days"),
        pytest.param("1990-12-31", "2025-12-31", "1d", True, id="today-is-0"),
        pytest.param("1990-03-01", "2026-03-01", "1w", True, id="weeks"),
        pytest.param("2030-03-05", "2026-03-01", "7d", True, id="a-future-date-by-month-and-day"),
        pytest.param("1990-03-09", "2026-03-01", "7d", False, id="8-days"),
        pytest.param("1990-03-08", "2026-03-01", "7d", True, id="7-days"),
    ],
)
def test_anniversary_within(birthday: str, today: str, duration: str, expected: bool) -> None:
    data = profile(birthday=date.fromisoformat(birthday))
    assert run(f"{{attr: birthday, anniversary_within: {duration}}}", data, as_of=noon(today)) is expected


def test_anniversary_of_a_missing_date_fails() -> None:
    assert run("{attr: birthday, anniversary_within: 400d}", profile(birthday=None)) is False
    assert run("{attr: birthday, anniversary_within: 400d}", profile(birthday=date(1990, 7, 7))) is True
    assert run("{attr: birthday, anniversary_month: current}", profile()) is False


def test_anniversary_within_uses_the_workspace_zone() -> None:
    # 2026-03-01 20:00 UTC is 2026-03-02 04:00 in Shanghai: the birthday was yesterday there.
    at = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    data = profile(birthday=date(2000, 3, 1))
    assert run("{attr: birthday, anniversary_within: 1d}", data, as_of=at) is True
    assert run("{attr: birthday, anniversary_within: 1d}", data, as_of=at, tz="Asia/Shanghai") is False


@pytest.mark.parametrize(
    "rule, birthday, expected",
    cases(
        ("{attr: birthday, anniversary_month: current}", "1990-03-31", True),
        ("{attr: birthday, anniversary_month: current}", "1990-04-01", False),
        ("{attr: birthday, anniversary_month: 4}", "1990-04-01", True),
        ("{attr: birthday, anniversary_month: 2}", "2000-02-29", True),
    ),
)
def test_anniversary_month(rule: str, birthday: str, expected: bool) -> None:
    assert run(rule, profile(birthday=date.fromisoformat(birthday))) is expected


def test_anniversary_month_current_is_T_s_month_in_the_workspace_zone() -> None:
    at = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # April 1st in Shanghai
    data = profile(birthday=date(1990, 4, 15))
    assert run("{attr: birthday, anniversary_month: current}", data, as_of=at) is False
    assert run("{attr: birthday, anniversary_month: current}", data, as_of=at, tz="Asia/Shanghai") is True


def test_timestamp_anniversaries_use_the_local_date() -> None:
    data = profile(last_login=datetime(2020, 3, 31, 20, 0, tzinfo=UTC))  # 2020-04-01 04:00 in Shanghai
    assert run("{attr: last_login, anniversary_month: 4}", data) is False
    assert run("{attr: last_login, anniversary_month: 4}", data, tz="Asia/Shanghai") is True
    at = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert run("{attr: last_login, anniversary_within: 1d}", data, as_of=at) is True  # today in UTC
    assert run("{attr: last_login, anniversary_within: 1d}", data, as_of=at, tz="Asia/Shanghai") is True  # tomorrow


# -- tags, traits, segments, memberships, subscriptions, samples ---------------------------------


def tag(name: str, value: str | None = None, assigned_at: datetime | None = None, expires_at: datetime | None = None) -> dict[str, Any]:
    return {"tag": name, "value": value, "source": "test", "assigned_at": assigned_at, "expires_at": expires_at}


@pytest.mark.parametrize(
    "row, expected",
    [
        pytest.param(tag("vip", assigned_at=ago(1)), True, id="assigned"),
        pytest.param(tag("vip", assigned_at=T0), True, id="assigned-at-T"),
        pytest.param(tag("vip", assigned_at=T0 + US), False, id="assigned-after-T"),
        pytest.param(tag("vip"), True, id="assigned-unknown"),
        pytest.param(tag("vip", expires_at=T0), False, id="expires-at-T"),
        pytest.param(tag("vip", expires_at=T0 + US), True, id="expires-after-T"),
        pytest.param(tag("vip", assigned_at=ago(10), expires_at=ago(1)), False, id="expired"),
        pytest.param(tag("loyalty/gold"), False, id="another-tag"),
        pytest.param(None, False, id="none"),
    ],
)
def test_tag(row: dict[str, Any] | None, expected: bool) -> None:
    data = profile()
    data.tags = [row] if row else []
    assert run("{tag: vip}", data) is expected
    assert run("{not: {tag: vip}}", data) is not expected


def test_hierarchical_tag_names_match_exactly() -> None:
    data = profile()
    data.tags = [tag("loyalty/gold")]
    assert run("{tag: loyalty/gold}", data) is True
    assert run("{tag: vip}", data) is False


@pytest.mark.parametrize(
    "rule, high, none, null, two",
    cases(
        # rule, value high_value, no tag, tag with null value, two active values (a, b)
        ("{tag: rfm_tier, eq: high_value}", True, False, False, False),
        ("{tag: rfm_tier, ne: high_value}", False, True, True, True),
        ("{tag: rfm_tier, ne: low}", True, True, True, True),
        ("{tag: rfm_tier, in: [high_value, mid]}", True, False, False, False),
        ("{tag: rfm_tier, not_in: [high_value, mid]}", False, True, True, True),
        ("{tag: rfm_tier, starts_with: high}", True, False, False, False),
        ("{tag: rfm_tier, is_null: true}", False, True, True, False),
        ("{tag: rfm_tier, is_null: false}", True, False, False, True),
        ("{tag: rfm_tier}", True, False, True, True),
        ("{tag: rfm_tier, eq: a}", False, False, False, True),
        ("{tag: rfm_tier, ne: a}", True, True, True, False),
        ("{tag: rfm_tier, eq: a, ne: b}", False, False, False, False),
        ("{tag: rfm_tier, in: [a, b], ne: c}", False, False, False, True),
        ("{tag: rfm_tier, eq: a, starts_with: b}", False, False, False, False),  # together on one value
    ),
)
def test_valued_tag(rule: str, high: bool, none: bool, null: bool, two: bool) -> None:
    def with_tags(*rows: dict[str, Any]) -> ProfileData:
        data = profile()
        data.tags = [*rows, tag("rfm_tier", "expired", assigned_at=ago(30), expires_at=ago(1))]
        return data

    assert run(rule, with_tags(tag("rfm_tier", "high_value"))) is high
    assert run(rule, with_tags()) is none
    assert run(rule, with_tags(tag("rfm_tier", None))) is null
    assert run(rule, with_tags(tag("rfm_tier", "a"), tag("rfm_tier", "b"))) is two


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{trait: email_open_rate_90d, gte: 0.3}", True),
        ("{trait: email_open_rate_90d, lt: 0.3}", False),
        ("{trait: favorite_category, eq: beauty}", True),
        ("{trait: favorite_category, in: [美妆, beauty]}", True),
        ("{trait: orders_365d, gte: 1}", False),
        ("{trait: orders_365d, ne: 1}", True),
        ("{trait: orders_365d, is_null: true}", True),
        ("{trait: last_seen, within: 7d}", True),
        ("{trait: last_seen, before: 1d}", True),
    ),
)
def test_traits(rule: str, expected: bool) -> None:
    data = profile()
    data.traits = {"email_open_rate_90d": 0.42, "favorite_category": "beauty", "orders_365d": None, "last_seen": ago(3)}
    assert run(rule, data) is expected


def test_traits_of_a_profile_without_a_traits_row_are_missing() -> None:
    assert run("{trait: orders_365d, gte: 0}", profile()) is False
    assert run("{trait: orders_365d, ne: 0}", profile()) is True


def test_segment() -> None:
    data = profile()
    data.segments = {"high_value"}
    assert run("{segment: high_value}", data) is True
    assert run("{segment: churned}", data) is False
    assert run("{not: {segment: churned}}", data) is True


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{member_of: {kind: wecom_group, key: G1}}", True),
        ("{member_of: {kind: wecom_group, key: G2}}", False),
        ("{member_of: {kind: wecom_group}}", True),
        ("{member_of: wechat_oa}", True),  # since unknown
        ("{member_of: {kind: wecom_customer}}", False),  # since after T
        ("{member_of: {kind: crm_owner}}", False),
        ("{member_of: {kind: WeCom_Group, key: G1}}", True),  # kinds are lower-case
    ),
)
def test_member_of(rule: str, expected: bool) -> None:
    data = profile()
    data.memberships = [
        {"kind": "wecom_group", "key": "G1", "since": ago(10), "attrs": {}},
        {"kind": "wechat_oa", "key": "OA1", "since": None, "attrs": {}},
        {"kind": "wecom_customer", "key": "E7", "since": T0 + timedelta(hours=1), "attrs": {}},
    ]
    assert run(rule, data) is expected


def sub(channel: str, status: str = "opted_in", topic: str = "", ts: datetime | None = None) -> dict[str, Any]:
    return {"channel": channel, "status": status, "topic": topic, "ts": ts, "source": "test"}


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{subscribed: email}", True),
        ("{subscribed: sms}", False),  # opted in, but no phone
        ("{subscribed: push}", True),  # any topic
        ("{subscribed: {channel: push, topic: news}}", True),
        ("{subscribed: {channel: push, topic: promo}}", False),
        ("{subscribed: wechat}", False),  # opted out
        ("{subscribed: {channel: email, topic: news}}", False),
        ("{subscribed: Email}", True),
    ),
)
def test_subscribed(rule: str, expected: bool) -> None:
    data = profile(email="a@example.com", phone=None)
    data.subscriptions = [
        sub("email", ts=ago(5)),
        sub("sms", ts=ago(5)),
        sub("push", topic="news"),
        sub("wechat", status="opted_out", ts=ago(1)),
    ]
    assert run(rule, data) is expected


def test_subscribed_needs_the_address_and_an_opt_in_stamped_by_T() -> None:
    data = profile(email=None, phone="+8613800000000")
    data.subscriptions = [sub("email", ts=ago(5)), sub("sms", ts=T0 + US)]
    assert run("{subscribed: email}", data) is False  # no address
    assert run("{subscribed: sms}", data) is False  # opted in after T
    data.subscriptions = [sub("sms", ts=T0)]
    assert run("{subscribed: sms}", data) is True
    data.subscriptions = [sub("sms", status="bounced", ts=ago(1))]
    assert run("{subscribed: sms}", data) is False


def test_sample_bucket_is_md5_of_id_and_salt() -> None:
    # int("a44e0545", 16) / 2**32, md5("p1:spring_test") = a44e0545...
    assert sample_bucket("p1", "spring_test") == 0xA44E0545 / 2**32 == 0.6418154996354133
    assert sample_bucket("p2", "spring_test") == 0x5C730DCC / 2**32
    assert sample_bucket("用户7", "spring_test") == 0x9D39FAD1 / 2**32  # the UTF-8 bytes


@pytest.mark.parametrize(
    "profile_id, fraction, expected",
    [
        pytest.param("p1", 0.5, False, id="p1-0.6418-out"),
        pytest.param("p2", 0.5, True, id="p2-0.3611-in"),
        pytest.param("p3", 0.2, True, id="p3-0.1936-in"),
        pytest.param("p3", 0.1, False, id="p3-0.1936-out"),
        pytest.param("p1", 1, True, id="all"),
        pytest.param("p2", 0x5C730DCC / 2**32, False, id="at-the-bucket-is-out"),
        pytest.param("p2", (0x5C730DCC + 1) / 2**32, True, id="just-above-is-in"),
    ],
)
def test_sample(profile_id: str, fraction: float, expected: bool) -> None:
    assert run(f"{{sample: {fraction!r}, salt: spring_test}}", profile(profile_id)) is expected


def test_sample_is_a_stable_share() -> None:
    ids = [f"p{i}" for i in range(4000)]
    tenth = {i for i in ids if evaluate(checked("{sample: 0.1, salt: a}"), profile(i), as_of=T0)}
    assert 340 < len(tenth) < 460
    other = {i for i in ids if evaluate(checked("{sample: 0.1, salt: b}"), profile(i), as_of=T0)}
    assert len(tenth & other) < 80  # another salt, another draw
    again = {i for i in ids if evaluate(checked("{sample: 0.1, salt: a}"), profile(i), as_of=T0 + timedelta(days=99))}
    assert again == tenth


# -- events ---------------------------------------------------------------------------------------


def with_events(*events: dict[str, Any], **attrs: Any) -> ProfileData:
    data = profile(**attrs)
    data.events = list(events)
    return data


@pytest.mark.parametrize(
    "ts, expected",
    [
        pytest.param(T0 - timedelta(days=7), False, id="exactly-T-7d-excluded"),
        pytest.param(T0 - timedelta(days=7) + US, True, id="just-inside"),
        pytest.param(T0, True, id="exactly-T-included"),
        pytest.param(T0 + US, False, id="after-T-ignored"),
    ],
)
def test_event_window_boundaries(ts: datetime, expected: bool) -> None:
    data = with_events(ev("add_to_cart", ts))
    assert run("{event: add_to_cart, within: 7d}", data) is expected
    assert run("{event: add_to_cart, within: 7d, count: {eq: 0}}", data) is not expected


def test_event_without_window_is_all_history_up_to_T() -> None:
    assert run("{event: add_to_cart}", with_events(ev("add_to_cart", datetime(2001, 1, 1, tzinfo=UTC)))) is True
    assert run("{event: add_to_cart}", with_events(ev("add_to_cart", T0 + timedelta(days=1)))) is False
    assert run("{event: add_to_cart}", with_events()) is False
    assert run("{not: {event: add_to_cart}}", with_events()) is True
    assert run("{event: add_to_cart, count: {eq: 0}}", with_events()) is True


@pytest.mark.parametrize(
    "ts, expected",
    [
        pytest.param(datetime(2026, 2, 1, tzinfo=UTC), True, id="start-included"),
        pytest.param(datetime(2026, 2, 1, tzinfo=UTC) - US, False, id="before-start"),
        pytest.param(datetime(2026, 2, 10, 23, 59, 59, tzinfo=UTC), True, id="end-included"),
        pytest.param(datetime(2026, 2, 11, tzinfo=UTC), False, id="after-end"),
    ],
)
def test_event_between_is_inclusive(ts: datetime, expected: bool) -> None:
    rule = "{event: login, between: ['2026-02-01', '2026-02-10T23:59:59Z']}"
    assert run(rule, with_events(ev("login", ts))) is expected


def test_event_between_never_reaches_past_T() -> None:
    rule = "{event: login, between: [2026-02-01, 2026-12-31]}"
    assert run(rule, with_events(ev("login", T0 + US))) is False
    assert run(rule, with_events(ev("login", T0))) is True


def test_event_names() -> None:
    data = with_events(ev("checkout", ago(1)))
    assert run("{event: [add_to_cart, checkout]}", data) is True
    assert run("{event: add_to_cart}", data) is False
    assert run("{event: Checkout}", data) is False


PROPS = dict(
    category="beauty", price=100, sku=123, is_new=True, brand="兰蔻", note=None, tags=["a", "b"], big=1e20, flag="false"
)


@pytest.mark.parametrize(
    "where, expected",
    cases(
        ("{category: beauty}", True),
        ("{category: Beauty}", False),
        ("{category: [beauty, fashion]}", True),
        ("{category: {ne: beauty}}", False),
        ("{category: {not_in: [beauty]}}", False),
        ("{category: {contains: eau}}", True),
        ("{category: {is_null: false}}", True),
        ("{price: {gte: 100}}", True),
        ("{price: {gt: 100}}", False),
        ("{price: 100}", True),
        ("{price: 100.0}", True),
        ("{price: {ne: 100}}", False),
        ("{price: {between: [50, 150]}}", True),
        ("{price: [99, 100]}", True),
        ("{price: '100'}", True),  # text test: the number's text
        ("{sku: '123'}", True),
        ("{sku: 123}", True),
        ("{is_new: true}", True),
        ("{is_new: false}", False),
        ("{is_new: 'true'}", True),  # as text
        ("{is_new: 1}", False),  # true is not a number
        ("{flag: false}", True),  # the string "false" reads as a boolean
        ("{brand: 兰蔻}", True),
        ("{brand: {starts_with: 兰}}", True),
        ("{tags: '[\"a\",\"b\"]'}", True),  # nested values as compact JSON text
        ("{big: '100000000000000000000.0'}", True),  # a number's text as the warehouse reads it
        ("{big: {gte: 1.0e+20}}", True),  # (YAML 1.1 reads 1e20 as text)
        ("{category: {gte: 1}}", False),  # a number test on text: missing
        ("{category: {ne: 1}}", True),  # ...whose complement passes
        ("{missing: x}", False),
        ("{missing: {ne: x}}", True),
        ("{missing: {not_contains: x}}", True),
        ("{missing: {is_null: true}}", True),
        ("{note: {is_null: true}}", True),  # JSON null
        ("{note: {ne: x}}", True),
        ("{category: beauty, price: {gte: 200}}", False),
        ("{category: beauty, price: {gte: 50, lte: 100}}", True),
    ),
)
def test_event_where(where: str, expected: bool) -> None:
    data = with_events(ev("view", ago(1), **PROPS))
    assert run(f"{{event: view, where: {where}}}", data) is expected


@pytest.mark.parametrize(
    "price, expected",
    [
        pytest.param(150, True, id="int"),
        pytest.param(150.5, True, id="float"),
        pytest.param("150", True, id="numeric-text"),
        pytest.param("1.5e2", True, id="exponent-text"),
        pytest.param(".5e3", True, id="leading-dot"),
        pytest.param(" 150", False, id="padded-text"),
        pytest.param("150元", False, id="text-with-unit"),
        pytest.param("inf", False, id="inf"),
        pytest.param("0x96", False, id="hex"),
        pytest.param(True, False, id="boolean"),
        pytest.param([150], False, id="list"),
        pytest.param(None, False, id="null"),
    ],
)
def test_a_property_is_a_number_when_its_text_is_a_plain_number(price: Any, expected: bool) -> None:
    data = with_events(ev("view", ago(1), price=price))
    assert run("{event: view, where: {price: {gte: 100}}}", data) is expected
    assert run("{event: view, where: {price: {lt: 100}}}", data) is False
    assert run("{event: view, where: {price: {not_in: [150, 150.5, 500]}}}", data) is not expected


@pytest.mark.parametrize(
    "raw, text",
    [
        (1, "1"), (-0, "0"), (12345678901234567890, "12345678901234567890"), (1.5, "1.5"), (1e20, "100000000000000000000.0"),
        (1e21, "1e21"), (1e-7, "1e-7"), (1e-5, "0.00001"), (100.0, "100.0"), (-0.0, "-0.0"), (1.5e300, "1.5e300"),
        (True, "true"), ({"a": "x y", "b": [1, 2]}, '{"a":"x y","b":[1,2]}'), ("口红", "口红"), (None, None),
    ],
)
def test_property_text_is_the_warehouse_s(raw: Any, text: str | None) -> None:
    assert property_text(raw) == text


def test_property_value_by_type() -> None:
    assert property_value("12.5", T.NUMBER) == 12.5
    assert property_value("true", T.BOOLEAN) is True
    assert property_value("True", T.BOOLEAN) is None
    assert property_value(12, T.STRING) == "12"


PURCHASES = (
    ev("purchase", ago(1), price=100),
    ev("purchase", ago(2), price="50.5"),
    ev("purchase", ago(3), price="n/a"),
    ev("purchase", ago(40), price=1000),
    ev("purchase", T0 + timedelta(hours=1), price=5000),
    ev("view", ago(1), price=7),
)


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{event: purchase, within: 30d, count: {eq: 3}}", True),
        ("{event: purchase, count: {eq: 4}}", True),
        ("{event: purchase, within: 30d, count: {between: [2, 3]}}", True),
        ("{event: purchase, within: 30d, count: {gt: 3}}", False),
        ("{event: purchase, within: 30d, sum: {prop: price, eq: 150.5}}", True),
        ("{event: purchase, within: 30d, sum: {prop: price, gt: 150.5}}", False),
        ("{event: purchase, sum: {prop: price, eq: 1150.5}}", True),
        ("{event: purchase, within: 30d, avg: {prop: price, eq: 75.25}}", True),
        ("{event: purchase, within: 30d, min: {prop: price, eq: 50.5}}", True),
        ("{event: purchase, within: 30d, max: {prop: price, eq: 100}}", True),
        ("{event: purchase, max: {prop: price, eq: 1000}}", True),
        ("{event: purchase, max: {prop: price, gte: 5000}}", False),
        ("{event: purchase, where: {price: {gte: 100}}, count: {eq: 2}}", True),
        ("{event: purchase, within: 30d, sum: {prop: nothing, eq: 0}}", True),
        ("{event: purchase, within: 30d, avg: {prop: nothing, is_null: true}}", True),
        ("{event: purchase, within: 30d, avg: {prop: nothing, ne: 5}}", True),
        ("{event: purchase, within: 30d, avg: {prop: nothing, gte: 0}}", False),
        ("{event: [purchase, view], within: 30d, sum: {prop: price, eq: 157.5}}", True),
    ),
)
def test_event_aggregates(rule: str, expected: bool) -> None:
    assert run(rule, with_events(*PURCHASES)) is expected


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{event: refund, count: {eq: 0}}", True),
        ("{event: refund, count: {lt: 1}}", True),
        ("{event: refund, count: {ne: 0}}", False),
        ("{event: refund, sum: {prop: price, eq: 0}}", True),
        ("{event: refund, sum: {prop: price, lt: 1}}", True),
        ("{event: refund, sum: {prop: price, gt: 0}}", False),
        ("{event: refund, distinct_days: {eq: 0}}", True),
        # avg/min/max/first/last of nothing: missing, and every test fails, even ne/is_null
        ("{event: refund, avg: {prop: price, gte: 0}}", False),
        ("{event: refund, avg: {prop: price, ne: 5}}", False),
        ("{event: refund, avg: {prop: price, is_null: true}}", False),
        ("{event: refund, min: {prop: price, lt: 100}}", False),
        ("{event: refund, max: {prop: price, not_in: [1]}}", False),
        ("{event: refund, first: {before: 1d}}", False),
        ("{event: refund, last: {within: 9999d}}", False),
        ("{event: refund, last: {ne: '2026-01-01'}}", False),
        ("{not: {event: refund, last: {within: 30d}}}", True),
    ),
)
def test_aggregates_over_no_events(rule: str, expected: bool) -> None:
    assert run(rule, with_events(*PURCHASES)) is expected


def test_distinct_days_in_the_workspace_zone() -> None:
    # 15:00 and 17:00 UTC on Feb 27 are 23:00 on Feb 27 and 01:00 on Feb 28 in Shanghai.
    data = with_events(
        ev("login", datetime(2026, 2, 27, 15, 0, tzinfo=UTC)),
        ev("login", datetime(2026, 2, 27, 17, 0, tzinfo=UTC)),
        ev("login", T0 + timedelta(hours=1)),
    )
    assert run("{event: login, distinct_days: {eq: 1}}", data) is True
    assert run("{event: login, distinct_days: {eq: 2}}", data, tz="Asia/Shanghai") is True
    assert run("{event: login, within: 7d, distinct_days: {gte: 2}}", data) is False
    assert run("{event: login, within: 7d, distinct_days: {gte: 2}}", data, tz="Asia/Shanghai") is True


@pytest.mark.parametrize(
    "rule, times, expected",
    cases(
        ("{event: login, last: {before: 30d}}", [ago(31)], True),
        ("{event: login, last: {before: 30d}}", [ago(31), ago(29)], False),
        ("{event: login, last: {before: 30d}}", [ago(30)], False),  # not strictly before T - 30d
        ("{event: login, last: {before: 30d}}", [ago(31), T0 + US], True),  # after T ignored
        ("{event: login, last: {within: 7d}}", [ago(7)], False),
        ("{event: login, last: {within: 7d}}", [ago(90), ago(6)], True),
        ("{event: login, first: {within: 7d}}", [ago(3)], True),
        ("{event: login, first: {within: 7d}}", [ago(3), ago(10)], False),
        ("{event: login, first: {before: 7d}}", [ago(3), ago(10)], True),
        ("{event: login, first: {gte: '2026-02-20'}}", [ago(3)], True),
        ("{event: login, last: {lte: '2026-02-20'}}", [ago(3)], False),
        ("{event: login, last: {between: ['2026-02-25', '2026-02-27T12:00:00Z']}}", [ago(2)], True),
    ),
)
def test_first_and_last(rule: str, times: list[datetime], expected: bool) -> None:
    assert run(rule, with_events(*(ev("login", t) for t in times))) is expected


# -- orders ---------------------------------------------------------------------------------------


def with_orders(*orders: dict[str, Any]) -> ProfileData:
    data = profile()
    data.orders = list(orders)
    return data


SHOP = (
    order("o1", ago(10), "100.10", items=[item("A", "50.05", "beauty", quantity=2)], store="S1", points=10),
    order("o2", ago(100), "200.20", items=[item("B", "200.20", "food")], store="S2", points=5),
    order("o3", ago(5), "999", status="refunded", items=[item("C", "999", "beauty")]),
    order("o4", T0 + timedelta(days=1), "5000", items=[item("D", "5000", "beauty")]),
    order("o5", ago(1), "80", status="cancelled"),
)


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{orders: {within: 90d}}", True),
        ("{orders: {within: 7d}}", False),  # o3 refunded, o5 cancelled
        ("{orders: {within: 7d, status: refunded}}", True),
        ("{orders: {within: 7d, status: [refunded, returned]}}", True),
        ("{orders: {within: 7d, status: any}}", True),
        ("{orders: {within: 7d, status: any, count: {eq: 2}}}", True),
        ("{orders: {count: {eq: 2}}}", True),  # o4 is after T
        ("{orders: {status: any, count: {eq: 4}}}", True),
        ("{orders: {total: {eq: 300.30}}}", True),
        ("{orders: {sum: {eq: 300.3}}}", True),
        ("{orders: {avg: {eq: 150.15}}}", True),
        ("{orders: {avg: {gt: 150.15}}}", False),
        ("{orders: {min: {eq: 100.10}}}", True),
        ("{orders: {max: {eq: 200.20}}}", True),
        ("{orders: {sum: {prop: points, eq: 15}}}", True),
        ("{orders: {avg: {prop: points, eq: 7.5}}}", True),
        ("{orders: {last: {within: 30d}}}", True),
        ("{orders: {first: {before: 90d}}}", True),
        ("{orders: {first: {before: 100d}}}", False),
        ("{orders: {where: {store: S1}}}", True),
        ("{orders: {where: {store: S3}}}", False),
        ("{orders: {where: {store: {ne: S1}}, count: {eq: 1}}}", True),
        ("{orders: {where: {amount: {gte: 150}}, count: {eq: 1}}}", True),
        ("{orders: {where: {category: beauty}}}", True),
        ("{orders: {where: {category: beauty}, count: {eq: 1}}}", True),
        ("{orders: {within: 30d, where: {category: food}}}", False),
        ("{orders: {where: {category: {ne: beauty}}, count: {eq: 1}}}", True),  # o2's food item
        ("{orders: {where: {quantity: {gte: 2}}, total: {eq: 100.10}}}", True),
        ("{orders: {where: {category: beauty, price: {gte: 100}}}}", False),
        ("{orders: {status: refunded, where: {category: beauty, price: {gte: 100}}}}", True),
        ("{orders: {where: {sku: [A, B], store: S2}, total: {eq: 200.2}}}", True),
    ),
)
def test_orders(rule: str, expected: bool) -> None:
    assert run(rule, with_orders(*SHOP)) is expected


def test_an_order_matches_when_one_item_passes_every_item_filter() -> None:
    rule = "{orders: {where: {category: beauty, price: {gte: 100}}}}"
    split = order("o1", ago(1), "250", items=[item("A", "50", "beauty"), item("B", "200", "food")])
    assert run(rule, with_orders(split)) is False
    both = order("o1", ago(1), "250", items=[item("A", "50", "food"), item("B", "150", "beauty")])
    assert run(rule, with_orders(both)) is True
    bare = order("o1", ago(1), "250")
    assert run(rule, with_orders(bare)) is False
    assert run("{orders: {where: {category: {ne: beauty}}}}", with_orders(bare)) is False  # no item at all
    unnamed = order("o1", ago(1), "250", items=[item("A", "50", None)])
    assert run("{orders: {where: {category: {ne: beauty}}}}", with_orders(unnamed)) is True
    assert run("{orders: {where: {category: {is_null: true}}}}", with_orders(unnamed)) is True


def test_order_totals_are_exact_decimals() -> None:
    data = with_orders(order("o1", ago(1), "0.1"), order("o2", ago(2), "0.2"), order("o3", ago(3), "0.0001"))
    assert run("{orders: {total: {eq: 0.3001}}}", data) is True
    assert run("{orders: {avg: {eq: 0.1000333}}}", data) is False  # 0.1000333... is not 0.1000333
    assert run("{orders: {avg: {gt: 0.1000333}}}", data) is True
    assert run("{orders: {avg: {lt: 0.1000334}}}", data) is True


def test_order_averages_compare_exactly() -> None:
    # In doubles (154.55 + 649.37 + 997.4) / 3 is not 600.44; exactly it is.
    data = with_orders(order("o1", ago(1), "154.55"), order("o2", ago(2), "649.37"), order("o3", ago(3), "997.4"))
    assert run("{orders: {avg: {eq: 600.44}}}", data) is True
    assert run("{orders: {avg: {gte: 600.44}}}", data) is True


@pytest.mark.parametrize(
    "rule, expected",
    cases(
        ("{orders: {}}", False),
        ("{orders: {count: {eq: 0}}}", True),
        ("{orders: {total: {eq: 0}}}", True),
        ("{orders: {total: {lt: 100}}}", True),
        ("{orders: {avg: {gte: 0}}}", False),
        ("{orders: {avg: {ne: 0}}}", False),
        ("{orders: {max: {is_null: true}}}", False),
        ("{orders: {last: {before: 1d}}}", False),
        ("{not: {orders: {within: 90d}}}", True),
    ),
)
def test_no_orders(rule: str, expected: bool) -> None:
    assert run(rule, with_orders(order("o9", ago(1), "10", status="refunded"))) is expected


DORMANT_HIGH_VALUE = """
all:
  - not: {orders: {within: 90d}}
  - orders: {avg: {gte: 500}}
  - orders: {within: 180d, count: {gte: 2}}
"""


@pytest.mark.parametrize(
    "amounts_and_days, expected",
    [
        pytest.param([("600", 100), ("500", 150)], True, id="dormant-high-value"),
        pytest.param([("600", 100), ("500", 150), ("50", 30)], False, id="bought-recently"),
        pytest.param([("600", 100), ("399.98", 150)], False, id="average-too-low"),
        pytest.param([("600", 100), ("400", 200)], False, id="one-repeat-outside-180d"),
        pytest.param([("500", 91), ("500", 179)], True, id="average-exactly-500"),
    ],
)
def test_spec_example_dormant_high_value(amounts_and_days: list[tuple[str, int]], expected: bool) -> None:
    data = with_orders(*(order(f"o{i}", ago(days), amount) for i, (amount, days) in enumerate(amounts_and_days)))
    assert run(DORMANT_HIGH_VALUE, data) is expected


def test_an_unknown_time_zone_is_an_error() -> None:
    from segflow.errors import SegflowError

    with pytest.raises(SegflowError) as info:
        evaluate(checked("{all: []}"), profile(), as_of=T0, timezone="Mars/Olympus")
    assert (info.value.code, str(info.value)) == (
        "bad_timezone", "unknown time zone 'Mars/Olympus' (use an IANA name such as Asia/Shanghai)"
    )
