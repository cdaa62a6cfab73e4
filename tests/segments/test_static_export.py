"""Static segments (add/remove with unknown ids), members, overlap and audience exports."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from segshop import BJ_VIEWERS, T1, VIEWERS, history_of, members_of

from segflow.definitions.plan import apply
from segflow.errors import SegflowError
from segflow.segments.export import export_members
from segflow.segments.query import changes, members, overlap
from segflow.segments.refresh import refresh
from segflow.segments.static import add_members, read_ids, remove_members
from segflow.workspace import Workspace


@pytest.fixture
def picks(shop: Workspace, define) -> Workspace:
    define("picks", "type: static\ndescription: hand-picked\n")
    define("viewers", VIEWERS)
    define("bj_viewers", BJ_VIEWERS)
    apply(shop, refresh=False)
    refresh(shop, as_of=T1)
    return shop


def test_add_reports_unknown_ids_and_loads_the_rest(picks: Workspace) -> None:
    result = add_members(picks, "picks", ["p1", "ghost", "p2", "p1", " p3 ", "ghost2"], at=T1)
    assert result.unknown == ["ghost", "ghost2"]
    assert (result.diff.entered, result.diff.members, result.unchanged) == (3, 3, 0)
    assert members_of(picks, "picks") == {"p1", "p2", "p3"}
    again = add_members(picks, "picks", ["p1", "p4"], at=T1)
    assert (again.diff.entered, again.unchanged, again.diff.members) == (1, 1, 4)
    removed = remove_members(picks, "picks", ["p1", "p5", "ghost"], at=T1)
    assert (removed.diff.exited, removed.unchanged, removed.diff.members) == (1, 2, 3)
    assert [c for p, c, _ in history_of(picks, "picks") if p == "p1"] == ["entered", "exited"]


@pytest.mark.parametrize(("name", "code"), [("viewers", "dynamic_segment"), ("nope", "unknown_segment")],
                         ids=["dynamic", "unknown"])
def test_add_refuses_dynamic_and_unknown_segments(picks: Workspace, name: str, code: str) -> None:
    with pytest.raises(SegflowError) as info:
        add_members(picks, name, ["p1"])
    assert info.value.code == code


@pytest.mark.parametrize(("text", "ids"), [
    ("p1\np2\n\np3\n", ["p1", "p2", "p3"]),
    ("name,profile_id\nA,p1\nB,p2\n", ["p1", "p2"]),
    ("\ufeffprofile_id\np9\n", ["p9"]),
    ("p1,extra\np2,extra\n", ["p1", "p2"]),
], ids=["lines", "csv-column", "bom-header", "first-column"])
def test_read_ids_formats(tmp_path: Path, text: str, ids: list[str]) -> None:
    file = tmp_path / "ids.csv"
    file.write_text(text, encoding="utf-8")
    assert read_ids(file) == ids


def test_members_with_columns_and_changes(picks: Workspace) -> None:
    table = members(picks, "viewers", columns=["city", "email"])
    assert table.column_names == ["profile_id", "entered_at", "city", "email"]
    assert table.column("profile_id").to_pylist() == ["p1", "p2", "p4"]
    assert table.column("city").to_pylist() == ["Beijing", "Shanghai", "Beijing"]
    with pytest.raises(SegflowError, match="no column 'salary'"):
        members(picks, "viewers", columns=["salary"])
    assert changes(picks, "viewers", change="entered").num_rows == 3
    assert changes(picks, "viewers", change="exited").num_rows == 0


def test_overlap_matches_set_arithmetic(picks: Workspace) -> None:
    add_members(picks, "picks", ["p2", "p4", "p5"], at=T1)
    sets = {n: members_of(picks, n) for n in ("viewers", "bj_viewers", "picks")}
    result = overlap(picks, list(sets))
    assert result["sizes"] == {n: len(s) for n, s in sets.items()}
    for pair in result["pairs"]:
        assert pair["both"] == len(sets[pair["a"]] & sets[pair["b"]])
    assert result["all"] == len(sets["viewers"] & sets["bj_viewers"] & sets["picks"])
    assert result["any"] == len(sets["viewers"] | sets["bj_viewers"] | sets["picks"])
    with pytest.raises(SegflowError, match="at least two"):
        overlap(picks, ["viewers"])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("fmt", "header", "expected"), [
    ("customer-match", ["Email", "Phone"], {
        (_sha("alicesmith@gmail.com"), _sha("+8613800000001")),  # gmail: dots of the local part removed
        (_sha("alice.work@example.com"), ""),                      # second email from identities
        (_sha("dan@example.com"), _sha("+8613800000004")),
        (_sha("bob@example.com"), ""),
    }),
    ("meta", ["email", "phone"], {
        (_sha("alice.smith@gmail.com"), _sha("8613800000001")),   # Meta: digits with country code, no +
        (_sha("alice.work@example.com"), ""),
        (_sha("dan@example.com"), _sha("8613800000004")),
        (_sha("bob@example.com"), ""),
    }),
], ids=["google", "meta"])
def test_audience_export_normalises_and_hashes(picks: Workspace, tmp_path: Path, fmt: str, header: list[str],
                                               expected: set[tuple[str, str]]) -> None:
    add_members(picks, "picks", ["p1", "p2", "p4", "p5"], at=T1)  # p5 has no email or phone of its own
    target = tmp_path / "out" / "audience.csv"
    result = export_members(picks, "picks", target, fmt=fmt)
    with target.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == header
    got = {tuple(r) for r in rows[1:]}
    # p5 has an identity phone: it is used
    p5 = (("", _sha("+8613800000005")) if fmt == "customer-match" else ("", _sha("8613800000005")))
    assert got == expected | {p5}
    assert (result.members, result.without_identifier, result.rows) == (4, 0, 5)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_member_exports_round_trip(picks: Workspace, tmp_path: Path, fmt: str) -> None:
    import duckdb

    target = tmp_path / f"m.{fmt}"
    export_members(picks, "viewers", target, fmt=fmt, columns=["city"])
    reader = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json"}[fmt]
    rows = duckdb.sql(f"SELECT profile_id, city FROM {reader}(?) ORDER BY 1", params=[str(target)]).fetchall()
    assert rows == [("p1", "Beijing"), ("p2", "Shanghai"), ("p4", "Beijing")]


def test_a_static_change_without_a_time_is_stamped_by_the_project_clock(picks: Workspace) -> None:
    from segflow.clock import FixedClock

    picks.clock = FixedClock(T1)
    add_members(picks, "picks", ["p1"])
    assert history_of(picks, "picks") == [("p1", "entered", T1)]


@pytest.mark.parametrize(("file", "fmt", "message"), [
    ("m.xlsx", None, "export file '{path}': .xlsx files cannot be written; the formats written are csv (.csv), "
                     "json (.json, .jsonl) and parquet (.parquet)"),
    ("m.txt", "csv", "export file '{path}': .txt files cannot be written; the formats written are csv (.csv), "
                     "json (.json, .jsonl) and parquet (.parquet)"),
    ("m.csv", "json", "export file '{path}': the json format writes .json or .jsonl files, not .csv"),
    ("m.json", "customer-match", "export file '{path}': the customer-match format writes .csv files, not .json"),
], ids=["unknown-suffix", "unknown-suffix-with-format", "format-contradicts-suffix", "platform-format-is-csv"])
def test_an_export_file_the_format_cannot_write_is_refused_before_anything_is_written(
        picks: Workspace, tmp_path: Path, file: str, fmt: str | None, message: str) -> None:
    from segflow.errors import QueryError

    target = tmp_path / "out" / file
    with pytest.raises(QueryError) as info:
        export_members(picks, "viewers", target, fmt=fmt)
    assert info.value.code == "bad_export_path" and info.value.path == str(target)
    assert info.value.message == message.format(path=target)
    assert not target.exists() and not target.parent.exists()


@pytest.mark.parametrize(("file", "fmt"), [("m.json", "json"), ("m.JSONL", "json"), ("m.parquet", "parquet"),
                                           ("m.csv", "csv"), ("members", "csv")])
def test_without_a_format_the_export_follows_the_file_suffix(picks: Workspace, tmp_path: Path, file: str,
                                                             fmt: str) -> None:
    import duckdb

    target = tmp_path / file
    result = export_members(picks, "viewers", target)
    assert result.format == fmt
    reader = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json"}[fmt]
    option = ", format = 'newline_delimited'" if fmt == "json" else ""
    rows = duckdb.sql(f"SELECT profile_id FROM {reader}(?{option}) ORDER BY 1", params=[str(target)]).fetchall()
    assert rows == [("p1",), ("p2",), ("p4",)]
