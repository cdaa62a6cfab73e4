"""Fast batch writes to the state store: COPY on PostgreSQL, the driver's executemany on SQLite.

SQLAlchemy's per-row parameter processing is most of the time of a large ``executemany``; these
helpers write values as SQLAlchemy's types would store them, so rows written here read back
through SQLAlchemy like any other. Used by the journeys engine (runs, steps, outbox) and the
tracking inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["bulk_insert"]

_TEMP = iter(range(1, 1 << 62))


def _pg_temp(conn: Connection, table: sa.Table, columns: list[str], rows: Iterable[Sequence[Any]]) -> str:
    """COPY *rows* (values of *columns*, typed as in *table*) into a temporary table dropped at commit;
    its name. PostgreSQL only: COPY is the fast way in, a statement per batch instead of per row."""
    name = f"_segflow_batch_{next(_TEMP)}"
    raw = conn.connection.driver_connection
    types = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=conn.dialect)}' for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(f"CREATE TEMP TABLE {name} ({types}) ON COMMIT DROP")
        with cur.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return name


def bulk_insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]], *, ignore_conflicts: bool = False
                ) -> None:
    """INSERT *rows* (dicts with the same keys): COPY and one INSERT ... SELECT on PostgreSQL, the
    driver's ``executemany`` on SQLite (in-process, fast); with *ignore_conflicts*, rows a
    unique key already holds are skipped (``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    name = conn.dialect.name
    if name == "postgresql":
        columns = list(rows[0])
        temp = _pg_temp(conn, table, columns, ([r[c] for c in columns] for r in rows))
        quoted = ", ".join(f'"{c}"' for c in columns)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {temp}{conflict}')
    elif name == "sqlite":
        # The driver's executemany with the values as SQLAlchemy would store them (its per-row
        # parameter processing is most of the time otherwise).
        columns = list(rows[0])
        quoted = ", ".join(f'"{c}"' for c in columns)
        verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
        times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.DateTime)]
        pick = itemgetter(*columns)
        data: list[Any] = [pick(r) for r in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
        if times:
            data = [tuple(_sqlite_value(v) if i in times else v for i, v in enumerate(row)) for row in data]
        conn.exec_driver_sql(f'{verb} INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in columns)})',
                             data)
    elif not ignore_conflicts:  # another store: SQLAlchemy's executemany
        conn.execute(table.insert(), rows)
    else:  # another store, skipping conflicts row by row
        for row in rows:
            try:
                with conn.begin_nested():
                    conn.execute(table.insert(), [row])
            except sa.exc.IntegrityError:
                pass


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy's SQLite types store it: times as UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return _sqlite_time(value) if isinstance(value, datetime) else value


@lru_cache(maxsize=8192)
def _sqlite_time(value: datetime) -> str:
    """(A batch's times are mostly the same few: each is formatted once.)"""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")


