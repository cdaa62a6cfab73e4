"""A new column close to a known attribute is a probable typo: refused unless declared or allowed."""

from __future__ import annotations

import pytest

from segflow.errors import LoadError
from segflow.ingest import load_files
from segflow.schema.service import declare
from segflow.schema.spelling import close_name
from segflow.workspace import Workspace


def _state(ws: Workspace) -> tuple[int, list[str], list[str], int]:
    """Rows, registry attributes, warehouse columns and load rows of profiles."""
    wh = ws.warehouse
    return (wh.count("SELECT count(*) FROM profiles"), [a.name for a in ws.registry.extra_attributes()],
            list(wh.columns("profiles")), len(ws.state.loads(limit=100)))


def test_typo_columns_are_all_refused_with_suggestions_and_nothing_written(project: Workspace, write) -> None:
    project.load("profiles", [write("first.csv", "profile_id,city\np0,Moscow\n")])
    before = _state(project)
    file = write("profiles.csv", "profile_id,cty,emial,loyalty_points\np1,Beijing,a@b.cn,3\n")
    with pytest.raises(LoadError) as caught:
        project.load("profiles", [file])
    assert caught.value.code == "possible_typo"
    assert caught.value.message == (
        f'{file}: columns "cty" (did you mean "city"?), "emial" (did you mean "email"?) are not known attributes '
        "of profiles; declare them in schema.yaml or allow new attributes to add them")
    assert _state(project) == before  # no row, no registry entry, no column, no load row


def test_one_typo_column_message(project: Workspace, write) -> None:
    file = write("profiles.csv", "profile_id,emial\np1,a@b.cn\n")
    with pytest.raises(LoadError) as caught:
        project.load("profiles", [file])
    assert caught.value.message == (f'{file}: column "emial" is not a known attribute of profiles; did you mean '
                                    '"email"? (declare it in schema.yaml or allow new attributes to add it)')
    assert caught.value.path == f"{file}:emial"


def test_a_typo_of_a_registered_attribute_is_refused(project: Workspace, write) -> None:
    project.load("profiles", [write("a.csv", "profile_id,loyalty_tier\np1,gold\n")])
    with pytest.raises(LoadError, match='did you mean "loyalty_tier"'):
        project.load("profiles", [write("b.csv", "profile_id,loyalty_teir\np2,gold\n")])


def test_new_attributes_accepts_the_columns_as_they_are(project: Workspace, write) -> None:
    file = write("profiles.csv", "profile_id,cty,emial\np1,Beijing,a@b.cn\n")
    report = load_files(project, "profiles", [file], new_attributes=True)
    assert report.new_attributes == {"cty": "string", "emial": "string"}
    assert report.to_dict()["new_attributes"] == {"cty": "string", "emial": "string"}
    assert project.sql("SELECT cty, emial FROM profiles").to_pylist() == [{"cty": "Beijing", "emial": "a@b.cn"}]


def test_a_declared_attribute_is_known(project: Workspace, write) -> None:
    declare(project, "profiles", "cty", "string")
    [s] = project.load("profiles", [write("profiles.csv", "profile_id,cty\np1,Beijing\n")])
    assert s.accepted == 1 and s.new_attributes == {}


def test_schema_yaml_declaration_is_known(tmp_path, write) -> None:
    import segflow

    ws = segflow.init(tmp_path / "p")
    (ws.root / "schema.yaml").write_text("profiles:\n  emial: string\n", encoding="utf-8")
    ws.close()
    ws = segflow.open(ws.root)
    try:
        [s] = ws.load("profiles", [write("profiles.csv", "profile_id,emial\np1,x\n")])
        assert s.accepted == 1 and s.new_attributes == {}
    finally:
        ws.close()


def test_far_names_are_accepted_and_reported(project: Workspace, write) -> None:
    [s] = project.load("profiles", [write("profiles.csv", "profile_id,loyalty_points,zip,vip\np1,3,100000,y\n")])
    assert s.new_attributes == {"loyalty_points": "integer", "zip": "integer", "vip": "string"}
    assert {a.name for a in project.registry.extra_attributes()} == {"loyalty_points", "zip", "vip"}


def test_other_kinds_compare_with_their_own_columns(project: Workspace, write) -> None:
    with pytest.raises(LoadError, match='column "ammount" is not a known attribute of orders; did you mean "amount"'):
        project.load("orders", [write("o.csv", "order_id,profile_id,ts,amount,ammount\no1,p1,2026-01-01,3,3\n")])
    [s] = project.load("orders", [write("o2.csv", "order_id,profile_id,ts,amount,coupon\no1,p1,2026-01-01,3,X\n")])
    assert s.new_attributes == {"coupon": "string"}


@pytest.mark.parametrize(("name", "known", "expected"), [
    ("cty", ["city"], "city"),
    ("emial", ["email"], "email"),
    ("FirstName", [], "first_name"),
    ("contry", ["country"], "country"),
    ("vip", ["zip"], None),          # three letters, one substituted: a word of its own
    ("zip", ["vip"], None),          # itself a well-known name
    ("score", ["vip_score"], None),
    ("id", ["ip"], None),
    ("loyalty_points", [], None),
], ids=lambda v: str(v))
def test_close_name(name: str, known: list[str], expected: str | None) -> None:
    assert close_name(name, known, kind="profiles") == expected
