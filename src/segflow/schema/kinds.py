"""The kinds of data segflow takes in (spec/data.md) and their built-in columns.

Each kind is one warehouse table of the same name. Built-in columns have fixed
types; any other column in a file is an attribute, typed by the schema registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from segflow.schema.types import AttributeType as T

__all__ = ["Column", "Kind", "Merge", "KINDS", "kind_named", "ORDER_STATUSES", "SUBSCRIPTION_STATUSES"]


class Merge(str, Enum):
    """What a row whose key is already present does."""

    #: Immutable facts (events): a known key is a duplicate, never an update.
    INSERT_ONLY = "insert_only"
    #: Last write wins per column; a missing cell keeps the stored value (profiles).
    COALESCE = "coalesce"
    #: Last write wins for the whole row (orders: a refund changes the status).
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: T
    required: bool = False
    #: Normalisation applied before typing: "email", "phone", "lower", "identity".
    normalize: str | None = None
    #: Allowed values (after lower-casing), for enumerations such as order status.
    choices: tuple[str, ...] | None = None
    #: Value used when the cell is missing.
    default: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    merge: Merge
    description: str
    #: Columns of which at least one must be present (events: profile_id or anonymous_id).
    one_of: tuple[str, ...] = ()
    #: For replace kinds: the time column whose latest value wins (an older row changes nothing).
    latest: str | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None


ORDER_STATUSES = ("paid", "refunded", "returned", "cancelled")
SUBSCRIPTION_STATUSES = ("opted_in", "opted_out", "bounced", "complained")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "profiles",
            (
                Column("profile_id", T.STRING, required=True, label="Profile id"),
                Column("email", T.STRING, normalize="email", label="Email"),
                Column("phone", T.STRING, normalize="phone", label="Phone (E.164)"),
                Column("name", T.STRING, label="Name"),
                Column("gender", T.STRING, label="Gender"),
                Column("birthday", T.DATE, label="Birthday"),
                Column("city", T.STRING, label="City"),
                Column("province", T.STRING, label="Province"),
                Column("country", T.STRING, label="Country"),
                Column("created_at", T.TIMESTAMP, label="Created at"),
                Column("account_id", T.STRING, label="Account (B2B company)"),
                Column("member_level", T.STRING, label="Member level"),
                Column("timezone", T.STRING, label="Time zone"),
            ),
            key=("profile_id",),
            merge=Merge.COALESCE,
            description="one row per source profile; any extra column is a typed attribute",
        ),
        Kind(
            "accounts",
            (
                Column("account_id", T.STRING, required=True, label="Account id"),
                Column("name", T.STRING, label="Company name"),
                Column("industry", T.STRING, label="Industry"),
                Column("employees", T.INTEGER, label="Employees"),
                Column("annual_revenue", T.NUMBER, label="Annual revenue"),
            ),
            key=("account_id",),
            merge=Merge.COALESCE,
            description="B2B companies that profiles belong to",
        ),
        Kind(
            "identities",
            (
                Column("profile_id", T.STRING, required=True),
                Column("type", T.STRING, required=True, normalize="lower"),
                Column("value", T.STRING, required=True, normalize="identity"),
            ),
            key=("profile_id", "type", "value"),
            merge=Merge.INSERT_ONLY,
            description="identifiers of a source profile in each channel",
        ),
        Kind(
            "events",
            (
                Column("event_id", T.STRING, label="Event id (idempotency key)"),
                Column("profile_id", T.STRING),
                Column("anonymous_id", T.STRING),
                Column("event", T.STRING, required=True),
                Column("ts", T.TIMESTAMP, required=True),
                Column("properties", T.JSON),
                Column("channel", T.STRING),
                Column("source", T.STRING),
            ),
            key=("event_id",),
            merge=Merge.INSERT_ONLY,
            one_of=("profile_id", "anonymous_id"),
            description="behaviour: one row per event",
        ),
        Kind(
            "orders",
            (
                Column("order_id", T.STRING, required=True),
                Column("profile_id", T.STRING, required=True),
                Column("ts", T.TIMESTAMP, required=True),
                Column("amount", T.DECIMAL, required=True),
                Column("status", T.STRING, normalize="lower", choices=ORDER_STATUSES, default="paid"),
                Column("currency", T.STRING),
                Column("channel", T.STRING),
                Column("store", T.STRING),
            ),
            key=("order_id",),
            merge=Merge.REPLACE,
            description="transactions; a reloaded order_id replaces the row (refunds, returns)",
        ),
        Kind(
            "order_items",
            (
                Column("order_id", T.STRING, required=True),
                Column("sku", T.STRING, required=True),
                Column("quantity", T.INTEGER, required=True),
                Column("price", T.DECIMAL, required=True),
                Column("category", T.STRING),
                Column("name", T.STRING),
            ),
            key=("order_id", "sku"),
            merge=Merge.REPLACE,
            description="lines of an order",
        ),
        Kind(
            "memberships",
            (
                Column("profile_id", T.STRING, required=True),
                Column("kind", T.STRING, required=True, normalize="lower"),
                Column("key", T.STRING, required=True),
                Column("since", T.TIMESTAMP),
                Column("attrs", T.JSON),
            ),
            key=("profile_id", "kind", "key"),
            merge=Merge.REPLACE,
            description="official-account followers, WeCom customers and groups, CRM owners",
        ),
        Kind(
            "subscriptions",
            (
                Column("profile_id", T.STRING, required=True),
                Column("channel", T.STRING, required=True, normalize="lower"),
                Column("status", T.STRING, required=True, normalize="lower", choices=SUBSCRIPTION_STATUSES),
                Column("topic", T.STRING, default=""),
                Column("ts", T.TIMESTAMP),
                Column("source", T.STRING),
            ),
            key=("profile_id", "channel", "topic"),
            merge=Merge.REPLACE,
            description="consent per channel (and topic): the row with the latest ts wins",
            latest="ts",
        ),
    )
}


def kind_named(name: str) -> Kind:
    """The kind called *name*; ``KeyError`` with the list of kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r} (kinds: {', '.join(KINDS)})") from None
