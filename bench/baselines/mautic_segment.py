"""The Mautic-style baseline of the rule suite: a segment rebuilt the way Mautic's
``mautic:segments:update`` does it, on a row store (PostgreSQL here; Mautic runs on MySQL).

* The data lives in row tables shaped like Mautic's (``leads``, ``lead_event_log``,
  ``orders``) with the indexes Mautic keeps (contact id; event and time).
* The segment is one query with a subquery per filter (Mautic's
  ContactSegmentQueryBuilder); its rebuild (``ListModel::rebuildListLeads``) counts the
  contacts to add, then re-runs the query for each batch of 300 contacts not yet listed
  (Mautic's default batch limit) and writes each one with its own ``INSERT``, committing
  per batch; contacts that left are removed the same way, one ``DELETE`` each.

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


def _segment_sql() -> str:
    """The segment as one query over the row tables, each filter a subquery, as Mautic's
    ContactSegmentQueryBuilder writes it (parameters: see :func:`_params`)."""
    return (
        "SELECT l.id FROM leads l WHERE (l.created_at IS NULL OR l.created_at <= %(t)s)"
        " AND l.city = ANY(%(cities)s) AND l.age BETWEEN %(age_lo)s AND %(age_hi)s"
        " AND l.id IN (SELECT e.lead_id FROM lead_event_log e WHERE e.event = 'view_product'"
        "   AND e.ts > %(week)s AND e.ts <= %(t)s GROUP BY e.lead_id HAVING count(*) >= 1)"
        " AND NOT EXISTS (SELECT 1 FROM lead_event_log e WHERE e.lead_id = l.id AND e.event = 'order_paid'"
        "   AND e.ts > %(week)s AND e.ts <= %(t)s)"
        " AND (l.id IN (SELECT o.lead_id FROM orders o WHERE o.status = 'paid' AND o.ts > %(quarter)s"
        "   AND o.ts <= %(t)s GROUP BY o.lead_id HAVING sum(o.amount) >= %(spent)s)"
        "   OR l.member_level = ANY(%(levels)s))"
        " AND l.id IN (SELECT e.lead_id FROM lead_event_log e WHERE e.event = 'app_open' AND e.ts <= %(t)s"
        "   GROUP BY e.lead_id HAVING max(e.ts) > %(recent)s)"
    )


def _params(t: datetime) -> dict[str, Any]:
    return {"t": t, "cities": list(CITIES), "age_lo": AGES[0], "age_hi": AGES[1], "week": t - timedelta(days=7),
            "quarter": t - timedelta(days=90), "spent": SPENT_90D, "levels": list(LEVELS),
            "recent": t - timedelta(days=APP_OPEN_DAYS), "list": LIST_ID, "batch": BATCH}


_NOT_LISTED = " AND NOT EXISTS (SELECT 1 FROM lead_lists_leads ll WHERE ll.leadlist_id = %(list)s AND ll.lead_id = l.id)"


def rebuild(url: str, as_of: datetime) -> tuple[set[str], dict[str, float]]:
    """Rebuild the segment list as Mautic's ``ListModel::rebuildListLeads`` does:
    (members, {"count": s, "batches": s, "queries": n}).

    1. count the contacts to add (the segment query, minus those already listed);
    2. while some are left: run the segment query again for the next 300 not yet listed,
       and add them one ``INSERT`` each, committing per batch;
    3. the same for contacts that left (listed, no longer matching), one ``DELETE`` each.

    Mautic sleeps ``batch_sleep_time`` (1 s by default) between batches; this does not.
    """
    import psycopg

    params = _params(as_of)
    segment = _segment_sql()
    phases = {"queries": 0.0}
    now = datetime.now(as_of.tzinfo)
    with psycopg.connect(url) as con:
        cur = con.cursor()
        started = time.perf_counter()
        cur.execute(f"SELECT count(*) FROM ({segment}{_NOT_LISTED}) n", params)
        to_add = int(cur.fetchall()[0][0])
        phases["queries"] += 1
        phases["count"] = time.perf_counter() - started
        started = time.perf_counter()
        added = 0
        while added < to_add:
            cur.execute(f"{segment}{_NOT_LISTED} ORDER BY l.id LIMIT %(batch)s", params)
            batch = [r[0] for r in cur.fetchall()]
            phases["queries"] += 1
            if not batch:
                break
            for lead in batch:
                cur.execute("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added) VALUES (%s, %s, %s)",
                            [LIST_ID, lead, now])
            con.commit()
            added += len(batch)
        orphans = f"SELECT ll.lead_id FROM lead_lists_leads ll WHERE ll.leadlist_id = %(list)s AND ll.lead_id NOT IN ({segment})"
        while True:
            cur.execute(f"{orphans} LIMIT %(batch)s", params)
            gone = [r[0] for r in cur.fetchall()]
            phases["queries"] += 1
            if not gone:
                break
            for lead in gone:
                cur.execute("DELETE FROM lead_lists_leads WHERE leadlist_id = %s AND lead_id = %s", [LIST_ID, lead])
            con.commit()
        phases["batches"] = time.perf_counter() - started
        cur.execute("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = %s", [LIST_ID])
        members = {r[0] for r in cur.fetchall()}
    return members, phases
