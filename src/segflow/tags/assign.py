"""Assigning and removing tags by hand, from files, and from other parts of segflow.

Every assignment is a row of the warehouse table ``tag_assignments``::

    profile_id, tag, value, source, assigned_at, expires_at

keyed by ``(profile_id, tag, source)``: a profile may carry the same tag from a rule
and from a person at once, and a refresh of the rule never touches the manual row.
``source`` is one of :data:`~segflow.tags.definition.SOURCES`; models and journeys call
:func:`assign_tags` with ``source="model"`` / ``"journey"``.

    >>> assign_tags(ws, "crm/key_account", ["shop_000001", "app_000045"])     # doctest: +SKIP
    AssignResult(tag='crm/key_account', added=2, updated=0, unchanged=0, unknown=[])
    >>> assign_tags(ws, "crm/key_account", file="key_accounts.csv", expires="90d")  # doctest: +SKIP

Ids that are not profiles are reported (``unknown``) and the others are assigned.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now, parse_iso, utc
from segflow.errors import DefinitionError, LoadError, QueryError
from segflow.identity.persons import (
    PERSON,
    RECORD,
    known_ids_sql,
    merged_records,
    persons_sql,
    resolved,
)
from segflow.identity.store import SOURCE_COL
from segflow.rules.parse import parse_duration
from segflow.tags.definition import (
    SOURCES,
    TAGS_DIR,
    TagDefinition,
    check_tag_name,
    load_tag_definitions,
)
from segflow.warehouse.tables import TAG_ASSIGNMENTS, rename_table

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["AssignResult", "RemoveResult", "assign_tags", "parse_expiry", "read_id_file", "remove_tags"]

_INPUT = "_segflow_tag_input"
_STAGE = "_segflow_tag_stage"


@dataclass
class AssignResult:
    tag: str
    source: str
    #: New assignments, assignments whose value or expiry changed, and ones already as asked.
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Ids that are not profiles (not assigned), in input order.
    unknown: list[str] = field(default_factory=list)
    #: Ids given more than once (the last occurrence wins).
    repeated: int = 0
    #: Ids of merged records, each with the person tagged in its place.
    merged: dict[str, str] = field(default_factory=dict)


@dataclass
class RemoveResult:
    tag: str
    removed: int = 0
    #: Ids that did not carry the tag (from the sources removed).
    not_tagged: int = 0
    unknown: list[str] = field(default_factory=list)
    #: Ids of merged records, each with the person untagged in its place.
    merged: dict[str, str] = field(default_factory=dict)


def parse_expiry(expires: Any, *, start: datetime, path: str = "expires") -> datetime | None:
    """An expiry: None, a datetime, an ISO date/time text, or a duration (``30d``) after *start*.

    Anything else raises :class:`QueryError` (code ``bad_expiry``) at *path*: an expiry is
    an argument of the call (or a cell of its id file), not part of a tag's definition."""
    if expires is None or expires == "":
        return None
    if isinstance(expires, datetime):
        return utc(expires)
    if isinstance(expires, timedelta):
        return start + expires
    if isinstance(expires, str):
        d = parse_duration(expires)
        if d is not None:
            return start + timedelta(seconds=d.seconds)
        try:
            return parse_iso(expires)
        except ValueError:
            pass
    raise QueryError(f"{path}: {expires!r} is neither a duration (30d, 12h, 2w) nor an ISO date/time",
                     code="bad_expiry", path=path)


def read_id_file(path: str | Path) -> list[tuple[str, str | None, str | None, int]]:
    """Rows ``(profile_id, value, expires, line)`` of an id file.

    A ``.csv`` file has a header with ``profile_id`` and optionally ``value`` and
    ``expires`` (per-row expiry: a duration or an ISO time); any other file is one id
    per line (blank lines and lines starting with ``#`` are skipped). Raises
    :class:`LoadError` naming the file (and line) when it cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: no such file", code="no_file", path=str(p))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{p}: not UTF-8 text (byte {exc.start})", code="bad_encoding", path=str(p)) from None
    rows: list[tuple[str, str | None, str | None, int]] = []
    if p.suffix.lower() == ".csv":
        reader = csv.reader(text.splitlines())
        header = next(reader, None)
        if header is None:
            return []
        names = [h.strip() for h in header]
        if "profile_id" not in names:
            raise LoadError(f"{p}: line 1: no profile_id column (columns: {', '.join(names)})",
                            code="missing_column", path=f"{p}:1")
        unknown = [n for n in names if n not in ("profile_id", "value", "expires")]
        if unknown:
            raise LoadError(f"{p}: line 1: unknown column {unknown[0]!r} (columns: profile_id, value, expires)",
                            code="unknown_column", path=f"{p}:1")
        at = {n: i for i, n in enumerate(names)}
        for line, cells in enumerate(reader, start=2):
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise LoadError(f"{p}: line {line}: {len(cells)} cells, the header has {len(names)}",
                                code="bad_row", path=f"{p}:{line}")
            pid = cells[at["profile_id"]].strip()
            if not pid:
                raise LoadError(f"{p}: line {line}: empty profile_id", code="missing_id", path=f"{p}:{line}")
            value = cells[at["value"]].strip() if "value" in at else None
            expires = cells[at["expires"]].strip() if "expires" in at else None
            rows.append((pid, value or None, expires or None, line))
        return rows
    for line, raw in enumerate(text.splitlines(), start=1):
        pid = raw.strip()
        if pid and not pid.startswith("#"):
            rows.append((pid, None, None, line))
    return rows


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise QueryError(f"unknown tag source {source!r} (sources: {', '.join(SOURCES)})", code="bad_source",
                         path="source")
    return source


def _definition(ws: ProjectContext, tag: str) -> TagDefinition | None:
    """*tag*'s definition, if any. A broken file elsewhere in ``tags/`` does not stop a
    manual assignment; a broken definition of this very tag does."""
    try:
        definitions = load_tag_definitions(ws.root)
    except DefinitionError as exc:
        own = [f"{TAGS_DIR}/{tag}.yaml", f"{TAGS_DIR}/{tag}.yml"]
        if any(line.startswith(tuple(f"{f}:" for f in own)) for line in exc.message.splitlines()):
            raise
        return None
    return definitions.get(tag)


def assign_tags(
    ws: ProjectContext,
    tag: str,
    ids: Iterable[Any] | Mapping[str, Any] | None = None,
    *,
    file: str | Path | None = None,
    value: str | None = None,
    source: str = "manual",
    expires: Any = None,
    at: datetime | None = None,
) -> AssignResult:
    """Assign *tag* to the profiles *ids* and/or those of *file* (see :func:`read_id_file`).

    *ids* is a list of profile ids, or — for per-profile values, as model output has —
    a mapping id → value, an iterable of ``(id, value)`` pairs, or an Arrow table /
    pandas DataFrame with ``profile_id`` and ``value``.

    *value* is the tag's value (a row's own ``value`` in a file wins); *expires* a
    duration (``30d``) from *at*, an ISO time or a datetime (a row's own ``expires`` wins;
    default: the tag definition's ``expires:``, else never); *at* the assignment time
    (default now). Assigning again updates the value and expiry (a changed value also
    restamps ``assigned_at``). All in one transaction.

    A bad tag name, or a broken definition of this very tag, raises
    :class:`DefinitionError`; a bad argument (source, expiry, value, id) raises
    :class:`QueryError`, as does a read-only workspace; an unreadable id file raises
    :class:`LoadError`.
    """
    tag = check_tag_name(tag, path="tag")
    _check_source(source)
    if ws.read_only:
        raise QueryError("cannot assign tags: the workspace is open read-only", code="read_only")
    when = at_or_now(at, ws.clock)
    definition = _definition(ws, tag)
    if expires is None and definition is not None and definition.expires:
        expires = timedelta(seconds=definition.expires)
    base_expiry = parse_expiry(expires, start=when)
    allowed = definition.values if definition is not None else ()

    def check_value(v: str | None, where: str) -> str | None:
        if v is not None and allowed and v not in allowed:
            raise QueryError(f"{where}: {v!r} is not a value of tag {tag} (values: {', '.join(allowed)})",
                             code="bad_tag_value", path=where)
        return v

    check_value(None if value is None else str(value), "value")
    rows: list[tuple[str, str | None, datetime | None]] = []
    if ids is not None and not isinstance(ids, (str, list, tuple, set, frozenset)):
        # A mapping id -> value, (id, value) pairs, or a table (model output): per-id values.
        from segflow.tags.custom import members_table

        try:
            table = members_table(ids, what="ids:", path="ids")
        except DefinitionError as exc:  # here the table is an argument, not a tag function's output
            raise QueryError(exc.message, code=exc.code, path=exc.path) from None
        for pid, row_value in zip(table.column("profile_id").to_pylist(), table.column("value").to_pylist()):
            if pid is None or not str(pid).strip():
                raise QueryError(f"profile id {pid!r} is not a non-empty text", code="bad_id", path="ids")
            chosen = row_value if row_value is not None else (None if value is None else str(value))
            rows.append((str(pid).strip(), check_value(chosen, "value"), base_expiry))
        ids = None
    for pid in ids or ():
        if not isinstance(pid, str) or not pid.strip():
            raise QueryError(f"profile id {pid!r} is not a non-empty text", code="bad_id", path="ids")
        rows.append((pid.strip(), None if value is None else str(value), base_expiry))
    if file is not None:
        for pid, row_value, row_expires, line in read_id_file(file):
            expiry = base_expiry if row_expires is None else parse_expiry(row_expires, start=when,
                                                                           path=f"{file}:{line}: expires")
            chosen = row_value if row_value is not None else (None if value is None else str(value))
            rows.append((pid, check_value(chosen, f"{file}:{line}: value"), expiry))
    result = AssignResult(tag=tag, source=source)
    if not rows:
        return result
    table = _input_table(rows)
    con = ws.warehouse
    con.register(_INPUT, table)
    try:
        with con.transaction():
            # The last occurrence of an id wins, as in a load.
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT profile_id, value, expires_at, pos FROM ("
                f"SELECT *, row_number() OVER (PARTITION BY profile_id ORDER BY pos DESC) AS rn FROM {_INPUT}) WHERE rn = 1"
            )
            staged = con.execute(f"SELECT count(*) FROM {_STAGE}").fetchall()[0][0]
            result.repeated = len(rows) - int(staged)
            # After identity resolution a merged record's id stands for its person.
            by_record = resolved(con, TAG_ASSIGNMENTS)
            result.unknown = _unknown_ids(con, by_record=by_record)
            if by_record:
                result.merged = merged_records(con, _STAGE)
                _to_persons(con)
            con.execute(f"DELETE FROM {_STAGE} WHERE profile_id NOT IN (SELECT profile_id FROM profiles)")
            key = [tag, source]
            result.updated = int(con.execute(
                f"SELECT count(*) FROM tag_assignments t JOIN {_STAGE} s USING (profile_id) WHERE t.tag = ? AND t.source = ? "
                "AND (t.value IS DISTINCT FROM s.value OR t.expires_at IS DISTINCT FROM s.expires_at)", key).fetchall()[0][0])
            result.unchanged = int(con.execute(
                f"SELECT count(*) FROM tag_assignments t JOIN {_STAGE} s USING (profile_id) WHERE t.tag = ? AND t.source = ? "
                "AND t.value IS NOT DISTINCT FROM s.value AND t.expires_at IS NOT DISTINCT FROM s.expires_at",
                key).fetchall()[0][0])
            con.execute(
                f"UPDATE tag_assignments AS t SET assigned_at = CASE WHEN t.value IS DISTINCT FROM s.value THEN ? "
                f"ELSE t.assigned_at END, value = s.value, expires_at = s.expires_at FROM {_STAGE} AS s "
                "WHERE t.profile_id = s.profile_id AND t.tag = ? AND t.source = ? "
                "AND (t.value IS DISTINCT FROM s.value OR t.expires_at IS DISTINCT FROM s.expires_at)",
                [when, *key],
            )
            # After identity resolution a new assignment made through a merged record's id
            # names that record, so an undo of the merge takes it back with the record.
            record = (f", {SOURCE_COL}", ", s._record") if by_record else ("", "")
            inserted = con.execute(
                f"INSERT INTO tag_assignments (profile_id, tag, value, source, assigned_at, expires_at{record[0]}) "
                f"SELECT s.profile_id, ?, s.value, ?, ?, s.expires_at{record[1]} FROM {_STAGE} AS s WHERE NOT EXISTS ("
                "SELECT 1 FROM tag_assignments t WHERE t.profile_id = s.profile_id AND t.tag = ? AND t.source = ?)",
                [tag, source, when, *key],
            ).fetchall()
            result.added = int(inserted[0][0]) if inserted else 0
            con.execute(f"DROP TABLE IF EXISTS {_STAGE}")
    finally:
        con.unregister(_INPUT)
    return result


def _input_table(rows: list[tuple[str, str | None, datetime | None]]) -> pa.Table:
    import pyarrow as pa

    return pa.table({
        "pos": pa.array(range(len(rows)), pa.int64()),
        "profile_id": pa.array([r[0] for r in rows], pa.string()),
        "value": pa.array([r[1] for r in rows], pa.string()),
        "expires_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
    })


def _to_persons(con: Warehouse) -> None:
    """After identity resolution, an id of a merged record stands for its person: the
    staged rows are re-keyed to canonical ids (the last given row per person wins) and
    ``_record`` names the merged record when only such a record was given."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_STAGE}_persons AS SELECT profile_id, value, expires_at, pos, _record FROM ("
        f"SELECT {PERSON} AS profile_id, value, expires_at, pos, {RECORD} AS _record, "
        f"row_number() OVER (PARTITION BY {PERSON} ORDER BY pos DESC) AS rn "
        f"FROM ({persons_sql(_STAGE)})) WHERE rn = 1"
    )
    con.execute(f"DROP TABLE {_STAGE}")
    rename_table(con, f"{_STAGE}_persons", _STAGE)


def _unknown_ids(con: Warehouse, *, by_record: bool) -> list[str]:
    """The input ids no profile answers to, in input order (*by_record*: resolved)."""
    rows = con.execute(
        f"SELECT profile_id FROM (SELECT profile_id, min(pos) AS pos FROM {_INPUT} GROUP BY profile_id) "
        f"WHERE profile_id NOT IN ({known_ids_sql(resolved=by_record)}) ORDER BY pos"
    ).fetchall()
    return [r[0] for r in rows]


def remove_tags(
    ws: ProjectContext,
    tag: str,
    ids: Iterable[str] | None = None,
    *,
    file: str | Path | None = None,
    source: str | None = "manual",
    everyone: bool = False,
) -> RemoveResult:
    """Remove *tag* from *ids* / the ids of *file*, or from every profile with *everyone*.

    Only assignments from *source* are removed (default ``manual``; None = every
    source — a rule-computed assignment comes back at the tag's next refresh).
    """
    tag = check_tag_name(tag, path="tag")
    if source is not None:
        _check_source(source)
    if ws.read_only:
        raise QueryError("cannot remove tags: the workspace is open read-only", code="read_only")
    if everyone and (ids or file):
        raise QueryError("give ids, a file, or everyone, not both", code="bad_arguments", path="ids")
    sources = "" if source is None else " AND source = ?"
    params: list[Any] = [tag] + ([] if source is None else [source])
    con = ws.warehouse
    result = RemoveResult(tag=tag)
    if everyone:
        deleted = con.execute(f"DELETE FROM tag_assignments WHERE tag = ?{sources}", params).fetchall()
        result.removed = int(deleted[0][0]) if deleted else 0
        return result
    rows: list[tuple[str, str | None, datetime | None]] = [(str(pid).strip(), None, None) for pid in ids or ()]
    if file is not None:
        rows += [(pid, None, None) for pid, _, _, _ in read_id_file(file)]
    if not rows:
        return result
    table = _input_table(rows)
    con.register(_INPUT, table)
    try:
        with con.transaction():
            by_record = resolved(con, TAG_ASSIGNMENTS)
            result.unknown = _unknown_ids(con, by_record=by_record)
            if by_record:
                result.merged = merged_records(con, _INPUT)
            # The persons meant: a merged record's id stands for its person after resolution.
            persons = (f"SELECT DISTINCT {PERSON} AS profile_id FROM ({persons_sql(_INPUT)})" if by_record
                       else f"SELECT DISTINCT profile_id FROM {_INPUT}")
            result.not_tagged = int(con.execute(
                f"SELECT count(*) FROM ({persons}) i WHERE i.profile_id IN (SELECT profile_id FROM profiles) "
                f"AND NOT EXISTS (SELECT 1 FROM tag_assignments t WHERE t.profile_id = i.profile_id AND t.tag = ?"
                f"{sources.replace('source', 't.source')})", params).fetchall()[0][0])
            deleted = con.execute(
                f"DELETE FROM tag_assignments WHERE tag = ?{sources} AND profile_id IN (SELECT profile_id FROM ({persons}))",
                params,
            ).fetchall()
            result.removed = int(deleted[0][0]) if deleted else 0
    finally:
        con.unregister(_INPUT)
    return result
