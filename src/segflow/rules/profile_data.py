"""One profile's data as plain Python: what the single-profile evaluator reads.

:class:`ProfileData` holds everything a rule can look at for one profile (see the
"Data each leaf reads" list in :mod:`segflow.rules.ast`): the profile row, its account,
its events, orders (each with its ``items``), memberships, subscriptions, tag
assignments, segment memberships and computed traits. Rows are dicts keyed by the
warehouse column names; timestamps are timezone-aware ``datetime`` values, dates are
``date``, decimals ``Decimal``, list attributes ``list[str]`` and JSON columns
(``properties``, ``attrs``) parsed into dicts.

:func:`fetch_profile_data` reads it from a DuckDB warehouse connection::

    >>> data = fetch_profile_data(ws.warehouse.con, "p1")   # doctest: +SKIP
    >>> data.profile["city"], len(data.events)               # doctest: +SKIP
    ('Beijing', 42)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError

if TYPE_CHECKING:
    import duckdb

__all__ = ["ProfileData", "fetch_profile_data"]

#: Bookkeeping column of the warehouse tables, not data (warehouse/duckdb.py).
_LOAD_ID = "_load_id"
#: JSON columns, stored as text, handed over parsed.
_JSON_COLUMNS = ("properties", "attrs")


@dataclass(slots=True)
class ProfileData:
    """Everything a rule can read about one profile.

    ``events``: dicts with at least ``event``, ``ts`` and ``properties`` (a dict);
    ``orders``: dicts with the orders columns and ``items`` (a list of order_items rows);
    ``tags``: dicts with ``tag``, ``value``, ``assigned_at``, ``expires_at``;
    ``traits``: trait name → materialised value.
    """

    profile: dict[str, Any]
    account: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    segments: set[str] = field(default_factory=set)
    traits: dict[str, Any] = field(default_factory=dict)

    @property
    def profile_id(self) -> str:
        return str(self.profile["profile_id"])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor.fetchall():
        row = {name: value for name, value in zip(names, values) if name != _LOAD_ID}
        for col in _JSON_COLUMNS:
            if col in row:
                row[col] = _parse_json(row[col])
        out.append(row)
    return out


def _parse_json(text: Any) -> dict[str, Any]:
    if text is None:
        return {}
    value = json.loads(text) if isinstance(text, str) else text
    return value if isinstance(value, dict) else {}


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def fetch_profile_data(con: duckdb.DuckDBPyConnection, profile_id: str) -> ProfileData:
    """Read one profile's data from a DuckDB warehouse (tables of :mod:`segflow.warehouse.duckdb`).

    Raises :class:`~segflow.errors.QueryError` (code ``unknown_profile``) when the
    ``profiles`` table has no row *profile_id*. Rows stamped after any as-of time are
    returned too: the evaluator ignores them, so one fetch serves every as-of time.
    """
    profiles = _rows(con, "SELECT * FROM profiles WHERE profile_id = ?", [profile_id])
    if not profiles:
        raise QueryError(f"no profile {profile_id!r} in the warehouse", code="unknown_profile", path=profile_id)
    profile = profiles[0]
    account = None
    if profile.get("account_id") is not None:
        accounts = _rows(con, "SELECT * FROM accounts WHERE account_id = ?", [profile["account_id"]])
        account = accounts[0] if accounts else None

    events = _rows(con, "SELECT * FROM events WHERE profile_id = ? ORDER BY ts", [profile_id])
    orders = _rows(con, "SELECT * FROM orders WHERE profile_id = ? ORDER BY ts, order_id", [profile_id])
    items = _rows(
        con,
        "SELECT i.* FROM order_items i WHERE i.order_id IN (SELECT order_id FROM orders WHERE profile_id = ?) "
        "ORDER BY i.order_id, i.sku",
        [profile_id],
    )
    by_order: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_order.setdefault(item["order_id"], []).append(item)
    for order in orders:
        order["items"] = by_order.get(order["order_id"], [])

    memberships = _rows(con, "SELECT * FROM memberships WHERE profile_id = ?", [profile_id])
    subscriptions = _rows(con, "SELECT * FROM subscriptions WHERE profile_id = ?", [profile_id])

    tags: list[dict[str, Any]] = []
    segments: set[str] = set()
    traits: dict[str, Any] = {}
    if _table_exists(con, "tag_assignments"):
        tags = _rows(
            con,
            "SELECT tag, value, source, assigned_at, expires_at FROM tag_assignments WHERE profile_id = ? "
            "ORDER BY tag, assigned_at",
            [profile_id],
        )
    if _table_exists(con, "segment_members"):
        segments = {r["segment"] for r in _rows(con, "SELECT segment FROM segment_members WHERE profile_id = ?", [profile_id])}
    if _table_exists(con, "traits"):
        rows = _rows(con, "SELECT * FROM traits WHERE profile_id = ?", [profile_id])
        if rows:
            traits = {k: v for k, v in rows[0].items() if k != "profile_id"}

    return ProfileData(
        profile=profile,
        account=account,
        events=events,
        orders=orders,
        memberships=memberships,
        subscriptions=subscriptions,
        tags=tags,
        segments=segments,
        traits=traits,
    )
