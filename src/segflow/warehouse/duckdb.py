"""DuckDB, the embedded default warehouse (one file under the project)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from segflow.errors import QueryError
from segflow.schema.kinds import KINDS
from segflow.warehouse.base import Warehouse, quote_ident

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from segflow.schema.registry import Attribute
    from segflow.schema.types import AttributeType

__all__ = ["DuckDBWarehouse"]

#: Bookkeeping column on every table: the id of the load (state store `loads`) that wrote the row.
LOAD_ID = "_load_id"

#: Tables segflow itself writes (tags, segments, traits), read by rules like any other.
SYSTEM_TABLES = {
    "tag_assignments": "profile_id VARCHAR NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, source VARCHAR, "
    "assigned_at TIMESTAMPTZ, expires_at TIMESTAMPTZ",
    "segment_members": "segment VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, entered_at TIMESTAMPTZ",
    "traits": "profile_id VARCHAR NOT NULL",
}


class DuckDBWarehouse(Warehouse):
    DIALECT: ClassVar[str] = "duckdb"
    SUPPORTS_TRANSACTIONS: ClassVar[bool] = True
    SUPPORTS_FILE_LOAD: ClassVar[bool] = True

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        import duckdb

        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con: duckdb.DuckDBPyConnection = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise QueryError(f"cannot open the warehouse {self.path}: {exc}", code="warehouse_open") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> DuckDBWarehouse:
        prefix = "duckdb:///"
        if not url.startswith(prefix):
            raise QueryError(f"not a DuckDB warehouse URL: {url!r} (expected duckdb:///path)", code="bad_url")
        return cls(url[len(prefix):] or ":memory:", read_only=read_only)

    # -- tables -----------------------------------------------------------
    def ensure_tables(self, attributes: Iterable[Attribute]) -> None:
        for name, ddl in SYSTEM_TABLES.items():
            self.con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({ddl})")
        self._ensure_kind_tables(attributes)

    def _ensure_kind_tables(self, attributes: Iterable[Attribute]) -> None:
        extra: dict[str, list[Attribute]] = {}
        for attr in attributes:
            extra.setdefault(attr.kind, []).append(attr)
        for kind in KINDS.values():
            existing = self.columns(kind.name)
            if not existing:
                cols = [f"{quote_ident(c.name)} {c.type.duckdb_type}" for c in kind.columns]
                cols.append(f"{LOAD_ID} BIGINT")
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {kind.name} ({', '.join(cols)})")
                existing = self.columns(kind.name)
            for attr in extra.get(kind.name, []):
                if attr.name not in existing:
                    self.add_column(kind.name, attr.name, attr.type)

    def columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return {name: type_ for name, type_ in rows}

    def add_column(self, table: str, name: str, type_: AttributeType) -> None:
        # IF NOT EXISTS: a crash between the warehouse commit and the registry write
        # leaves a column the next load infers and records again.
        self.con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN IF NOT EXISTS {quote_ident(name)} {type_.duckdb_type}")

    def change_column_type(self, table: str, name: str, type_: AttributeType) -> int:
        """Retype a column when every stored value converts; return the number that would not."""
        from segflow.schema.types import value_sql

        col = quote_ident(name)
        failing = self.con.execute(
            f"SELECT count(*) FROM {quote_ident(table)} WHERE {col} IS NOT NULL "
            f"AND {value_sql(type_, f'{col}::VARCHAR')} IS NULL"
        ).fetchall()[0][0]
        if failing == 0:
            self.con.execute(
                f"ALTER TABLE {quote_ident(table)} ALTER COLUMN {col} SET DATA TYPE {type_.duckdb_type} "
                f"USING {value_sql(type_, f'{col}::VARCHAR')}"
            )
        return int(failing)

    # -- queries ----------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def query_readonly(self, sql: str) -> pa.Table:
        import duckdb

        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise QueryError(message, code="query_failed") from exc

    def table_counts(self) -> dict[str, int]:
        counts = {}
        for kind in KINDS:
            if self.columns(kind):
                counts[kind] = int(self.con.execute(f"SELECT count(*) FROM {kind}").fetchall()[0][0])
        return counts

    def close(self) -> None:
        self.con.close()
