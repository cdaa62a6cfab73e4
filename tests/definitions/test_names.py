"""Names of any script (NFC), a segment's label:, and kind: / type: as one key (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from segshop import T1, VIEWERS, members_of

from segflow.definitions.plan import apply, make_plan
from segflow.definitions.versions import version_history
from segflow.errors import SegflowError
from segflow.names import check_name, nfc
from segflow.segments.definition import check_segment_name, load_segment_definitions, parse_segment
from segflow.segments.listing import list_segments
from segflow.segments.query import members
from segflow.tags import load_tag_definitions
from segflow.tags.library import tag_members
from segflow.traits.definition import load_trait_definitions
from segflow.workspace import Workspace

NFD_LOYAL = unicodedata.normalize("NFD", "лояльный")  # й as и + combining breve, as macOS stores file names


def _actions(plan) -> dict[tuple[str, str], str]:
    return {(c.kind, c.name): c.action for c in plan.changes}


def test_names_of_any_script_are_applied_refreshed_and_queried(shop: Workspace, define) -> None:
    define("segments/viewers.yaml", VIEWERS)
    define("segments/高价值客户.yaml", "label: 高价值客户 (VIP)\nrule: {attr: city, eq: Beijing}\n")
    define("segments/лояльные.yaml", "kind: dynamic\nrule: {segment: 高价值客户}\n")
    define("tags/生命周期/沉睡用户.yaml", "rule: {segment: 高价值客户}\n")
    define("tags/сегменты/лояльные.yaml", "rule: {tag: 生命周期/沉睡用户}\n")
    define("traits/просмотры.yaml", "kind: counter\nevent: view_product\nwithin: 60d\n")
    define("segments/смотрящие.yaml", "rule: {trait: просмотры, gte: 1}\n")
    plan = make_plan(shop, as_of=T1)
    assert {("segment", "高价值客户"), ("segment", "лояльные"), ("tag", "生命周期/沉睡用户"),
            ("tag", "сегменты/лояльные"), ("trait", "просмотры")} <= set(_actions(plan))
    apply(shop, as_of=T1)
    beijing = {"p1", "p4", "p6"}
    assert members_of(shop, "高价值客户") == beijing
    assert members_of(shop, "лояльные") == beijing  # refreshed after the segment it reads
    assert set(members(shop, "高价值客户").column("profile_id").to_pylist()) == beijing
    assert set(tag_members(shop, "生命周期/沉睡用户").column("profile_id").to_pylist()) == beijing
    assert set(tag_members(shop, "сегменты/лояльные").column("profile_id").to_pylist()) == beijing
    assert set(tag_members(shop, "生命周期/*").column("profile_id").to_pylist()) == beijing
    assert members_of(shop, "смотрящие")
    assert make_plan(shop, as_of=T1).pending == []  # nothing changed: every file unchanged


def test_a_non_nfc_file_name_is_its_nfc_name(shop: Workspace, define) -> None:
    define(f"segments/{NFD_LOYAL}.yaml", "rule: {attr: city, eq: Beijing}\n")
    define(f"tags/{NFD_LOYAL}.yaml", "rule: {attr: city, eq: Beijing}\n")
    define("segments/читатели.yaml", f"rule: {{segment: {NFD_LOYAL}}}\n")
    assert set(load_segment_definitions(shop.root)) == {"лояльный", "читатели"}
    assert "лояльный" in load_tag_definitions(shop.root)
    apply(shop, as_of=T1)
    assert members_of(shop, "лояльный") == {"p1", "p4", "p6"}
    assert members_of(shop, "читатели") == {"p1", "p4", "p6"}  # the rule's NFD name is the same segment
    assert set(tag_members(shop, NFD_LOYAL).column("profile_id").to_pylist()) == {"p1", "p4", "p6"}
    # the NFC twin of the file is the same segment, defined twice
    define("segments/лояльный.yaml", "type: static\n")
    with pytest.raises(SegflowError, match="segment 'лояльный' is also defined in"):
        load_segment_definitions(shop.root)


def test_nfc_is_one_name() -> None:
    assert check_segment_name(NFD_LOYAL) == "лояльный" == nfc(NFD_LOYAL)
    assert parse_segment({"type": "static", "name": "лояльный"}, NFD_LOYAL).name == "лояльный"


@pytest.mark.parametrize("stem", ["a b", "a..b", 'x"y', "a:b", "a*b", "a?b", "a<b", "a|b", ".hidden", "-x", "a\tb"])
def test_unsafe_segment_names_are_refused_naming_the_file(stem: str) -> None:
    with pytest.raises(SegflowError) as info:
        parse_segment({"type": "static"}, stem, file=f"segments/{stem}.yaml")
    assert info.value.message.startswith(f"segments/{stem}.yaml: {stem!r} is not a segment name (")
    assert info.value.code == "bad_name"


def test_a_slash_is_refused_in_a_segment_name() -> None:
    with pytest.raises(SegflowError, match=r"segments/x\.yaml: 'a/b' is not a segment name"):
        parse_segment({"type": "static"}, "a/b", file="segments/x.yaml")


@pytest.mark.parametrize("name", ["vip", "VIP_2024", "_x", "9to5", "a.b", "a-b", "高价值客户", "лояльные",
                                  "Лояльные", "naïve", "x" * 200])
def test_valid_segment_names(name: str) -> None:
    assert check_segment_name(name) == name


def test_tag_and_trait_names_follow_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / "tags" / "生命周期").mkdir(parents=True)
    (tmp_path / "tags" / "生命周期" / "沉睡 用户.yaml").write_text("description: x\n", encoding="utf-8")
    with pytest.raises(SegflowError, match=r"tags/生命周期/沉睡 用户\.yaml: name: '生命周期/沉睡 用户' is not a tag name"):
        load_tag_definitions(tmp_path)
    (tmp_path / "traits").mkdir()
    (tmp_path / "traits" / "Просмотры.yaml").write_text("kind: counter\nevent: x\n", encoding="utf-8")
    with pytest.raises(SegflowError, match=r"traits/Просмотры\.yaml: 'Просмотры' is not a trait name"):
        load_trait_definitions(tmp_path)
    (tmp_path / "traits" / "Просмотры.yaml").rename(tmp_path / "traits" / "просмотры.yaml")
    assert [t.name for t in load_trait_definitions(tmp_path)] == ["просмотры"]
    with pytest.raises(SegflowError, match="is not a journey name"):
        check_name("journey", "a/b", "journeys/a.yaml")


def test_segment_kind_is_a_synonym_of_type(tmp_path: Path) -> None:
    by_kind = parse_segment({"kind": "static"}, "picks")
    by_type = parse_segment({"type": "static"}, "picks")
    assert by_kind == by_type and by_kind.fingerprint() == by_type.fingerprint()
    assert parse_segment({"kind": "dynamic", "type": "dynamic", "rule": {"attr": "city", "eq": "x"}}, "a").dynamic
    with pytest.raises(SegflowError) as info:
        parse_segment({"kind": "static", "type": "dynamic"}, "picks", file="segments/picks.yaml")
    assert info.value.message == ("segments/picks.yaml: type: 'dynamic' and kind: 'static' disagree "
                                  "(they are one key: give one of them)")


def test_tag_type_is_a_synonym_of_kind(tmp_path: Path) -> None:
    (tmp_path / "tags").mkdir()
    (tmp_path / "tags" / "a.yaml").write_text("type: static\n", encoding="utf-8")
    (tmp_path / "tags" / "b.yaml").write_text("kind: static\n", encoding="utf-8")
    tags = load_tag_definitions(tmp_path)
    assert tags["a"].kind == tags["b"].kind == "static"
    (tmp_path / "tags" / "c.yaml").write_text("kind: static\ntype: dynamic\n", encoding="utf-8")
    with pytest.raises(SegflowError) as info:
        load_tag_definitions(tmp_path)
    assert info.value.message == ("tags/c.yaml: type: kind: 'static' and type: 'dynamic' disagree "
                                  "(they are one key: give one of them)")


def test_label_is_versioned_only_when_set(shop: Workspace, define) -> None:
    define("segments/viewers.yaml", VIEWERS)
    before = load_segment_definitions(shop.root)["viewers"]
    assert "label" not in before.body()  # fingerprints of segments without a label are unchanged
    assert before.fingerprint() == parse_segment(
        {"description": "viewed a product in 7 days", "rule": {"event": "view_product", "within": "7d"}},
        "viewers").fingerprint()
    apply(shop, as_of=T1)
    define("segments/viewers.yaml", "kind: dynamic\n" + VIEWERS)  # kind: written out: the same definition
    assert make_plan(shop, as_of=T1).pending == []
    define("segments/viewers.yaml", "label: Товары смотрели\n" + VIEWERS)
    assert _actions(make_plan(shop, as_of=T1))[("segment", "viewers")] == "changed"
    apply(shop, as_of=T1)
    assert version_history(shop.state, "segment", "viewers")[-1].body["label"] == "Товары смотрели"
    [info] = list_segments(shop)
    assert (info.name, info.label) == ("viewers", "Товары смотрели")
    with pytest.raises(SegflowError, match=r"segments/x\.yaml: label: expected text"):
        parse_segment({"type": "static", "label": ["a"]}, "x", file="segments/x.yaml")


def test_segment_list_shows_the_label(shop: Workspace, define) -> None:
    define("segments/高价值客户.yaml", "label: 高价值客户 (VIP)\nrule: {attr: city, eq: Beijing}\n")
    define("segments/picks.yaml", "type: static\n")
    apply(shop, as_of=T1)
    shop.close()
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "segflow.cli.app", "segment", "list", "--project",
                               str(shop.root), *args], capture_output=True, text=True, env=env, timeout=120)

    shown = run("--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert {r["name"]: r["label"] for r in json.loads(shown.stdout)} == {"高价值客户": "高价值客户 (VIP)", "picks": ""}
    table = run()
    assert table.returncode == 0, table.stderr
    assert "label" in table.stdout and "高价值客户 (VIP)" in table.stdout
