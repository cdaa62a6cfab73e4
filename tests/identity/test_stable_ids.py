"""Stable person ids: a person keeps its id when records join it, the older of two merging
people keeps theirs, a full run reshuffles nothing, and a warehouse resolved before
``person_ids`` existed gets it from ``profile_map``."""

from __future__ import annotations

from typing import Any

from identity_helpers import Feed, groups, partition, set_identity

from segflow.identity.resolve import resolve_identities, undo_merge
from segflow.workspace import Workspace

T0, T1, T2, T3 = "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"


def _rows(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.warehouse.con.execute(sql, params or []).fetchall()]


def _born(ws: Workspace) -> dict[str, int]:
    return dict(_rows(ws, "SELECT canonical_id, born_run FROM person_ids"))


def test_a_wechat_follower_who_registers_keeps_the_followers_id(ws: Workspace, feed: Feed) -> None:
    # A follower known only by WeChat (no profile row), with activity under that id.
    feed("identities", [{"profile_id": "wx1", "type": "wechat_unionid", "value": "U-1"}])
    feed("events", [{"event_id": "e1", "profile_id": "wx1", "event": "view", "ts": T1}])
    first = resolve_identities(ws)
    assert partition(ws) == {"wx1": "wx1"}
    assert _born(ws) == {"wx1": first.run_id}
    # The follower registers: a member record (a profile row, older created_at) with the same unionid.
    feed("profiles", [{"profile_id": "M1", "name": "Wang", "created_at": T0}])
    feed("identities", [{"profile_id": "M1", "type": "wechat_unionid", "value": "U-1"}])
    feed("orders", [{"order_id": "o1", "profile_id": "M1", "ts": T2, "amount": 5}])
    second = resolve_identities(ws)
    assert second.mode == "incremental"
    # The old rule would name the person after M1 (a profile row); the id does not churn.
    assert partition(ws) == {"wx1": "wx1", "M1": "wx1"}
    assert _rows(ws, "SELECT event_id, profile_id, _source_profile_id FROM events") == [("e1", "wx1", None)]
    assert _rows(ws, "SELECT order_id, profile_id, _source_profile_id FROM orders") == [("o1", "wx1", "M1")]
    assert _rows(ws, "SELECT profile_id, name FROM profiles") == [("wx1", "Wang")]
    assert second.remapped == 1 and second.ids_born == 0
    assert _born(ws) == {"wx1": first.run_id}


def test_when_two_people_merge_the_id_born_first_survives(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "a@x.cn", "created_at": T3}])
    resolve_identities(ws)
    # B is older by created_at but becomes a person one run later.
    feed("profiles", [{"profile_id": "B", "phone": "13700000001", "created_at": T1}])
    feed("orders", [{"order_id": "oB", "profile_id": "B", "ts": T2, "amount": 7}])
    feed("events", [{"event_id": "eB", "anonymous_id": "dev-b", "event": "view", "ts": T2},
                    {"event_id": "eB2", "profile_id": "B", "anonymous_id": "dev-b", "event": "login", "ts": T2}])
    resolve_identities(ws)
    assert partition(ws) == {"A": "A", "B": "B"}
    assert _rows(ws, "SELECT event_id, profile_id FROM events ORDER BY 1") == [("eB", "B"), ("eB2", "B")]
    feed("profiles", [{"profile_id": "BR", "email": "a@x.cn", "phone": "137-0000-0001", "created_at": T0}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    assert partition(ws) == {"A": "A", "B": "A", "BR": "A"}
    # B's rows, its anonymous events included, follow into the older person.
    assert _rows(ws, "SELECT order_id, profile_id, _source_profile_id FROM orders") == [("oB", "A", "B")]
    assert _rows(ws, "SELECT event_id, profile_id FROM events ORDER BY 1") == [("eB", "A"), ("eB2", "A")]
    assert _rows(ws, "SELECT profile_id, created_at::VARCHAR FROM profiles") == [("A", "2020-01-01 00:00:00+00")]


def test_a_full_run_keeps_every_id(ws: Workspace, feed: Feed) -> None:
    feed("identities", [{"profile_id": "wx1", "type": "wechat_unionid", "value": "U-1"}])
    feed("profiles", [{"profile_id": "A", "email": "a@x.cn", "created_at": T3}])
    resolve_identities(ws)
    feed("profiles", [{"profile_id": "M1", "created_at": T0}, {"profile_id": "B", "phone": "13700000001", "created_at": T1},
                      {"profile_id": "C", "email": "A@x.cn", "created_at": T0}])
    feed("identities", [{"profile_id": "M1", "type": "wechat_unionid", "value": "U-1"}])
    resolve_identities(ws)
    ids = partition(ws)
    assert ids == {"wx1": "wx1", "M1": "wx1", "A": "A", "C": "A", "B": "B"}
    born = _born(ws)
    profiles = _rows(ws, "SELECT * EXCLUDE (_load_id) FROM profiles ORDER BY 1")
    assert resolve_identities(ws, full=True).mode == "full"
    assert partition(ws) == ids
    assert _rows(ws, "SELECT * EXCLUDE (_load_id) FROM profiles ORDER BY 1") == profiles
    set_identity(ws, junk_cap=20)  # changed settings: the next run is a full one
    summary = resolve_identities(ws)
    assert summary.mode == "full" and summary.ids_born == 0
    assert partition(ws) == ids
    assert _born(ws) == born


def test_a_part_split_off_without_a_surviving_id_is_named_by_the_rule(ws: Workspace, feed: Feed) -> None:
    feed("identities", [{"profile_id": "wx1", "type": "wechat_unionid", "value": "U-1"}])
    resolve_identities(ws)
    feed("profiles", [{"profile_id": "M1", "phone": "13700000002", "created_at": T2},
                      {"profile_id": "M2", "phone": "137 0000 0002", "created_at": T1}])
    feed("identities", [{"profile_id": "M1", "type": "wechat_unionid", "value": "U-1"}])
    resolve_identities(ws)
    assert partition(ws) == {"wx1": "wx1", "M1": "wx1", "M2": "wx1"}
    undo = undo_merge(ws, "wx1")
    # wx1 keeps its id; M1 and M2 have none of their own: the oldest record (M2) names them.
    assert partition(ws) == {"wx1": "wx1", "M1": "M2", "M2": "M2"}
    assert _born(ws)["M2"] == undo.run_id
    assert _rows(ws, "SELECT profile_id FROM profiles") == [("M2",)]


def test_person_ids_are_built_from_profile_map_for_a_warehouse_resolved_before(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "a@x.cn", "created_at": T3}])
    first = resolve_identities(ws)
    feed("profiles", [{"profile_id": "B", "phone": "13700000001", "created_at": T1},
                      {"profile_id": "B2", "phone": "13700000001", "created_at": T2}])
    second = resolve_identities(ws)
    # A warehouse from before stable ids: no person_ids table.
    ws.warehouse.con.execute("DROP TABLE person_ids")
    feed("profiles", [{"profile_id": "BR", "email": "a@x.cn", "phone": "13700000001", "created_at": T0}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    # Built from profile_map (each canonical id's earliest run), before this run chose: A is older.
    assert _born(ws) == {"A": first.run_id, "B": second.run_id}
    assert groups(ws) == {frozenset({"A", "B", "B2", "BR"})} and set(partition(ws).values()) == {"A"}
    # once built, never rebuilt: another run adds nothing
    resolve_identities(ws)
    assert _born(ws) == {"A": first.run_id, "B": second.run_id}
