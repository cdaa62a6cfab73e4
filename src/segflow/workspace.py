"""The workspace: one project folder with its two stores, the object behind every command.

    >>> import segflow
    >>> ws = segflow.open("myshop")            # doctest: +SKIP
    >>> ws.load("events", ["events.csv"])      # doctest: +SKIP
    >>> ws.sql("SELECT count(*) FROM events")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.config import SCHEMA_FILE, ProjectConfig, find_project, read_config, resolve_url

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.clock import Clock
    from segflow.identity.resolve import ResolveSummary
    from segflow.ingest.loader import LoadSummary, Progress
    from segflow.schema.registry import Attribute, SchemaRegistry
    from segflow.segments.preview import Preview
    from segflow.state.store import StateStore
    from segflow.warehouse.base import Warehouse

__all__ = ["Workspace", "open_workspace"]


class Workspace:
    def __init__(self, root: Path, config: ProjectConfig, *, read_only: bool = False,
                 clock: Clock | None = None) -> None:
        from segflow.clock import SystemClock

        self.root = root
        self.config = config
        self.read_only = read_only
        self.clock: Clock = clock or SystemClock()

    # -- the stores (opened on first use) ----------------------------------
    @cached_property
    def state(self) -> StateStore:
        from segflow.state.store import StateStore

        return StateStore.open(resolve_url(self.config.state, self.root, "sqlite"))

    @cached_property
    def registry(self) -> SchemaRegistry:
        from segflow.schema.registry import SchemaRegistry

        return SchemaRegistry(self.state, self.root / SCHEMA_FILE)

    @cached_property
    def warehouse(self) -> Warehouse:
        """The warehouse, opened on first use. While `segflow serve` holds the project's DuckDB
        file, it is borrowed from the server and given back by :meth:`close` (segflow.hosting)."""
        from segflow.errors import QueryError

        try:
            return self._open_warehouse()
        except QueryError as exc:
            if "lock" not in str(exc).lower():
                raise
            from segflow.hosting import borrow, open_retrying

            loan = borrow(self.root)
            if loan is None:
                raise
            self._loan = loan
            try:
                return open_retrying(self._open_warehouse)  # type: ignore[no-any-return]
            except BaseException:
                self._give_back()
                raise

    def _open_warehouse(self) -> Warehouse:
        from segflow.warehouse.duckdb import DuckDBWarehouse

        url = resolve_url(self.config.warehouse, self.root, "duckdb")
        if self.read_only:
            path = url.removeprefix("duckdb:///")
            if not Path(path).exists():
                wh = DuckDBWarehouse.from_url(url)  # create it (empty tables) once
                wh.ensure_tables(self.registry.extra_attributes())
                wh.close()
            return DuckDBWarehouse.from_url(url, read_only=True)
        from segflow.schema.service import sync_schema

        wh = DuckDBWarehouse.from_url(url)
        try:
            sync_schema(self, wh)
        except BaseException:
            wh.close()
            raise
        return wh

    def _give_back(self) -> None:
        loan = self.__dict__.pop("_loan", None)
        if loan is not None:
            from segflow.hosting import give_back

            give_back(self.root, loan)

    def release_warehouse(self) -> None:
        """Close the warehouse connection (it reopens on next use), giving a borrowed one back."""
        if "warehouse" in self.__dict__:
            self.warehouse.close()
            del self.__dict__["warehouse"]
        self._give_back()

    def sync_schema(self) -> None:
        """Re-read ``schema.yaml`` and bring the registry and warehouse columns in line."""
        from segflow.schema.service import sync_schema

        sync_schema(self)

    def declare(self, kind: str, name: str, type_: str, label: str = "") -> Attribute:
        """Declare an attribute type (written to ``schema.yaml``) and apply it to the warehouse."""
        from segflow.schema.service import declare

        return declare(self, kind, name, type_, label)

    # -- operations --------------------------------------------------------
    def load(
        self,
        kind: str,
        files: Iterable[str | Path],
        *,
        file_format: str | None = None,
        rejects: str | Path | None = None,
        progress: Progress | None = None,
        new_attributes: bool = False,
    ) -> list[LoadSummary]:
        """Load each file into *kind* (each file atomically); see :func:`segflow.ingest.load_file`.

        *rejects* is the rejects file for one file, or a folder for several. A new column close to
        a known attribute (a probable typo) is refused unless *new_attributes*.
        """
        from segflow.ingest.files import load_files

        return load_files(self, kind, files, file_format=file_format, rejects=rejects, new_attributes=new_attributes,
                          progress=None if progress is None else (lambda _file, stage, fraction: progress(stage, fraction))).files

    def sql(self, query: str) -> pa.Table:
        """Run a read-only query on the warehouse and return an Arrow table."""
        from segflow.warehouse.readonly import check_read_only

        check_read_only(query, self.warehouse.DIALECT)
        return self.warehouse.query_readonly(query)

    def check(self, rule: Any) -> tuple[Any, list[Any]]:
        """Parse and check a rule (data or a rule file path): (checked tree, warnings)."""
        from segflow.rules.project import check_in

        checked = check_in(self, rule)
        return checked.tree, checked.warnings

    def preview(self, rule: Any, *, as_of: datetime | None = None, limit: int | None = 20) -> Preview:
        """Members of *rule* as of *as_of*: ``.count`` and ``.members`` (an Arrow table)."""
        from segflow.segments.preview import preview

        return preview(self, rule, as_of=as_of, limit=limit)

    def resolve(self, *, full: bool = False) -> ResolveSummary:
        """Merge source profiles that share identifiers into one profile per person
        (incremental after the first run); see :mod:`segflow.identity` and docs/identity.md."""
        from segflow.identity.resolve import resolve_identities

        return resolve_identities(self, full=full)

    def table_counts(self) -> dict[str, int]:
        return self.warehouse.table_counts()

    def describe_schema(self) -> dict[str, list[dict[str, Any]]]:
        """Every kind's columns: name, type, label, origin (after applying ``schema.yaml``);
        see :func:`segflow.schema.service.describe_schema`."""
        from segflow.schema.service import describe_schema

        return describe_schema(self).to_dict()

    def close(self) -> None:
        self.release_warehouse()
        if "state" in self.__dict__:
            self.state.close()
            del self.__dict__["state"]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(project: str | Path | None = None, *, read_only: bool = False) -> Workspace:
    """Open the project at *project* (else ``$SEGFLOW_PROJECT``, else the current folder)."""
    root = find_project(project)
    return Workspace(root, read_config(root), read_only=read_only)
