"""Segment members and tags follow merges, one row per person, and split back on undo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from identity_helpers import Feed

from segflow.definitions.plan import apply
from segflow.identity.resolve import undo_merge
from segflow.segments.query import changes
from segflow.segments.refresh import refresh
from segflow.segments.static import add_members, remove_members
from segflow.tags.assign import assign_tags, remove_tags
from segflow.workspace import Workspace

C1, C2, C3 = "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"
D1, D2, D3, D4 = (datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 3, 4))
MEMBERS = "SELECT segment, profile_id, entered_at, _source_profile_id FROM segment_members ORDER BY ALL"
PLAIN = "SELECT segment, profile_id, entered_at, NULL FROM segment_members ORDER BY ALL"
TAGS = ("SELECT profile_id, tag, value, source, assigned_at, expires_at, _source_profile_id "
        "FROM tag_assignments ORDER BY ALL")


def _rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.warehouse.con.execute(sql).fetchall()]


def _define(ws: Workspace, name: str, text: str) -> None:
    (ws.root / "segments" / f"{name}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def pair(ws: Workspace, feed: Feed) -> Workspace:
    """A (older) and B share an e-mail: one person, canonical A. C is someone else, for now."""
    feed("profiles", [
        {"profile_id": "A", "email": "ann@x.cn", "city": "", "created_at": C1},
        {"profile_id": "B", "email": "ANN@x.cn", "city": "Shanghai", "created_at": C2},
        {"profile_id": "C", "phone": "13812340009", "city": "Shanghai", "created_at": C3},
    ])
    _define(ws, "picks", "type: static\n")
    _define(ws, "shanghai", "rule: {attr: city, eq: Shanghai}\n")
    apply(ws, refresh=False)
    return ws


@pytest.mark.parametrize(("adds", "merged"), [
    ([("B", D1), ("A", D2)], [("picks", "A", D1, "B")]),
    ([("A", D1), ("B", D2)], [("picks", "A", D1, None)]),
    ([("B", D1)], [("picks", "A", D1, "B")]),
], ids=["source-entered-first", "canonical-entered-first", "only-the-merged-source"])
def test_static_members_follow_the_merge_and_split_back(pair: Workspace, adds, merged) -> None:  # type: ignore[no-untyped-def]
    for pid, when in adds:
        add_members(pair, "picks", [pid], at=when)
    before = _rows(pair, PLAIN)
    pair.resolve()
    assert _rows(pair, MEMBERS) == merged
    assert pair.preview({"segment": "picks"}).count == 1
    undo_merge(pair, "B")
    assert _rows(pair, MEMBERS) == before  # every original row back, under its own record
    assert pair.preview({"segment": "picks"}).count == len(adds)
    assert _rows(pair, "SELECT count(*) FROM identity_folded_segment_members") == [(0,)]


def test_a_record_joining_later_refolds_and_undo_of_it_keeps_the_earlier_fold(pair: Workspace, feed: Feed) -> None:
    add_members(pair, "picks", ["C"], at=D1)
    add_members(pair, "picks", ["A"], at=D2)
    add_members(pair, "picks", ["B"], at=D3)
    pair.resolve()
    assert _rows(pair, MEMBERS) == [("picks", "A", D2, None), ("picks", "C", D1, None)]
    feed("identities", [{"profile_id": "C", "type": "email", "value": "ann@x.cn"}])
    pair.resolve()
    assert _rows(pair, MEMBERS) == [("picks", "A", D1, "C")]
    assert _rows(pair, "SELECT count(*) FROM identity_folded_segment_members") == [(3,)]
    undo_merge(pair, "C")
    assert _rows(pair, MEMBERS) == [("picks", "A", D2, None), ("picks", "C", D1, None)]
    undo_merge(pair, "B")
    assert _rows(pair, MEMBERS) == [("picks", "A", D2, None), ("picks", "B", D3, None), ("picks", "C", D1, None)]


def test_a_member_removed_after_the_merge_does_not_come_back_on_undo(pair: Workspace) -> None:
    add_members(pair, "picks", ["A", "B"], at=D1)
    pair.resolve()
    result = remove_members(pair, "picks", ["A"], at=D2)
    assert result.diff.exited == 1 and _rows(pair, MEMBERS) == []
    undo_merge(pair, "B")
    assert _rows(pair, MEMBERS) == []
    assert _rows(pair, "SELECT count(*) FROM identity_folded_segment_members") == [(0,)]


def test_dynamic_refresh_after_a_merge_records_no_spurious_exit_or_entry(pair: Workspace) -> None:
    # Before resolution B and C live in Shanghai; A has no city (B's value wins after the merge).
    first = refresh(pair, names=["shanghai"], as_of=D1)[0]
    assert (first.members, first.entered, first.exited) == (2, 2, 0)
    pair.resolve()
    assert _rows(pair, MEMBERS) == [("shanghai", "A", D1, "B"), ("shanghai", "C", D1, None)]
    again = refresh(pair, names=["shanghai"], as_of=D2)[0]
    assert (again.members, again.entered, again.exited) == (2, 0, 0)
    assert sorted((c["profile_id"], c["change"]) for c in changes(pair, "shanghai").to_pylist()) == [("B", "entered"), ("C", "entered")]
    undo_merge(pair, "B")  # A's own row has no city: after the split only B and C qualify
    assert _rows(pair, MEMBERS) == [("shanghai", "B", D1, None), ("shanghai", "C", D1, None)]
    third = refresh(pair, names=["shanghai"], as_of=D3)[0]
    assert (third.members, third.entered, third.exited) == (2, 0, 0)


def test_both_records_members_of_a_dynamic_segment_become_one_member(pair: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "ann@x.cn", "city": "Shanghai", "created_at": C1}])
    refresh(pair, names=["shanghai"], as_of=D1)
    pair.resolve()
    assert _rows(pair, MEMBERS) == [("shanghai", "A", D1, None), ("shanghai", "C", D1, None)]
    again = refresh(pair, names=["shanghai"], as_of=D2)[0]
    assert (again.members, again.entered, again.exited) == (2, 0, 0)


def test_tags_of_two_records_fold_earliest_assigned_latest_expiry(pair: Workspace) -> None:
    assign_tags(pair, "vip", ["B"], value="silver", at=D1, expires=D3)
    assign_tags(pair, "vip", ["A"], value="gold", at=D2, expires=D4)
    assign_tags(pair, "vip", ["A"], value="gold", at=D2, source="model")
    assign_tags(pair, "churn", ["A"], at=D1)
    assign_tags(pair, "churn", ["B"], at=D2)  # no expiry: it outlives any date
    before = _rows(pair, TAGS.replace("_source_profile_id", "NULL"))
    pair.resolve()
    assert _rows(pair, TAGS) == [
        ("A", "churn", None, "manual", D1, None, None),
        ("A", "vip", "gold", "manual", D1, D4, "B"),  # first assigned D1 (B), latest value and expiry (A)
        ("A", "vip", "gold", "model", D2, None, None),
    ]
    assert pair.preview({"tag": "vip"}).count == 1
    pair.resolve(full=True)  # a full run finds the same
    assert len(_rows(pair, TAGS)) == 3
    undo_merge(pair, "B")
    assert _rows(pair, TAGS) == before


@pytest.mark.parametrize(("given", "row"), [
    (["B"], ("picks", "A", D1, "B")),
    (["B", "A"], ("picks", "A", D1, None)),
    (["A"], ("picks", "A", D1, None)),
], ids=["merged-record", "both-records", "canonical"])
def test_static_add_after_resolve_takes_a_merged_record_as_its_person(pair: Workspace, given, row) -> None:  # type: ignore[no-untyped-def]
    pair.resolve()
    result = add_members(pair, "picks", given, at=D1)
    assert (result.unknown, result.diff.entered, result.diff.members) == ([], 1, 1)
    assert _rows(pair, MEMBERS) == [row]
    assert add_members(pair, "picks", ["B"], at=D2).unchanged == 1
    undo_merge(pair, "B")  # the member follows the record it was added by
    assert _rows(pair, MEMBERS) == [("picks", "B" if row[3] else "A", D1, None)]


def test_static_remove_by_a_merged_record_removes_its_person(pair: Workspace) -> None:
    add_members(pair, "picks", ["A"], at=D1)
    pair.resolve()
    assert remove_members(pair, "picks", ["B"], at=D2).diff.exited == 1
    assert _rows(pair, MEMBERS) == []


def test_a_tag_assigned_again_after_the_merge_stays_with_the_canonical_record_on_undo(pair: Workspace) -> None:
    assign_tags(pair, "vip", ["B"], value="silver", at=D1)
    assign_tags(pair, "vip", ["A"], value="gold", at=D2)
    pair.resolve()
    assert _rows(pair, TAGS) == [("A", "vip", "gold", "manual", D1, None, "B")]
    assign_tags(pair, "vip", ["A"], value="platinum", at=D3)  # a change made to the person
    undo_merge(pair, "B")
    assert _rows(pair, TAGS) == [("A", "vip", "platinum", "manual", D3, None, None)]
    assert _rows(pair, "SELECT count(*) FROM identity_folded_tag_assignments") == [(0,)]


def test_tags_assigned_by_a_merged_record_go_to_its_person_and_split_back(pair: Workspace) -> None:
    pair.resolve()
    result = assign_tags(pair, "vip", ["B", "nobody"], value="gold", at=D1)
    assert (result.added, result.unknown) == (1, ["nobody"])
    assert _rows(pair, TAGS) == [("A", "vip", "gold", "manual", D1, None, "B")]
    assert pair.preview({"tag": "vip"}).count == 1
    again = assign_tags(pair, "vip", ["A", "B"], value="gold", at=D2)  # both ids: one person, unchanged
    assert (again.added, again.unchanged, again.unknown) == (0, 1, [])
    undo_merge(pair, "B")  # the assignment follows the record it was made through
    assert _rows(pair, TAGS) == [("B", "vip", "gold", "manual", D1, None, None)]


def test_removing_a_tag_by_a_merged_record_removes_it_from_its_person(pair: Workspace) -> None:
    assign_tags(pair, "vip", ["A"], at=D1)
    pair.resolve()
    removed = remove_tags(pair, "vip", ["B"])
    assert (removed.removed, removed.unknown, removed.not_tagged) == (1, [], 0)
    assert _rows(pair, TAGS) == []
