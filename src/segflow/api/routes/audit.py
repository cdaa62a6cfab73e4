"""The audit log: definition changes, exports, erasures, loads and key use, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from segflow.api.deps import Authed, need

__all__ = ["router"]

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", summary="Audit entries, newest first (cursor: the last id of the previous page)")
def audit(authed: Annotated[Authed, Depends(need("audit:read"))], since: datetime | None = None,
          action: Annotated[str | None, Query(max_length=64)] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          cursor: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    from segflow.access.audit import list_audit

    entries = list_audit(authed.host.ctx.state, since=since, action=action, limit=limit, before_id=cursor)
    return {"items": [e.to_dict() for e in entries],
            "next_cursor": entries[-1].id if len(entries) == limit else None}
