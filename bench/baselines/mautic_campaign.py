"""A Mautic-style campaign runner: one contact at a time, one transaction per event.

Mautic's ``mautic:campaigns:trigger`` takes the contacts due for an event and, for each,
loads the contact's event log row, executes the event, and writes the log row and the
next scheduled row, committing per contact (and per event). This baseline does the same
over the same state-store tables segflow uses, so the comparison is the access pattern
only: per due run, a SELECT of the run, then (in its own transaction) an UPDATE of the
run, an INSERT of the step and, for a send, an INSERT of the outbox row.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from segflow.clock import utc
from segflow.state.tables import journey_runs, journey_steps, outbox

__all__ = ["run_one_at_a_time"]


def run_one_at_a_time(engine: sa.Engine, journey: str, nodes: dict[str, dict[str, Any]], now: datetime,
                      limit: int) -> int:
    """Advance up to *limit* due runs of *journey* one at a time; returns the steps written.

    *nodes*: ``{id: {"kind": "send"|"wait"|"exit", "next": id, "seconds": n}}``."""
    steps = 0
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(journey_runs.c.id).where(
            journey_runs.c.journey == journey, journey_runs.c.status == "waiting", journey_runs.c.due_at <= now)
            .order_by(journey_runs.c.due_at, journey_runs.c.id).limit(limit))]
    for run_id in ids:
        with engine.begin() as conn:
            run = conn.execute(sa.select(journey_runs).where(journey_runs.c.id == run_id)).one()._mapping
            node, status, due, node_at = run["node"], "waiting", run["due_at"], utc(run["node_at"])
            while True:
                spec = nodes[node]
                if spec["kind"] == "wait":
                    until = node_at + timedelta(seconds=spec["seconds"])
                    if until > now:
                        due = until
                        break
                elif spec["kind"] == "send":
                    conn.execute(outbox.insert().values(
                        key=f"{journey}:{run['profile_id']}:{run['occurrence']}:{node}", run_id=run_id,
                        journey=journey, node=node, profile_id=run["profile_id"], effect="message",
                        channel=spec.get("channel", "file"), payload=json.dumps({"template": spec.get("template")}),
                        status="pending", attempts=0, next_attempt_at=now, created_at=now))
                elif spec["kind"] == "exit":
                    status, due = "done", None
                    conn.execute(journey_steps.insert().values(run_id=run_id, journey=journey, version=run["version"],
                                                               node=node, at=now, outcome="exited"))
                    steps += 1
                    break
                conn.execute(journey_steps.insert().values(run_id=run_id, journey=journey, version=run["version"],
                                                           node=node, at=now, outcome="passed"))
                steps += 1
                node, node_at = spec["next"], now
            conn.execute(journey_runs.update().where(journey_runs.c.id == run_id).values(
                node=node, status=status, due_at=due, node_at=node_at))
    return steps
