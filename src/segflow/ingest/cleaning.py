"""Cleaning as SQL: one ``SELECT`` turns a file's text columns into typed, normalised
columns plus a ``_reason`` per row (NULL when the row is good).

The statement is nested in four steps so each expression is computed once:
text → normalised text (trim, lower-case emails, E.164 phones, fill rules, defaults)
→ typed values → reasons → the staged row (raw cells are kept only for rejected rows,
for the rejects file, in one list column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from segflow.ingest.phones import phone_candidate_sql, phone_final_sql, phone_stripped_sql
from segflow.ingest.readers import Source, sql_string
from segflow.schema.kinds import Column, Kind
from segflow.schema.types import AttributeType, value_sql
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse


__all__ = ["Target", "staging_sql", "infer_types", "KEY_HASH", "RAW_CELLS", "REJECTS_COLUMNS", "raw_name"]

#: Columns a rejects file adds; the loader ignores them, so a fixed rejects file loads as is.
REJECTS_COLUMNS = ("_line", "_reason", "_raw_line")


def raw_name(i: int) -> str:
    return f"__raw_{i}"


@dataclass(frozen=True)
class Target:
    """One warehouse column the staged relation fills."""

    name: str
    type: AttributeType
    #: Name of the file column it comes from (None: missing from the file).
    source: str | None
    spec: Column | None = None


_A_TYPE = {
    AttributeType.INTEGER: "an integer",
    AttributeType.NUMBER: "a number",
    AttributeType.DECIMAL: "a decimal with at most 4 places",
    AttributeType.BOOLEAN: "a boolean",
    AttributeType.DATE: "a date",
    AttributeType.TIMESTAMP: "a timestamp",
    AttributeType.JSON: "valid JSON",
    AttributeType.LIST: "a list",
}


def _normalised(t: Target, kind: Kind, fill: dict[str, Any], phone_country: str | None, present: set[str]) -> str:
    text = f"nullif(trim({q(t.source)}), '')" if t.source else "CAST(NULL AS VARCHAR)"
    how = t.spec.normalize if t.spec else None
    if how in ("email", "lower"):
        text = f"lower({text})"
    elif how == "phone" and t.source:
        text = phone_final_sql(q("ph_" + t.name), text)
    elif how == "identity" and t.source:
        type_text = "lower(nullif(trim(\"type\"), ''))" if "type" in present else "NULL"
        text = (
            f"CASE {type_text} WHEN 'email' THEN lower({text}) "
            f"WHEN 'phone' THEN {phone_final_sql(q('ph_' + t.name), text)} ELSE {text} END"
        )
    default = fill.get(t.name, t.spec.default if t.spec else None)
    if default is not None:
        text = f"coalesce({text}, {sql_string(str(default))})"
    return text


def _reasons(t: Target, n: str, v: str) -> list[str]:
    label = sql_string(t.name)
    out = []
    if t.spec is not None and t.spec.required:
        out.append(f"CASE WHEN {n} IS NULL THEN {label} || ': missing' END")
    if t.type is not AttributeType.STRING:
        out.append(
            f"CASE WHEN {n} IS NOT NULL AND {v} IS NULL THEN "
            f"{label} || ': not {_A_TYPE[t.type]} (' || left({n}, 60) || ')' END"
        )
    if t.spec is not None and t.spec.choices:
        choices = ", ".join(sql_string(c) for c in t.spec.choices)
        out.append(
            f"CASE WHEN {v} NOT IN ({choices}) THEN {label} || ': ' || left({v}, 60) || "
            f"{sql_string(' is not one of ' + ', '.join(t.spec.choices))} END"
        )
    if t.type is AttributeType.JSON and t.name in ("properties", "attrs"):
        # Valid JSON whose trimmed text starts with '{' is an object: no second parse.
        out.append(f"CASE WHEN {v} IS NOT NULL AND NOT starts_with({n}, '{{') THEN {label} || ': not a JSON object' END")
    return out


#: Column of the staged table holding the hash of the kind's key.
KEY_HASH = "_key_hash"
#: Column of the staged table holding a rejected row's raw cells (then, for JSON Lines, the line).
RAW_CELLS = "_raw_cells"


def staging_sql(
    source: Source,
    kind: Kind,
    targets: list[Target],
    *,
    fill: dict[str, Any],
    phone_country: str | None,
) -> str:
    """The SELECT producing staged rows: typed targets, ``_reason``, the key's hash
    (:data:`KEY_HASH`) and raw cells of rejects."""
    present = set(source.columns)
    file_cols = [c for c in source.columns]
    jsonl = source.format == "jsonl"

    step1 = [f"{_normalised(t, kind, fill, phone_country, present)} AS {q('n_' + t.name)}" for t in targets]
    step1 += [f"{q(c)} AS {raw_name(i)}" for i, c in enumerate(file_cols)]
    if jsonl:
        step1 += ["_parse_error", "_line_text"]

    step2 = [f"{value_sql(t.type, q('n_' + t.name))} AS {q('v_' + t.name)}" for t in targets]
    step2 += [q("n_" + t.name) for t in targets]
    step2 += [raw_name(i) for i in range(len(file_cols))]
    if jsonl:
        step2 += ["_parse_error", "_line_text"]

    reasons = []
    for t in targets:
        reasons += _reasons(t, q("n_" + t.name), q("v_" + t.name))
    if kind.one_of:
        missing = " AND ".join(f"{q('n_' + c)} IS NULL" for c in kind.one_of)
        reasons.append(f"CASE WHEN {missing} THEN {sql_string(' or '.join(kind.one_of) + ': missing')} END")
    reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "CAST(NULL AS VARCHAR)"
    if jsonl:
        reason = f"coalesce(_parse_error, {reason})"

    values = {t.name: q("v_" + t.name) for t in targets}
    if kind.name == "events":
        # Events without an event_id get one derived from their content, so reloading
        # the same file stays a no-op.
        parts = ", ".join(
            f"coalesce({values[c]}::VARCHAR, '')"
            for c in ("profile_id", "anonymous_id", "event", "ts", "properties", "channel", "source")
        )
        values["event_id"] = f"coalesce({values['event_id']}, 'h_' || md5(concat_ws('|', {parts})))"
    step3 = [f"{values[t.name]} AS {q(t.name)}" for t in targets]
    step3 += [f"{reason} AS _reason"] + [raw_name(i) for i in range(len(file_cols))]
    if jsonl:
        step3 += ["_line_text"]

    # The key's 64-bit hash, computed once here (in the parallel staging pass) for the
    # merge's repeat detection, which would otherwise hash every key string three times.
    step4 = [q(t.name) for t in targets] + ["_reason", f"hash({', '.join(q(k) for k in kind.key)}) AS {KEY_HASH}"]
    # The raw cells of a rejected row, for the rejects file, in one list column (NULL for
    # good rows): a NULL list costs a few bytes per staged row where one NULL text column
    # per file column costs 16 bytes each (6 GB of a 53M-row events file).
    raw_cells = [raw_name(i) for i in range(len(file_cols))] + (["_line_text"] if jsonl else [])
    step4.append(f"CASE WHEN _reason IS NOT NULL THEN [{', '.join(raw_cells)}]::VARCHAR[] END AS {RAW_CELLS}")

    # Phone columns: strip once, build the E.164 candidate once, then use it (step 1).
    phones = [t for t in targets if t.source and t.spec is not None and t.spec.normalize in ("phone", "identity")]
    relation = source.relation
    if phones:
        stripped = []
        for t in phones:
            s_ = phone_stripped_sql(q(t.source))  # type: ignore[arg-type]
            if t.spec is not None and t.spec.normalize == "identity":
                type_text = "lower(nullif(trim(\"type\"), ''))" if "type" in present else "NULL"
                s_ = f"CASE WHEN {type_text} = 'phone' THEN {s_} END"
            stripped.append(f"{s_} AS {q('st_' + t.name)}")
        candidates = [f"{phone_candidate_sql(q('st_' + t.name), phone_country)} AS {q('ph_' + t.name)}" for t in phones]
        relation = f"(SELECT *, {', '.join(candidates)} FROM (SELECT *, {', '.join(stripped)} FROM {relation}))"
    return (
        f"SELECT {', '.join(step4)} FROM (SELECT {', '.join(step3)} FROM (SELECT {', '.join(step2)} "
        f"FROM (SELECT {', '.join(step1)} FROM {relation})))"
    )


#: Candidate types for a new column, narrowest first. Booleans only from words, so a
#: column of 0/1 becomes an integer.
_INFER_ORDER = (
    AttributeType.INTEGER,
    AttributeType.NUMBER,
    AttributeType.BOOLEAN,
    AttributeType.DATE,
    AttributeType.TIMESTAMP,
    AttributeType.JSON,
)


def _fits_sql(t: AttributeType, n: str) -> str:
    """SQL that is true when the text *n* is a *t* as inference understands it."""
    if t is AttributeType.INTEGER:
        # No leading zeros: codes such as zip 007 stay text.
        return f"regexp_full_match({n}, '-?(0|[1-9][0-9]*)') AND {value_sql(t, n)} IS NOT NULL"
    if t is AttributeType.NUMBER:
        return f"regexp_full_match({n}, '-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?') AND {value_sql(t, n)} IS NOT NULL"
    if t is AttributeType.BOOLEAN:
        return f"lower({n}) IN ('true','false','yes','no')"
    if t is AttributeType.DATE:
        return f"regexp_full_match({n}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND {value_sql(t, n)} IS NOT NULL"
    if t is AttributeType.TIMESTAMP:
        return f"regexp_full_match({n}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ].*') AND {value_sql(t, n)} IS NOT NULL"
    if t is AttributeType.JSON:
        return f"(starts_with({n}, '{{') OR starts_with({n}, '[')) AND json_valid({n})"
    raise AssertionError(t)


#: Rows a first inference pass looks at; candidates failing there are never tried on the whole file.
_INFER_SAMPLE = 20_000


def _fitting(
    wh: Warehouse, relation: str, where: str, tests: dict[str, list[AttributeType]]
) -> dict[str, tuple[bool, list[AttributeType]]]:
    """Per column: whether it has any value, and which candidate types fit every value."""
    exprs: list[str] = []
    keys: list[tuple[str, AttributeType | None]] = []
    for c, types in tests.items():
        n = f"nullif(trim({q(c)}), '')"
        exprs.append(f"count({n}) > 0")
        keys.append((c, None))
        for t in types:
            exprs.append(f"coalesce(bool_and({_fits_sql(t, n)}) FILTER (WHERE {n} IS NOT NULL), false)")
            keys.append((c, t))
    row = wh.execute(f"SELECT {', '.join(exprs)} FROM {relation}{where}").fetchall()[0]
    out: dict[str, tuple[bool, list[AttributeType]]] = {}
    for (c, fit), ok in zip(keys, row):
        if fit is None:
            out[c] = (bool(ok), [])
        elif ok:
            out[c][1].append(fit)
    return out


def infer_types(wh: Warehouse, source: Source, columns: list[str]) -> dict[str, AttributeType]:
    """The narrowest type that fits every non-empty value of each of *columns*.

    A first pass over a sample rules out most candidates cheaply (a column of words is
    text after a few rows); the whole file is then checked only for the narrowest
    candidate left per column, falling back to the next one if it fails.
    """
    if not columns:
        return {}
    where = " WHERE _parse_error IS NULL" if source.format == "jsonl" else ""
    sample = f"(SELECT * FROM {source.relation}{where} LIMIT {_INFER_SAMPLE})"
    fits = _fitting(wh, sample, "", {c: list(_INFER_ORDER) for c in columns})
    result = {c: AttributeType.STRING for c in columns}
    # A column with no value in the sample keeps every candidate for the whole-file pass.
    pending = {c: types if has_values else list(_INFER_ORDER) for c, (has_values, types) in fits.items()
               if types or not has_values}
    while pending:
        full = _fitting(wh, source.relation, where, {c: types[:1] for c, types in pending.items()})
        nxt = {}
        for c, types in pending.items():
            has_values, ok = full[c]
            if has_values and ok:
                result[c] = types[0]
            elif has_values and len(types) > 1:
                nxt[c] = types[1:]
        pending = nxt
    return result
