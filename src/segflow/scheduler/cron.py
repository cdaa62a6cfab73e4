"""Cron expressions in the workspace time zone (croniter).

``0 2 * * *`` means 02:00 on the wall clock of the workspace's zone, every day,
whatever the UTC offset that day (daylight-saving changes included): croniter
iterates in the zone and the result is converted to UTC for storage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["next_run", "upcoming"]


def next_run(cron: str, tz: str, after: datetime) -> datetime:
    """The first time strictly after *after* that *cron* fires in zone *tz*, in UTC."""
    from croniter import croniter

    start = after.astimezone(ZoneInfo(tz))
    return croniter(cron, start).get_next(datetime).astimezone(UTC)


def upcoming(cron: str, tz: str, after: datetime, count: int = 3) -> list[datetime]:
    """The next *count* firing times after *after*, in UTC."""
    out: list[datetime] = []
    when = after
    for _ in range(count):
        when = next_run(cron, tz, when)
        out.append(when)
    return out
