"""The Mautic-style baseline of the segments suite: a list rebuilt the way
``mautic:segments:update`` writes it, on a row store: PostgreSQL (a client-server
database, as Mautic's MySQL is) when one answers, else SQLite in-process.

Mautic keeps segment members in ``lead_lists_leads (leadlist_id, lead_id, date_added,
manually_removed)``. Its rebuild asks for the contacts that match and are not in the
list, and for those in the list that no longer match, and writes them back *one
statement per contact*, committing every 300 (its default ``--batch-limit``). Mautic
also records each change for the contact's timeline; here one ``lead_list_changes`` row
per change plays that part, so both sides write the membership and the entered/exited
diff.

The evaluation is the same compiled rule run on the same DuckDB warehouse as segflow,
which favours the baseline (Mautic evaluates its filters on MySQL): what differs is how
the membership and the diff are written.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["BATCH", "LIST_ID", "Store", "members", "postgres_store", "prepare", "rebuild"]

BATCH = 300
LIST_ID = 1

_DDL = (
    "CREATE TABLE IF NOT EXISTS lead_lists_leads (leadlist_id INTEGER NOT NULL, lead_id TEXT NOT NULL, "
    "date_added TEXT NOT NULL, manually_removed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (leadlist_id, lead_id))",
    "CREATE TABLE IF NOT EXISTS lead_list_changes (leadlist_id INTEGER NOT NULL, lead_id TEXT NOT NULL, "
    "action TEXT NOT NULL, date_added TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_changes_list_date ON lead_list_changes (leadlist_id, date_added)",
)

#: The database the PostgreSQL side uses (created if missing, its tables replaced each run).
PG_DATABASE = "segflow_bench_mautic"


def postgres_store(admin_url: str) -> Store | None:
    """A :class:`Store` on database :data:`PG_DATABASE` of the server at *admin_url*, or None if none answers."""
    try:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone():
                admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    except Exception:
        return None
    return Store(admin_url.rsplit("/", 1)[0] + "/" + PG_DATABASE)


class Store:
    """The list's row store: ``Store("postgresql://...")`` or ``Store(Path("x.sqlite"))``."""

    def __init__(self, target: str | Path) -> None:
        self.target = target
        self.kind = "postgres" if isinstance(target, str) and target.startswith("postgresql") else "sqlite"

    def connect(self) -> Any:
        if self.kind == "postgres":
            import psycopg

            return psycopg.connect(str(self.target), autocommit=True)
        con = sqlite3.connect(self.target, isolation_level=None)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        return con

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.kind == "postgres" else text


def prepare(store: Store, ids: list[str], at: datetime) -> None:
    """A fresh list holding *ids* (the membership before the day of new events); not timed."""
    if store.kind == "sqlite":
        Path(store.target).unlink(missing_ok=True)
    con = store.connect()
    cur = con.cursor()
    cur.execute("DROP TABLE IF EXISTS lead_lists_leads")
    cur.execute("DROP TABLE IF EXISTS lead_list_changes")
    for ddl in _DDL:
        cur.execute(ddl)
    cur.execute("BEGIN")
    cur.executemany(store.sql("INSERT INTO lead_lists_leads VALUES (?, ?, ?, 0)"),
                    [(LIST_ID, i, at.isoformat()) for i in ids])
    cur.execute("COMMIT")
    if store.kind == "postgres":
        cur.execute("ANALYZE lead_lists_leads")
    con.close()


def members(store: Store) -> set[str]:
    con = store.connect()
    try:
        cur = con.cursor()
        cur.execute(store.sql("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ?"), (LIST_ID,))
        return {r[0] for r in cur.fetchall()}
    finally:
        con.close()


def rebuild(store: Store, duck: Any, rule_sql: str, at: datetime) -> dict[str, Any]:
    """Evaluate *rule_sql* on the DuckDB connection *duck*, then write the list the Mautic way.

    Returns ``{"entered", "exited", "members", "evaluate_s", "write_s", "statements"}``.
    """
    started = time.perf_counter()
    matching = {r[0] for r in duck.execute(f"SELECT DISTINCT profile_id FROM ({rule_sql}) AS r").fetchall()}
    evaluated = time.perf_counter()
    con = store.connect()
    cur = con.cursor()
    cur.execute(store.sql("SELECT lead_id FROM lead_lists_leads WHERE leadlist_id = ?"), (LIST_ID,))
    current = {r[0] for r in cur.fetchall()}
    to_add = sorted(matching - current)
    to_remove = sorted(current - matching)
    stamp = at.isoformat()
    insert = store.sql("INSERT INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_removed) "
                       "VALUES (?, ?, ?, 0)")
    delete = store.sql("DELETE FROM lead_lists_leads WHERE leadlist_id = ? AND lead_id = ?")
    change = store.sql("INSERT INTO lead_list_changes VALUES (?, ?, ?, ?)")
    statements = 0
    for start in range(0, len(to_add), BATCH):
        cur.execute("BEGIN")
        for lead in to_add[start:start + BATCH]:
            cur.execute(insert, (LIST_ID, lead, stamp))
            cur.execute(change, (LIST_ID, lead, "added", stamp))
            statements += 2
        cur.execute("COMMIT")
    for start in range(0, len(to_remove), BATCH):
        cur.execute("BEGIN")
        for lead in to_remove[start:start + BATCH]:
            cur.execute(delete, (LIST_ID, lead))
            cur.execute(change, (LIST_ID, lead, "removed", stamp))
            statements += 2
        cur.execute("COMMIT")
    cur.execute(store.sql("SELECT count(*) FROM lead_lists_leads WHERE leadlist_id = ?"), (LIST_ID,))
    size = cur.fetchone()[0]
    con.close()
    done = time.perf_counter()
    return {"entered": len(to_add), "exited": len(to_remove), "members": int(size),
            "evaluate_s": evaluated - started, "write_s": done - evaluated, "statements": statements}
