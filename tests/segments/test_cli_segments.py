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
