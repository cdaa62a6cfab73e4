"""Edge cases of loading found in review: fill rules, consent order, names, compression, JSON Lines."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

import segflow
from segflow.errors import LoadError
from segflow.workspace import Workspace


def rejects_of(path: str | None) -> list[dict[str, str]]:
    assert path is not None
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_fill_rules_never_overwrite_stored_values(tmp_path: Path, write) -> None:
    ws = segflow.init(tmp_path / "p")
    cfg = ws.root / "segflow.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("fill: {}", "fill: {profiles: {country: CN}}"), encoding="utf-8")
    ws.close()
    ws = segflow.open(ws.root)
    ws.load("profiles", [write("a.csv", "profile_id,country\nq1,\nq2,US\n")])
    [s] = ws.load("profiles", [write("b.csv", "profile_id,city\nq2,Boston\nq3,Beijing\n")])
    assert (s.inserted, s.updated) == (1, 1)
    rows = ws.sql("SELECT profile_id, country, city FROM profiles ORDER BY 1").to_pylist()
    assert rows == [
        {"profile_id": "q1", "country": "CN", "city": None},
        {"profile_id": "q2", "country": "US", "city": "Boston"},
        {"profile_id": "q3", "country": "CN", "city": "Beijing"},
    ]
    ws.close()


def test_the_latest_consent_wins_whatever_the_load_order(project: Workspace, write) -> None:
    header = "profile_id,channel,status,ts\n"
    project.load("subscriptions", [write("new.csv", header + "p1,email,opted_out,2026-03-01\n")])
    [old] = project.load("subscriptions", [write("old.csv", header + "p1,email,opted_in,2025-01-01\n")])
    assert (old.inserted, old.updated, old.duplicates) == (0, 0, 1)
    [same_file] = project.load("subscriptions", [write("mixed.csv", header + "p2,sms,opted_out,2026-02-01\np2,sms,opted_in,2026-01-01\n")])
    assert same_file.duplicates == 1
    got = project.sql("SELECT profile_id, status FROM subscriptions ORDER BY 1").to_pylist()
    assert got == [{"profile_id": "p1", "status": "opted_out"}, {"profile_id": "p2", "status": "opted_out"}]


def test_replace_keeps_columns_the_file_does_not_have(project: Workspace, write) -> None:
    project.load("orders", [write("a.csv", "order_id,profile_id,ts,amount,coupon\no1,p1,2026-01-01,10,C1\n")])
    project.load("orders", [write("b.csv", "order_id,profile_id,ts,amount,status\no1,p1,2026-01-01,10,refunded\n")])
    assert project.sql("SELECT status, coupon FROM orders").to_pylist() == [{"status": "refunded", "coupon": "C1"}]


def test_column_names_differing_only_in_case_are_refused(project: Workspace, write) -> None:
    file = write("p.csv", "profile_id,City\np1,Beijing\n")
    with pytest.raises(LoadError) as info:
        project.load("profiles", [file])
    assert str(info.value) == f"{file}: column 'City' differs from 'city' only in case; rename one of them"
    assert project.table_counts()["profiles"] == 0


def test_gzip_csv_line_numbers_count_decompressed_lines(project: Workspace, tmp_path: Path) -> None:
    text = 'profile_id,name,birthday\np1,"a\nb",1990-01-01\n\np2,x,bad\np3,y,1990-01-01,extra\n'
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    [s] = project.load("profiles", [path])
    assert [(r["_line"], r["_reason"].split(":")[0]) for r in rejects_of(s.rejects_file)] == [
        ("5", "birthday"), ("6", "unreadable row")]
    assert rejects_of(s.rejects_file)[1]["_raw_line"] == "p3,y,1990-01-01,extra"


def test_json_lines_rejects_keep_cells_and_reload(project: Workspace, write) -> None:
    lines = [json.dumps({"profile_id": "p1", "birthday": "1990-02-30", "city": "上海"}), json.dumps({"profile_id": "p2"})]
    [s] = project.load("profiles", [write("p.jsonl", "\n".join(lines) + "\n")])
    [r] = rejects_of(s.rejects_file)
    assert (r["_line"], r["profile_id"], r["birthday"], r["city"]) == ("1", "p1", "1990-02-30", "上海")
    fixed = Path(s.rejects_file).read_text(encoding="utf-8").replace("1990-02-30", "1990-02-28")
    [s2] = project.load("profiles", [write("fixed.csv", fixed)])
    assert (s2.inserted, s2.rejected) == (1, 0)


def test_non_utf8_json_lines_fail_as_encoding(project: Workspace, write) -> None:
    file = write("p.jsonl", json.dumps({"profile_id": "p1", "city": "北京"}, ensure_ascii=False).encode("gbk") + b"\n")
    with pytest.raises(LoadError) as info:
        project.load("profiles", [file])
    assert info.value.code == "bad_encoding"


def test_json_lines_parser_rejects_are_counted_once(project: Workspace, write) -> None:
    text = json.dumps({"profile_id": "p1"}) + "\n" + '{"profile_id": "p2\x01x"}\n'
    [s] = project.load("profiles", [write("p.jsonl", text)])
    assert (s.rows, s.inserted, s.rejected) == (2, 1, 1)


def test_decimals_with_more_than_four_places_are_rejected(project: Workspace, write) -> None:
    [s] = project.load("orders", [write("o.csv", "order_id,profile_id,ts,amount\no1,p1,2026-01-01,1.23456\no2,p1,2026-01-01,1.2345\n")])
    assert s.rejected == 1
    assert rejects_of(s.rejects_file)[0]["_reason"] == "amount: not a decimal with at most 4 places (1.23456)"


def test_several_files_with_a_rejects_folder(project: Workspace, write, tmp_path: Path) -> None:
    a = write("a.csv", "profile_id,birthday\np1,bad\n")
    b = write("b.csv", "profile_id,birthday\np2,worse\n")
    out = tmp_path / "rejects"
    summaries = project.load("profiles", [a, b], rejects=out)
    assert [Path(s.rejects_file).name for s in summaries] == ["profiles-a.rejects.csv", "profiles-b.rejects.csv"]
    assert [rejects_of(s.rejects_file)[0]["profile_id"] for s in summaries] == ["p1", "p2"]


def test_inference_looks_past_the_sample(project: Workspace, write, monkeypatch: pytest.MonkeyPatch) -> None:
    import segflow.ingest.cleaning as cleaning

    monkeypatch.setattr(cleaning, "_INFER_SAMPLE", 3)
    rows = ["p1,,7,x", "p2,,8,y", "p3,,9,z", "p4,5,10,1", "p5,6,oops,2"]
    [s] = project.load("profiles", [write("p.csv", "profile_id,late,mixed,words\n" + "\n".join(rows) + "\n")])
    # late: empty in the sample, integers after it; mixed: integers in the sample, text after it.
    assert s.new_attributes == {"late": "integer", "mixed": "string", "words": "string"}
    assert s.rejected == 0
