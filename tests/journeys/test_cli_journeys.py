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


def test_stats_chart_draws_every_node_with_its_counts(shop, files, tmp_path):
    from segflow.journeys.charts import journey_chart_rows
    from segflow.journeys.engine import enroll
    from segflow.journeys.service import journey_stats

    files("templates/note.yaml", "channel: file\ntext: hi\n")
    files("journeys/vip.yaml", """
entry: {manual: {}}
start: note
nodes:
  note:
    send: {channel: file, template: note}
    next: done
  done:
    exit: {}
""")
    from segflow.definitions.plan import apply

    apply(shop)
    enroll(shop, "vip", ["p1", "p2"])
    rows = journey_chart_rows(journey_stats(shop, "vip"))
    reached = {r["node"]: r["runs"] for r in rows if r["measure"] == "reached"}
    assert reached == {"note [send]": 2, "done [exit]": 0}
    root = shop.root
    shop.close()
    png = tmp_path / "vip.png"
    drawn = run("journey", "stats", "vip", "--chart", str(png), "-p", str(root), cwd=root)
    assert drawn.returncode == 0, drawn.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000  # a real picture, not an empty canvas
    bad = run("journey", "stats", "vip", "--chart", str(tmp_path / "vip.gif"), "-p", str(root), cwd=root)
    assert bad.returncode == 1 and "use a name ending in .png" in bad.stderr
