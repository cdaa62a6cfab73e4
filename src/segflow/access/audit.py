"""The audit log: who did what to which thing, and when (the state store's ``audit_log``).

An entry names an *actor* (``"cli"`` for a command on this machine, ``"key:<id>"`` for a
request made with an API key), an *action* (``key.create``, ``key.revoke``, ``key.rotate``,
``key.use``; the API adds ``definition.apply``, ``segment.export``, ``profile.erase``, ...),
a *target* (a key's prefix, a definition's name) and a *detail* dict stored as JSON: names,
versions, counts — never a person's data (no profile ids, e-mail addresses, attribute
values), so the log can be kept and shown without becoming personal data itself::

    >>> record(store, actor="cli", action="key.revoke", target="sfs_AbCdEfGh",
    ...        detail={"kind": "secret", "name": "crm"}, at=now)          # doctest: +SKIP
    >>> [e.action for e in list_audit(store, action="key")]                # doctest: +SKIP
    ['key.revoke', ...]

Entries are listed newest first (by id: the order they were written, whatever clock
stamped them); ``before_id`` is the paging cursor (pass the last id of a page to get the
next one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segflow.clock import as_utc, utc
from segflow.errors import QueryError
from segflow.state.tables import audit_log

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.context import ProjectContext
    from segflow.state.store import StateStore

__all__ = ["AuditEntry", "MAX_LIMIT", "list_audit", "record"]

#: The most entries one :func:`list_audit` call returns (page with ``before_id`` for more).
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
    key_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "detail": dict(self.detail), "key_id": self.key_id}


def _detail_text(detail: dict[str, Any] | None) -> str | None:
    if not detail:
        return None
    try:
        return json.dumps(detail, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"audit detail {sorted(detail)!r} is not JSON: {exc}", code="bad_audit_detail") from None


def record(state: StateStore, *, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None,
           key_id: int | None = None, at: datetime, conn: Connection | None = None) -> AuditEntry:
    """Write one audit entry (in *conn*'s transaction when given, so the entry and the
    change it records commit together) and return it.

    *detail* must be JSON (names, versions, counts; never a person's data)."""
    when = utc(at)
    values = {"at": when, "actor": actor, "action": action, "target": target,
              "detail": _detail_text(detail), "key_id": key_id}
    if conn is None:
        with state.begin() as own:
            result = own.execute(audit_log.insert().values(**values))
    else:
        result = conn.execute(audit_log.insert().values(**values))
    pk = result.inserted_primary_key
    assert pk is not None
    return AuditEntry(int(pk[0]), when, actor, action, target, dict(detail or {}), key_id)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(int(row.id), utc(row.at), row.actor, row.action, row.target or "",
                      json.loads(row.detail) if row.detail else {}, row.key_id)


def list_audit(ctx_or_state: ProjectContext | StateStore, *, since: datetime | None = None,
               action: str | None = None, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """Audit entries, newest first: at or after *since*; of *action* (``key.revoke``, or a
    group: ``key`` is every ``key.*`` action); older than entry *before_id* (the cursor of
    the next page); at most *limit* (1 to :data:`MAX_LIMIT`)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"audit limit {limit} is out of range: give 1 to {MAX_LIMIT}", code="bad_limit")
    state: StateStore = ctx_or_state.state if hasattr(ctx_or_state, "state") else ctx_or_state  # type: ignore[assignment]
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= as_utc(since))
    if action:
        query = query.where(sa.or_(audit_log.c.action == action,
                                   audit_log.c.action.startswith(action.rstrip(".") + ".", autoescape=True)))
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    with state.engine.connect() as conn:
        return [_entry(row) for row in conn.execute(query)]
