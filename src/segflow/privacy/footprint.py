"""Everything that names one person: the ids and identifier values an export reads and an
erasure removes, and the rows of every table that hold them.

* **ids**: the canonical id and every source id mapped to it (through
  :mod:`segflow.identity.persons`; before any resolve, the profile's own id);
* **anonymous ids**: from ``anonymous_links``, ``anonymous_attached``, ``identities`` rows of
  an attach type and the ``anonymous_id`` of the person's events — only those no other
  person is linked to (a shared device's id is not this person's to erase);
* **identifier values** (type, value): from ``identities``, ``identity_index`` and the
  profile columns that are identifiers, normalised as ingest does — again only values
  no other person holds (a store's phone typed in for many customers stays);
* **order ids** of the person's orders (their ``order_items`` go with them).

A warehouse table's rows are the person's when one of its id columns (:data:`ID_COLUMNS`)
holds an id or anonymous id, or, for a table without one, its ``order_id`` is one of the
person's orders. Every table the adapter lists is read, so a table added later is covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from segflow.identity.persons import known_ids_sql, persons_sql, resolved
from segflow.privacy.suppression import identifier_sql
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["ID_COLUMNS", "Footprint", "footprint", "person_filter"]

#: Columns holding a profile, source or anonymous id.
ID_COLUMNS = ("profile_id", "source_id", "canonical_id", "anonymous_id", "_source_profile_id")
#: Temporary tables holding a footprint while a call uses it.
IDS, ORDERS = "_privacy_ids", "_privacy_orders"


@dataclass
class Footprint:
    person: str
    ids: set[str] = field(default_factory=set)
    anonymous: set[str] = field(default_factory=set)
    values: set[tuple[str, str]] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)

    @property
    def all_ids(self) -> set[str]:
        return self.ids | self.anonymous

    def texts(self) -> set[str]:
        """Every id and value, as text (what must be gone after an erasure)."""
        return self.all_ids | {v for _, v in self.values} | self.orders


def _list(wh: Warehouse, sql: str, params: list[object]) -> set[str]:
    return {str(r[0]) for r in wh.rows(sql, params) if r[0] is not None}


def footprint(ctx: ProjectContext, person: str) -> Footprint:
    """The footprint of *person* (a canonical id, see :func:`segflow.identity.profile.find_person`)."""
    wh = ctx.warehouse
    fp = Footprint(person, ids={person})
    if resolved(wh):
        fp.ids |= _list(wh, f"SELECT profile_id FROM ({persons_sql(f'({known_ids_sql(resolved=True)})')}) "
                            f"WHERE _person = ?", [person])
    ids = sorted(fp.ids)
    have = {t: wh.columns(t) for t in wh.tables()}
    attach = list(ctx.config.identity.attach_types)
    anon: set[str] = set()
    if "anonymous_links" in have:
        anon |= _list(wh, "SELECT anonymous_id FROM anonymous_links WHERE list_contains(?, source_id)", [ids])
    if "anonymous_attached" in have:
        anon |= _list(wh, "SELECT anonymous_id FROM anonymous_attached WHERE list_contains(?, canonical_id)", [ids])
    if "identities" in have:
        anon |= _list(wh, "SELECT value FROM identities WHERE list_contains(?, profile_id) AND list_contains(?, type)",
                      [ids, attach])
    if "events" in have:
        anon |= _list(wh, "SELECT anonymous_id FROM events WHERE list_contains(?, profile_id)", [ids])
    shared: set[str] = set()
    cand = sorted(anon)
    if cand:
        checks = []
        if "anonymous_links" in have:
            checks.append("SELECT anonymous_id FROM anonymous_links WHERE list_contains($a, anonymous_id) "
                          "AND NOT list_contains($i, source_id)")
        if "events" in have:
            checks.append("SELECT anonymous_id FROM events WHERE list_contains($a, anonymous_id) "
                          "AND profile_id IS NOT NULL AND NOT list_contains($i, profile_id)")
        if "identities" in have:
            checks.append("SELECT value FROM identities WHERE list_contains($a, value) AND list_contains($t, type) "
                          "AND NOT list_contains($i, profile_id)")
        if checks:
            shared = _list(wh, " UNION ".join(checks), {"a": cand, "i": ids, "t": attach})  # type: ignore[arg-type]
    fp.anonymous = anon - shared - fp.ids

    fp.values = _values(ctx, have, ids)
    if "orders" in have:
        fp.orders = _list(wh, "SELECT order_id FROM orders WHERE list_contains(?, profile_id)", [ids])
    return fp


def _values(ctx: ProjectContext, have: dict[str, dict[str, str]], ids: list[str]) -> set[tuple[str, str]]:
    """The person's identifier values no one else holds. The person's own rows are read
    normalised as ingest does; the check for other holders compares the stored (already
    normalised) values with that short list, so no table is normalised row by row."""
    wh = ctx.warehouse
    country = ctx.config.default_phone_country
    mine, others = [], []
    if "identities" in have:
        mine.append(f"SELECT type AS t, {identifier_sql('type', 'value', country)} AS v FROM identities "
                    f"WHERE list_contains($i, profile_id)")
        others.append("SELECT type, value FROM identities WHERE NOT list_contains($i, profile_id)")
    if "identity_index" in have:
        mine.append(f"SELECT type, {identifier_sql('type', 'raw', country)} FROM identity_index "
                    f"WHERE list_contains($i, source_id)")
        mine.append("SELECT type, value FROM identity_index WHERE list_contains($i, source_id)")
        others.append("SELECT type, value FROM identity_index WHERE NOT list_contains($i, source_id)")
    for table in ("profiles", "source_profiles"):
        for col, type_ in ctx.config.identity.profile_columns.items():
            if col in have.get(table, {}) and col != "profile_id":
                t = "'" + type_.replace("'", "''") + "'"
                value = identifier_sql(t, q(col) + "::VARCHAR", country)
                mine.append(f"SELECT {t}, {value} FROM {table} WHERE list_contains($i, profile_id)")
                others.append(f"SELECT {t} AS type, {q(col)}::VARCHAR AS value FROM {table} "
                              f"WHERE NOT list_contains($i, profile_id)")
    if not mine:
        return set()
    rows = wh.rows(f"SELECT DISTINCT * FROM ({' UNION ALL '.join(mine)})", {"i": ids})
    found = {(str(t), str(v)) for t, v in rows if t is not None and v is not None}
    if not found or not others:
        return found
    keys = sorted(f"{t}\x1f{v}" for t, v in found)
    shared = wh.rows(f"SELECT DISTINCT t, v FROM (SELECT type AS t, value AS v FROM ("
                     f"{' UNION ALL '.join(others)})) WHERE list_contains($k, t || chr(31) || v)",
                     {"i": ids, "k": keys})
    return found - {(str(t), str(v)) for t, v in shared}


def person_filter(wh: Warehouse, fp: Footprint, table: str) -> str | None:
    """The WHERE condition selecting *fp*'s rows of *table* (None: the table holds none).

    Reads the temporary tables :func:`stage` made."""
    cols = wh.columns(table)
    conds = [f"{q(c)} IN (SELECT id FROM {IDS})" for c in ID_COLUMNS if c in cols]
    if not conds and "order_id" in cols:
        conds.append(f"order_id IN (SELECT id FROM {ORDERS})")
    return " OR ".join(conds) or None


def stage(wh: Warehouse, fp: Footprint) -> None:
    """Put *fp*'s ids and order ids in temporary tables (:func:`person_filter` reads them)."""
    wh.temp_table(IDS, "SELECT unnest(?::VARCHAR[]) AS id", [sorted(fp.all_ids)])
    wh.temp_table(ORDERS, "SELECT unnest(?::VARCHAR[]) AS id", [sorted(fp.orders)])


def unstage(wh: Warehouse) -> None:
    wh.drop_tables(IDS, ORDERS)
