"""Scheduled refreshes: cron in the workspace time zone, leases in the state store, the worker.

* :mod:`~segflow.scheduler.cron`: next firing times (croniter);
* :mod:`~segflow.scheduler.schedules`: due rows, claims (``FOR UPDATE SKIP LOCKED``), release;
* :mod:`~segflow.scheduler.jobs`: the job kinds (what a due schedule of each kind runs);
* :mod:`~segflow.scheduler.worker`: ``segflow worker``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["claim_due", "complete", "get_job_kind", "list_schedules", "next_run", "register_job_kind", "run_worker"]

_HOME = {"run_worker": "worker", "register_job_kind": "jobs", "get_job_kind": "jobs", "claim_due": "schedules", "complete": "schedules", "list_schedules": "schedules",
         "next_run": "cron"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"segflow.scheduler.{_HOME[name]}"), name)
    raise AttributeError(name)
