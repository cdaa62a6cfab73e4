"""The server's own parts: error bodies, body limits, the warehouse lock and lending it to
other processes (a real `segflow serve` and real CLI commands in other processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from segflow.api.host import Host
from segflow.errors import BusyError
from segflow.workspace import Workspace

SEGFLOW = [sys.executable, "-m", "segflow.cli.app"]


def test_health_and_unknown_routes_answer_in_the_error_shape(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    r = client.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "message": "Not Found", "path": None}


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    r = client.post("/api/definitions/segment/x", content=b"x" * (1024 * 1024 + 1),
                    headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413
    assert r.json()["code"] == "request_too_large"


def test_the_openapi_document_lists_the_routes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "segflow"
    assert not any(p.startswith("/internal") for p in doc["paths"])


def test_the_warehouse_has_one_holder_at_a_time(host: Host) -> None:
    order: list[str] = []
    inside = threading.Event()

    def other() -> None:
        with host.warehouse(wait=10):
            order.append("other")

    with host.warehouse() as wh:
        assert wh.scalar("SELECT 1") == 1
        with host.warehouse():  # re-entrant in the same thread
            pass
        t = threading.Thread(target=other)
        t.start()
        inside.wait(0.2)
        order.append("first")
    t.join(10)
    assert order == ["first", "other"]


def test_lent_warehouse_is_busy_and_comes_back_when_the_borrower_dies(host: Host) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(done.stdout)  # a process that has exited
    host.lend(os.getpid() + 10_000_000 if dead_pid == os.getpid() else dead_pid)
    assert host.lent_to is not None
    assert "warehouse" not in host.ctx.__dict__  # closed: the borrower can open the file
    with pytest.raises(BusyError) as info, host.warehouse(wait=0):
        pass
    assert info.value.code == "warehouse_busy"
    host.step()  # notices the borrower is gone
    assert host.lent_to is None
    with host.warehouse(wait=0) as wh:
        assert wh.scalar("SELECT 2") == 2


def _serve(root: Path) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    proc = subprocess.Popen([*SEGFLOW, "serve", "--port", "0", "--project", str(root), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    file = root / ".segflow" / "serve.json"
    deadline = time.monotonic() + 60
    while not file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"segflow serve did not start: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.1)
    return proc, json.loads(file.read_text())


def test_cli_commands_borrow_the_warehouse_while_the_server_runs(project: Workspace, write) -> None:
    import httpx

    root = project.root
    project.load("profiles", [write("p.csv", "profile_id,email\np1,a@x.com\np2,b@x.com\n")])
    project.close()
    proc, info = _serve(root)
    try:
        env = {**os.environ, "SEGFLOW_PROJECT": str(root)}
        loaded = subprocess.run([*SEGFLOW, "load", "profiles", str(write("q.csv", "profile_id,email\np3,c@x.com\n"))],
                                capture_output=True, text=True, env=env, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        counted = subprocess.run([*SEGFLOW, "sql", "SELECT count(*) AS n FROM profiles", "--format", "json"],
                                 capture_output=True, text=True, env=env, timeout=120)
        assert counted.returncode == 0, counted.stderr
        assert json.loads(counted.stdout)[0]["n"] == 3
        assert httpx.get(f"{info['url']}/health", timeout=10).json()["status"] == "ok"
        # the server holds the warehouse again: a direct open (no lending) fails on DuckDB's lock
        import duckdb

        time.sleep(1.5)  # its next round reopens it
        with pytest.raises(duckdb.Error):
            duckdb.connect(str(root / ".segflow" / "warehouse.duckdb")).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert not (root / ".segflow" / "serve.json").exists()  # removed at shutdown
