"""Re-entry policies, exit_when, holdouts and splits, and failures that hold up no one else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from segflow.definitions.plan import apply
from segflow.journeys.engine import enroll, run_journeys, stable_fraction
from segflow.journeys.service import journey_stats
from segflow.state.tables import journey_runs, outbox

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

BASE = """
entry: {manual: {}}
%s
start: note
nodes:
  note:
    send: {channel: file, template: note}
    next: later
  later:
    wait: 1d
    next: done
  done:
    exit: {}
"""


def _setup(shop, files, extra="", name="j"):
    files("templates/note.yaml", "channel: file\ntext: 'hi {{ profile.first_name }}'\n")
    files(f"journeys/{name}.yaml", BASE % extra)
    apply(shop, as_of=T0)


def _runs(shop, name="j"):
    with shop.state.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(journey_runs).where(journey_runs.c.journey == name).order_by(journey_runs.c.id))]


def test_re_entry_never_always_and_after(shop, files):
    _setup(shop, files, "re_entry: never", name="never")
    _setup(shop, files, "re_entry: always", name="always")
    _setup(shop, files, "re_entry: {after: 3d}", name="after")
    for name in ("never", "always", "after"):
        assert enroll(shop, name, ["p1"], at=T0) == 1
        assert enroll(shop, name, ["p1"], at=T0 + timedelta(hours=1)) == 0  # a run in progress: never twice at once
    run_journeys(shop, now=T0 + timedelta(minutes=1), worker="w")  # the notes; the runs wait a day
    run_journeys(shop, now=T0 + timedelta(days=2), worker="w")  # every first run is done
    day2 = T0 + timedelta(days=2, hours=1)
    assert [enroll(shop, n, ["p1"], at=day2) for n in ("never", "always", "after")] == [0, 1, 0]
    assert enroll(shop, "after", ["p1"], at=T0 + timedelta(days=3, hours=1)) == 1  # 3 days after the first entry
    assert [r["occurrence"] for r in _runs(shop, "always")] == [1, 2]


def test_exit_when_ends_runs_before_their_next_step(shop, files):
    _setup(shop, files, "exit_when: {attr: city, eq: Beijing}")
    enroll(shop, "j", ["p1", "p2"], at=T0)  # p2 lives in Beijing
    run_journeys(shop, now=T0 + timedelta(hours=1), worker="w")
    by = {r["profile_id"]: r for r in _runs(shop)}
    assert (by["p2"]["status"], by["p2"]["exit_reason"], by["p2"]["node"]) == ("exited", "exit_when", "note")
    assert by["p1"]["status"] == "waiting"
    sent = {o.profile_id for o in shop.state.engine.connect().execute(sa.select(outbox))}
    assert sent == {"p1"}


def test_holdout_runs_walk_the_graph_without_effects_and_are_counted_apart(shop, files):
    _setup(shop, files, "holdout: 0.5")
    ids = ["p1", "p2", "p3", "p4", "p5", "p6"]
    enroll(shop, "j", ids, at=T0)
    run_journeys(shop, now=T0 + timedelta(minutes=1), worker="w")
    run_journeys(shop, now=T0 + timedelta(days=2), worker="w")
    held = {p for p in ids if stable_fraction("j", p, 1, "holdout") < 0.5}
    assert 0 < len(held) < len(ids)  # the fixed draw holds some out, not all
    runs = {r["profile_id"]: r for r in _runs(shop)}
    assert {p for p, r in runs.items() if r["holdout"]} == held
    assert all(r["status"] == "done" for r in runs.values())  # holdout runs walk to the end too
    messaged = {o.profile_id for o in shop.state.engine.connect().execute(sa.select(outbox))}
    assert messaged == set(ids) - held
    groups = {g.group: g.runs for g in journey_stats(shop, "j").groups}
    assert groups == {"holdout": len(held), "all": len(ids) - len(held)}


def test_split_arms_are_stable_and_counted(shop, files):
    files("templates/note.yaml", "channel: file\ntext: hi\n")
    files("journeys/ab.yaml", """
entry: {manual: {}}
start: ab
nodes:
  ab:
    split: {a: {weight: 50, next: mail_a}, b: {weight: 50, next: done}}
  mail_a:
    send: {channel: file, template: note}
    next: done
  done:
    exit: {}
""")
    apply(shop, as_of=T0)
    ids = ["p1", "p2", "p3", "p4", "p5", "p6"]
    enroll(shop, "ab", ids, at=T0)
    run_journeys(shop, now=T0 + timedelta(minutes=1), worker="w")
    variants = {r["profile_id"]: r["variant"] for r in _runs(shop, "ab")}
    expected = {p: "a" if stable_fraction("ab", p, 1, "ab") * 100 < 50 else "b" for p in ids}
    assert variants == expected
    groups = {g.group: g.runs for g in journey_stats(shop, "ab").groups}
    assert groups == {v: list(expected.values()).count(v) for v in set(expected.values())}


def test_a_failing_smtp_server_holds_up_no_other_journey_and_its_errors_show_in_stats(shop, files):
    from smtp_sink import free_port

    import segflow

    path = shop.root / "segflow.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "channels:\n  email:\n    smtp: {host: 127.0.0.1, port: "
                    f"{free_port()}, timeout: 2}}\n    from: Shop <news@shop.example>\n  file: {{path: out.jsonl}}\n",
                    encoding="utf-8")
    shop.close()
    ws = segflow.open(shop.root)
    files("templates/mail.yaml", "channel: email\nsubject: Hi\ntext: '{{ profile.first_name }}'\n")
    files("journeys/mail.yaml", (BASE % "").replace("channel: file, template: note", "channel: email, template: mail"))
    _setup(ws, files)
    enroll(ws, "mail", ["p1", "p3"], at=T0)
    enroll(ws, "j", ["p1", "p3"], at=T0)
    report = run_journeys(ws, now=T0 + timedelta(minutes=1), worker="w")
    assert report.retried == 2 and report.sent == 2  # the mails wait for a retry; the other journey's notes went out
    nodes = {n.node: n for n in journey_stats(ws, "mail").nodes}
    assert nodes["note"].pending == 2 and nodes["note"].sent == 0
    with ws.state.engine.connect() as conn:
        errors = {r.error for r in conn.execute(sa.select(outbox.c.error).where(outbox.c.journey == "mail"))}
        nxt = conn.execute(sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.journey == "mail")).scalar()
    assert all(e and "refused" in e.lower() for e in errors), errors
    assert nxt.replace(tzinfo=UTC) == T0 + timedelta(minutes=1, seconds=30)  # backoff
    assert (ws.root / "out.jsonl").read_text(encoding="utf-8").count("\n") == 2
    ws.close()
