"""``segflow resolve --explain ID``: which identifiers joined which records.

For the person of *ID* (a source id or a canonical id), the explanation lists every
source record with the chain of shared identifiers that links it to the canonical
record — the shortest path in the identifier graph, found with scipy's breadth-first
search — and every identifier of the person that did *not* link anything, with why:
placeholder, malformed, ignored, junk (over the cap), attach-only or another type,
or a pinned record (``--undo-merge``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.identity import persons
from segflow.identity.errors import IdentityError
from segflow.identity.graph import spanning_paths
from segflow.identity.store import INDEX, MAP, ensure_identity_tables

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["Explanation", "Link", "explain_person", "person_of"]


@dataclass
class Link:
    """One step of a path: record *source* has identifier *type*/*value* that *target* has too."""

    source: str
    type: str
    value: str
    target: str


@dataclass
class Explanation:
    canonical_id: str
    asked: str
    members: list[str]
    #: source id → the links from the canonical record to it (empty for the canonical one).
    paths: dict[str, list[Link]] = field(default_factory=dict)
    #: identifiers of the person that linked nothing, with the reason.
    unused: list[dict[str, Any]] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    #: *asked*, when it was a merged record's id (not the canonical one), and the note saying so.
    resolved_from: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def person_of(ctx: ProjectContext, ident: str) -> str:
    """The canonical id of *ident* (a source id or a canonical id)."""
    wh = ctx.warehouse
    ensure_identity_tables(wh)
    found = persons.person_of(wh, ident)
    if found is None:
        if wh.scalar(f"SELECT count(*) FROM {MAP}") == 0:
            raise IdentityError("identities are not resolved yet: run `segflow resolve`", code="not_resolved")
        raise IdentityError(f"no source profile {ident!r}", code="unknown_source", path=ident)
    return found


def explain_person(ctx: ProjectContext, ident: str) -> Explanation:
    """Explain how the person of *ident* was put together."""
    from segflow.identity.resolve import _pinned

    wh = ctx.warehouse
    opts = ctx.config.identity
    canonical = person_of(ctx, ident)
    members = [r[0] for r in wh.execute(
        f"SELECT source_id FROM {MAP} WHERE canonical_id = ? ORDER BY source_id = ? DESC, source_id", [canonical, canonical]
    ).fetchall()]
    pinned = sorted(set(_pinned(ctx)) & set(members))
    rows = wh.execute(
        f"SELECT x.source_id, x.type, x.value, x.raw, x.status, "
        f"(SELECT count(DISTINCT y.source_id) FROM {INDEX} y WHERE y.type = x.type AND y.value = x.value "
        f"AND y.status = 'ok') AS holders FROM {INDEX} x JOIN {MAP} m ON m.source_id = x.source_id "
        f"WHERE m.canonical_id = ? ORDER BY x.type, x.value, x.source_id",
        [canonical],
    ).fetchall()
    merge_types = set(opts.merge_types)
    usable: list[tuple[str, str, str]] = []
    unused: list[dict[str, Any]] = []
    for source, type_, value, raw, status, holders in rows:
        reason = None
        if status != "ok":
            reason = status
        elif type_ not in merge_types:
            reason = "attach-only" if type_ in opts.attach_types else "not a merge type"
        elif holders > opts.junk_cap:
            reason = f"junk: on {holders} records (cap {opts.junk_cap})"
        elif source in pinned:
            reason = "record pinned apart (merge undone)"
        if reason is None:
            usable.append((source, type_, value))
        else:
            unused.append({"source_id": source, "type": type_, "value": value if value is not None else raw, "reason": reason})
    explanation = Explanation(canonical_id=canonical, asked=ident, members=members, unused=unused, pinned=pinned)
    if ident != canonical:
        explanation.resolved_from, explanation.note = ident, persons.merged_note(ident, canonical)
    explanation.paths = _paths(members, usable)
    return explanation


def _paths(members: list[str], usable: list[tuple[str, str, str]]) -> dict[str, list[Link]]:
    """Shortest identifier chain from ``members[0]`` (the canonical record) to each member."""
    import numpy as np

    code = {m: i for i, m in enumerate(members)}
    idents: dict[tuple[str, str], int] = {}
    src, ident = [], []
    for source, type_, value in usable:
        src.append(code[source])
        ident.append(idents.setdefault((type_, value), len(idents)))
    names = {v: k for k, v in idents.items()}
    n = len(members)
    preds = spanning_paths(n, len(idents), np.array(src, dtype=np.int64), np.array(ident, dtype=np.int64), 0)
    out: dict[str, list[Link]] = {}
    for member, node in code.items():
        chain: list[Link] = []
        at = node
        while at != 0 and preds[at] >= 0:
            via = int(preds[at])
            prev = int(preds[via])
            type_, value = names[via - n]
            chain.append(Link(source=members[prev], type=type_, value=value, target=members[at]))
            at = prev
        out[member] = list(reversed(chain))
    return out
