"""Journey files → the typed model: the spec's example, every node kind, every structural problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from segflow.errors import DefinitionError, DefinitionsError
from segflow.journeys.definition import (
    load_journey_definitions,
    parse_journey,
    parse_signed_duration,
)
from segflow.journeys.model import (
    Branch,
    BranchCase,
    DateEntry,
    EventEntry,
    EventMatch,
    Exit,
    Goal,
    Journey,
    Limits,
    ManualEntry,
    Node,
    ScheduleEntry,
    SegmentEffect,
    SegmentEntry,
    Send,
    SetAttributes,
    Split,
    SplitArm,
    TagEffect,
    Wait,
    WaitFor,
    WaitUntil,
    Webhook,
)

SPEC = Path("/work/shared/spec/journeys.md")

#: The example of the journeys contract (spec/journeys.md), as written there.
SPEC_EXAMPLE = """\
# journeys/dormant_high_aov.yaml
description: Dormant high-AOV customers - coupon on day 1, SMS reminder on day 7 if unused
owner: li.ming@shop.example
effective: {from: 2026-01-01T00:00:00+08:00, to: 2026-12-31T23:59:59+08:00}   # `from` defaults to apply time
entry:
  segment_entered: dormant_high_aov
re_entry: {after: 90d}            # never (default) | always | {after: DURATION}
exit_when: {not: {segment: dormant_high_aov}}   # optional rule, checked before every step
goal: {event: order_paid, window: 14d}          # optional: such an event within 14 days of entry converts the run and ends it
holdout: 0.1                      # optional: stable 10 % enter, receive nothing, and are tracked
limits: {active: 200000, sends_per_day: 50000}  # optional
start: coupon_email
nodes:
  coupon_email:
    send: {channel: email, template: comeback_coupon, topic: promotions}
    next: wait_a_week
  wait_a_week:
    wait: 7d
    next: used_it
  used_it:
    branch:
      - when: {event: coupon_used, within: journey}
        next: done
      - else: sms_reminder
  sms_reminder:
    send: {channel: sms, template: coupon_reminder}
    next: done
  done:
    exit: {}
"""

DAY = 86400


def parse(text: str, name: str = "j") -> Journey:
    return parse_journey(yaml.safe_load(text), name, file=f"journeys/{name}.yaml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse(text)
    return info.value.message.splitlines()


def test_spec_example_is_the_one_in_the_contract() -> None:
    if SPEC.is_file():  # the shared contract, when this checkout has it next to it
        found = re.search(r"```yaml\n(# journeys/dormant_high_aov\.yaml\n.*?)```", SPEC.read_text("utf-8"), re.S)
        assert found is not None and found.group(1) == SPEC_EXAMPLE


def test_spec_example_parses_into_the_model() -> None:
    journey = parse(SPEC_EXAMPLE, "dormant_high_aov")
    assert journey == Journey(
        name="dormant_high_aov", file="journeys/dormant_high_aov.yaml",
        entry=SegmentEntry(segment="dormant_high_aov"), start="coupon_email",
        nodes={
            "coupon_email": Node("coupon_email", Send("email", "comeback_coupon", topic="promotions"),
                                 next="wait_a_week"),
            "wait_a_week": Node("wait_a_week", Wait(7 * DAY), next="used_it"),
            "used_it": Node("used_it", Branch(cases=(BranchCase({"event": "coupon_used", "within": "journey"},
                                                                "done"),), otherwise="sms_reminder")),
            "sms_reminder": Node("sms_reminder", Send("sms", "coupon_reminder"), next="done"),
            "done": Node("done", Exit()),
        },
        description="Dormant high-AOV customers - coupon on day 1, SMS reminder on day 7 if unused",
        owner="li.ming@shop.example",
        effective_from=datetime(2025, 12, 31, 16, 0, tzinfo=UTC),
        effective_to=datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC),
        re_entry="after", re_entry_after=90 * DAY,
        exit_when={"not": {"segment": "dormant_high_aov"}},
        goal=Goal(event=EventMatch("order_paid"), window=14 * DAY),
        holdout=0.1, limits=Limits(active=200000, sends_per_day=50000),
    )
    assert list(journey.nodes) == ["coupon_email", "wait_a_week", "used_it", "sms_reminder", "done"]
    assert [n.kind for n in journey.nodes.values()] == ["send", "wait", "branch", "send", "exit"]
    assert journey.nodes["used_it"].targets() == ("done", "sms_reminder")
    # the canonical data (what is versioned): the file's mapping, times as ISO text
    assert journey.data["effective"] == {"from": "2026-01-01T00:00:00+08:00", "to": "2026-12-31T23:59:59+08:00"}
    assert journey.data["nodes"]["used_it"] == yaml.safe_load(SPEC_EXAMPLE)["nodes"]["used_it"]
    import json

    json.dumps(journey.data)  # JSON-ready


EVERY_NODE = """\
entry: {manual: {}}
start: hello
nodes:
  hello:
    label: Welcome mail
    send: {channel: email, template: welcome, topic: news, transactional: true}
    next: pause
  pause: {wait: 90min, next: morning}
  morning:
    wait: {until: "9:30", days: [mon, Tuesday, fri]}
    next: buy
  buy:
    wait: {for: {event: order_paid, where: {amount: {gte: 100}}}, timeout: 3d, then: ab, else: who}
  who:
    branch:
      - {when: {attr: city, eq: Beijing}, next: ab}
      - {when: {tag: vip}, next: mark}
      - else: ab
  ab:
    split: {a: {weight: 30, next: mark}, b: {weight: 70, next: unmark}}
  mark: {tag: {add: crm/follow_up}, next: fields}
  unmark: {tag: {remove: crm/follow_up}, next: fields}
  fields: {set: {member_level: gold, score: 3, vip: true, note: null}, next: join}
  join: {segment: {add: picked}, next: leave}
  leave: {segment: {remove: picked}, next: call}
  call:
    webhook:
      url: https://hooks.example/crm
      method: put
      body: '{"id": "{{ profile.profile_id }}"}'
      headers: {X-Token: abc}
    next: bye
  bye: {exit: }
"""


def test_every_node_kind() -> None:
    nodes = parse(EVERY_NODE).nodes
    assert nodes["hello"] == Node("hello", Send("email", "welcome", topic="news", transactional=True), next="pause",
                                  label="Welcome mail")
    assert nodes["pause"].body == Wait(90 * 60)
    assert nodes["morning"].body == WaitUntil(until="09:30", days=(0, 1, 4))
    assert nodes["buy"] == Node("buy", WaitFor(EventMatch("order_paid", {"amount": {"gte": 100}}), timeout=3 * DAY,
                                               then="ab", otherwise="who"))
    assert nodes["buy"].targets() == ("ab", "who")
    assert nodes["who"].body == Branch(cases=(BranchCase({"attr": "city", "eq": "Beijing"}, "ab"),
                                              BranchCase({"tag": "vip"}, "mark")), otherwise="ab")
    assert nodes["ab"].body == Split(arms=(SplitArm("a", 30, "mark"), SplitArm("b", 70, "unmark")))
    assert nodes["mark"].body == TagEffect("crm/follow_up")
    assert nodes["unmark"].body == TagEffect("crm/follow_up", remove=True)
    assert nodes["fields"].body == SetAttributes({"member_level": "gold", "score": 3, "vip": True, "note": None})
    assert nodes["join"].body == SegmentEffect("picked")
    assert nodes["leave"].body == SegmentEffect("picked", remove=True)
    assert nodes["call"].body == Webhook(url="https://hooks.example/crm", method="PUT",
                                         body='{"id": "{{ profile.profile_id }}"}', headers={"X-Token": "abc"})
    assert nodes["bye"] == Node("bye", Exit())
    assert [n.kind for n in nodes.values()] == ["send", "wait", "wait", "wait", "branch", "split", "tag", "tag",
                                                "set", "segment", "segment", "webhook", "exit"]


TAIL = "start: a\nnodes:\n  a: {exit: {}}\n"


@pytest.mark.parametrize(("entry", "expected"), [
    ("{segment_entered: 高价值客户}", SegmentEntry("高价值客户")),
    ("{segment_exited: vip}", SegmentEntry("vip", exited=True)),
    ("{event: {name: order_paid, where: {amount: {gte: 600}}}}", EventEntry(EventMatch("order_paid",
                                                                                       {"amount": {"gte": 600}}))),
    ("{event: order_paid}", EventEntry(EventMatch("order_paid"))),
    ('{date: {attr: birthday, offset: -7d, at: "10:00"}}', DateEntry("birthday", offset=-7 * DAY, at="10:00")),
    ("{date: {attr: created_at}}", DateEntry("created_at")),
    ('{schedule: {cron: "0  0 1 * *", audience: {segment: vip}}}', ScheduleEntry("0 0 1 * *", {"segment": "vip"})),
    ("{manual: {}}", ManualEntry()),
], ids=["segment_entered", "segment_exited", "event", "event_name_only", "date", "date_defaults", "schedule",
        "manual"])
def test_entries(entry: str, expected: object) -> None:
    assert parse(f"entry: {entry}\n{TAIL}").entry == expected


@pytest.mark.parametrize(("text", "kind", "after"), [
    ("", "never", None), ("re_entry: never\n", "never", None), ("re_entry: always\n", "always", None),
    ("re_entry: {after: 2w}\n", "after", 14 * DAY),
], ids=["default", "never", "always", "after"])
def test_re_entry(text: str, kind: str, after: int | None) -> None:
    journey = parse(f"entry: {{manual: {{}}}}\n{text}{TAIL}")
    assert (journey.re_entry, journey.re_entry_after) == (kind, after)


def test_defaults_and_naive_times_are_utc() -> None:
    journey = parse("entry: {manual: {}}\neffective: {from: 2026-03-01 08:00:00}\n" + TAIL)
    assert journey.effective_from == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert journey.effective_to is None
    assert (journey.holdout, journey.limits, journey.goal, journey.exit_when) == (0.0, Limits(), None, None)
    goal = parse("entry: {manual: {}}\ngoal: {event: order_paid, where: {amount: {gte: 1}}, window: 12h}\n" + TAIL).goal
    assert goal == Goal(EventMatch("order_paid", {"amount": {"gte": 1}}), window=12 * 3600)


def test_signed_durations() -> None:
    assert [parse_signed_duration(v) for v in ("3d", "-7d", "+12h", 0, "30m", "7")] == [
        3 * DAY, -7 * DAY, 12 * 3600, 0, None, None]


J = "journeys/j.yaml"
BASE = "entry: {manual: {}}\nstart: a\n"


@pytest.mark.parametrize(("text", "line"), [
    ("nodez: {}\n" + BASE + "nodes: {a: {exit: {}}}\n", f"{J}: nodez: unknown key 'nodez' (did you mean 'nodes'?)"),
    ("start: a\nnodes: {a: {exit: {}}}\n", f"{J}: entry: a journey needs an entry (one of segment_entered, "
     "segment_exited, event, date, schedule, manual)"),
    ("entry: {segment_entered: a, manual: {}}\nstart: a\nnodes: {a: {exit: {}}}\n",
     f"{J}: entry: an entry has exactly one of segment_entered, segment_exited, event, date, schedule, manual; "
     "this one has segment_entered and manual"),
    ("entry: {segment_entered: a b}\nstart: a\nnodes: {a: {exit: {}}}\n",
     f"{J}: entry.segment_entered: 'a b' is not a segment name"),
    ('entry: {date: {attr: birthday, offset: 7 days, at: "25:00"}}\nstart: a\nnodes: {a: {exit: {}}}\n',
     f"{J}: entry.date.offset: '7 days' is not a duration"),
    ('entry: {date: {attr: birthday, at: "25:00"}}\nstart: a\nnodes: {a: {exit: {}}}\n',
     f"{J}: entry.date.at: '25:00' is not a time of day"),
    ("entry: {date: {attr: birthday, at: 10:00}}\nstart: a\nnodes: {a: {exit: {}}}\n",
     f"{J}: entry.date.at: YAML read an unquoted 10:00 as the number 600; quote the time: \"10:00\""),
    ('entry: {schedule: {cron: "every day", audience: {segment: vip}}}\nstart: a\nnodes: {a: {exit: {}}}\n',
     f"{J}: entry.schedule.cron: 'every day' is not a valid cron expression"),
    ('entry: {schedule: {cron: "0 0 * * *"}}\nstart: a\nnodes: {a: {exit: {}}}\n',
     f"{J}: entry.schedule.audience: a schedule entry needs an audience rule"),
    ("entry: {event: {nam: x}}\nstart: a\nnodes: {a: {exit: {}}}\n",
     f"{J}: entry.event.nam: unknown key 'nam' (did you mean 'name'?)"),
    (BASE + "re_entry: sometimes\nnodes: {a: {exit: {}}}\n", f"{J}: re_entry: re_entry is never, always or "
     "{after: DURATION}, not 'sometimes'"),
    (BASE + "holdout: 1\nnodes: {a: {exit: {}}}\n", f"{J}: holdout: holdout is a share from 0 up to"),
    (BASE + "limits: {active: 0, sends_per_day: 1.5}\nnodes: {a: {exit: {}}}\n",
     f"{J}: limits.active: a positive whole number is expected, not 0"),
    (BASE + "goal: {event: order_paid}\nnodes: {a: {exit: {}}}\n", f"{J}: goal.window: a duration is required"),
    (BASE + "exit_when: yes\nnodes: {a: {exit: {}}}\n", f"{J}: exit_when: a rule is a non-empty mapping"),
    (BASE + "effective: {from: 2026-02-01, to: 2026-01-01}\nnodes: {a: {exit: {}}}\n",
     f"{J}: effective.to: effective.to is not after effective.from"),
    ("entry: {manual: {}}\nnodes: {a: {exit: {}}}\n", f"{J}: start: a node id is required"),
    (BASE, f"{J}: nodes: a journey needs nodes"),
    (BASE + "nodes: {a: {send: {channel: email}, wait: 3d}}\n",
     f"{J}: nodes.a: a node has exactly one of send, wait, branch, split, tag, set, segment, webhook, exit; "
     "this one has send and wait"),
    (BASE + "nodes: {a: {sned: {}, next: a}}\n", f"{J}: nodes.a.sned: unknown key 'sned' (did you mean 'send'?)"),
    (BASE + "nodes: {a: {send: {channel: email, template: t}}}\n",
     f"{J}: nodes.a.next: a send node needs next: (the node after it)"),
    (BASE + "nodes: {a: {send: {channel: email, tempate: t}, next: a}}\n",
     f"{J}: nodes.a.send.tempate: unknown key 'tempate' (did you mean 'template'?)"),
    (BASE + "nodes: {a: {wait: 30m, next: a}}\n",
     f"{J}: nodes.a.wait: '30m' is not a duration (an integer and min, h, d or w: 30min, 12h, 3d, 2w) "
     "(minutes are written min: 30min)"),
    (BASE + "nodes: {a: {wait: {until: '10:00', days: [someday]}, next: a}}\n",
     f"{J}: nodes.a.wait.days[0]: 'someday' is not a day"),
    (BASE + "nodes: {a: {wait: {for: {event: x}, timeout: 3d, then: a}}}\n",
     f"{J}: nodes.a.wait.else: a node id is required"),
    (BASE + "nodes: {a: {wait: {for: {event: x}, timeout: 3d, then: a, else: a}, next: a}}\n",
     f"{J}: nodes.a.next: a wait names its targets inside; next is not used here"),
    (BASE + "nodes:\n  a:\n    branch:\n      - {when: {tag: x}, next: a}\n",
     f"{J}: nodes.a.branch: a branch needs an else as its last case"),
    (BASE + "nodes:\n  a:\n    branch:\n      - {else: a}\n      - {when: {tag: x}, next: a}\n",
     f"{J}: nodes.a.branch[0]: else is the last case of a branch"),
    (BASE + "nodes:\n  a:\n    branch:\n      - {when: {tag: x}, nxt: a}\n      - {else: a}\n",
     f"{J}: nodes.a.branch[0].nxt: unknown key 'nxt' (did you mean 'next'?)"),
    (BASE + "nodes: {a: {split: {x: {weight: 50.5, next: a}, y: {weight: 49.5, next: a}}}}\n",
     f"{J}: nodes.a.split.x.weight: a weight is a whole number above 0 (the weights sum to 100), not 50.5"),
    (BASE + "nodes: {a: {split: {x: {weight: 100, next: a}}}}\n", f"{J}: nodes.a.split: a split needs at least two arms"),
    (BASE + "nodes: {a: {tag: {add: VIP}, next: a}}\n", f"{J}: nodes.a.tag.add: 'VIP' is not a tag name"),
    (BASE + "nodes: {a: {tag: {add: x, remove: y}, next: a}}\n",
     f"{J}: nodes.a.tag: a tag effect has add: or remove:, one of them"),
    (BASE + "nodes: {a: {segment: {put: x}, next: a}}\n", f"{J}: nodes.a.segment.put: unknown key 'put'"),
    (BASE + "nodes: {a: {set: {tags: [a, b]}, next: a}}\n",
     f"{J}: nodes.a.set.tags: a value is a text, a number, true/false or null, not a list"),
    (BASE + "nodes: {a: {webhook: {url: 'ftp://x', method: FETCH}, next: a}}\n",
     f"{J}: nodes.a.webhook.url: 'ftp://x' is not an http(s) URL"),
    (BASE + "nodes: {a: {exit: {}, next: a}}\n", f"{J}: nodes.a.next: an exit ends the run; next is not used here"),
    (BASE + "nodes: {'a b': {exit: {}}}\n", f"{J}: nodes.a b: 'a b' is not a node id (no spaces)"),
])
def test_structural_problem(text: str, line: str) -> None:
    lines = problems_of(text)
    assert any(found.startswith(line) for found in lines), lines


def test_every_problem_of_a_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "dormant.yaml").write_text(
        "entry: {segment_entered: dormant}\nstart: coupon\nowner: 3\nnodes:\n"
        "  coupon: {send: {channel: email}, next: used_it}\n"
        "  used_it:\n    branch:\n      - {when: {event: coupon_redeemed}, next: done}\n"
        "  done: {exit: {}, label: [x]}\n", encoding="utf-8")
    (tmp_path / "journeys" / "ok.yaml").write_text("entry: {manual: {}}\n" + TAIL, encoding="utf-8")
    (tmp_path / "journeys" / "broken.yaml").write_text("entry: {manual: {}\n", encoding="utf-8")
    errors: list = []
    found = load_journey_definitions(tmp_path, errors=errors)
    assert list(found) == ["ok"]
    assert [e.message.splitlines() for e in errors] == [
        ["journeys/broken.yaml: not valid YAML (line 1, column 19): expected ',' or '}', but got '<stream end>'"],
        ["journeys/dormant.yaml: owner: owner is a non-empty text, not a number",
         "journeys/dormant.yaml: nodes.coupon.send.template: template is required",
         "journeys/dormant.yaml: nodes.used_it.branch: a branch needs an else as its last case",
         "journeys/dormant.yaml: nodes.done.label: label is a non-empty text, not a list"],
    ]
    with pytest.raises(DefinitionsError) as info:
        load_journey_definitions(tmp_path)
    assert len(info.value.problems) == 5
    assert info.value.problems[1] == "journeys/dormant.yaml: owner: owner is a non-empty text, not a number"


def test_names_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "journeys"
    folder.mkdir()
    assert load_journey_definitions(tmp_path / "nothing") == {}
    (folder / "生日关怀.yaml").write_text("entry: {manual: {}}\n" + TAIL, encoding="utf-8")
    (folder / "notes.txt").write_text("not a journey", encoding="utf-8")
    assert list(load_journey_definitions(tmp_path)) == ["生日关怀"]
    assert load_journey_definitions(tmp_path)["生日关怀"].file == "journeys/生日关怀.yaml"
    (folder / "生日关怀.yml").write_text("entry: {manual: {}}\n" + TAIL, encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"journeys/生日关怀.yml: journey '生日关怀' is also defined in "):
        load_journey_definitions(tmp_path)
    (folder / "生日关怀.yml").unlink()
    (folder / "x y.yaml").write_text("entry: {manual: {}}\n" + TAIL, encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"journeys/x y.yaml: 'x y' is not a journey name"):
        load_journey_definitions(tmp_path)
    (folder / "x y.yaml").unlink()
    (folder / "other.yaml").write_text("name: another\nentry: {manual: {}}\n" + TAIL, encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"journeys/other.yaml: name: 'another' does not match the file name"):
        load_journey_definitions(tmp_path)
