"""Normalised identifier rows per source profile (the ``identity_index`` table).

Every identifier a source profile has — rows of ``identities`` and the profile columns
named in ``identity.profile_columns`` (``email``, ``phone``) — becomes one row with:

* ``value``: normalised per type (``identity.normalize``; e-mail trimmed and lower-cased,
  phone to E.164 with the project's default country, other types trimmed);
* ``status``: ``ok``, or why the value never merges anything: ``placeholder`` (empty,
  ``null``, ``undefined``, ``0``, ``n/a``, ``test@test.com``, all-same-digit phones, ...;
  see :mod:`segflow.identity.config`), ``malformed`` (an e-mail without ``@`` and a
  dotted domain, a phone that is not valid E.164) or ``ignored`` (listed in
  ``identity.ignore``).

Malformed values stay what they were in the source data (the profile keeps its
attribute); they are only kept out of the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from segflow.identity.config import PLACEHOLDER_EMAILS, PLACEHOLDERS, IdentityOptions
from segflow.identity.store import INDEX, SOURCE_COL, SOURCES
from segflow.ingest.phones import E164_PATTERN, phone_sql
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["EMAIL_PATTERN", "index_sources", "lit", "normalized_sql", "source_sql", "status_sql"]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"


def lit(value: str) -> str:
    """A SQL string literal built by sqlglot (quotes escaped), for config values."""
    return exp.Literal.string(value).sql(dialect="duckdb")


def _in_list(expr: str, values: list[str] | tuple[str, ...]) -> str:
    return f"{expr} IN ({', '.join(lit(v) for v in values)})"


def normalized_sql(type_sql: str, raw_sql: str, opts: IdentityOptions, phone_country: str | None) -> str:
    """The normalised value of *raw_sql* for the identifier type in *type_sql*."""
    trimmed = f"nullif(trim({raw_sql}), '')"
    how_sql = {
        "email": f"lower({trimmed})",
        "lower": f"lower({trimmed})",
        "upper": f"upper({trimmed})",
        # Most phones arrive already in E.164 (the loader normalises them): skip the rewrite.
        "phone": f"CASE WHEN regexp_full_match({raw_sql}, {lit(E164_PATTERN.strip('^$'))}) THEN {raw_sql} "
        f"ELSE nullif({phone_sql(raw_sql, phone_country)}, '') END",
    }
    types = {t: opts.normalizer(t) for t in {*opts.normalize, "email", "phone"}}
    whens = " ".join(
        f"WHEN {lit(t)} THEN {how_sql[how]}" for t, how in sorted(types.items()) if how != "trim"
    )
    return f"CASE {type_sql} {whens} ELSE {trimmed} END" if whens else trimmed


def status_sql(type_sql: str, value_sql: str, opts: IdentityOptions) -> str:
    """``ok``, ``placeholder`` or ``malformed`` for a normalised value (``ignored`` comes later)."""
    email_types = [t for t in {*opts.normalize, "email"} if opts.normalizer(t) == "email"]
    phone_types = [t for t in {*opts.normalize, "phone"} if opts.normalizer(t) == "phone"]
    v = value_sql
    digits = f"regexp_replace({v}, '[^0-9]', '', 'g')"
    last8 = f"right({digits}, 8)"
    email_placeholder = (
        f"({_in_list(v, PLACEHOLDER_EMAILS)} OR regexp_matches({v}, '@example\\.(com|org|net)$') "
        f"OR regexp_matches({v}, '^(no-?reply|do-?not-?reply|test|null|none)@'))"
    )
    phone_placeholder = f"length(replace({last8}, left({last8}, 1), '')) = 0"
    cases = [f"WHEN {v} IS NULL OR {_in_list(f'lower({v})', PLACEHOLDERS)} THEN 'placeholder'"]
    if email_types:
        is_email = _in_list(type_sql, email_types)
        cases.append(f"WHEN {is_email} AND {email_placeholder} THEN 'placeholder'")
        cases.append(f"WHEN {is_email} AND NOT regexp_matches({v}, {lit(EMAIL_PATTERN)}) THEN 'malformed'")
    if phone_types:
        is_phone = _in_list(type_sql, phone_types)
        cases.append(f"WHEN {is_phone} AND NOT regexp_full_match({v}, {lit(E164_PATTERN.strip('^$'))}) THEN 'malformed'")
        cases.append(f"WHEN {is_phone} AND {phone_placeholder} THEN 'placeholder'")
    return f"CASE {' '.join(cases)} ELSE 'ok' END"


def source_sql(watermark: int) -> str:
    """The source id of a row of a re-keyed table (see :mod:`segflow.identity.store`)."""
    return (
        f"CASE WHEN _load_id > {int(watermark)} THEN profile_id "
        f"ELSE coalesce(nullif({SOURCE_COL}, ''), profile_id) END"
    )


def index_sources(
    wh: Warehouse,
    opts: IdentityOptions,
    phone_country: str | None,
    *,
    scope: str,
    watermark: int,
    changes: bool = False,
) -> None:
    """Rewrite the ``identity_index`` rows of the source ids in table *scope* (``source_id``).

    The profile columns come from ``source_profiles`` (already updated); the
    ``identities`` rows from the table as it is (rows loaded since *watermark* carry
    their source id in ``profile_id``). With *changes*, the rows replaced and the rows
    written are kept in ``_idr_old_rows`` and ``_idr_new_rows`` (an incremental run
    works from them instead of scanning the index again).
    """
    if changes:
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_old_rows AS SELECT * FROM {INDEX} "
            f"WHERE source_id IN (SELECT source_id FROM {scope})"
        )
    wh.execute(f"DELETE FROM {INDEX} WHERE source_id IN (SELECT source_id FROM {scope})")
    have = set(wh.columns(SOURCES))
    parts = []
    for column, type_ in sorted(opts.profile_columns.items()):
        if column in have:
            parts.append(
                f"SELECT s.profile_id AS source_id, {lit(type_)} AS type, {q(column)}::VARCHAR AS raw, "
                f"{lit('profiles.' + column)} AS origin FROM {SOURCES} s "
                f"WHERE s.profile_id IN (SELECT source_id FROM {scope}) AND {q(column)} IS NOT NULL"
            )
    if changes:
        # identities rows are insert-only and every row up to the watermark was indexed
        # by an earlier run: the sources' stored rows plus the rows loaded since (found by
        # their load id) — no scan of the whole identities table.
        parts.append("SELECT source_id, type, raw, origin FROM _idr_old_rows WHERE origin = 'identities'")
        parts.append(
            f"SELECT profile_id AS source_id, lower(trim(\"type\")) AS type, \"value\" AS raw, 'identities' AS origin "
            f"FROM identities WHERE _load_id > {int(watermark)} AND profile_id IN (SELECT source_id FROM {scope})"
        )
    else:
        src = source_sql(watermark)
        parts.append(
            f"SELECT source_id, type, raw, 'identities' AS origin FROM (SELECT {src} AS source_id, "
            f"lower(trim(\"type\")) AS type, \"value\" AS raw FROM identities) "
            f"WHERE source_id IN (SELECT source_id FROM {scope})"
        )
    rows = " UNION ALL ".join(parts)
    value = normalized_sql("type", "raw", opts, phone_country)
    normal = f"SELECT source_id, type, {value} AS value, raw, origin FROM ({rows})"
    status = status_sql("type", "value", opts)
    ignored = [(t.strip().lower(), v) for t, values in opts.ignore.items() for v in values]
    if ignored:
        values = ", ".join(f"({lit(t)}, {lit(v)})" for t, v in ignored)
        ignore_rel = (
            f"SELECT DISTINCT type, {normalized_sql('type', 'raw', opts, phone_country)} AS value "
            f"FROM (VALUES {values}) v(type, raw)"
        )
        status = (
            f"CASE WHEN EXISTS (SELECT 1 FROM ({ignore_rel}) i WHERE i.type = n.type AND i.value = n.value) "
            f"THEN 'ignored' ELSE {status} END"
        )
    # Before the first resolve every identities row is unique per source (the loader keys
    # them by profile, type, value); later, a row re-loaded for a merged record may repeat
    # one stored under its person until re-keying drops it. DISTINCT only when it can matter
    # (it is a third of this statement on a full run).
    distinct = "DISTINCT " if watermark > 0 else ""
    rows = f"SELECT {distinct}source_id, type, value, raw, origin, {status} AS status FROM ({normal}) n"
    if changes:
        wh.execute(f"CREATE OR REPLACE TEMP TABLE _idr_new_rows AS {rows}")
        rows = "SELECT source_id, type, value, raw, origin, status FROM _idr_new_rows"
    wh.execute(f"INSERT INTO {INDEX} (source_id, type, value, raw, origin, status) {rows}")
