"""Dropping an attribute: registry row, schema.yaml entry, column and data; refusals with their code."""

from __future__ import annotations

import pytest

from segflow.errors import SchemaError
from segflow.schema.drop import attribute_readers, check_drop, drop_attribute
from segflow.schema.service import declare
from segflow.workspace import Workspace


@pytest.fixture
def loaded(project: Workspace, write) -> Workspace:
    project.load("profiles", [write("p.csv", "profile_id,city,loyalty_points\np1,Beijing,3\np2,Moscow,\n")])
    return project


def test_drop_removes_registry_row_column_and_data(loaded: Workspace) -> None:
    plan = check_drop(loaded, "profiles", "loyalty_points")
    assert (plan.type, plan.origin, plan.values, plan.declared, plan.dropped) == ("integer", "inferred", 1, False, False)
    done = drop_attribute(loaded, "profiles", "loyalty_points")
    assert done.dropped and done.values == 1
    assert "loyalty_points" not in loaded.registry.attributes("profiles")
    assert "loyalty_points" not in loaded.warehouse.columns("profiles")
    assert loaded.warehouse.count("SELECT count(*) FROM profiles") == 2  # the rows stay, the column goes


def test_a_dropped_attribute_stays_dropped_after_reopening(loaded: Workspace, write) -> None:
    drop_attribute(loaded, "profiles", "loyalty_points")
    root = loaded.root
    loaded.close()
    import segflow

    ws = segflow.open(root)
    try:
        assert "loyalty_points" not in ws.warehouse.columns("profiles")
        # Loaded again, it is a new attribute again (here of another type).
        [s] = ws.load("profiles", [write("q.csv", "profile_id,loyalty_points\np1,many\n")])
        assert s.new_attributes == {"loyalty_points": "string"}
    finally:
        ws.close()


def test_a_declared_attribute_leaves_schema_yaml_too(project: Workspace) -> None:
    declare(project, "profiles", "vip_score", "number")
    declare(project, "accounts", "plan", "string")
    assert check_drop(project, "profiles", "vip_score").declared
    drop_attribute(project, "profiles", "vip_score")
    text = (project.root / "schema.yaml").read_text(encoding="utf-8")
    assert "vip_score" not in text and "plan" in text
    assert "vip_score" not in project.warehouse.columns("profiles")
    assert [a.name for a in project.registry.extra_attributes()] == ["plan"]


@pytest.mark.parametrize(("kind", "name", "code", "message"), [
    ("profiles", "city", "builtin_attribute",
     "profiles.city is a built-in column of profiles (string); it cannot be dropped"),
    ("profiles", "loyalty_point", "unknown_attribute",
     "profiles.loyalty_point: profiles has no attribute 'loyalty_point'; did you mean \"loyalty_points\"?"),
    ("profiles", "shoe_size", "unknown_attribute",
     "profiles.shoe_size: profiles has no attribute 'shoe_size' (its attributes: loyalty_points)"),
    ("people", "x", "unknown_kind", "unknown kind 'people' (kinds: profiles, accounts, identities, events, orders, "
                                    "order_items, memberships, subscriptions)"),
], ids=["builtin", "close", "far", "kind"])
def test_refusals(loaded: Workspace, kind: str, name: str, code: str, message: str) -> None:
    with pytest.raises(SchemaError) as caught:
        drop_attribute(loaded, kind, name)
    assert (caught.value.code, caught.value.message) == (code, message)
    assert "loyalty_points" in loaded.warehouse.columns("profiles")


def test_an_attribute_a_segment_reads_is_refused_naming_it(loaded: Workspace) -> None:
    (loaded.root / "segments" / "loyal.yaml").write_text("rule: {attr: loyalty_points, gte: 3}\n", encoding="utf-8")
    (loaded.root / "segments" / "bj.yaml").write_text("rule: {attr: city, eq: Beijing}\n", encoding="utf-8")
    assert attribute_readers(loaded, "profiles", "loyalty_points") == ["segment loyal (segments/loyal.yaml)"]
    with pytest.raises(SchemaError) as caught:
        drop_attribute(loaded, "profiles", "loyalty_points")
    assert caught.value.code == "attribute_in_use"
    assert caught.value.message == ("profiles.loyalty_points is still read by segment loyal (segments/loyal.yaml); "
                                    "change or remove that definition first")
    assert loaded.warehouse.count("SELECT count(loyalty_points) FROM profiles") == 1


def test_an_applied_definition_still_reads_it_after_its_file_is_gone(loaded: Workspace) -> None:
    from segflow.definitions.plan import apply

    seg = loaded.root / "segments" / "loyal.yaml"
    seg.write_text("rule: {attr: loyalty_points, gte: 3}\n", encoding="utf-8")
    apply(loaded, refresh=False)
    seg.unlink()
    assert attribute_readers(loaded, "profiles", "loyalty_points") == ["segment loyal (segments/loyal.yaml)"]


def test_tag_rules_and_sql_are_readers(loaded: Workspace) -> None:
    (loaded.root / "tags").mkdir(exist_ok=True)
    (loaded.root / "tags" / "loyal.yaml").write_text(
        "kind: dynamic\nrule: {any: [{attr: loyalty_points, gte: 3}, {attr: city, eq: X}]}\n", encoding="utf-8")
    (loaded.root / "tags" / "big.yaml").write_text(
        "sql: SELECT profile_id FROM profiles WHERE Loyalty_Points > 10\n", encoding="utf-8")
    readers = attribute_readers(loaded, "profiles", "loyalty_points")
    assert readers == ["tag big (tags/big.yaml)", "tag loyal (tags/loyal.yaml)"]


def test_resolved_profiles_lose_the_source_copies_too(loaded: Workspace) -> None:
    from segflow.identity.store import SOURCES, stamp

    loaded.resolve()
    assert {"loyalty_points", stamp("loyalty_points")} <= set(loaded.warehouse.columns(SOURCES))
    drop_attribute(loaded, "profiles", "loyalty_points")
    assert not {"loyalty_points", stamp("loyalty_points")} & set(loaded.warehouse.columns(SOURCES))
    loaded.resolve()  # resolving again works without the column
    assert "loyalty_points" not in loaded.warehouse.columns("profiles")
