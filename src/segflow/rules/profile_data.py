"""One profile's data as plain Python: what the single-profile evaluator reads.

:class:`ProfileData` holds everything a rule can look at for one profile (see the
"Data each leaf reads" list in :mod:`segflow.rules.ast`): the profile row, its account,
its events, orders (each with its ``items``), memberships, subscriptions, tag
assignments, segment memberships and computed traits. Rows are dicts keyed by the
warehouse column names; timestamps are timezone-aware ``datetime`` values, dates are
``date``, decimals ``Decimal``, list attributes ``list[str]`` and JSON columns
(``properties``, ``attrs``) parsed into dicts.

:func:`fetch_profile_data` reads it from a DuckDB warehouse connection::

    >>> data = fetch_profile_data(ws.warehouse, "p1")   # doctest: +SKIP
    >>> data.profile["city"], len(data.events)               # doctest: +SKIP
    ('Beijing', 42)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["ProfileData", "fetch_profile_data", "fetch_profiles_data"]

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


def _rows(con: Warehouse, sql: str, params: list[Any]) -> list[dict[str, Any]]:
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


def _table_exists(con: Warehouse, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])


def fetch_profile_data(con: Warehouse, profile_id: str) -> ProfileData:
    """Read one profile's data from a DuckDB warehouse (tables of :mod:`segflow.warehouse.duckdb`).

    Raises :class:`~segflow.errors.QueryError` (code ``unknown_profile``) when the
    ``profiles`` table has no row *profile_id*. Rows stamped after any as-of time are
    returned too: the evaluator ignores them, so one fetch serves every as-of time.
    """
    found = fetch_profiles_data(con, [profile_id])
    if profile_id not in found:
        raise QueryError(f"no profile {profile_id!r} in the warehouse", code="unknown_profile", path=profile_id)
    return found[profile_id]


def fetch_profiles_data(con: Warehouse, profile_ids: list[str]) -> dict[str, ProfileData]:
    """:func:`fetch_profile_data` for many profiles at once: one scan per table whatever
    their number (a table not sorted by profile is read whole for one profile as for a
    thousand). Ids without a ``profiles`` row are left out of the result.
    """
    ids = list(dict.fromkeys(profile_ids))
    if not ids:
        return {}
    con.execute("CREATE OR REPLACE TEMP TABLE _fetch_ids AS SELECT unnest(?::VARCHAR[]) AS profile_id", [ids])
    try:
        return _fetch(con)
    finally:
        con.execute("DROP TABLE IF EXISTS _fetch_ids")


def _grouped(rows: list[dict[str, Any]], key: str = "profile_id") -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return out


def _fetch(con: Warehouse) -> dict[str, ProfileData]:
    wanted = "profile_id IN (SELECT profile_id FROM _fetch_ids)"
    profiles = {r["profile_id"]: r for r in _rows(con, f"SELECT * FROM profiles WHERE {wanted}", [])}
    if not profiles:
        return {}
    accounts = {r["account_id"]: r for r in _rows(
        con, f"SELECT * FROM accounts WHERE account_id IN (SELECT account_id FROM profiles WHERE {wanted})", [])}
    events = _grouped(_rows(con, f"SELECT * FROM events WHERE {wanted} ORDER BY profile_id, ts", []))
    orders = _grouped(_rows(con, f"SELECT * FROM orders WHERE {wanted} ORDER BY profile_id, ts, order_id", []))
    items = _grouped(_rows(
        con,
        f"SELECT i.* FROM order_items i WHERE i.order_id IN (SELECT order_id FROM orders WHERE {wanted}) "
        "ORDER BY i.order_id, i.sku",
        [],
    ), "order_id")
    for rows in orders.values():
        for order in rows:
            order["items"] = items.get(order["order_id"], [])
    memberships = _grouped(_rows(con, f"SELECT * FROM memberships WHERE {wanted}", []))
    subscriptions = _grouped(_rows(con, f"SELECT * FROM subscriptions WHERE {wanted}", []))
    tags: dict[Any, list[dict[str, Any]]] = {}
    segments: dict[Any, list[dict[str, Any]]] = {}
    traits: dict[Any, list[dict[str, Any]]] = {}
    if _table_exists(con, "tag_assignments"):
        tags = _grouped(_rows(
            con,
            f"SELECT profile_id, tag, value, source, assigned_at, expires_at FROM tag_assignments WHERE {wanted} "
            "ORDER BY profile_id, tag, assigned_at",
            [],
        ))
    if _table_exists(con, "segment_members"):
        segments = _grouped(_rows(con, f"SELECT profile_id, segment FROM segment_members WHERE {wanted}", []))
    if _table_exists(con, "traits"):
        traits = _grouped(_rows(con, f"SELECT * FROM traits WHERE {wanted}", []))

    out = {}
    for pid, profile in profiles.items():
        trait_rows = traits.get(pid)
        account_id = profile.get("account_id")
        out[pid] = ProfileData(
            profile=profile,
            account=accounts.get(account_id) if account_id is not None else None,
            events=events.get(pid, []),
            orders=orders.get(pid, []),
            memberships=memberships.get(pid, []),
            subscriptions=subscriptions.get(pid, []),
            tags=[{k: v for k, v in t.items() if k != "profile_id"} for t in tags.get(pid, [])],
            segments={r["segment"] for r in segments.get(pid, [])},
            traits={k: v for k, v in trait_rows[0].items() if k != "profile_id"} if trait_rows else {},
        )
    return out
