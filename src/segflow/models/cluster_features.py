"""The clusters model's features: the built-in aggregates, checking a config's names against
the project, and the one query that computes them (:mod:`segflow.models.clusters` step 1).

    >>> features = resolve_features(ws, ClustersConfig(features=["orders", "trait:clv"]))  # doctest: +SKIP
    >>> ws.warehouse.execute(features_sql(features, as_of)).fetchnumpy()                  # doctest: +SKIP

Each built-in is a SQL expression over the CTEs of :func:`features_sql` — ``b`` (a buyer's
paid orders up to ``as_of``: count, total, first and last time) and, only when a chosen
feature needs one, ``c`` (coupons), ``r`` (refunds), ``i`` (order items), ``e`` (events),
``h`` (local hours) — so a config pays only for the tables it reads. Traits are joined from
``traits``, attributes from ``profiles``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import utc
from segflow.errors import ModelError
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.models.clusters import ClustersConfig

__all__ = ["BUILTIN", "DEFAULT_FEATURES", "Builtin", "Feature", "features_sql", "field_error", "has_rows", "resolve_features",
           "timestamp_sql"]


@dataclass(frozen=True)
class Builtin:
    """A built-in aggregate: its SQL over the CTEs of :func:`features_sql`, the CTE it needs,
    whether it is log-transformed, and its words for a high and a low centre."""

    sql: str
    needs: str | None
    log: bool
    high: str
    low: str
    unit: str


#: The built-in aggregates, per buyer, over the data up to ``as_of``.
BUILTIN: dict[str, Builtin] = {
    "orders": Builtin('"b"."orders"', None, True, "many orders", "few orders", "paid orders"),
    "total_spend": Builtin('"b"."total_spend"', None, True, "high spend", "low spend", "total of paid orders"),
    "avg_order_value": Builtin('"b"."total_spend" / "b"."orders"', None, True, "high order value",
                               "low order value", "mean amount of a paid order"),
    "days_since_last_order": Builtin('CAST(epoch_us({t}) - epoch_us("b"."last_ts") AS DOUBLE) / 86400e6', None,
                                     False, "long since last order", "ordered recently",
                                     "days from the last paid order to as-of"),
    "tenure_days": Builtin('CAST(epoch_us({t}) - epoch_us("b"."first_ts") AS DOUBLE) / 86400e6', None, False,
                           "long-standing", "new", "days from the first paid order to as-of"),
    "coupon_rate": Builtin('LEAST(1.0, CAST(COALESCE("c"."coupons", 0) AS DOUBLE) / "b"."orders")', "coupons",
                           False, "high coupon use", "low coupon use",
                           "share of paid orders with a coupon (capped at 1)"),
    "refund_rate": Builtin('COALESCE("r"."refund_rate", 0)', "refunds", False, "many refunds", "few refunds",
                           "share of orders refunded or returned"),
    "category_diversity": Builtin('COALESCE("i"."categories", 0)', "items", True, "many categories",
                                  "few categories", "distinct categories bought"),
    "items_per_order": Builtin('CAST(COALESCE("i"."quantity", 0) AS DOUBLE) / "b"."orders"', "items", True,
                               "big baskets", "small baskets", "items per paid order"),
    "events": Builtin('COALESCE("e"."events", 0)', "events", True, "many events", "few events", "events"),
    "active_hours": Builtin('"h"."active_hours"', "hours", False, "active at many hours", "active at few hours",
                            "distinct local hours of day with an event or paid order"),
    "night_share": Builtin('"h"."night_share"', "hours", False, "night owl", "daytime",
                           "share of events and paid orders 22:00-06:00 local"),
}
#: Features used when the config names none (those whose data the project lacks are left out).
DEFAULT_FEATURES = ("orders", "total_spend", "avg_order_value", "days_since_last_order", "coupon_rate",
                    "category_diversity", "active_hours", "events")


# -- 1. features -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Feature:
    """A resolved feature: where its values come from and how they are transformed."""

    name: str
    #: "builtin", "trait" or "attribute".
    source: str
    column: str
    log: bool
    high: str
    low: str
    unit: str


_NUMERIC = {"integer", "number", "decimal", "boolean", "BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT",
            "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "BOOLEAN", "REAL"}


def _numeric(type_name: str) -> bool:
    return type_name in _NUMERIC or type_name.upper().startswith("DECIMAL")


def field_error(file: str | None, where: str, message: str, code: str = "invalid_config") -> ModelError:
    prefix = f"{file}: " if file else ""
    return ModelError(f"{prefix}{where}: {message}", code=code, path=where)


def has_rows(wh: Any, table: str) -> bool:
    return wh.table_exists(table) and bool(wh.count(f"SELECT count(*) FROM (SELECT 1 FROM {q(table)} LIMIT 1)"))


def resolve_features(ctx: ProjectContext, config: ClustersConfig, *, file: str | None = None,
                     reserved: Collection[str] = ()) -> list[Feature]:
    """The config's features checked against the project: each name a built-in aggregate
    whose data the project has, a computed numeric trait or a numeric profile attribute,
    none of them *reserved* (the model's own outputs). ModelError naming *file* and
    ``features[i]`` otherwise."""
    from segflow.traits.store import state_rows

    wh = ctx.warehouse
    has = {t: has_rows(wh, t) for t in ("events", "order_items")}
    trait_types = {name: str(row["type"]) for name, row in state_rows(wh).items()}
    stored = wh.columns("traits") if wh.table_exists("traits") else {}
    attributes = {a.name: a.type.value for a in ctx.registry.attributes("profiles").values()}
    profile_columns = wh.columns("profiles") if wh.table_exists("profiles") else {}
    order_columns = wh.columns("orders") if wh.table_exists("orders") else {}
    if config.coupon_column is not None and config.coupon_column not in order_columns:
        raise field_error(file, "coupon_column", f"orders have no column {config.coupon_column!r}")

    def missing_data(name: str) -> str | None:
        needs = BUILTIN[name].needs
        if needs == "items" and not has["order_items"]:
            return "needs order items, and none are loaded"
        if needs in ("events",) and not has["events"]:
            return "needs events, and none are loaded"
        if needs == "coupons" and config.coupon_column is None and not (
                has["events"] and wh.count('SELECT count(*) FROM "events" WHERE "event" = ?', [config.coupon_event])):
            return (f"needs {config.coupon_event!r} events or a coupon column of orders (coupon_column), "
                    "and the project has neither")
        return None

    if config.features is None:
        return [_builtin(name, None) for name in DEFAULT_FEATURES if missing_data(name) is None]
    out: list[Feature] = []
    for i, spec in enumerate(config.features):
        where = f"features[{i}]"
        kind, _, bare = spec.name.partition(":") if ":" in spec.name else ("", "", spec.name)
        if kind not in ("", "trait", "attribute"):
            raise field_error(file, where, f"unknown source {kind!r} in {spec.name!r}: use trait:<name> or "
                                     "attribute:<name>", code="unknown_feature")
        if bare in reserved:
            raise field_error(file, where, f"{bare!r} is this model's own output", code="unknown_feature")
        if kind == "" and bare in BUILTIN:
            problem = missing_data(bare)
            if problem:
                raise field_error(file, where, f"{bare}: {problem}", code="unknown_feature")
            out.append(_builtin(bare, spec.log))
            continue
        in_traits = bare in stored and bare != "profile_id"
        in_profiles = bare in attributes and bare in profile_columns and bare != "profile_id"
        if kind == "" and in_traits and in_profiles:
            raise field_error(file, where, f"{bare!r} is both a trait and a profile attribute: write trait:{bare} or "
                                     f"attribute:{bare}", code="unknown_feature")
        if kind in ("", "trait") and in_traits:
            type_name = trait_types.get(bare, stored[bare])
            if not _numeric(type_name):
                raise field_error(file, where, f"trait {bare!r} is {type_name}: only numeric traits can be clustered",
                            code="unknown_feature")
            out.append(Feature(bare, "trait", bare, bool(spec.log), f"high {bare}", f"low {bare}", f"trait {bare}"))
            continue
        if kind in ("", "attribute") and in_profiles:
            if not _numeric(attributes[bare]):
                raise field_error(file, where, f"profile attribute {bare!r} is {attributes[bare]}: only numeric "
                                         "attributes can be clustered", code="unknown_feature")
            out.append(Feature(bare, "attribute", bare, bool(spec.log), f"high {bare}", f"low {bare}",
                               f"profile attribute {bare}"))
            continue
        what = {"trait": "a computed trait", "attribute": "a profile attribute"}.get(
            kind, "a built-in aggregate, a computed trait or a profile attribute")
        hint = f" (built-ins: {', '.join(BUILTIN)})" if kind == "" else ""
        raise field_error(file, where, f"unknown feature {spec.name!r}: not {what}{hint}", code="unknown_feature")
    return out


def _builtin(name: str, log: bool | None) -> Feature:
    b = BUILTIN[name]
    return Feature(name, "builtin", name, b.log if log is None else log, b.high, b.low, b.unit)


def timestamp_sql(value: datetime) -> str:
    return f"CAST('{utc(value).isoformat()}' AS TIMESTAMPTZ)"


def _str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def features_sql(features: list[Feature], as_of: datetime, *, timezone: str = "UTC",
                 coupon_event: str = "coupon_redeemed", coupon_column: str | None = None,
                 events: bool = True) -> str:
    """DuckDB SQL: one row per buyer at *as_of*, ordered by ``profile_id``: ``profile_id``
    and one DOUBLE column per feature (NULL where a trait or attribute is missing)."""
    t = timestamp_sql(as_of)
    needs = {BUILTIN[f.name].needs for f in features if f.source == "builtin"}
    coupon = coupon_select = ""
    if coupon_column is not None:
        coupon_select = f', "o".{q(coupon_column)}'
        col = f'CAST("o".{q(coupon_column)} AS VARCHAR)'
        coupon = (f',\n         COUNT(*) FILTER (WHERE {col} IS NOT NULL AND lower(trim({col})) NOT IN '
                  "('', 'false', '0', 'no')) AS \"coupons\"")
    ctes = [f"""\
"paid" AS (
  SELECT "o"."order_id", "o"."profile_id", "o"."ts", "o"."amount"{coupon_select}
  FROM "orders" AS "o"
  JOIN "profiles" AS "p" ON "p"."profile_id" = "o"."profile_id"
  WHERE COALESCE("o"."status", 'paid') = 'paid' AND "o"."ts" <= {t}
    AND ("p"."created_at" IS NULL OR "p"."created_at" <= {t})
)""", f"""\
"b" AS (
  SELECT "o"."profile_id", COUNT(*) AS "orders", SUM("o"."amount") AS "total_spend",
         MAX("o"."ts") AS "last_ts", MIN("o"."ts") AS "first_ts"{coupon}
  FROM "paid" AS "o" GROUP BY 1
)"""]
    joins = []
    if "coupons" in needs and coupon_column is None:
        ctes.append(f"""\
"c" AS (
  SELECT "profile_id", COUNT(*) AS "coupons" FROM "events"
  WHERE "event" = {_str(coupon_event)} AND "ts" <= {t} AND "profile_id" IS NOT NULL GROUP BY 1
)""")
        joins.append('LEFT JOIN "c" ON "c"."profile_id" = "b"."profile_id"')
    elif "coupons" in needs:
        joins.append('LEFT JOIN (SELECT "profile_id", "coupons" FROM "b") AS "c" ON "c"."profile_id" = "b"."profile_id"')
    if "refunds" in needs:
        ctes.append(f"""\
"r" AS (
  SELECT "profile_id", AVG(CASE WHEN "status" IN ('refunded', 'returned') THEN 1.0 ELSE 0.0 END) AS "refund_rate"
  FROM "orders" WHERE "ts" <= {t} GROUP BY 1
)""")
        joins.append('LEFT JOIN "r" ON "r"."profile_id" = "b"."profile_id"')
    if "items" in needs:
        ctes.append("""\
"i" AS (
  SELECT "o"."profile_id", COUNT(DISTINCT "it"."category") AS "categories", SUM("it"."quantity") AS "quantity"
  FROM "order_items" AS "it" JOIN "paid" AS "o" ON "o"."order_id" = "it"."order_id" GROUP BY 1
)""")
        joins.append('LEFT JOIN "i" ON "i"."profile_id" = "b"."profile_id"')
    if "events" in needs:
        ctes.append(f"""\
"e" AS (
  SELECT "profile_id", COUNT(*) AS "events" FROM "events"
  WHERE "ts" <= {t} AND "profile_id" IS NOT NULL GROUP BY 1
)""")
        joins.append('LEFT JOIN "e" ON "e"."profile_id" = "b"."profile_id"')
    if "hours" in needs:
        zone = _str(timezone)
        from_events = (f"""SELECT "profile_id", hour(timezone({zone}, "ts")) AS "h" FROM "events"
    WHERE "ts" <= {t} AND "profile_id" IS NOT NULL
    UNION ALL
    """ if events else "")
        ctes.append(f"""\
"h" AS (
  SELECT "profile_id", CAST(COUNT(DISTINCT "h") AS DOUBLE) AS "active_hours",
         AVG(CASE WHEN "h" >= 22 OR "h" < 6 THEN 1.0 ELSE 0.0 END) AS "night_share"
  FROM (
    {from_events}SELECT "profile_id", hour(timezone({zone}, "ts")) AS "h" FROM "paid"
  ) AS "x" GROUP BY 1
)""")
        joins.append('LEFT JOIN "h" ON "h"."profile_id" = "b"."profile_id"')
    if any(f.source == "trait" for f in features):
        joins.append('LEFT JOIN "traits" AS "tr" ON "tr"."profile_id" = "b"."profile_id"')
    if any(f.source == "attribute" for f in features):
        joins.append('JOIN "profiles" AS "pr" ON "pr"."profile_id" = "b"."profile_id"')
    columns = []
    for f in features:
        if f.source == "builtin":
            expr = BUILTIN[f.name].sql.format(t=t)
        else:
            expr = f'"{"tr" if f.source == "trait" else "pr"}".{q(f.column)}'
        columns.append(f"CAST({expr} AS DOUBLE) AS {q(f.name)}")
    select = ",\n       ".join(['"b"."profile_id"', *columns])
    body = ",\n".join(ctes)
    return f"WITH {body}\nSELECT {select}\nFROM \"b\"\n" + "".join(f"{j}\n" for j in joins) + \
        'ORDER BY "b"."profile_id"\n'
