"""The rule language inside journeys: a batch of runs at once, as SQL on the warehouse.

One :class:`JourneyRules` per engine call: it builds the rule context once
(``journey=True``: ``within: journey`` and ``within: node`` are allowed), checks each rule
once, and answers, for a batch of runs, which of them a rule matches as of a time
(:meth:`JourneyRules.matching`: one query per rule and batch, through
:func:`segflow.rules.project.compile_batch_in` over a registered batch table of
``(run_id, profile_id, journey_since, node_since)``). Event matches (an event entry, a
goal, a ``wait: {for: ...}``) compile their ``where`` filters with the rule compiler too
(:meth:`JourneyRules.event_filter`), so a filter means what it means in a rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.journeys.model import EventMatch

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.store import Run

__all__ = ["JourneyRules", "BATCH_TABLE"]

BATCH_TABLE = "journey_batch"


def _batch_table(runs: Sequence[Run]) -> Any:
    import pyarrow as pa

    return pa.table({
        "run_id": pa.array([r.id for r in runs], pa.int64()),
        "profile_id": pa.array([r.profile_id for r in runs], pa.string()),
        "journey_since": pa.array([r.entered_at for r in runs], pa.timestamp("us", tz="UTC")),
        "node_since": pa.array([r.node_at for r in runs], pa.timestamp("us", tz="UTC")),
    })


class JourneyRules:
    """*evaluate_below*: a batch of fewer runs is answered by the one-profile evaluator
    (:func:`segflow.rules.evaluate.evaluate` over each profile's data) instead of SQL; both
    give the same answer (``tests/journeys/test_engine.py``). On DuckDB fetching a profile's
    data scans each table, so SQL is the cheaper way even for one run: the default is 0."""

    def __init__(self, ctx: ProjectContext, *, evaluate_below: int = 0) -> None:
        self.ctx = ctx
        self.evaluate_below = evaluate_below
        self._context: Any = None
        self._trees: dict[str, Any] = {}

    @property
    def context(self) -> Any:
        if self._context is None:
            from segflow.rules.project import rule_context

            self._context = rule_context(self.ctx, journey=True, events_seen=False)
        return self._context

    def tree(self, rule: Any) -> Any:
        """The checked tree of *rule* (cached by its JSON)."""
        key = json.dumps(rule, sort_keys=True, default=str)
        if key not in self._trees:
            from segflow.rules.project import check_in

            self._trees[key] = check_in(self.ctx, rule, context=self.context, journey=True).tree
        return self._trees[key]

    def matching(self, rule: Any, runs: Sequence[Run], at: datetime) -> set[int]:
        """The ids of the *runs* whose profile *rule* matches as of *at*."""
        if not runs:
            return set()
        if len(runs) < self.evaluate_below:
            return self._evaluated(rule, runs, at)
        from segflow.rules.project import compile_batch_in

        sql = compile_batch_in(self.ctx, self.tree(rule), as_of=at, batch_table=BATCH_TABLE)
        wh = self.ctx.warehouse
        with wh.registered(BATCH_TABLE, _batch_table(runs)):
            return {int(r[0]) for r in wh.rows(sql)}

    def _evaluated(self, rule: Any, runs: Sequence[Run], at: datetime) -> set[int]:
        from segflow.rules.evaluate import evaluate
        from segflow.rules.profile_data import fetch_profiles_data

        tree = self.tree(rule)
        data = fetch_profiles_data(self.ctx.warehouse, sorted({r.profile_id for r in runs}))
        return {r.id for r in runs if r.profile_id in data and evaluate(
            tree, data[r.profile_id], as_of=at, timezone=self.ctx.config.timezone, journey_since=r.entered_at,
            node_since=r.node_at)}

    def event_filter(self, match: EventMatch, at: datetime, alias: str = "e") -> str:
        """SQL over the events table aliased *alias*: the event's name and its ``where`` filters."""
        from sqlglot import exp

        from segflow.rules.ast import Event, walk
        from segflow.rules.compile import RuleCompiler
        from segflow.rules.dialects import dialect_named

        rule: dict[str, Any] = {"event": match.name}
        if match.where:
            rule["where"] = match.where
        node = next(n for n in walk(self.tree(rule)) if isinstance(n, Event))
        dialect = dialect_named(self.ctx.warehouse.DIALECT)
        compiler = RuleCompiler(at, self.ctx.config.timezone, dialect)
        props = exp.column("properties", table=alias, quoted=True)
        conds: list[exp.Expr] = [exp.EQ(this=exp.column("event", table=alias, quoted=True),
                                        expression=exp.Literal.string(match.name))]
        for f in node.where:
            conds += [compiler.test(compiler.event_property(props, f, c), c, True) for c in f.tests]
        return exp.and_(*conds).sql(dialect=dialect.NAME)

    def first_events(self, match: EventMatch, runs: Sequence[Run], at: datetime, *, since: str,
                     until_seconds: int | None = None) -> dict[int, datetime]:
        """Per run of *runs*: the time of the first event matching *match* at or after the run's
        ``since`` (``"journey"``: its entry, ``"node"``: reaching its node), up to *at* (and at most
        *until_seconds* after *since*)."""
        if not runs or not self.ctx.warehouse.table_exists("events"):
            return {}
        col = "journey_since" if since == "journey" else "node_since"
        cond = self.event_filter(match, at)
        upper = "e.ts <= ?"
        params: list[Any] = [at]
        if until_seconds is not None:
            upper += f" AND e.ts <= b.{col} + INTERVAL '{int(until_seconds)} seconds'"
        sql = (f"SELECT b.run_id, min(e.ts) FROM {BATCH_TABLE} b JOIN events e ON e.profile_id = b.profile_id "
               f"WHERE {cond} AND e.ts >= b.{col} AND {upper} GROUP BY b.run_id")
        from segflow.clock import as_utc

        wh = self.ctx.warehouse
        with wh.registered(BATCH_TABLE, _batch_table(runs)):
            return {int(r[0]): as_utc(r[1]) for r in wh.rows(sql, params)}  # type: ignore[misc]
