"""Loading files: cleaning, rejects with line numbers, idempotent reloads, atomicity."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segflow.errors import LoadError, SchemaError
from segflow.workspace import Workspace

DIRTY_EVENTS = (
    "event_id,profile_id,anonymous_id,event,ts,properties,channel\n"
    'e1,p1,,page_view,2026-03-01T10:00:00Z,"{""category"": ""beauty""}",app\n'  # 2 ok
    "e2,p1,,add_to_cart,2024-13-45T99:00:00Z,,app\n"  # 3 bad timestamp
    "e3,,,login,2026-03-01T11:00:00Z,,web\n"  # 4 no profile_id and no anonymous_id
    'e4,p2,,search,2026-03-02 08:00,"{""q"": ""口红 💄""}",app\n'  # 5 ok, Chinese + emoji
    "e1,p1,,page_view,2026-03-01T10:00:00Z,,app\n"  # 6 duplicate event_id
    'e5,p3,,page_view,1772359200,"[1,2]",app\n'  # 7 properties not an object
    "e6,,anon-9,page_view,2026/03/03 09:30:00,,web\n"  # 8 ok, anonymous
    "e7,p4,,,2026-03-03T00:00:00Z,,web\n"  # 9 missing event name
    "e8,p4,,login,2026-03-03T00:00:00Z,{broken,web\n"  # 10 properties not JSON
    ",p5,,login,2026-03-04T00:00:00Z,,web\n"  # 11 ok, event_id derived
)


def rejects_of(path: str | None) -> list[dict[str, str]]:
    assert path is not None
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_dirty_events_are_cleaned_and_rejected_with_lines(project: Workspace, write) -> None:
    file = write("events.csv", DIRTY_EVENTS)
    [s] = project.load("events", [file])
    assert (s.rows, s.accepted, s.inserted, s.rejected, s.duplicates) == (10, 4, 4, 5, 1)
    rejects = rejects_of(s.rejects_file)
    assert [(r["_line"], r["_reason"]) for r in rejects] == [
        ("3", "ts: not a timestamp (2024-13-45T99:00:00Z)"),
        ("4", "profile_id or anonymous_id: missing"),
        ("7", "properties: not a JSON object"),
        ("9", "event: missing"),
        ("10", "properties: not valid JSON ({broken)"),
    ]
    assert rejects[0]["event_id"] == "e2" and rejects[0]["ts"] == "2024-13-45T99:00:00Z"
    rows = project.sql(
        "SELECT event_id, profile_id, anonymous_id, event, epoch(ts)::BIGINT AS ts, properties->>'q' AS q "
        "FROM events ORDER BY ts"
    ).to_pylist()
    assert [r["event_id"] for r in rows[:3]] == ["e1", "e4", "e6"]
    assert rows[1]["q"] == "口红 💄"
    assert rows[2]["anonymous_id"] == "anon-9" and rows[2]["profile_id"] is None
    assert rows[3]["event_id"].startswith("h_")
    assert rows[0]["ts"] == 1772359200  # 2026-03-01T10:00:00Z


def test_reloading_the_same_file_changes_nothing(project: Workspace, write) -> None:
    file = write("events.csv", DIRTY_EVENTS)
    project.load("events", [file])
    before = project.sql("SELECT * EXCLUDE (_load_id) FROM events ORDER BY event_id")
    [again] = project.load("events", [file])
    assert (again.accepted, again.inserted, again.updated, again.rejected, again.duplicates) == (0, 0, 0, 5, 5)
    assert project.sql("SELECT * EXCLUDE (_load_id) FROM events ORDER BY event_id").equals(before)


PROFILES = (
    "profile_id,email,phone,name,birthday,city,vip_score\n"
    "p1, Alice@Example.COM ,138 1234 5678,王伟,1990-02-28,Beijing,10\n"
    "p2,bob@example.com,+7 912 345 67 89,Борис,1990-02-30,Moscow,5\n"  # bad date
    "p3,,,😀 Emoji,2000-02-29,Shanghai,3\n"
    "p1,,,,,Shanghai,\n"  # same key: city changes, other cells kept
)


def test_profiles_last_write_wins_and_missing_cells_keep_values(project: Workspace, write) -> None:
    [s] = project.load("profiles", [write("p.csv", PROFILES)])
    assert (s.rows, s.inserted, s.rejected, s.duplicates) == (4, 2, 1, 1)
    assert s.new_attributes == {"vip_score": "integer"}
    [r] = rejects_of(s.rejects_file)
    assert r["_line"] == "3"
    assert r["_reason"] == "birthday: not a date (1990-02-30)"
    p1 = project.sql("SELECT * FROM profiles WHERE profile_id = 'p1'").to_pylist()[0]
    assert p1["email"] == "alice@example.com"
    assert p1["phone"] == "+8613812345678"
    assert p1["name"] == "王伟"
    assert p1["city"] == "Shanghai"
    assert p1["vip_score"] == 10
    # A later file updates one attribute; the others keep their values.
    [s2] = project.load("profiles", [write("p2.csv", "profile_id,city,vip_score\np1,Guangzhou,\np3,Shanghai,3\n")])
    assert (s2.inserted, s2.updated, s2.duplicates) == (0, 1, 1)
    p1 = project.sql("SELECT city, vip_score, name FROM profiles WHERE profile_id = 'p1'").to_pylist()[0]
    assert p1 == {"city": "Guangzhou", "vip_score": 10, "name": "王伟"}


def test_a_later_value_of_the_wrong_type_is_rejected_not_retyped(project: Workspace, write) -> None:
    project.load("profiles", [write("a.csv", "profile_id,vip_score\np1,1\n")])
    [s] = project.load("profiles", [write("b.csv", "profile_id,vip_score\np2,high\np3,2\n")])
    assert (s.inserted, s.rejected) == (1, 1)
    assert rejects_of(s.rejects_file)[0]["_reason"] == "vip_score: not an integer (high)"
    assert project.registry.get("profiles", "vip_score").type.value == "integer"


def test_orders_replace_on_reload_and_default_status(project: Workspace, write) -> None:
    [s] = project.load("orders", [write("o.csv", "order_id,profile_id,ts,amount\no1,p1,2026-01-01,99.90\no2,p1,2026-01-02,abc\n")])
    assert (s.inserted, s.rejected) == (1, 1)
    assert project.sql("SELECT status, amount::VARCHAR AS a FROM orders").to_pylist() == [{"status": "paid", "a": "99.9000"}]
    [s2] = project.load("orders", [write("o2.csv", "order_id,profile_id,ts,amount,status\no1,p1,2026-01-01,99.90,Refunded\no3,p2,2026-01-03,5,lost\n")])
    assert (s2.inserted, s2.updated, s2.rejected) == (0, 1, 1)
    assert rejects_of(s2.rejects_file)[0]["_reason"] == "status: lost is not one of paid, refunded, returned, cancelled"
    assert project.sql("SELECT order_id, status FROM orders").to_pylist() == [{"order_id": "o1", "status": "refunded"}]


def test_identities_are_normalised_by_type(project: Workspace, write) -> None:
    text = "profile_id,type,value\np1,EMAIL, A@B.COM \np1,phone,13812345678\np1,wechat_openid,oAbC\np1,email,a@b.com\n"
    [s] = project.load("identities", [write("i.csv", text)])
    assert (s.inserted, s.duplicates) == (3, 1)
    assert sorted(project.sql("SELECT type, value FROM identities").to_pylist(), key=str) == sorted(
        [{"type": "email", "value": "a@b.com"}, {"type": "phone", "value": "+8613812345678"},
         {"type": "wechat_openid", "value": "oAbC"}], key=str)


def test_missing_required_column_fails_before_writing(project: Workspace, write) -> None:
    file = write("o.csv", "order_id,profile_id,amount\no1,p1,3\n")
    with pytest.raises(LoadError) as info:
        project.load("orders", [file])
    assert str(info.value) == f"{file}: required column 'ts' is missing (columns: order_id, profile_id, amount)"
    assert info.value.path == f"{file}:ts"
    assert project.table_counts()["orders"] == 0


def test_non_utf8_file_fails_and_writes_nothing(project: Workspace, write) -> None:
    text = "profile_id,name,city\n" + "".join(f"p{i},user{i},Beijing\n" for i in range(50)) + "p99,王伟,北京\n"
    file = write("gbk.csv", text.encode("gbk"))
    with pytest.raises(LoadError) as info:
        project.load("profiles", [file])
    assert info.value.code == "bad_encoding"
    assert str(info.value).startswith(f"{file}: not UTF-8 text")
    assert project.table_counts()["profiles"] == 0
    assert not list((project.root / ".segflow" / "rejects").glob("*")) if (project.root / ".segflow" / "rejects").exists() else True
    assert project.state.loads()[0]["status"] == "failed"


def test_bad_column_name_fails(project: Workspace, write) -> None:
    file = write("p.csv", "profile_id,First Name\np1,Ann\n")
    with pytest.raises(SchemaError, match="'First Name' is not a usable column name"):
        project.load("profiles", [file])


def test_unknown_kind_and_format(project: Workspace, write) -> None:
    with pytest.raises(LoadError, match="unknown kind 'people'"):
        project.load("people", [write("x.csv", "a\n1\n")])
    with pytest.raises(LoadError, match="cannot tell the format"):
        project.load("profiles", [write("x.xlsx", "a\n1\n")])


def test_line_numbers_with_quoted_newlines_blank_lines_and_parser_errors(project: Workspace, write) -> None:
    text = (
        "profile_id,name,birthday\n"      # 1
        'p1,"two\nlines",1990-01-01\n'     # 2-3
        "\n"                               # 4 blank
        "p2,b,bad\n"                       # 5 bad date
        "p3,c,1990-01-01,extra\n"          # 6 too many columns
        "p4,d,1990-13-01\n"                # 7 bad date
    )
    [s] = project.load("profiles", [write("p.csv", text)])
    assert s.rejected == 3 and s.inserted == 1
    got = [(r["_line"], r["_reason"].split(":")[0]) for r in rejects_of(s.rejects_file)]
    assert got == [("5", "birthday"), ("6", "unreadable row"), ("7", "birthday")]


def test_json_lines(project: Workspace, write) -> None:
    lines = [
        json.dumps({"profile_id": "p1", "email": "X@Y.COM", "tags": ["a", "b"], "score": 1.5}),
        "",
        "{not json",
        json.dumps({"profile_id": "p2", "name": "Ольга", "score": 2}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"profile_id": None, "name": "nobody"}),
    ]
    [s] = project.load("profiles", [write("p.jsonl", "\n".join(lines) + "\n")])
    assert (s.rows, s.inserted, s.rejected) == (5, 2, 3)
    assert [(r["_line"], r["_reason"]) for r in rejects_of(s.rejects_file)] == [
        ("3", "not valid JSON"), ("5", "not a JSON object"), ("6", "profile_id: missing")]
    assert rejects_of(s.rejects_file)[0]["_raw_line"] == "{not json"
    rows = project.sql("SELECT profile_id, email, name, tags, score FROM profiles ORDER BY 1").to_pylist()
    assert rows[0] == {"profile_id": "p1", "email": "x@y.com", "name": None, "tags": '["a","b"]', "score": 1.5}
    assert rows[1]["name"] == "Ольга"


def test_parquet_gives_the_same_rows_as_csv(project: Workspace, write, tmp_path: Path) -> None:
    table = pa.table({
        "order_id": ["o1", "o2", "o3", None],
        "profile_id": ["p1", "p2", "p2", "p3"],
        "ts": pa.array([1772359200, 1772359300, 1772359400, 1772359500], pa.timestamp("s", tz="UTC")),
        "amount": [10.5, 20.0, 5.25, 1.0],
        "store": ["上海店", "web", None, "web"],
    })
    path = tmp_path / "files" / "orders.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    [s] = project.load("orders", [path])
    assert (s.rows, s.inserted, s.rejected) == (4, 3, 1)
    assert rejects_of(s.rejects_file)[0]["_line"] == "4"
    got = project.sql("SELECT order_id, epoch(ts)::BIGINT AS ts, amount::DOUBLE AS amount, store FROM orders ORDER BY 1").to_pylist()
    assert got[0] == {"order_id": "o1", "ts": 1772359200, "amount": 10.5, "store": "上海店"}


def test_fixed_rejects_file_reloads_as_is(project: Workspace, write) -> None:
    [s] = project.load("profiles", [write("p.csv", "profile_id,birthday\np1,1990-02-30\np2,1991-01-01\n")])
    fixed = Path(s.rejects_file).read_text(encoding="utf-8").replace("1990-02-30", "1990-02-28")
    [s2] = project.load("profiles", [write("fixed.csv", fixed)])
    assert (s2.inserted, s2.rejected) == (1, 0)
    still_bad = Path(s.rejects_file).read_text(encoding="utf-8").replace("1990-02-30", "1990-02-31")
    [s3] = project.load("profiles", [write("still.csv", still_bad)])
    assert rejects_of(s3.rejects_file) == [
        {"_line": "2", "_reason": "birthday: not a date (1990-02-31)", "profile_id": "p1", "birthday": "1990-02-31", "_raw_line": ""}]
    assert not project.registry.get("profiles", "_line")
    assert project.sql("SELECT count(*) AS n FROM profiles").to_pylist() == [{"n": 2}]


def test_a_failure_mid_load_leaves_nothing(project: Workspace, write, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the rows are written into the table, before the commit."""
    import segflow.ingest.loader as loader

    project.load("events", [write("a.csv", "event_id,profile_id,event,ts\na1,p1,login,2026-01-01\n")])
    real_merge = loader.merge_staged

    def merge_then_crash(*args, **kwargs):
        real_merge(*args, **kwargs)  # rows are in the table inside the transaction...
        raise KeyboardInterrupt  # ...when the user presses Ctrl-C

    monkeypatch.setattr(loader, "merge_staged", merge_then_crash)
    big = "event_id,profile_id,event,ts,extra_col\n" + "".join(f"b{i},p{i},login,2026-01-02,{i}\n" for i in range(1000))
    with pytest.raises(KeyboardInterrupt):
        project.load("events", [write("b.csv", big)])
    assert project.sql("SELECT event_id FROM events").to_pylist() == [{"event_id": "a1"}]
    assert "extra_col" not in project.warehouse.columns("events")
    assert project.registry.get("events", "extra_col") is None


def test_fill_rules_fill_missing_cells(tmp_path: Path, write) -> None:
    import segflow

    ws = segflow.init(tmp_path / "p")
    cfg = ws.root / "segflow.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("fill: {}", "fill: {profiles: {country: CN}}"), encoding="utf-8")
    ws.close()
    ws = segflow.open(ws.root)
    ws.load("profiles", [write("p.csv", "profile_id,country\np1,\np2,RU\n")])
    assert ws.sql("SELECT profile_id, country FROM profiles ORDER BY 1").to_pylist() == [
        {"profile_id": "p1", "country": "CN"}, {"profile_id": "p2", "country": "RU"}]
    ws.close()


def test_declared_types_win_over_inference(project: Workspace, write) -> None:
    (project.root / "schema.yaml").write_text("profiles:\n  zip: {type: string, label: Zip code}\n  score: number\n", encoding="utf-8")
    project.sync_schema()
    [s] = project.load("profiles", [write("p.csv", "profile_id,zip,score\np1,100200,3\n")])
    assert s.new_attributes == {}
    row = project.sql("SELECT zip, score FROM profiles").to_pylist()[0]
    assert row == {"zip": "100200", "score": 3.0}
    described = {c["name"]: c for c in project.describe_schema()["profiles"]}
    assert described["zip"] == {"name": "zip", "type": "string", "label": "Zip code", "origin": "declared"}


def test_redeclaring_a_type_converts_stored_values_or_refuses(project: Workspace, write) -> None:
    project.load("profiles", [write("p.csv", "profile_id,level,note\np1,3,7\np2,4,x1\n")])
    assert project.registry.get("profiles", "note").type.value == "string"
    project.declare("profiles", "level", "string")
    assert project.warehouse.columns("profiles")["level"] == "VARCHAR"
    with pytest.raises(SchemaError, match=r"profiles.note: declared integer but 1 stored value\(s\) of type string do not convert"):
        project.declare("profiles", "note", "integer")
    assert "note" not in (project.root / "schema.yaml").read_text(encoding="utf-8")
    assert project.registry.get("profiles", "note").type.value == "string"


BROKEN_LINE_EVENTS = (
    "event_id,profile_id,anonymous_id,event,ts,properties\n"
    "e1,p1,,login,2026-01-01T10:00:00Z,\"{\"\"a\"\": 1}\"\n"
    "e2,p2,,page_view,not a date,\n"  # bad timestamp
    "e1,p9,,login,2026-01-02,\n"  # repeat of e1: the first wins
    "e3,,,login,2026-01-03,\n"  # neither profile_id nor anonymous_id
    "\n"  # a blank line
    "e4,p4,,order_paid,2026-01-04,\"{\"\"note\"\": \"\"two\n"
    "lines 名字 🎉\"\"}\"\n"  # a quoted line break inside a cell
    "e5,p5,,,2026-01-05,\n"  # no event name
    "e6,p6,,login,2026-01-06,{not json\n"
    "e7,p7,a7,too,many,cells,here,and,more\n"  # the reader refuses it
    ",p8,,login,2026-01-08,\n"  # no event_id: one is derived
    "e9,,anon9,app_open,1767225600,\n"  # epoch seconds
)


def test_rejects_keep_exact_lines_across_quoted_breaks_and_surplus_cells(project: Workspace, write) -> None:
    [s] = project.load("events", [write("e.csv", BROKEN_LINE_EVENTS)])
    # 10 records (the blank line is none): e1, the e1 repeat, the derived id and e9 are
    # good; e2 (date), e3 (no ids), e4 (a raw line break is not valid JSON), e5 (no event),
    # e6 (JSON) and e7 (too many cells: one reject, though DuckDB reports three errors).
    assert (s.rows, s.inserted, s.rejected, s.duplicates) == (10, 3, 6, 1)
    text = Path(s.rejects_file).read_text(encoding="utf-8")
    found = [(int(r["_line"]), r["event_id"]) for r in csv.DictReader(io.StringIO(text))]
    assert found == [(3, "e2"), (5, "e3"), (7, "e4"), (9, "e5"), (10, "e6"), (11, "")]
    assert project.sql("SELECT event_id FROM events WHERE profile_id = 'p1'").to_pylist() == [{"event_id": "e1"}]
    [again] = project.load("events", [write("e.csv", BROKEN_LINE_EVENTS)])
    assert (again.inserted, again.rejected, again.duplicates) == (0, 6, 4)
