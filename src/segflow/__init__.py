"""segflow: customer segmentation and marketing automation.

    >>> import segflow
    >>> ws = segflow.open("myshop")    # doctest: +SKIP

Heavy libraries (DuckDB, SQLAlchemy, pyarrow) load on first use, not on import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segflow.errors import SegflowError

if TYPE_CHECKING:
    from segflow.workspace import Workspace

__all__ = ["open", "init", "SegflowError", "__version__"]
__version__ = "0.1.0"


def open(project: str | Path | None = None, *, read_only: bool = False) -> Workspace:  # noqa: A001
    """Open a project folder and return its :class:`~segflow.workspace.Workspace`."""
    from segflow.workspace import open_workspace

    return open_workspace(project, read_only=read_only)


def init(directory: str | Path, **options: object) -> Workspace:
    """Create a project folder (see :func:`segflow.config.init_project`) and open it."""
    from segflow.config import init_project

    root = init_project(directory, **options)  # type: ignore[arg-type]
    ws = open(root)
    ws.warehouse  # noqa: B018 - creates the warehouse file and its tables
    return ws
