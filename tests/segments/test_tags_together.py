"""Segments and rule tags refreshed together: order across both kinds, cycles refused, the worker."""

from __future__ import annotations

import pytest
from segshop import T1, T2, VIEWERS, members_of

from segflow.definitions.plan import apply, make_plan
from segflow.errors import SegflowError
from segflow.segments.refresh import refresh
from segflow.workspace import Workspace


def _tagged(ws: Workspace, tag: str) -> set[str]:
    return {r[0] for r in ws.warehouse.con.execute(
        "SELECT profile_id FROM tag_assignments WHERE tag = ?", [tag]).fetchall()}


def _write(ws: Workspace, rel: str, text: str) -> None:
    path = ws.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_segment_tag_segment_chain_runs_in_order(shop: Workspace) -> None:
    # viewers (segment) → behavior/bj_viewer (tag, reads viewers) → bj_tagged (segment, reads the tag)
    _write(shop, "segments/viewers.yaml", VIEWERS)
    _write(shop, "tags/behavior/bj_viewer.yaml",
           "rule:\n  all:\n    - {segment: viewers}\n    - {attr: city, eq: Beijing}\n")
    _write(shop, "segments/a_bj_tagged.yaml", "rule: {tag: behavior/bj_viewer}\n")
    result = apply(shop, as_of=T1)
    order = [(r.kind, r.name) for r in result.refreshed]
    assert order == [("segment", "viewers"), ("tag", "behavior/bj_viewer"), ("segment", "a_bj_tagged")]
    assert all(r.status == "ok" for r in result.refreshed)
    assert _tagged(shop, "behavior/bj_viewer") == {"p1", "p4"}
    assert members_of(shop, "a_bj_tagged") == {"p1", "p4"}
    results = refresh(shop, as_of=T2)
    assert [r.name for r in results] == ["viewers", "behavior/bj_viewer", "a_bj_tagged"]
    assert members_of(shop, "a_bj_tagged") == {"p4", "p6"}
    tag_run = next(r for r in results if r.kind == "tag")
    assert (tag_run.members, tag_run.entered, tag_run.exited) == (2, 1, 1)


def test_a_cycle_through_a_tag_is_refused_with_its_path(shop: Workspace) -> None:
    _write(shop, "segments/s.yaml", "rule: {any: [{attr: city, eq: X}, {tag: loop/t}]}\n")
    _write(shop, "tags/loop/t.yaml", "rule: {segment: s}\n")
    with pytest.raises(SegflowError) as info:
        make_plan(shop)
    message = str(info.value)
    assert "cycle" in message and "segment s" in message and "tag loop/t" in message
    assert "rule.any[1].tag" in message or "rule.segment" in message
