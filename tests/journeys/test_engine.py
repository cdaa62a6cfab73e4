"""The engine end to end on a small shop: entries, sends, waits, branches, goals, consent, versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from segflow.definitions.plan import apply, make_plan
from segflow.journeys.engine import enroll, run_journeys
from segflow.journeys.service import journey_stats, list_journeys, set_status
from segflow.state.tables import journey_runs, outbox

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

WELCOME = """
description: Welcome pro sign-ups; remind those who do not use the coupon
entry:
  event: {name: signup, where: {plan: {eq: pro}}}
start: welcome
nodes:
  welcome:
    send: {channel: email, template: welcome, topic: promotions}
    next: wait_2d
  wait_2d:
    wait: 2d
    next: used
  used:
    branch:
      - when: {event: coupon_used, within: journey}
        next: done
      - else: remind
  remind:
    send: {channel: sms, template: reminder}
    next: done
  done:
    exit: {}
"""

TEMPLATES = {
    "templates/welcome.yaml": "channel: email\nsubject: Welcome {{ profile.first_name }}\n"
                              "text: Hello {{ profile.first_name }}, here is your coupon.\n"
                              "html: <p>Hello {{ profile.first_name }}</p>\n",
    "templates/reminder.yaml": "channel: sms\ntext: '{{ profile.first_name }}, your coupon expires soon'\n",
}


def _setup(shop, files, journey=WELCOME, name="welcome_pro"):
    for rel, text in TEMPLATES.items():
        files(rel, text)
    files(f"journeys/{name}.yaml", journey)
    return apply(shop, as_of=T0)


def _outbox(shop):
    with shop.state.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(outbox).order_by(outbox.c.id))]


def _runs(shop):
    with shop.state.engine.connect() as conn:
        return {r.profile_id: dict(r._mapping) for r in conn.execute(sa.select(journey_runs))}


def test_signups_get_a_welcome_and_those_without_the_coupon_a_reminder(shop, files):
    _setup(shop, files)
    [info] = list_journeys(shop)
    assert (info.name, info.status, info.version) == ("welcome_pro", "active", 1)
    # Day 1, 12:00: p1 (pro, 10:00) entered; p2 is on the free plan.
    r1 = run_journeys(shop, now=T0 + timedelta(hours=12), worker="w")
    assert r1.entered == 1 and r1.sent == 1
    sent = [(o["profile_id"], o["node"], o["status"]) for o in _outbox(shop)]
    assert sent == [("p1", "welcome", "sent")]
    lines = (shop.root / ".segflow" / "outbox" / "email.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["subject"] for x in lines] == ["Welcome Ann"]
    # Day 3 (p3 entered on day 2; p3 opted in to promotions); p1 used the coupon on day 3 at 12:00.
    run_journeys(shop, now=T0 + timedelta(days=3, hours=13), worker="w")
    runs = _runs(shop)
    assert runs["p1"]["status"] == "done" and runs["p1"]["node"] == "done"
    # p3 (signed up on day 2) was welcomed when the worker ran (day 4, 13:00): two days later its
    # wait is over without a coupon: an SMS — but p3 has no phone: skipped with its reason.
    run_journeys(shop, now=T0 + timedelta(days=6, hours=13), worker="w")
    by = {(o["profile_id"], o["node"]): (o["status"], o["error"]) for o in _outbox(shop)}
    assert by[("p3", "welcome")] == ("sent", None)
    assert by[("p3", "remind")] == ("skipped", "no_address")
    assert ("p1", "remind") not in by
    stats = journey_stats(shop, "welcome_pro")
    nodes = {n.node: n for n in stats.nodes}
    assert nodes["welcome"].entered >= 2 and nodes["remind"].skipped == 1
    assert nodes["remind"].skip_reasons == {"no_address": 1}


def test_an_opted_out_profile_is_never_mailed_and_the_skip_is_recorded(shop, files):
    journey = WELCOME.replace("where: {plan: {eq: pro}}", "where: {plan: {in: [pro, free]}}")
    _setup(shop, files, journey)
    run_journeys(shop, now=T0 + timedelta(hours=12), worker="w")
    by = {(o["profile_id"], o["node"]): (o["status"], o["error"]) for o in _outbox(shop)}
    assert by[("p2", "welcome")] == ("skipped", "opted_out")
    assert by[("p1", "welcome")] == ("sent", None)
    # the outcome is a warehouse event rules can use
    rows = shop.warehouse.rows("SELECT profile_id, event FROM events WHERE event LIKE 'message_%' ORDER BY 1")
    assert rows == [("p1", "message_sent"), ("p2", "message_skipped")]


def test_running_twice_at_the_same_time_repeats_nothing(shop, files):
    _setup(shop, files)
    now = T0 + timedelta(days=6)
    first = run_journeys(shop, now=now, worker="w")
    again = run_journeys(shop, now=now, worker="w")
    assert first.entered == 4 and again.entered == 0 and again.steps == 0 and again.sent == 0
    keys = [o["key"] for o in _outbox(shop)]
    assert len(keys) == len(set(keys))


def test_goal_converts_and_ends_the_run(shop, files):
    journey = WELCOME.replace("start: welcome", "goal: {event: order_paid, window: 14d}\nstart: welcome")
    _setup(shop, files, journey)
    run_journeys(shop, now=T0 + timedelta(days=4, hours=9), worker="w")  # p5 signed up day 4 08:00
    run_journeys(shop, now=T0 + timedelta(days=7), worker="w")  # p5 ordered day 5: converted at its wait's end
    runs = _runs(shop)
    assert runs["p5"]["exit_reason"] == "goal" and runs["p5"]["converted_at"] is not None
    stats = journey_stats(shop, "welcome_pro")
    assert stats.converted == 1


def test_a_new_version_moves_waiting_runs_and_ends_those_at_removed_nodes(shop, files):
    _setup(shop, files)
    run_journeys(shop, now=T0 + timedelta(hours=12), worker="w")  # p1 waits at wait_2d
    changed = WELCOME.replace("wait_2d", "pause_2d")
    files("journeys/welcome_pro.yaml", changed)
    plan = make_plan(shop, as_of=T0 + timedelta(hours=13))
    [c] = [c for c in plan.pending if c.kind == "journey"]
    assert (c.action, c.runs_moved, c.runs_ended) == ("changed", 0, 1)
    apply(shop, as_of=T0 + timedelta(hours=13))
    run_journeys(shop, now=T0 + timedelta(days=3), worker="w")
    assert _runs(shop)["p1"]["exit_reason"] == "node_removed"


def test_manual_enrolment_and_pause_stop(shop, files):
    journey = WELCOME.replace("  event: {name: signup, where: {plan: {eq: pro}}}", "  manual: {}")
    _setup(shop, files, journey)
    assert enroll(shop, "welcome_pro", ["p4", "p6"], at=T0) == 2
    assert enroll(shop, "welcome_pro", ["p4"], at=T0) == 0  # re-entry: never
    set_status(shop, "welcome_pro", "pause")
    paused = run_journeys(shop, now=T0 + timedelta(hours=1), worker="w")
    assert paused.steps == 0
    set_status(shop, "welcome_pro", "start")
    run_journeys(shop, now=T0 + timedelta(hours=1), worker="w")
    by = {(o["profile_id"], o["node"]): o["status"] for o in _outbox(shop)}
    assert by == {("p4", "welcome"): "skipped", ("p6", "welcome"): "sent"}  # p4 has no e-mail
    set_status(shop, "welcome_pro", "stop")
    assert {r["exit_reason"] for r in _runs(shop).values()} == {"stopped"}


def test_branches_by_sql_and_by_the_one_profile_evaluator_give_the_same_runs(tmp_path):
    import segflow
    from segflow.journeys.engine import EngineOptions

    from .conftest import load_shop

    journey = WELCOME.replace("where: {plan: {eq: pro}}", "where: {plan: {in: [pro, free]}}").replace(
        "      - when: {event: coupon_used, within: journey}",
        "      - when: {any: [{event: coupon_used, within: journey}, {attr: city, eq: Beijing}]}")
    outcomes = []
    for below in (0, 10**6):
        ws = segflow.init(tmp_path / f"p{below}", default_phone_country="CN")
        load_shop(ws, tmp_path / f"data{below}")
        for rel, text in {**TEMPLATES, "journeys/welcome_pro.yaml": journey}.items():
            (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (ws.root / rel).write_text(text, encoding="utf-8")
        apply(ws, as_of=T0)
        for day in range(1, 9):
            run_journeys(ws, now=T0 + timedelta(days=day), worker="w", options=EngineOptions(evaluate_below=below))
        outcomes.append(({(o["profile_id"], o["node"], o["status"]) for o in _outbox(ws)},
                         {(r["profile_id"], r["node"], r["status"]) for r in _runs(ws).values()}))
        ws.close()
    assert outcomes[0] == outcomes[1]
    assert ("p6", "remind", "sent") not in outcomes[0][0]  # Beijing: the branch's second case
