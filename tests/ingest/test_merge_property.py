"""Property: any sequence of loads leaves the table an independent oracle predicts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.workspace import Workspace

KEYS = st.sampled_from(["k1", "k2", "k3", "k4"])
VALUES = st.one_of(st.none(), st.sampled_from(["a", "b", "Ж", "名"]))
ROWS = st.lists(st.tuples(KEYS, VALUES, VALUES), min_size=1, max_size=8)
LOADS = st.lists(ROWS, min_size=1, max_size=3)


def to_csv(header: list[str], rows: list[tuple]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    workspace = segflow.init(tmp_path_factory.mktemp("prop") / "p")
    yield workspace
    workspace.close()


def _file(ws: Workspace, name: str, text: str) -> Path:
    path = ws.root / name
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LOADS)
def test_profiles_coalesce_matches_the_oracle(ws: Workspace, loads: list[list[tuple]]) -> None:
    ws.warehouse.con.execute("DELETE FROM profiles")
    oracle: dict[str, dict[str, str | None]] = {}
    for i, rows in enumerate(loads):
        before = {k: dict(v) for k, v in oracle.items()}
        for key, city, name in rows:
            current = oracle.setdefault(key, {"city": None, "name": None})
            if city is not None:
                current["city"] = city
            if name is not None:
                current["name"] = name
        [s] = ws.load("profiles", [_file(ws, f"p{i}.csv", to_csv(["profile_id", "city", "name"], rows))])
        new = [k for k in oracle if k not in before]
        changed = [k for k in before if oracle[k] != before[k]]
        assert (s.inserted, s.updated) == (len(new), len(changed))
        assert s.inserted + s.updated + s.duplicates == len(rows)
    got = {r["profile_id"]: {"city": r["city"], "name": r["name"]}
           for r in ws.sql("SELECT profile_id, city, name FROM profiles").to_pylist()}
    assert got == oracle


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LOADS)
def test_events_insert_only_and_orders_replace_match_the_oracle(ws: Workspace, loads: list[list[tuple]]) -> None:
    ws.warehouse.con.execute("DELETE FROM events")
    ws.warehouse.con.execute("DELETE FROM orders")
    events: dict[str, str] = {}
    orders: dict[str, str] = {}
    for i, rows in enumerate(loads):
        ev_rows = [(k, "p1", v or "view", "2026-01-01T00:00:00Z") for k, v, _ in rows]
        [se] = ws.load("events", [_file(ws, f"e{i}.csv", to_csv(["event_id", "profile_id", "event", "ts"], ev_rows))])
        fresh = {}
        for k, _, ev, _ in ev_rows:
            if k not in events and k not in fresh:
                fresh[k] = ev
        events.update(fresh)
        assert (se.inserted, se.duplicates) == (len(fresh), len(rows) - len(fresh))

        or_rows = [(k, "p1", "2026-01-01", "1", s or "paid") for k, _, s in
                   [(k, v, {"a": "refunded", "b": "returned"}.get(w or "", None)) for k, v, w in rows]]
        before = dict(orders)
        [so] = ws.load("orders", [_file(ws, f"o{i}.csv", to_csv(["order_id", "profile_id", "ts", "amount", "status"], or_rows))])
        for k, _, _, _, status in or_rows:
            orders[k] = status
        assert so.inserted == len([k for k in orders if k not in before])
        assert so.updated == len([k for k in before if orders[k] != before[k]])
    got_events = {r["event_id"]: r["event"] for r in ws.sql("SELECT event_id, event FROM events").to_pylist()}
    got_orders = {r["order_id"]: r["status"] for r in ws.sql("SELECT order_id, status FROM orders").to_pylist()}
    assert got_events == events
    assert got_orders == orders
