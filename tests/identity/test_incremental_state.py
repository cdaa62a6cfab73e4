"""What incremental runs keep between runs (each anonymous id's person, the junk values)
gives the same results as recomputing, and is rebuilt for a warehouse resolved before it existed."""

from __future__ import annotations

from typing import Any

import pytest
from identity_helpers import Feed, groups

from segflow.identity.resolve import resolve_identities
from segflow.workspace import Workspace

T1, T2, T3 = "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"
EVENTS = "SELECT event_id, profile_id, _source_profile_id FROM events ORDER BY event_id"


def _rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.warehouse.con.execute(sql).fetchall()]


def test_an_anonymous_id_becoming_shared_detaches_and_rejoins_its_older_events(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "a@x.cn", "created_at": T1},
                      {"profile_id": "C", "email": "c@x.cn", "created_at": T2}])
    feed("identities", [{"profile_id": "A", "type": "anonymous_id", "value": "dev-1"}])
    feed("events", [{"event_id": "e1", "anonymous_id": "dev-1", "event": "view", "ts": T1},
                    {"event_id": "e2", "anonymous_id": "dev-2", "event": "view", "ts": T1}])
    resolve_identities(ws)
    assert _rows(ws, EVENTS) == [("e1", "A", ""), ("e2", None, None)]
    assert _rows(ws, "SELECT * FROM anonymous_attached") == [("dev-1", "A")]
    # C logs in on the same device: dev-1 is now on two people, its events go back to anonymous.
    feed("events", [{"event_id": "e3", "profile_id": "C", "anonymous_id": "dev-1", "event": "login", "ts": T2}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental" and summary.anonymous_ambiguous == 1
    assert _rows(ws, EVENTS) == [("e1", None, None), ("e2", None, None), ("e3", "C", None)]
    assert _rows(ws, "SELECT count(*) FROM anonymous_attached") == [(0,)]
    # A and C turn out to be one person: dev-1 is on one person again.
    feed("identities", [{"profile_id": "C", "type": "email", "value": "a@x.cn"}])
    resolve_identities(ws)
    assert _rows(ws, EVENTS) == [("e1", "A", ""), ("e2", None, None), ("e3", "A", "C")]
    assert _rows(ws, "SELECT * FROM anonymous_attached") == [("dev-1", "A")]


@pytest.mark.parametrize("dropped", [["anonymous_attached"], ["identity_junk"], ["anonymous_attached", "identity_junk"]],
                         ids=["anonymous", "junk", "both"])
def test_tables_missing_from_an_older_warehouse_are_rebuilt(ws: Workspace, feed: Feed, dropped: list[str]) -> None:
    shared = [{"profile_id": f"S{i:02d}", "phone": "13900001111", "created_at": T1} for i in range(11)]
    feed("profiles", [{"profile_id": "A", "email": "a@x.cn", "created_at": T1}, *shared])
    feed("identities", [{"profile_id": "A", "type": "anonymous_id", "value": "dev-1"}])
    feed("events", [{"event_id": "e1", "anonymous_id": "dev-1", "event": "view", "ts": T1}])
    resolve_identities(ws)
    for table in dropped:
        ws.warehouse.con.execute(f"DROP TABLE {table}")
    feed("profiles", [{"profile_id": "B", "email": "A@x.cn", "phone": "13900001111", "created_at": T3}])
    feed("events", [{"event_id": "e2", "anonymous_id": "dev-1", "event": "view", "ts": T3}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    assert {frozenset({"A", "B"})} <= groups(ws) and all(len(g) == 1 for g in groups(ws) if "S00" in g)
    assert _rows(ws, EVENTS) == [("e1", "A", ""), ("e2", "A", "")]
    assert _rows(ws, "SELECT * FROM anonymous_attached") == [("dev-1", "A")]
    assert _rows(ws, "SELECT type, value, sources FROM identity_junk") == [("phone", "+8613900001111", 12)]
    assert resolve_identities(ws, full=True).junk == [{"type": "phone", "value": "+8613900001111", "sources": 12}]
