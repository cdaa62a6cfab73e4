"""``segflow worker``: run due refreshes, with any number of workers sharing the state store.

    >>> summary = run_worker(ws, once=True)     # doctest: +SKIP

The loop: claim one due schedule (:func:`~segflow.scheduler.schedules.claim_due`),
refresh it as of its due time's clock reading, release it with the outcome, repeat;
with nothing due, sleep ``poll`` seconds (or, with ``once``, return). What a schedule
of each kind runs is its job kind (:mod:`~segflow.scheduler.jobs`: segment, tag and
trait register theirs); the worker names none. Every refresh writes its
``refresh_runs`` row with the worker's name and trigger ``schedule``.

The DuckDB warehouse is a file one process writes at a time: the worker opens it for
each refresh and releases the context's connections afterwards
(:meth:`WorkerContext.close`; they reopen on next use), waiting (up to the lease)
while another process holds it. With the state store on PostgreSQL, workers on several machines
share the schedule; each due refresh is claimed by exactly one of them.

A pinned clock (*clock*, or the context's) is not a dry run: the refreshes are real, and
each claimed schedule is completed with its next run computed from the pinned time. A
time later than the wall clock would therefore skip the real runs in between for good,
so :func:`run_worker` refuses it (:class:`~segflow.errors.ClockError`, code
``future_clock``, before claiming anything) unless *allow_future* is given.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from segflow.clock import refuse_future
from segflow.context import ProjectContext
from segflow.scheduler.jobs import get_job_kind
from segflow.scheduler.schedules import Claim, claim_due, complete, release

if TYPE_CHECKING:
    from segflow.definitions.runner import RefreshResult

__all__ = ["WorkerContext", "WorkerSummary", "default_worker_name", "run_claim", "run_worker"]

#: ``clock()`` → the current time (UTC); tests and simulations pass their own.
Clock = Callable[[], datetime]


class WorkerContext(ProjectContext, Protocol):
    """The project context, plus a way to let go of its connections between refreshes.

    ``close()`` closes the warehouse (and state store) connections; both reopen on next
    use (as :class:`~segflow.workspace.Workspace` does), so another process can write the
    DuckDB file while this worker waits.
    """

    def close(self) -> None: ...


def default_worker_name() -> str:
    """``host:pid:random``: unique per process, readable in run rows."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerSummary:
    worker: str
    results: list[Any] = field(default_factory=list)
    #: ``(tick name, report)`` of every tick that did something (journeys: an EngineReport).
    ticks: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status != "ok")


def _open_warehouse(ctx: ProjectContext, deadline: float) -> None:
    """Open the warehouse, waiting while another process holds the DuckDB file."""
    from segflow.errors import QueryError

    delay = 0.05
    while True:
        try:
            ctx.warehouse  # noqa: B018 - opens (and caches) the connection
            return
        except QueryError as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _run_ticks(ctx: WorkerContext, summary: WorkerSummary, now: datetime, lease: timedelta,
               on_tick: Callable[[str, Any], None] | None) -> None:
    """Every registered tick as of *now*; one that fails is reported, and the worker goes on."""
    from segflow.scheduler.jobs import ticks

    for tick_name, tick in ticks().items():
        try:
            _open_warehouse(ctx, time.monotonic() + lease.total_seconds() * 0.8)
            report = tick(ctx, now=now, worker=summary.worker, lease=lease)
        except Exception as exc:
            report = f"failed: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
        finally:
            ctx.close()
        if report and getattr(report, "busy", True):
            summary.ticks.append((tick_name, report))
            if on_tick:
                on_tick(tick_name, report)


def run_claim(ctx: ProjectContext, claim: Claim, worker: str, now: datetime) -> list[RefreshResult]:
    """Refresh what *claim* names, as of *now*, with its kind's job (KeyError for a kind nothing registered)."""
    job = get_job_kind(claim.kind)
    return job.refresh(ctx, claim.name, as_of=now, trigger="schedule", worker=worker)


def run_worker(
    ctx: WorkerContext,
    *,
    once: bool = False,
    poll: float = 30.0,
    lease: timedelta = timedelta(minutes=15),
    worker: str | None = None,
    clock: Clock | None = None,
    max_runs: int | None = None,
    on_result: Callable[[Any], None] | None = None,
    allow_future: bool = False,
    on_tick: Callable[[str, Any], None] | None = None,
) -> WorkerSummary:
    """Run due refreshes until stopped (Ctrl-C), or until none is due when *once*; whenever no
    refresh is due, the registered ticks (journeys) run as of the same clock reading.

    A clock reading later than the wall clock raises :class:`~segflow.errors.ClockError`
    before anything is claimed, unless *allow_future* (see the module doc)."""
    name = worker or default_worker_name()
    now_of = clock or ctx.clock.now
    summary = WorkerSummary(worker=name)
    while max_runs is None or len(summary.results) < max_runs:
        now = refuse_future(now_of(), allow=allow_future)
        claim = claim_due(ctx.state, name, now, lease=lease)
        if claim is None:
            _run_ticks(ctx, summary, now, lease, on_tick)
            if once:
                break
            time.sleep(poll)
            continue
        try:
            _open_warehouse(ctx, time.monotonic() + lease.total_seconds() * 0.8)
            results = run_claim(ctx, claim, name, now)
            status = "ok" if all(r.status == "ok" for r in results) else "failed"
        except Exception as exc:  # a refresh error is recorded; the worker goes on
            from segflow.definitions.runner import RefreshResult

            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            results = [RefreshResult(claim.kind, claim.name, None, "failed", now, error=text)]
            status = "failed"
        except BaseException:  # Ctrl-C or SIGTERM: the refresh rolled back; leave it due for another worker
            ctx.close()
            release(ctx.state, claim, name)
            raise
        ctx.close()
        complete(ctx.state, claim, name, status=status, now=now_of())
        for r in results:
            summary.results.append(r)
            if on_result:
                on_result(r)
    return summary
