"""segflow plan / apply: new, changed, removed with member counts; versions; refusals with paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from segshop import BJ_VIEWERS, T1, T2, VIEWERS, history_of, members_of

from segflow.definitions.plan import apply, make_plan
from segflow.definitions.versions import current_versions, version_history
from segflow.errors import SegflowError
from segflow.scheduler.schedules import list_schedules
from segflow.segments.definition import load_segment_definitions
from segflow.workspace import Workspace


def _actions(plan) -> dict[str, tuple]:
    return {c.name: (c.action, c.members_before, c.members_after) for c in plan.changes}


def test_plan_then_apply_then_change_then_remove(shop: Workspace, define) -> None:
    define("segments/viewers.yaml", VIEWERS + 'schedule: "0 2 * * *"\n')
    define("segments/bj_viewers.yaml", BJ_VIEWERS)
    define("segments/picks.yaml", "type: static\n")
    plan = make_plan(shop, as_of=T1)
    # bj_viewers previews against the stored (still empty) membership of viewers
    assert _actions(plan) == {"viewers": ("new", 0, 3), "bj_viewers": ("new", 0, 0), "picks": ("new", 0, 0)}
    result = apply(shop, as_of=T1)
    assert [r.name for r in result.refreshed] == ["viewers", "bj_viewers"]
    assert members_of(shop, "bj_viewers") == {"p1", "p4"}
    assert {k[1]: v for k, v in result.versions.items()} == {"viewers": 1, "bj_viewers": 1, "picks": 1}
    assert make_plan(shop, as_of=T1).pending == []
    assert apply(shop, as_of=T1).versions == {}  # nothing changed: no new version, no refresh

    define("segments/viewers.yaml", "rule: {event: view_product, within: 60d}\n")
    plan = make_plan(shop, as_of=T1)
    assert _actions(plan)["viewers"] == ("changed", 3, 4)
    assert _actions(plan)["bj_viewers"] == ("unchanged", 2, 2)
    result = apply(shop, as_of=T1)
    # the changed segment and the one reading it are refreshed
    assert [(r.name, r.members) for r in result.refreshed] == [("viewers", 4), ("bj_viewers", 2)]
    assert [v.version for v in version_history(shop.state, "segment", "viewers")] == [1, 2]
    assert version_history(shop.state, "segment", "viewers")[1].body["rule"] == {"event": "view_product",
                                                                                 "within": "60d"}
    assert list_schedules(shop.state) == []  # the new version has no schedule

    define("segments/bj_viewers.yaml", None)
    assert _actions(make_plan(shop, as_of=T2))["bj_viewers"] == ("removed", 2, 0)
    apply(shop, as_of=T2)
    assert members_of(shop, "bj_viewers") == set()
    assert [c for _, c, _ in history_of(shop, "bj_viewers")] == ["entered", "entered", "exited", "exited"]
    removed = current_versions(shop.state, "segment")[("segment", "bj_viewers")]
    assert (removed.version, removed.status) == (2, "removed")


def test_apply_creates_schedules_in_the_workspace_time_zone(shop: Workspace, define) -> None:
    define("segments/viewers.yaml", VIEWERS + 'schedule: "0 2 * * *"\n')
    define("segments/bj_viewers.yaml", BJ_VIEWERS + 'schedule: "0 2 * * *"\n')
    apply(shop, refresh=False, as_of=T1)
    rows = {s.name: s for s in list_schedules(shop.state)}
    # 02:00 in Asia/Shanghai is 18:00 UTC the day before
    assert rows["viewers"].next_run_at == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert rows["viewers"].timezone == "Asia/Shanghai"
    assert (rows["viewers"].rank, rows["bj_viewers"].rank) == (0, 1)
    assert rows["bj_viewers"].depends_on == ("segment:viewers",)


@pytest.mark.parametrize(("files", "message"), [
    ({"segments/a.yaml": "rule: {all: [{attr: city, eq: Beijing}, {attr: shoe_size, gt: 40}]}\n"},
     "segments/a.yaml: rule.all[1].attr: unknown"),
    ({"segments/a.yaml": "rule: {event: view_product, within: 7days}\n"}, "segments/a.yaml: rule.within"),
    ({"segments/a.yaml": "rule: {segment: b}\n", "segments/b.yaml": "rule: {any: [{segment: a}]}\n"},
     "rule.any[0].segment: definitions refer to each other in a cycle"),
    ({"segments/a.yaml": "rule: {segment: nope}\n"}, "segments/a.yaml: rule.segment: unknown segment 'nope'"),
    ({"segments/a.yaml": "rule: {attr: city, eq: X}\nschedule: every day\n"}, "segments/a.yaml: schedule: 'every day'"),
    ({"segments/a.yaml": "type: static\nrule: {attr: city, eq: X}\n"}, "segments/a.yaml: rule: a static segment"),
    ({"segments/a.yaml": "rule: {attr: city, eq: X}\ncolour: red\n"}, "segments/a.yaml: colour: unknown key"),
], ids=["unknown-attribute", "bad-duration", "cycle", "unknown-segment", "bad-cron", "static-with-rule",
        "unknown-key"])
def test_invalid_definitions_are_refused_with_their_path(shop: Workspace, define, files: dict[str, str],
                                                          message: str) -> None:
    define("segments/good.yaml", VIEWERS)
    for rel, text in files.items():
        define(rel, text)
    for step in (make_plan, apply):
        with pytest.raises(SegflowError) as info:
            step(shop, as_of=T1)
        assert message in str(info.value), str(info.value)
    assert current_versions(shop.state) == {}  # nothing was applied, not even the good one
    assert members_of(shop, "good") == set()


def test_every_problem_is_listed(shop: Workspace, define) -> None:
    define("segments/a.yaml", "rule: {attr: shoe_size, gt: 1}\n")
    define("segments/b.yaml", "rule: {attr: hat_size, gt: 1}\n")
    with pytest.raises(SegflowError) as info:
        make_plan(shop)
    assert [p.split(":")[0] for p in info.value.problems] == ["segments/a.yaml", "segments/b.yaml"]
    assert "(and 1 more)" in info.value.message


def test_a_bare_rule_file_is_a_dynamic_segment(shop: Workspace, define) -> None:
    define("segments/bj.yaml", "attr: city\neq: Beijing\n")
    [seg] = load_segment_definitions(shop.root).values()
    assert (seg.name, seg.type, seg.rule, seg.schedule) == ("bj", "dynamic", {"attr": "city", "eq": "Beijing"}, None)
    apply(shop, as_of=T1)
    assert members_of(shop, "bj") == {"p1", "p4", "p6"}


def test_traits_are_versioned_and_recomputed_and_their_readers_refreshed(shop: Workspace, define) -> None:
    define("traits/views.yaml", "kind: counter\nevent: view_product\nwithin: 60d\n")
    define("segments/heavy_viewers.yaml", "rule: {trait: views, gte: 2}\n")
    plan = make_plan(shop, as_of=T2)
    assert {(c.kind, c.name, c.action) for c in plan.changes} == {("trait", "views", "new"),
                                                                  ("segment", "heavy_viewers", "new")}
    # the trait is not computed yet: its reader's count after apply is unknown, not a wrong number
    assert _actions(plan)["heavy_viewers"] == ("new", 0, None)
    apply(shop, as_of=T2)
    assert members_of(shop, "heavy_viewers") == {"p3"}  # views on 1 Feb and 10 Mar
    define("traits/views.yaml", "kind: counter\nevent: view_product\nwithin: 7d\n")
    assert {c.name: c.action for c in make_plan(shop, as_of=T2).pending} == {"views": "changed"}
    result = apply(shop, as_of=T2)
    # the segment did not change, but it reads the changed trait: recomputed, then refreshed
    assert result.traits["traits"]["views"]["non_null"] > 0
    assert [(r.name, r.exited) for r in result.refreshed] == [("heavy_viewers", 1)]
    assert members_of(shop, "heavy_viewers") == set()
    assert [v.version for v in version_history(shop.state, "trait", "views")] == [1, 2]
