"""The ``traits`` table and its ``trait_state``: what each column holds and who writes it.

Two writers share the one ``traits`` table (one row per profile, one column per trait):

* **defined traits**, one per file in ``traits/``, written by
  :func:`segflow.traits.refresh.refresh_traits`;
* **owned traits**, written by a model (RFM, lifetime value, ...) through
  :func:`write_owned_traits`. Their ``trait_state`` row has the kind ``model:<name>``
  (:data:`OWNED_PREFIX`): a refresh of the defined traits keeps their columns as they
  are, and a model rewrites only its own columns.

A column has one owner: a trait file named like a model's column, or a model column
named like a trait file, is refused (:class:`~segflow.errors.DefinitionError`
``trait_conflict``) before anything is written. Rules read every column alike
(``{trait: rfm_score, eq: 5}``).

    >>> write_owned_traits(ctx, "model:rfm", {"rfm_score": T.INTEGER}, sql, as_of=t)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from segflow import clock
from segflow.clock import as_utc, utc
from segflow.errors import DefinitionError, QueryError, SegflowError
from segflow.schema.types import AttributeType as T
from segflow.traits.compile import sql_type
from segflow.warehouse import tables

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["OWNED_PREFIX", "STATE_TABLE", "owned_columns", "state_rows", "write_owned_traits"]

STATE_TABLE = tables.TRAIT_STATE
#: The ``kind`` of a column a model owns is this prefix and the model's name.
OWNED_PREFIX = "model:"
_NEW = "_segflow_owned_new"


def state_rows(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """``trait_state`` by column name (empty before the first write)."""
    if not wh.table_exists(STATE_TABLE):
        return {}
    cursor = wh.execute(f"SELECT * FROM {STATE_TABLE} ORDER BY name")
    names = [d[0] for d in cursor.description]
    rows = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}
    for row in rows.values():  # DuckDB hands back its own UTC object; make it the stdlib one
        for key in ("as_of", "refreshed_at"):
            row[key] = as_utc(row[key])
    return rows


def is_owned(row: Mapping[str, Any]) -> bool:
    return str(row["kind"]).startswith(OWNED_PREFIX)


def owned_columns(wh: Warehouse, owner: str | None = None) -> dict[str, dict[str, Any]]:
    """The ``trait_state`` rows of columns models own (of *owner* only, when given)."""
    return {name: row for name, row in state_rows(wh).items()
            if is_owned(row) and (owner is None or row["kind"] == owner)}


def _q(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def write_owned_traits(
    ctx: ProjectContext,
    owner: str,
    columns: Mapping[str, T],
    select_sql: str,
    *,
    as_of: datetime,
    file: str | None = None,
    fingerprint: str | None = None,
    empty: SegflowError | None = None,
) -> dict[str, int]:
    """Replace the columns *owner* (``model:<name>``) writes in ``traits`` with *columns*.

    *select_sql* gives ``profile_id`` and one column per name in *columns* (at most one
    row per profile; profiles it leaves out get NULL). The owner's earlier columns not in
    *columns* are dropped; every other column is kept as it is. One transaction: on any
    error the previous table is untouched; *empty*, when given, is raised (and nothing
    written) when *select_sql* gives no row. Returns the non-null count of each column.
    Raises :class:`DefinitionError` (``trait_conflict``) when a name is a trait file's or
    another model's column.
    """
    from segflow.traits.definition import load_trait_definitions
    from segflow.traits.refresh import trait_columns

    if not owner.startswith(OWNED_PREFIX):
        raise ValueError(f"owner must start with {OWNED_PREFIX!r}: {owner!r}")
    if ctx.read_only:
        raise QueryError(f"cannot write the {owner} traits: the workspace is open read-only", code="read_only")
    wh = ctx.warehouse
    previous = state_rows(wh)
    orders, items = trait_columns(ctx)
    defined = {t.name: t.file for t in load_trait_definitions(ctx.root, order_columns=orders, item_columns=items)}
    for name in columns:
        if name in defined:
            raise DefinitionError(f"trait {name!r} of {owner} is also defined in {defined[name]}: rename or remove "
                                  "that file", code="trait_conflict", path=defined[name])
        row = previous.get(name)
        if row is not None and row["kind"] != owner:
            holder = row["kind"] if is_owned(row) else f"traits/{row['file'] or name}"
            raise DefinitionError(f"trait {name!r} of {owner} is already written by {holder}",
                                  code="trait_conflict", path=name)

    tables.ensure(wh, tables.TRAITS, STATE_TABLE)
    stored = wh.columns(tables.TRAITS)
    mine = [c for c in stored if c in columns or (c in previous and previous[c]["kind"] == owner)]
    # One row per profile, in profile_id order, as the trait refresh leaves it. Same profiles?
    # Equal counts and equal sums of 64-bit hashes (two scans, no join; a different set with
    # both equal is a 2^-64 chance); else the table is rebuilt over the profiles (those that
    # came since get a row, those merged away lose theirs), every column kept.
    same_sql = (f'SELECT (SELECT count(*) FROM "{tables.TRAITS}") = (SELECT count(*) FROM "profiles") AND '
                f'(SELECT sum(hash("profile_id")) FROM "{tables.TRAITS}") IS NOT DISTINCT FROM '
                f'(SELECT sum(hash("profile_id")) FROM "profiles")')
    others = [c for c in stored if c != "profile_id"]
    rebuilt = (sqlglot.select(exp.column("profile_id", table="p", quoted=True).as_("profile_id", quoted=True),
                              *(exp.column(c, table="o", quoted=True).as_(c, quoted=True) for c in others))
               .from_(exp.to_table("profiles", quoted=True).as_("p", quoted=True))
               .join(exp.to_table(tables.TRAITS, quoted=True).as_("o", quoted=True),
                     on="o.profile_id = p.profile_id", join_type="left")
               .order_by(exp.column("profile_id", table="p", quoted=True)))
    update = exp.Update(
        this=exp.to_table(tables.TRAITS, quoted=True),
        expressions=[exp.EQ(this=exp.column(name, quoted=True),
                            expression=exp.cast(exp.column(name, table="n", quoted=True), sql_type(type_)))
                     for name, type_ in columns.items()],
        from_=exp.From(this=exp.to_table(_NEW, quoted=True).as_("n", quoted=True)),
        where=exp.Where(this=exp.EQ(this=exp.column("profile_id", table="n", quoted=True),
                                    expression=exp.column("profile_id", table=tables.TRAITS, quoted=True))),
    )
    now = clock.now()
    with wh.transaction():
        # Sorted like traits, so the UPDATE below writes its rows in table order: in another order
        # DuckDB's UPDATE of 1M rows took 24 s instead of 0.13 s (the sort costs 0.15 s).
        wh.temp_table(_NEW, f'SELECT * FROM ({select_sql}) AS "s" ORDER BY "profile_id"')
        duplicated = wh.count(f'SELECT count(*) FROM (SELECT profile_id FROM {_NEW} GROUP BY 1 HAVING count(*) > 1)')
        if duplicated:
            raise QueryError(f"{owner} gave {duplicated} profiles more than one row", code="model")
        if empty is not None and not wh.count(f"SELECT count(*) FROM {_NEW}"):
            raise empty
        if not wh.scalar(same_sql):
            tables.replace_table(wh, tables.TRAITS, rebuilt.sql(dialect=wh.DIALECT))
            tables.set_not_null(wh, tables.TRAITS, "profile_id")
        # The owner's columns are dropped and added again empty (a type may have changed), then
        # filled for the profiles the model scored: the other columns are not rewritten.
        tables.drop_columns(wh, tables.TRAITS, mine)
        tables.add_missing_columns(wh, tables.TRAITS, {name: sql_type(type_).sql(dialect=wh.DIALECT)
                                                       for name, type_ in columns.items()})
        if columns:
            wh.execute(update.sql(dialect=wh.DIALECT))
        counts: dict[str, int] = {}
        if columns:
            query = sqlglot.select(*(exp.Count(this=exp.column(n, quoted=True)) for n in columns)).from_(
                exp.to_table(tables.TRAITS, quoted=True))
            counts = {n: int(v) for n, v in zip(columns, wh.rows(query.sql(dialect=wh.DIALECT))[0])}
        wh.execute(f"DELETE FROM {STATE_TABLE} WHERE kind = ?", [owner])
        if columns:
            wh.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [[name, owner, type_.value, file, fingerprint, utc(as_of), now, None, counts[name]]
                            for name, type_ in columns.items()])
        wh.drop_tables(_NEW)
    return counts
