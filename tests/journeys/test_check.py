"""Journeys against a project: every check refuses with the journey's file, the node id and the field."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml

import segflow
from segflow.journeys.check import check_journey_graph, check_journeys
from segflow.journeys.definition import parse_journey
from segflow.journeys.model import Journey
from segflow.segments.definition import load_segment_definitions
from segflow.tags.definition import load_tag_definitions
from segflow.workspace import Workspace

PROFILES = """profile_id,name,city,member_level,birthday,created_at,age
p1,Ann,Beijing,vip,1990-05-01,2026-01-01T00:00:00Z,36
p2,Bo,上海,normal,1985-11-30,2026-02-01T00:00:00Z,41
"""
ORDERS = """order_id,profile_id,ts,amount,status
o1,p1,2026-02-20T10:00:00Z,900.00,paid
"""
EVENTS = """event_id,profile_id,event,ts
e1,p1,order_paid,2026-02-20T10:00:00Z
e2,p2,coupon_redeemed,2026-02-21T10:00:00Z
"""
FILES = {
    "segments/buyers.yaml": "rule: {orders: {}}\n",
    "segments/picked.yaml": "type: static\ndescription: hand-picked\n",
    "tags/crm/follow_up.yaml": "description: for a person to call\n",
    "tags/big_spender.yaml": "rule: {orders: {total: {gte: 500}}}\n",
    "templates/hello.yaml": "channel: email\nsubject: Hi\ntext: Hello {{ profile.name }}\n",
    "templates/ping.yaml": "channel: sms\ntext: Ping\n",
}


@pytest.fixture(scope="module")
def hand_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("journey_check")
    ws = segflow.init(tmp / "hand_shop", timezone="Asia/Shanghai")
    for kind, text in (("profiles", PROFILES), ("orders", ORDERS), ("events", EVENTS)):
        (tmp / f"{kind}.csv").write_text(text, encoding="utf-8")
        ws.load(kind, [tmp / f"{kind}.csv"])
    for rel, text in FILES.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text, encoding="utf-8")
    yield ws
    ws.close()


def journey(text: str, name: str = "j") -> Journey:
    return parse_journey(yaml.safe_load(text), name, file=f"journeys/{name}.yaml")


@pytest.fixture
def check(hand_shop: Workspace) -> Callable[..., list[str]]:
    def _check(text: str, warnings: list[str] | None = None) -> list[str]:
        return check_journeys(hand_shop, {"j": journey(text)}, segments=load_segment_definitions(hand_shop.root),
                              tags=load_tag_definitions(hand_shop.root), warnings=warnings)

    return _check


def nodes(body: str, entry: str = "{manual: {}}", start: str = "a", head: str = "") -> str:
    return f"entry: {entry}\nstart: {start}\n{head}nodes:\n" + "".join(f"  {line}\n" for line in body.splitlines())


J = "journeys/j.yaml"
OK = nodes("a: {send: {channel: email, template: hello}, next: b}\nb: {exit: {}}")


def test_a_good_journey_has_no_problem(check: Callable[..., list[str]]) -> None:
    assert check(OK) == []


# -- the graph: one test per check -------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {exit: {}}", start="begin"), [f"{J}: start: unknown node 'begin'"]),
    (nodes("a: {send: {channel: email, template: hello}, next: dnoe}\ndone: {exit: {}}"),
     [f"{J}: nodes.a.next: unknown node 'dnoe' (did you mean 'done'?)",
      f"{J}: nodes.done: no path from start (a) reaches this node"]),
    (nodes("a: {wait: {for: {event: order_paid}, timeout: 3d, then: x, else: b}}\nb: {exit: {}}"),
     [f"{J}: nodes.a.wait.then: unknown node 'x'"]),
    (nodes("a:\n  branch:\n    - {when: {attr: city, eq: Beijing}, next: b}\n    - {else: y}\nb: {exit: {}}"),
     [f"{J}: nodes.a.branch[1].else: unknown node 'y'"]),
    (nodes("a: {split: {x: {weight: 50, next: b}, y: {weight: 50, next: z}}}\nb: {exit: {}}"),
     [f"{J}: nodes.a.split.y.next: unknown node 'z'"]),
], ids=["start", "next", "wait_then", "branch_else", "split_arm"])
def test_unknown_node(text: str, expected: list[str]) -> None:
    assert check_journey_graph(journey(text)) == expected


def test_unreachable_node() -> None:
    text = nodes("a: {exit: {}}\norphan: {wait: 1d, next: a}")
    assert check_journey_graph(journey(text)) == [f"{J}: nodes.orphan: no path from start (a) reaches this node"]


def test_cycle_without_wait() -> None:
    loop = nodes("a: {tag: {add: crm/follow_up}, next: b}\n"
                 "b:\n  branch:\n    - {when: {attr: city, eq: Beijing}, next: a}\n    - {else: c}\nc: {exit: {}}")
    assert check_journey_graph(journey(loop)) == [
        f"{J}: nodes.a: a cycle without a wait node: a → b → a (add a wait to it)"]
    itself = nodes("a:\n  branch:\n    - {when: {attr: city, eq: Beijing}, next: a}\n    - {else: c}\nc: {exit: {}}")
    assert check_journey_graph(journey(itself)) == [f"{J}: nodes.a: a cycle without a wait node: a → a (add a wait to it)"]
    waited = nodes("a: {tag: {add: crm/follow_up}, next: w}\nw: {wait: 1d, next: b}\n"
                   "b:\n  branch:\n    - {when: {attr: city, eq: Beijing}, next: a}\n    - {else: c}\nc: {exit: {}}")
    assert check_journey_graph(journey(waited)) == []


def test_split_weights_sum_to_100() -> None:
    text = nodes("a: {split: {x: {weight: 60, next: b}, y: {weight: 50, next: b}}}\nb: {exit: {}}")
    assert check_journey_graph(journey(text)) == [f"{J}: nodes.a.split: the weights sum to 110 (x 60 + y 50), not 100"]


# -- what a journey names --------------------------------------------------------------------------
END = "\nz: {exit: {}}"


@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {exit: {}}", entry="{segment_entered: buyer}"),
     f"{J}: entry.segment_entered: unknown segment 'buyer' (did you mean 'buyers'?)"),
    (nodes("a: {exit: {}}", entry="{segment_exited: nobody}"), f"{J}: entry.segment_exited: unknown segment 'nobody'"),
    (nodes("a: {segment: {add: buyers}, next: z}" + END),
     f"{J}: nodes.a.segment.add: segment 'buyers' is dynamic (its rule decides its members); a journey adds to and "
     "removes from static segments only"),
    (nodes("a: {segment: {remove: pickd}, next: z}" + END),
     f"{J}: nodes.a.segment.remove: unknown segment 'pickd' (did you mean 'picked'?)"),
], ids=["entry", "exit_entry", "dynamic_effect", "unknown_effect"])
def test_segments(check: Callable[..., list[str]], text: str, expected: str) -> None:
    assert check(text) == [expected]
    assert check(nodes("a: {segment: {add: picked}, next: z}" + END, entry="{segment_entered: buyers}")) == []


@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {tag: {add: crm/folow_up}, next: z}" + END),
     f"{J}: nodes.a.tag.add: unknown tag 'crm/folow_up' (did you mean 'crm/follow_up'?) (define it as a manual tag: "
     "tags/crm/folow_up.yaml with a description)"),
    (nodes("a: {tag: {remove: big_spender}, next: z}" + END),
     f"{J}: nodes.a.tag.remove: tag 'big_spender' is computed (source rule): a journey's add would sit beside its "
     "computed members and a remove could not take them away; a journey adds and removes manual tags only"),
], ids=["unknown", "computed"])
def test_tags(check: Callable[..., list[str]], text: str, expected: str) -> None:
    assert check(text) == [expected]
    assert check(nodes("a: {tag: {add: crm/follow_up}, next: z}" + END)) == []


@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {send: {channel: email, template: helo}, next: z}" + END),
     [f"{J}: nodes.a.send.template: unknown template 'helo' (did you mean 'hello'?) (templates/helo.yaml)"]),
    (nodes("a: {send: {channel: email, template: ping}, next: z}" + END),
     [f"{J}: nodes.a.send.template: template 'ping' is for channel 'sms', this send is on 'email'"]),
    (nodes("a: {send: {channel: fax, template: hello}, next: z}" + END),
     [f"{J}: nodes.a.send.channel: unknown channel 'fax' (channels: email, file, push, sms, wechat, wecom)",
      f"{J}: nodes.a.send.template: template 'hello' is for channel 'email', this send is on 'fax'"]),
], ids=["unknown_template", "template_channel", "unknown_channel"])
def test_sends(check: Callable[..., list[str]], text: str, expected: list[str]) -> None:
    assert check(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {set: {membr_level: gold}, next: z}" + END),
     f"{J}: nodes.a.set.membr_level: unknown profile attribute 'membr_level' (did you mean 'member_level'?) "
     "(declare it in schema.yaml)"),
    (nodes("a: {set: {age: old}, next: z}" + END), f"{J}: nodes.a.set.age: 'old' does not fit attribute 'age' (integer)"),
    (nodes("a: {set: {profile_id: x}, next: z}" + END),
     f"{J}: nodes.a.set.profile_id: profile_id is the profile's id and cannot be set"),
    (nodes("a: {exit: {}}", entry="{date: {attr: birthdy}}"),
     f"{J}: entry.date.attr: unknown profile attribute 'birthdy' (did you mean 'birthday'?)"),
    (nodes("a: {exit: {}}", entry="{date: {attr: city}}"),
     f"{J}: entry.date.attr: attribute 'city' is string; a date entry reads a date or timestamp attribute"),
], ids=["unknown", "type", "profile_id", "date_unknown", "date_type"])
def test_attributes(check: Callable[..., list[str]], text: str, expected: str) -> None:
    assert check(text) == [expected]
    assert check(nodes("a: {set: {member_level: gold, age: 3, city: null}, next: z}" + END,
                       entry="{date: {attr: created_at}}")) == []
    assert check(nodes("a: {exit: {}}", entry="{date: {attr: birthday}}")) == []


def branch(when: str) -> str:
    return f"a:\n  branch:\n    - {{when: {when}, next: z}}\n    - {{else: z}}" + END


@pytest.mark.parametrize(("text", "expected"), [
    (nodes("a: {exit: {}}", head="exit_when: {attr: colour, eq: red}\n"),
     f"{J}: exit_when.attr: unknown attribute 'colour' of profiles"),
    (nodes(branch("{orders: {total: {gte: many}}}")), f"{J}: nodes.a.branch[0].when.orders.total.gte: "),
    (nodes("a: {exit: {}}", entry="{event: {name: order_paid, where: {amount: {gtee: 600}}}}"),
     f"{J}: entry.event.where.amount.gtee: unknown operator 'gtee'"),
    (nodes("a: {exit: {}}", head="goal: {event: order_paid, where: {amount: {between: 3}}, window: 3d}\n"),
     f"{J}: goal.where.amount.between: "),
    (nodes("a: {wait: {for: {event: order_paid, where: {amount: {eq: [1]}}}, timeout: 1d, then: z, else: z}}" + END),
     f"{J}: nodes.a.wait.for.where.amount.eq: "),
    (nodes("a: {exit: {}}", entry="{schedule: {cron: '0 0 * * *', audience: {segment: buyrs}}}"),
     f"{J}: entry.schedule.audience.segment: unknown segment 'buyrs'"),
], ids=["exit_when", "branch_when", "event_entry_where", "goal_where", "wait_for_where", "schedule_audience"])
def test_rules(check: Callable[..., list[str]], text: str, expected: str) -> None:
    found = check(text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_journey_windows_and_event_warnings(check: Callable[..., list[str]]) -> None:
    warnings: list[str] = []
    text = nodes(branch("{event: coupon_redeemed, within: journey}")
                 .replace("- {else: z}", "- {when: {event: coupon_usd, within: node}, next: z}\n    - {else: z}"))
    assert check(text, warnings) == []
    assert len(warnings) == 1 and warnings[0].startswith(f"{J}: nodes.a.branch[1].when"), warnings
    assert "coupon_usd" in warnings[0]


def test_every_problem_of_a_journey_at_once(check: Callable[..., list[str]]) -> None:
    text = nodes("a: {send: {channel: email, template: helo}, next: b}\n"
                 "b: {tag: {add: nobody}, next: c}\n"
                 "c: {split: {x: {weight: 10, next: d}, y: {weight: 10, next: z}}}\n"
                 "d: {set: {colour: red}, next: a}\n"
                 "lost: {exit: {}}" + END, entry="{segment_entered: none_such}")
    found = check(text)
    assert [line.split(": ")[1] for line in found] == [
        "nodes.lost", "nodes.a", "nodes.c.split", "entry.segment_entered", "nodes.b.tag.add", "nodes.a.send.template",
        "nodes.d.set.colour"]
    assert all(line.startswith(f"{J}: ") for line in found)
