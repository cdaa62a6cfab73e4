"""The generated shop loads exactly as its manifest says, and a reload changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import segflow
from segflow.generate import generate_shop

KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")


def test_generated_shop_loads_as_the_manifest_predicts(tmp_path: Path) -> None:
    manifest = generate_shop(tmp_path / "data", profiles=1500, seed=7, days=120, end=date(2026, 11, 1))
    ws = segflow.init(tmp_path / "p", timezone="Asia/Shanghai", default_phone_country="CN")
    for kind in KINDS:
        info = manifest["files"][kind]
        [s] = ws.load(kind, [tmp_path / "data" / info["file"]])
        assert s.rows == info["rows"], kind
        assert s.rejected == info["expected_rejects"], kind
        assert s.duplicates == info["expected_duplicates"], kind
        assert s.accepted == info["rows"] - info["expected_rejects"] - info["expected_duplicates"], kind
    counts = ws.table_counts()
    # Every distinct source profile is in, except the rejected rows (bad dates, missing ids).
    assert counts["profiles"] == manifest["profiles"] - manifest["files"]["profiles"]["expected_rejects"]
    emails = ws.sql("SELECT count(*) AS n FROM profiles WHERE email <> lower(trim(email))").to_pylist()
    assert emails == [{"n": 0}]
    before = ws.sql("SELECT * EXCLUDE (_load_id) FROM orders ORDER BY order_id")
    for kind in KINDS:
        [again] = ws.load(kind, [tmp_path / "data" / manifest["files"][kind]["file"]])
        assert (again.inserted, again.updated) == (0, 0), kind
    assert ws.table_counts() == counts
    assert ws.sql("SELECT * EXCLUDE (_load_id) FROM orders ORDER BY order_id").equals(before)
    ws.close()


def test_demo_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segflow.cli.app", "demo", str(tmp_path / "demo"), "--profiles", "800", "--days", "60"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout and "subscriptions" in result.stdout
    manifest = json.loads((tmp_path / "demo" / "data" / "manifest.json").read_text())
    with segflow.open(tmp_path / "demo") as ws:
        expected = manifest["profiles"] - manifest["files"]["profiles"]["expected_rejects"]
        # the demo resolves identities: every loaded record is a source, profiles holds the people
        sources = ws.sql("SELECT count(*) AS n FROM source_profiles").to_pylist()[0]["n"]
        people = ws.table_counts()["profiles"]
        assert sources == expected and 0 < people < sources
        assert f"{sources:,} source records -> {people:,} people" in " ".join(result.stdout.split())
        # every model ran and drew its chart; the CLV fit may not converge on so small a shop: then
        # it says so and the others still run
        text = " ".join(result.stdout.split())
        clv_ran = "Model clv (`segflow model clv`): not run:" not in text
        names = ["rfm", "activity", "lifecycle", "clusters"] + (["clv"] if clv_ran else [])
        columns = {"rfm": "rfm_score", "clv": "clv", "activity": "activity_level", "lifecycle": "lifecycle_stage",
                   "clusters": "cluster"}
        row = ws.sql("SELECT " + ", ".join(f"count({columns[n]}) AS n_{n}" for n in names) + " FROM traits").to_pylist()[0]
        assert all(n > 0 for n in row.values()), row
        assert row["n_lifecycle"] == people  # every profile has a stage (prospect when it never bought)
        assert "Model rfm (`segflow model rfm`): high value" in text
        assert "Model clv (`segflow model clv`):" in text
        assert "Model lifecycle (`segflow model lifecycle`): prospect" in text
        for name in names:
            chart = tmp_path / "demo" / "charts" / f"{name}.png"
            assert chart.stat().st_size > 5000, name
            assert f"Chart: {chart}" in result.stdout
