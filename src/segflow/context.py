"""The narrow project context domain code works over.

Services take a :class:`ProjectContext`: the project folder, its configuration, the
state store, the schema registry, the warehouse adapter and the clock — what they read
and write, and nothing else. :class:`~segflow.workspace.Workspace` (the public Python
API, a thin façade) is one; tests may pass any object with these attributes. Domain
packages import this module, never ``segflow.workspace`` or ``segflow.cli``
(``tests/test_architecture.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from segflow.clock import Clock
    from segflow.config import ProjectConfig
    from segflow.schema.registry import SchemaRegistry
    from segflow.state.store import StateStore
    from segflow.warehouse.base import Warehouse

__all__ = ["ProjectContext"]


class ProjectContext(Protocol):
    #: The project folder (``segflow.yaml``, ``segments/``, ``tags/``, ...).
    @property
    def root(self) -> Path: ...

    @property
    def config(self) -> ProjectConfig: ...

    #: Opened read-only: services that write refuse (error code ``read_only``).
    @property
    def read_only(self) -> bool: ...

    @property
    def state(self) -> StateStore: ...

    @property
    def registry(self) -> SchemaRegistry: ...

    @property
    def warehouse(self) -> Warehouse: ...

    @property
    def clock(self) -> Clock: ...
