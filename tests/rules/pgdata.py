"""The fixture warehouse of the rule compiler tests, in DuckDB and in PostgreSQL.

The rows live in ``tests/fixtures/rules/data/dataset.yaml``. DuckDB gets its tables from
the real warehouse adapter (:class:`DuckDBWarehouse`); PostgreSQL gets the same tables
with the PostgreSQL type of every column (``properties`` and ``attrs`` as jsonb, lists
as text[]), created here because segflow has no PostgreSQL warehouse adapter yet.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from segflow.schema.kinds import KINDS
from segflow.schema.registry import Attribute
from segflow.schema.types import AttributeType as T
from segflow.warehouse.duckdb import SYSTEM_TABLES, DuckDBWarehouse

DATASET = Path(__file__).parent.parent / "fixtures" / "rules" / "data" / "dataset.yaml"

#: Types of the columns of the tables segflow writes itself (SYSTEM_TABLES).
_SYSTEM_TYPES = {"VARCHAR": T.STRING, "TIMESTAMPTZ": T.TIMESTAMP}


@cache
def dataset() -> dict[str, Any]:
    return yaml.safe_load(DATASET.read_text(encoding="utf-8"))


def extra_attributes() -> list[Attribute]:
    return [
        Attribute(kind, name, T(type_), origin="declared")
        for kind, attrs in dataset()["attributes"].items()
        for name, type_ in attrs.items()
    ]


def trait_types() -> dict[str, T]:
    return {name: T(type_) for name, type_ in dataset()["traits_columns"].items()}


def columns(table: str) -> dict[str, T]:
    """Column name → type of every fixture table, in table order."""
    if table in KINDS:
        cols = {c.name: c.type for c in KINDS[table].columns}
        cols.update({a.name: a.type for a in extra_attributes() if a.kind == table})
        return cols
    cols = {}
    for part in SYSTEM_TABLES[table].split(","):
        name, type_ = part.split()[:2]
        cols[name] = _SYSTEM_TYPES[type_]
    if table == "traits":
        cols.update(trait_types())
    return cols


def _value(value: Any, type_: T) -> Any:
    if value is None:
        return None
    if type_ is T.DECIMAL:
        return Decimal(str(value))
    if type_ is T.NUMBER:
        return float(value)
    if type_ is T.JSON:
        return json.dumps(value, ensure_ascii=False)
    if type_ is T.TIMESTAMP:
        assert isinstance(value, datetime) and value.tzinfo is not None, value
    if type_ is T.DATE:
        assert isinstance(value, date) and not isinstance(value, datetime), value
    return value


def rows(table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cols = columns(table)
    names = list(cols)
    data = dataset()["tables"].get(table, [])
    for row in data:
        unknown = set(row) - set(cols)
        assert not unknown, f"{table}: unknown columns {unknown}"
    return names, [tuple(_value(row.get(n), cols[n]) for n in names) for row in data]


def profile_ids() -> set[str]:
    return {row["profile_id"] for row in dataset()["tables"]["profiles"]}


# -- DuckDB -----------------------------------------------------------------------


def duckdb_warehouse() -> DuckDBWarehouse:
    """An in-memory warehouse made by the real adapter, holding the fixture rows."""
    wh = DuckDBWarehouse(":memory:")
    wh.ensure_tables(extra_attributes())
    for name, type_ in trait_types().items():
        wh.add_column("traits", name, type_)
    for table in dataset()["tables"]:
        names, values = rows(table)
        cols = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        wh.con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
    return wh


# -- PostgreSQL ---------------------------------------------------------------------


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def load_postgres(sqlalchemy_url: str) -> None:
    """Create every warehouse table in the (empty) database and copy the fixture rows."""
    import psycopg

    with psycopg.connect(psycopg_url(sqlalchemy_url), autocommit=True) as con:
        tables = [*KINDS, *SYSTEM_TABLES]
        for table in tables:
            cols = ", ".join(f'"{n}" {t.postgres_type}' for n, t in columns(table).items())
            con.execute(f'CREATE TABLE "{table}" ({cols})')
        for table in dataset()["tables"]:
            names, values = rows(table)
            cols = ", ".join(f'"{n}"' for n in names)
            marks = ", ".join("%s" for _ in names)
            with con.cursor() as cur:
                cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', values)


def query_postgres(sqlalchemy_url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(psycopg_url(sqlalchemy_url)) as con:
        return con.execute(sql).fetchall()


# -- rules over this dataset -------------------------------------------------------------


def check_context():  # -> CheckContext
    """What rules over the fixture warehouse may name."""
    from segflow.rules.check import CheckContext

    tables = dataset()["tables"]
    return CheckContext(
        profile_attributes=columns("profiles"),
        account_attributes=columns("accounts"),
        order_columns=columns("orders"),
        item_columns=columns("order_items"),
        tags={row["tag"] for row in tables["tag_assignments"]},
        traits=trait_types(),
        segments={row["segment"]: None for row in tables["segment_members"]},
    )


def checked(data: Any):  # -> Condition
    """Rule data (as loaded from YAML) → the checked tree the compiler takes."""
    from segflow.rules.check import check_rule
    from segflow.rules.parse import parse_rule

    tree, _warnings = check_rule(parse_rule(data), check_context())
    return tree
