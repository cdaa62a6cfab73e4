"""Segment and tag reads as the HTTP API gives them: member pages, a preview, an export stream,
an explanation of one profile.

    >>> page = segment_member_page(ctx, "vip", limit=100)              # doctest: +SKIP
    >>> segment_member_page(ctx, "vip", limit=100, cursor=page.next_cursor)   # doctest: +SKIP

Pages are ordered by ``profile_id``; the cursor is the last id of a page (opaque: URL-safe
base64), so a page is the members after it whatever changed in between — every member present
throughout is seen exactly once.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now
from segflow.errors import DefinitionError, QueryError

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext

__all__ = ["ExportStream", "MAX_PAGE", "MemberPage", "PreviewResult", "SegmentExplanation", "encode_cursor",
           "explain_member", "export_stream", "preview_rule", "segment_member_page", "tag_member_page"]

#: The most items one page holds.
MAX_PAGE = 1000


def encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str | None) -> str | None:
    if cursor is None or cursor == "":
        return None
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryError(f"cursor {cursor[:40]!r} is not one a page gave", code="bad_cursor", path="cursor") from None


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise QueryError(f"limit {limit} is out of range: give 1 to {MAX_PAGE}", code="bad_limit", path="limit")
    return int(limit)


@dataclass
class MemberPage:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"items": list(self.items), "next_cursor": self.next_cursor}


def _page(rows: list[dict[str, Any]], limit: int) -> MemberPage:
    more = len(rows) > limit
    rows = rows[:limit]
    return MemberPage(rows, encode_cursor(rows[-1]["profile_id"]) if more and rows else None)


def segment_member_page(ctx: ProjectContext, name: str, *, limit: int = 100, cursor: str | None = None) -> MemberPage:
    """Members of the applied segment *name* after *cursor*: ``profile_id, entered_at``, by id."""
    from segflow.segments.membership import MEMBERS_TABLE, ensure_tables
    from segflow.segments.query import known_segment

    limit = _check_limit(limit)
    after = _decode_cursor(cursor)
    known_segment(ctx, name)
    ensure_tables(ctx.warehouse)  # type: ignore[arg-type]
    query = f"SELECT profile_id, entered_at FROM {MEMBERS_TABLE} WHERE segment = ?"
    params: list[Any] = [name]
    if after is not None:
        query += " AND profile_id > ?"
        params.append(after)
    query += " ORDER BY profile_id LIMIT ?"
    params.append(limit + 1)
    rows = [{"profile_id": pid, "entered_at": at} for pid, at in ctx.warehouse.rows(query, params)]
    return _page(rows, limit)


def _known_tag(ctx: ProjectContext, tag: str) -> str:
    from segflow.tags.definition import check_tag_name, load_tag_definitions

    tag = check_tag_name(tag, path="tag")
    read: list[DefinitionError] = []
    if tag in load_tag_definitions(ctx.root, errors=read):
        return tag
    wh = ctx.warehouse
    if wh.table_exists("tag_assignments") and wh.count("SELECT count(*) FROM tag_assignments WHERE tag = ?", [tag]):
        return tag
    raise DefinitionError(f"no tag {tag!r} is defined or assigned", code="unknown_tag", path=tag)


def tag_member_page(ctx: ProjectContext, tag: str, *, limit: int = 100, cursor: str | None = None,
                    at: datetime | None = None) -> MemberPage:
    """Profiles carrying *tag* now (an active assignment) after *cursor*, by id: ``profile_id``,
    ``value`` (the least of its values, or None), ``sources`` and the first ``assigned_at``."""
    limit = _check_limit(limit)
    after = _decode_cursor(cursor)
    tag = _known_tag(ctx, tag)
    when = at_or_now(at, ctx.clock)
    wh = ctx.warehouse
    if not wh.table_exists("tag_assignments"):
        return MemberPage([], None)
    query = ("SELECT profile_id, min(value), min(coalesce(source, 'manual')), max(coalesce(source, 'manual')), "
             "min(assigned_at) FROM tag_assignments WHERE tag = ? "
             "AND (assigned_at IS NULL OR assigned_at <= ?) AND (expires_at IS NULL OR expires_at > ?)")
    params: list[Any] = [tag, when, when]
    if after is not None:
        query += " AND profile_id > ?"
        params.append(after)
    query += " GROUP BY profile_id ORDER BY profile_id LIMIT ?"
    params.append(limit + 1)
    rows = [{"profile_id": pid, "value": value, "sources": sorted({lo, hi}), "assigned_at": first}
            for pid, value, lo, hi, first in wh.rows(query, params)]
    return _page(rows, limit)


# -- preview -------------------------------------------------------------------------------------

@dataclass
class PreviewResult:
    count: int
    members: list[dict[str, Any]]
    as_of: datetime
    seconds: float
    warnings: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "members": list(self.members), "as_of": self.as_of,
                "seconds": round(self.seconds, 4), "warnings": list(self.warnings)}


def preview_rule(ctx: ProjectContext, rule: Any, *, limit: int = 20, as_of: datetime | None = None) -> PreviewResult:
    """Count *rule*'s members and list the first *limit* (0 to :data:`MAX_PAGE`), as ``segment preview``."""
    from segflow.segments.preview import preview

    if not 0 <= limit <= MAX_PAGE:
        raise QueryError(f"limit {limit} is out of range: give 0 to {MAX_PAGE}", code="bad_limit", path="limit")
    found = preview(ctx, rule, as_of=as_of, limit=limit)
    return PreviewResult(found.count, found.members.to_pylist(), found.as_of, found.seconds,
                         [w.to_dict() for w in found.warnings])


# -- explain -------------------------------------------------------------------------------------

@dataclass
class SegmentExplanation:
    segment: str
    type: str
    profile_id: str
    #: Whether the profile is a member now (as of the segment's last refresh).
    member: bool
    #: Whether the rule holds for the profile now (None: a static segment, which has no rule).
    matches: bool | None
    #: The explained rule (None for a static segment).
    tree: dict[str, Any] | None
    resolved_from: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def explain_member(ctx: ProjectContext, name: str, profile_id: str, *, as_of: datetime | None = None
                   ) -> SegmentExplanation:
    """Why *profile_id* (any source id of the person) is or is not in the applied segment *name*."""
    from segflow.definitions.versions import applied_segments
    from segflow.identity.persons import lookup
    from segflow.segments.membership import MEMBERS_TABLE, ensure_tables
    from segflow.segments.preview import explain_one
    from segflow.segments.query import known_segment

    known_segment(ctx, name)
    _, seg = applied_segments(ctx.state)[name]
    wh = ctx.warehouse
    ensure_tables(wh)  # type: ignore[arg-type]
    if seg.rule is None:
        person = lookup(wh, profile_id)
        if person is None:
            raise QueryError(f"no profile {profile_id!r}", code="unknown_profile", path=profile_id)
        pid, resolved, note, tree, matches = person.id, person.resolved_from, person.note, None, None
    else:
        found = explain_one(ctx, seg.rule, profile_id, as_of=as_of)
        pid, resolved, note, tree, matches = (found.profile_id, found.resolved_from, found.note,
                                              found.tree.to_dict(), found.value)
    member = bool(wh.count(f"SELECT count(*) FROM {MEMBERS_TABLE} WHERE segment = ? AND profile_id = ?", [name, pid]))
    return SegmentExplanation(name, seg.type, pid, member, matches, tree, resolved, note)


# -- export --------------------------------------------------------------------------------------

@dataclass
class ExportStream:
    format: str
    media_type: str
    filename: str
    members: int
    table: pa.Table = field(repr=False)

    @property
    def content_disposition(self) -> str:
        from urllib.parse import quote

        ascii_name = self.filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
        return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(self.filename, safe="")}'

    def chunks(self, rows: int = 5000) -> Iterator[bytes]:
        """The file, a part at a time (csv with a header line; jsonl one object a line)."""
        if self.format == "jsonl":
            from segflow.jsonable import to_json

            for batch in self.table.to_batches(max_chunksize=rows):
                yield "".join(to_json(r) + "\n" for r in batch.to_pylist()).encode("utf-8")
            return
        import pyarrow.csv as pcsv

        buffer = io.BytesIO()
        with pcsv.CSVWriter(buffer, self.table.schema, write_options=pcsv.WriteOptions(quoting_style="needed")) as w:
            for batch in self.table.to_batches(max_chunksize=rows):
                w.write_batch(batch)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        rest = buffer.getvalue()
        if rest or not self.table.num_rows:
            yield rest


def export_stream(ctx: ProjectContext, name: str, fmt: str = "csv", *, actor: str | None = None,
                  key_id: int | None = None) -> ExportStream:
    """The members of *name* (``profile_id, entered_at``) to stream as csv or jsonl; with *actor*,
    ``segment.export`` is recorded in the audit log (names and counts only)."""
    from segflow.segments.query import members

    if fmt not in ("csv", "jsonl"):
        raise QueryError(f"export format {fmt!r}: expected csv or jsonl", code="bad_format", path="format")
    table = members(ctx, name)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    stream = ExportStream(fmt, media, f"{name}.{fmt}", table.num_rows, table)
    if actor is not None:
        from segflow.access.audit import record

        record(ctx.state, actor=actor, action="segment.export", target=name,
               detail={"segment": name, "format": fmt, "members": table.num_rows}, key_id=key_id,
               at=ctx.clock.now())
    return stream
