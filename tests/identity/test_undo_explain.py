"""Undo + pin, explain, the global file, and the CLI commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from identity_helpers import Feed, csv_text, groups, partition

import segflow
from segflow.identity.errors import IdentityError
from segflow.identity.explain import explain_person
from segflow.identity.profile import global_file
from segflow.identity.resolve import resolve_identities, undo_merge, unpin
from segflow.workspace import Workspace

T1, T2, T3 = "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"


@pytest.fixture
def chain(ws: Workspace, feed: Feed) -> Workspace:
    """A ~phone~ B ~email~ C, with orders and an anonymous visit of C."""
    feed("profiles", [
        {"profile_id": "A", "phone": "13812340001", "name": "Ann", "created_at": T1},
        {"profile_id": "B", "phone": "+86 138 1234 0001", "email": "ann@x.cn", "created_at": T2},
        {"profile_id": "C", "email": "ANN@x.cn", "name": "Annie", "created_at": T3},
    ])
    feed("orders", [{"order_id": f"o{p}", "profile_id": p, "ts": T3, "amount": 10} for p in "ABC"])
    feed("events", [{"event_id": "e1", "anonymous_id": "anon-c", "event": "view", "ts": T2},
                    {"event_id": "e2", "profile_id": "C", "anonymous_id": "anon-c", "event": "identify", "ts": T3}])
    resolve_identities(ws)
    return ws


def test_explain_shows_the_identifier_path(chain: Workspace) -> None:
    ex = explain_person(chain, "C")
    assert ex.canonical_id == "A" and ex.members == ["A", "B", "C"]
    assert [(link.source, link.type, link.value, link.target) for link in ex.paths["C"]] == [
        ("A", "phone", "+8613812340001", "B"), ("B", "email", "ann@x.cn", "C")]
    assert ex.paths["A"] == []


def test_explain_lists_identifiers_that_linked_nothing(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "test@test.com"}, {"profile_id": "B", "email": "bad-email"}])
    feed("identities", [{"profile_id": "A", "type": "device_id", "value": "d1"}])
    resolve_identities(ws)
    reasons = {(u["type"], u["reason"]) for u in explain_person(ws, "A").unused}
    assert reasons == {("email", "placeholder"), ("device_id", "attach-only")}
    assert {u["reason"] for u in explain_person(ws, "B").unused} == {"malformed"}


def test_undo_merge_splits_and_the_pin_survives_later_runs(chain: Workspace, feed: Feed) -> None:
    undo_merge(chain, "C")
    assert groups(chain) == {frozenset("AB"), frozenset("C")}
    con = chain.warehouse.con
    assert dict(con.execute("SELECT order_id, profile_id FROM orders").fetchall()) == {"oA": "A", "oB": "A", "oC": "C"}
    assert dict(con.execute("SELECT event_id, profile_id FROM events").fetchall()) == {"e1": "C", "e2": "C"}
    # a new record sharing C's e-mail arrives: C stays apart, the newcomer joins A
    feed("profiles", [{"profile_id": "D", "email": "ann@x.cn", "phone": "13812340001", "created_at": T3}])
    resolve_identities(chain)
    assert groups(chain) == {frozenset("ABD"), frozenset("C")}
    resolve_identities(chain, full=True)
    assert groups(chain) == {frozenset("ABD"), frozenset("C")}
    assert explain_person(chain, "C").pinned == ["C"]
    unpin(chain, "C")
    assert groups(chain) == {frozenset("ABCD")}
    assert dict(con.execute("SELECT order_id, profile_id FROM orders").fetchall()) == {"oA": "A", "oB": "A", "oC": "A"}


def test_undo_of_a_bridge_splits_what_only_it_joined(chain: Workspace) -> None:
    undo_merge(chain, "B")
    assert groups(chain) == {frozenset("A"), frozenset("B"), frozenset("C")}
    assert chain.preview({"all": []}).count == 3


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda ws: undo_merge(ws, "nobody"), "unknown_source"),
        (lambda ws: undo_merge(ws, "Z"), "not_merged"),
        (lambda ws: unpin(ws, "A"), "not_pinned"),
        (lambda ws: explain_person(ws, "nobody"), "unknown_source"),
        (lambda ws: global_file(ws, "nobody"), "unknown_profile"),
        (lambda ws: global_file(ws, by=("email", "who@x.cn")), "unknown_identifier"),
    ],
    ids=["undo-unknown", "undo-single", "unpin-not-pinned", "explain-unknown", "show-unknown", "show-by-unknown"],
)
def test_errors_name_the_thing(chain: Workspace, feed: Feed, call, code: str) -> None:  # type: ignore[no-untyped-def]
    feed("profiles", [{"profile_id": "Z", "created_at": T1}])
    resolve_identities(chain)
    with pytest.raises(IdentityError) as info:
        call(chain)
    assert info.value.code == code
    assert "\n" not in info.value.message


def test_global_file_by_any_id_or_identifier(chain: Workspace) -> None:
    by_id = global_file(chain, "B")
    by_email = global_file(chain, by=("email", "  Ann@X.cn "))
    by_phone = global_file(chain, by=("phone", "138-1234-0001"))
    assert by_id.canonical_id == by_email.canonical_id == by_phone.canonical_id == "A"
    assert [s["source_id"] for s in by_id.sources] == ["A", "B", "C"]
    assert by_id.attributes["name"] == {"value": "Annie", "source": "C"}
    assert by_id.attributes["created_at"]["source"] == "A"
    assert {r["source_id"] for r in by_id.identifiers["email"]} == {"B", "C"}
    assert {o["order_id"]: o["source_id"] for o in by_id.orders} == {"oA": "A", "oB": "B", "oC": "C"}
    assert {e["event_id"]: e["source_id"] for e in by_id.events} == {"e1": None, "e2": "C"}
    assert by_id.counts["orders"] == 3


def test_global_file_refuses_an_identifier_on_several_people(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A"}, {"profile_id": "B"}])
    feed("identities", [{"profile_id": p, "type": "device_id", "value": "kiosk"} for p in "AB"])
    resolve_identities(ws)
    with pytest.raises(IdentityError, match=r"device_id 'kiosk' is on 2 people \(A, B\)") as info:
        global_file(ws, by=("device_id", "kiosk"))
    assert info.value.code == "ambiguous_identifier"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args, "--project", str(project)],
                          capture_output=True, text=True, check=False)


def test_cli_resolve_explain_undo_and_profile_show(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "p", default_phone_country="CN")
    files = tmp_path / "f"
    files.mkdir()
    (files / "profiles.csv").write_text(csv_text([
        {"profile_id": "A", "phone": "13812340001", "created_at": T1},
        {"profile_id": "B", "phone": "13812340001", "email": "b@x.cn", "created_at": T2},
        {"profile_id": "C", "email": "b@x.cn", "created_at": T3},
    ]), encoding="utf-8")
    ws.load("profiles", [files / "profiles.csv"])
    ws.close()
    done = _cli(ws.root, "resolve")
    assert done.returncode == 0, done.stderr
    assert "3 source records → 1 people" in done.stdout
    explained = _cli(ws.root, "resolve", "--explain", "C")
    assert "—phone +8613812340001→ B —email b@x.cn→ C" in explained.stdout
    shown = json.loads(_cli(ws.root, "profile", "show", "--by", "email", "B@X.CN", "--format", "json").stdout)
    assert shown["canonical_id"] == "A" and len(shown["sources"]) == 3
    undone = _cli(ws.root, "resolve", "--undo-merge", "C")
    assert undone.returncode == 0 and "C split from A and pinned apart" in undone.stdout
    summary = json.loads(_cli(ws.root, "resolve", "--format", "json").stdout)
    assert (summary["sources"], summary["persons"]) == (3, 2)
    missing = _cli(ws.root, "profile", "show", "nobody")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no profile 'nobody'"
    both = _cli(ws.root, "resolve", "--full", "--explain", "A")
    assert both.returncode == 1 and "one of --full, --explain" in both.stderr


@pytest.mark.postgres
def test_pins_live_in_the_state_store_on_postgres(tmp_path: Path, pg_url: str) -> None:
    ws = segflow.init(tmp_path / "pg", default_phone_country="CN", state=pg_url)
    path = tmp_path / "profiles.csv"
    path.write_text(csv_text([{"profile_id": "A", "email": "q@x.cn", "created_at": T1},
                              {"profile_id": "B", "email": "q@x.cn", "created_at": T2}]), encoding="utf-8")
    ws.load("profiles", [path])
    resolve_identities(ws)
    undo_merge(ws, "B", note="two people share a family address")
    ws.close()
    again = segflow.open(ws.root)
    try:
        resolve_identities(again, full=True)
        assert partition(again) == {"A": "A", "B": "B"}
        from segflow.state.tables import identity_pins, identity_runs

        with again.state.begin() as conn:
            pins = conn.execute(identity_pins.select()).mappings().all()
            modes = [r.mode for r in conn.execute(identity_runs.select().order_by(identity_runs.c.id))]
        assert [(p["source_id"], p["canonical_before"], p["note"]) for p in pins] == [
            ("B", "A", "two people share a family address")]
        assert modes == ["full", "undo", "full"]
    finally:
        again.close()
