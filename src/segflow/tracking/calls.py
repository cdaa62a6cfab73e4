"""Segment tracking calls: the request shapes (pydantic v2) and their normalisation.

A call is one of ``identify``, ``track``, ``page``, ``screen``, ``group``, ``alias``, with
Segment's field names (``userId``, ``anonymousId``, ``messageId``, ``timestamp``, ``sentAt``,
``context``, ``integrations``, ``properties``, ``traits``, ``event``, ``name``, ``category``,
``groupId``, ``previousId``). :func:`parse_calls` turns a request body into normalised
:class:`Call` objects, or raises :class:`~segflow.errors.TrackingError` naming the first bad
field (``batch[3].userId``); nothing of a refused request is stored.

Time: ``ts = timestamp + (received_at - sentAt)`` (the sender's clock skew removed), no
``timestamp`` means ``received_at``, and a time after ``received_at`` is clamped to it (an event
cannot happen after it arrived).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from segflow.errors import TrackingError

__all__ = ["CALL_TYPES", "MAX_CALL_BYTES", "MAX_BATCH_BYTES", "Call", "RawCall", "correct_time", "parse_calls",
           "parse_time"]

CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
#: Segment's limits: 32 KB per call, 500 KB per batch request.
MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (``Z`` or an offset; naive = UTC) or epoch seconds / milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError("not a time")


def correct_time(timestamp: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """The call's time on the server's clock: see the module docstring."""
    if timestamp is None:
        return received_at
    ts = timestamp + (received_at - sent_at) if sent_at is not None else timestamp
    return min(ts, received_at)


def _ident(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    return value or None


class RawCall(BaseModel):
    """One call as Segment's libraries send it (unknown fields are ignored, not refused)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: str | None = None
    messageId: str | None = None
    userId: str | None = None
    anonymousId: str | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    groupId: str | None = None
    previousId: str | None = None

    @field_validator("messageId", "userId", "anonymousId", "groupId", "previousId", "event", "name", "category",
                     "type", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return _ident(value)

    @field_validator("timestamp", "sentAt", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)


@dataclass(frozen=True, slots=True)
class Call:
    """A normalised call: what the inbox stores (``body()`` as JSON) and the flush reads."""

    type: str
    message_id: str
    received_at: datetime
    ts: datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    group_id: str | None = None
    previous_id: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None

    def body(self) -> dict[str, Any]:
        """Segment's field names; times as ISO 8601 UTC; empty fields left out."""
        out: dict[str, Any] = {
            "type": self.type, "messageId": self.message_id, "userId": self.user_id,
            "anonymousId": self.anonymous_id, "timestamp": _iso(self.ts), "receivedAt": _iso(self.received_at),
            "originalTimestamp": _iso(self.original_timestamp), "sentAt": _iso(self.sent_at),
            "event": self.event, "name": self.name, "category": self.category, "groupId": self.group_id,
            "previousId": self.previous_id, "properties": self.properties, "traits": self.traits,
            "context": self.context, "integrations": self.integrations,
        }
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Call:
        """The inverse of :meth:`body`."""
        def t(key: str) -> datetime | None:
            return parse_time(body.get(key))

        received = t("receivedAt")
        ts = t("timestamp")
        assert received is not None and ts is not None
        return cls(type=body["type"], message_id=body["messageId"], received_at=received, ts=ts,
                   user_id=body.get("userId"), anonymous_id=body.get("anonymousId"), event=body.get("event"),
                   name=body.get("name"), category=body.get("category"), group_id=body.get("groupId"),
                   previous_id=body.get("previousId"), properties=body.get("properties"),
                   traits=body.get("traits"), context=body.get("context"),
                   integrations=body.get("integrations"), original_timestamp=t("originalTimestamp"),
                   sent_at=t("sentAt"))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: What each type needs besides userId / anonymousId.
_NEEDS = {"track": "event", "group": "groupId", "alias": "previousId"}


def normalise(raw: dict[str, Any], *, type_: str | None, received_at: datetime, where: str,
              sent_at: datetime | None = None) -> Call:
    """One call of a request (*where*: its path, ``batch[3]`` or ``""``) → :class:`Call`.

    *type_* is the endpoint's type (``/v1/track``); in a batch each item names its own. The batch's
    ``sentAt`` applies to an item without one."""
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise TrackingError(f"{where or 'the body'} is not a JSON object", code="invalid_call", path=where or None)
    try:
        call = RawCall.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise TrackingError(f"{prefix}{field}: {err['msg']}", code="invalid_call", path=f"{prefix}{field}") from None
    kind = type_ or call.type
    if kind not in CALL_TYPES:
        raise TrackingError(f"{prefix}type must be one of {', '.join(CALL_TYPES)} (got {kind!r})",
                            code="invalid_call", path=f"{prefix}type")
    if call.userId is None and call.anonymousId is None:
        raise TrackingError(f"{where or 'the call'} has neither userId nor anonymousId", code="invalid_call",
                            path=f"{prefix}userId")
    need = _NEEDS.get(kind)
    if need is not None and getattr(call, need) is None:
        raise TrackingError(f"{where or 'the call'}: a {kind} call needs {need}", code="invalid_call",
                            path=f"{prefix}{need}")
    if kind == "alias" and call.userId is None:
        raise TrackingError(f"{where or 'the call'}: an alias call needs userId", code="invalid_call",
                            path=f"{prefix}userId")
    sent = call.sentAt or sent_at
    return Call(
        type=kind, message_id=call.messageId or f"sf-{uuid.uuid4()}", received_at=received_at,
        ts=correct_time(call.timestamp, sent, received_at), user_id=call.userId, anonymous_id=call.anonymousId,
        event=call.event, name=call.name, category=call.category, group_id=call.groupId,
        previous_id=call.previousId, properties=call.properties, traits=call.traits, context=call.context,
        integrations=call.integrations, original_timestamp=call.timestamp, sent_at=sent,
    )


def _size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())


def parse_calls(payload: Any, *, type_: str | None, received_at: datetime | None = None,
                body_bytes: int | None = None) -> list[Call]:
    """A decoded request body → its calls (*type_* None: ``/v1/batch``). The whole request is
    refused at its first bad call (nothing stored; the client fixes it and sends again).

    *body_bytes*: the size of the decoded body, when known; a body of at most 32 KB cannot hold
    a call over 32 KB, so its calls are not measured one by one (a quarter of the parsing time
    of a 100-call batch)."""
    small = body_bytes is not None and body_bytes <= MAX_CALL_BYTES
    received = received_at or datetime.now(UTC)
    if not isinstance(payload, dict):
        raise TrackingError("the body is not a JSON object", code="invalid_json")
    if type_ is not None:
        if not small and _size(payload) > MAX_CALL_BYTES:
            raise TrackingError(f"the call is over {MAX_CALL_BYTES // 1024} KB", code="message_too_large")
        return [normalise(payload, type_=type_, received_at=received, where="")]
    items = payload.get("batch")
    if not isinstance(items, list):
        raise TrackingError("a batch needs a list 'batch'", code="invalid_call", path="batch")
    try:
        sent = parse_time(payload.get("sentAt"))
    except (ValueError, TypeError):
        raise TrackingError("sentAt is not a time", code="invalid_call", path="sentAt") from None
    calls = []
    for i, item in enumerate(items):
        if not small and _size(item) > MAX_CALL_BYTES:
            raise TrackingError(f"batch[{i}] is over {MAX_CALL_BYTES // 1024} KB", code="message_too_large",
                                path=f"batch[{i}]")
        calls.append(normalise(item, type_=None, received_at=received, where=f"batch[{i}]", sent_at=sent))
    return calls

