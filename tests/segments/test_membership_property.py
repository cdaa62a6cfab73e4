"""Property: any sequence of refreshes leaves members = the last result, and the history replays to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from segflow.segments.membership import add_members, ensure_tables, remove_members, replace_members
from segflow.warehouse.duckdb import DuckDBWarehouse

IDS = [f"p{i}" for i in range(12)]
START = datetime(2026, 1, 1, tzinfo=UTC)

step = st.one_of(
    st.tuples(st.just("refresh"), st.frozensets(st.sampled_from(IDS))),
    st.tuples(st.just("add"), st.lists(st.sampled_from([*IDS, "ghost"]), max_size=5)),
    st.tuples(st.just("remove"), st.lists(st.sampled_from([*IDS, "ghost"]), max_size=5)),
)


def _con() -> DuckDBWarehouse:
    con = DuckDBWarehouse.wrap(duckdb.connect())
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE profiles (profile_id VARCHAR)")
    con.executemany("INSERT INTO profiles VALUES (?)", [[i] for i in IDS])
    con.execute("CREATE TABLE wanted (profile_id VARCHAR)")
    ensure_tables(con)
    return con


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_membership_and_history_agree_with_a_set_oracle(steps) -> None:
    con = _con()
    oracle: set[str] = set()
    other = {"p0", "p5"}  # another segment's rows must never move
    con.executemany("INSERT INTO segment_members VALUES ('other', ?, ?)", [[p, START] for p in sorted(other)])
    for i, (kind, ids) in enumerate(steps):
        at = START + timedelta(days=i + 1)
        if kind == "refresh":
            con.execute("DELETE FROM wanted")
            if ids:
                con.executemany("INSERT INTO wanted VALUES (?)", [[p] for p in sorted(ids)])
            diff = replace_members(con, "s", "SELECT profile_id FROM wanted", at=at, run_id=i)
            assert (diff.entered, diff.exited) == (len(ids - oracle), len(oracle - ids))
            oracle = set(ids)
        elif kind == "add":
            result = add_members(con, "s", ids, at=at, run_id=i)
            known = set(ids) - {"ghost"}
            assert result.unknown == (["ghost"] if "ghost" in ids else [])
            assert result.diff.entered == len(known - oracle)
            oracle |= known
        else:
            result = remove_members(con, "s", ids, at=at, run_id=i)
            assert result.diff.exited == len(set(ids) & oracle)
            oracle -= set(ids)
        members = {r[0] for r in con.execute("SELECT profile_id FROM segment_members WHERE segment = 's'").fetchall()}
        assert members == oracle
    replayed: set[str] = set()
    for pid, change in con.execute(
            "SELECT profile_id, change FROM segment_history WHERE segment = 's' ORDER BY run_id, change DESC").fetchall():
        assert (change == "entered") == (pid not in replayed)  # events alternate per profile
        replayed = replayed | {pid} if change == "entered" else replayed - {pid}
    assert replayed == oracle
    assert {r[0] for r in con.execute("SELECT profile_id FROM segment_members WHERE segment = 'other'").fetchall()} \
        == other
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_segflow%'").fetchall()[0][0] == 0
