"""Schedules and leases in the state store: which refresh is due, and who runs it.

``schedules`` has one row per scheduled definition (any kind with a job kind:
:mod:`~segflow.scheduler.jobs`). A row is *due*
when ``next_run_at <= now``; a worker *claims* it by writing its name and a lease
expiry. Claiming is safe with any number of workers:

* on PostgreSQL the candidates are read with ``SELECT ... FOR UPDATE SKIP LOCKED``, so
  concurrent workers never wait for, nor pick, a row another worker is claiming;
* on every database (SQLite too) the claim is a compare-and-set ``UPDATE ... WHERE
  id = ? AND (lease_until IS NULL OR lease_until < now) AND next_run_at <= now``: of two
  workers racing for a row, exactly one sees a row count of 1.

A row whose upstream definitions (``depends_on``) are due or leased is not claimed
yet: with every definition due at 02:00, the worker runs them in dependency order.
When the refresh ends, :func:`complete` moves ``next_run_at`` to the next cron time
after now and clears the lease. A worker that dies leaves its lease to expire; the
row is then claimed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import as_utc as _utc
from segflow.scheduler.cron import next_run
from segflow.state.tables import schedules

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.state.store import StateStore

__all__ = [
    "Claim",
    "Desired",
    "ScheduleRow",
    "claim_due",
    "complete",
    "list_schedules",
    "set_next_run",
    "sync_schedules",
]


@dataclass(frozen=True)
class Desired:
    """What apply wants scheduled for one definition."""

    kind: str
    name: str
    cron: str
    depends_on: tuple[str, ...] = ()
    rank: int = 0


@dataclass(frozen=True)
class Claim:
    """A due refresh this worker holds the lease of."""

    id: int
    kind: str
    name: str
    due_at: datetime
    lease_until: datetime


@dataclass(frozen=True)
class ScheduleRow:
    kind: str
    name: str
    cron: str
    timezone: str
    next_run_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    depends_on: tuple[str, ...]
    rank: int


def sync_schedules(conn: Connection, desired: list[Desired], tz: str, now: datetime) -> None:
    """Make ``schedules`` match *desired* in the caller's transaction.

    New rows and rows whose cron or time zone changed get ``next_run_at`` = the next
    firing after *now*; others keep theirs (and any lease). Rows not desired are deleted.
    """
    existing = {(r.kind, r.name): r for r in conn.execute(sa.select(schedules))}
    wanted = {(d.kind, d.name): d for d in desired}
    for key, row in existing.items():
        if key not in wanted:
            conn.execute(schedules.delete().where(schedules.c.id == row.id))
    for key, d in wanted.items():
        deps = json.dumps(sorted(d.depends_on))
        current = existing.get(key)
        if current is None:
            conn.execute(schedules.insert().values(kind=d.kind, name=d.name, cron=d.cron, timezone=tz,
                                                   depends_on=deps, rank=d.rank, enabled=True,
                                                   next_run_at=next_run(d.cron, tz, now)))
            continue
        values: dict[str, Any] = {"depends_on": deps, "rank": d.rank}
        if current.cron != d.cron or current.timezone != tz:
            values.update(cron=d.cron, timezone=tz, next_run_at=next_run(d.cron, tz, now))
        conn.execute(schedules.update().where(schedules.c.id == current.id).values(**values))


def list_schedules(state: StateStore) -> list[ScheduleRow]:
    with state.engine.connect() as conn:
        rows = conn.execute(sa.select(schedules).order_by(schedules.c.next_run_at, schedules.c.rank,
                                                           schedules.c.kind, schedules.c.name)).all()
    return [ScheduleRow(kind=r.kind, name=r.name, cron=r.cron, timezone=r.timezone,
                        next_run_at=_utc(r.next_run_at), lease_owner=r.lease_owner,  # type: ignore[arg-type]
                        lease_until=_utc(r.lease_until), last_run_at=_utc(r.last_run_at),
                        last_status=r.last_status, depends_on=tuple(json.loads(r.depends_on)), rank=r.rank)
            for r in rows]


def _free(now: datetime) -> Any:
    return sa.or_(schedules.c.lease_until.is_(None), schedules.c.lease_until < now)


def claim_due(state: StateStore, worker: str, now: datetime, *, lease: timedelta = timedelta(minutes=15),
              batch: int = 20) -> Claim | None:
    """Claim one due, unleased schedule whose upstream is not due or running; None when there is none."""
    due = sa.and_(schedules.c.enabled.is_(True), schedules.c.next_run_at <= now, _free(now))
    with state.engine.begin() as conn:
        query = sa.select(schedules.c.id, schedules.c.kind, schedules.c.name, schedules.c.depends_on,
                          schedules.c.next_run_at).where(due) \
            .order_by(schedules.c.rank, schedules.c.next_run_at, schedules.c.id).limit(batch)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = conn.execute(query).all()
        if not candidates:
            return None
        # Upstream rows still due or running (a plain read: it sees rows other workers lock).
        busy = {f"{r.kind}:{r.name}" for r in conn.execute(
            sa.select(schedules.c.kind, schedules.c.name).where(
                schedules.c.enabled.is_(True),
                sa.or_(schedules.c.next_run_at <= now, schedules.c.lease_until >= now)))}
        until = now + lease
        for row in candidates:
            if any(dep in busy for dep in json.loads(row.depends_on)):
                continue
            taken = conn.execute(schedules.update().where(schedules.c.id == row.id, due)
                                 .values(lease_owner=worker, lease_until=until))
            if taken.rowcount == 1:
                return Claim(id=row.id, kind=row.kind, name=row.name, due_at=_utc(row.next_run_at),  # type: ignore[arg-type]
                             lease_until=until)
    return None


def complete(state: StateStore, claim: Claim, worker: str, *, status: str, now: datetime) -> bool:
    """Release *claim*: next run after *now*, lease cleared; False when the lease was lost meanwhile."""
    with state.engine.begin() as conn:
        row = conn.execute(sa.select(schedules.c.cron, schedules.c.timezone).where(schedules.c.id == claim.id)).first()
        if row is None:  # the definition was removed while it ran
            return False
        done = conn.execute(schedules.update().where(schedules.c.id == claim.id, schedules.c.lease_owner == worker)
                            .values(next_run_at=next_run(row.cron, row.timezone, max(now, claim.due_at)),
                                    lease_owner=None, lease_until=None, last_run_at=now, last_status=status))
        return done.rowcount == 1


def release(state: StateStore, claim: Claim, worker: str) -> None:
    """Give *claim* back without running it (the worker is stopping): still due, free for another worker."""
    with state.engine.begin() as conn:
        conn.execute(schedules.update().where(schedules.c.id == claim.id, schedules.c.lease_owner == worker)
                     .values(lease_owner=None, lease_until=None))


def set_next_run(state: StateStore, kind: str, name: str, when: datetime) -> None:
    """Move one schedule's next run (e.g. to now, to run it at the worker's next poll)."""
    with state.engine.begin() as conn:
        conn.execute(schedules.update().where(schedules.c.kind == kind, schedules.c.name == name)
                     .values(next_run_at=when))
