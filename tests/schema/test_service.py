"""The schema service over a real project: sync, declare, describe."""

from __future__ import annotations

import json

import pytest

from segflow.errors import SchemaError
from segflow.schema.service import Column, declare, describe_schema, sync_schema
from segflow.workspace import Workspace


def test_sync_reports_what_it_registered_and_converted(project: Workspace, write) -> None:
    project.load("profiles", [write("p.csv", "profile_id,level\np1,3\np2,4\n")])
    assert project.registry.get("profiles", "level").type.value == "integer"
    (project.root / "schema.yaml").write_text("profiles:\n  level: {type: string, label: Level}\n", encoding="utf-8")
    result = sync_schema(project)
    assert result.registered == ["profiles.level"]
    assert result.converted == ["profiles.level"]
    assert project.sql("SELECT level FROM profiles ORDER BY 1").column("level").to_pylist() == ["3", "4"]
    again = sync_schema(project)  # nothing left to do
    assert (again.registered, again.converted) == ([], [])


def test_describe_one_kind_and_its_json(project: Workspace) -> None:
    declare(project, "profiles", "zip", "string", "Zip code")
    desc = describe_schema(project, "profiles")
    assert list(desc.columns) == ["profiles"]
    assert Column("zip", "string", "Zip code", "declared") in desc.columns["profiles"]
    body = json.loads(json.dumps(desc.to_dict()))
    assert {"name": "zip", "type": "string", "label": "Zip code", "origin": "declared"} in body["profiles"]
    assert body["profiles"] == project.describe_schema()["profiles"]


def test_unknown_kind_names_the_kinds(project: Workspace) -> None:
    with pytest.raises(SchemaError, match=r"unknown kind 'profile' \(kinds: profiles, ") as info:
        describe_schema(project, "profile")
    assert info.value.code == "unknown_kind"


def test_refused_first_declaration_leaves_no_schema_file(project: Workspace, write) -> None:
    project.load("profiles", [write("p.csv", "profile_id,note\np1,x1\n")])
    schema_file = project.root / "schema.yaml"
    schema_file.unlink(missing_ok=True)
    with pytest.raises(SchemaError, match="do not convert"):
        declare(project, "profiles", "note", "integer")
    assert not schema_file.exists()
    project.close()
    with Workspace(project.root, project.config) as again:  # the project still opens
        assert again.registry.get("profiles", "note").type.value == "string"
