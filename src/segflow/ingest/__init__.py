"""Taking data in: readers, cleaning, merging, rejects; :func:`load_files` is the service.

The names below load on first use, so importing a light module of the package (e.g.
:mod:`segflow.ingest.phones`, which the project settings read) does not import the loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.ingest.files import LoadReport, load_files
    from segflow.ingest.loader import LoadSummary, load_file

__all__ = ["LoadReport", "LoadSummary", "load_file", "load_files"]

_HOMES = {"LoadReport": "files", "load_files": "files", "LoadSummary": "loader", "load_file": "loader"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
