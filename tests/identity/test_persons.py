"""The person lookup over ``profile_map`` (segflow.identity.persons), before and after resolution."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from identity_helpers import Feed

from segflow.identity import persons
from segflow.identity.persons import PERSON, RECORD, known_ids_sql, person_of, persons_sql, resolved
from segflow.identity.resolve import undo_merge
from segflow.warehouse.tables import SEGMENT_MEMBERS, TAG_ASSIGNMENTS
from segflow.workspace import Workspace

GIVEN = ["A", "B", "C", "ghost"]
_QUERIES_MAP = re.compile(r"\b(FROM|JOIN)\s+profile_map\b", re.IGNORECASE)


@pytest.fixture
def shop(ws: Workspace, feed: Feed) -> Workspace:
    """A (older) and B share an e-mail: one person, canonical A, once resolved. C is someone else."""
    feed("profiles", [
        {"profile_id": "A", "email": "ann@x.cn", "created_at": "2021-01-01T00:00:00Z"},
        {"profile_id": "B", "email": "ANN@x.cn", "created_at": "2022-01-01T00:00:00Z"},
        {"profile_id": "C", "phone": "13812340009", "created_at": "2023-01-01T00:00:00Z"},
    ])
    ws.warehouse.execute("CREATE OR REPLACE TEMP TABLE _given AS SELECT unnest(?::VARCHAR[]) AS profile_id", [GIVEN])
    return ws


def _mapped(ws: Workspace) -> list[tuple[str, str, str | None]]:
    return ws.warehouse.rows(f"SELECT profile_id, {PERSON}, {RECORD} FROM ({persons_sql('_given')}) ORDER BY 1")


def _known(ws: Workspace, *, resolved: bool) -> list[str]:
    return sorted({r[0] for r in ws.warehouse.rows(known_ids_sql(resolved=resolved))})


def test_before_resolution_every_id_is_its_own_person(shop: Workspace) -> None:
    wh = shop.warehouse
    assert not resolved(wh)
    assert not resolved(wh, TAG_ASSIGNMENTS)
    assert [person_of(wh, i) for i in GIVEN] == [None] * 4
    assert _known(shop, resolved=False) == ["A", "B", "C"]


def test_an_empty_map_maps_nothing(shop: Workspace) -> None:
    # The identity tables exist (a `profile show` before any resolve creates them), no run yet.
    from segflow.identity.store import ensure_identity_tables

    ensure_identity_tables(shop.warehouse)
    assert resolved(shop.warehouse) and resolved(shop.warehouse, SEGMENT_MEMBERS)
    assert _mapped(shop) == [("A", "A", None), ("B", "B", None), ("C", "C", None), ("ghost", "ghost", None)]
    assert person_of(shop.warehouse, "B") is None


def test_after_resolution_a_merged_record_stands_for_its_person(shop: Workspace) -> None:
    shop.resolve()
    wh = shop.warehouse
    assert resolved(wh)
    assert resolved(wh, TAG_ASSIGNMENTS) and resolved(wh, SEGMENT_MEMBERS)
    assert not resolved(wh, "profiles")  # profiles is never re-keyed: no record column
    assert [person_of(wh, i) for i in GIVEN] == ["A", "A", "C", None]
    assert _mapped(shop) == [("A", "A", None), ("B", "A", "B"), ("C", "C", None), ("ghost", "ghost", None)]
    assert _known(shop, resolved=True) == ["A", "B", "C"]
    assert _known(shop, resolved=False) == ["A", "C"]  # B's profile row is merged into A's


def test_undo_gives_the_record_back_its_own_person(shop: Workspace) -> None:
    shop.resolve()
    undo_merge(shop, "B")
    assert person_of(shop.warehouse, "B") == "B"
    assert _mapped(shop)[1] == ("B", "B", None)


def test_persons_sql_keeps_the_source_columns_and_takes_another_id_column(shop: Workspace) -> None:
    shop.resolve()
    shop.warehouse.execute("CREATE OR REPLACE TEMP TABLE _pairs AS SELECT 'B' AS who, 7 AS n")
    rows = shop.warehouse.rows(f"SELECT * FROM ({persons_sql('_pairs', 'who')})")
    assert rows == [("B", 7, "A", "B")]


def test_no_package_but_identity_queries_profile_map() -> None:
    """Other packages look persons up through these helpers, never with a join of their own."""
    src = Path(persons.__file__).resolve().parents[1]
    readers = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                     if p.relative_to(src).parts[0] not in ("identity", "warehouse")
                     and _QUERIES_MAP.search(p.read_text(encoding="utf-8")))
    assert readers == []
    assert _QUERIES_MAP.search("x LEFT JOIN profile_map m ON m.source_id = x.profile_id")
