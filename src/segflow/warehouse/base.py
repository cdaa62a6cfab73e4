"""The warehouse adapter interface: the only door to the engine.

An adapter owns the connection to one engine and everything that touches it: running
statements (:meth:`Warehouse.execute`, :meth:`~Warehouse.scalar`, :meth:`~Warehouse.rows`,
:meth:`~Warehouse.query`), transactions (:meth:`~Warehouse.transaction`), temporary
tables and registered Arrow tables, introspection (:meth:`~Warehouse.columns`,
:meth:`~Warehouse.table_exists`) and the dialect. The tables themselves are declared
in one place, :mod:`segflow.warehouse.tables`. No module outside ``warehouse/`` holds
the engine's connection (``tests/test_architecture.py`` enforces it).

Engines differ in what they can do; capability flags say so as class constants (as
SQLMesh's engine adapters do), and the rest of segflow asks them instead of checking
engine names::

    if wh.SUPPORTS_FILE_LOAD:
        ...  # read the file with the engine's own reader

The SQL domain code sends is written in the adapter's :attr:`~Warehouse.DIALECT`;
rules, traits and tags build theirs with sqlglot for that dialect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.schema.registry import Attribute
    from segflow.schema.types import AttributeType

__all__ = ["Result", "Warehouse", "quote_ident"]


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


class Result(Protocol):
    """What :meth:`Warehouse.execute` returns: a cursor over one statement's rows."""

    @property
    def description(self) -> Sequence[Sequence[Any]]: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchnumpy(self) -> dict[str, Any]: ...

    def arrow(self) -> pa.Table: ...


class Warehouse(ABC):
    #: The sqlglot dialect name of the engine.
    DIALECT: ClassVar[str]
    #: Whether :meth:`transaction` is atomic (else it only groups statements).
    SUPPORTS_TRANSACTIONS: ClassVar[bool] = True
    #: Whether ``segflow load`` can read files with this engine's own readers.
    SUPPORTS_FILE_LOAD: ClassVar[bool] = False
    #: Whether an Arrow table can be queried in place (:meth:`register`) instead of copied in.
    SUPPORTS_ARROW_SCAN: ClassVar[bool] = False
    #: Whether :meth:`query_progress` reports the running query's progress.
    SUPPORTS_PROGRESS: ClassVar[bool] = False

    @property
    @abstractmethod
    def engine_errors(self) -> tuple[type[BaseException], ...]:
        """The engine's own exception types (to turn its refusals into segflow errors)."""

    # -- statements --------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Result:
        """Run one statement; read its rows from the result before the next call."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run *sql* once per parameter row."""

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row of *sql*."""
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first value of the first row, or None when there is no row (the result is read whole)."""
        found = self.rows(sql, params)
        return found[0][0] if found else None

    def count(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """``scalar`` of a ``count(*)``-like query, as an int (0 for NULL)."""
        return int(self.scalar(sql, params) or 0)

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run *sql* and return the result as an Arrow table."""

    @abstractmethod
    def query_readonly(self, sql: str) -> pa.Table:
        """Run one read-only statement; writes are refused by the engine, not only by us."""

    # -- transactions and scratch tables ----------------------------------
    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all.

        Nested use joins the outer transaction (the engine has no savepoints): only the
        outermost block commits or rolls back.
        """
        yield  # pragma: no cover

    @abstractmethod
    def register(self, name: str, table: pa.Table) -> None:
        """Make the Arrow *table* queryable as *name* until :meth:`unregister`."""

    @abstractmethod
    def unregister(self, name: str) -> None: ...

    @contextmanager
    def registered(self, name: str, table: pa.Table) -> Iterator[str]:
        """*table* queryable as *name* inside the block."""
        self.register(name, table)
        try:
            yield name
        finally:
            self.unregister(name)

    def temp_table(self, name: str, select_sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """(Re)create the session-local table *name* from *select_sql*."""
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select_sql}", params)

    def drop_tables(self, *names: str) -> None:
        """Drop each of *names* if it exists (temporary or not)."""
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS {name}")

    def query_progress(self) -> float:
        """The running query's progress in percent (-1 when unknown)."""
        return -1.0

    # -- introspection -----------------------------------------------------
    @abstractmethod
    def columns(self, table: str) -> dict[str, str]:
        """Column name → engine type of *table* (empty when it does not exist)."""

    @abstractmethod
    def tables(self) -> list[str]:
        """The names of the project's own tables (not temporary ones, not views), sorted."""

    def table_exists(self, table: str) -> bool:
        return bool(self.columns(table))

    def column_names(self, table: str) -> list[str]:
        """The column names of *table* (temporary tables and views too), in order."""
        return [d[0] for d in self.execute(f"SELECT * FROM {table} LIMIT 0").description]

    # -- tables ------------------------------------------------------------
    @abstractmethod
    def ensure_tables(self, attributes: Iterable[Attribute]) -> None:
        """Create missing kind tables and attribute columns (never drops anything)."""

    @abstractmethod
    def add_column(self, table: str, name: str, type_: AttributeType) -> None: ...

    @abstractmethod
    def change_column_type(self, table: str, name: str, type_: AttributeType) -> int:
        """Retype a column when every stored value converts; return the number that would not."""

    def drop_column(self, table: str, name: str) -> None:
        """Remove the column *name* of *table* with every value in it (nothing when there is none)."""
        self.execute(f"ALTER TABLE {quote_ident(table)} DROP COLUMN IF EXISTS {quote_ident(name)}")

    @abstractmethod
    def table_counts(self) -> dict[str, int]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
