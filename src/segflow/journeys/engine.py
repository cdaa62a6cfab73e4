"""The journey engine: entries, steps and effects, as of a clock reading, in set-based batches.

    >>> report = run_journeys(ctx, now=datetime(2026, 3, 1, tzinfo=UTC))   # doctest: +SKIP

One call (:func:`run_journeys`, what ``segflow worker`` does on every loop) does, for
every active journey:

1. **entries** — who entered since the last scan (:mod:`~segflow.journeys.entries`), under
   the re-entry policy and the active limit, as new runs at the start node (holdout
   runs drawn stably by journey, profile and occurrence), the scan's cursor written in
   the same transaction as the runs;
2. **wake** — runs waiting for an event (``wait: {for: ...}``) whose event came are made due;
3. **steps** — every run due at *now* is leased (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL) in batches and walked node by node until it waits or ends: before every
   step its goal (converted: ends) and ``exit_when`` (ends); then the node — a ``send``,
   ``tag``, ``set``, ``segment`` or ``webhook`` writes an outbox row (unique key
   ``journey:profile:occurrence:node``), a ``wait`` sets the due time, a ``branch`` asks
   each case's rule for the whole group at once (one SQL query per case and batch),
   a ``split`` draws its arm stably; the batch's run changes, steps and outbox rows
   commit in one state-store transaction, or not at all;
4. **delivery** — due outbox rows go out (:mod:`~segflow.journeys.delivery`).

A crash anywhere loses no step and repeats none: a batch's steps and effects commit
together, the lease of a killed worker runs out and another takes the runs again from
their committed state; an effect is delivered at least once and carries its key, so a
repeated hand-over (a crash between the provider's acceptance and our commit) is the same
message (same ``Message-ID``).

Times: the step time is the clock reading *now*; a wait counts from when the run reached
its node. The simulator (:mod:`~segflow.journeys.simulate`) calls the same engine with a
virtual clock that stops at every due time, and with effects recorded instead of made.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from segflow.clock import as_utc, at_or_now, utc
from segflow.journeys import store
from segflow.journeys.model import (
    Branch,
    Exit,
    Journey,
    ManualEntry,
    SegmentEffect,
    Send,
    SetAttributes,
    Split,
    TagEffect,
    Wait,
    WaitFor,
    WaitUntil,
    Webhook,
)
from segflow.journeys.rules import JourneyRules
from segflow.journeys.store import Run

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["EngineOptions", "EngineReport", "Engine", "run_journeys", "stable_fraction", "enroll"]

#: Node-to-node moves of one run in one call at most (a definition with a cycle has a wait in it).
MAX_HOPS = 100
#: A step that failed (the warehouse refused a rule's query...) is tried again this much later.
RETRY_AFTER = timedelta(minutes=5)


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by *parts* (journey, profile, occurrence, ...): holdouts and splits."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class EngineOptions:
    #: Runs per batch (one lease, one transaction).
    batch: int = 5000
    #: Outbox rows per delivery batch.
    deliver_batch: int = 100
    lease: timedelta = timedelta(minutes=2)
    #: False in simulation: effects are recorded (``EngineReport.would``), never made.
    effects: bool = True
    #: Take entries written after the last scan even when their time is earlier (live); the
    #: simulator replays by time only.
    late_entries: bool = True
    #: Deliver the outbox in this call.
    deliver: bool = True
    #: Rules for fewer runs than this are evaluated profile by profile (see JourneyRules).
    evaluate_below: int = 0


@dataclass
class EngineReport:
    now: datetime
    entered: int = 0
    steps: int = 0
    effects: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    done: int = 0
    #: One line per problem that did not stop the call (a journey that failed, a lost lease).
    errors: list[str] = field(default_factory=list)
    #: In simulation: every message that would have gone out.
    would: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now, "entered": self.entered, "steps": self.steps, "effects": self.effects,
                "sent": self.sent, "failed": self.failed, "skipped": self.skipped, "retried": self.retried,
                "done": self.done, "errors": list(self.errors)}

    @property
    def busy(self) -> bool:
        return bool(self.entered or self.steps or self.sent or self.failed or self.skipped or self.done)


class Engine:
    """One engine call's view: the active journeys and their versions, the rule evaluator."""

    def __init__(self, ctx: ProjectContext, *, now: datetime, worker: str, options: EngineOptions | None = None,
                 names: Sequence[str] | None = None,
                 loader: Callable[[str, int], Journey] | None = None) -> None:
        self.ctx = ctx
        self.now: datetime = utc(now)
        self.worker = worker
        self.options = options or EngineOptions()
        self.rules = JourneyRules(ctx, evaluate_below=self.options.evaluate_below)
        self.report = EngineReport(now=self.now)
        all_states = store.states(ctx.state)
        self.states = {n: s for n, s in all_states.items() if names is None or n in names}
        self._loader = loader
        self._versions: dict[tuple[str, int], Journey] = {}

    # -- definitions --------------------------------------------------------------------
    def journey(self, name: str, version: int) -> Journey:
        key = (name, version)
        if key not in self._versions:
            if self._loader is not None:
                self._versions[key] = self._loader(name, version)
            else:
                from segflow.journeys.versions import applied_journey

                self._versions[key] = applied_journey(self.ctx, name, version)
        return self._versions[key]

    def current(self, name: str) -> Journey:
        return self.journey(name, self.states[name].version)

    @property
    def active(self) -> list[str]:
        return sorted(n for n, s in self.states.items() if s.status == "active")

    # -- the call -------------------------------------------------------------------------
    def run(self) -> EngineReport:
        self.follow_merges()
        for name in self.active:
            try:
                self.take_entries(name)
                self.promote_queued(name)
                self.wake(name)
            except Exception as exc:  # one journey's failure never holds up the others
                self.report.errors.append(f"journey {name}: {_line(exc)}")
        self.advance()
        if self.options.deliver:
            from segflow.journeys.delivery import deliver

            deliver(self)
        return self.report

    def follow_merges(self) -> None:
        """Runs of merged records move to their person; a person's second run exits (``merged``)."""
        from segflow.journeys.identity import follow_merges, latest_identity_run

        latest = latest_identity_run(self.ctx)
        if latest is None:
            return
        for name, state in sorted(self.states.items()):
            if state.status in ("active", "paused") and (state.identity_seen or 0) < latest:
                try:
                    follow_merges(self.ctx, state, latest, self.now)
                except Exception as exc:
                    self.report.errors.append(f"journey {name}: following merges: {_line(exc)}")

    # -- entries ----------------------------------------------------------------------
    def take_entries(self, name: str) -> None:
        from segflow.journeys.entries import candidates

        state = self.states[name]
        journey = self.current(name)
        if isinstance(journey.entry, ManualEntry):
            return
        after = state.entry_cursor or (state.entries_from - timedelta(microseconds=1))
        scan = candidates(self.ctx, journey, self.rules, after=after, now=self.now, entries_from=state.entries_from,
                          seq=state.seq_cursor, use_seq=self.options.late_entries)
        with self.ctx.state.begin() as conn:
            rows = self.entry_rows(conn, name, [(c.profile_id, c.key, c.at) for c in scan.candidates])
            entered = store.insert_runs(conn, rows)
            cursor = max(self.now, after)
            store.put_state(conn, name, entry_cursor=cursor, seq_cursor=scan.seq)
        state.entry_cursor, state.seq_cursor = cursor, scan.seq
        self.report.entered += entered

    def entry_rows(self, conn: Any, name: str, entries: Sequence[tuple[str, str, datetime]]) -> list[dict[str, Any]]:
        """New runs for *entries* ``(profile, key, at)`` under the journey's re-entry policy,
        holdout and active limit."""
        if not entries:
            return []
        journey = self.current(name)
        version = self.states[name].version
        seen = store.existing_runs(conn, name, sorted({e[0] for e in entries}))
        limit = journey.limits.active
        room = None if limit is None else max(0, limit - store.count_runs(conn, name, "waiting"))
        rows: list[dict[str, Any]] = []
        keys: set[tuple[str, str]] = set()
        for pid, key, at in sorted(entries, key=lambda e: (e[2], e[0])):
            if (pid, key) in keys:
                continue
            occurrence, last, active = seen.get(pid, (0, None, 0))
            if occurrence:
                if journey.re_entry == "never" or active:
                    continue
                if journey.re_entry == "after" and last is not None and journey.re_entry_after is not None \
                        and at < last + timedelta(seconds=journey.re_entry_after):
                    continue
            occurrence += 1
            queued = room is not None and room <= 0
            if room is not None and not queued:
                room -= 1
            rows.append({
                "journey": name, "version": version, "profile_id": pid, "occurrence": occurrence,
                "entry_key": key, "status": "queued" if queued else "waiting", "node": journey.start,
                "due_at": None if queued else at, "entered_at": at, "node_at": at,
                "holdout": journey.holdout > 0 and stable_fraction(name, pid, occurrence, "holdout") < journey.holdout,
                "variant": "",
            })
            keys.add((pid, key))
            seen[pid] = (occurrence, at, 1)
        return rows

    def promote_queued(self, name: str) -> None:
        """Runs queued over the active limit enter as room frees (first come, first served)."""
        import sqlalchemy as sa

        from segflow.state.tables import journey_runs as t

        limit = self.current(name).limits.active
        if limit is None:
            return
        with self.ctx.state.begin() as conn:
            room = limit - store.count_runs(conn, name, "waiting")
            if room <= 0:
                return
            ids = list(conn.execute(sa.select(t.c.id).where(t.c.journey == name, t.c.status == "queued")
                                    .order_by(t.c.entered_at, t.c.id).limit(room)).scalars())
            for i in range(0, len(ids), store.CHUNK):
                conn.execute(t.update().where(t.c.id.in_(ids[i:i + store.CHUNK])).values(
                    status="waiting", due_at=self.now, node_at=self.now))

    def wake(self, name: str) -> None:
        """Runs waiting for an event that has come are due now."""
        import sqlalchemy as sa

        from segflow.state.tables import journey_runs as t

        journey = self.current(name)
        waits = {n.id: n.body for n in journey.nodes.values() if isinstance(n.body, WaitFor)}
        if not waits:
            return
        with self.ctx.state.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.journey == name, t.c.status == "waiting",
                                                   t.c.node.in_(list(waits)), t.c.due_at > self.now)).fetchall()
        runs = [Run.of(r) for r in rows]
        woken: list[int] = []
        by_node: dict[str, list[Run]] = defaultdict(list)
        for r in runs:
            if r.version == self.states[name].version:
                by_node[r.node].append(r)
        for node, group in by_node.items():
            body = waits[node]
            found = self.rules.first_events(body.event, group, self.now, since="node", until_seconds=body.timeout)
            woken += list(found)
        if woken:
            with self.ctx.state.begin() as conn:
                for chunk in range(0, len(woken), store.CHUNK):
                    conn.execute(t.update().where(t.c.id.in_(woken[chunk:chunk + store.CHUNK]),
                                                  t.c.status == "waiting").values(due_at=self.now))

    # -- steps --------------------------------------------------------------------------
    def advance(self) -> None:
        active = self.active
        if not active:
            return
        if self.ctx.state.engine.dialect.name == "postgresql":
            self._advance_locked(active)
            return
        after: tuple[datetime, int] | None = None
        restarted = False
        while True:
            runs = store.claim_due(self.ctx.state, self.worker, self.now, limit=self.options.batch,
                                   lease=self.options.lease, journeys=active, after=after)
            if not runs:
                if after is None or restarted:
                    return
                after, restarted = None, True  # once more from the start: runs another worker let go meanwhile
                continue
            last = runs[-1]
            after = (last.due_at or self.now, last.id)
            try:
                steps, effects = self.process(runs)
                store.save_batch(self.ctx.state, self.worker, runs, steps, effects)
            except store.LeaseLost as exc:
                self.report.errors.append(str(exc))
                continue
            except BaseException:
                store.release(self.ctx.state, self.worker, runs)
                raise
            self.report.steps += len(steps)
            self.report.effects += len(effects)

    def _advance_locked(self, active: list[str]) -> None:
        """PostgreSQL: each batch locked, processed and written in one transaction (row locks as the
        lease, :func:`~segflow.journeys.store.claim_locked`): no lease rows to write and check."""
        after: tuple[datetime, int] | None = None
        while True:
            with self.ctx.state.begin() as conn:
                runs = store.claim_locked(conn, self.now, limit=self.options.batch, journeys=active, after=after)
                if not runs:
                    return
                last = runs[-1]
                after = (last.due_at or self.now, last.id)  # before processing changes its due time
                steps, effects = self.process(runs)
                store.write_batch(conn, runs, steps, effects)
            self.report.steps += len(steps)
            self.report.effects += len(effects)

    def process(self, runs: Sequence[Run]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Walk *runs* from their current node until each waits or ends; returns the steps and
        effects to write with them."""
        batch = _Batch(self)
        pending: list[Run] = []
        for run in runs:
            current = self.states[run.journey].version
            if run.version != current:
                journey = self.journey(run.journey, current)
                if run.node in journey.nodes:
                    run.version = current
                    batch.step(run, "migrated", f"to version {current}")
                else:
                    batch.finish(run, "exited", "node_removed")
                    continue
            pending.append(run)
        hops = 0
        while pending and hops < MAX_HOPS:
            hops += 1
            pending = self._checks(batch, pending)
            moved: list[Run] = []
            groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
            for run in pending:
                groups[(run.journey, run.node)].append(run)
            for (name, node_id), group in groups.items():
                try:
                    moved += batch.node(self.journey(name, group[0].version), node_id, group)
                except Exception as exc:  # one node's failure (a rule the warehouse refuses) holds up no other
                    self._failed(batch, group, f"node {node_id}", exc)
            pending = moved
        for run in pending:  # a long chain: the rest next call
            run.due_at = self.now
        return batch.steps, batch.effects

    def _checks(self, batch: _Batch, runs: list[Run]) -> list[Run]:
        """The goal (converts and ends) and ``exit_when`` (ends) of every run, before its step."""
        by_journey: dict[str, list[Run]] = defaultdict(list)
        for run in runs:
            by_journey[run.journey].append(run)
        out: list[Run] = []
        for name, group in by_journey.items():
            try:
                out += self._check_journey(batch, name, group)
            except Exception as exc:
                self._failed(batch, group, "goal / exit_when", exc)
        return out

    def _failed(self, batch: _Batch, runs: list[Run], where: str, exc: Exception) -> None:
        """Runs whose step failed stay where they are and are tried again in :data:`RETRY_AFTER`."""
        text = _line(exc)
        runs = [r for r in runs if r.status == "waiting"]
        if not runs:
            return
        for run in runs:
            batch.step(run, "error", f"{where}: {text}")
            run.due_at = self.now + RETRY_AFTER
        self.report.errors.append(f"journey {runs[0].journey} {where}: {text} ({len(runs)} run(s) retried "
                                  f"in {int(RETRY_AFTER.total_seconds())} s)")

    def _check_journey(self, batch: _Batch, name: str, group: list[Run]) -> list[Run]:
        out: list[Run] = []
        if group:
            journey = self.journey(name, group[0].version)
            if journey.goal is not None:
                hit = self.rules.first_events(journey.goal.event, group, self.now, since="journey",
                                              until_seconds=journey.goal.window)
                for run in group:
                    if run.id in hit:
                        run.converted_at = hit[run.id]
                        batch.finish(run, "done", "goal")
                group = [r for r in group if r.id not in hit]
            if journey.exit_when is not None and group:
                leave = self.rules.matching(journey.exit_when, group, self.now)
                for run in group:
                    if run.id in leave:
                        batch.finish(run, "exited", "exit_when")
                group = [r for r in group if r.id not in leave]
            out += group
        return out


class _Batch:
    """The changes of one processed batch: steps, effects, and the runs' new state (in place)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now: datetime = engine.now
        self.steps: list[dict[str, Any]] = []
        self.effects: list[dict[str, Any]] = []
        self._sent_today: dict[str, int] = {}

    def step(self, run: Run, outcome: str, detail: str | None = None, node: str | None = None) -> None:
        self.steps.append({"run_id": run.id, "journey": run.journey, "version": run.version,
                           "node": node or run.node, "at": self.now, "outcome": outcome, "detail": detail})

    def finish(self, run: Run, status: str, reason: str) -> None:
        self.step(run, "converted" if reason == "goal" else "exited", reason)
        run.status, run.exit_reason, run.finished_at, run.due_at = status, reason, self.now, None

    def move(self, run: Run, target: str, detail: str | None = None, outcome: str = "passed") -> Run:
        self.step(run, outcome, detail)
        run.node, run.node_at, run.due_at = target, self.now, self.now
        return run

    def wait(self, run: Run, until: datetime) -> None:
        run.due_at = until

    def effect(self, run: Run, effect: str, payload: dict[str, Any], channel: str = "") -> None:
        self.effects.append({
            "key": run.key, "run_id": run.id, "journey": run.journey, "node": run.node,
            "profile_id": run.profile_id, "effect": effect, "channel": channel,
            "payload": json.dumps({**payload, "version": run.version, "variant": run.variant,
                                   "occurrence": run.occurrence}, sort_keys=True, default=str),
            "status": "pending", "attempts": 0, "next_attempt_at": self.now, "created_at": self.now,
        })

    # -- one node for a group of runs at it -------------------------------------------------
    def node(self, journey: Journey, node_id: str, runs: list[Run]) -> list[Run]:
        node = journey.nodes.get(node_id)
        if node is None:
            for run in runs:
                self.finish(run, "exited", "node_removed")
            return []
        body = node.body
        if isinstance(body, Exit):
            for run in runs:
                self.finish(run, "done", "exit")
            return []
        if isinstance(body, Wait):
            return self._wait(runs, node.next, lambda r: r.node_at + timedelta(seconds=body.seconds))
        if isinstance(body, WaitUntil):
            zones = self._zones(runs)
            return self._wait(runs, node.next, lambda r: next_local_time(r.node_at, body, zones.get(r.profile_id)
                                                                         or self.engine.ctx.config.timezone))
        if isinstance(body, WaitFor):
            return self._wait_for(body, runs)
        if isinstance(body, Branch):
            remaining, moved = list(runs), []
            for i, case in enumerate(body.cases):
                hit = self.engine.rules.matching(case.when, remaining, self.now) if remaining else set()
                moved += [self.move(r, case.next, f"case {i + 1}") for r in remaining if r.id in hit]
                remaining = [r for r in remaining if r.id not in hit]
            return moved + [self.move(r, body.otherwise, "else") for r in remaining]
        if isinstance(body, Split):
            out = []
            for run in runs:
                point = stable_fraction(run.journey, run.profile_id, run.occurrence, node_id) * 100
                total, arm = 0, body.arms[-1]
                for a in body.arms:
                    total += a.weight
                    if point < total:
                        arm = a
                        break
                run.variant = arm.name
                out.append(self.move(run, arm.next, arm.name))
            return out
        assert node.next is not None
        if isinstance(body, Send):
            return self._send(journey, node_id, body, node.next, runs)
        payload: dict[str, Any]
        if isinstance(body, TagEffect):
            effect, payload = "tag", {"tag": body.tag, "remove": body.remove}
        elif isinstance(body, SetAttributes):
            effect, payload = "set", {"values": body.values}
        elif isinstance(body, SegmentEffect):
            effect, payload = "segment", {"segment": body.segment, "remove": body.remove}
        else:
            assert isinstance(body, Webhook)
            effect, payload = "webhook", {"url": body.url, "method": body.method, "body": body.body,
                                          "headers": body.headers}
        out = []
        for run in runs:
            if run.holdout:
                out.append(self.move(run, node.next, None, "held_out"))
            else:
                self.effect(run, effect, payload)
                out.append(self.move(run, node.next, None, "queued"))
        return out

    def _wait(self, runs: list[Run], target: str | None, due: Callable[[Run], datetime]) -> list[Run]:
        assert target is not None
        out = []
        for run in runs:
            until = due(run)
            if until <= self.now:
                out.append(self.move(run, target))
            else:
                self.wait(run, until)
        return out

    def _wait_for(self, body: WaitFor, runs: list[Run]) -> list[Run]:
        found = self.engine.rules.first_events(body.event, runs, self.now, since="node", until_seconds=body.timeout)
        out = []
        for run in runs:
            if run.id in found:
                out.append(self.move(run, body.then, f"{body.event.name} at {found[run.id].isoformat()}"))
            elif run.node_at + timedelta(seconds=body.timeout) <= self.now:
                out.append(self.move(run, body.otherwise, "timeout"))
            else:
                self.wait(run, run.node_at + timedelta(seconds=body.timeout))
        return out

    def _send(self, journey: Journey, node_id: str, body: Send, target: str, runs: list[Run]) -> list[Run]:
        out = []
        cap = journey.limits.sends_per_day
        for run in runs:
            if run.holdout:
                out.append(self.move(run, target, None, "held_out"))
                continue
            if cap is not None and not body.transactional:
                sent = self._sent(journey.name)
                if sent >= cap:  # the day's sends are used up: wait for the next local day
                    self.wait(run, next_local_midnight(self.now, self.engine.ctx.config.timezone))
                    continue
                self._sent_today[journey.name] = sent + 1
            self.effect(run, "message", {"template": body.template, "topic": body.topic,
                                         "transactional": body.transactional}, channel=body.channel)
            out.append(self.move(run, target, None, "queued"))
        return out

    def _sent(self, name: str) -> int:
        if name not in self._sent_today:
            import sqlalchemy as sa

            from segflow.state.tables import outbox

            start = local_midnight(self.now, self.engine.ctx.config.timezone)
            with self.engine.ctx.state.engine.connect() as conn:
                self._sent_today[name] = int(conn.execute(
                    sa.select(sa.func.count()).select_from(outbox).where(
                        outbox.c.journey == name, outbox.c.effect == "message",
                        outbox.c.created_at >= start)).scalar() or 0)
        return self._sent_today[name]

    def _zones(self, runs: list[Run]) -> dict[str, str]:
        from segflow.journeys.entries import profile_zones

        return profile_zones(self.engine.ctx, sorted({r.profile_id for r in runs}))


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_local_time(after: datetime, body: WaitUntil, zone: str) -> datetime:
    """The first local ``body.until`` on one of ``body.days`` at or after *after*, in UTC."""
    tz = ZoneInfo(zone)
    hour, minute = (int(x) for x in body.until.split(":")[:2])
    local = as_utc(after).astimezone(tz)  # type: ignore[union-attr]
    day = local.date()
    for _ in range(8):
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if candidate >= local and (not body.days or candidate.weekday() in body.days):
            return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("a week always has one of the days")  # pragma: no cover


def local_midnight(at: datetime, zone: str) -> datetime:
    local = at.astimezone(ZoneInfo(zone))
    return datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def next_local_midnight(at: datetime, zone: str) -> datetime:
    tz = ZoneInfo(zone)
    local = at.astimezone(tz).date() + timedelta(days=1)
    return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def run_journeys(ctx: ProjectContext, *, now: datetime | None = None, worker: str | None = None,
                 names: Sequence[str] | None = None, options: EngineOptions | None = None) -> EngineReport:
    """One engine call as of *now* (default: the context's clock): entries, steps, deliveries."""
    from segflow.scheduler.worker import default_worker_name

    when = at_or_now(now, ctx.clock)
    return Engine(ctx, now=when, worker=worker or default_worker_name(), options=options, names=names).run()


def enroll(ctx: ProjectContext, name: str, profile_ids: Sequence[str], *, at: datetime | None = None,
           engine: Engine | None = None) -> int:
    """Enrol *profile_ids* in journey *name* now (any entry kind; the re-entry policy applies);
    returns how many runs started. Unknown ids are refused (IdentityError naming them)."""
    from segflow.errors import DefinitionError, IdentityError

    when = at_or_now(at, ctx.clock)
    eng = engine or Engine(ctx, now=when, worker="enroll")
    state = eng.states.get(name)
    if state is None or state.status == "removed":
        raise DefinitionError(f"no journey {name!r} is applied", code="unknown_journey", path=name)
    if state.status != "active":
        raise DefinitionError(f"journey {name!r} is {state.status}: start it before enrolling",
                              code="journey_not_active", path=name)
    people = _persons(ctx, list(dict.fromkeys(profile_ids)))
    unknown = [pid for pid in dict.fromkeys(profile_ids) if pid not in people]
    if unknown:
        raise IdentityError(f"unknown profile id(s): {', '.join(unknown[:5])}"
                            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""), code="unknown_profile")
    key = f"m:{when.isoformat()}"
    with ctx.state.begin() as conn:
        rows = eng.entry_rows(conn, name, [(p, key, when) for p in dict.fromkeys(people.values())])
        return store.insert_runs(conn, rows)


def _persons(ctx: ProjectContext, ids: list[str]) -> dict[str, str]:
    """Each of *ids* that a profile answers to, with its person (a merged record's id: the person it
    was merged into): one query for the whole list (:mod:`segflow.identity.persons`)."""
    import pyarrow as pa

    from segflow.identity.persons import PERSON, persons_sql, resolved

    wh = ctx.warehouse
    if not ids or not wh.table_exists("profiles"):
        return {}
    source = "journey_enroll_ids"
    mapped = (f"SELECT g.profile_id, g.{PERSON} FROM ({persons_sql(source)}) AS g" if resolved(wh)
              else f"SELECT profile_id, profile_id FROM {source}")
    with wh.registered(source, pa.table({"profile_id": pa.array(ids, pa.string())})):
        rows = wh.rows(f"SELECT q.given, q.person FROM ({mapped}) AS q(given, person) "
                       "WHERE q.person IN (SELECT profile_id FROM profiles)")
    return {str(given): str(person) for given, person in rows}


