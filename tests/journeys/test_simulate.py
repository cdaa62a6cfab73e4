"""Simulation: the stored history on a virtual clock, no effects — and the same steps as a real run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from segflow.definitions.plan import apply
from segflow.journeys.engine import run_journeys
from segflow.journeys.service import journey_stats
from segflow.journeys.simulate import simulate
from segflow.state.tables import outbox

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

JOURNEY = """
entry:
  event: {name: signup, where: {plan: {in: [pro, free]}}}
goal: {event: order_paid, window: 3d}
start: welcome
nodes:
  welcome:
    send: {channel: email, template: welcome, topic: promotions}
    next: wait_3d
  wait_3d:
    wait: 3d
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


def _write(files):
    files("templates/welcome.yaml", "channel: email\nsubject: Welcome {{ profile.first_name }}\ntext: Hi\n")
    files("templates/reminder.yaml", "channel: sms\ntext: Reminder\n")
    files("journeys/welcome.yaml", JOURNEY)


def test_simulation_sends_nothing_and_reports_what_would_go_out(shop, files, tmp_path):
    _write(files)
    report = simulate(shop, "welcome", start=T0, end=T0 + timedelta(days=10), out=tmp_path / "would.jsonl")
    would = [json.loads(line) for line in (tmp_path / "would.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(m["profile_id"], m["node"]) for m in would} == {
        ("p1", "welcome"), ("p3", "welcome"), ("p5", "welcome"), ("p6", "welcome"),  # p2 opted out
        ("p2", "remind"), ("p6", "remind")}  # p1 used the coupon, p5 ordered (the goal), p3 has no phone
    assert all(set(m) >= {"journey", "profile_id", "node", "channel", "template", "at"} for m in would)
    first = {m["profile_id"]: m["at"] for m in would if m["node"] == "welcome"}
    assert first["p1"] == "2026-03-01T10:00:00+00:00"  # at the moment of the event: the clock stops there
    nodes = {n.node: n for n in report.stats.nodes}
    assert nodes["welcome"].skip_reasons == {"opted_out": 1}
    assert nodes["remind"].skip_reasons == {"no_address": 1}
    assert report.stats.converted == 1  # p5 ordered a day after signing up
    # nothing happened for real: no state rows, no outbox file, no message events
    assert not shop.state.engine.connect().execute(sa.select(outbox)).fetchall()
    assert not (shop.root / ".segflow" / "outbox").exists()
    assert shop.warehouse.count("SELECT count(*) FROM events WHERE event LIKE 'message_%'") == 0


def test_simulation_equals_a_real_run_with_a_pinned_clock(shop, files):
    _write(files)
    report = simulate(shop, "welcome", start=T0, end=T0 + timedelta(days=10))
    apply(shop, as_of=T0)
    for stop in report.stops:
        run_journeys(shop, now=stop, worker="w")
    with shop.state.engine.connect() as conn:
        real = {(r.profile_id, r.node, r.created_at.replace(tzinfo=UTC).isoformat()) for r in conn.execute(
            sa.select(outbox).where(outbox.c.status == "sent"))}
    assert real == {(m["profile_id"], m["node"], m["at"]) for m in report.messages}
    assert journey_stats(shop, "welcome").to_dict()["nodes"] == report.stats.to_dict()["nodes"]
