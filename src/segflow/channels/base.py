"""What a channel is: the message handed to it, what it answers, and the protocol.

The journey engine writes one outbox row per message, keyed
``journey:profile_id:occurrence:node``; the delivery step renders the template into an
:class:`OutMessage` carrying that key and calls :meth:`Channel.send`. A channel never
raises for a problem of one message (a refused recipient, a server that is down): it
answers a :class:`Delivery` whose ``status`` says what the outbox does next —

* ``sent``: the provider accepted the message (``provider_id``: its id, e.g. the Message-ID);
* ``temporary``: try again later (a 4xx reply, a refused or dropped connection, a timeout);
* ``permanent``: give up (a 5xx reply, no address).

Only a channel that cannot be opened at all (see :mod:`segflow.channels.providers`) raises,
a :class:`~segflow.errors.ChannelError`, before any message is handed to it.

Because the key is stable, a message handed over again after a crash carries the same
idempotency key; for email that is the same ``Message-ID`` (:func:`message_id`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["SENT", "TEMPORARY", "PERMANENT", "STATUSES", "Channel", "Delivery", "OutMessage", "message_id", "one_line"]

SENT = "sent"
TEMPORARY = "temporary"
PERMANENT = "permanent"
STATUSES = (SENT, TEMPORARY, PERMANENT)


@dataclass(frozen=True)
class OutMessage:
    """One rendered message for one profile."""

    #: The outbox key ``journey:profile_id:occurrence:node``: the idempotency key.
    key: str
    #: The channel's name as configured (``email``, ``sms``, ``push``, ``file``, ...).
    channel: str
    #: The address (email address, phone number, device token ...); None for the file channel.
    to: str | None
    subject: str | None
    text: str | None
    html: str | None
    #: journey, node, template, profile_id, topic, ... (written by the file channel; free for providers).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """What a channel answered for one message."""

    #: ``sent`` | ``temporary`` (retry later) | ``permanent`` (give up).
    status: str
    #: The provider's id of the message (the Message-ID for email).
    provider_id: str | None = None
    #: One line: why it was not sent.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SENT

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "provider_id": self.provider_id, "error": self.error}


@runtime_checkable
class Channel(Protocol):
    """A way out for messages. Implementations connect lazily (on the first :meth:`send`)
    and may keep a connection open across messages until :meth:`close`."""

    #: The channel's name as configured.
    name: str
    #: The profile column giving a message's ``to`` (``email``, ``phone``); None: no address.
    address_attribute: str | None

    def send(self, message: OutMessage) -> Delivery: ...

    def close(self) -> None: ...


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of the message with outbox *key*: the same key always gives the
    same id, so a receiving system can drop a message handed over twice.

    >>> message_id("winback:p1:1:coupon_email", "shop.example")
    '<c1c1a84ffb82945cc5042774ece59bc5@shop.example>'
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain or 'segflow.invalid'}>"


def one_line(text: object) -> str:
    """*text* as one line (what :attr:`Delivery.error` holds)."""
    return " ".join(str(text).split())
