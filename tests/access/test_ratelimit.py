"""The token bucket against a plain simulation of one, in exact arithmetic, on an injected clock."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segflow.access import KeyInfo, RateLimiter
from segflow.errors import AccessError


class Oracle:
    """A bucket of *size* tokens refilled at *rate* per second; times in milliseconds, exact."""

    def __init__(self, rate: int, size: int) -> None:
        self.rate, self.size = Fraction(rate), Fraction(size)
        self.tokens, self.last = Fraction(size), None

    def request(self, ms: int, cost: int) -> Fraction:
        if self.last is not None:
            self.tokens = min(self.size, self.tokens + Fraction(ms - self.last, 1000) * self.rate)
        self.last = ms
        need = min(Fraction(cost), self.size)
        if self.tokens >= need:
            self.tokens -= need
            return Fraction(0)
        return (need - self.tokens) / self.rate


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


requests = st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 8)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(rate=st.integers(1, 20), burst=st.none() | st.integers(1, 30), steps=requests)
def test_take_matches_the_simulated_bucket(rate: int, burst: int | None, steps: list[tuple[int, int]]) -> None:
    clock = Clock()
    limiter = RateLimiter(default_rate=rate, burst=burst, clock=clock)
    oracle = Oracle(rate, burst if burst is not None else max(rate, 1))
    ms = 0
    for gap, cost in steps:
        ms += gap
        clock.t = ms / 1000
        expected = oracle.request(ms, cost)
        got = limiter.take(1, cost=cost)
        assert (got == 0.0) == (expected == 0), (ms, cost)
        assert got == pytest.approx(float(expected), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(rate=st.integers(1, 50), steps=requests)
def test_waiting_the_retry_after_is_enough(rate: int, steps: list[tuple[int, int]]) -> None:
    clock = Clock()
    limiter = RateLimiter(default_rate=rate, clock=clock)
    for gap, cost in steps:
        clock.t += gap / 1000
        wait = limiter.take(1, cost=cost)
        if wait:
            clock.t += wait
            assert limiter.take(1, cost=cost) == 0.0


def test_keys_have_their_own_buckets_and_rates() -> None:
    clock = Clock()
    limiter = RateLimiter(default_rate=1.0, clock=clock)
    assert [limiter.take(1), limiter.take(1), limiter.take(2), limiter.take(3, rate=4.0)] == [0.0, 1.0, 0.0, 0.0]
    assert [limiter.take(3, rate=4.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]


def test_enforce_raises_rate_limited_with_retry_after() -> None:
    from datetime import UTC, datetime

    info = KeyInfo(id=9, kind="secret", name="", prefix="sfs_abcdefgh", scopes=frozenset(),
                   created_at=datetime(2026, 3, 1, tzinfo=UTC), rate_limit=2.0)
    limiter = RateLimiter(default_rate=50.0, clock=Clock())
    limiter.enforce(info)
    limiter.enforce(info)
    with pytest.raises(AccessError) as caught:
        limiter.enforce(info)
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 0.5)
    assert caught.value.message == "API key sfs_abcdefgh… is over its rate limit of 2 requests/s; retry in 0.5 s"
