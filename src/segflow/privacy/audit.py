"""One row of the state store's ``audit_log`` per privacy action (export, erase, lift).

The detail holds counts and table names only, never a person's data; an entry names the
person by a keyed hash (see :func:`segflow.secret.identifier_hash`), so the log can still
be searched for a given id by whoever holds the id and the project's secret.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from segflow import clock

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["record_audit"]


def record_audit(conn: Connection, *, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    """Add one entry in the open state transaction *conn*. An *actor* ``key:<id>`` (an API
    key) also fills ``key_id``."""
    from segflow.state.tables import audit_log

    key_id = None
    if actor.startswith("key:") and actor[4:].isdigit():
        key_id = int(actor[4:])
    conn.execute(audit_log.insert().values(at=clock.now(), actor=actor, action=action, target=target,
                                           detail=json.dumps(detail, sort_keys=True, default=str), key_id=key_id))
