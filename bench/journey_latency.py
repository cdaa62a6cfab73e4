"""Event-triggered journeys: time from an event's arrival to its outbox row, under a steady stream.

    python bench/run.py latency --profiles 100000 --rate 200 --seconds 30

A fresh project with ``--profiles`` profiles and one journey (``entry: {event: signed_up}``,
first node an e-mail to the file channel) is served by ``segflow serve`` in a subprocess (the
worker inside, ``--interval`` between rounds). A sender in this process posts one ``/v1/track``
call per event at ``--rate`` events per second for ``--seconds``, each for a different profile,
recording when each was sent. An event's latency is its outbox row's ``created_at`` (the step that
queued the message) minus the moment it was sent: HTTP, the inbox commit, the flush into the
warehouse, the journeys tick that takes it in as an entry, and the step. Reported: p50 / p90 / p99 /
max over every event, and whether every event got exactly one outbox row.

The same path through a file load (`segflow load events` while the server runs: the command
borrows the warehouse, and the server's next round takes the events in) is measured once for a
file of ``--rate`` events: from the end of the load command to the last outbox row.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    fresh_dir,
    machine_info,
    machine_line,
    markdown_table,
    save_results,
    source_digest,
)

__all__ = ["LatencyOptions", "render", "run_latency_suite"]

Reporter = Callable[[str], None]

JOURNEY = """\
name: welcome
entry: {event: signed_up}
re_entry: always
start: welcome
nodes:
  welcome:
    send: {channel: email, template: welcome}
    next: done
  done:
    exit: {}
"""
TEMPLATE = """\
channel: email
subject: "Welcome {{ profile.name | default('there') }}"
text: "Hello and welcome."
"""


@dataclass
class LatencyOptions:
    profiles: int = 100_000
    rate: float = 200.0
    seconds: float = 30.0
    interval: float = 0.2
    out: Path = REPO / "bench" / "out"
    docs: bool = True


def _project(opts: LatencyOptions) -> tuple[Path, str, str]:
    import segflow
    from segflow.access.keys import create_key

    root = fresh_dir(opts.out / "latency") / "proj"
    ws = segflow.init(root)
    csv = root.parent / "profiles.csv"
    with csv.open("w", encoding="utf-8") as fh:
        fh.write("profile_id,email,name\n")
        for i in range(opts.profiles):
            fh.write(f"p{i},p{i}@example.com,Person {i}\n")
    ws.load("profiles", [csv])
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "welcome.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "journeys" / "welcome.yaml").write_text(JOURNEY, encoding="utf-8")
    from segflow.definitions.plan import apply

    apply(ws)
    key = create_key(ws, "write", rate_limit=1e9).key
    state_db = str(ws.state.engine.url.database)
    ws.close()
    return root, key, state_db


def _serve(root: Path, interval: float) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, "-m", "segflow.cli.app", "serve", "--port", "0", "--project", str(root),
                             "--interval", str(interval), "--log-level", "warning"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    file = root / ".segflow" / "serve.json"
    deadline = time.monotonic() + 120
    while not file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("segflow serve did not start")
        time.sleep(0.05)
    return proc, str(json.loads(file.read_text())["url"])


def _stream(url: str, key: str, opts: LatencyOptions) -> dict[str, float]:
    """One track call per event at a steady rate; profile id → the wall time it was sent."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    n = int(opts.rate * opts.seconds)
    sent: dict[str, float] = {}
    start = time.monotonic()
    for i in range(n):
        due = start + i / opts.rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        pid = f"p{i % opts.profiles}"
        body = json.dumps({"type": "track", "userId": pid, "event": "signed_up", "messageId": uuid.uuid4().hex,
                           "properties": {"plan": "free"}}).encode()
        t = time.time()
        conn.request("POST", "/v1/track", body, {"Content-Type": "application/json", "Authorization": auth})
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"track answered {reply.status}")
        sent[pid] = t
    conn.close()
    return sent


def _outbox(state_db: str) -> dict[str, float]:
    con = sqlite3.connect(state_db, timeout=30)
    rows = con.execute("SELECT profile_id, created_at FROM outbox").fetchall()
    con.close()
    return {pid: datetime.fromisoformat(at).timestamp() for pid, at in rows}


def _wait_for(state_db: str, count: int, timeout: float = 120.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        got = _outbox(state_db)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def run_latency_suite(opts: LatencyOptions, report: Reporter) -> dict[str, Any]:
    report("latency: project")
    root, key, state_db = _project(opts)
    proc, url = _serve(root, opts.interval)
    try:
        report(f"latency: {opts.rate:g} events/s for {opts.seconds:g} s")
        sent = _stream(url, key, opts)
        queued = _wait_for(state_db, len(sent))
        latencies = sorted(queued[p] - t for p, t in sent.items() if p in queued)
        missing = sum(1 for p in sent if p not in queued)
        report("latency: a file load while the server runs")
        csv = root.parent / "events.csv"
        n_file = int(opts.rate)
        offset = len(sent)
        with csv.open("w", encoding="utf-8") as fh:
            fh.write("profile_id,event,ts,event_id\n")
            now = datetime.now().astimezone().isoformat()
            for i in range(n_file):
                fh.write(f"p{(offset + i) % opts.profiles},signed_up,{now},file-{i}\n")
        subprocess.run([sys.executable, "-m", "segflow.cli.app", "load", "events", str(csv), "--project", str(root)],
                       cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        loaded_at = time.time()
        after = _wait_for(state_db, len(queued) + n_file)
        file_rows = [at for p, at in after.items() if p not in queued]
        file_latency = (max(file_rows) - loaded_at) if file_rows else None
    finally:
        proc.terminate()
        proc.wait(60)
    data = {
        "options": {"profiles": opts.profiles, "rate": opts.rate, "seconds": opts.seconds, "interval": opts.interval},
        "machine": machine_info(), "source": source_digest(),
        "api": {"events": len(sent), "queued": len(latencies), "missing": missing,
                "p50_s": statistics.median(latencies) if latencies else None,
                "p90_s": _quantile(latencies, 0.90) if latencies else None,
                "p99_s": _quantile(latencies, 0.99) if latencies else None,
                "max_s": latencies[-1] if latencies else None},
        "file": {"events": n_file, "queued": len(file_rows), "last_after_load_s": file_latency},
    }
    save_results("latency", data, profiles=opts.profiles, seed=0, docs=opts.docs, render=render)
    return data


def render(saved: list[dict[str, Any]]) -> str:
    rows = []
    for d in saved:
        o, a, f = d["options"], d["api"], d["file"]
        rows.append([f"{o['profiles']:,}", f"{o['rate']:g}/s × {o['seconds']:g} s", f"{o['interval']:g} s",
                     f"{a['queued']:,} / {a['events']:,}", f"{a['p50_s']:.3f}", f"{a['p90_s']:.3f}", f"{a['p99_s']:.3f}",
                     f"{a['max_s']:.3f}",
                     "-" if f["last_after_load_s"] is None else
                     ("before it exited" if f["last_after_load_s"] <= 0 else f"{f['last_after_load_s']:.2f}")])
    table = markdown_table(["profiles", "stream", "interval", "outbox rows / events", "p50 s", "p90 s", "p99 s",
                            "max s", "file load → last row s"], rows, right={0, 3, 4, 5, 6, 7, 8})
    return ("### Event-triggered journeys: event → outbox row\n\n"
            "`python bench/run.py latency --profiles 100000 --rate 200 --seconds 30`: one `/v1/track` call per event "
            "at a steady rate into `segflow serve` (worker inside), a journey entered on the event whose first node "
            "queues an e-mail; latency = the outbox row's creation minus the send time (target p99 <= 1 s). "
            "The last column: a file of events loaded with `segflow load` while the server runs (the command "
            "borrows the warehouse, the server's next round takes the events in), from the command's exit to the "
            "last outbox row (\"before it exited\": the rows were there as the command gave the warehouse back).\n\n"
            + table + "\n\n" + machine_line(saved[-1]["machine"]))


if __name__ == "__main__":
    opts = LatencyOptions(profiles=int(sys.argv[1]) if len(sys.argv) > 1 else 10_000,
                          seconds=float(sys.argv[2]) if len(sys.argv) > 2 else 10.0, docs=False)
    print(json.dumps(run_latency_suite(opts, print), indent=1, default=str))
