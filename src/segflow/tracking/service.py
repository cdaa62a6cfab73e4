"""Accepting tracking calls: raw request bytes and headers → normalised calls, then the inbox.

    >>> request = decode_request(body, headers, type_="track")   # doctest: +SKIP
    >>> result = await accept_async(inbox, request.calls, key_id)  # doctest: +SKIP

The route authenticates between the two steps (the write key may be ``writeKey`` in the body).
Limits (Segment's): a body over 500 KB once decompressed is ``batch_too_large`` (413), one
call over 32 KB ``message_too_large`` (400), an unreadable body ``invalid_json`` (400), a
call without userId / anonymousId ``invalid_call`` (400, with its path). A request with one
bad call is refused whole: nothing of it is stored, and the error names the first bad index.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from segflow.errors import TrackingError
from segflow.tracking.calls import MAX_BATCH_BYTES, Call, parse_calls

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.tracking.inbox import InboxWriter, SubmitResult

__all__ = ["TrackingRequest", "accept_async", "decode_body", "decode_request", "without_erased"]


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    calls: list[Call]
    #: ``writeKey`` from the body (used when no Authorization header carries the key).
    write_key: str | None


def decode_body(body: bytes, encoding: str | None) -> tuple[Any, int]:
    """The JSON of a request body, gunzipped when ``Content-Encoding: gzip`` (at most 500 KB
    inflated: a bigger body is refused before it is all decompressed), and its decoded size."""
    if (encoding or "").strip().lower() in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, MAX_BATCH_BYTES + 1)
        except zlib.error:
            raise TrackingError("the body is not valid gzip", code="invalid_json") from None
        if len(body) > MAX_BATCH_BYTES or inflater.unconsumed_tail:
            raise TrackingError(f"the request is over {MAX_BATCH_BYTES // 1024} KB", code="batch_too_large")
    elif len(body) > MAX_BATCH_BYTES:
        raise TrackingError(f"the request is over {MAX_BATCH_BYTES // 1024} KB", code="batch_too_large")
    try:
        return json.loads(body), len(body)
    except (ValueError, UnicodeDecodeError):
        raise TrackingError("the body is not JSON", code="invalid_json") from None


def decode_request(body: bytes, headers: Mapping[str, str], *, type_: str | None,
                   received_at: datetime | None = None) -> TrackingRequest:
    """Decode and validate one request to ``/v1/<type_>`` (``type_`` None: ``/v1/batch``)."""
    payload, size = decode_body(body, headers.get("content-encoding"))
    calls = parse_calls(payload, type_=type_, received_at=received_at or datetime.now(UTC), body_bytes=size)
    key = payload.get("writeKey") if isinstance(payload, dict) else None
    return TrackingRequest(calls, key if isinstance(key, str) and key else None)


async def accept_async(inbox: InboxWriter, calls: list[Call], key_id: int | None) -> SubmitResult:
    """Store *calls* durably (group commit); returns once committed."""
    return await inbox.submit_async(calls, key_id)


def without_erased(ctx: ProjectContext, calls: list[Call]) -> tuple[list[Call], int]:
    """*calls* less those of erased people (their userId, anonymousId, alias previousId, or an
    email / phone trait is suppressed), and how many were dropped. Dropped calls are not stored
    at all — not even in the inbox — and the sender still gets 200 (it must not learn who was
    erased). Without any erasure on record this is one state query."""
    from segflow.privacy.suppression import active_suppressions, is_suppressed

    if not calls or not active_suppressions(ctx):
        return calls, 0
    kept: list[Call] = []
    for call in calls:
        traits = call.traits or {}
        pairs = [("profile_id", call.user_id), ("anonymous_id", call.anonymous_id),
                 ("anonymous_id", call.previous_id), ("email", traits.get("email")), ("phone", traits.get("phone"))]
        if not is_suppressed(ctx, [(t, str(v)) for t, v in pairs if v]):
            kept.append(call)
    return kept, len(calls) - len(kept)
