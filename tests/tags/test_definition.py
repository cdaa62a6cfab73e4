"""Tag definitions: names, sources, schedules, expiry, cycles; every problem with its file and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from segflow.errors import DefinitionError
from segflow.tags import check_tag_name, load_tag_definitions, parse_tag
from segflow.tags.definition import refresh_order


def write(root: Path, rel: str, text: str) -> None:
    path = root / "tags" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", ["vip", "lifecycle/churn_risk", "rfm/score/r", "b2b/top-100", "a1/b_2", "中文",
                                  "生命周期/沉睡用户", "сегменты/лояльные"], ids=str)
def test_good_names(name: str) -> None:
    assert check_tag_name(name) == name


@pytest.mark.parametrize("name", ["", "VIP", "a//b", "/a", "a/", "a b", "a/*", "_x", "中 文", "Лояльные", "a:b", "a" * 201, 5],
                         ids=["empty", "upper", "double-slash", "leading-slash", "trailing-slash", "space", "star",
                              "underscore-first", "chinese-space", "cyrillic-upper", "colon", "too-long", "number"])
def test_bad_names(name: object) -> None:
    with pytest.raises(DefinitionError, match="is not a tag name") as info:
        check_tag_name(name)
    assert info.value.code == "bad_tag_name"


def test_name_comes_from_the_path_under_tags(tmp_path: Path) -> None:
    write(tmp_path, "lifecycle/churn_risk.yaml", "rule: {orders: {count: {gte: 2}}}\n")
    write(tmp_path, "vip.yml", "description: set by sales\n")
    write(tmp_path, "other.yaml", "name: crm/key_account\n")
    tags = load_tag_definitions(tmp_path)
    assert sorted(tags) == ["crm/key_account", "lifecycle/churn_risk", "vip"]
    churn = tags["lifecycle/churn_risk"]
    assert (churn.source, churn.group, churn.file, churn.kind) == ("rule", "lifecycle", "tags/lifecycle/churn_risk.yaml",
                                                                   "dynamic")
    assert churn.rule == {"orders": {"count": {"gte": 2}}}
    assert tags["vip"].source == "manual" and tags["vip"].rule is None and not tags["vip"].computed


def test_sources_and_what_rules_use() -> None:
    tag = parse_tag({"cases": [{"value": "a", "rule": {"segment": "big"}},
                               {"value": 2, "rule": {"all": [{"tag": "x/y"}, {"trait": "t1", "gte": 1}]}}],
                     "schedule": "0 2 * * *", "expires": "30d"}, "g/t")
    assert tag.source == "rule" and tag.valued
    assert [c.value for c in tag.cases] == ["a", "2"]
    assert tag.depends_on == {"big"} and tag.tags_used == {"x/y"} and tag.traits_used == {"t1"}
    assert tag.rule == {"any": [{"segment": "big"}, {"all": [{"tag": "x/y"}, {"trait": "t1", "gte": 1}]}]}
    assert tag.schedule == "0 2 * * *" and tag.expires == 30 * 86400
    assert parse_tag({"sql": "SELECT profile_id FROM profiles"}, "s").source == "sql"
    assert parse_tag({"python": "mod:fn"}, "p").source == "python"
    assert parse_tag({"rule": {"tag": "a"}, "value": "gold"}, "v").cases[0].value == "gold"


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ({"rul": {}}, "unknown_key", "t.yaml: rul: unknown key 'rul'"),
        ({"rule": {"tag": "a"}, "sql": "SELECT profile_id FROM profiles"}, "conflicting_sources",
         "t.yaml: sql: a tag has one of rule, cases, sql, python; this one has rule and sql"),
        ({"kind": "weekly"}, "bad_value", "t.yaml: kind: kind is static or dynamic, not 'weekly'"),
        ({"schedule": "every day"}, "bad_schedule", "t.yaml: schedule: 'every day' is not a cron expression"),
        ({"expires": "1 month"}, "bad_duration", "t.yaml: expires: '1 month' is not a duration"),
        ({"value": "x"}, "value_without_rule", "t.yaml: value: value: goes with rule:"),
        ({"rule": {"all": [{"attr": "city", "eqq": "x"}]}}, "unknown_operator", "t.yaml: rule.all[0].eqq: unknown operator"),
        ({"cases": []}, "bad_cases", "t.yaml: cases: cases takes a non-empty list"),
        ({"cases": [{"value": "a", "rule": {"tag": "b"}}, {"value": "a", "rule": {"tag": "c"}}]}, "duplicate_value",
         "t.yaml: cases[1].value: value 'a' appears in two cases"),
        ({"cases": [{"value": "a"}]}, "bad_case", "t.yaml: cases[0]: each case is {value: ..., rule: ...}"),
        ({"cases": [{"value": "a", "rule": {"any": []}}]}, "empty_any", "t.yaml: cases[0].rule.any"),
        ({"sql": "DELETE FROM profiles"}, "not_a_select", "t.yaml: sql: sql must be a SELECT, not DELETE"),
        ({"rule": {"tag": "g/t"}}, "tag_cycle", "t.yaml: rule: tag g/t refers to itself"),
        (["rule"], "bad_definition", "t.yaml: a tag definition is a mapping"),
    ],
    ids=["unknown-key", "two-sources", "bad-kind", "bad-schedule", "bad-expires", "value-alone", "rule-shape",
         "empty-cases", "duplicate-case", "bad-case", "empty-any-in-case", "sql-write", "self-reference", "not-a-mapping"],
)
def test_problems_name_file_and_path(data: object, code: str, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_tag(data, "g/t", file="t.yaml")
    assert info.value.code == code
    assert str(info.value).startswith(message), str(info.value)


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: sometimes\nschedule: nope\n")
    write(tmp_path, "b.yaml", "rule: [unclosed\n")
    write(tmp_path, "Bad Name.yaml", "description: x\n")
    with pytest.raises(DefinitionError) as info:
        load_tag_definitions(tmp_path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("tags/Bad Name.yaml: name: 'Bad Name' is not a tag name")
    assert lines[0].endswith("rename the file or give name:")
    assert lines[1] == "tags/a.yaml: kind: kind is static or dynamic, not 'sometimes'"
    assert lines[2].startswith("tags/a.yaml: schedule: 'nope' is not a cron expression")
    assert lines[3] == "tags/b.yaml: not valid YAML (line 1, column 16): expected ',' or ']', but got '<stream end>'"
    assert info.value.context == ()  # a caret only under the one problem


def test_two_files_defining_one_tag_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "x/y.yaml", "description: one\n")
    write(tmp_path, "other.yaml", "name: x/y\n")
    with pytest.raises(DefinitionError, match=r"tags/x/y.yaml: name: tag x/y is also defined in tags/other.yaml"):
        load_tag_definitions(tmp_path)


def test_a_cycle_of_tags_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "rule: {tag: b}\n")
    write(tmp_path, "b.yaml", "rule: {tag: c}\n")
    write(tmp_path, "c.yaml", "rule: {not: {tag: a}}\n")
    with pytest.raises(DefinitionError, match=r"tags/a.yaml: rule: tags refer to each other in a cycle: a → b → c → a") as info:
        load_tag_definitions(tmp_path)
    assert info.value.code == "tag_cycle"


def test_refresh_order_puts_used_tags_first_and_can_pull_them_in(tmp_path: Path) -> None:
    write(tmp_path, "top.yaml", "rule: {all: [{tag: mid}, {tag: manual}]}\n")
    write(tmp_path, "mid.yaml", "rule: {tag: base}\n")
    write(tmp_path, "base.yaml", "rule: {orders: {}}\n")
    write(tmp_path, "manual.yaml", "description: by hand\n")
    write(tmp_path, "alone.yaml", "rule: {orders: {}}\n")
    tags = load_tag_definitions(tmp_path)
    assert refresh_order(tags, ["top"]) == ["top"]
    assert refresh_order(tags, ["top", "base", "mid"]) == ["base", "mid", "top"]
    assert refresh_order(tags, ["top"], include_used=True) == ["manual", "base", "mid", "top"]
    assert refresh_order(tags, sorted(tags)) == ["alone", "base", "manual", "mid", "top"]


def test_no_tags_folder_means_no_tags(tmp_path: Path) -> None:
    assert load_tag_definitions(tmp_path) == {}


def test_fingerprint_follows_the_definition() -> None:
    a = parse_tag({"rule": {"orders": {}}}, "a")
    assert a.fingerprint() == parse_tag({"rule": {"orders": {}}}, "a").fingerprint()
    assert a.fingerprint() != parse_tag({"rule": {"orders": {"within": "7d"}}}, "a").fingerprint()
