"""Applied definitions in the state store: every change a new version, removals a tombstone.

``definitions`` rows are never updated: applying a changed segment, tag or trait adds
version N+1 with its canonical JSON body and fingerprint; deleting its file adds a
``removed`` version. The *current* definition of a name is its highest version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import now, utc
from segflow.segments.definition import canonical_json, fingerprint
from segflow.state.tables import definitions

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.state.store import StateStore

__all__ = ["Version", "applied_segments", "current_versions", "record_version", "version_history"]


@dataclass(frozen=True)
class Version:
    """One applied version of a definition."""

    kind: str
    name: str
    version: int
    fingerprint: str
    body: dict[str, Any]
    file: str | None
    status: str
    applied_at: datetime

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_row(cls, row: Any) -> Version:
        when = utc(row.applied_at)
        return cls(kind=row.kind, name=row.name, version=row.version, fingerprint=row.fingerprint,
                   body=json.loads(row.body), file=row.file, status=row.status, applied_at=when)


def current_versions(state: StateStore, kind: str | None = None, *,
                     conn: Connection | None = None) -> dict[tuple[str, str], Version]:
    """The highest version of every (kind, name), removed ones included (check ``.active``)."""
    top = sa.select(definitions.c.kind, definitions.c.name, sa.func.max(definitions.c.version).label("v")) \
        .group_by(definitions.c.kind, definitions.c.name)
    if kind is not None:
        top = top.where(definitions.c.kind == kind)
    sub = top.subquery()
    query = sa.select(definitions).join(sub, sa.and_(definitions.c.kind == sub.c.kind,
                                                     definitions.c.name == sub.c.name,
                                                     definitions.c.version == sub.c.v))
    if conn is not None:
        rows = conn.execute(query).all()
    else:
        with state.engine.connect() as c:
            rows = c.execute(query).all()
    return {(r.kind, r.name): Version.from_row(r) for r in rows}


def version_history(state: StateStore, kind: str, name: str) -> list[Version]:
    """Every version of one definition, oldest first."""
    query = sa.select(definitions).where(definitions.c.kind == kind, definitions.c.name == name) \
        .order_by(definitions.c.version)
    with state.engine.connect() as conn:
        return [Version.from_row(r) for r in conn.execute(query)]


def record_version(conn: Connection, *, kind: str, name: str, body: dict[str, Any], file: str | None,
                   status: str = "active", applied_at: datetime | None = None) -> int:
    """Add the next version of (kind, name) in the caller's transaction; return its number."""
    last = conn.execute(sa.select(sa.func.max(definitions.c.version))
                        .where(definitions.c.kind == kind, definitions.c.name == name)).scalar()
    version = int(last or 0) + 1
    conn.execute(definitions.insert().values(
        kind=kind, name=name, version=version, fingerprint=fingerprint(body), body=canonical_json(body),
        file=file, status=status, applied_at=applied_at or now()))
    return version


def applied_segments(state: StateStore) -> dict[str, tuple[int, Any]]:
    """Active segment definitions as applied: ``{name: (version, SegmentDefinition)}``."""
    from segflow.segments.definition import SegmentDefinition

    out = {}
    for (_, name), v in sorted(current_versions(state, "segment").items()):
        if v.active:
            out[name] = (v.version, SegmentDefinition.from_body(name, v.body, v.file))
    return out
