"""The run history of every definition kind: one ``refresh_runs`` row per refresh.

Segments, tags and traits (later models and journeys) all record their refreshes here,
in the state store (``refresh_runs``, :mod:`segflow.state.tables`), with their ``kind``.
A run row is written ``running`` before the warehouse is touched and finished ``ok``
(with the counts), ``failed`` (with the error) or ``skipped`` afterwards, so a refresh
that fails is on record even though the warehouse kept the previous state. Static
segment changes (add, remove, delete) are runs too.

``members`` / ``entered`` / ``exited`` mean, per kind: a segment's members and the
profiles that entered and exited; a tag's members and the assignments added and
removed; a trait's non-null values (entered and exited unset).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import as_utc, now
from segflow.state.tables import refresh_runs

if TYPE_CHECKING:
    from segflow.state.store import StateStore

__all__ = ["RunRow", "finish_run", "last_runs", "list_runs", "start_run"]


@dataclass(frozen=True)
class RunRow:
    """One ``refresh_runs`` row (times in UTC)."""

    id: int
    kind: str
    name: str
    version: int | None
    trigger: str
    worker: str | None
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    members: int | None
    entered: int | None
    exited: int | None
    seconds: float | None
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> RunRow:
        data = dict(row._mapping)
        for key in ("as_of", "started_at", "finished_at"):
            data[key] = as_utc(data[key])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def start_run(state: StateStore, *, kind: str, name: str, version: int | None, trigger: str, as_of: datetime,
              worker: str | None = None) -> int:
    """Insert a ``running`` row and return its id (the ``run_id`` of the history events)."""
    with state.engine.begin() as conn:
        result = conn.execute(refresh_runs.insert().values(
            kind=kind, name=name, version=version, trigger=trigger, worker=worker, as_of=as_of,
            started_at=now(), status="running"))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def finish_run(state: StateStore, run_id: int, *, status: str, members: int | None = None,
               entered: int | None = None, exited: int | None = None, seconds: float | None = None,
               error: str | None = None) -> None:
    with state.engine.begin() as conn:
        conn.execute(refresh_runs.update().where(refresh_runs.c.id == run_id).values(
            status=status, finished_at=now(), members=members, entered=entered,
            exited=exited, seconds=seconds, error=error))


def list_runs(state: StateStore, *, kind: str | None = None, name: str | None = None,
              limit: int | None = 50) -> list[RunRow]:
    """Runs, newest first."""
    query = sa.select(refresh_runs).order_by(refresh_runs.c.id.desc())
    if kind is not None:
        query = query.where(refresh_runs.c.kind == kind)
    if name is not None:
        query = query.where(refresh_runs.c.name == name)
    if limit is not None:
        query = query.limit(limit)
    with state.engine.connect() as conn:
        return [RunRow.from_row(r) for r in conn.execute(query)]


def last_runs(state: StateStore, kind: str) -> dict[str, RunRow]:
    """The latest run of each *kind* definition, by name."""
    latest = (sa.select(sa.func.max(refresh_runs.c.id)).where(refresh_runs.c.kind == kind)
              .group_by(refresh_runs.c.name).scalar_subquery())
    with state.engine.connect() as conn:
        rows = conn.execute(sa.select(refresh_runs).where(refresh_runs.c.id.in_(latest)))
        return {r.name: RunRow.from_row(r) for r in rows}
