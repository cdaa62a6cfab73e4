"""The ``webhook`` node's delivery: one HTTP request per outbox row, with its key.

The body is the node's ``body`` template (Jinja2, sandboxed) rendered for the profile, or,
without one, JSON ``{journey, node, profile_id, key}``; the request carries the headers
of the node and ``Idempotency-Key: <outbox key>``, so a receiver can drop a repeat.
A 2xx answer is ``sent``; 408, 425, 429, 5xx and connection errors are temporary (retried
with backoff); any other answer is permanent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.journeys.store import OutboxRow

__all__ = ["call_webhook"]

TEMPORARY = {408, 425, 429}


def call_webhook(ctx: ProjectContext, row: OutboxRow, now: datetime, *, timeout: float = 10.0) -> tuple[str, str | None]:
    """Send *row*'s request: ``("sent" | "temporary" | "permanent", error)``."""
    import httpx

    payload = row.payload
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    headers["Idempotency-Key"] = row.key
    body_template = payload.get("body")
    if body_template:
        from segflow.errors import SegflowError
        from segflow.journeys.templates import Template, render, template_context

        values = template_context(ctx.warehouse, [row.profile_id]).get(row.profile_id, {})
        values = {**values, "journey": {"name": row.journey, "node": row.node}}
        try:
            content = render(Template(name=f"{row.journey}.{row.node}.body", channel="webhook", subject=None,
                                      text=str(body_template), html=None, file=f"journeys/{row.journey}.yaml",
                                      description=""), values).text or ""
        except SegflowError as exc:
            return "permanent", f"template_error: {exc.message}"
        headers.setdefault("Content-Type", "application/json")
    else:
        content = json.dumps({"journey": row.journey, "node": row.node, "profile_id": row.profile_id, "key": row.key,
                              "at": now.isoformat()})
        headers.setdefault("Content-Type", "application/json")
    try:
        response = httpx.request(str(payload.get("method") or "POST"), str(payload["url"]), content=content,
                                 headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return "temporary", f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return "sent", None
    error = f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in TEMPORARY or response.status_code >= 500:
        return "temporary", error
    return "permanent", error
