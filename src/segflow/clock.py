"""Time as a parameter: the clock every "now" comes from, and UTC normalisation.

Everything that depends on the current time takes a :class:`Clock` (the project
context's ``clock``), so refreshes, schedules and (later) journeys can run as of any
time and be simulated deterministically::

    >>> from datetime import datetime, UTC
    >>> fixed = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    >>> fixed.now().isoformat()
    '2026-03-01T00:00:00+00:00'
    >>> utc(datetime(2026, 3, 1, 8, 0)).isoformat()     # naive times are UTC
    '2026-03-01T08:00:00+00:00'
    >>> at_or_now(None, fixed).isoformat()              # a service's "as of": given, else the clock's now
    '2026-03-01T00:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "as_utc", "at_or_now", "future_as_of", "now", "parse_iso",
           "refuse_future", "utc"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that reads *at* until moved (tests, simulations, ``--now``)."""

    at: datetime

    def now(self) -> datetime:
        return utc(self.at)


def now() -> datetime:
    """The wall-clock time in UTC."""
    return datetime.now(UTC)


def utc(value: datetime | None = None) -> datetime:
    """*value* in UTC (naive values are taken as UTC); the current time when None."""
    when = value or datetime.now(UTC)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Like :func:`utc`, but None stays None (times read back from a store)."""
    return None if value is None else utc(value)


def parse_iso(text: str) -> datetime:
    """An ISO date or timestamp (``2026-03-01``, ``2026-03-01T08:00:00Z``) in UTC; naive
    times are UTC. Raises :class:`ValueError` for anything else."""
    return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


def at_or_now(at: datetime | None, clock: Clock) -> datetime:
    """*at* in UTC, or *clock*'s now when *at* is None: the time a service runs as of
    (``when = at_or_now(as_of, ctx.clock)``), so a project's clock (a :class:`FixedClock`
    in tests and simulations) decides what "now" is."""
    return utc(at if at is not None else clock.now())


def future_as_of(at: datetime | None, wall: datetime | None = None) -> str | None:
    """A warning when *at* (an "as of" asked for) is later than *wall* (the wall clock when
    None), else None: data after now does not exist yet, so windows ending at *at* reach
    past it and counts come out as if nothing more will happen."""
    if at is None or utc(at) <= utc(wall or now()):
        return None
    return (f"as of {utc(at).isoformat()} is in the future: data after now does not exist yet, "
            "windows reach past it")


def refuse_future(at: datetime, *, allow: bool = False, wall: datetime | None = None) -> datetime:
    """*at* in UTC; :class:`~segflow.errors.ClockError` when it is later than *wall* (the wall
    clock when None) and not *allow*: work done as of a pinned time is real (the worker
    completes the due schedules and moves their next run), so a time that has not come
    skips the real runs in between."""
    when, real = utc(at), utc(wall or now())
    if when > real and not allow:
        from segflow.errors import ClockError

        raise ClockError(f"the pinned time {when.isoformat()} is later than the wall clock "
                         f"({real.isoformat(timespec='seconds')}): running as of it would complete the due "
                         "schedules and move their next run past the real runs in between")
    return when
