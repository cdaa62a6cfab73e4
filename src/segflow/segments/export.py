"""Exporting a segment: member files and ad-platform audience files.

    >>> export_members(ws, "dormant_vip", "vip.csv", fmt="customer-match")   # doctest: +SKIP
    ExportResult(rows=812, members=800, without_identifier=12, ...)

Formats:

* ``csv``, ``parquet``, ``json`` (JSON Lines): ``profile_id, entered_at`` and any
  profile columns asked for;
* ``customer-match``: the Google Ads Customer Match upload (CSV, headers ``Email`` and
  ``Phone``), each value normalised then SHA-256-hashed (lower-case hex): emails trimmed
  and lower-cased, with the dots of the local part removed for ``gmail.com`` and
  ``googlemail.com``; phones in E.164 (``+8613812345678``);
* ``meta``: the Meta (Facebook) custom-audience customer list (CSV, headers ``email``
  and ``phone``): emails trimmed and lower-cased; phones as digits with the country
  code and no ``+``; SHA-256 hashed.

The file's suffix and the format agree: without a format, the suffix names it (``.csv``;
``.json`` or ``.jsonl`` for JSON Lines; ``.parquet``; csv when the name has no suffix); a
suffix no format writes (``.xlsx``, ``.txt``) or one the format given does not write (the
platform formats write ``.csv``) is refused before anything is read or written
(:func:`export_format`).

Every email and phone a member has is used: the profile's own and those in
``identities`` (type ``email`` / ``phone``). A member with several gets several rows
(one identifier of each type per row, the profile's own first); values that are not a plausible email or
E.164 number are left out, and members with no usable identifier are counted.
Hashing runs in the warehouse (``sha256()``), as one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from segflow.errors import QueryError
from segflow.segments.membership import MEMBERS_TABLE, ensure_tables
from segflow.segments.query import known_segment, members

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext

__all__ = ["FORMATS", "SUFFIXES", "ExportResult", "audience_table", "export_format", "export_members", "write_table"]

FORMATS = ("csv", "parquet", "json", "customer-match", "meta")

#: A file suffix → the kind of file written under it (the platform formats write csv).
SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}

_EMAIL_OK = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PHONE_OK = r"^\+[1-9][0-9]{6,14}$"


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: str
    rows: int
    members: int
    #: Members with no usable email or phone (audience formats only).
    without_identifier: int = 0


def _audience_sql(google: bool) -> str:
    email = "lower(trim(v))"
    if google:
        email = (f"CASE WHEN split_part({email}, '@', 2) IN ('gmail.com', 'googlemail.com') "
                 f"THEN replace(split_part({email}, '@', 1), '.', '') || '@' || split_part({email}, '@', 2) "
                 f"ELSE {email} END")
    phone = "trim(v)" if google else "ltrim(trim(v), '+')"
    return f"""
WITH m AS (SELECT DISTINCT profile_id FROM {MEMBERS_TABLE} WHERE segment = $segment),
raw AS (
    SELECT m.profile_id, 'email' AS t, p.email AS v, 0 AS src FROM m JOIN profiles p USING (profile_id)
    UNION ALL SELECT m.profile_id, 'phone', p.phone, 0 FROM m JOIN profiles p USING (profile_id)
    UNION ALL SELECT m.profile_id, i.type, i.value, 1 FROM m JOIN identities i USING (profile_id)
        WHERE i.type IN ('email', 'phone')
),
ok AS (
    SELECT profile_id, t, CASE t WHEN 'email' THEN {email} ELSE {phone} END AS v, min(src) AS src FROM raw
    WHERE v IS NOT NULL AND CASE t WHEN 'email' THEN regexp_matches(lower(trim(v)), '{_EMAIL_OK}')
                                   ELSE regexp_matches(trim(v), '{_PHONE_OK}') END
    GROUP BY ALL
),
ranked AS (SELECT profile_id, t, sha256(v) AS h,
                  row_number() OVER (PARTITION BY profile_id, t ORDER BY src, v) AS rn
           FROM ok),
keys AS (SELECT DISTINCT profile_id, rn FROM ranked)
SELECT k.profile_id, coalesce(e.h, '') AS email, coalesce(p.h, '') AS phone
FROM keys k
LEFT JOIN ranked e ON e.profile_id = k.profile_id AND e.rn = k.rn AND e.t = 'email'
LEFT JOIN ranked p ON p.profile_id = k.profile_id AND p.rn = k.rn AND p.t = 'phone'
ORDER BY k.profile_id, k.rn
"""


def audience_table(ws: ProjectContext, name: str, *, platform: str = "google") -> tuple[pa.Table, int, int]:
    """(hashed identifier rows, members, members without identifier) for *platform* (google or meta)."""
    if platform not in ("google", "meta"):
        raise QueryError(f"unknown audience platform {platform!r} (google, meta)", code="bad_platform")
    known_segment(ws, name)
    con = ws.warehouse
    ensure_tables(con)
    table = con.query(_audience_sql(platform == "google"), params={"segment": name})
    total = int(con.execute(f"SELECT count(DISTINCT profile_id) FROM {MEMBERS_TABLE} WHERE segment = ?",
                            [name]).fetchall()[0][0])
    usable = len(table.column("profile_id").unique()) if table.num_rows else 0
    table = table.drop_columns(["profile_id"])
    headers = ["Email", "Phone"] if platform == "google" else ["email", "phone"]
    return table.rename_columns(headers), int(total), int(total) - int(usable)


def write_table(table: pa.Table, path: str | Path, fmt: str) -> None:
    """Write *table* as csv, parquet or json (JSON Lines) to *path* (parent folders created)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, target)
    elif fmt == "json":
        from segflow.jsonable import to_json

        with target.open("w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(to_json(row) + "\n")
    else:
        pcsv.write_csv(table, target, pcsv.WriteOptions(quoting_style="needed"))


def export_format(path: str | Path, fmt: str | None = None) -> str:
    """The format to write *path* in: *fmt* when given and its files may end in *path*'s
    suffix, else the format the suffix names (csv without a suffix). QueryError for an unknown
    *fmt* (``bad_format``), a suffix no format writes or one *fmt* does not write
    (``bad_export_path``). Called before the work, so a typo costs nothing."""
    if fmt is not None and fmt not in FORMATS:
        raise QueryError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}", code="bad_format")
    suffix = Path(path).suffix.lower()
    if not suffix:
        return fmt or "csv"
    if suffix not in SUFFIXES:
        raise QueryError(f"export file {str(path)!r}: {suffix} files cannot be written; the formats written are "
                         f"csv (.csv), json (.json, .jsonl) and parquet (.parquet)", code="bad_export_path",
                         path=str(path))
    writes = "csv" if fmt in ("customer-match", "meta") else fmt
    if writes is not None and writes != SUFFIXES[suffix]:
        endings = " or ".join(s for s, kind in SUFFIXES.items() if kind == writes)
        raise QueryError(f"export file {str(path)!r}: the {fmt} format writes {endings} files, not {suffix}",
                         code="bad_export_path", path=str(path))
    return fmt or SUFFIXES[suffix]


def export_members(ws: ProjectContext, name: str, path: str | Path, *, fmt: str | None = None,
                   columns: list[str] | None = None) -> ExportResult:
    """Write *name*'s members to *path* in *fmt* (by default the format *path*'s suffix names;
    see the module doc)."""
    fmt = export_format(path, fmt)
    if fmt in ("customer-match", "meta"):
        if columns:
            raise QueryError(f"columns cannot be chosen for the platform format {fmt!r} "
                             "(the platform fixes the columns)", code="bad_columns")
        table, total, missing = audience_table(ws, name, platform="google" if fmt == "customer-match" else "meta")
        write_table(table, path, "csv")
        return ExportResult(str(path), fmt, table.num_rows, total, missing)
    table = members(ws, name, columns=columns)
    write_table(table, path, fmt)
    return ExportResult(str(path), fmt, table.num_rows, table.num_rows)
