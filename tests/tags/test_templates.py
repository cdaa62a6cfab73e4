"""The shipped templates: every e-commerce tag on a generated shop equals an independent oracle
computed from the raw files; every template parses and installs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import segflow
from segflow.generate import generate_shop
from segflow.tags import (
    install_templates,
    list_templates,
    load_tag_definitions,
    parse_tag,
    refresh_tags,
)
from segflow.tags.templates import template_files
from segflow.workspace import Workspace

from .oracle import Shop, ecommerce

#: 20:00 UTC on Feb 28 is March 1 in Shanghai: the birthday month and the night hours
#: depend on the workspace zone, and events of the last 4 hours of the data are after T.
T = datetime(2026, 2, 28, 20, 0, tzinfo=UTC)
ZONE = "Asia/Shanghai"
KINDS = ("profiles", "accounts", "identities", "events", "orders", "order_items", "memberships", "subscriptions")
ECOMMERCE_TAGS = sorted(list_templates()[1].tags)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    root = tmp_path_factory.mktemp("shop")
    manifest = generate_shop(root / "data", profiles=4000, seed=3, days=365, end=date(2026, 3, 1), fmt="csv")
    ws = segflow.init(root / "proj", timezone=ZONE, default_phone_country="CN")
    for kind in KINDS:
        ws.load(kind, [root / "data" / manifest["files"][kind]["file"]])
    result = install_templates(ws, "ecommerce")
    assert result.problems == [] and result.conflicts == []
    yield ws, root / "data"
    ws.close()


@pytest.fixture(scope="module")
def refreshed(shop: tuple[Workspace, Path]) -> tuple[Workspace, dict]:
    ws, data = shop
    results = refresh_tags(ws, as_of=T)
    assert [r.error for r in results if r.error] == []
    return ws, {"results": {r.name: r for r in results}, "oracle": ecommerce(Shop(data), T, ZONE)}


def test_the_oracle_reads_the_files_as_the_loader_does(shop: tuple[Workspace, Path]) -> None:
    ws, data = shop
    assert len(Shop(data).profiles) == ws.table_counts()["profiles"]


@pytest.mark.parametrize("tag", ECOMMERCE_TAGS, ids=ECOMMERCE_TAGS)
def test_ecommerce_tag_matches_the_oracle(refreshed: tuple[Workspace, dict], tag: str) -> None:
    ws, facts = refreshed
    expected = facts["oracle"].get(tag, {})
    assert expected, f"the oracle finds no member of {tag}: the shop is too small to test it"
    rows = ws.warehouse.con.execute(
        "SELECT profile_id, value FROM tag_assignments WHERE tag = ? AND source = ?",
        [tag, facts["results"][tag].source],
    ).fetchall()
    assert dict(rows) == expected
    assert facts["results"][tag].members == len(expected)


def test_rfm_tier_has_every_value(refreshed: tuple[Workspace, dict]) -> None:
    _, facts = refreshed
    assert set(facts["oracle"]["rfm/tier"].values()) == {"high_value", "potential", "churn_risk"}


def test_tags_run_after_the_tags_they_use(refreshed: tuple[Workspace, dict]) -> None:
    from segflow.tags.definition import load_tag_definitions

    ws, facts = refreshed
    order = list(facts["results"])
    tags = load_tag_definitions(ws.root)
    pairs = [(used, name) for name in order for used in tags[name].tags_used if used in tags]
    assert ("rfm/tier", "rfm/high_value") in pairs
    for used, name in pairs:
        assert order.index(used) < order.index(name), (used, name)


def test_a_segment_rule_can_use_the_template_tags(refreshed: tuple[Workspace, dict]) -> None:
    ws, facts = refreshed
    preview = ws.preview({"all": [{"tag": "rfm/tier", "eq": "high_value"}, {"tag": "member/vip"}]}, as_of=T, limit=None)
    expected = set(facts["oracle"]["rfm/high_value"]) & set(facts["oracle"]["member/vip"])
    assert set(preview.members.column("profile_id").to_pylist()) == expected


TEMPLATE_FILES = [(t.name, rel) for t in list_templates() for rel in template_files(t.name) if rel.startswith("tags/")]


@pytest.mark.parametrize(("template", "rel"), TEMPLATE_FILES, ids=[f"{t}:{r}" for t, r in TEMPLATE_FILES])
def test_every_template_tag_parses(template: str, rel: str) -> None:
    import yaml

    tag = parse_tag(yaml.safe_load(template_files(template)[rel]), rel.removeprefix("tags/").removesuffix(".yaml"),
                    file=rel)
    assert tag.description and tag.label and tag.schedule
    assert tag.source in ("rule", "sql")


@pytest.mark.parametrize("name", ["ecommerce", "saas", "b2b", "retail"], ids=str)
def test_every_template_installs_and_its_tags_load(project: Workspace, name: str) -> None:
    result = install_templates(project, name)
    assert result.written and not result.conflicts
    tags = load_tag_definitions(project.root)
    assert set(tags) == set(next(t for t in list_templates() if t.name == name).tags)
    again = install_templates(project, name)
    assert again.written == [] and sorted(again.unchanged) == sorted(result.written)


def test_installing_over_an_edited_file_keeps_it_unless_forced(project: Workspace) -> None:
    install_templates(project, "retail")
    edited = project.root / "tags" / "member" / "vip.yaml"
    edited.write_text("rule: {attr: member_level, eq: gold}\n", encoding="utf-8")
    result = install_templates(project, "retail")
    assert result.conflicts == ["tags/member/vip.yaml"]
    assert "gold" in edited.read_text(encoding="utf-8")
    forced = install_templates(project, "retail", force=True)
    assert forced.written == ["tags/member/vip.yaml"] and "gold" not in edited.read_text(encoding="utf-8")


def test_installing_into_a_project_without_the_data_reports_the_missing_attributes(project: Workspace) -> None:
    result = install_templates(project, "ecommerce")
    assert any("first_tier_young_professional.yaml: rule.all[1].attr" in p and "age" in p for p in result.problems)


def test_unknown_template_is_refused(project: Workspace) -> None:
    with pytest.raises(segflow.errors.DefinitionError, match=r"no tag template 'fintech' \(templates: b2b, ecommerce"):
        install_templates(project, "fintech")
