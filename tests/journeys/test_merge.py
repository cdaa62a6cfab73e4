"""Identity and journeys: a merge that gives one person two runs keeps the first and ends the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import segflow
from segflow.definitions.plan import apply
from segflow.identity.persons import person_of
from segflow.identity.resolve import resolve_identities
from segflow.journeys.engine import enroll, run_journeys
from segflow.state.tables import journey_runs

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

JOURNEY = """
entry: {manual: {}}
start: note
nodes:
  note:
    send: {channel: file, template: note}
    next: later
  later:
    wait: 2d
    next: done
  done:
    exit: {}
"""


def _project(tmp_path, profiles: str):
    """A project with *profiles* (rows of ``profile_id,email,created_at``) and the note journey applied."""
    ws = segflow.init(tmp_path / "p")
    people = tmp_path / "profiles.csv"
    people.write_text("profile_id,email,created_at\n" + profiles, encoding="utf-8")
    ws.load("profiles", [people])
    for rel, text in (("templates/note.yaml", "channel: file\ntext: hello\n"), ("journeys/note.yaml", JOURNEY)):
        (ws.root / rel).parent.mkdir(exist_ok=True)
        (ws.root / rel).write_text(text, encoding="utf-8")
    apply(ws, as_of=T0)
    return ws


def test_a_merge_keeps_the_run_that_entered_first_and_ends_the_other(tmp_path):
    ws = _project(tmp_path, "shop_1,ann@shop.cn,2025-01-01T00:00:00Z\napp_1,ANN@shop.cn,2025-06-01T00:00:00Z\n"
                            "shop_2,bo@shop.cn,2025-01-01T00:00:00Z\n")
    assert enroll(ws, "note", ["app_1"], at=T0) == 1
    assert enroll(ws, "note", ["shop_1", "shop_2"], at=T0 + timedelta(hours=1)) == 2
    run_journeys(ws, now=T0 + timedelta(hours=2), worker="w")
    resolve_identities(ws)
    person = person_of(ws.warehouse, "shop_1")
    assert person == person_of(ws.warehouse, "app_1")
    report = run_journeys(ws, now=T0 + timedelta(hours=3), worker="w")
    assert report.errors == []
    with ws.state.engine.connect() as conn:
        runs = {r.id: r for r in conn.execute(sa.select(journey_runs).order_by(journey_runs.c.id))}
    first, second, other = runs.values()  # app_1 entered first, then shop_1 and shop_2
    assert (first.profile_id, first.status) == (person, "waiting")
    assert (second.status, second.exit_reason) == ("exited", "merged")
    assert (other.profile_id, other.status) == ("shop_2", "waiting")
    # the run that continues goes on to the end
    run_journeys(ws, now=T0 + timedelta(days=3), worker="w")
    with ws.state.engine.connect() as conn:
        done = conn.execute(sa.select(journey_runs.c.status).where(journey_runs.c.id == first.id)).scalar()
    assert done == "done"
    ws.close()


def test_a_split_keeps_the_run_with_the_id_it_carries(tmp_path):
    from segflow.identity.resolve import undo_merge

    ws = _project(tmp_path, "shop_1,ann@shop.cn,2025-01-01T00:00:00Z\napp_1,ANN@shop.cn,2025-06-01T00:00:00Z\n")
    resolve_identities(ws)
    person = person_of(ws.warehouse, "shop_1")
    assert enroll(ws, "note", [person], at=T0) == 1
    run_journeys(ws, now=T0 + timedelta(hours=1), worker="w")
    split_off = "app_1" if person == "shop_1" else "shop_1"
    undo_merge(ws, split_off)
    assert person_of(ws.warehouse, split_off) == split_off
    report = run_journeys(ws, now=T0 + timedelta(days=3), worker="w")
    assert report.errors == []
    with ws.state.engine.connect() as conn:
        [run] = conn.execute(sa.select(journey_runs)).fetchall()
    assert (run.profile_id, run.status) == (person, "done")  # the person keeps it; the record split off has none
    ws.close()
