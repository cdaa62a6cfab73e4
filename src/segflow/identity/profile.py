"""``segflow profile show``: the global file of one person.

Found by any source id, the canonical id, or an identifier value
(``--by email a@b.com``; the value is normalised as resolution does). The file has
the canonical id, every source record with its channel and creation time, every
identifier by type and the record holding it, the merged attributes with the source
record each value came from, and the person's recent events, orders, memberships,
subscriptions and tags.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.identity.errors import IdentityError
from segflow.identity.index import normalized_sql
from segflow.identity.merge import provenance_sql
from segflow.identity.persons import merged_note, person_of
from segflow.identity.store import (
    INDEX,
    MAP,
    SOURCE_COL,
    SOURCES,
    ensure_identity_tables,
)

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["GlobalFile", "find_person", "global_file"]


@dataclass
class GlobalFile:
    canonical_id: str
    sources: list[dict[str, Any]]
    identifiers: dict[str, list[dict[str, Any]]]
    #: attribute → {"value": ..., "source": source id it came from}
    attributes: dict[str, dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: The id given, when it was a merged record's (not the canonical one), and the note saying so.
    resolved_from: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _records(wh: Warehouse, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = wh.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def find_person(ctx: ProjectContext, ident: str | None = None, *, by: tuple[str, str] | None = None) -> str:
    """The canonical id of a source id / canonical id *ident*, or of identifier *by* = (type, value)."""
    wh = ctx.warehouse
    ensure_identity_tables(wh)
    if by is None:
        if ident is None:
            raise IdentityError("give a profile id, or an identifier (type and value) to find the person by", code="no_profile")
        found = person_of(wh, ident)
        if found is None and wh.scalar("SELECT count(*) FROM profiles WHERE profile_id = ?", [ident]):
            found = ident  # loaded but not resolved yet: the record is its own file
        if found is None:
            raise IdentityError(f"no profile {ident!r}", code="unknown_profile", path=ident)
        return str(found)
    type_, raw = by[0].strip().lower(), by[1]
    value = _normalise(ctx, type_, raw)
    persons = [r[0] for r in wh.execute(
        f"SELECT DISTINCT m.canonical_id FROM {INDEX} x JOIN {MAP} m ON m.source_id = x.source_id "
        f"WHERE x.type = ? AND (x.value = ? OR x.raw = ?) ORDER BY 1",
        [type_, value, raw],
    ).fetchall()]
    if not persons:
        raise IdentityError(f"no profile has {type_} {raw!r}", code="unknown_identifier", path=f"{type_}:{raw}")
    if len(persons) > 1:
        shown = ", ".join(persons[:10]) + (" ..." if len(persons) > 10 else "")
        raise IdentityError(
            f"{type_} {raw!r} is on {len(persons)} people ({shown}); give a profile id instead",
            code="ambiguous_identifier",
            path=f"{type_}:{raw}",
        )
    return str(persons[0])


def _normalise(ctx: ProjectContext, type_: str, raw: str) -> str | None:
    wh = ctx.warehouse
    sql = normalized_sql("t", "r", ctx.config.identity, ctx.config.default_phone_country)
    return wh.scalar(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS t, ?::VARCHAR AS r)", [type_, raw])


def global_file(ctx: ProjectContext, ident: str | None = None, *, by: tuple[str, str] | None = None, limit: int = 10) -> GlobalFile:
    """The global file of the person found by *ident* or *by* (see :func:`find_person`)."""
    wh = ctx.warehouse
    canonical = find_person(ctx, ident, by=by)
    row = _records(wh, "SELECT * FROM profiles WHERE profile_id = ?", [canonical])
    attrs = {k: v for k, v in (row[0] if row else {}).items() if k != "profile_id" and not k.startswith("_")}
    origin: dict[str, Any] = {}
    if wh.scalar(f"SELECT count(*) FROM {MAP} WHERE canonical_id = ?", [canonical]):
        prov = _records(wh, provenance_sql(wh), [canonical])
        origin = prov[0] if prov else {}
    attributes = {k: {"value": v, "source": origin.get(k, canonical)} for k, v in attrs.items() if v is not None}
    source_cols = wh.columns(SOURCES)
    channel = ", s.source AS channel" if "source" in source_cols else ""
    sources = _records(
        wh,
        f"SELECT m.source_id, s.created_at{channel}, s.profile_id IS NOT NULL AS has_profile FROM {MAP} m "
        f"LEFT JOIN {SOURCES} s ON s.profile_id = m.source_id WHERE m.canonical_id = ? "
        f"ORDER BY m.source_id = ? DESC, m.source_id",
        [canonical, canonical],
    ) or [{"source_id": canonical, "created_at": attrs.get("created_at"), "has_profile": True}]
    identifiers: dict[str, list[dict[str, Any]]] = {}
    for rec in _records(
        wh,
        f"SELECT DISTINCT x.type, coalesce(x.value, x.raw) AS value, x.source_id, x.status FROM {INDEX} x "
        f"JOIN {MAP} m ON m.source_id = x.source_id WHERE m.canonical_id = ? ORDER BY x.type, 2, x.source_id",
        [canonical],
    ):
        identifiers.setdefault(rec.pop("type"), []).append(rec)
    gf = GlobalFile(canonical_id=canonical, sources=sources, identifiers=identifiers, attributes=attributes)
    if ident is not None and by is None and ident != canonical:
        gf.resolved_from, gf.note = ident, merged_note(ident, canonical)
    # NULL source: an anonymous event attached through its anonymous_id.
    src = f"CASE WHEN {SOURCE_COL} = '' THEN NULL ELSE coalesce({SOURCE_COL}, profile_id) END"
    tables = {
        "events": (["event_id", "event", "ts", "channel", "anonymous_id"], "ts DESC"),
        "orders": (["order_id", "ts", "amount", "status", "channel", "store"], "ts DESC"),
        "memberships": (["kind", "key", "since"], "since DESC NULLS LAST, kind, key"),
        "subscriptions": (["channel", "topic", "status", "ts"], "channel, topic"),
        "tag_assignments": (["tag", "value", "source", "assigned_at"], "tag"),
    }
    for table, (wanted, order) in tables.items():
        have = wh.columns(table)
        if not have:
            continue
        cols = [c for c in wanted if c in have]
        cols.append(f"{src if SOURCE_COL in have else 'profile_id'} AS source_id")
        records = _records(
            wh, f"SELECT {', '.join(cols)} FROM {table} WHERE profile_id = ? ORDER BY {order} LIMIT {int(limit)}",
            [canonical],
        )
        gf.counts[table] = wh.count(f"SELECT count(*) FROM {table} WHERE profile_id = ?", [canonical])
        setattr(gf, "tags" if table == "tag_assignments" else table, records)
    return gf
