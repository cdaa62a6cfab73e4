"""Routes between segflow processes on this machine: lending the warehouse (segflow.hosting).

Not in the OpenAPI document. Each call carries the token from the project's ``.segflow/serve.json``
(readable only by the project's owner) and must come from loopback.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from segflow.errors import AccessError

__all__ = ["router"]

router = APIRouter(prefix="/internal", include_in_schema=False)


class Borrower(BaseModel):
    pid: int


def _host_for(request: Request) -> Any:
    from segflow.hosting import TOKEN_HEADER

    client = request.client.host if request.client else ""
    if client not in ("127.0.0.1", "::1", "localhost", "testclient"):
        raise AccessError("internal routes answer only on loopback", code="forbidden")
    token = request.headers.get(TOKEN_HEADER, "")
    for name, expected in request.app.state.tokens.items():
        if token and hmac.compare_digest(token, expected):
            return request.app.state.hosts[name]
    raise AccessError("not this server's token", code="forbidden")


@router.post("/warehouse/lend")
def lend(request: Request, borrower: Borrower) -> dict[str, Any]:
    host = _host_for(request)
    host.lend(borrower.pid)
    return {"lent_to": borrower.pid}


@router.post("/warehouse/return")
def give_back(request: Request, borrower: Borrower) -> dict[str, Any]:
    host = _host_for(request)
    host.give_back(borrower.pid)
    return {"returned": True}
