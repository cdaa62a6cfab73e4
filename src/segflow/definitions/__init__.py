"""Definitions as code: the project folder's segments, tags and traits, versioned and applied.

* :mod:`~segflow.definitions.project`: reading and checking the folder;
* :mod:`~segflow.definitions.versions`: versions in the state store;
* :mod:`~segflow.definitions.plan`: ``segflow plan`` / ``segflow apply``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ApplyResult", "Change", "Plan", "apply", "current_versions", "make_plan", "version_history"]

_HOME = {"make_plan": "plan", "apply": "plan", "Plan": "plan", "Change": "plan", "ApplyResult": "plan",
         "current_versions": "versions", "version_history": "versions"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"segflow.definitions.{_HOME[name]}"), name)
    raise AttributeError(name)
