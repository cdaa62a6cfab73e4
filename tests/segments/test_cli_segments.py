"""The segment, plan, apply and worker commands as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from segshop import BJ_VIEWERS, VIEWERS

from segflow.workspace import Workspace


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def proj(shop: Workspace, define) -> Path:
    define("viewers", VIEWERS)
    define("bj_viewers", BJ_VIEWERS)
    define("picks", "type: static\n")
    shop.close()  # the subprocesses open the project
    return shop.root


def test_plan_apply_refresh_members_history(proj: Path, tmp_path: Path) -> None:
    p = ("--project", str(proj))
    plan = run("plan", *p, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    assert {c["name"]: c["action"] for c in json.loads(plan.stdout)["changes"]} == {
        "viewers": "new", "bj_viewers": "new", "picks": "new"}
    applied = run("apply", *p, "--no-refresh")
    assert applied.returncode == 0, applied.stderr
    assert "new segment viewers → version 1" in applied.stdout
    refreshed = run("segment", "refresh", "--all", "--as-of", "2026-03-10T00:00:00Z", *p, "--format", "json")
    assert refreshed.returncode == 0, refreshed.stderr
    assert [(r["name"], r["members"]) for r in json.loads(refreshed.stdout)] == [("viewers", 3), ("bj_viewers", 2)]
    members = run("segment", "members", "bj_viewers", "--columns", "city", *p)
    assert members.stdout.splitlines()[0] == '"profile_id","entered_at","city"'
    assert [line.split(",")[0] for line in members.stdout.splitlines()[1:]] == ['"p1"', '"p4"']
    history = run("segment", "history", "viewers", "--changes", "--format", "json", *p)
    assert sorted(r["profile_id"] for r in json.loads(history.stdout)) == ["p1", "p2", "p4"]
    out = tmp_path / "cm.csv"
    export = run("segment", "export", "viewers", "--to", str(out), "--format", "customer-match", *p)
    assert export.returncode == 0, export.stderr
    assert out.read_text().splitlines()[0] == '"Email","Phone"'


def test_add_reports_unknown_ids_and_usage_errors(proj: Path, tmp_path: Path) -> None:
    p = ("--project", str(proj))
    assert run("apply", *p, "--no-refresh").returncode == 0
    ids = tmp_path / "ids.txt"
    ids.write_text("p1\nghost\np2\n")
    added = run("segment", "add", "picks", "p3", "--file", str(ids), *p)
    assert added.returncode == 0, added.stderr
    assert "Added 3 profiles; picks has 3 members" in added.stdout
    assert "1 unknown profile ids not added: ghost" in added.stderr
    overlap = run("segment", "overlap", "picks", "viewers", *p, "--format", "json")
    assert json.loads(overlap.stdout)["sizes"] == {"picks": 3, "viewers": 0}
    both = run("segment", "refresh", "viewers", "--all", *p)
    assert both.returncode == 1 and "not both" in both.stderr
    static = run("segment", "refresh", "picks", *p)
    assert static.returncode == 1 and static.stderr.count("\n") == 1 and "is static" in static.stderr


def test_plan_lists_every_invalid_rule_and_exits_1(proj: Path) -> None:
    (proj / "segments" / "bad1.yaml").write_text("rule: {attr: shoe_size, gt: 40}\n")
    (proj / "segments" / "bad2.yaml").write_text("rule: {all: [{event: view_product, within: 3 days}]}\n")
    result = run("plan", "--project", str(proj))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: segments/bad1.yaml: rule.attr: unknown")
    assert lines[1].startswith("Error: segments/bad2.yaml: rule.all[0].within")


def test_a_future_as_of_warns_on_stderr_and_the_command_still_runs(proj: Path) -> None:
    from datetime import timedelta

    from segflow.clock import now

    p = ("--project", str(proj))
    assert run("apply", *p, "--no-refresh").returncode == 0
    future = (now() + timedelta(days=30)).replace(microsecond=0)
    refreshed = run("segment", "refresh", "--all", "--as-of", future.isoformat(), *p, "--format", "json")
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stderr.splitlines()[0] == (f"Warning: as of {future.isoformat()} is in the future: data after "
                                                "now does not exist yet, windows reach past it")
    assert [r["name"] for r in json.loads(refreshed.stdout)] == ["viewers", "bj_viewers"]
    past = run("segment", "refresh", "--all", "--as-of", "2026-03-10T00:00:00Z", *p, "--format", "json")
    assert past.returncode == 0 and "Warning" not in past.stderr


def test_export_follows_the_suffix_and_refuses_one_it_cannot_write(proj: Path, tmp_path: Path) -> None:
    p = ("--project", str(proj))
    assert run("apply", *p, "--no-refresh").returncode == 0
    assert run("segment", "refresh", "viewers", "--as-of", "2026-03-10T00:00:00Z", *p).returncode == 0
    xlsx = tmp_path / "x.xlsx"
    refused = run("segment", "export", "viewers", "--to", str(xlsx), *p)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"Error: export file '{xlsx}': .xlsx files cannot be written; the formats "
                                     "written are csv (.csv), json (.json, .jsonl) and parquet (.parquet)")
    assert "Hint: end the file name in .csv, .json, .jsonl or .parquet" in refused.stderr
    assert not xlsx.exists()
    members = run("segment", "members", "viewers", "--to", str(xlsx), *p)
    assert members.returncode == 1 and "Error: export file" in members.stderr and not xlsx.exists()
    contradicted = run("segment", "export", "viewers", "--to", str(tmp_path / "x.csv"), "--format", "json", *p)
    assert contradicted.returncode == 1 and "the json format writes .json or .jsonl files, not .csv" in \
        contradicted.stderr and not (tmp_path / "x.csv").exists()
    target = tmp_path / "x.json"
    written = run("segment", "export", "viewers", "--to", str(target), *p)
    assert written.returncode == 0, written.stderr
    assert "(json)" in written.stdout
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["profile_id"] for r in rows} == {"p1", "p2", "p4"}
    listed = tmp_path / "m.jsonl"
    assert run("segment", "members", "viewers", "--to", str(listed), *p).returncode == 0
    assert {json.loads(line)["profile_id"] for line in listed.read_text().splitlines()} == {"p1", "p2", "p4"}
