"""Two workers over the same due work on a PostgreSQL state store: no step is taken twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import segflow
from segflow.definitions.plan import apply
from segflow.journeys.engine import Engine, EngineOptions, enroll
from segflow.state.tables import journey_runs, journey_steps, outbox

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
N = 3000

JOURNEY = """
entry: {manual: {}}
start: first
nodes:
  first:
    send: {channel: file, template: note}
    next: later
  later:
    wait: 1h
    next: second
  second:
    send: {channel: file, template: note}
    next: done
  done:
    exit: {}
"""


@pytest.mark.postgres
def test_two_workers_share_the_due_runs_and_never_take_a_step_twice(tmp_path: Path, pg_url: str) -> None:
    ws = segflow.init(tmp_path / "p", state=pg_url)
    people = tmp_path / "profiles.csv"
    people.write_text("profile_id\n" + "".join(f"c{i:05d}\n" for i in range(N)), encoding="utf-8")
    ws.load("profiles", [people])
    (ws.root / "templates").mkdir()
    (ws.root / "templates" / "note.yaml").write_text("channel: file\ntext: hello\n", encoding="utf-8")
    (ws.root / "journeys").mkdir(exist_ok=True)
    (ws.root / "journeys" / "two.yaml").write_text(JOURNEY, encoding="utf-8")
    apply(ws, as_of=T0)
    assert enroll(ws, "two", [f"c{i:05d}" for i in range(N)], at=T0) == N
    ws.close()

    workers: dict[str, int] = {}

    def work(name: str, now: datetime) -> None:
        own = segflow.open(tmp_path / "p")
        try:
            report = Engine(own, now=now, worker=name, options=EngineOptions(batch=50, deliver=False)).run()
            workers[name] = workers.get(name, 0) + report.steps
        finally:
            own.close()

    for now in (T0 + timedelta(minutes=1), T0 + timedelta(hours=2)):
        threads = [threading.Thread(target=work, args=(f"w{i}", now)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ws = segflow.open(tmp_path / "p")
    with ws.state.engine.connect() as conn:
        steps = Counter((r.run_id, r.node, r.outcome) for r in conn.execute(sa.select(journey_steps)))
        effects = Counter(r.node for r in conn.execute(sa.select(outbox.c.node)))
        done = conn.execute(sa.select(sa.func.count()).select_from(journey_runs)
                            .where(journey_runs.c.status == "done")).scalar()
    ws.close()
    assert max(steps.values()) == 1
    assert effects == Counter({"first": N, "second": N})
    assert done == N
    assert all(n > 0 for n in workers.values()) and len(workers) == 2  # both took a share
