"""A checked trait → one SQL query: ``profile_id`` and the trait's ``value`` for every profile, as of T.

    >>> from datetime import datetime, timezone
    >>> from segflow.traits.definition import parse_trait
    >>> trait = parse_trait({"kind": "counter", "event": "login", "within": "7d"}, name="logins_7d")
    >>> sql = compile_trait_sql(trait, as_of=datetime(2026, 3, 1, tzinfo=timezone.utc))
    >>> print(sql)  # doctest: +NORMALIZE_WHITESPACE
    SELECT "p"."profile_id" AS "profile_id", CAST(COALESCE("g"."value", 0) AS BIGINT) AS "value"
    FROM "profiles" AS "p" LEFT JOIN (SELECT "r"."profile_id" AS "profile_id", COUNT(*) AS "value"
    FROM (SELECT "e"."profile_id" AS "profile_id", "e"."ts" AS "ts", "e"."event_id" AS "id" FROM "events" AS "e"
    WHERE NOT "e"."profile_id" IS NULL AND "e"."event" = 'login'
    AND "e"."ts" > CAST('2026-02-22T00:00:00+00:00' AS TIMESTAMPTZ)
    AND "e"."ts" <= CAST('2026-03-01T00:00:00+00:00' AS TIMESTAMPTZ)) AS "r"
    GROUP BY "r"."profile_id") AS "g" ON "g"."profile_id" = "p"."profile_id"

Every query has the same shape: the matching rows ``r`` (profile, time, id, value —
``events`` or ``orders`` with the trait's filters and window), one aggregate of them per
profile ``g``, and ``profiles`` left-joined to ``g`` so that every profile gets a row,
with the rule language's empty-aggregate rule (counter, sum and distinct_count are 0
over no rows; everything else is missing). Property kinds count only rows that have
the property (numeric kinds: a value that reads as a number). Windows and ``where``
filters are compiled by the rule compiler itself, so they mean exactly what they mean
in a rule (``within: 7d`` is T - 7d < ts <= T, data after T is ignored).

Values never reach SQL as text: names are quoted identifiers, values typed literals.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlglot
from sqlglot import exp

from segflow.rules.ast import Compare, PropFilter, Window

# One implementation of comparisons and windows for rules and traits: a trait's filters
# must mean exactly what they mean in a rule, so the rule compiler's are used, not copied.
from segflow.rules.compile import RuleCompiler
from segflow.rules.dialects import SqlDialect, dialect_named
from segflow.schema.types import AttributeType as T
from segflow.traits.definition import (
    NUMERIC_KINDS,
    ZERO_WHEN_EMPTY,
    EventSpec,
    TraitDefinition,
    TraitKind,
)

__all__ = ["compile_trait", "compile_trait_sql", "sql_type"]


def compile_trait(
    trait: TraitDefinition, *, as_of: datetime, timezone: str = "UTC", dialect: str = "duckdb"
) -> exp.Select:
    """The query giving every profile's value of *trait* as of *as_of*.

    Columns: ``profile_id`` and ``value`` (of the trait's type, see
    :attr:`TraitDefinition.type`). *as_of* without a zone is UTC; *timezone* is the
    workspace zone; *dialect* is ``"duckdb"`` or ``"postgres"``.
    """
    return _TraitCompiler(as_of, timezone, dialect_named(dialect)).query(trait)


def compile_trait_sql(
    trait: TraitDefinition, *, as_of: datetime, timezone: str = "UTC", dialect: str = "duckdb", pretty: bool = False
) -> str:
    """:func:`compile_trait` rendered as SQL text for *dialect*."""
    adapter = dialect_named(dialect)
    return _TraitCompiler(as_of, timezone, adapter).query(trait).sql(dialect=adapter.NAME, pretty=pretty)


def sql_type(t: T) -> exp.DataType:
    """The column type of a trait value of type *t* (``DOUBLE``, ``VARCHAR[]``, ...)."""
    return exp.DataType.build(t.duckdb_type, dialect="duckdb")


# -- small builders ---------------------------------------------------------------


def _col(table: str, name: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _table(name: str, alias: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name, quoted=True), alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True))
    )


def _as(value: exp.Expr, name: str) -> exp.Alias:
    return exp.Alias(this=value, alias=exp.to_identifier(name, quoted=True))


def _and(conds: list[exp.Expr]) -> exp.Expr:
    return cast(exp.Expr, exp.and_(*conds)) if conds else exp.true()


def _not_null(value: exp.Expr) -> exp.Expr:
    return exp.not_(exp.Is(this=value, expression=exp.Null()))


def _eq_any(value: exp.Expr, options: tuple[str, ...]) -> exp.Expr:
    items = [exp.Literal.string(o) for o in options]
    return exp.EQ(this=value, expression=items[0]) if len(items) == 1 else exp.In(this=value, expressions=items)


def _subquery(select: exp.Select, alias: str) -> exp.Subquery:
    return select.subquery(exp.to_identifier(alias, quoted=True))


class _TraitCompiler:
    def __init__(self, as_of: datetime, zone: str, sql: SqlDialect) -> None:
        self.sql = sql
        self.rules = RuleCompiler(as_of, zone, sql)  # also checks the zone

    def window(self, ts: exp.Expr, w: Window) -> list[exp.Expr]:
        """The rule language's window: ``within: d`` is T - d < ts <= T; ``between`` is
        inclusive and never after T."""
        return self.rules.window(ts, w)

    def property(self, properties: exp.Expr, f: PropFilter, c: Compare) -> exp.Expr:
        """An event property read as the type of the value it is compared with (as in rules)."""
        return self.rules.event_property(properties, f, c)

    def query(self, trait: TraitDefinition) -> exp.Select:
        grouped = self.aggregate(trait, _subquery(self.rows(trait), "r"))
        value: exp.Expr = _col("g", "value")
        if trait.kind in ZERO_WHEN_EMPTY:
            value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
        link = exp.EQ(this=_col("g", "profile_id"), expression=_col("p", "profile_id"))
        return (
            sqlglot.select(_as(_col("p", "profile_id"), "profile_id"),
                           _as(exp.cast(value, sql_type(trait.type)), "value"))
            .from_(_table("profiles", "p"))
            .join(_subquery(grouped, "g"), on=link, join_type="left")
        )

    # -- the matching rows -------------------------------------------------------------
    def rows(self, trait: TraitDefinition) -> exp.Select:
        """``r``: profile_id, ts, id (event_id / order_id) and, for property kinds, value."""
        flags: list[exp.Expr] = []
        if trait.source == "orders":
            alias, table, id_col = "o", "orders", "order_id"
            filters = self.order_filters(trait)
            value = None if trait.prop is None else self.order_value(trait)
        else:
            alias, table, id_col = "e", "events", "event_id"
            filters = [_not_null(_col(alias, "profile_id"))]
            value = None
            if trait.kind is TraitKind.RATIO:
                assert trait.numerator is not None and trait.denominator is not None
                num = self.event_filters(alias, trait.numerator)
                den = self.event_filters(alias, trait.denominator)
                filters.append(exp.Paren(this=exp.or_(exp.Paren(this=num), exp.Paren(this=den))))
                flags = [_as(num.copy(), "num"), _as(den.copy(), "den")]
            else:
                assert trait.events is not None
                filters.append(self.event_filters(alias, trait.events))
                if trait.prop is not None:
                    value = self.event_value(trait)
            filters += self.window(_col(alias, "ts"), trait.window)
        columns: list[exp.Expr] = [
            _as(_col(alias, "profile_id"), "profile_id"), _as(_col(alias, "ts"), "ts"), _as(_col(alias, id_col), "id"),
        ]
        if value is not None:
            columns.append(_as(value.copy(), "value"))
            filters.append(_not_null(value.copy()))
        columns += flags
        return sqlglot.select(*columns).from_(_table(table, alias)).where(_and(filters))

    def event_filters(self, alias: str, spec: EventSpec) -> exp.Expr:
        properties = _col(alias, "properties")
        conds = [_eq_any(_col(alias, "event"), spec.names)]
        conds += self.where(properties, spec.where)
        return _and(conds)

    def where(self, properties: exp.Expr, filters: tuple[PropFilter, ...]) -> list[exp.Expr]:
        return [self.rules.test(self.property(properties, f, c), c, True) for f in filters for c in f.tests]

    def event_value(self, trait: TraitDefinition) -> exp.Expr:
        text = self.sql.json_text(_col("e", "properties"), trait.prop or "")
        return self.sql.number(text) if trait.kind in NUMERIC_KINDS else text

    def order_filters(self, trait: TraitDefinition) -> list[exp.Expr]:
        filters: list[exp.Expr] = []
        if trait.statuses:
            filters.append(_eq_any(_col("o", "status"), trait.statuses))
        filters += self.window(_col("o", "ts"), trait.window)
        items: list[exp.Expr] = []
        for f in trait.where:
            target = items if f.target == "item" else filters
            target += [self.rules.test(_col("i" if f.target == "item" else "o", f.prop), c, True) for c in f.tests]
        if items:
            link = exp.EQ(this=_col("i", "order_id"), expression=_col("o", "order_id"))
            filters.append(exp.Exists(this=sqlglot.select(exp.Literal.number(1)).from_(_table("order_items", "i"))
                                      .where(_and([link, *items]))))
        return filters

    def order_value(self, trait: TraitDefinition) -> exp.Expr:
        column = _col("o", trait.prop or "")
        return column if trait.kind in NUMERIC_KINDS else exp.cast(column, exp.DataType.build("VARCHAR"))

    # -- one value per profile -----------------------------------------------------------
    def aggregate(self, trait: TraitDefinition, rows: exp.Subquery) -> exp.Select:
        """``g``: profile_id and value, one row per profile that has matching rows."""
        kind, value, profile = trait.kind, _col("r", "value"), _col("r", "profile_id")
        if kind is TraitKind.MOST_FREQUENT:
            # Most rows first; on a tie the smallest value (code-point order) wins.
            order = [exp.Ordered(this=exp.Count(this=exp.Star()), desc=True, nulls_first=False),
                     exp.Ordered(this=self.sql.text_order(value.copy()), nulls_first=False)]
            counted = sqlglot.select(_as(profile, "profile_id"), _as(value, "value"), self.rank(order)).from_(rows) \
                .group_by(profile.copy(), value.copy())
            return self.first_ranked(counted)
        if kind in (TraitKind.FIRST, TraitKind.LAST) and trait.prop is not None:
            # By time, then id (a missing id after any id), then value: never two winners.
            desc = kind is TraitKind.LAST
            order = [exp.Ordered(this=_col("r", "ts"), desc=desc, nulls_first=False),
                     exp.Ordered(this=_col("r", "id"), desc=desc, nulls_first=False),
                     exp.Ordered(this=self.sql.text_order(value.copy()), desc=desc, nulls_first=False)]
            ranked = sqlglot.select(_as(profile, "profile_id"), _as(value, "value"), self.rank(order)).from_(rows)
            return self.first_ranked(ranked)
        return (sqlglot.select(_as(profile, "profile_id"), _as(self.value(trait), "value"))
                .from_(rows).group_by(profile.copy()))

    def value(self, trait: TraitDefinition) -> exp.Expr:
        kind, value = trait.kind, _col("r", "value")
        if kind is TraitKind.COUNTER:
            return exp.Count(this=exp.Star())
        if kind is TraitKind.RATIO:
            def count(flag: str) -> exp.Expr:
                return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=_col("r", flag)))

            ratio = exp.Div(this=exp.cast(count("num"), exp.DataType.build("DOUBLE")), expression=count("den"))
            positive = exp.GT(this=count("den"), expression=exp.Literal.number(0))
            return exp.Case(ifs=[exp.If(this=positive, true=ratio)])
        if kind in (TraitKind.FIRST, TraitKind.LAST):  # the time itself
            return (exp.Min if kind is TraitKind.FIRST else exp.Max)(this=_col("r", "ts"))
        if kind is TraitKind.DISTINCT_COUNT:
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if kind is TraitKind.DISTINCT_LIST:
            # Postgres wants the DISTINCT argument and the ORDER BY key to be the same expression.
            key = self.sql.text_order(value)
            ordered = exp.Ordered(this=key.copy(), nulls_first=False)
            return exp.ArrayAgg(this=exp.Order(this=exp.Distinct(expressions=[key]), expressions=[ordered]))
        funcs: dict[TraitKind, type[exp.Expr]] = {
            TraitKind.SUM: exp.Sum, TraitKind.AVG: exp.Avg, TraitKind.MIN: exp.Min, TraitKind.MAX: exp.Max,
        }
        return funcs[kind](this=value)

    def rank(self, order: list[exp.Ordered]) -> exp.Alias:
        window = exp.Window(this=exp.RowNumber(), partition_by=[_col("r", "profile_id")],
                            order=exp.Order(expressions=order))
        return _as(window, "rank")

    def first_ranked(self, ranked: exp.Select) -> exp.Select:
        top = exp.EQ(this=_col("k", "rank"), expression=exp.Literal.number(1))
        return (sqlglot.select(_as(_col("k", "profile_id"), "profile_id"), _as(_col("k", "value"), "value"))
                .from_(_subquery(ranked, "k")).where(top))

