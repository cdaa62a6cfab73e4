"""Manual, file, model and journey assignments: sources, values, expiry, unknown ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from segflow.errors import DefinitionError, IdentityError, LoadError, QueryError
from segflow.tags import (
    assign_tags,
    read_id_file,
    refresh_tags,
    remove_tags,
    tag_summary,
    tags_overview,
)
from segflow.workspace import Workspace

from .conftest import T, assignments


def test_assign_ids_reports_unknown_ones_and_tags_the_rest(tiny: Workspace) -> None:
    result = assign_tags(tiny, "crm/key_account", ["p1", "nobody", "p2", "p1", "ghost"], at=T)
    assert (result.added, result.updated, result.unchanged, result.repeated) == (2, 0, 0, 1)
    assert result.unknown == ["nobody", "ghost"]
    stored = tiny.sql("SELECT profile_id, source, value, assigned_at, expires_at FROM tag_assignments "
                      "ORDER BY profile_id").to_pylist()
    assert [(r["profile_id"], r["source"], r["value"], r["expires_at"]) for r in stored] == [
        ("p1", "manual", None, None), ("p2", "manual", None, None)]
    assert stored[0]["assigned_at"] == T


def test_assign_from_a_csv_with_values_and_expiry(tiny: Workspace, write: Callable[[str, str], Path]) -> None:
    path = write("ids.csv", "profile_id,value,expires\np1,gold,\np2,,7d\np3,silver,2026-06-01T00:00:00Z\nzz,x,\n")
    result = assign_tags(tiny, "crm/tier", file=path, value="bronze", expires="30d", at=T)
    assert (result.added, result.unknown) == (3, ["zz"])
    rows = {r["profile_id"]: (r["value"], r["expires_at"]) for r in tiny.sql(
        "SELECT profile_id, value, expires_at FROM tag_assignments").to_pylist()}
    assert rows == {
        "p1": ("gold", T + timedelta(days=30)),
        "p2": ("bronze", T + timedelta(days=7)),
        "p3": ("silver", datetime(2026, 6, 1, tzinfo=UTC)),
    }


def test_assign_from_a_plain_list_of_ids(tiny: Workspace, write: Callable[[str, str], Path]) -> None:
    path = write("ids.txt", "# exported from the CRM\np1\n\n  p4  \n")
    assert assign_tags(tiny, "crm/list", file=path).added == 2


def test_assigning_again_updates_value_and_expiry(tiny: Workspace) -> None:
    assign_tags(tiny, "crm/tier", ["p1", "p2"], value="gold", at=T)
    later = T + timedelta(days=1)
    result = assign_tags(tiny, "crm/tier", ["p1", "p2", "p3"], value="gold", expires="10d", at=later)
    assert (result.added, result.updated, result.unchanged) == (1, 2, 0)
    same = assign_tags(tiny, "crm/tier", ["p3"], value="gold", expires=later + timedelta(days=10), at=later)
    assert (same.added, same.updated, same.unchanged) == (0, 0, 1)
    changed = assign_tags(tiny, "crm/tier", ["p1"], value="vip", expires=later + timedelta(days=10), at=later)
    assert changed.updated == 1
    rows = {r["profile_id"]: r for r in tiny.sql("SELECT * FROM tag_assignments").to_pylist()}
    assert rows["p1"]["value"] == "vip" and rows["p1"]["assigned_at"] == later  # a new value restamps
    assert rows["p2"]["assigned_at"] == T  # a new expiry alone does not


def test_the_definition_gives_the_default_expiry(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("journey/needs_follow_up", "description: set by journeys\nexpires: 14d\n")
    assign_tags(tiny, "journey/needs_follow_up", ["p1"], source="journey", at=T)
    [row] = tiny.sql("SELECT source, expires_at FROM tag_assignments").to_pylist()
    assert row == {"source": "journey", "expires_at": T + timedelta(days=14)}


def test_one_profile_may_hold_a_tag_from_several_sources(tiny: Workspace) -> None:
    assign_tags(tiny, "x/vip", ["p1"], source="manual", at=T)
    assign_tags(tiny, "x/vip", ["p1"], source="model", value="0.93", at=T)
    assert assignments(tiny) == {("p1", "x/vip", "manual"): None, ("p1", "x/vip", "model"): "0.93"}
    assert tag_summary(tiny, "x/vip", at=T)["by_source"] == {"manual": 1, "model": 1}
    assert tag_summary(tiny, "x/vip", at=T)["members"] == 1


def test_expired_assignments_stop_counting_in_rules_and_are_purged_by_refresh(
    tiny: Workspace, define: Callable[[str, str], Path]
) -> None:
    define("promo/welcome", "description: manual\n")
    assign_tags(tiny, "promo/welcome", ["p1", "p2"], expires="2d", at=T)
    rule = {"tag": "promo/welcome"}
    assert tiny.preview(rule, as_of=T + timedelta(days=1)).count == 2
    assert tiny.preview(rule, as_of=T + timedelta(days=2)).count == 0  # expires_at is exclusive
    assert tiny.preview(rule, as_of=T - timedelta(seconds=1)).count == 0  # not yet assigned
    [early] = refresh_tags(tiny, ["promo/welcome"], as_of=T + timedelta(days=1))
    assert (early.expired, early.members) == (0, 2)
    [result] = refresh_tags(tiny, ["promo/welcome"], as_of=T + timedelta(days=3))
    assert (result.source, result.expired, result.members) == ("manual", 2, 0)
    assert assignments(tiny) == {}


def test_refresh_keeps_manual_assignments_of_a_computed_tag(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    assign_tags(tiny, "member/vip", ["p2"], at=T)
    [result] = refresh_tags(tiny, as_of=T)
    assert result.members == 2
    assert set(assignments(tiny, "member/vip")) == {("p1", "member/vip", "rule"), ("p3", "member/vip", "rule"),
                                                    ("p2", "member/vip", "manual")}
    assert tiny.preview({"tag": "member/vip"}, as_of=T).count == 3


def test_remove_by_id_by_source_and_everyone(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("member/vip", "rule: {attr: member_level, eq: vip}\n")
    refresh_tags(tiny, as_of=T)
    assign_tags(tiny, "member/vip", ["p1", "p2", "p4"], at=T)
    result = remove_tags(tiny, "member/vip", ["p1", "p5", "nobody"])
    assert (result.removed, result.not_tagged, result.unknown) == (1, 1, ["nobody"])
    assert ("p1", "member/vip", "rule") in assignments(tiny)
    anything = remove_tags(tiny, "member/vip", ["p3"], source=None)
    assert anything.removed == 1
    everyone = remove_tags(tiny, "member/vip", everyone=True)
    assert everyone.removed == 2  # p2 and p4, manual
    assert set(assignments(tiny)) == {("p1", "member/vip", "rule")}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ws: assign_tags(ws, "Bad Tag", ["p1"]), DefinitionError, "'Bad Tag' is not a tag name"),
        (lambda ws: assign_tags(ws, "a/b", ["p1"], source="robot"), QueryError, "unknown tag source 'robot'"),
        (lambda ws: assign_tags(ws, "a/b", ["p1"], expires="soon"), QueryError,
         "expires: 'soon' is neither a duration"),
        (lambda ws: assign_tags(ws, "a/b", [""]), QueryError, "profile id '' is not a non-empty text"),
        (lambda ws: assign_tags(ws, "a/b", file="/nonexistent/ids.csv"), LoadError, "/nonexistent/ids.csv: no such file"),
        (lambda ws: remove_tags(ws, "a/b", ["p1"], everyone=True), QueryError, "give ids, a file, or everyone"),
    ],
    ids=["bad-name", "bad-source", "bad-expiry", "empty-id", "no-file", "ids-and-everyone"],
)
def test_bad_calls_are_refused_and_write_nothing(tiny: Workspace, call: Callable[[Workspace], object],
                                                 error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(tiny)
    assert assignments(tiny) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id\np1\n", "line 1: no profile_id column (columns: id)"),
        ("profile_id,colour\np1,red\n", "line 1: unknown column 'colour'"),
        ("profile_id,value\np1,a,b\n", "line 2: 3 cells, the header has 2"),
        ("profile_id,value\n,a\n", "line 2: empty profile_id"),
        ("profile_id,expires\np1,\np2,someday\n", "ids.csv:3: expires: 'someday' is neither a duration"),
    ],
    ids=["no-id-column", "unknown-column", "ragged-row", "empty-id", "bad-expiry"],
)
def test_bad_id_files_name_the_line(tiny: Workspace, write: Callable[[str, str], Path], text: str, message: str) -> None:
    path = write("ids.csv", text)
    with pytest.raises((LoadError, QueryError)) as info:
        assign_tags(tiny, "a/b", file=path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)
    assert assignments(tiny) == {}


def test_read_id_file_handles_bom_and_blank_lines(write: Callable[[str, str], Path]) -> None:
    path = write("ids.csv", "\ufeffprofile_id,value\r\np1,金卡\r\n\r\np2,\r\n")
    assert read_id_file(path) == [("p1", "金卡", None, 2), ("p2", None, None, 4)]


def test_overview_lists_defined_and_assigned_tags(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    define("member/vip", "label: VIP\nrule: {attr: member_level, eq: vip}\nschedule: '0 2 * * *'\n")
    refresh_tags(tiny, as_of=T)
    assign_tags(tiny, "crm/key_account", ["p4"], at=T)
    rows = {r["name"]: r for r in tags_overview(tiny, at=T)}
    assert rows["member/vip"]["members"] == 2 and rows["member/vip"]["label"] == "VIP"
    assert rows["member/vip"]["as_of"] == T and rows["member/vip"]["schedule"] == "0 2 * * *"
    assert rows["crm/key_account"]["source"] == "(undefined)" and rows["crm/key_account"]["by_source"] == {"manual": 1}
    assert [r["name"] for r in tags_overview(tiny, "crm", at=T)] == ["crm/key_account"]


def test_summary_of_an_unknown_tag_suggests_a_close_one(tiny: Workspace) -> None:
    assign_tags(tiny, "crm/key_account", ["p4"], at=T)
    with pytest.raises(DefinitionError, match=r"no tag 'crm/key_acount' is defined or assigned \(did you mean 'crm/key_account'"):
        tag_summary(tiny, "crm/key_acount")


def test_a_broken_definition_elsewhere_does_not_stop_a_manual_assignment(
    tiny: Workspace, define: Callable[[str, str], Path]
) -> None:
    define("other/broken", "kind: sometimes\n")
    assert assign_tags(tiny, "crm/key_account", ["p1"], at=T).added == 1
    define("crm/key_account", "expires: soon\n")
    with pytest.raises(DefinitionError, match=r"tags/crm/key_account.yaml: expires: 'soon' is not a duration"):
        assign_tags(tiny, "crm/key_account", ["p2"], at=T)


def test_values_of_a_manual_tag_are_checked(tiny: Workspace, define: Callable[[str, str], Path],
                                            write: Callable[[str, str], Path]) -> None:
    define("crm/tier", "values: [gold, silver]\n")
    assert assign_tags(tiny, "crm/tier", ["p1"], value="gold", at=T).added == 1
    with pytest.raises(QueryError, match=r"value: 'platinum' is not a value of tag crm/tier \(values: gold, silver\)"):
        assign_tags(tiny, "crm/tier", ["p2"], value="platinum", at=T)
    path = write("tiers.csv", "profile_id,value\np2,silver\np3,bronze\n")
    with pytest.raises(QueryError, match=r"tiers.csv:3: value: 'bronze' is not a value of tag crm/tier"):
        assign_tags(tiny, "crm/tier", file=path, at=T)
    assert set(assignments(tiny)) == {("p1", "crm/tier", "manual")}


def test_members_and_a_profile_s_tags(tiny: Workspace, define: Callable[[str, str], Path]) -> None:
    from segflow.tags import profile_tags, tag_members

    define("crm/tier", "label: 客户等级\nvalues: [gold, silver]\n")
    assign_tags(tiny, "crm/tier", ["p1", "p2"], value="gold", at=T)
    assign_tags(tiny, "crm/tier", ["p3"], value="silver", at=T, expires="1d")
    assign_tags(tiny, "crm/key_account", ["p1"], at=T)
    assert tag_members(tiny, "crm/tier", at=T).column("profile_id").to_pylist() == ["p1", "p2", "p3"]
    assert tag_members(tiny, "crm/tier", value="gold", at=T).num_rows == 2
    assert tag_members(tiny, "crm/tier", at=T + timedelta(days=2)).num_rows == 2  # p3's expired
    assert tag_members(tiny, "crm/*", at=T).num_rows == 4
    rows = profile_tags(tiny, "p1", at=T)
    assert [(r["tag"], r["label"], r["value"], r["source"]) for r in rows] == [
        ("crm/key_account", "", None, "manual"), ("crm/tier", "客户等级", "gold", "manual")]
    with pytest.raises(IdentityError, match="no profile 'nobody'"):
        profile_tags(tiny, "nobody")


@pytest.mark.parametrize(
    "ids",
    [
        {"p1": "0.91", "p2": "0.55", "nobody": "0.1"},
        (pair for pair in [("p1", "0.91"), ("p2", "0.55"), ("nobody", "0.1")]),
        "arrow",
        "pandas",
    ],
    ids=["mapping", "pairs", "arrow", "pandas"],
)
def test_model_output_with_a_value_per_profile(tiny: Workspace, ids: object) -> None:
    import pyarrow as pa

    table = pa.table({"profile_id": ["p1", "p2", "nobody"], "value": [0.91, 0.55, 0.1], "extra": [1, 2, 3]})
    given = {"arrow": table, "pandas": table.to_pandas()}.get(ids, ids) if isinstance(ids, str) else ids
    result = assign_tags(tiny, "model/propensity", given, source="model", expires="7d", at=T)
    assert (result.added, result.unknown) == (2, ["nobody"])
    assert assignments(tiny) == {("p1", "model/propensity", "model"): "0.91", ("p2", "model/propensity", "model"): "0.55"}


def test_now_is_the_project_clock_s(tiny: Workspace) -> None:
    """Without ``at``, assignments and the library's "active now" read the project's clock."""
    from segflow.clock import FixedClock
    from segflow.tags import profile_tags, tag_members

    tiny.clock = FixedClock(T)
    assign_tags(tiny, "crm/key_account", ["p1"], expires="1d")
    assert tiny.sql("SELECT assigned_at, expires_at FROM tag_assignments").to_pylist() == [
        {"assigned_at": T, "expires_at": T + timedelta(days=1)}]
    assert tag_summary(tiny, "crm/key_account")["members"] == 1
    assert [r["members"] for r in tags_overview(tiny)] == [1]
    tiny.clock = FixedClock(T + timedelta(days=2))  # expired by then
    assert tag_summary(tiny, "crm/key_account")["members"] == 0
    assert tags_overview(tiny) == []  # an assigned-only tag with no active assignment is not listed
    assert tag_members(tiny, "crm/key_account").num_rows == 0
    assert profile_tags(tiny, "p1") == []
    assert tag_summary(tiny, "crm/key_account", at=T)["members"] == 1  # an explicit time still wins
