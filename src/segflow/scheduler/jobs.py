"""Job kinds: what the worker runs for a due schedule of each kind.

A schedule row names a ``kind`` and a ``name``; the worker looks the kind up here and
calls its refresh function. Kinds register themselves from their own package (segment,
tag and trait today; model and journey later), so the scheduler never names one::

    from segflow.scheduler.jobs import register_job_kind

    def refresh_model(ctx, name, *, as_of, trigger, worker):
        ...                                  # -> list[RefreshResult]

    register_job_kind("model", refresh_model, description="retrain and score one model")

The built-in kinds' modules are imported on first lookup
(:data:`segflow.definitions.kinds.PROVIDERS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.definitions.runner import RefreshResult

__all__ = ["JobKind", "JobRefresh", "Tick", "get_job_kind", "job_kinds", "register_job_kind", "register_tick", "ticks"]


class JobRefresh(Protocol):
    def __call__(self, ctx: ProjectContext, name: str, *, as_of: datetime, trigger: str,
                 worker: str | None) -> list[RefreshResult]:
        """Refresh the definition *name* as of *as_of*; one result per definition refreshed
        (run rows written). Failures are results, not exceptions."""
        ...


@dataclass(frozen=True)
class JobKind:
    name: str
    refresh: JobRefresh
    description: str = ""


_JOBS: dict[str, JobKind] = {}


def register_job_kind(name: str, refresh: JobRefresh, *, description: str = "") -> JobKind:
    """Let the worker run schedules of kind *name* with *refresh* (registering again replaces it)."""
    job = JobKind(name, refresh, description)
    _JOBS[name] = job
    return job


def _load_builtin() -> None:
    from segflow.definitions.kinds import kinds

    kinds()  # imports the packages that register the built-in kinds (and their job kinds)


def get_job_kind(name: str) -> JobKind:
    """The job kind *name*; KeyError naming the known kinds when nothing registered it."""
    if name not in _JOBS:
        _load_builtin()
    if name not in _JOBS:
        raise KeyError(f"no job kind {name!r} is registered (known: {', '.join(sorted(_JOBS)) or 'none'})")
    return _JOBS[name]


def job_kinds() -> dict[str, JobKind]:
    """Every registered job kind, by name."""
    _load_builtin()
    return dict(_JOBS)


class Tick(Protocol):
    def __call__(self, ctx: ProjectContext, *, now: datetime, worker: str, lease: timedelta) -> object:
        """Do what is due at *now* (journeys: entries, steps, deliveries), holding what it takes for at
        most *lease*; return a report."""
        ...


_TICKS: dict[str, Tick] = {}


def register_tick(name: str, tick: Tick) -> None:
    """Let the worker call *tick* on every loop, after the refreshes that were due (journeys
    register theirs: the worker names no kind)."""
    _TICKS[name] = tick


def ticks() -> dict[str, Tick]:
    """Every registered tick, by name."""
    _load_builtin()
    return dict(_TICKS)
