"""Segments (target groups): static and dynamic, refreshed with a membership history.

* :mod:`~segflow.segments.definition`: ``segments/*.yaml`` (rule, schedule, static);
* :mod:`~segflow.segments.membership`: the warehouse side (members, entered/exited);
* :mod:`~segflow.segments.refresh`: refresh in dependency order, run rows;
* :mod:`~segflow.segments.static`: adding and removing members of static segments;
* :mod:`~segflow.segments.query`: members, history, overlap;
* :mod:`~segflow.segments.export`: CSV, Parquet, JSON and ad-platform audience files;
* :mod:`~segflow.segments.preview`: previewing a rule.

The names below are imported on first use, so ``import segflow.segments`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "RefreshResult",
    "SegmentDefinition",
    "add_members",
    "export_members",
    "history",
    "load_segment_definitions",
    "members",
    "overlap",
    "refresh",
    "remove_members",
]

_HOME = {
    "refresh": "refresh", "RefreshResult": "refresh",
    "add_members": "static", "remove_members": "static",
    "members": "query", "history": "query", "overlap": "query",
    "export_members": "export",
    "SegmentDefinition": "definition", "load_segment_definitions": "definition",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"segflow.segments.{_HOME[name]}"), name)
    raise AttributeError(name)
