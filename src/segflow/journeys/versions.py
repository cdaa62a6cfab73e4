"""Applied journeys: the versions ``segflow apply`` recorded, and each journey's state.

A journey's versions are ``definitions`` rows of kind ``journey`` (its file's mapping as
canonical JSON), like every definition. :func:`applied_journey` reads one version back
into a :class:`~segflow.journeys.model.Journey`; :func:`sync_states` (called by
``segflow apply`` in its transaction) brings ``journey_states`` in line with the applied
versions: a new journey becomes ``active`` with entries counted from its
``effective.from`` (else the apply time), a changed one moves to its new version (its
waiting runs continue at the node with the same id, or exit with ``node_removed``), and a
removed one is ``removed`` and its runs in progress exit with ``journey_removed``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.errors import DefinitionError
from segflow.journeys.model import Journey

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.context import ProjectContext

__all__ = ["applied_journey", "run_changes", "sync_states", "waiting_by_node"]


def applied_journey(ctx: ProjectContext, name: str, version: int) -> Journey:
    """Version *version* of journey *name* as applied."""
    import json

    from segflow.journeys.definition import parse_journey
    from segflow.state.tables import definitions as t

    with ctx.state.engine.connect() as conn:
        row = conn.execute(sa.select(t.c.body, t.c.file).where(t.c.kind == "journey", t.c.name == name,
                                                                t.c.version == version)).first()
    if row is None:
        raise DefinitionError(f"journey {name!r} has no applied version {version}", code="unknown_journey", path=name)
    return parse_journey(json.loads(row.body), name, file=row.file)


def waiting_by_node(conn: Connection, name: str) -> Counter[str]:
    """Runs of journey *name* in progress, per node."""
    from segflow.state.tables import journey_runs as r

    rows = conn.execute(sa.select(r.c.node, sa.func.count()).where(
        r.c.journey == name, r.c.status.in_(("waiting", "queued"))).group_by(r.c.node))
    return Counter({node: int(n) for node, n in rows})


def run_changes(conn: Connection, name: str, new: Journey | None) -> tuple[int, int]:
    """How many runs in progress a new version *new* (None: removing it) moves and ends."""
    waiting = waiting_by_node(conn, name)
    if new is None:
        return 0, sum(waiting.values())
    moved = sum(n for node, n in waiting.items() if node in new.nodes)
    return moved, sum(waiting.values()) - moved


def sync_states(conn: Connection, changes: list[tuple[str, str, int, Journey | None]], when: datetime) -> None:
    """``(name, action, version, journey)`` per applied journey change (see the module doc)."""
    from segflow.journeys import store
    from segflow.state.tables import journey_runs as r

    existing = store.states(None, conn)  # type: ignore[arg-type]
    for name, action, version, journey in changes:
        if action == "removed":
            store.put_state(conn, name, status="removed", version=version,
                            entries_from=existing[name].entries_from if name in existing else when)
            conn.execute(r.update().where(r.c.journey == name, r.c.status.in_(("waiting", "queued"))).values(
                status="exited", exit_reason="journey_removed", finished_at=when, due_at=None))
            continue
        assert journey is not None
        start = journey.effective_from or when
        if name not in existing or existing[name].status == "removed":
            store.put_state(conn, name, status="active", version=version, entries_from=start, entry_cursor=None,
                            seq_cursor=None)
        else:
            values: dict[str, Any] = {"version": version}
            if journey.effective_from is not None:
                values["entries_from"] = journey.effective_from
            store.put_state(conn, name, **values)
