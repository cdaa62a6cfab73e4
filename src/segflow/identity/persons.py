"""The person an id stands for, after identity resolution: the one lookup over ``profile_map``.

After ``segflow resolve``, ``profile_map(source_id, canonical_id)`` maps every source
record's id to its person's canonical id. An id a user gives (``segflow segment add``,
``segflow tags assign`` / ``remove``, ``segflow profile show``) may be a merged record's:
it stands for its person. Every place that turns given ids into persons uses these
helpers instead of writing the join itself:

* :func:`resolved` — whether there is a mapping to follow (and the table written to
  keeps the record column ``_source_profile_id``);
* :func:`persons_sql` — the rows of a table or query with their person and, when the
  id given was a merged record's, that record;
* :func:`known_ids_sql` — every id a profile answers to;
* :func:`person_of` — the canonical id of one id;
* :func:`lookup` — the person one id a user gave stands for (a profile's id, or a merged
  record's, naming the record in :attr:`Person.resolved_from`), None when it is neither;
* :func:`merged_records` — in one query, the ids of a list that are merged records', with
  their persons (what a bulk command reports: ``shop_000123 was merged into app_000045``).

    >>> persons_sql("_ids")  # doctest: +NORMALIZE_WHITESPACE
    'SELECT g.*, coalesce(m.canonical_id, g.profile_id) AS _person, CASE WHEN m.canonical_id <> g.profile_id
    THEN g.profile_id END AS _record FROM _ids AS g LEFT JOIN profile_map AS m ON m.source_id = g.profile_id'

Before the first resolve (no ``profile_map``) an id is its own person; the SQL builders
assume the mapping exists, so callers ask :func:`resolved` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segflow.identity.store import MAP, SOURCE_COL

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["PERSON", "RECORD", "Person", "known_ids_sql", "lookup", "merged_note", "merged_records", "person_of",
           "persons_sql", "resolved"]

#: The column :func:`persons_sql` adds: the person (canonical id) of the row's id.
PERSON = "_person"
#: The column :func:`persons_sql` adds: the id given, when it is a merged record's (else NULL).
RECORD = "_record"


def resolved(wh: Warehouse, table: str | None = None) -> bool:
    """Whether identity resolution keeps a person map (``profile_map`` exists), so an id may
    be a merged record's, standing for its person.

    With *table*: also whether resolution re-keys *table*, i.e. it has the record column
    ``_source_profile_id``, where a row written through a merged record's id names it.
    """
    # The table's columns first: one catalogue query answers "no" for a table without the column.
    if table is not None and SOURCE_COL not in wh.columns(table):
        return False
    return wh.table_exists(MAP)


def persons_sql(source: str, column: str = "profile_id") -> str:
    """Every row of *source* (a table name or a parenthesised query) with two more columns:
    :data:`PERSON`, the person its *column* stands for (the id itself when
    ``profile_map`` does not know it), and :data:`RECORD`, the id when it is a merged
    record's (mapped to another id), else NULL."""
    col = f"g.{column}"
    return (
        f"SELECT g.*, coalesce(m.canonical_id, {col}) AS {PERSON}, "
        f"CASE WHEN m.canonical_id <> {col} THEN {col} END AS {RECORD} "
        f"FROM {source} AS g LEFT JOIN {MAP} AS m ON m.source_id = {col}"
    )


def known_ids_sql(*, resolved: bool) -> str:
    """One column, ``profile_id``: every id a profile answers to — its own and, after
    resolution (*resolved*, see :func:`resolved`), the id of every record merged into it.
    A record's id can appear twice (a person's canonical id is also a source id)."""
    if resolved:
        return f"SELECT profile_id FROM profiles UNION ALL SELECT source_id FROM {MAP}"
    return "SELECT profile_id FROM profiles"


def person_of(wh: Warehouse, ident: str) -> str | None:
    """The canonical id of the person *ident* (a source id or a canonical id) belongs to;
    None when ``profile_map`` does not know it (or does not exist: not resolved yet)."""
    if not wh.table_exists(MAP):
        return None
    found = wh.scalar(f"SELECT canonical_id FROM {MAP} WHERE source_id = ?", [ident])
    return None if found is None else str(found)


def merged_note(record: str, person: str) -> str:
    """What a command says when it acted on *person* for the merged record *record*."""
    return f"{record} was merged into {person}"


@dataclass(frozen=True)
class Person:
    """The person an id a user gave stands for: :attr:`id` is the profile acted on;
    :attr:`resolved_from` is the id given when it was a merged record's (else None)."""

    id: str
    resolved_from: str | None = None

    @property
    def note(self) -> str | None:
        """``shop_000123 was merged into app_000045``, or None when the id was the person's own."""
        return None if self.resolved_from is None else merged_note(self.resolved_from, self.id)


def lookup(wh: Warehouse, ident: str) -> Person | None:
    """The person *ident* stands for: its person when ``profile_map`` knows it (a merged
    record's id names the record in ``resolved_from``), else *ident* itself when it is a
    profile (not resolved yet, or loaded since), else None: no profile answers to it."""
    person = person_of(wh, ident)
    if person is not None:
        return Person(person, None if person == ident else ident)
    if wh.table_exists("profiles") and wh.count("SELECT count(*) FROM profiles WHERE profile_id = ?", [ident]):
        return Person(ident)
    return None


def merged_records(wh: Warehouse, source: str, column: str = "profile_id") -> dict[str, str]:
    """The ids in *column* of *source* (a table or a parenthesised query) that are merged
    records', each with its person: one query over the whole list, empty before resolution."""
    if not wh.table_exists(MAP):
        return {}
    rows = wh.rows(f"SELECT DISTINCT {RECORD}, {PERSON} FROM ({persons_sql(source, column)}) AS p "
                   f"WHERE {RECORD} IS NOT NULL ORDER BY 1")
    return {str(record): str(person) for record, person in rows}
