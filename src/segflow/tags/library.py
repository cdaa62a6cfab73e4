"""What the tag library holds: every tag (defined or assigned), its members and sources.

    >>> tags_overview(ws)[0]                                    # doctest: +SKIP
    {'name': 'behavior/cart_no_order_7d', 'source': 'rule', 'members': 412, ...}
    >>> tag_summary(ws, "rfm/tier")["values"]                   # doctest: +SKIP
    {'potential': 3120, 'churn_risk': 2210, 'high_value': 410}

A profile counts as tagged when one of its assignments is active now: made at or before
now and not expired (the meaning ``{tag: ...}`` has in a rule).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now
from segflow.errors import DefinitionError, IdentityError
from segflow.identity.persons import lookup
from segflow.tags.definition import check_tag_name, load_tag_definitions
from segflow.tags.refresh import tag_history

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext

__all__ = ["ProfileTags", "profile_tags", "tag_members", "tag_summary", "tags_overview", "tags_of"]

_ACTIVE = "(assigned_at IS NULL OR assigned_at <= ?) AND (expires_at IS NULL OR expires_at > ?)"


def _latest_refreshes(ws: ProjectContext) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in tag_history(ws):  # newest first
        latest.setdefault(row["name"], row)
    return latest


def tags_overview(ws: ProjectContext, group: str | None = None, *, at: datetime | None = None) -> list[dict[str, Any]]:
    """One row per tag defined in ``tags/`` or present in ``tag_assignments`` (optionally only
    those under *group*, e.g. ``rfm``): name, label, kind, source, schedule, description,
    members (active at *at*, default now), by_source, last refresh (as_of, error)."""
    when = at_or_now(at, ws.clock)
    definitions = load_tag_definitions(ws.root)
    con = ws.warehouse
    counts: dict[str, dict[str, int]] = {}
    for tag, source, n in con.execute(
        f"SELECT tag, source, count(DISTINCT profile_id) FROM tag_assignments WHERE {_ACTIVE} GROUP BY ALL",
        [when, when],
    ).fetchall():
        counts.setdefault(tag, {})[source or "manual"] = int(n)
    members = dict(con.execute(
        f"SELECT tag, count(DISTINCT profile_id) FROM tag_assignments WHERE {_ACTIVE} GROUP BY tag", [when, when]
    ).fetchall())
    latest = _latest_refreshes(ws)
    names = sorted(set(definitions) | set(counts))
    if group:
        prefix = group.rstrip("/*") + "/"
        names = [n for n in names if n.startswith(prefix)]
    rows = []
    for name in names:
        d = definitions.get(name)
        last = latest.get(name)
        rows.append({
            "name": name,
            "label": d.label if d else "",
            "kind": d.kind if d else "",
            "source": d.source if d else "(undefined)",
            "schedule": d.schedule if d else None,
            "description": d.description if d else "",
            "file": d.file if d else None,
            "members": int(members.get(name, 0)),
            "by_source": counts.get(name, {}),
            "as_of": last["as_of"] if last else None,
            "refreshed_at": last["refreshed_at"] if last else None,
            "error": last["error"] if last else None,
        })
    return rows


def tag_summary(ws: ProjectContext, tag: str, *, at: datetime | None = None, top: int = 20) -> dict[str, Any]:
    """One tag in detail: its definition, active members, members per source, the *top*
    values with their counts, expired assignments still stored, first and latest
    assignment times, and its last refreshes."""
    tag = check_tag_name(tag, path="tag")
    when = at_or_now(at, ws.clock)
    definitions = load_tag_definitions(ws.root)
    d = definitions.get(tag)
    con = ws.warehouse
    stored = con.execute("SELECT count(*) FROM tag_assignments WHERE tag = ?", [tag]).fetchall()[0][0]
    if d is None and not stored:
        known = sorted(set(definitions) | {r[0] for r in con.execute("SELECT DISTINCT tag FROM tag_assignments").fetchall()})
        import difflib

        close = difflib.get_close_matches(tag, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DefinitionError(f"no tag {tag!r} is defined or assigned{hint}", code="unknown_tag", path=tag)
    params = [tag, when, when]
    members = con.execute(f"SELECT count(DISTINCT profile_id) FROM tag_assignments WHERE tag = ? AND {_ACTIVE}",
                          params).fetchall()[0][0]
    by_source = {s or "manual": int(n) for s, n in con.execute(
        f"SELECT source, count(DISTINCT profile_id) FROM tag_assignments WHERE tag = ? AND {_ACTIVE} "
        "GROUP BY source ORDER BY source", params).fetchall()}
    values = {v: int(n) for v, n in con.execute(
        f"SELECT value, count(DISTINCT profile_id) AS n FROM tag_assignments WHERE tag = ? AND {_ACTIVE} "
        f"AND value IS NOT NULL GROUP BY value ORDER BY n DESC, value LIMIT {int(top)}", params).fetchall()}
    expired = con.execute("SELECT count(*) FROM tag_assignments WHERE tag = ? AND expires_at <= ?",
                          [tag, when]).fetchall()[0][0]
    expiring = con.execute("SELECT count(*), min(expires_at) FROM tag_assignments WHERE tag = ? AND expires_at > ?",
                           [tag, when]).fetchall()[0]
    first, last = con.execute("SELECT min(assigned_at), max(assigned_at) FROM tag_assignments WHERE tag = ?",
                              [tag]).fetchall()[0]
    return {
        "name": tag,
        "defined": d is not None,
        "label": d.label if d else "",
        "description": d.description if d else "",
        "kind": d.kind if d else None,
        "source": d.source if d else None,
        "schedule": d.schedule if d else None,
        "file": d.file if d else None,
        "depends_on": sorted(d.depends_on) if d else [],
        "tags_used": sorted(d.tags_used) if d else [],
        "traits_used": sorted(d.traits_used) if d else [],
        "members": int(members),
        "by_source": by_source,
        "values": values,
        "expired": int(expired),
        "will_expire": int(expiring[0]),
        "next_expiry": expiring[1],
        "first_assigned": first,
        "last_assigned": last,
        "refreshes": tag_history(ws, tag, limit=5),
    }


def tag_members(ws: ProjectContext, tag: str, *, value: str | None = None, source: str | None = None,
                at: datetime | None = None) -> pa.Table:
    """The profiles carrying *tag* at *at* (default now; ``group/*`` for a whole group), one
    row per active assignment: ``profile_id, tag, value, source, assigned_at, expires_at``,
    ordered by profile; optionally only one *value* or *source*."""
    when = at_or_now(at, ws.clock)
    params: list[Any]
    if tag.endswith("/*"):
        tag = check_tag_name(tag[:-2], path="tag") + "/*"
        match, params = "starts_with(tag, ?)", [tag[:-1]]
    else:
        tag = check_tag_name(tag, path="tag")
        match, params = "tag = ?", [tag]
    where = [match, _ACTIVE]
    params += [when, when]
    if value is not None:
        where.append("value = ?")
        params.append(value)
    if source is not None:
        where.append("source = ?")
        params.append(source)
    return ws.warehouse.query(
        "SELECT profile_id, tag, value, source, assigned_at, expires_at FROM tag_assignments "
        f"WHERE {' AND '.join(where)} ORDER BY profile_id, tag, source", params=params)


@dataclass
class ProfileTags:
    """The tags one person carries: *profile_id* is the person; *resolved_from* the id
    given when it was a merged record's (``note``: "shop_000123 was merged into app_000045")."""

    profile_id: str
    #: One dict per active assignment: tag, value, source, assigned_at, expires_at, label.
    tags: list[dict[str, Any]] = field(default_factory=list)
    resolved_from: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tags_of(ws: ProjectContext, profile_id: str, *, at: datetime | None = None) -> ProfileTags:
    """Every active tag assignment of the person *profile_id* stands for (any source id:
    a merged record's id is its person's) at *at* (default now), by tag and source, with
    each defined tag's label. Raises :class:`IdentityError` for an id no profile answers to."""
    when = at_or_now(at, ws.clock)
    con = ws.warehouse
    person = lookup(con, profile_id)
    if person is None:
        raise IdentityError(f"no profile {profile_id!r}", code="unknown_profile", path=profile_id)
    cursor = con.execute(
        "SELECT tag, value, source, assigned_at, expires_at FROM tag_assignments "
        f"WHERE profile_id = ? AND {_ACTIVE} ORDER BY tag, source", [person.id, when, when])
    cols = [d[0] for d in cursor.description]
    rows = [dict(zip(cols, r)) for r in cursor.fetchall()]
    try:
        labels = {name: d.label for name, d in load_tag_definitions(ws.root).items()}
    except DefinitionError:  # a broken file does not hide what the profile carries
        labels = {}
    for row in rows:
        row["label"] = labels.get(row["tag"], "")
    return ProfileTags(profile_id=person.id, tags=rows, resolved_from=person.resolved_from, note=person.note)


def profile_tags(ws: ProjectContext, profile_id: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`tags_of` (the person's tags; any source id)."""
    return tags_of(ws, profile_id, at=at).tags
