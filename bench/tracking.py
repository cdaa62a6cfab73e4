"""The tracking suite: Segment-compatible ingest on loopback, durable events per second.

    python bench/run.py tracking --events 200000 --connections 8 --batch 100

1. **segflow** — a fresh project served in a subprocess (``create_app`` over a ``Host`` with its
   background loop: the inbox flushed into the warehouse every 0.5 s, the worker's ticks); a
   load generator in a second process (``--connections`` threads, each a keep-alive
   ``http.client`` connection) posts ``/v1/batch`` requests of ``--batch`` track calls. An answer
   of 200 means the calls are committed in the inbox (group commit). Measured: events accepted
   per second, request latency p50 / p99, and the time from the last answer until the inbox has
   nothing pending (every event in the warehouse, queryable); the warehouse count is checked
   after the server stops.
2. **plain** (``bench/baselines/plain_ingest.py``) — the same load against a FastAPI endpoint
   that inserts each call into SQLite in its own transaction (the endpoint one writes first).

Figures go to ``bench/results/tracking-<events>-0.json`` and the ``tracking`` section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
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

__all__ = ["TrackingOptions", "render", "run_tracking_suite"]

Reporter = Callable[[str], None]


@dataclass
class TrackingOptions:
    events: int = 200_000
    batch: int = 100
    connections: int = 8
    #: Events per second of the second, paced run (the latency target is for a sustained rate).
    steady: float = 10_000.0
    out: Path = REPO / "bench" / "out"
    docs: bool = True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


# -- the segflow server (a subprocess) -------------------------------------------------------
def serve(root: str, port: int) -> None:
    import uvicorn

    import segflow
    from segflow.api.app import create_app
    from segflow.api.host import Host

    ws = segflow.open(root)
    uvicorn.run(create_app(Host(ws)), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load generator (a subprocess) -------------------------------------------------------
def generate_load(url: str, key: str, requests: int, batch: int, connections: int,
                  rate: float = 0.0) -> dict[str, Any]:
    """*requests* batches of *batch* calls over *connections* connections: as fast as the server
    answers (*rate* 0, a closed loop: throughput), or paced at *rate* events per second (an open
    loop: each request's latency counts from when it was due, so a server falling behind shows
    its queueing too)."""
    import base64
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = started + i * batch / rate if rate > 0 else None
            if due is not None and due > time.perf_counter():
                time.sleep(due - time.perf_counter())
            calls = [{"type": "track", "messageId": f"{n}-{i}-{j}-{uuid.uuid4().hex[:8]}",
                      "userId": f"u{(i * batch + j) % 5000}", "event": "view_product",
                      "properties": {"sku": f"SKU-{j}", "price": 19.9},
                      "context": {"ip": "127.0.0.1", "userAgent": "bench/1.0", "locale": "en-US"},
                      "timestamp": "2026-03-01T09:00:00Z"} for j in range(batch)]
            body = json.dumps({"batch": calls, "sentAt": "2026-03-01T09:00:01Z"}).encode()
            t0 = due if due is not None else time.perf_counter()
            conn.request("POST", "/v1/batch", body, {"Content-Type": "application/json", "Authorization": auth})
            reply = conn.getresponse()
            reply.read()
            mine.append(time.perf_counter() - t0)
            if reply.status != 200:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {"requests": requests, "events": requests * batch, "failures": failures[0], "seconds": seconds,
            "per_second": requests * batch / seconds, "ended_at": time.time(),
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def _run_load(url: str, key: str, opts: TrackingOptions, rate: float = 0.0) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.tracking", "load", url, key, str(opts.events // opts.batch),
                          str(opts.batch), str(opts.connections), str(rate)], cwd=REPO, capture_output=True,
                         check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _segflow_side(opts: TrackingOptions, report: Reporter) -> dict[str, Any]:
    import segflow
    from segflow.access.keys import create_key

    root = fresh_dir(opts.out / "tracking") / "proj"
    ws = segflow.init(root)
    key = create_key(ws, "write", rate_limit=1e9).key
    state_db = ws.state.engine.url.database
    ws.close()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.tracking", "serve", str(root), str(port)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    try:
        _wait_port(port, proc)
        report("segflow: load")
        load = _run_load(f"http://127.0.0.1:{port}", key, opts)
        report("segflow: waiting until queryable")
        con = sqlite3.connect(state_db, timeout=30)
        while con.execute("SELECT count(*) FROM inbox WHERE flushed_at IS NULL").fetchone()[0]:
            time.sleep(0.01)
        load["queryable_after_s"] = time.time() - load["ended_at"]
        if opts.steady > 0:
            report(f"segflow: a steady {opts.steady:,.0f} events/s")
            steady = _run_load(f"http://127.0.0.1:{port}", key, opts, rate=opts.steady)
            while con.execute("SELECT count(*) FROM inbox WHERE flushed_at IS NULL").fetchone()[0]:
                time.sleep(0.01)
            steady["queryable_after_s"] = time.time() - steady["ended_at"]
            load["steady"] = steady
        load["stored"] = con.execute("SELECT count(*) FROM inbox").fetchone()[0]
        con.close()
    finally:
        _stop(proc)
    ws = segflow.open(root)
    load["in_warehouse"] = ws.warehouse.count("SELECT count(*) FROM events")
    ws.close()
    return load


def _plain_side(opts: TrackingOptions, report: Reporter) -> dict[str, Any]:
    db = fresh_dir(opts.out / "tracking-plain") / "plain.sqlite"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "baselines" / "plain_ingest.py"), str(db),
                             str(port)], cwd=REPO)
    try:
        _wait_port(port, proc)
        report("plain: load")
        load = _run_load(f"http://127.0.0.1:{port}", "k", opts)
        load["queryable_after_s"] = 0.0  # each insert is its own commit
    finally:
        _stop(proc)
    con = sqlite3.connect(db)
    load["stored"] = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    return load


def run_tracking_suite(opts: TrackingOptions, report: Reporter) -> dict[str, Any]:
    opts.out.mkdir(parents=True, exist_ok=True)
    try:
        sides = {"segflow": _segflow_side(opts, report), "plain": _plain_side(opts, report)}
    finally:
        for scratch in ("tracking", "tracking-plain"):
            shutil.rmtree(opts.out / scratch, ignore_errors=True)
    data = {"options": {"profiles": opts.events, "events": opts.events, "batch": opts.batch,
                        "connections": opts.connections, "steady": opts.steady},
            "machine": machine_info(), "source": source_digest(), "sides": sides}
    save_results("tracking", data, profiles=opts.events, seed=0, docs=opts.docs, render=render)
    return data


def render(saved: list[dict[str, Any]]) -> str:
    parts = []
    for d in saved:
        o, s = d["options"], d["sides"]
        base = s["plain"]["per_second"]
        rows = [[name, f"{v['events']:,}", f"{v['seconds']:.2f}", f"{v['per_second']:,.0f}",
                 f"{v['per_second'] / base:.1f}×", f"{v['p50_ms']:.1f}", f"{v['p99_ms']:.1f}",
                 f"{v['queryable_after_s']:.2f}", f"{v['stored']:,}"]
                for name, v in (("segflow (group commit, flush to DuckDB)", s["segflow"]),
                                ("plain endpoint (a transaction per call)", s["plain"]))]
        steady = s["segflow"].get("steady")
        if steady:
            rows.insert(1, [f"segflow at a steady {o.get('steady', 0):,.0f} events/s", f"{steady['events']:,}",
                            f"{steady['seconds']:.2f}", f"{steady['per_second']:,.0f}",
                            f"{steady['per_second'] / base:.1f}×", f"{steady['p50_ms']:.1f}",
                            f"{steady['p99_ms']:.1f}", f"{steady['queryable_after_s']:.2f}", "-"])
        warehouse = s["segflow"].get("in_warehouse")
        parts.append(
            f"{o['events']:,} track calls in batches of {o['batch']} over {o['connections']} keep-alive connections "
            f"from a second process (`python bench/run.py tracking --events {o['events']} --batch {o['batch']} "
            f"--connections {o['connections']} --steady {o.get('steady', 0):.0f}`); {machine_line(d['machine'])}\n\n"
            + markdown_table(["side", "events", "seconds", "events/s", "ratio", "p50 ms", "p99 ms",
                              "queryable after s", "stored"], rows, right={1, 2, 3, 4, 5, 6, 7, 8})
            + (f"\n\nEvents in the warehouse after the server stopped: {warehouse:,}.\n" if warehouse is not None
               else "\n"))
    return "\n".join(parts)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "load":
        print(json.dumps(generate_load(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                                       int(sys.argv[6]), float(sys.argv[7]) if len(sys.argv) > 7 else 0.0)))
