"""Journeys and identity resolution: runs follow the person, one run per person and journey.

After ``segflow resolve`` merges two records into one person, a run that carries a merged
record's id belongs to that person. :func:`follow_merges` (called by the engine before
its steps, once per identity run it has not seen) moves such runs to the person's id;
when the person then has two runs in progress in the same journey, the one that entered
first continues and the other exits with reason ``merged`` (spec: journeys.md, "Runs").
A split (``segflow resolve --undo-merge``) keeps each run with the id it carries: ids are
stable, so the record split off starts no run and takes none.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from segflow.journeys import store

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.store import JourneyState

__all__ = ["follow_merges", "latest_identity_run"]


def latest_identity_run(ctx: ProjectContext) -> int | None:
    from segflow.state.tables import identity_runs

    with ctx.state.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(identity_runs.c.id)).where(identity_runs.c.status == "ok")).scalar()


def follow_merges(ctx: ProjectContext, state: JourneyState, latest: int, now: datetime) -> int:
    """Bring journey *state*'s runs in progress in line with the merges up to identity run *latest*;
    returns how many runs exited as ``merged``."""
    import pyarrow as pa

    from segflow.identity.persons import merged_records
    from segflow.state.tables import journey_runs as r
    from segflow.state.tables import journey_steps as s

    name = state.journey
    with ctx.state.engine.connect() as conn:
        rows = conn.execute(sa.select(r).where(r.c.journey == name, r.c.status.in_(("waiting", "queued")))).fetchall()
    runs = [store.Run.of(row) for row in rows]
    moved = {}
    if runs:
        ids = pa.table({"profile_id": pa.array(sorted({x.profile_id for x in runs}), pa.string())})
        with ctx.warehouse.registered("journey_run_ids", ids):
            moved = merged_records(ctx.warehouse, "journey_run_ids")
    exited = 0
    with ctx.state.begin() as conn:
        if moved:
            people = sorted(set(moved.values()))
            by_person: dict[str, list[store.Run]] = defaultdict(list)
            for run in runs:
                by_person[moved.get(run.profile_id, run.profile_id)].append(run)
            taken = store.existing_runs(conn, name, people)
            for person in people:
                group = sorted(by_person[person], key=lambda x: (x.entered_at, x.id))
                keep, rest = group[0], group[1:]
                for other in rest:
                    conn.execute(r.update().where(r.c.id == other.id).values(
                        status="exited", exit_reason="merged", finished_at=now, due_at=None))
                    conn.execute(s.insert().values(run_id=other.id, journey=name, version=other.version,
                                                   node=other.node, at=now, outcome="exited",
                                                   detail=f"merged: {other.profile_id} is now {person}"))
                    exited += 1
                if keep.profile_id != person:
                    occurrence = max(keep.occurrence, taken.get(person, (0, None, 0))[0] + 1)
                    conn.execute(r.update().where(r.c.id == keep.id).values(
                        profile_id=person, occurrence=occurrence,
                        entry_key=sa.func.substr(r.c.entry_key + "|" + keep.profile_id, 1, 255)))
                    conn.execute(s.insert().values(run_id=keep.id, journey=name, version=keep.version,
                                                   node=keep.node, at=now, outcome="migrated",
                                                   detail=f"merged: {keep.profile_id} is now {person}"))
        store.put_state(conn, name, identity_seen=latest)
    state.identity_seen = latest
    return exited
