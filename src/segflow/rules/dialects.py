"""The few SQL pieces that differ between engines, one small adapter class per engine.

The rule compiler (:mod:`segflow.rules.compile`) builds everything else with portable
sqlglot expressions and asks the adapter only for what no single expression renders
the same everywhere: reading a JSON property, a timestamp's local calendar date, the
md5 bucket of :class:`~segflow.rules.ast.Sample`, list membership, a guarded numeric
cast, suffix tests and code-point text ordering. Adding ClickHouse or Spark SQL means one
more subclass here (and its name in :data:`DIALECTS`), nothing in the compiler.

Everything here returns sqlglot expressions; values arrive as expressions already built
from typed literals, never as SQL text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import ClassVar

from sqlglot import exp

from segflow.errors import SegflowError

__all__ = ["NUMERIC_TEXT", "SqlDialect", "DuckDBDialect", "PostgresDialect", "DIALECTS", "dialect_named"]

#: The text a JSON property must match to be compared as a number (anchored on both ends).
#: The same on every engine, so ``' 12'``, ``'1_000'``, ``'inf'`` or ``'0x10'`` are not
#: numbers anywhere; the single-profile evaluator uses it too.
NUMERIC_TEXT = r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?"


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    """A call of an engine function, rendered verbatim (sqlglot does not translate it)."""
    return exp.Anonymous(this=name, expressions=list(args))


class SqlDialect(ABC):
    """The engine-specific pieces; subclasses override what their engine spells differently."""

    #: The sqlglot dialect used to render the query.
    NAME: ClassVar[str]
    #: How "the profile has no row in T passing C" is written (chosen by measurement):
    #: ``"not_in"`` — ``NOT p.profile_id IN (SELECT t.profile_id FROM t WHERE C)``, or
    #: ``"not_exists"`` — ``NOT EXISTS (SELECT 1 FROM t WHERE t.profile_id = p.profile_id AND C)``.
    #: "Has a row" is a correlated ``EXISTS`` (or ``IN`` a grouped subquery) everywhere.
    ANTI_JOIN: ClassVar[str]

    @abstractmethod
    def json_text(self, properties: exp.Expr, key: str) -> exp.Expr:
        """The property *key* of a JSON object as text (NULL when missing or JSON null)."""

    @abstractmethod
    def local_date(self, ts: exp.Expr, zone: str) -> exp.Expr:
        """The calendar date of the TIMESTAMPTZ *ts* in the IANA time zone *zone*."""

    @abstractmethod
    def hex8_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        """Eight hexadecimal digits as a non-negative BIGINT."""

    @abstractmethod
    def list_contains(self, values: exp.Expr, value: exp.Expr) -> exp.Expr:
        """Whether the list (array) *values* has an element equal to *value*."""

    @abstractmethod
    def full_match(self, text: exp.Expr, pattern: str) -> exp.Expr:
        """Whether the whole of *text* matches the regular expression *pattern*."""

    # -- portable defaults ----------------------------------------------------
    def timestamp(self, value: datetime) -> exp.Expr:
        """A TIMESTAMPTZ literal of the UTC datetime *value*."""
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("TIMESTAMPTZ"))

    def date(self, value: date) -> exp.Expr:
        """A DATE literal."""
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))

    def md5_bucket(self, text: exp.Expr) -> exp.Expr:
        """``int(md5(text)[:8], 16)``: a stable integer in [0, 2**32)."""
        prefix = exp.Substring(this=exp.MD5(this=text), start=exp.Literal.number(1), length=exp.Literal.number(8))
        return self.hex8_to_int(prefix)

    def number(self, text: exp.Expr) -> exp.Expr:
        """*text* as a DOUBLE when it is a plain decimal number (:data:`NUMERIC_TEXT`), else NULL."""
        cast = exp.cast(text, exp.DataType.build("DOUBLE"))
        return exp.Case(ifs=[exp.If(this=self.full_match(text, NUMERIC_TEXT), true=cast)])

    def boolean(self, text: exp.Expr) -> exp.Expr:
        """``'true'`` / ``'false'`` (how JSON booleans read as text) as a BOOLEAN, else NULL."""
        return exp.Case(
            this=text,
            ifs=[
                exp.If(this=exp.Literal.string("true"), true=exp.true()),
                exp.If(this=exp.Literal.string("false"), true=exp.false()),
            ],
        )

    def contains_text(self, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        return exp.GT(this=_fn("strpos", text, part), expression=exp.Literal.number(0))

    def starts_with(self, text: exp.Expr, prefix: exp.Expr) -> exp.Expr:
        return _fn("starts_with", text, prefix)

    def ends_with(self, text: exp.Expr, suffix: str) -> exp.Expr:
        return exp.EQ(
            this=_fn("right", text, exp.Literal.number(len(suffix))), expression=exp.Literal.string(suffix)
        )

    def text_order(self, text: exp.Expr) -> exp.Expr:
        """*text* as compared by ``<``/``>``: code point order, as Python compares str."""
        return text


class DuckDBDialect(SqlDialect):
    NAME = "duckdb"
    # DuckDB 2.0 decorrelates NOT EXISTS through a duplicate-eliminating join over all the
    # profiles: 2-3x the work of NOT IN, one hash (mark) join (1M profiles, 53M events).
    ANTI_JOIN = "not_in"

    def json_text(self, properties: exp.Expr, key: str) -> exp.Expr:
        # A quoted JSON path member: `->> 'k'` would read '$k' or '/k' as a path.
        quoted = key.replace("\\", "\\\\").replace('"', '\\"')
        return _fn("json_extract_string", properties, exp.Literal.string(f'$."{quoted}"'))

    def local_date(self, ts: exp.Expr, zone: str) -> exp.Expr:
        return exp.cast(_fn("timezone", exp.Literal.string(zone), ts), exp.DataType.build("DATE"))

    def hex8_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        return exp.cast(exp.DPipe(this=exp.Literal.string("0x"), expression=hex_text), exp.DataType.build("BIGINT"))

    def list_contains(self, values: exp.Expr, value: exp.Expr) -> exp.Expr:
        return _fn("list_contains", values, value)

    def full_match(self, text: exp.Expr, pattern: str) -> exp.Expr:
        return _fn("regexp_full_match", text, exp.Literal.string(pattern))

    def ends_with(self, text: exp.Expr, suffix: str) -> exp.Expr:
        return _fn("ends_with", text, exp.Literal.string(suffix))


class PostgresDialect(SqlDialect):
    NAME = "postgres"
    # NOT EXISTS becomes a hash or merge anti join; NOT IN cannot (NULL semantics) and
    # falls back to a per-row scan once its hashed subplan outgrows work_mem.
    ANTI_JOIN = "not_exists"

    def json_text(self, properties: exp.Expr, key: str) -> exp.Expr:
        # properties is jsonb: ->> takes the key as it is, any characters.
        return exp.JSONExtractScalar(this=properties, expression=exp.Literal.string(key))

    def local_date(self, ts: exp.Expr, zone: str) -> exp.Expr:
        return exp.cast(exp.AtTimeZone(this=ts, zone=exp.Literal.string(zone)), exp.DataType.build("DATE"))

    def hex8_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        bits = exp.cast(
            exp.DPipe(this=exp.Literal.string("x"), expression=hex_text),
            exp.DataType.build("BIT(32)", dialect="postgres"),
        )
        return exp.cast(bits, exp.DataType.build("BIGINT"))

    def list_contains(self, values: exp.Expr, value: exp.Expr) -> exp.Expr:
        return exp.ArrayContainsAll(this=values, expression=exp.Array(expressions=[value]))

    def full_match(self, text: exp.Expr, pattern: str) -> exp.Expr:
        return exp.RegexpLike(this=text, expression=exp.Literal.string(f"^({pattern})$"))

    def text_order(self, text: exp.Expr) -> exp.Expr:
        # The database collation may be linguistic (en_US): "C" orders by code point.
        return exp.Collate(this=text, expression=exp.to_identifier("C", quoted=True))


#: Dialect name (as given to :func:`~segflow.rules.compile.compile_rule`) → adapter class.
DIALECTS: dict[str, type[SqlDialect]] = {
    "duckdb": DuckDBDialect,
    "postgres": PostgresDialect,
    "postgresql": PostgresDialect,
}


def dialect_named(name: str | SqlDialect) -> SqlDialect:
    """The adapter for *name* (an adapter is returned as it is); :class:`SegflowError`
    (code ``unknown_dialect``) for a name not in :data:`DIALECTS`."""
    if isinstance(name, SqlDialect):
        return name
    try:
        return DIALECTS[name.lower()]()
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise SegflowError(f"no SQL dialect {name!r} for rules (dialects: {known})", code="unknown_dialect") from None
