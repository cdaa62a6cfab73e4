"""Refreshing computed tags: checks before writing, set differences, as-of, traits, history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import DefinitionError
from segflow.tags import assign_tags, refresh_tags, tag_function, tag_history
from segflow.workspace import Workspace

from .conftest import T, assignments


def test_a_rule_failing_its_check_is_refused_with_its_path_and_nothing_runs(
    tiny: Workspace, define: Callable[[str, str], Path]
) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    define("geo/bad", "rule:\n  all:\n    - {attr: cty, eq: Beijing}\n    - {trait: nope, gte: 1}\n")
    with pytest.raises(DefinitionError) as info:
        refresh_tags(tiny, as_of=T)
    lines = str(info.value).splitlines()
    assert lines[0] == "tags/geo/bad.yaml: rule.all[0].attr: unknown attribute 'cty' of profiles (did you mean 'city'?)"
    assert lines[1] == "tags/geo/bad.yaml: rule.all[1].trait: unknown trait 'nope'"
    assert info.value.path == "tags/geo/bad.yaml: rule.all[0].attr"
    assert assignments(tiny) == {}
    assert refresh_tags(tiny, ["member/vip"], as_of=T)[0].members == 2  # the good one alone runs


def test_unknown_names_and_read_only_workspaces_are_refused(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    with pytest.raises(DefinitionError, match=r"no tag 'member/vipp' in tags/ \(tags: member/vip\)"):
        refresh_tags(tiny, ["member/vipp"])
    tiny.close()
    with segflow.open(tiny.root, read_only=True) as ro, pytest.raises(segflow.errors.QueryError, match="read-only"):
        refresh_tags(ro)


def test_set_difference_counts_over_time(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("lifecycle/buyer_30d", "rule: {orders: {within: 30d}}\n")
    define("geo/city", "cases:\n  - {value: north, rule: {attr: city, eq: Beijing}}\n"
                       "  - {value: east, rule: {attr: city, in: [上海, Beijing]}}\n")
    first = {r.name: r for r in refresh_tags(tiny, as_of=T)}
    assert (first["lifecycle/buyer_30d"].members, first["lifecycle/buyer_30d"].added) == (1, 1)
    assert {p: v for (p, _, _), v in assignments(tiny, "geo/city").items()} == {"p1": "north", "p4": "north", "p2": "east"}
    # Two weeks later p1's order of Feb 20 is still inside; five weeks later it is not.
    later = {r.name: r for r in refresh_tags(tiny, as_of=T + timedelta(days=35))}
    assert (later["lifecycle/buyer_30d"].members, later["lifecycle/buyer_30d"].removed) == (0, 1)
    assert (later["geo/city"].added, later["geo/city"].removed, later["geo/city"].changed) == (0, 0, 0)
    tiny.warehouse.con.execute("UPDATE profiles SET city = '上海' WHERE profile_id = 'p4'")
    again = {r.name: r for r in refresh_tags(tiny, ["geo/city"], as_of=T)}
    assert (again["geo/city"].changed, again["geo/city"].members) == (1, 3)
    assert assignments(tiny, "geo/city")[("p4", "geo/city", "rule")] == "east"


def test_kept_members_keep_their_tagged_since_and_a_backfill_moves_it_back(
    tiny: Workspace, define: Callable[[str, str], Path]
) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    refresh_tags(tiny, as_of=T)
    refresh_tags(tiny, as_of=T + timedelta(days=1))
    stamps = {r["assigned_at"] for r in tiny.sql("SELECT assigned_at FROM tag_assignments").to_pylist()}
    assert stamps == {T}
    earlier = T - timedelta(days=10)
    refresh_tags(tiny, as_of=earlier)
    assert tiny.preview({"tag": "member/vip"}, as_of=earlier).count == 2


def test_tags_using_traits_refresh_them_as_of_the_same_time(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    (tiny.root / "traits").mkdir(exist_ok=True)
    (tiny.root / "traits" / "orders_30d.yaml").write_text("kind: counter\nsource: orders\nwithin: 30d\n", encoding="utf-8")
    define("value/recent_buyer", "rule: {trait: orders_30d, gte: 1}\n")
    [now] = refresh_tags(tiny, as_of=T)
    assert now.members == 1
    [later] = refresh_tags(tiny, as_of=T + timedelta(days=40))
    assert later.members == 0
    stored = tiny.sql("SELECT as_of FROM trait_state WHERE name = 'orders_30d'").to_pylist()
    assert stored == [{"as_of": T + timedelta(days=40)}]


def test_tags_can_use_segments_stored_membership(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    tiny.warehouse.con.execute("INSERT INTO segment_members VALUES ('big_spenders', 'p2', ?)", [T])
    define("value/big", "rule: {segment: big_spenders}\n")
    [result] = refresh_tags(tiny, as_of=T)
    assert result.members == 1
    from segflow.tags import load_tag_definitions

    assert load_tag_definitions(tiny.root)["value/big"].depends_on == {"big_spenders"}


def test_history_records_every_run(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    refresh_tags(tiny, as_of=T)
    refresh_tags(tiny, as_of=T + timedelta(days=1))
    history = tag_history(tiny, "member/vip")
    assert [(h["as_of"], h["members"], h["added"], h["error"]) for h in history] == [
        (T + timedelta(days=1), 2, 0, None), (T, 2, 2, None)]
    assert history[0]["fingerprint"] and history[0]["seconds"] >= 0


def test_progress_is_reported_per_tag(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("a/one", "rule: {attr: member_level, eq: vip}\n")
    define("a/two", "rule: {tag: a/one}\n")
    seen: list[tuple[str, int, int]] = []
    refresh_tags(tiny, as_of=T, progress=lambda name, done, total: seen.append((name, done, total)))
    assert seen == [("a/one", 0, 2), ("a/two", 1, 2)]


# -- property: a refresh leaves exactly the new set, and counts the difference ------------------

_IDS = ["p1", "p2", "p3", "p4", "p5", "ghost"]
_CURRENT: dict[str, dict[str, str | None]] = {"value": {}}


@tag_function("test_property_members")
def _members(ws: Workspace, as_of: datetime) -> dict[str, str | None]:
    return _CURRENT["value"]


_member_sets = st.lists(st.dictionaries(st.sampled_from(_IDS), st.sampled_from([None, "a", "b"]), max_size=6),
                        min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=_member_sets, manual=st.sets(st.sampled_from(_IDS[:5]), max_size=3))
def test_refresh_writes_the_set_difference(tiny: Workspace, define: Callable[[str, str], Path],
                                           sets: list[dict[str, str | None]], manual: set[str]) -> None:
    tiny.warehouse.con.execute("DELETE FROM tag_assignments")
    define("prop/members", "python: test_property_members\n")
    assign_tags(tiny, "prop/members", sorted(manual), value="by hand", at=T)
    before: dict[str, str | None] = {}
    for i, wanted in enumerate(sets):
        _CURRENT["value"] = wanted
        known = {p: v for p, v in wanted.items() if p != "ghost"}
        [r] = refresh_tags(tiny, as_of=T + timedelta(hours=i))
        assert r.error is None
        assert r.added == len(known.keys() - before.keys())
        assert r.removed == len(before.keys() - known.keys())
        assert r.changed == sum(1 for p in known.keys() & before.keys() if known[p] != before[p])
        assert (r.members, r.unknown) == (len(known), int("ghost" in wanted))
        stored = assignments(tiny, "prop/members")
        assert {p: v for (p, _, s), v in stored.items() if s == "python"} == known
        assert {p for (p, _, s) in stored if s == "manual"} == manual
        before = known


def test_naming_a_tag_refreshes_it_alone_unless_with_used(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("a/base", "rule: {attr: member_level, eq: vip}\n")
    define("a/top", "rule: {all: [{tag: a/base}, {attr: city, eq: Beijing}]}\n")
    assert [r.name for r in refresh_tags(tiny, ["a/top"], as_of=T)] == ["a/top"]
    assert assignments(tiny, "a/top") == {}  # a/base had not been computed yet
    results = refresh_tags(tiny, ["a/top"], as_of=T, with_used=True)
    assert [(r.name, r.members) for r in results] == [("a/base", 2), ("a/top", 1)]
