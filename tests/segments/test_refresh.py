"""Refreshing dynamic segments: membership, entered/exited history, failures, dependency order."""

from __future__ import annotations

import pytest
from segshop import BJ_VIEWERS, T1, T2, VIEWERS, history_of, members_of

from segflow.definitions.plan import apply
from segflow.segments.refresh import refresh
from segflow.segments.runs import list_runs
from segflow.workspace import Workspace


def test_refresh_writes_members_and_the_entered_exited_diff(shop: Workspace, define) -> None:
    define("viewers", VIEWERS)
    apply(shop, refresh=False)
    [first] = refresh(shop, ["viewers"], as_of=T1)
    assert (first.status, first.members, first.entered, first.exited) == ("ok", 3, 3, 0)
    assert members_of(shop, "viewers") == {"p1", "p2", "p4"}
    [second] = refresh(shop, ["viewers"], as_of=T2)
    assert (second.members, second.entered, second.exited) == (4, 2, 1)
    assert members_of(shop, "viewers") == {"p2", "p3", "p4", "p6"}
    assert history_of(shop, "viewers") == [
        ("p1", "entered", T1), ("p2", "entered", T1), ("p4", "entered", T1),
        ("p3", "entered", T2), ("p6", "entered", T2), ("p1", "exited", T2),
    ]
    entered_at = dict(shop.warehouse.con.execute(
        "SELECT profile_id, entered_at FROM segment_members WHERE segment = 'viewers'").fetchall())
    assert entered_at["p2"].timestamp() == T1.timestamp() and entered_at["p6"].timestamp() == T2.timestamp()
    runs = list_runs(shop.state, kind="segment", name="viewers")
    assert [(r.status, r.members, r.entered, r.exited, r.trigger) for r in runs] == [
        ("ok", 4, 2, 1, "manual"), ("ok", 3, 3, 0, "manual")]
    run_ids = {r[0] for r in shop.warehouse.con.execute(
        "SELECT DISTINCT run_id FROM segment_history WHERE changed_at = ?", [T2]).fetchall()}
    assert run_ids == {runs[0].id}


def test_refreshing_twice_at_the_same_time_changes_nothing(shop: Workspace, define) -> None:
    define("viewers", VIEWERS)
    apply(shop, refresh=False)
    refresh(shop, ["viewers"], as_of=T1)
    [again] = refresh(shop, ["viewers"], as_of=T1)
    assert (again.members, again.entered, again.exited) == (3, 0, 0)
    assert len(history_of(shop, "viewers")) == 3


def test_segments_are_refreshed_in_dependency_order(shop: Workspace, define) -> None:
    # bj_viewers sorts before viewers by name but reads it: viewers must run first.
    define("viewers", VIEWERS)
    define("bj_viewers", BJ_VIEWERS)
    apply(shop, refresh=False)
    results = refresh(shop, as_of=T1)
    assert [r.name for r in results] == ["viewers", "bj_viewers"]
    assert members_of(shop, "bj_viewers") == {"p1", "p4"}
    refresh(shop, as_of=T2)
    assert members_of(shop, "bj_viewers") == {"p4", "p6"}


def test_a_failing_refresh_keeps_the_previous_members_and_records_the_error(
        shop: Workspace, define, monkeypatch: pytest.MonkeyPatch) -> None:
    import segflow.segments.refresh as mod

    define("viewers", VIEWERS)
    define("bj_viewers", BJ_VIEWERS)
    apply(shop, refresh=False)
    refresh(shop, as_of=T1)

    def broken(ws, ctx, seg, as_of):  # fails at run time, inside the transaction
        return "SELECT CAST(city AS INTEGER)::VARCHAR AS profile_id FROM profiles"

    monkeypatch.setattr(mod, "compile_segment", broken)
    results = refresh(shop, as_of=T2)
    assert [(r.name, r.status) for r in results] == [("viewers", "failed"), ("bj_viewers", "skipped")]
    assert "Could not convert" in results[0].error
    assert "viewers" in results[1].error
    assert members_of(shop, "viewers") == {"p1", "p2", "p4"}
    assert members_of(shop, "bj_viewers") == {"p1", "p4"}
    assert len(history_of(shop, "viewers")) == 3
    [last, *_] = list_runs(shop.state, kind="segment", name="viewers")
    assert (last.status, last.members) == ("failed", None) and "Could not convert" in last.error


@pytest.mark.parametrize(("names", "code"), [
    (["nope"], "unknown_segment"),
    (["picks"], "static_segment"),
], ids=["unknown", "static"])
def test_refresh_refuses_unknown_and_static_segments(shop: Workspace, define, names, code) -> None:
    from segflow.errors import SegflowError

    define("picks", "type: static\n")
    apply(shop, refresh=False)
    with pytest.raises(SegflowError) as info:
        refresh(shop, names, as_of=T1)
    assert info.value.code == code
    assert repr(names[0]) in info.value.message


def test_an_unapplied_file_is_pointed_at_apply(shop: Workspace, define) -> None:
    from segflow.errors import SegflowError

    define("viewers", VIEWERS)
    with pytest.raises(SegflowError, match="run segflow apply"):
        refresh(shop, ["viewers"], as_of=T1)


def test_upstream_refreshes_what_a_segment_reads_first(shop: Workspace, define) -> None:
    define("viewers", VIEWERS)
    define("bj_viewers", BJ_VIEWERS)
    apply(shop, refresh=False)
    [only] = refresh(shop, ["bj_viewers"], as_of=T1)
    assert (only.name, only.members) == ("bj_viewers", 0)  # viewers was never refreshed: empty
    results = refresh(shop, ["bj_viewers"], as_of=T1, upstream=True)
    assert [(r.name, r.members) for r in results] == [("viewers", 3), ("bj_viewers", 2)]
