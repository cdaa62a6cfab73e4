"""Who enters a journey between two times: one function per entry kind, set-based.

:func:`candidates` returns, for one journey and a time window ``(after, now]``, every
entry (profile, entry key, time) its entry rule gives — with the entry key, which makes a
run unique per profile (a segment change's time, an event id, an anniversary date, a
schedule tick), so scanning a window twice never enters anyone twice:

* ``segment_entered`` / ``segment_exited``: the segment's recorded changes
  (``segment_history``) stamped in the window, or written by a refresh newer than the
  last one seen (a refresh as of an earlier time still counts once);
* ``event``: matching events with a time in the window, or loaded after the last load
  seen (an event loaded late still triggers, if its time is at or after the journey's
  ``effective.from``);
* ``date``: the profiles whose date (or timestamp) attribute, moved by ``offset`` and set
  at the local time ``at`` (the profile's ``timezone`` attribute, else the project zone),
  falls in the window — once a year for a DATE, once for a TIMESTAMP;
* ``schedule``: each cron tick in the window, everyone the audience rule matches as of it;
* ``manual``: none here (``segflow journey enroll`` creates the runs).

:func:`next_entry_time` gives the simulator the next time anything could enter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segflow.clock import as_utc
from segflow.journeys.model import (
    DateEntry,
    EventEntry,
    Journey,
    ManualEntry,
    ScheduleEntry,
    SegmentEntry,
)

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.rules import JourneyRules

__all__ = ["Candidate", "EntryScan", "candidates", "next_entry_time", "profile_zones"]

#: Date entries are known in advance: a scan takes those up to a day ahead, as runs due at their time.
DATE_LOOKAHEAD = timedelta(days=1)

#: Ticks of a schedule entry taken in one scan at most (a long-stopped worker catches up in steps).
MAX_TICKS = 1000


@dataclass(frozen=True)
class Candidate:
    profile_id: str
    key: str
    at: datetime


@dataclass
class EntryScan:
    candidates: list[Candidate]
    #: The highest load id / refresh run id seen (the next scan's ``seq``).
    seq: int | None


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat()  # type: ignore[union-attr]


def candidates(ctx: ProjectContext, journey: Journey, rules: JourneyRules, *, after: datetime, now: datetime,
               entries_from: datetime, seq: int | None, use_seq: bool = True) -> EntryScan:
    """Entries of *journey* with a time in ``(after, now]`` (and at or after *entries_from*), plus
    those written after *seq* (unless not *use_seq*: the simulator replays time only)."""
    entry = journey.entry
    start = max(after, entries_from - timedelta(microseconds=1))
    if journey.effective_to is not None:
        now = min(now, journey.effective_to)
    if now <= start and not isinstance(entry, DateEntry):
        return EntryScan([], seq)
    if isinstance(entry, SegmentEntry):
        return _segment(ctx, entry, start, now, entries_from, seq if use_seq else None)
    if isinstance(entry, EventEntry):
        return _events(ctx, entry, rules, start, now, entries_from, seq if use_seq else None)
    if isinstance(entry, DateEntry):
        return EntryScan(_dates(ctx, entry, start, now + DATE_LOOKAHEAD), seq)
    if isinstance(entry, ScheduleEntry):
        return EntryScan(_ticks(ctx, entry, rules, start, now), seq)
    assert isinstance(entry, ManualEntry)
    return EntryScan([], seq)


def _segment(ctx: ProjectContext, entry: SegmentEntry, start: datetime, now: datetime, entries_from: datetime,
             seq: int | None) -> EntryScan:
    wh = ctx.warehouse
    if not wh.table_exists("segment_history"):
        return EntryScan([], seq)
    change = "exited" if entry.exited else "entered"
    late = "" if seq is None else " OR coalesce(run_id, 0) > ?"
    params: list[Any] = [entry.segment, change, entries_from, now, start] + ([] if seq is None else [seq])
    rows = wh.rows(
        "SELECT profile_id, changed_at, run_id FROM segment_history WHERE segment = ? AND change = ? "
        f"AND changed_at >= ? AND changed_at <= ? AND (changed_at > ?{late}) ORDER BY changed_at, profile_id",
        params)
    top = max([seq or 0, *(int(r[2]) for r in rows if r[2] is not None)]) if rows or seq is not None else None
    out = [Candidate(str(r[0]), f"s:{_iso(r[1])}", as_utc(r[1])) for r in rows]  # type: ignore[arg-type]
    return EntryScan(out, top)


def _events(ctx: ProjectContext, entry: EventEntry, rules: JourneyRules, start: datetime, now: datetime,
            entries_from: datetime, seq: int | None) -> EntryScan:
    wh = ctx.warehouse
    if not wh.table_exists("events"):
        return EntryScan([], seq)
    cond = rules.event_filter(entry.event, now)
    late = "" if seq is None else " OR coalesce(e._load_id, 0) > ?"
    params: list[Any] = [entries_from, now, start] + ([] if seq is None else [seq])
    rows = wh.rows(
        f"SELECT e.profile_id, e.ts, e.event_id, e._load_id FROM events e WHERE {cond} AND e.profile_id IS NOT NULL "
        f"AND e.ts >= ? AND e.ts <= ? AND (e.ts > ?{late}) ORDER BY e.ts, e.profile_id", params)
    top = seq
    if seq is not None or rows:
        top = max([seq or 0, *(int(r[3]) for r in rows if r[3] is not None)])
    out = [Candidate(str(r[0]), f"e:{r[2]}" if r[2] else f"e:{_iso(r[1])}", as_utc(r[1]))  # type: ignore[arg-type]
           for r in rows]
    return EntryScan(out, top)


def profile_zones(ctx: ProjectContext, profile_ids: list[str] | None = None) -> dict[str, str]:
    """The ``timezone`` attribute of profiles that have a valid one (all, or *profile_ids*)."""
    wh = ctx.warehouse
    if "timezone" not in wh.columns("profiles"):
        return {}
    if profile_ids is None:
        rows = wh.rows("SELECT profile_id, timezone FROM profiles WHERE timezone IS NOT NULL")
    else:
        import pyarrow as pa

        ids = pa.table({"profile_id": pa.array(profile_ids, pa.string())})
        with wh.registered("journey_zone_ids", ids):
            rows = wh.rows("SELECT p.profile_id, p.timezone FROM profiles p JOIN journey_zone_ids i "
                           "ON i.profile_id = p.profile_id WHERE p.timezone IS NOT NULL")
    return {str(pid): str(z) for pid, z in rows if _zone(str(z)) is not None}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local_time(text: str) -> time:
    hour, minute = text.split(":")[:2]
    return time(int(hour), int(minute))


def _anniversary(d: date, year: int) -> date:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February in a common year: the 28th
        return d.replace(year=year, day=28)


def date_trigger(value: date | datetime, entry: DateEntry, zone: ZoneInfo, year: int | None) -> datetime:
    """When a profile with *value* enters: the date (its anniversary in *year* for a DATE) at
    *entry.at* local time in *zone*, moved by *entry.offset*."""
    if isinstance(value, datetime):
        day = as_utc(value).astimezone(zone).date()  # type: ignore[union-attr]
    else:
        day = value if year is None else _anniversary(value, year)
    local = datetime.combine(day, _local_time(entry.at), tzinfo=zone)
    return (local + timedelta(seconds=entry.offset)).astimezone(UTC)


def _dates(ctx: ProjectContext, entry: DateEntry, start: datetime, now: datetime) -> list[Candidate]:
    wh = ctx.warehouse
    columns = wh.columns("profiles")
    if entry.attr not in columns:
        return []
    is_date = columns[entry.attr].upper() == "DATE"
    project_zone = ZoneInfo(ctx.config.timezone)
    span = timedelta(seconds=abs(entry.offset)) + timedelta(days=2)
    col = f'"{entry.attr}"'
    if is_date:
        if now - start > timedelta(days=366):
            where, params = f"{col} IS NOT NULL", []
        else:
            days, d = [], (start - span).date()
            while d <= (now + span).date():
                days.append(d.strftime("%m-%d"))
                d += timedelta(days=1)
            params = list(dict.fromkeys(days))
            where = f"strftime({col}, '%m-%d') IN ({', '.join('?' for _ in params)})"
    else:
        where, params = f"{col} >= ? AND {col} <= ?", [start - span, now + span]  # type: ignore[list-item]
    rows = wh.rows(f"SELECT profile_id, {col} FROM profiles WHERE {where}", params)
    zones = profile_zones(ctx, [str(r[0]) for r in rows]) if rows else {}
    out = []
    for pid, value in rows:
        zone = _zone(zones.get(str(pid), "")) or project_zone
        years = range(start.year - 1, now.year + 2) if is_date else (None,)
        for year in years:
            at = date_trigger(value, entry, zone, year)
            if start < at <= now:
                day = _anniversary(value, year) if is_date and year is not None else at.date()
                out.append(Candidate(str(pid), f"d:{day.isoformat()}", at))
    out.sort(key=lambda c: (c.at, c.profile_id))
    return out


def _ticks(ctx: ProjectContext, entry: ScheduleEntry, rules: JourneyRules, start: datetime,
           now: datetime) -> list[Candidate]:
    from segflow.rules.project import compile_in
    from segflow.scheduler.cron import next_run

    out: list[Candidate] = []
    tick = next_run(entry.cron, ctx.config.timezone, start)
    taken = 0
    while tick <= now and taken < MAX_TICKS:
        sql = compile_in(ctx, rules.tree(entry.audience), as_of=tick)
        out.extend(Candidate(str(r[0]), f"t:{_iso(tick)}", tick)
                   for r in ctx.warehouse.rows(f"SELECT DISTINCT profile_id FROM ({sql}) AS a ORDER BY 1"))
        taken += 1
        tick = next_run(entry.cron, ctx.config.timezone, tick)
    return out


def next_entry_time(ctx: ProjectContext, journey: Journey, rules: JourneyRules, after: datetime,
                    entries_from: datetime) -> datetime | None:
    """The first time after *after* at which *journey* could take an entry (the simulator's next stop)."""
    entry, wh = journey.entry, ctx.warehouse
    floor = max(after, entries_from - timedelta(microseconds=1))
    found: datetime | None = None
    if isinstance(entry, SegmentEntry) and wh.table_exists("segment_history"):
        found = wh.scalar("SELECT min(changed_at) FROM segment_history WHERE segment = ? AND change = ? "
                          "AND changed_at > ?", [entry.segment, "exited" if entry.exited else "entered", floor])
    elif isinstance(entry, EventEntry) and wh.table_exists("events"):
        cond = rules.event_filter(entry.event, after)
        found = wh.scalar(f"SELECT min(e.ts) FROM events e WHERE {cond} AND e.profile_id IS NOT NULL AND e.ts > ?",
                          [floor])
    elif isinstance(entry, ScheduleEntry):
        from segflow.scheduler.cron import next_run

        found = next_run(entry.cron, ctx.config.timezone, floor)
    elif isinstance(entry, DateEntry):
        # Date entries are taken a day ahead (their runs wait until their time): a scan a day.
        found = after + DATE_LOOKAHEAD
    found = as_utc(found) if found is not None else None
    if found is not None and journey.effective_to is not None and found > journey.effective_to:
        return None
    return found
