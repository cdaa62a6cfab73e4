"""Rate limits per API key: a token bucket per key id, in the server process.

Each key has a bucket of *burst* tokens (by default one second's worth of its rate, at least
one), refilled continuously at its rate (requests per second: the key's own ``rate_limit``,
else the limiter's default). A request costing *cost* tokens is allowed when the bucket
holds that many, and takes them; otherwise it takes nothing and is told how long until it
would be allowed (its ``Retry-After``)::

    >>> t = [0.0]
    >>> limiter = RateLimiter(default_rate=2.0, clock=lambda: t[0])
    >>> limiter.take(1), limiter.take(1), limiter.take(1)   # a burst of 2, then 0.5 s to wait
    (0.0, 0.0, 0.5)
    >>> t[0] = 0.5
    >>> limiter.take(1)
    0.0

The limits are **per key and per server process**: N API processes behind a balancer let a
key make up to N times its rate. That is deliberate for now — a shared counter (the state
store, Redis) would put a network round trip on every tracking call — and the defaults are
set with it in mind: :data:`DEFAULT_WRITE_RATE` (2000/s: a busy site's browsers share one
write key) and :data:`DEFAULT_SECRET_RATE` (50/s: management calls from a server).

A request costing more than the whole bucket (a batch larger than the burst) counts as
the burst: it waits for a full bucket and empties it, so every request is eventually
allowed and ``retry_after`` is always finite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from segflow.errors import AccessError

if TYPE_CHECKING:
    from segflow.access.keys import KeyInfo

__all__ = ["DEFAULT_SECRET_RATE", "DEFAULT_WRITE_RATE", "RateLimiter"]

#: Requests per second of a write key (tracking) without a rate of its own, per server process.
DEFAULT_WRITE_RATE = 2000.0
#: Requests per second of a secret key (management) without a rate of its own, per server process.
DEFAULT_SECRET_RATE = 50.0

#: Float slack when comparing tokens with a cost: refills summed over many requests carry
#: rounding error of ~1e-12, which must not turn an exactly-full bucket into a refusal.
_EPSILON = 1e-9


class RateLimiter:
    """Token buckets by key id (thread-safe); *clock* gives seconds (``time.monotonic``)."""

    def __init__(self, *, default_rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not default_rate > 0:
            raise ValueError(f"default_rate must be positive, not {default_rate}")
        if burst is not None and not burst > 0:
            raise ValueError(f"burst must be positive, not {burst}")
        self.default_rate = float(default_rate)
        self.burst = burst
        self.clock = clock
        self._lock = threading.Lock()
        #: key id → (tokens, time they were counted)
        self._buckets: dict[int, tuple[float, float]] = {}

    def capacity(self, rate: float) -> float:
        """The bucket size for a key of *rate*: the burst, else one second's worth (at least 1)."""
        return float(self.burst) if self.burst is not None else max(rate, 1.0)

    def take(self, key_id: int, *, rate: float | None = None, cost: float = 1.0) -> float:
        """0.0 when key *key_id* may make a request of *cost* now (its tokens are taken), else
        the seconds until it may (nothing is taken). *rate*: the key's own requests per second
        (None: the default)."""
        per_second = self.default_rate if rate is None else float(rate)
        if not per_second > 0:
            raise ValueError(f"rate must be positive, not {rate}")
        size = self.capacity(per_second)
        need = min(float(cost), size)
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key_id, (size, now))
            tokens = min(size, tokens + max(0.0, now - then) * per_second)
            if tokens + _EPSILON >= need:
                self._buckets[key_id] = (tokens - need, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (need - tokens) / per_second

    def enforce(self, info: KeyInfo, *, cost: float = 1.0) -> None:
        """:meth:`take` for *info* (its own ``rate_limit``, else the default), raising
        :class:`~segflow.errors.AccessError` ``rate_limited`` with ``retry_after`` when refused."""
        wait = self.take(info.id, rate=info.rate_limit, cost=cost)
        if wait > 0:
            rate = self.default_rate if info.rate_limit is None else info.rate_limit
            raise AccessError(f"API key {info.label} is over its rate limit of {rate:g} requests/s; "
                              f"retry in {wait:.3g} s", code="rate_limited", retry_after=wait)

    def forget(self, key_id: int) -> None:
        """Drop *key_id*'s bucket (a revoked key's; it starts full if seen again)."""
        with self._lock:
            self._buckets.pop(key_id, None)
