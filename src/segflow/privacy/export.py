"""Exporting everything about one person (GDPR Art. 15, PIPL Art. 45).

:func:`export_person` returns the person's global file and every row of every table that
names them — exactly the rows an erasure would remove (the same footprint and filter,
:mod:`segflow.privacy.footprint`): source records, identities, events, orders and their
items, memberships, subscriptions, tags, segments and their history, traits, lifecycle,
identity bookkeeping; from the state store their journey runs and steps, the outbox
(messages with their content) and tracking calls in the inbox. An audit entry
``profile.export`` records it (target: ``profile_id:<keyed hash>``, so the log holds no id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow import clock
from segflow.identity.profile import find_person, global_file
from segflow.privacy.footprint import footprint, person_filter, stage, unstage
from segflow.secret import identifier_hash, project_secret
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["PersonExport", "export_person"]


@dataclass
class PersonExport:
    person: str
    exported_at: datetime
    #: the global file (segflow.identity.profile.GlobalFile.to_dict)
    profile: dict[str, Any]
    #: table → its rows about the person (warehouse and state store)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: every table read, with or without rows
    tables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able with :func:`segflow.jsonable.to_json` (times, decimals)."""
        return {"person": self.person, "exported_at": self.exported_at, "profile": self.profile,
                "rows": self.rows, "tables": self.tables}


def export_person(ctx: ProjectContext, ident: str | None = None, *, by: tuple[str, str] | None = None,
                  actor: str = "cli") -> PersonExport:
    """Everything about the person *ident* (or found by *by* = (type, value)); see the module docstring."""
    import sqlalchemy as sa

    from segflow.privacy.audit import record_audit
    from segflow.privacy.erase import _names
    from segflow.state.tables import inbox, journey_runs, journey_steps, outbox

    person = find_person(ctx, ident, by=by)
    wh = ctx.warehouse
    fp = footprint(ctx, person)
    result = PersonExport(person=person, exported_at=clock.now(), profile=global_file(ctx, person).to_dict())
    stage(wh, fp)
    try:
        for table in wh.tables():
            result.tables.append(table)
            where = person_filter(wh, fp, table)
            if where is None:
                continue
            cur = wh.execute(f"SELECT * FROM {q(table)} WHERE {where}")
            names = [d[0] for d in cur.description]
            found = [dict(zip(names, row)) for row in cur.fetchall()]
            if found:
                result.rows[table] = found
    finally:
        unstage(wh)
    ids = sorted(fp.all_ids)
    texts = fp.texts()
    with ctx.state.begin() as conn:
        def read(query: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(query)]

        runs = read(sa.select(journey_runs).where(journey_runs.c.profile_id.in_(ids)).order_by(journey_runs.c.id))
        run_ids = [r["id"] for r in runs]
        state = {
            "journey_runs": runs,
            "journey_steps": read(sa.select(journey_steps).where(journey_steps.c.run_id.in_(run_ids))
                                  .order_by(journey_steps.c.id)),
            "outbox": read(sa.select(outbox).where(sa.or_(outbox.c.profile_id.in_(ids), outbox.c.run_id.in_(run_ids)))
                           .order_by(outbox.c.id)),
        }
        probes = sorted(texts)
        calls = read(sa.select(inbox).where(sa.or_(*(inbox.c.body.contains(p, autoescape=True) for p in probes)))
                     .order_by(inbox.c.id)) if probes else []
        state["inbox"] = [c for c in calls if _names(c["body"], texts)]
        result.tables += list(state)
        result.rows.update({k: v for k, v in state.items() if v})
        record_audit(conn, actor=actor, action="profile.export",
                     target="profile_id:" + identifier_hash(project_secret(ctx.root), "profile_id", person),
                     detail={"tables": {k: len(v) for k, v in sorted(result.rows.items())}})
    return result
