"""The Mautic-style baseline of the rule suite: a segment rebuilt the way Mautic's
``mautic:segments:update`` does it, on a row store (PostgreSQL here; Mautic runs on MySQL).

* The data lives in row tables shaped like Mautic's (``leads``, ``lead_event_log``,
  ``orders``) with the indexes Mautic keeps (contact id; event and time).
* Each filter of the segment is one SQL statement returning contact ids; the filters
  are combined in the application (Mautic composes its per-filter expressions in PHP).
* The members are written back into ``lead_lists_leads`` one ``INSERT`` per contact,
  committed in batches of 300 (Mautic's default batch limit), after deleting members
  that left, also one statement each.

:func:`prepare` copies the warehouse's data once into a PostgreSQL database kept
between runs (only the rows of the rule's event names: fewer rows than Mautic would
hold, which favours the baseline). :func:`rebuild` is what the suite times.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.baselines.pandas_rule import AGES, APP_OPEN_DAYS, CITIES, EVENT_NAMES, LEVELS, SPENT_90D

__all__ = ["prepare", "rebuild", "BATCH"]

BATCH = 300
LIST_ID = 1

_TABLES = {
    "leads": ("SELECT profile_id, city, age, member_level, created_at FROM profiles",
              "id TEXT PRIMARY KEY, city TEXT, age BIGINT, member_level TEXT, created_at TIMESTAMPTZ"),
    "lead_event_log": (f"SELECT profile_id, event, ts FROM events WHERE profile_id IS NOT NULL "
                       f"AND event IN ({', '.join(repr(n) for n in EVENT_NAMES)})",
                       "lead_id TEXT NOT NULL, event TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL"),
    "orders": ("SELECT profile_id, ts, amount, status FROM orders",
               "lead_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, amount NUMERIC(18, 4), status TEXT"),
}
_INDEXES = (
    "CREATE INDEX ON lead_event_log (lead_id)",
    "CREATE INDEX ON lead_event_log (event, ts)",
    "CREATE INDEX ON orders (lead_id)",
    "CREATE INDEX ON orders (ts)",
    "CREATE INDEX ON leads (city)",
)


def _admin(admin_url: str) -> Any:
    import psycopg

    return psycopg.connect(admin_url, autocommit=True, connect_timeout=5)


def prepare(duck: Any, admin_url: str, dbname: str) -> str:
    """Copy the warehouse *duck* (a DuckDB connection) into PostgreSQL database *dbname*
    (made once; a database with a ``ready`` table is reused). Returns its URL."""
    import psycopg

    url = admin_url.rsplit("/", 1)[0] + f"/{dbname}"
    with _admin(admin_url) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchall()
        if exists:
            with psycopg.connect(url) as con:
                ready = con.execute("SELECT to_regclass('ready') IS NOT NULL").fetchall()[0][0]
            if ready:
                return url
            admin.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    with psycopg.connect(url) as con, tempfile.TemporaryDirectory(prefix="mautic-") as tmp:
        for table, (select, columns) in _TABLES.items():
            con.execute(f"CREATE TABLE {table} ({columns})")
            path = Path(tmp) / f"{table}.csv"
            duck.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER false)")
            with con.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy, open(path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    copy.write(chunk)
            path.unlink()
        for ddl in _INDEXES:
            con.execute(ddl)
        con.execute("CREATE TABLE lead_lists_leads (leadlist_id INT, lead_id TEXT, date_added TIMESTAMPTZ, "
                    "PRIMARY KEY (leadlist_id, lead_id))")
        con.execute("CREATE TABLE ready ()")
        con.commit()
    with psycopg.connect(url, autocommit=True) as con:  # VACUUM runs outside a transaction
        con.execute("VACUUM ANALYZE")
    return url


def reset(url: str) -> None:
    """Empty the list, so every timed rebuild starts from the same state."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("TRUNCATE lead_lists_leads")


def _ids(cur: Any, sql: str, params: list[Any]) -> set[str]:
    cur.execute(sql, params)
    return {r[0] for r in cur.fetchall()}


def rebuild(url: str, as_of: datetime) -> tuple[set[str], dict[str, float]]:
    """Rebuild the segment list: (members, seconds per phase: filters, write)."""
    import psycopg

    t = as_of
    phases: dict[str, float] = {}
    with psycopg.connect(url) as con:
        cur = con.cursor()
        started = time.perf_counter()
        existed = _ids(cur, "SELECT id FROM leads WHERE created_at IS NULL OR created_at <= %s", [t])
        city = _ids(cur, "SELECT id FROM leads WHERE city = ANY(%s)", [list(CITIES)])
        age = _ids(cur, "SELECT id FROM leads WHERE age BETWEEN %s AND %s", list(AGES))
        viewed = _ids(cur, "SELECT lead_id FROM lead_event_log WHERE event = 'view_product' AND ts > %s AND ts <= %s "
                           "GROUP BY lead_id HAVING count(*) >= 1", [t - timedelta(days=7), t])
        not_ordered = _ids(cur, "SELECT l.id FROM leads l WHERE NOT EXISTS (SELECT 1 FROM lead_event_log e "
                                "WHERE e.lead_id = l.id AND e.event = 'order_paid' AND e.ts > %s AND e.ts <= %s)",
                           [t - timedelta(days=7), t])
        spent = _ids(cur, "SELECT lead_id FROM orders WHERE status = 'paid' AND ts > %s AND ts <= %s "
                          "GROUP BY lead_id HAVING sum(amount) >= %s", [t - timedelta(days=90), t, SPENT_90D])
        level = _ids(cur, "SELECT id FROM leads WHERE member_level = ANY(%s)", [list(LEVELS)])
        recent = _ids(cur, "SELECT lead_id FROM lead_event_log WHERE event = 'app_open' AND ts <= %s "
                           "GROUP BY lead_id HAVING max(ts) > %s", [t, t - timedelta(days=APP_OPEN_DAYS)])
        members = existed & city & age & viewed & not_ordered & (spent | level) & recent
        phases["filters"] = time.perf_counter() - started

        started = time.perf_counter()
        current = _ids(cur, "SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s", [LIST_ID])
        pending = 0
        for lead in sorted(current - members):
            cur.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = %s AND lead_id = %s", [LIST_ID, lead])
            pending += 1
            if pending % BATCH == 0:
                con.commit()
        now = datetime.now(as_of.tzinfo)
        for lead in sorted(members - current):
            cur.execute("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added) VALUES (%s, %s, %s)",
                        [LIST_ID, lead, now])
            pending += 1
            if pending % BATCH == 0:
                con.commit()
        con.commit()
        phases["write"] = time.perf_counter() - started
    return members, phases
