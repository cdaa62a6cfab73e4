"""A load killed mid-way (SIGKILL, no clean-up at all) leaves all of the file or none of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

import segflow


def test_killed_load_writes_nothing(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "p")
    first = tmp_path / "first.csv"
    first.write_text("event_id,profile_id,event,ts\nx1,p1,login,2026-01-01\n", encoding="utf-8")
    ws.load("events", [first])
    root = ws.root
    ws.close()
    big = tmp_path / "big.csv"
    duckdb.sql(
        "COPY (SELECT 'e' || i AS event_id, 'p' || (i % 5000) AS profile_id, 'page_view' AS event, "
        "TIMESTAMP '2026-01-01' + to_seconds(i) AS ts FROM range(1500000) t(i)) "
        f"TO '{big}' (HEADER)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "segflow.cli.app", "load", "events", str(big), "--project", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    state = root / ".segflow" / "state.db"
    deadline = time.monotonic() + 60
    import sqlite3

    running = False
    while time.monotonic() < deadline and proc.poll() is None:
        with sqlite3.connect(state) as db:
            running = db.execute("SELECT count(*) FROM loads WHERE status = 'running'").fetchone()[0] == 1
        if running:
            break
        time.sleep(0.05)
    assert running, "the load never started"
    time.sleep(0.5)  # well inside the load of 1.5M rows
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with segflow.open(root) as ws:
        n = ws.sql("SELECT count(*) AS n FROM events").to_pylist()[0]["n"]
    assert n in (1, 1_500_001)
    assert n == 1, "the load finished before the kill; make the file bigger"
