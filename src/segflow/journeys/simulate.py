"""``segflow journey simulate``: a journey over the stored history, on a virtual clock, with no effects.

    >>> report = simulate(ctx, "dormant_high_aov", start=T1, end=T2)      # doctest: +SKIP
    >>> report.messages[:1], report.stats.nodes[0].entered                 # doctest: +SKIP

The journey (its file in ``journeys/`` when there is one — so it can be tried before it is
applied — else its applied version) runs in a throwaway state store against the real
warehouse, read only: the same engine as ``segflow worker`` (:mod:`~segflow.journeys.engine`),
with a clock that jumps from one moment something can happen to the next (an entry, a
run's due time, an awaited event, a retry), so a year takes seconds. Messages are not sent:
each is recorded with its time (``messages``; ``--out FILE`` writes them one JSON object a
line), after the consent check and rendering a real send would do. Internal effects (tags,
attributes, static segments) are not made either, so a branch that reads a tag the journey
itself sets sees the data as it is (documented in docs/journeys.md).

A real run with a pinned clock (``segflow worker --once --now T``) called at the same
moments (:attr:`SimulationReport.stops`) takes the same steps and queues the same messages.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.clock import as_utc

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.model import Journey
    from segflow.journeys.service import JourneyStats

__all__ = ["SimulationReport", "simulate"]

#: The smallest step of the virtual clock.
RESOLUTION = timedelta(seconds=1)


@dataclass
class SimulationReport:
    journey: str
    start: datetime
    end: datetime
    stats: JourneyStats
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: The clock readings the engine ran at.
    stops: list[datetime] = field(default_factory=list)
    seconds: float = 0.0
    out: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"journey": self.journey, "from": self.start, "to": self.end, "stats": self.stats.to_dict(),
                "messages": len(self.messages), "stops": len(self.stops), "seconds": round(self.seconds, 3),
                "out": self.out}


class _SimContext:
    """The project context with a throwaway state store: the engine's writes go there."""

    def __init__(self, ctx: ProjectContext, state: Any) -> None:
        self._ctx = ctx
        self.state = state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _journey(ctx: ProjectContext, name: str) -> Journey:
    from segflow.journeys import store
    from segflow.journeys.definition import load_journey_definitions
    from segflow.journeys.service import _state_of

    local = load_journey_definitions(ctx.root)
    if name in local:
        from segflow.definitions.project import check_definitions, local_definitions

        check_definitions(ctx, local_definitions(ctx))  # the file must pass plan's checks
        return local[name]
    states = store.states(ctx.state)
    state = states.get(name) or _state_of(ctx, name)
    from segflow.journeys.versions import applied_journey

    return applied_journey(ctx, name, state.version)


def simulate(ctx: ProjectContext, name: str, *, start: datetime, end: datetime, out: str | Path | None = None,
             progress: Any = None) -> SimulationReport:
    """Run journey *name* from *start* to *end* on a virtual clock (see the module doc)."""
    from segflow.definitions.versions import record_version
    from segflow.errors import QueryError
    from segflow.journeys import store
    from segflow.journeys.engine import Engine, EngineOptions
    from segflow.journeys.entries import next_entry_time
    from segflow.journeys.model import WaitFor
    from segflow.journeys.rules import JourneyRules
    from segflow.journeys.service import journey_stats
    from segflow.state.store import StateStore

    t0, t1 = as_utc(start), as_utc(end)
    assert t0 is not None and t1 is not None
    if t1 <= t0:
        raise QueryError(f"the simulation ends ({t1.isoformat()}) before it starts ({t0.isoformat()})",
                         code="bad_period", path="to")
    journey = _journey(ctx, name)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="segflow-sim-") as tmp:
        state = StateStore.open(f"sqlite:///{Path(tmp) / 'state.db'}")
        sim = _SimContext(ctx, state)
        entries_from = max(t0, journey.effective_from or t0)
        with state.begin() as conn:
            version = record_version(conn, kind="journey", name=name, body=journey.body(), file=journey.file,
                                     applied_at=t0)
            store.put_state(conn, name, status="active", version=version, entries_from=entries_from,
                            entry_cursor=None, seq_cursor=None)
        options = EngineOptions(effects=False, late_entries=False)
        rules = JourneyRules(sim)  # type: ignore[arg-type]
        report = SimulationReport(journey=name, start=t0, end=t1, stats=None)  # type: ignore[arg-type]
        now = t0
        while True:
            engine = Engine(sim, now=now, worker="simulate", options=options,  # type: ignore[arg-type]
                            loader=lambda n, v: journey)
            engine.rules = rules
            result = engine.run()
            report.stops.append(now)
            report.messages += result.would
            if result.errors:
                raise QueryError(f"journey {name}: {result.errors[0]}", code="simulation_failed", path=name)
            if progress is not None:
                progress((now - t0) / (t1 - t0))
            stops = [store.next_due(state), store.next_attempt(state),
                     next_entry_time(sim, journey, rules, now, entries_from)]  # type: ignore[arg-type]
            stops += [_next_event(sim, rules, n.body, now) for n in journey.nodes.values()
                      if isinstance(n.body, WaitFor)]
            upcoming = [s for s in stops if s is not None]
            if not upcoming:
                break
            nxt = max(min(upcoming), now + RESOLUTION)
            if nxt > t1:
                break
            now = nxt
        report.stats = journey_stats(sim, name)  # type: ignore[arg-type]
        state.close()
    report.seconds = time.perf_counter() - began
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for m in report.messages:
                fh.write(json.dumps(m, ensure_ascii=False, default=str) + "\n")
        report.out = str(out)
    return report


def _next_event(ctx: Any, rules: Any, body: Any, after: datetime) -> datetime | None:
    """The first event after *after* that a ``wait: {for: ...}`` node waits for."""
    wh = ctx.warehouse
    if not wh.table_exists("events"):
        return None
    cond = rules.event_filter(body.event, after)
    found = wh.scalar(f"SELECT min(e.ts) FROM events e WHERE {cond} AND e.ts > ?", [after])
    return as_utc(found) if found is not None else None
