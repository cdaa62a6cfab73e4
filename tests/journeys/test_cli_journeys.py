"""The journey commands as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"} | {"COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_show_list_stats_enroll_and_worker(shop, files):
    files("templates/note.yaml", "channel: file\ntext: hi\n")
    files("journeys/vip.yaml", """
label: "[VIP] welcome"
entry: {manual: {}}
start: pick
nodes:
  pick:
    label: "[VIP] only"
    branch:
      - when: {attr: city, eq: Shanghai}
        next: note
      - else: done
  note:
    send: {channel: file, template: note}
    next: done
  done:
    exit: {}
""")
    root = shop.root
    shop.close()
    assert run("apply", "-p", str(root), cwd=root).returncode == 0
    enrolled = run("journey", "enroll", "vip", "p1", "p2", "-p", str(root), cwd=root)
    assert enrolled.returncode == 0 and "2 run(s) started" in enrolled.stdout
    worker = run("-p", str(root), "worker", "--once", cwd=root)
    assert worker.returncode == 0, worker.stderr
    assert "1 sent" in worker.stdout
    shown = run("journey", "show", "vip", "-p", str(root), cwd=root)
    assert "pick ([VIP] only) [branch] → note, done" in shown.stdout
    stats = json.loads(run("journey", "stats", "vip", "--format", "json", "-p", str(root), cwd=root).stdout)
    nodes = {n["node"]: n for n in stats["nodes"]}
    assert (nodes["pick"]["passed"], nodes["note"]["sent"], stats["exits"]) == (2, 1, {"exit": 2})
    table = run("journey", "stats", "vip", "-p", str(root), cwd=root).stdout
    assert "[VIP] only" in table
    unknown = run("journey", "stats", "vpi", "-p", str(root), cwd=root)
    assert unknown.returncode == 1 and "no journey 'vpi' is applied; did you mean 'vip'?" in unknown.stderr
