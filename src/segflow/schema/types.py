"""Attribute types: their warehouse column type and how text becomes a value.

Every loaded cell arrives as text (CSV), JSON text (JSON Lines) or a Parquet value
rendered as text, so one SQL expression per type turns it into a typed value, and a
second one says whether a non-empty cell failed to convert (a rejected row).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["AttributeType", "parse_type", "value_sql", "TYPE_NAMES"]


class AttributeType(str, Enum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    JSON = "json"
    LIST = "list"

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB_TYPES[self]

    @property
    def postgres_type(self) -> str:
        return _POSTGRES_TYPES[self]

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DUCKDB_TYPES = {
    AttributeType.STRING: "VARCHAR",
    AttributeType.INTEGER: "BIGINT",
    AttributeType.NUMBER: "DOUBLE",
    AttributeType.DECIMAL: "DECIMAL(18,4)",
    AttributeType.BOOLEAN: "BOOLEAN",
    AttributeType.DATE: "DATE",
    AttributeType.TIMESTAMP: "TIMESTAMPTZ",
    AttributeType.JSON: "JSON",
    AttributeType.LIST: "VARCHAR[]",
}

_POSTGRES_TYPES = {
    AttributeType.STRING: "text",
    AttributeType.INTEGER: "bigint",
    AttributeType.NUMBER: "double precision",
    AttributeType.DECIMAL: "numeric(18,4)",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.DATE: "date",
    AttributeType.TIMESTAMP: "timestamptz",
    AttributeType.JSON: "jsonb",
    AttributeType.LIST: "text[]",
}

_DESCRIPTIONS = {
    AttributeType.STRING: "text (trimmed; empty is missing)",
    AttributeType.INTEGER: "whole number",
    AttributeType.NUMBER: "floating-point number, '.' as decimal separator",
    AttributeType.DECIMAL: "exact number with up to 4 decimals (money)",
    AttributeType.BOOLEAN: "true/false/1/0/yes/no",
    AttributeType.DATE: "YYYY-MM-DD (YYYY/MM/DD accepted)",
    AttributeType.TIMESTAMP: "ISO 8601 (UTC when no zone), YYYY/MM/DD hh:mm, epoch seconds or ms",
    AttributeType.JSON: "JSON value",
    AttributeType.LIST: 'JSON array of strings ["a","b"] or a|b',
}

TYPE_NAMES = tuple(t.value for t in AttributeType)


def parse_type(name: str) -> AttributeType:
    """``'number'`` → ``AttributeType.NUMBER``; raises ``ValueError`` naming the known types."""
    try:
        return AttributeType(str(name).strip().lower())
    except ValueError:
        raise ValueError(f"unknown type {name!r} (known: {', '.join(TYPE_NAMES)})") from None


def value_sql(t: AttributeType, raw: str) -> str:
    """SQL turning the text expression *raw* (already trimmed, NULL when empty) into a *t*."""
    if t is AttributeType.STRING:
        return raw
    if t is AttributeType.INTEGER:
        # TRY_CAST alone would round '4.2' to 4.
        return f"CASE WHEN regexp_full_match({raw}, '[-+]?[0-9]+') THEN TRY_CAST({raw} AS BIGINT) END"
    if t is AttributeType.NUMBER:
        return f"TRY_CAST({raw} AS DOUBLE)"
    if t is AttributeType.DECIMAL:
        # More than 4 decimals would be rounded silently: refuse instead.
        return f"CASE WHEN NOT regexp_matches({raw}, '\\.[0-9]{{5,}}') THEN TRY_CAST({raw} AS DECIMAL(18,4)) END"
    if t is AttributeType.BOOLEAN:
        return (
            f"CASE WHEN lower({raw}) IN ('true','1','yes','y','t') THEN TRUE "
            f"WHEN lower({raw}) IN ('false','0','no','n','f') THEN FALSE END"
        )
    if t is AttributeType.DATE:
        return f"TRY_CAST(replace({raw}, '/', '-') AS DATE)"
    if t is AttributeType.TIMESTAMP:
        # Fast path first: ISO 8601 casts directly (the session zone is UTC, so a
        # timestamp without zone is UTC); the other spellings only for what is left.
        return (
            f"coalesce(TRY_CAST({raw} AS TIMESTAMPTZ), CASE "
            f"WHEN regexp_full_match({raw}, '[0-9]{{9,11}}(\\.[0-9]+)?') "
            f"THEN to_timestamp(TRY_CAST({raw} AS DOUBLE)) "
            f"WHEN regexp_full_match({raw}, '[0-9]{{12,14}}') THEN epoch_ms(TRY_CAST({raw} AS BIGINT)) "
            f"ELSE TRY_CAST(replace({raw}, '/', '-') AS TIMESTAMPTZ) END)"
        )
    if t is AttributeType.JSON:
        return f"CASE WHEN json_valid({raw}) THEN {raw}::JSON END"
    if t is AttributeType.LIST:
        return (
            f"CASE WHEN starts_with({raw}, '[') THEN TRY_CAST(CASE WHEN json_valid({raw}) "
            f"THEN from_json({raw}, '[\"VARCHAR\"]') END AS VARCHAR[]) "
            f"ELSE list_filter(list_transform(string_split({raw}, '|'), lambda x: trim(x)), lambda x: x <> '') END"
        )
    raise AssertionError(t)
