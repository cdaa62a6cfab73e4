"""Message channels: how a journey's messages leave (email over SMTP, a JSON-lines file, ...).

    >>> channels = open_channels(ctx.config, ctx.root)             # doctest: +SKIP
    >>> channels["email"].send(OutMessage(key="winback:p1:1:coupon", channel="email",
    ...     to="ann@example.com", subject="Hi", text="...", html=None, meta={}))   # doctest: +SKIP
    Delivery(status='sent', provider_id='<...@shop.example>', error=None)

Modules: :mod:`~segflow.channels.base` (the protocol, messages, deliveries, Message-IDs),
:mod:`~segflow.channels.providers` (``segflow.yaml`` → channels), one module per provider
(:mod:`~segflow.channels.email`, :mod:`~segflow.channels.file`) and
:mod:`~segflow.channels.policy` (the consent check at send time). See docs/channels.md.
"""

from __future__ import annotations

from segflow.channels.base import (
    PERMANENT,
    SENT,
    TEMPORARY,
    Channel,
    Delivery,
    OutMessage,
    message_id,
)
from segflow.channels.providers import STANDARD_CHANNELS, configured_channels, open_channels

__all__ = [
    "PERMANENT",
    "SENT",
    "STANDARD_CHANNELS",
    "TEMPORARY",
    "Channel",
    "Delivery",
    "OutMessage",
    "configured_channels",
    "message_id",
    "open_channels",
]
