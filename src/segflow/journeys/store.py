"""The journeys' rows in the state store: journey states, runs, steps and the outbox.

Everything the engine writes goes through here, in set-based statements (one
``executemany`` per kind of change and batch, never one round trip per profile):

* ``journey_states`` — per applied journey: ``active`` / ``paused`` / ``stopped`` /
  ``removed``, the version new runs take, and the entry scan's cursors;
* ``journey_runs`` — one row per (journey, profile, occurrence): current node, when it is
  due, the split arm, holdout, how it ended; a lease (owner, until) while a worker holds it;
* ``journey_steps`` — every node a run passed, with its time and outcome;
* ``outbox`` — every effect of a step, unique by its key ``journey:profile:occurrence:node``.

Claims take rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (several workers share the
due work and never take the same row) and under SQLite's single writer lock otherwise.
Leases run on the wall clock: they are about processes, not about the journey's time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow import clock
from segflow.clock import as_utc, utc
from segflow.state.bulk import _pg_temp, _sqlite_value, bulk_insert
from segflow.state.tables import journey_runs, journey_states, journey_steps, outbox

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.state.store import StateStore

__all__ = ["Run", "JourneyState", "OutboxRow", "insert_ignoring", "run_key"]

#: Rows per IN (...) list.
CHUNK = 5000


def run_key(journey: str, profile_id: str, occurrence: int, node: str) -> str:
    """The outbox key of a run's effect at *node*: unique, and the message's idempotency key."""
    return f"{journey}:{profile_id}:{occurrence}:{node}"


@dataclass
class JourneyState:
    journey: str
    status: str
    version: int
    entries_from: datetime
    entry_cursor: datetime | None
    seq_cursor: int | None
    identity_seen: int | None = None


@dataclass
class Run:
    id: int
    journey: str
    version: int
    profile_id: str
    occurrence: int
    status: str
    node: str
    due_at: datetime | None
    entered_at: datetime
    node_at: datetime
    holdout: bool
    variant: str
    converted_at: datetime | None = None
    exit_reason: str | None = None
    finished_at: datetime | None = None
    #: Set by the engine: what changed (written back by :func:`save_batch`).
    dirty: bool = field(default=False, compare=False)

    @classmethod
    def of(cls, row: Any) -> Run:
        m = row._mapping
        return cls(id=m["id"], journey=m["journey"], version=m["version"], profile_id=m["profile_id"],
                   occurrence=m["occurrence"], status=m["status"], node=m["node"],
                   due_at=_utc(m["due_at"]), entered_at=utc(m["entered_at"]), node_at=utc(m["node_at"]),
                   holdout=bool(m["holdout"]), variant=m["variant"] or "", converted_at=_utc(m["converted_at"]),
                   exit_reason=m["exit_reason"], finished_at=_utc(m["finished_at"]))

    @property
    def key(self) -> str:
        return run_key(self.journey, self.profile_id, self.occurrence, self.node)


@dataclass
class OutboxRow:
    id: int
    key: str
    run_id: int
    journey: str
    node: str
    profile_id: str
    effect: str
    channel: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> OutboxRow:
        m = row._mapping
        return cls(id=m["id"], key=m["key"], run_id=m["run_id"], journey=m["journey"], node=m["node"],
                   profile_id=m["profile_id"], effect=m["effect"], channel=m["channel"],
                   payload=json.loads(m["payload"]), status=m["status"], attempts=m["attempts"],
                   created_at=_utc(m["created_at"]) or clock.now())


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands DateTime back without its zone; every stored time is UTC."""
    return None if value is None else as_utc(value)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def insert_ignoring(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT *rows*, skipping those a unique key already holds."""
    bulk_insert(conn, table, rows, ignore_conflicts=True)


# -- journey states -----------------------------------------------------------------------
def states(store: StateStore, conn: Connection | None = None) -> dict[str, JourneyState]:
    query = sa.select(journey_states)

    def read(c: Connection) -> dict[str, JourneyState]:
        out = {}
        for r in c.execute(query):
            m = r._mapping
            out[m["journey"]] = JourneyState(m["journey"], m["status"], m["version"], utc(m["entries_from"]),
                                             _utc(m["entry_cursor"]), m["seq_cursor"], m["identity_seen"])
        return out

    if conn is not None:
        return read(conn)
    with store.engine.connect() as c:
        return read(c)


def put_state(conn: Connection, journey: str, **values: Any) -> None:
    """Insert or update *journey*'s state row with *values*."""
    values["updated_at"] = clock.now()
    done = conn.execute(journey_states.update().where(journey_states.c.journey == journey).values(**values))
    if done.rowcount == 0:
        conn.execute(journey_states.insert().values(journey=journey, **values))


# -- runs ---------------------------------------------------------------------------------
def existing_runs(conn: Connection, journey: str, profile_ids: Sequence[str]) -> dict[str, tuple[int, datetime, int]]:
    """Per profile with runs of *journey*: (highest occurrence, last entry, runs in progress)."""
    out: dict[str, tuple[int, datetime, int]] = {}
    in_progress = sa.func.sum(sa.case((journey_runs.c.status.in_(("waiting", "queued")), 1), else_=0))
    for chunk in _chunks(list(profile_ids)):
        query = (sa.select(journey_runs.c.profile_id, sa.func.max(journey_runs.c.occurrence),
                           sa.func.max(journey_runs.c.entered_at), in_progress)
                 .where(journey_runs.c.journey == journey, journey_runs.c.profile_id.in_(chunk))
                 .group_by(journey_runs.c.profile_id))
        for pid, occ, last, active in conn.execute(query):
            out[pid] = (int(occ), _utc(last), int(active or 0))  # type: ignore[assignment]
    return out


def claim_due(store: StateStore, worker: str, now: datetime, *, limit: int, lease: timedelta,
              journeys: Sequence[str] | None = None, after: tuple[datetime, int] | None = None) -> list[Run]:
    """Lease up to *limit* waiting runs due at *now* (earliest first) that no live lease holds; with
    *after* (the last claimed run's due time and id), only runs after it in that order — so the
    claims of one call walk the index once instead of stepping over the rows earlier claims changed
    (on PostgreSQL their old versions stay in the index until vacuumed)."""
    wall = clock.now()
    cond = [journey_runs.c.status == "waiting", journey_runs.c.due_at <= as_utc(now),
            sa.or_(journey_runs.c.lease_until.is_(None), journey_runs.c.lease_until < wall)]
    if after is not None:
        cond.append(sa.tuple_(journey_runs.c.due_at, journey_runs.c.id) > sa.tuple_(
            sa.literal(utc(after[0]), journey_runs.c.due_at.type), sa.literal(after[1])))
    if journeys is not None:
        cond.append(journey_runs.c.journey.in_(list(journeys)))
    due = sa.select(journey_runs.c.id).where(*cond).order_by(journey_runs.c.due_at, journey_runs.c.id).limit(limit)
    with store.begin() as conn:
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # One statement: lease the due runs and read them back (UPDATE ... RETURNING).
        claimed = conn.execute(journey_runs.update().where(journey_runs.c.id.in_(due.scalar_subquery()))
                               .values(lease_owner=worker, lease_until=wall + lease)
                               .returning(*journey_runs.c)).fetchall()
    return sorted((Run.of(r) for r in claimed), key=lambda r: (r.due_at or wall, r.id))


class LeaseLost(Exception):
    """Another worker took these runs after this worker's lease ran out: the batch is dropped."""


def claim_locked(conn: Connection, now: datetime, *, limit: int, journeys: Sequence[str] | None = None,
                 after: tuple[datetime, int] | None = None) -> list[Run]:
    """PostgreSQL: lock up to *limit* due runs in the caller's transaction (``FOR UPDATE SKIP LOCKED``,
    the same order and *after* as :func:`claim_due`). The row locks are the lease: the batch is
    processed and saved (:func:`write_batch`) in that transaction, another worker skips the rows
    meanwhile, and a worker that dies lets go of them with its connection."""
    cond = [journey_runs.c.status == "waiting", journey_runs.c.due_at <= as_utc(now)]
    if journeys is not None:
        cond.append(journey_runs.c.journey.in_(list(journeys)))
    if after is not None:
        cond.append(sa.tuple_(journey_runs.c.due_at, journey_runs.c.id) > sa.tuple_(
            sa.literal(utc(after[0]), journey_runs.c.due_at.type), sa.literal(after[1])))
    query = (sa.select(journey_runs).where(*cond).order_by(journey_runs.c.due_at, journey_runs.c.id).limit(limit)
             .with_for_update(skip_locked=True))
    return [Run.of(r) for r in conn.execute(query)]


def write_batch(conn: Connection, runs: Sequence[Run], steps: list[dict[str, Any]],
                effects: list[dict[str, Any]]) -> None:
    """A processed batch's writes in the caller's transaction: the runs' new state, steps, effects."""
    _update_runs(conn, runs)
    bulk_insert(conn, journey_steps, steps)
    insert_ignoring(conn, outbox, effects)


def save_batch(store: StateStore, worker: str, runs: Sequence[Run], steps: list[dict[str, Any]],
               effects: list[dict[str, Any]]) -> None:
    """Write a processed batch in one transaction: every run's new state (releasing its lease),
    its steps and its effects. Raises :class:`LeaseLost` (nothing written) when a run of the
    batch is no longer leased to *worker*."""
    ids = [r.id for r in runs]
    with store.begin() as conn:
        held = 0
        for chunk in _chunks(ids):  # PostgreSQL: row locks first (SQLite: a writer that came between fails the write)
            query = sa.select(journey_runs.c.id).where(journey_runs.c.id.in_(chunk),
                                                       journey_runs.c.lease_owner == worker)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            held += len(conn.execute(query).fetchall())
        if held != len(ids):
            raise LeaseLost(f"{len(ids) - held} of {len(ids)} runs are no longer leased to {worker}")
        write_batch(conn, runs, steps, effects)


_RUN_FIELDS = ("version", "status", "node", "due_at", "node_at", "variant", "converted_at", "exit_reason",
               "finished_at")


def _update_runs(conn: Connection, runs: Sequence[Run]) -> None:
    """Write every run's new state and drop its lease: on PostgreSQL one ``UPDATE ... FROM`` a
    COPY-filled batch table, on SQLite the driver's ``executemany``, elsewhere SQLAlchemy's."""
    if not runs:
        return
    rows = [(r.id, r.version, r.status, r.node, as_utc(r.due_at), as_utc(r.node_at), r.variant,
             as_utc(r.converted_at), r.exit_reason, as_utc(r.finished_at)) for r in runs]
    if conn.dialect.name == "postgresql":
        temp = _pg_temp(conn, journey_runs, ["id", *_RUN_FIELDS], rows)
        sets = ", ".join(f'"{f}" = v."{f}"' for f in _RUN_FIELDS)
        conn.exec_driver_sql(f"UPDATE journey_runs SET {sets}, lease_owner = NULL, lease_until = NULL "
                             f"FROM {temp} AS v WHERE journey_runs.id = v.id")
        return
    if conn.dialect.name == "sqlite":
        sets = ", ".join(f'"{f}" = ?' for f in _RUN_FIELDS)
        conn.exec_driver_sql(f"UPDATE journey_runs SET {sets}, lease_owner = NULL, lease_until = NULL WHERE id = ?",
                             [tuple(_sqlite_value(v) for v in (*row[1:], row[0])) for row in rows])
        return
    conn.execute(  # another store: SQLAlchemy's executemany (slower, the same writes)
        journey_runs.update().where(journey_runs.c.id == sa.bindparam("_id")).values(
            **{f: sa.bindparam(f"_{f}") for f in _RUN_FIELDS}, lease_owner=None, lease_until=None),
        [{"_id": row[0], **{f"_{f}": v for f, v in zip(_RUN_FIELDS, row[1:])}} for row in rows])


def release(store: StateStore, worker: str, runs: Sequence[Run]) -> None:
    """Let go of *runs* unprocessed (Ctrl-C), for another worker."""
    with store.begin() as conn:
        for chunk in _chunks([r.id for r in runs]):
            conn.execute(journey_runs.update()
                         .where(journey_runs.c.id.in_(chunk), journey_runs.c.lease_owner == worker)
                         .values(lease_owner=None, lease_until=None))


def insert_runs(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert new runs (one whose entry key the profile already has is left out), each with an
    ``entered`` step; returns how many were written. Set-based: a query per few thousand profiles,
    one bulk insert, and the steps written by one ``INSERT ... SELECT``. (Two workers entering the
    same journey at once: the second one's transaction fails on the unique keys and is redone on its
    next call.)"""
    if not rows:
        return 0
    journey = rows[0]["journey"]
    have: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted({r["profile_id"] for r in rows})):
        have |= {(p, k) for p, k in conn.execute(sa.select(journey_runs.c.profile_id, journey_runs.c.entry_key)
                                                 .where(journey_runs.c.journey == journey,
                                                        journey_runs.c.profile_id.in_(chunk)))}
    fresh = [r for r in rows if (r["profile_id"], r["entry_key"]) not in have]
    if not fresh:
        return 0
    last = conn.execute(sa.select(sa.func.coalesce(sa.func.max(journey_runs.c.id), 0))).scalar()
    bulk_insert(conn, journey_runs, fresh)
    new = sa.select(journey_runs.c.id, journey_runs.c.journey, journey_runs.c.version, journey_runs.c.node,
                    journey_runs.c.entered_at, sa.literal("entered")).where(
        journey_runs.c.journey == journey, journey_runs.c.id > last)
    conn.execute(journey_steps.insert().from_select(["run_id", "journey", "version", "node", "at", "outcome"], new))
    return len(fresh)


def count_runs(conn: Connection, journey: str, status: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(journey_runs)
                            .where(journey_runs.c.journey == journey, journey_runs.c.status == status)).scalar() or 0)


def next_due(store: StateStore, journeys: Sequence[str] | None = None) -> datetime | None:
    """The earliest due time of a waiting run (of *journeys*)."""
    query = sa.select(sa.func.min(journey_runs.c.due_at)).where(journey_runs.c.status == "waiting")
    if journeys is not None:
        query = query.where(journey_runs.c.journey.in_(list(journeys)))
    with store.engine.connect() as conn:
        return _utc(conn.execute(query).scalar())


# -- outbox -------------------------------------------------------------------------------
def claim_outbox(store: StateStore, worker: str, now: datetime, *, limit: int, lease: timedelta,
                 journeys: Sequence[str] | None = None) -> list[OutboxRow]:
    """Lease up to *limit* pending effects whose next attempt is due at *now*."""
    wall = clock.now()
    cond = [outbox.c.status == "pending", outbox.c.next_attempt_at <= as_utc(now),
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < wall)]
    if journeys is not None:
        cond.append(outbox.c.journey.in_(list(journeys)))
    query = sa.select(outbox).where(*cond).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    with store.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [OutboxRow.of(r) for r in conn.execute(query)]
        for chunk in _chunks([r.id for r in rows]):
            conn.execute(outbox.update().where(outbox.c.id.in_(chunk))
                         .values(lease_owner=worker, lease_until=wall + lease))
    return rows


def finish_outbox(store: StateStore, worker: str, outcomes: list[dict[str, Any]]) -> None:
    """Record delivery outcomes: ``{id, status, attempts, next_attempt_at, finished_at, provider_id, error,
    payload}`` each (releasing the lease)."""
    if not outcomes:
        return
    with store.begin() as conn:
        conn.execute(
            outbox.update().where(outbox.c.id == sa.bindparam("_id"), outbox.c.lease_owner == worker).values(
                status=sa.bindparam("_status"), attempts=sa.bindparam("_attempts"),
                next_attempt_at=sa.bindparam("_next"), finished_at=sa.bindparam("_finished"),
                provider_id=sa.bindparam("_provider"), error=sa.bindparam("_error"),
                payload=sa.bindparam("_payload"), lease_owner=None, lease_until=None),
            [{"_id": o["id"], "_status": o["status"], "_attempts": o["attempts"], "_next": o["next_attempt_at"],
              "_finished": o.get("finished_at"), "_provider": o.get("provider_id"), "_error": o.get("error"),
              "_payload": o["payload"]} for o in outcomes])


def next_attempt(store: StateStore, journeys: Sequence[str] | None = None) -> datetime | None:
    query = sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "pending")
    if journeys is not None:
        query = query.where(outbox.c.journey.in_(list(journeys)))
    with store.engine.connect() as conn:
        return _utc(conn.execute(query).scalar())
