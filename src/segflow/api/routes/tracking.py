"""Segment-compatible tracking: ``POST /v1/identify|track|page|screen|group|alias|batch``.

Each route: read the body → :func:`segflow.tracking.service.decode_request` → authenticate
(Basic user name, or ``writeKey`` in the body) → the inbox (durable before the answer) →
``{"success": true}``. See docs/tracking.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["tracking"])


async def _accept(request: Request, type_: str | None) -> dict[str, Any]:
    from segflow.api.deps import authenticate_write
    from segflow.tracking.service import accept_async, decode_request, without_erased

    tracking = decode_request(await request.body(), request.headers, type_=type_)
    authed = authenticate_write(request, tracking.write_key)
    calls, _dropped = without_erased(authed.host.ctx, tracking.calls)
    if calls:
        await accept_async(authed.host.inbox, calls, authed.key.id)
    return {"success": True}


def _route(type_: str | None) -> Any:
    async def endpoint(request: Request) -> dict[str, Any]:
        return await _accept(request, type_)

    endpoint.__name__ = f"tracking_{type_ or 'batch'}"
    endpoint.__doc__ = (f"A Segment `{type_}` call." if type_ else
                        "Several calls at once (`batch`: a list of calls, each with its `type`).")
    return endpoint


for _type in ("identify", "track", "page", "screen", "group", "alias", None):
    router.add_api_route(f"/{_type or 'batch'}", _route(_type), methods=["POST"])
