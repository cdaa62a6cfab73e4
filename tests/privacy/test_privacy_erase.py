"""Erasure end to end: nothing of the person left anywhere, everyone else untouched, and
later loads suppressed until the person comes back with consent."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from privacy_shop import FILES, P1_IDS, P1_VALUES, load

from segflow import clock
from segflow.errors import IdentityError
from segflow.privacy import erase_person, export_person, is_suppressed, lift_suppression
from segflow.state.tables import metadata
from segflow.workspace import Workspace

#: Suppression and audit rows an erasure adds (hashes and counts only).
RECORDS = {"erasures", "erased_identifiers", "audit_log"}
_ID = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, P1_IDS)) + r")(?![A-Za-z0-9_])")


def names_p1(value: Any) -> bool:
    text = "" if value is None else str(value)
    return bool(_ID.search(text)) or any(v in text for v in P1_VALUES if len(v) > 4) \
        or re.search(r"\bAnn\b", text) is not None


def warehouse_rows(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    wh = ws.warehouse
    return {t: sorted(wh.rows(f'SELECT * FROM "{t}"'), key=repr) for t in wh.tables()}


def state_rows(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    with ws.state.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(sa.select(t))), key=repr)
                for t in metadata.sorted_tables}


def project_files(ws: Workspace) -> list[Path]:
    return [p for p in (ws.root / ".segflow").rglob("*") if p.suffix in (".jsonl", ".csv")]


def test_the_fixture_has_the_person_everywhere(shop: Workspace) -> None:
    wh = {t: rows for t, rows in warehouse_rows(shop).items() if any(names_p1(c) for r in rows for c in r)}
    assert {"profiles", "events", "orders", "order_items", "identities", "memberships", "subscriptions",
            "segment_members", "segment_history", "tag_assignments", "profile_map", "identity_index",
            "anonymous_links"} <= set(wh)
    st = {t for t, rows in state_rows(shop).items() if any(names_p1(c) for r in rows for c in r)}
    assert {"journey_runs", "outbox", "inbox"} <= st
    assert any(names_p1(p.read_text(encoding="utf-8")) for p in project_files(shop))


def test_erasure_removes_every_row_and_line_of_the_person_and_only_theirs(shop: Workspace) -> None:
    wh_before, st_before = warehouse_rows(shop), state_rows(shop)
    report = erase_person(shop, "w1")  # a merged record's id: its person, p1
    assert report.person == "p1"
    assert report.tables["profiles"] == 1 and report.tables["order_items"] == 1 and report.tables["inbox"] == 2
    assert report.tables["journey_runs"] == 1 and report.tables["outbox"] == 1
    assert report.identifiers == 7 and len(report.files) == 2  # the email outbox file and the rejects file
    for table, rows in warehouse_rows(shop).items():
        assert rows == [r for r in wh_before.get(table, []) if not any(names_p1(c) for c in r)], table
        assert not any(names_p1(c) for r in rows for c in r), table
    p1_runs = {r[0] for r in st_before["journey_runs"] if names_p1(r[3])}
    assert p1_runs
    for table, rows in state_rows(shop).items():
        if table in RECORDS:
            continue
        expected = [r for r in st_before[table] if not any(names_p1(c) for c in r)]
        if table == "journey_steps":  # (id, run_id, ...): a step names its run
            expected = [r for r in expected if r[1] not in p1_runs]
        assert rows == expected, table
    records = state_rows(shop)
    assert not any(names_p1(c) for t in RECORDS for r in records[t] for c in r)
    for path in project_files(shop):
        assert not names_p1(path.read_text(encoding="utf-8")), path
    assert any("p2" in p.read_text(encoding="utf-8") for p in project_files(shop))  # p2's message kept
    [rejects] = (shop.root / ".segflow/rejects").glob("*.csv")
    assert rejects.read_text(encoding="utf-8").splitlines() == ["_line,_reason,profile_id,email,birthday,_raw_line"]
    with shop.state.engine.connect() as conn:
        [audit] = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM audit_log WHERE action = 'profile.erase'"))]
    assert audit["target"] == str(report.erasure_id) and json.loads(audit["detail"])["tables"]["profiles"] == 1


def test_erasing_again_says_no_profile(shop: Workspace) -> None:
    erase_person(shop, by=("email", " ANN@x.com"))
    with pytest.raises(IdentityError, match="no profile 'p1'") as exc:
        erase_person(shop, "p1")
    assert exc.value.code == "unknown_profile"


def test_export_returns_the_rows_an_erasure_removes(shop: Workspace) -> None:
    exported = export_person(shop, "p1").to_dict()
    assert exported["person"] == "p1" and "events" in exported["tables"] and "outbox" in exported["tables"]
    rows = exported["rows"]
    assert {r["order_id"] for r in rows["order_items"]} == {"ord1xyz"}
    assert {r["event_id"] for r in rows["events"]} >= {"e1", "e2", "e4"}
    assert [r["profile_id"] for r in rows["journey_runs"]] == ["p1"] and len(rows["inbox"]) == 2
    assert exported["profile"]["canonical_id"] == "p1"
    report = erase_person(shop, "p1")
    for table, n in report.tables.items():
        assert len(rows.get(table, [])) == n, table
    json.dumps(exported, default=str)


def test_reloading_the_same_files_does_not_bring_the_person_back(shop: Workspace, tmp_path: Path) -> None:
    erase_person(shop, "p1")
    summaries = load(shop, tmp_path / "again")
    assert {k: s.suppressed for k, s in summaries.items()} == {  # type: ignore[attr-defined]
        "profiles": 1, "identities": 3, "events": 3, "orders": 1, "order_items": 1, "memberships": 1,
        "subscriptions": 1}
    assert all(s.rejected == 0 and s.rejects_file is None for s in summaries.values())  # type: ignore[attr-defined]
    assert summaries["profiles"].to_dict()["suppressed"] == 1  # type: ignore[attr-defined]
    for table, rows in warehouse_rows(shop).items():
        assert not any(names_p1(c) for r in rows for c in r), table
    assert is_suppressed(shop, [("email", " ann@X.COM "), ("profile_id", "p2")]) == {("email", " ann@X.COM ")}
    assert is_suppressed(shop, [("profile_id", "p2")]) == set()


def test_unsuppress_lets_rows_carrying_the_identifier_load_again(shop: Workspace, tmp_path: Path) -> None:
    erase_person(shop, "p1")
    assert lift_suppression(shop, "email", "ann@x.com", source="signup form 2026-04-01") == 1
    with pytest.raises(IdentityError, match="is not suppressed"):
        lift_suppression(shop, "email", "ann@x.com", source="again")
    again = load(shop, tmp_path / "again", ("profiles", "events"))
    assert again["profiles"].suppressed == 0  # type: ignore[attr-defined]
    assert shop.warehouse.count("SELECT count(*) FROM profiles WHERE profile_id = 'p1'") == 1
    # the events carry only p1 (still suppressed): consent under the email does not cover them
    assert again["events"].suppressed == 3  # type: ignore[attr-defined]
    assert is_suppressed(shop, [("profile_id", "p1"), ("email", "ann@x.com")]) == set()  # vouched for


def test_an_opted_in_subscription_lifts_the_profile_id(shop: Workspace, tmp_path: Path) -> None:
    erase_person(shop, "p1")
    folder = tmp_path / "consent"
    folder.mkdir()
    sub = folder / "subscriptions.csv"
    later = (clock.now() + timedelta(days=1)).isoformat()  # consent given after the erasure
    sub.write_text(f"profile_id,channel,topic,status,ts\np1,email,,opted_in,{later}\n", encoding="utf-8")
    summary = shop.load("subscriptions", [sub])[0]
    assert summary.suppressed == 0 and summary.inserted == 1
    again = load(shop, tmp_path / "again", ("profiles", "events"))
    assert again["profiles"].suppressed == 0 and again["events"].suppressed == 2  # e2 (anon1xyz), e4 (w1)  # type: ignore[attr-defined]
    with shop.state.engine.connect() as conn:
        sources = [r[0] for r in conn.execute(sa.text("SELECT lifted_source FROM erased_identifiers "
                                                       "WHERE lifted_at IS NOT NULL"))]
    assert sources == [f"opted_in subscription in {sub.resolve()}"]


def test_without_erasures_a_load_touches_no_suppression_table(project: Workspace, tmp_path: Path) -> None:
    summaries = load(project, tmp_path / "data", ("profiles",))
    assert summaries["profiles"].suppressed == 0  # type: ignore[attr-defined]
    assert not [t for t in project.warehouse.tables() if t.startswith("_")]
    assert "suppressed" in FILES or True
