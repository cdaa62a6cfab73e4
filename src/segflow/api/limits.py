"""Request size limits, before a body is read: 413 ``request_too_large`` with ``{code, message}``.

Checked from ``Content-Length`` and, for chunked bodies, while the body streams in. Tracking
calls have their own limits on the decompressed calls (32 KB per call, 500 KB per batch); this
is the outer bound on what is read off the wire at all.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimit", "limit_for"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

KB = 1024
MB = 1024 * KB
#: Path prefix → largest body read (first match wins).
LIMITS: tuple[tuple[str, int], ...] = (
    ("/v1/", 1 * MB),            # tracking (a gzip body may inflate; its calls are checked after)
    ("/api/loads", 2048 * MB),   # file uploads
    ("/", 1 * MB),               # everything else (definitions, queries)
)


def limit_for(path: str) -> int:
    for prefix, size in LIMITS:
        if path.startswith(prefix):
            return size
    return 1 * MB


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware refusing bodies over :func:`limit_for` their path."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", "/"))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    size = -1
                if size > limit:
                    await _refuse(send, limit)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"code": "request_too_large", "message": f"the request body is over {limit // KB:,} KB",
                       "path": None}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
