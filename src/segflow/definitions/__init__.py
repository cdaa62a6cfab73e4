"""Definitions as code: the project folder's segments, tags and traits, versioned and applied.

* :mod:`~segflow.definitions.project`: reading and checking the folder;
* :mod:`~segflow.definitions.versions`: versions in the state store;
* :mod:`~segflow.definitions.plan`: ``segflow plan`` / ``segflow apply``;
* :mod:`~segflow.definitions.kinds`: the kinds (segment, tag, trait, ...) and what each registers;
* :mod:`~segflow.definitions.graph`: the dependency graph across every kind;
* :mod:`~segflow.definitions.runner`: refreshing in dependency order (upstream, skips, run rows);
* :mod:`~segflow.definitions.runs`: the run history of every kind (``refresh_runs``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ApplyResult", "Change", "DefinitionKind", "Plan", "RefreshResult", "apply", "build_graph",
           "current_versions", "list_runs", "make_plan", "register_kind", "run_refresh", "version_history"]

_HOME = {"make_plan": "plan", "apply": "plan", "Plan": "plan", "Change": "plan", "ApplyResult": "plan",
         "current_versions": "versions", "version_history": "versions", "build_graph": "graph",
         "DefinitionKind": "kinds", "register_kind": "kinds", "RefreshResult": "runner", "run_refresh": "runner",
         "list_runs": "runs"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"segflow.definitions.{_HOME[name]}"), name)
    raise AttributeError(name)
