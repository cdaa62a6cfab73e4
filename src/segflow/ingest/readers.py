"""Reading CSV, JSON Lines and Parquet files with DuckDB's own readers.

Every reader produces a relation whose columns are the file's columns as text, in
file order, one row per record (so the row ordinal of a staged table maps back to a
line). Files that cannot be read at all raise :class:`LoadError` before anything is
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from segflow.errors import LoadError
from segflow.warehouse.base import quote_ident

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["Source", "detect_format", "open_source", "sql_string"]

_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def sql_string(value: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Source:
    path: Path
    format: str
    #: Column names in file order.
    columns: list[str]
    #: SQL of a relation with every column as VARCHAR (and ``_parse_error`` for JSON Lines).
    relation: str
    #: Name of DuckDB's reject-errors table for CSV (rows its parser refused), else None.
    rejects_table: str | None = None


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("csv", "jsonl", "parquet"):
            raise LoadError(f"{path}: unknown format {fmt!r} (csv, jsonl, parquet)", code="bad_format", path=str(path))
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise LoadError(
        f"{path}: cannot tell the format from the name (expected .csv, .jsonl or .parquet)",
        code="bad_format",
        path=str(path),
    )


def _first_line(message: object) -> str:
    """The first line of *message* (an error or its text)."""
    return str(message).strip().splitlines()[0]


def open_source(wh: Warehouse, path: Path, fmt: str, tag: str) -> Source:
    """Check *path* is readable and return its :class:`Source`. *tag* makes temp names unique."""
    if not path.is_file():
        raise LoadError(f"{path}: no such file", code="no_file", path=str(path))
    lit = sql_string(str(path))
    try:
        if fmt == "csv":
            rejects, scans = f"_rej_err_{tag}", f"_rej_scan_{tag}"
            relation = (
                f"read_csv({lit}, all_varchar = true, header = true, store_rejects = true, "
                f"rejects_table = '{rejects}', rejects_scan = '{scans}', encoding = 'utf-8', "
                f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false)"
            )
            names = [r[0] for r in wh.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
            return Source(path, fmt, names, relation, rejects_table=rejects)
        if fmt == "parquet":
            rel = f"read_parquet({lit})"
            described = wh.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
            cols = []
            for name, type_, *_ in described:
                q = quote_ident(name)
                nested = any(t in type_.upper() for t in ("[]", "STRUCT", "MAP", "JSON", "UNION"))
                cols.append(f"{'to_json(' + q + ')' if nested else q}::VARCHAR AS {q}")
            names = [d[0] for d in described]
            return Source(path, fmt, names, f"(SELECT {', '.join(cols)} FROM {rel})")
        # JSON Lines: each physical line is one row of one text column (a raw \x01
        # cannot occur in valid JSON, so the delimiter never splits a valid line).
        def lines(table: str) -> str:
            return (
                f"read_csv({lit}, columns = {{'line': 'VARCHAR'}}, header = false, delim = e'\\x01', "
                f"quote = '', escape = '', encoding = 'utf-8', store_rejects = true, "
                f"rejects_table = '{table}', rejects_scan = '_rej_scan_{table}')"
            )

        # The key scan keeps its own rejects table (the staging scan fills the real one).
        keys = wh.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(line)) AS k, row_number() OVER () AS n FROM {lines('_rej_keys_' + tag)} "
            f"WHERE json_valid(line) AND json_type(line::JSON) = 'OBJECT') GROUP BY k ORDER BY min(n)"
        ).fetchall()
        bad = wh.execute(
            f"SELECT min(line) FROM _rej_keys_{tag} WHERE error_type::VARCHAR ILIKE '%ENCODING%'"
        ).fetchall()[0][0]
        for table in (f"_rej_keys_{tag}", f"_rej_scan__rej_keys_{tag}"):
            wh.execute(f"DROP TABLE IF EXISTS {table}")
        if bad is not None:
            raise LoadError(
                f"{path}: not UTF-8 text (line {bad}); convert it, e.g. iconv -f GBK -t UTF-8",
                code="bad_encoding",
                path=f"{path}:{bad}",
            )
        names = [k[0] for k in keys]
        parse_error = (
            "CASE WHEN line IS NULL OR trim(line) = '' THEN 'blank' "
            "WHEN NOT json_valid(line) THEN 'not valid JSON' "
            "WHEN json_type(line::JSON) <> 'OBJECT' THEN 'not a JSON object' END"
        )
        fields = [
            f"CASE WHEN json_valid(line) THEN json_extract_string(line, {sql_string('$.' + _json_key(n))}) END "
            f"AS {quote_ident(n)}"
            for n in names
        ]
        relation = (
            f"(SELECT {', '.join(fields + [parse_error + ' AS _parse_error', 'line AS _line_text'])} "
            f"FROM {lines('_rej_err_' + tag)})"
        )
        return Source(path, fmt, names, relation, rejects_table=f"_rej_err_{tag}")
    except wh.engine_errors as exc:
        message = _first_line(exc)
        if "unicode" in message.lower() or "utf-8" in message.lower() or "encoding" in message.lower():
            raise LoadError(
                f"{path}: not UTF-8 text ({message}); convert it, e.g. iconv -f GBK -t UTF-8",
                code="bad_encoding",
                path=str(path),
            ) from exc
        raise LoadError(f"{path}: cannot be read as {fmt}: {message}", code="unreadable", path=str(path)) from exc


def _json_key(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
