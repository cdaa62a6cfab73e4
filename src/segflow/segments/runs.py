"""Moved: the run history of every kind lives in :mod:`segflow.definitions.runs`.

Kept as a re-export so ``from segflow.segments.runs import ...`` (and other branches of
the issue-12 refactor) keep working; new code imports ``segflow.definitions.runs``.
"""

from __future__ import annotations

from segflow.definitions.runs import RunRow, finish_run, last_runs, list_runs, start_run

__all__ = ["RunRow", "finish_run", "last_runs", "list_runs", "start_run"]
