"""Stable person ids: which source id names each person, and when that id was born.

A person's canonical id is one of its source ids. It is chosen once and kept:

* a person that already has an id keeps it when records join it (a WeChat follower
  known only by an ``identities`` row who later registers keeps the follower's id; the
  member record maps to it);
* when two people merge, the id born first survives — born = the run in which it first
  became a canonical id (``person_ids.born_run``); between ids born in the same run, the
  documented rule decides: a record with a ``profiles`` row, then the earliest
  ``created_at`` (none last), then the smallest id;
* a person with no id yet — new records, or a part split off (a value crossing the junk
  cap, ``--undo-merge``) that holds no surviving id — gets one by that same rule.

Full and incremental runs choose alike: a full run recomputes the components but keeps
every id that still names a person. So ids depend on the order records arrived in (the
partition does not: any batching gives the same persons).

``person_ids(canonical_id, born_run, born_at)`` has one row per id that ever named a
person; it is only ever appended to, so an id that names a person again after a split
keeps its first birth. A warehouse resolved before the table existed gets it from
``profile_map`` (the earliest ``run_id`` and ``resolved_at`` per canonical id) the first
time identity resolution opens it (:func:`ensure_person_ids`).

Cost: choosing among the old ids is one more LEFT JOIN in the window that names each
person, against ``_idr_alive`` — the scope's sources that named a person before the run
(a few thousand rows on an incremental run). Their births are read once per run from
``person_ids`` for the scope's sources only (``_idr_born``); the rows that map the scope
before the run (``_idr_oldmap``) are kept by the scope step, which reads them anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from segflow.warehouse import tables
from segflow.warehouse.tables import PERSON_IDS, PROFILE_MAP, SOURCE_PROFILES

if TYPE_CHECKING:
    from segflow.warehouse.base import Warehouse

__all__ = ["ensure_person_ids", "name_persons", "record_births"]


def ensure_person_ids(wh: Warehouse) -> bool:
    """Create ``person_ids`` when missing, filled from ``profile_map`` (a warehouse resolved
    before stable ids: each canonical id is born in the earliest run its rows name).
    Idempotent: the table and its rows are written in one transaction, only when the
    table does not exist. Returns whether it was created."""
    if wh.table_exists(PERSON_IDS):
        return False
    with wh.transaction():
        tables.ensure(wh, PERSON_IDS)
        if wh.table_exists(PROFILE_MAP):
            wh.execute(
                f"INSERT INTO {PERSON_IDS} SELECT canonical_id, min(run_id), min(resolved_at) "
                f"FROM {PROFILE_MAP} GROUP BY canonical_id"
            )
    return True


def name_persons(wh: Warehouse, labels: str, *, full: bool) -> None:
    """``_idr_newmap(source_id, canonical_id)`` for every source of ``_idr_codes``, from
    *labels* (``code, label``: the component of each source code).

    The old mapping of the scope is ``_idr_oldmap`` (an incremental run; a full run reads
    ``profile_map``, all of it in scope).
    """
    old = PROFILE_MAP if full else "_idr_oldmap"
    born = PERSON_IDS if full else "_idr_born"
    if not full:
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE _idr_born AS SELECT p.canonical_id, p.born_run FROM {PERSON_IDS} p "
            f"SEMI JOIN _idr_scope s ON s.source_id = p.canonical_id"
        )
    # The ids that named a person before this run (a source that is its own person's id).
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_alive AS SELECT o.source_id, b.born_run FROM {old} o "
        f"LEFT JOIN {born} b ON b.canonical_id = o.source_id WHERE o.canonical_id = o.source_id"
    )
    # One window per component: an old id first (the earliest born), then the rule.
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE _idr_newmap AS SELECT c.source_id, first_value(c.source_id) OVER (PARTITION BY "
        f"l.label ORDER BY (a.source_id IS NULL), a.born_run ASC NULLS LAST, (s.profile_id IS NULL), "
        f"s.created_at ASC NULLS LAST, c.source_id) AS canonical_id "
        f"FROM _idr_codes c JOIN {labels} l USING (code) LEFT JOIN {SOURCE_PROFILES} s ON s.profile_id = c.source_id "
        f"LEFT JOIN _idr_alive a ON a.source_id = c.source_id"
    )


def record_births(wh: Warehouse, run_id: int, at: datetime, *, full: bool) -> int:
    """Add the ids this run gave for the first time to ``person_ids``; return how many."""
    born = PERSON_IDS if full else "_idr_born"
    return int(wh.scalar(
        f"INSERT INTO {PERSON_IDS} SELECT n.canonical_id, ?, ? FROM _idr_newmap n "
        f"WHERE n.canonical_id = n.source_id AND NOT EXISTS "
        f"(SELECT 1 FROM {born} b WHERE b.canonical_id = n.canonical_id)",
        [run_id, at],
    ) or 0)
