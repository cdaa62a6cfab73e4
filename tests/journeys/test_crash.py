"""A worker killed with SIGKILL in the middle of its work, again and again, over a real SMTP server.

Every due message arrives, none is lost; a message is repeated only with the same
Message-ID (a kill between the server's acceptance and our commit), every run takes each
step once, and the internal effect (a tag) happened once per profile.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import segflow
from segflow.definitions.plan import apply
from segflow.journeys.engine import enroll
from segflow.state.tables import journey_steps, outbox

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
N = 600

JOURNEY = """
entry: {manual: {}}
start: mail
nodes:
  mail:
    send: {channel: email, template: hello}
    next: mark
  mark:
    tag: {add: mailed}
    next: done
  done:
    exit: {}
"""


def _worker(root: Path, now: datetime) -> subprocess.Popen[bytes]:
    code = "import sys; from segflow.cli.app import main; sys.argv[0] = 'segflow'; main()"
    return subprocess.Popen([sys.executable, "-c", code, "--project", str(root), "worker", "--once",
                             "--now", now.isoformat(), "--lease", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.slow
def test_sigkill_loses_no_message_and_repeats_no_step(tmp_path: Path, smtp_server) -> None:
    server = smtp_server()
    ws = segflow.init(tmp_path / "p")
    (ws.root / "segflow.yaml").write_text(
        (ws.root / "segflow.yaml").read_text(encoding="utf-8")
        + f"channels:\n  email:\n    smtp: {{host: 127.0.0.1, port: {server.port}}}\n"
          "    from: Shop <news@shop.example>\n", encoding="utf-8")
    ws.close()
    ws = segflow.open(ws.root)
    people = tmp_path / "profiles.csv"
    people.write_text("profile_id,email\n" + "".join(f"c{i:04d},c{i:04d}@example.com\n" for i in range(N)),
                      encoding="utf-8")
    ws.load("profiles", [people])
    (ws.root / "templates").mkdir()
    (ws.root / "templates" / "hello.yaml").write_text("channel: email\nsubject: Hi {{ profile.profile_id }}\n"
                                                      "text: Hello\n", encoding="utf-8")
    (ws.root / "tags" / "mailed.yaml").write_text("kind: static\ndescription: mailed by the journey\n",
                                                  encoding="utf-8")
    (ws.root / "journeys").mkdir(exist_ok=True)
    (ws.root / "journeys" / "hello.yaml").write_text(JOURNEY, encoding="utf-8")
    apply(ws, as_of=T0)
    assert enroll(ws, "hello", [f"c{i:04d}" for i in range(N)], at=T0) == N
    ws.close()

    now = T0 + timedelta(minutes=5)
    rng = random.Random(7)
    kills = 0
    for _ in range(4):  # killed somewhere in its work
        proc = _worker(ws.root, now)
        time.sleep(rng.uniform(1.0, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    for _ in range(10):  # then left to finish (waiting out the killed workers' leases)
        proc = _worker(ws.root, now)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
        ws = segflow.open(ws.root)
        with ws.state.engine.connect() as conn:
            statuses = Counter(r[0] for r in conn.execute(sa.select(outbox.c.status)))
        ws.close()
        if statuses == Counter({"sent": N, "done": N}):
            break
        time.sleep(2.1)
    assert statuses == Counter({"sent": N, "done": N}), statuses
    assert kills >= 1

    ids = Counter(m["Message-ID"] for m in server.handler.messages)
    ws = segflow.open(ws.root)
    with ws.state.engine.connect() as conn:
        expected = {r.provider_id for r in conn.execute(sa.select(outbox.c.provider_id).where(outbox.c.effect == "message"))}
        steps = Counter((r.run_id, r.node, r.outcome) for r in conn.execute(sa.select(journey_steps)))
    assert set(ids) == expected and len(expected) == N  # every message arrived
    repeated = sum(n - 1 for n in ids.values())
    assert repeated <= kills * 100  # only the deliveries a kill cut off, with the same Message-ID
    assert max(steps.values()) == 1  # no step twice
    assert ws.warehouse.count("SELECT count(*) FROM tag_assignments WHERE tag = 'mailed'") == N
    ws.close()
