"""The warehouse adapter interface.

An adapter owns the connection to one engine and knows its SQL: the tables of every
kind, adding attribute columns, read-only queries. Engines differ in what they can do;
capability flags say so as class constants (as SQLMesh's engine adapters do), and the
rest of segflow asks them instead of checking engine names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.schema.registry import Attribute
    from segflow.schema.types import AttributeType

__all__ = ["Warehouse", "quote_ident"]


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


class Warehouse(ABC):
    #: The sqlglot dialect name of the engine.
    DIALECT: ClassVar[str]
    SUPPORTS_TRANSACTIONS: ClassVar[bool] = True
    #: Whether ``segflow load`` can read files with this engine's own readers.
    SUPPORTS_FILE_LOAD: ClassVar[bool] = False

    @abstractmethod
    def ensure_tables(self, attributes: Iterable[Attribute]) -> None:
        """Create missing kind tables and attribute columns (never drops anything)."""

    @abstractmethod
    def columns(self, table: str) -> dict[str, str]:
        """Column name → engine type of *table* (empty when it does not exist)."""

    @abstractmethod
    def add_column(self, table: str, name: str, type_: AttributeType) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run *sql* and return the result as an Arrow table."""

    @abstractmethod
    def query_readonly(self, sql: str) -> pa.Table:
        """Run one read-only statement; writes are refused by the engine, not only by us."""

    @abstractmethod
    def table_counts(self) -> dict[str, int]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
