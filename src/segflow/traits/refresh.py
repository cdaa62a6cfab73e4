"""Materialising traits: every definition → one column of the ``traits`` table, atomically.

    >>> summary = refresh_traits(ws, as_of=datetime(2026, 3, 1, tzinfo=timezone.utc))  # doctest: +SKIP
    >>> summary["traits"]["email_open_rate_90d"]                                        # doctest: +SKIP
    {'kind': 'ratio', 'type': 'number', 'non_null': 812, 'seconds': 0.04, ...}

How a refresh runs:

1. every file in ``traits/`` is loaded and checked, and every query compiled; any
   problem raises :class:`~segflow.errors.DefinitionError` before anything is written;
2. in one warehouse transaction, each trait's query (:func:`~segflow.traits.compile.compile_trait`)
   fills a temporary table (timed per trait), then
   ``CREATE OR REPLACE TABLE traits AS SELECT profile_id, <one column per trait> ...``
   joins them to every profile, and the ``trait_state`` table is rewritten;
3. COMMIT — or, on any error, ROLLBACK: the previous ``traits`` table is untouched.

``trait_state`` (warehouse, one row per materialised trait) records what each column
holds: ``name, kind, type, file, fingerprint, as_of, refreshed_at, seconds, non_null``.
``as_of`` is the time the column was computed as of; :func:`last_refresh` reads it.

Columns a model owns (:mod:`segflow.traits.store`, ``trait_state.kind`` ``model:<name>``)
are kept as they are; a trait file named like one is refused (``trait_conflict``).

With ``names``, only those traits are recomputed (plus any trait that is new or whose
definition changed since it was stored); the others keep their stored column and
their ``as_of``. Traits whose file was removed are dropped from the table.

This module also registers the ``trait`` kind with the definitions graph (traits read no
other definition; segments and tags read them) and the ``trait`` job kind with the
scheduler (a due trait schedule runs :func:`refresh_traits` for that trait, with a
``refresh_runs`` row). The definitions runner does not refresh traits node by node: a
refresh rewrites the one ``traits`` table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from segflow import clock
from segflow.clock import at_or_now, utc
from segflow.definitions.graph import GraphNode
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.errors import DefinitionError, QueryError
from segflow.scheduler.jobs import register_job_kind
from segflow.schema.types import AttributeType as T
from segflow.traits.compile import compile_trait_sql, sql_type
from segflow.traits.definition import ZERO_WHEN_EMPTY, TraitDefinition, load_trait_definitions
from segflow.traits.store import OWNED_PREFIX, is_owned, state_rows
from segflow.warehouse import tables

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.definitions.runner import RefreshResult
    from segflow.warehouse.base import Warehouse

__all__ = ["STATE_TABLE", "TraitProgress", "last_refresh", "refresh_trait_job", "refresh_traits", "trait_columns",
           "trait_nodes"]

#: The warehouse table recording, per materialised trait, what its column holds (see warehouse/tables.py).
STATE_TABLE = tables.TRAIT_STATE  # see segflow.traits.store
_TEMP_PREFIX = "_segflow_trait_"
_OLD = "_segflow_traits_old"

#: ``progress(stage, done, total)``: called before each trait (stage = its name) and
#: before the final write (stage ``"write"``, done = total).
TraitProgress = Callable[[str, int, int], None]


def trait_columns(ctx: ProjectContext) -> tuple[dict[str, T], dict[str, T]]:
    """The workspace's ``orders`` and ``order_items`` columns and types (built-in, declared, inferred)."""
    registry = ctx.registry
    return (
        {name: a.type for name, a in registry.attributes("orders").items()},
        {name: a.type for name, a in registry.attributes("order_items").items()},
    )


def _col(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _as(value: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=value, alias=exp.to_identifier(name, quoted=True))


def _table(name: str, alias: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name, quoted=True), alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True))
    )


def last_refresh(ctx: ProjectContext) -> dict[str, Any] | None:
    """What the defined traits' columns hold: ``{"as_of", "refreshed_at", "traits": {name: row}}``
    (``as_of`` and ``refreshed_at`` of the latest refresh), or None before the first one.
    Columns a model owns are not in it (:func:`segflow.traits.store.owned_columns`)."""
    rows = {n: r for n, r in state_rows(ctx.warehouse).items() if not is_owned(r)}
    if not rows:
        return None
    latest = max(rows.values(), key=lambda r: r["refreshed_at"])
    return {"as_of": latest["as_of"], "refreshed_at": latest["refreshed_at"], "traits": rows}


def refresh_traits(
    ctx: ProjectContext,
    *,
    as_of: datetime | None = None,
    names: list[str] | None = None,
    progress: TraitProgress | None = None,
) -> dict[str, Any]:
    """Compute the traits defined in ``traits/`` as of *as_of* (default now, UTC) into ``traits``.

    *names* limits the recomputation to those traits (see the module doc). Returns
    ``{"as_of", "profiles", "seconds", "traits": {name: {"kind", "type", "file",
    "non_null", "seconds", "as_of", "refreshed"}}}``; ``seconds`` of a trait is the time
    its query took (None for a trait kept as it was). Raises :class:`DefinitionError` for an
    invalid definition or an unknown name in *names*; nothing is written then.
    """
    when = at_or_now(as_of, ctx.clock)
    orders, items = trait_columns(ctx)
    definitions = load_trait_definitions(ctx.root, order_columns=orders, item_columns=items)
    by_name = {t.name: t for t in definitions}
    for name in names or ():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise DefinitionError(f"no trait {name!r} in traits/ (traits: {known})", code="unknown_trait", path=name)
    if ctx.read_only:
        raise QueryError("cannot refresh traits: the workspace is open read-only", code="read_only")

    wh = ctx.warehouse
    previous = state_rows(wh)
    owned = [n for n, r in previous.items() if is_owned(r)]
    for t in definitions:
        if t.name in previous and is_owned(previous[t.name]):
            raise DefinitionError(f"{t.file}: trait {t.name!r} is a column of {previous[t.name]['kind']}: "
                                  "rename the trait", code="trait_conflict", path=t.file)
    stored = wh.columns("traits")
    owned = [n for n in owned if n in stored]
    wanted = set(names) if names is not None else None

    def keep(t: TraitDefinition) -> bool:
        prev = previous.get(t.name)
        return (wanted is not None and t.name not in wanted and prev is not None and t.name in stored
                and prev["fingerprint"] == t.fingerprint() and prev["type"] == t.type.value)

    carried = [t for t in definitions if keep(t)]
    computed = [t for t in definitions if not keep(t)]
    # Compile everything first: a bad time zone fails here, before the transaction.
    queries = {t.name: compile_trait_sql(t, as_of=when, timezone=ctx.config.timezone) for t in computed}

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    temps = {t.name: f"{_TEMP_PREFIX}{i}" for i, t in enumerate(computed)}
    with wh.transaction():
        for i, t in enumerate(computed):
            if progress:
                progress(t.name, i, len(computed))
            begun = time.perf_counter()
            wh.temp_table(temps[t.name], queries[t.name])
            seconds[t.name] = time.perf_counter() - begun
        if progress:
            progress("write", len(computed), len(computed))
        old_needed = bool(carried or owned)
        if old_needed:
            keep_cols = [exp.column("profile_id", quoted=True), *(exp.column(t.name, quoted=True) for t in carried),
                         *(exp.column(n, quoted=True) for n in owned)]
            old = sqlglot.select(*keep_cols).from_(exp.to_table("traits", quoted=True))
            wh.temp_table(_OLD, old.sql(dialect=wh.DIALECT))
        final = _final_select(definitions, temps, carried, owned).sql(dialect=wh.DIALECT)
        tables.replace_table(wh, tables.TRAITS, final)
        tables.set_not_null(wh, tables.TRAITS, "profile_id")
        counts = _non_null(wh, definitions)
        refreshed_at = clock.now()
        tables.ensure(wh, STATE_TABLE)
        wh.execute(f"DELETE FROM {STATE_TABLE} WHERE kind NOT LIKE '{OWNED_PREFIX}%'")
        rows = []
        for t in definitions:
            if t.name in seconds:
                rows.append([t.name, t.kind.value, t.type.value, t.file, t.fingerprint(), when, refreshed_at,
                             seconds[t.name], counts[t.name]])
            else:
                prev = previous[t.name]
                rows.append([t.name, t.kind.value, t.type.value, t.file, t.fingerprint(), prev["as_of"],
                             prev["refreshed_at"], prev["seconds"], counts[t.name]])
        if rows:
            wh.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        wh.drop_tables(*temps.values(), *([_OLD] if old_needed else []))

    profiles = wh.count(f"SELECT count(*) FROM {tables.TRAITS}")
    summary_traits = {}
    for row in rows:
        name = str(row[0])
        summary_traits[name] = {
            "kind": row[1], "type": row[2], "file": row[3], "non_null": row[8],
            "seconds": seconds.get(name), "as_of": row[5], "refreshed": name in seconds,
        }
    return {"as_of": when, "profiles": profiles, "seconds": time.perf_counter() - started, "traits": summary_traits}


def _final_select(
    definitions: list[TraitDefinition], temps: dict[str, str], carried: list[TraitDefinition], owned: list[str]
) -> exp.Select:
    """Every profile with one column per trait, from the temporary tables (and the old table),
    then the columns models own, kept as they were."""
    columns: list[exp.Expression] = [_as(_col("p", "profile_id"), "profile_id")]
    joins: list[tuple[exp.Expression, exp.Expression]] = []
    for i, t in enumerate(definitions):
        if t.name in temps:
            alias = f"t{i}"
            value: exp.Expression = _col(alias, "value")
            joins.append((_table(temps[t.name], alias),
                          exp.EQ(this=_col(alias, "profile_id"), expression=_col("p", "profile_id"))))
        else:
            # Kept from the previous table; a profile added since gets the empty value.
            value = _col("old", t.name)
            if t.kind in ZERO_WHEN_EMPTY:
                value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
            value = exp.cast(value, sql_type(t.type))
        columns.append(_as(value, t.name))
    columns.extend(_as(_col("old", name), name) for name in owned)
    select = sqlglot.select(*columns).from_(_table("profiles", "p"))
    for table, on in joins:
        select = select.join(table, on=on, join_type="left")
    if carried or owned:
        on = exp.EQ(this=_col("old", "profile_id"), expression=_col("p", "profile_id"))
        select = select.join(_table(_OLD, "old"), on=on, join_type="left")
    return select.order_by(_col("p", "profile_id"))


def _non_null(wh: Warehouse, definitions: list[TraitDefinition]) -> dict[str, int]:
    if not definitions:
        return {}
    counts = [exp.Count(this=exp.column(t.name, quoted=True)) for t in definitions]
    query = sqlglot.select(*counts).from_(exp.to_table("traits", quoted=True)).sql(dialect=wh.DIALECT)
    row = wh.rows(query)[0]
    return {t.name: int(n) for t, n in zip(definitions, row)}


# -- the trait kind of the definitions graph and the scheduler --------------------------------

def trait_nodes(traits: Mapping[str, TraitDefinition | None]) -> list[GraphNode]:
    """The graph nodes of *traits*: they read events and orders, no other definition. A None
    definition is a trait being removed (still a node, so what reads it is found)."""
    return [GraphNode("trait", name, refreshable=False, file=t.file if t is not None else None)
            for name, t in traits.items()]


def refresh_trait_job(ctx: ProjectContext, name: str, *, as_of: datetime, trigger: str = "manual",
                      worker: str | None = None) -> list[RefreshResult]:
    """Recompute the trait *name* as of *as_of* (:func:`refresh_traits` with its name), with a
    ``refresh_runs`` row (``members`` = its non-null values); a failure is the result, not raised."""
    from segflow.definitions.runner import RefreshOutcome, record_run
    from segflow.definitions.versions import current_versions

    applied = current_versions(ctx.state, "trait").get(("trait", name))

    def body(run_id: int) -> RefreshOutcome:
        summary = refresh_traits(ctx, as_of=as_of, names=[name])
        return RefreshOutcome(members=summary["traits"][name]["non_null"])

    return [record_run(ctx, "trait", name, applied.version if applied else None, utc(as_of), body,
                       trigger=trigger, worker=worker)]


register_kind(DefinitionKind("trait", nodes=trait_nodes))
register_job_kind("trait", refresh_trait_job, description="recompute one trait")
