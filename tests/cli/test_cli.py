"""The segflow command as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    full_env.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=120
    )


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    result = run("init", str(tmp_path / "shop"), "--phone-country", "CN")
    assert result.returncode == 0, result.stderr
    return tmp_path / "shop"


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("init", "load", "sql", "generate", "demo", "status", "schema"):
        assert command in result.stdout


def test_load_json_summary_and_exit_codes(proj: Path, tmp_path: Path) -> None:
    file = tmp_path / "e.csv"
    file.write_text("event_id,profile_id,event,ts\ne1,p1,login,2026-01-01\ne2,p1,login,never\ne1,p1,login,2026-01-01\n")
    result = run("load", "events", str(file), "--project", str(proj), "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["duplicates"]) == (1, 1, 1)
    assert Path(summary["rejects_file"]).is_file()
    assert "never" in Path(summary["rejects_file"]).read_text()


def test_unreadable_file_exits_1_with_one_line(proj: Path, tmp_path: Path) -> None:
    file = tmp_path / "o.csv"
    file.write_text("order_id,amount\no1,3\n")
    result = run("load", "orders", str(file), "--project", str(proj), "--format", "json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"Error: {file}: required column 'profile_id' is missing (columns: order_id, amount)"


def test_sql_formats_and_refuses_writes(proj: Path, tmp_path: Path) -> None:
    file = tmp_path / "p.csv"
    file.write_text("profile_id,city\np1,北京\np2,Moscow\n", encoding="utf-8")
    assert run("load", "profiles", str(file), "-p", str(proj)).returncode == 0
    as_json = run("sql", "SELECT profile_id, city FROM profiles ORDER BY 1", "-p", str(proj), "--format", "json")
    assert json.loads(as_json.stdout) == [{"profile_id": "p1", "city": "北京"}, {"profile_id": "p2", "city": "Moscow"}]
    as_csv = run("sql", "SELECT profile_id FROM profiles ORDER BY 1", "-p", str(proj), "--format", "csv")
    assert as_csv.stdout.splitlines() == ['"profile_id"', '"p1"', '"p2"']
    refused = run("sql", "DROP TABLE profiles", "-p", str(proj))
    assert refused.returncode == 1
    assert refused.stderr.strip() == "Error: segflow sql only reads: DROP is not allowed"


def test_project_from_environment_and_missing_project(proj: Path, tmp_path: Path) -> None:
    ok = run("status", env={"SEGFLOW_PROJECT": str(proj)})
    assert ok.returncode == 0 and "profiles" in ok.stdout
    missing = run("status", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith(f"Error: no segflow project at {tmp_path.resolve()}")
    # The CLI adds the command-line way out (the domain error names no flag).
    assert "Hint: run `segflow init DIR`, or pass --project DIR" in missing.stderr


def test_schema_add_and_show(proj: Path) -> None:
    assert run("schema", "add", "profiles", "vip_score", "number", "--label", "VIP", "-p", str(proj)).returncode == 0
    shown = json.loads(run("schema", "show", "profiles", "-p", str(proj), "--format", "json").stdout)
    assert {"name": "vip_score", "type": "number", "label": "VIP", "origin": "declared"} in shown["profiles"]
    bad = run("schema", "add", "profiles", "x", "money", "-p", str(proj))
    assert bad.returncode == 1
    assert "unknown type 'money'" in bad.stderr


def test_sql_csv_writes_lists_as_json(proj: Path, tmp_path: Path) -> None:
    result = run("sql", "SELECT ['a', 'b'] AS tags, {'k': 1} AS s, 3 AS n", "-p", str(proj), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ['"tags","s","n"', '"[""a"", ""b""]","{""k"": 1}",3']


def test_usage_errors_are_short(proj: Path) -> None:
    result = run("sql", "SELECT 1", "-p", str(proj), "--format", "xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Invalid value for '--format'" in result.stderr


def test_ctrl_c_during_a_load_exits_130_and_writes_nothing(proj: Path, tmp_path: Path) -> None:
    import signal
    import sqlite3
    import time

    import duckdb

    big = tmp_path / "big.csv"
    duckdb.sql(
        "COPY (SELECT 'e' || i AS event_id, 'p' || (i % 5000) AS profile_id, 'page_view' AS event, "
        f"TIMESTAMP '2026-01-01' + to_seconds(i) AS ts FROM range(1500000) t(i)) TO '{big}' (HEADER)"
    )
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    proc = subprocess.Popen([sys.executable, "-m", "segflow.cli.app", "load", "events", str(big), "-p", str(proj)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with sqlite3.connect(proj / ".segflow" / "state.db") as db:
            if db.execute("SELECT count(*) FROM loads WHERE status = 'running'").fetchone()[0]:
                break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted: nothing of the file being loaded was written." in stderr
    counted = run("sql", "SELECT count(*) AS n FROM events", "-p", str(proj), "--format", "json")
    assert json.loads(counted.stdout) == [{"n": 0}]
