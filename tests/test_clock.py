"""segflow.clock: UTC normalisation and the "as of" every service defaults to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from segflow.clock import FixedClock, SystemClock, as_utc, at_or_now, now, utc

T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FIXED = FixedClock(datetime(2026, 1, 1))


@pytest.mark.parametrize("value", [
    datetime(2026, 3, 1, 8, 0),
    datetime(2026, 3, 1, 16, 0, tzinfo=timezone(timedelta(hours=8))),
    T,
], ids=["naive-is-utc", "offset", "utc"])
def test_utc_gives_the_same_instant_in_utc(value: datetime) -> None:
    assert utc(value) == T and utc(value).tzinfo is UTC
    assert as_utc(value) == T


def test_none_is_now_for_utc_and_stays_none_for_as_utc() -> None:
    before = datetime.now(UTC)
    assert before <= utc(None) <= datetime.now(UTC)
    assert before <= now() <= SystemClock().now() <= datetime.now(UTC)
    assert as_utc(None) is None


def test_at_or_now_takes_the_time_given_else_the_clock_s() -> None:
    assert at_or_now(datetime(2026, 3, 1, 8, 0), FIXED) == T
    assert at_or_now(None, FIXED) == datetime(2026, 1, 1, tzinfo=UTC)
    assert at_or_now(None, FIXED).tzinfo is UTC
