"""The straight load (insert-only kinds from CSV, :mod:`segflow.ingest.straight`) gives
exactly what the staged load gives: the same rows, counts and rejects file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
import segflow.ingest.loader as loader
from segflow.workspace import Workspace

DIRTY_EVENTS = (
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
MORE_EVENTS = (
    "event_id,profile_id,anonymous_id,event,ts,properties\n"
    "e1,p1,,login,2026-01-01T10:00:00Z,\n"  # stored already
    "e10,p10,,login,2026-02-01,\n"
    "e10,p10,,login,2026-02-02,\n"
    "e11,p11,,login,31/02/2026,\n"
    ",p8,,login,2026-01-08,\n"  # the same derived id as before
)
IDENTITIES = (
    "profile_id,type,value\n"
    "p1,email,A@B.CN\n"
    "p1,email,a@b.cn\n"  # the same after normalising: a repeat
    "p2,phone,138 0013 8000\n"
    ",email,x@y.cn\n"  # no profile_id
    "p3,,z@y.cn\n"  # no type
)


def _staged_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "straight_key", lambda *args: None)


def _outcome(ws: Workspace, kind: str, files: list[Path]) -> tuple[list, list, list]:
    summaries, rejects = [], []
    for f in files:
        [s] = ws.load(kind, [f])
        d = s.to_dict()
        summaries.append({k: d[k] for k in ("rows", "accepted", "inserted", "updated", "rejected", "duplicates")})
        rejects.append(Path(s.rejects_file).read_text(encoding="utf-8") if s.rejects_file else None)
    cols = [c for c in ws.warehouse.columns(kind) if c != "_load_id"]
    rows = ws.sql(f"SELECT {', '.join(cols)} FROM {kind} ORDER BY ALL").to_pylist()
    return summaries, rejects, rows


@pytest.mark.parametrize(("kind", "texts"), [("events", [DIRTY_EVENTS, MORE_EVENTS]), ("identities", [IDENTITIES])])
def test_straight_and_staged_loads_agree(
    tmp_path: Path, write: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch, kind: str, texts: list[str]
) -> None:
    files = [write(f"{kind}{i}.csv", t) for i, t in enumerate(texts)]
    straight = segflow.init(tmp_path / "a", default_phone_country="CN")
    got = _outcome(straight, kind, files)
    straight.close()
    _staged_only(monkeypatch)
    staged = segflow.init(tmp_path / "b", default_phone_country="CN")
    want = _outcome(staged, kind, files)
    staged.close()
    assert got == want
    assert got[0][0]["rejected"] > 0 and got[1][0] is not None  # the files are dirty


def test_the_dirty_events_file_as_expected(project: Workspace, write: Callable[[str, str], Path]) -> None:
    [s] = project.load("events", [write("e.csv", DIRTY_EVENTS)])
    # 10 records (the blank line is none): e1, the e1 repeat, the derived id and e9 are
    # good; e2 (date), e3 (no ids), e4 (a raw line break is not valid JSON), e5 (no event),
    # e6 (JSON) and e7 (too many cells: one reject, though DuckDB reports three errors).
    assert (s.rows, s.inserted, s.rejected, s.duplicates) == (10, 3, 6, 1)
    text = Path(s.rejects_file).read_text(encoding="utf-8")
    found = [(int(r["_line"]), r["event_id"]) for r in csv.DictReader(io.StringIO(text))]
    assert found == [(3, "e2"), (5, "e3"), (7, "e4"), (9, "e5"), (10, "e6"), (11, "")]
    assert project.sql("SELECT event_id FROM events WHERE profile_id = 'p1'").to_pylist() == [{"event_id": "e1"}]
    [again] = project.load("events", [write("e.csv", DIRTY_EVENTS)])
    assert (again.inserted, again.rejected, again.duplicates) == (0, 6, 4)


def test_when_row_ids_cannot_be_ordinals_the_load_is_staged_instead(
    project: Workspace, write: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loader.load_straight

    def declines(*args, **kwargs):
        real(*args, **kwargs)  # writes its rows, then finds it cannot vouch for the ordinals
        return None

    monkeypatch.setattr(loader, "load_straight", declines)
    [s] = project.load("events", [write("e.csv", DIRTY_EVENTS)])
    assert (s.rows, s.inserted, s.rejected, s.duplicates) == (10, 3, 6, 1)
    assert project.sql("SELECT count(*) AS n FROM events").to_pylist() == [{"n": 3}]


ROW = st.tuples(
    st.sampled_from(["", "k1", "k2", "k3"]),  # event_id ("" derives one)
    st.sampled_from(["", "p1", "p2"]),  # profile_id
    st.sampled_from(["login", "", "app_open"]),  # event ("" is rejected)
    st.sampled_from(["2026-01-01", "2026-01-02T03:04:05Z", "bad", ""]),  # ts
)


def _csv(rows: list[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["event_id", "profile_id", "event", "ts"])
    w.writerows(rows)
    return buf.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(ROW, min_size=1, max_size=8), min_size=1, max_size=3))
def test_any_load_sequence_gives_the_same_as_staging(
    tmp_path_factory: pytest.TempPathFactory, loads: list[list[tuple[str, ...]]]
) -> None:
    root = tmp_path_factory.mktemp("seq")
    files = []
    for i, rows in enumerate(loads):
        files.append(root / f"l{i}.csv")
        files[-1].write_text(_csv(rows), encoding="utf-8")
    outcomes = []
    for name, disable in (("a", False), ("b", True)):
        with pytest.MonkeyPatch.context() as mp:
            if disable:
                _staged_only(mp)
            ws = segflow.init(root / name)
            outcomes.append(_outcome(ws, "events", files))
            ws.close()
    assert outcomes[0] == outcomes[1]
