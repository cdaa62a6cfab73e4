"""Shared state of one generation run and the numeric event representation.

The simulation produces events as parallel numpy arrays (a :class:`Batch`): an
event type code, an epoch-second timestamp, a profile index, an anonymous-id index,
channel/source codes and a few numeric property slots. :mod:`.render` turns a batch
into the final string columns with one DuckDB query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import vocab
from .catalog import Calendar, Campaigns, Catalog
from .links import Links
from .people import Persons
from .profiles import Profiles

__all__ = ["ET", "EVENT_TYPES", "Batch", "World", "batch", "concat", "take", "uid"]

EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "view_product",
    "add_to_cart",
    "checkout",
    "order_paid",
    "login",
    "app_open",
    "search",
    "email_sent",
    "email_delivered",
    "email_opened",
    "email_clicked",
    "sms_sent",
    "coupon_received",
    "coupon_redeemed",
    "return_requested",
    "wechat_follow",
    "identify",
)
ET = {name: i for i, name in enumerate(EVENT_TYPES)}

#: Source system code of each session channel (web -> shop, app, wechat, store -> pos).
CHANNEL_SOURCE = np.array([vocab.SHOP, vocab.APP, vocab.WECHAT, vocab.POS])
#: Channel code of each profile source (shop -> web, app, wechat, crm -> web, pos -> store).
SOURCE_CHANNEL = np.array(
    [vocab.CH_WEB, vocab.CH_APP, vocab.CH_WECHAT, vocab.CH_WEB, vocab.CH_STORE]
)

#: Numeric columns of a batch and their fill value (ids: 0 = none; real ids are negative).
FIELDS: dict[str, tuple[type, int]] = {
    "et": (np.int8, 0),
    "ts": (np.int64, 0),
    "prof": (np.int64, -1),
    "aid": (np.int64, -1),
    "ch": (np.int8, 0),
    "src": (np.int8, 0),
    "cat": (np.int16, -1),
    "sku": (np.int32, -1),
    "price": (np.int64, 0),
    "qty": (np.int16, 0),
    "order": (np.int64, 0),
    "amount": (np.int64, 0),
    "cur": (np.int8, 0),
    "coupon": (np.int64, 0),
    "campaign": (np.int32, -1),
    "aux": (np.int16, 0),
    "aux2": (np.int32, 0),
    "store": (np.int8, -1),
}

Batch = dict[str, np.ndarray]


@dataclass
class World:
    """Everything the chunked event simulation reads (built once per run)."""

    seed: int
    start: int
    end: int
    persons: Persons
    profiles: Profiles
    links: Links
    catalog: Catalog
    calendar: Calendar
    campaigns: Campaigns
    campaign_names: pa.Array  # e-mail, then SMS, then coupon campaign names
    n_visitors: int
    tz: np.ndarray  # per person: UTC offset hours of their city
    currency: np.ndarray  # per person: index into vocab.CURRENCIES
    online_profile: np.ndarray  # per person: earliest shop/app/wechat profile, -1 if none
    id_key: int  # xor key of the id scrambler (derived from the seed)

    @property
    def sms_offset(self) -> int:
        return len(self.campaigns.email_name)

    @property
    def coupon_offset(self) -> int:
        return len(self.campaigns.email_name) + len(self.campaigns.sms_name)


def batch(n: int, **cols: np.ndarray | int) -> Batch:
    """A batch of ``n`` events; columns not given take their fill value."""
    out: Batch = {}
    for name, (dtype, fill) in FIELDS.items():
        v = cols.pop(name, fill)
        out[name] = np.broadcast_to(np.asarray(v), (n,)).astype(dtype, copy=True)
    if cols:
        raise KeyError(f"unknown event fields: {sorted(cols)}")
    return out


def concat(batches: list[Batch]) -> Batch:
    """Concatenate batches column by column."""
    return {name: np.concatenate([b[name] for b in batches]) for name in FIELDS}


def take(b: Batch, idx: np.ndarray) -> Batch:
    """Rows ``idx`` of a batch."""
    return {name: col[idx] for name, col in b.items()}


def uid(chunk: int, n: int, key: int) -> np.ndarray:
    """``n`` unique scrambled 64-bit ids for items created in ``chunk``."""
    from .util import mix64

    seq = (np.uint64(chunk) << np.uint64(32)) | np.arange(n, dtype=np.uint64)
    return mix64(seq, key)
