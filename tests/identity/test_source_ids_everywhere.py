"""Every command and service that takes a profile id accepts any source id (issue 13, item 8).

After ``segflow resolve``, B (merged into A) stands for the person A everywhere: the
service acts on A and says so (``resolved_from`` / ``merged``: "B was merged into A").
An id that is neither a profile nor a known record is still an error naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from identity_helpers import Feed

from segflow.definitions.plan import apply
from segflow.errors import IdentityError, QueryError
from segflow.identity.explain import explain_person
from segflow.identity.persons import Person, lookup, merged_records
from segflow.identity.profile import global_file
from segflow.segments.preview import explain_one, explain_profile
from segflow.segments.static import add_members, remove_members
from segflow.tags import assign_tags, profile_tags, remove_tags, tags_of
from segflow.workspace import Workspace

D1, D2 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
SHANGHAI = {"attr": "city", "eq": "Shanghai"}


def _rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.warehouse.rows(sql)]


@pytest.fixture
def merged(ws: Workspace, feed: Feed) -> Workspace:
    """A (older) and B share an e-mail: one person, canonical A, city Shanghai (from B).
    C is someone else, in Beijing. ``picks`` is an applied static segment. Resolved."""
    feed("profiles", [
        {"profile_id": "A", "email": "ann@x.cn", "city": "", "created_at": "2021-01-01T00:00:00Z"},
        {"profile_id": "B", "email": "ANN@x.cn", "city": "Shanghai", "created_at": "2022-01-01T00:00:00Z"},
        {"profile_id": "C", "phone": "13812340009", "city": "Beijing", "created_at": "2023-01-01T00:00:00Z"},
    ])
    (ws.root / "segments" / "picks.yaml").write_text("type: static\n", encoding="utf-8")
    apply(ws, refresh=False)
    ws.resolve()
    assert _rows(ws, "SELECT profile_id FROM profiles ORDER BY 1") == [("A",), ("C",)]
    return ws


# -- the lookup every service uses -------------------------------------------------------

def test_lookup_names_the_person_and_the_merged_record(merged: Workspace) -> None:
    wh = merged.warehouse
    assert lookup(wh, "B") == Person("A", "B")
    assert lookup(wh, "B").note == "B was merged into A"  # type: ignore[union-attr]
    assert lookup(wh, "A") == Person("A")
    assert lookup(wh, "C") == Person("C")
    assert lookup(wh, "ghost") is None
    wh.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT unnest(['A', 'B', 'C', 'ghost']) AS profile_id")
    assert merged_records(wh, "_ids") == {"B": "A"}


def test_before_resolution_an_id_is_its_own_person(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "ann@x.cn"}])
    assert lookup(ws.warehouse, "A") == Person("A")
    assert lookup(ws.warehouse, "B") is None
    ws.warehouse.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT 'A' AS profile_id")
    assert merged_records(ws.warehouse, "_ids") == {}


# -- single-id services ------------------------------------------------------------------

def test_tags_of_a_merged_record_are_its_persons(merged: Workspace) -> None:
    assign_tags(merged, "vip", ["A"], value="gold", at=D1)
    found = tags_of(merged, "B", at=D2)
    assert (found.profile_id, found.resolved_from, found.note) == ("A", "B", "B was merged into A")
    assert [(t["tag"], t["value"]) for t in found.tags] == [("vip", "gold")]
    assert [t["tag"] for t in profile_tags(merged, "B", at=D2)] == ["vip"]
    assert tags_of(merged, "A", at=D2).resolved_from is None
    with pytest.raises(IdentityError, match="no profile 'ghost'"):
        tags_of(merged, "ghost")


def test_explain_of_a_merged_record_explains_its_person(merged: Workspace) -> None:
    found = explain_one(merged, SHANGHAI, "B", as_of=D2)
    assert (found.profile_id, found.resolved_from, found.value) == ("A", "B", True)  # A's city is B's
    assert found.to_dict()["note"] == "B was merged into A"
    assert found.to_dict()["value"] is True
    assert explain_profile(merged, SHANGHAI, "B", as_of=D2).value is True
    assert explain_one(merged, SHANGHAI, "C", as_of=D2).value is False
    with pytest.raises(QueryError, match="no profile 'ghost'"):
        explain_one(merged, SHANGHAI, "ghost", as_of=D2)


def test_profile_show_and_resolve_explain_name_the_merged_record(merged: Workspace) -> None:
    gf = global_file(merged, "B")
    assert (gf.canonical_id, gf.resolved_from, gf.note) == ("A", "B", "B was merged into A")
    assert global_file(merged, "A").resolved_from is None
    ex = explain_person(merged, "B")
    assert (ex.canonical_id, ex.resolved_from, ex.note) == ("A", "B", "B was merged into A")
    assert explain_person(merged, "A").resolved_from is None


# -- bulk services: one SQL over the list, merged records reported ------------------------

def test_assign_and_remove_by_a_merged_record_act_on_its_person_and_say_so(merged: Workspace) -> None:
    added = assign_tags(merged, "vip", ["B", "C", "ghost"], at=D1)
    assert (added.added, added.unknown, added.merged) == (2, ["ghost"], {"B": "A"})
    assert _rows(merged, "SELECT profile_id FROM tag_assignments ORDER BY 1") == [("A",), ("C",)]
    removed = remove_tags(merged, "vip", ["B"])
    assert (removed.removed, removed.merged) == (1, {"B": "A"})
    assert _rows(merged, "SELECT profile_id FROM tag_assignments") == [("C",)]


def test_static_add_and_remove_by_a_merged_record_act_on_its_person_and_say_so(merged: Workspace) -> None:
    added = add_members(merged, "picks", ["B", "C", "ghost"], at=D1)
    assert (added.diff.entered, added.unknown, added.merged) == (2, ["ghost"], {"B": "A"})
    assert _rows(merged, "SELECT profile_id FROM segment_members ORDER BY 1") == [("A",), ("C",)]
    removed = remove_members(merged, "picks", ["B"], at=D2)
    assert (removed.diff.exited, removed.merged) == (1, {"B": "A"})
    assert _rows(merged, "SELECT profile_id FROM segment_members") == [("C",)]


def test_bulk_paths_stay_set_based(merged: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reporting merged records is one query over the list: as many queries for 500 ids as for 1."""
    wh = merged.warehouse
    calls: list[str] = []
    real = wh.execute

    def counting(sql: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(sql)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(wh, "execute", counting)

    def queries(run: Any) -> int:
        calls.clear()
        run()
        return len(calls)

    many = ["B"] + [f"ghost{i}" for i in range(500)]
    for call in (lambda ids: assign_tags(merged, "vip", ids, at=D1), lambda ids: add_members(merged, "picks", ids, at=D1)):
        call(["B"])  # the person is tagged / a member: the calls measured below change nothing
        assert queries(lambda: call(many)) == queries(lambda: call(["B"]))  # noqa: B023
        assert call(many).merged == {"B": "A"}
    assert queries(lambda: remove_tags(merged, "vip", many)) == queries(lambda: remove_tags(merged, "vip", ["B"]))


# -- the command line (a real subprocess) -------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def on_disk(merged: Workspace) -> Path:
    assign_tags(merged, "vip", ["A"], value="gold", at=D1)
    root = merged.root
    (root.parent / "shanghai.yaml").write_text("attr: city\neq: Shanghai\n", encoding="utf-8")
    merged.close()  # let go of the DuckDB file for the subprocess
    return root


def test_cli_tags_of_a_merged_record(on_disk: Path) -> None:
    done = _cli("tags", "of", "B", "-p", str(on_disk))
    assert done.returncode == 0, done.stderr
    assert "B was merged into A" in done.stdout
    assert "A: 1 tag assignment(s)" in done.stdout and "gold" in done.stdout
    as_json = _cli("tags", "of", "B", "-p", str(on_disk), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert [r["tag"] for r in json.loads(as_json.stdout)] == ["vip"]
    missing = _cli("tags", "of", "ghost", "-p", str(on_disk))
    assert missing.returncode != 0 and "no profile 'ghost'" in missing.stderr


def test_cli_preview_explain_of_a_merged_record(on_disk: Path) -> None:
    rule = str(on_disk.parent / "shanghai.yaml")
    done = _cli("segment", "preview", rule, "--explain", "B", "-p", str(on_disk), "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["profile_id"], body["resolved_from"], body["value"]) == ("A", "B", True)
    text = _cli("segment", "preview", rule, "--explain", "B", "-p", str(on_disk))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("B was merged into A\n")


def test_cli_assign_and_segment_add_name_the_merged_record(on_disk: Path) -> None:
    done = _cli("tags", "assign", "churn", "B", "-p", str(on_disk))
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout and "B was merged into A" in done.stdout
    added = _cli("segment", "add", "picks", "B", "-p", str(on_disk))
    assert added.returncode == 0, added.stderr
    assert "B was merged into A" in added.stdout
    shown = _cli("profile", "show", "B", "-p", str(on_disk))
    assert shown.returncode == 0, shown.stderr
    assert "B was merged into A" in shown.stdout and "churn" in shown.stdout
