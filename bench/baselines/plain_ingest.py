"""The baseline of the tracking suite: a plain FastAPI endpoint that inserts each call into
SQLite in its own transaction (what a first tracking endpoint usually is).

    python bench/baselines/plain_ingest.py plain.sqlite 8099
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading

from fastapi import FastAPI


def make_app(path: str) -> FastAPI:
    app = FastAPI()
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "con"):
            local.con = sqlite3.connect(path, timeout=60, isolation_level=None)
        return local.con

    con = connection()
    con.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, message_id TEXT UNIQUE, "
                "type TEXT, user_id TEXT, event TEXT, ts TEXT, body TEXT)")

    @app.post("/v1/batch")
    def batch(payload: dict) -> dict:  # a sync endpoint: FastAPI runs it in its thread pool
        con = connection()
        for call in payload.get("batch", []):
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT OR IGNORE INTO events (message_id, type, user_id, event, ts, body) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (call.get("messageId"), call.get("type"), call.get("userId"), call.get("event"),
                         call.get("timestamp"), json.dumps(call)))
            con.execute("COMMIT")
        return {"success": True}

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                access_log=False)
