"""Journey definitions: one YAML file per journey in the project's ``journeys/`` folder.

The name is the file name without ``.yaml`` (Unicode letters allowed, :mod:`segflow.names`,
as for segments); the file is read into a :class:`~segflow.journeys.model.Journey`::

    # journeys/dormant_high_aov.yaml
    entry: {segment_entered: dormant_high_aov}
    start: coupon_email
    nodes:
      coupon_email:
        send: {channel: email, template: comeback_coupon}
        next: done
      done:
        exit: {}

Every structural problem of a file is reported at once, one line each, naming the file,
the node id and the field (``journeys/dormant.yaml: nodes.used_it.branch: a branch needs
an else as its last case``). Unknown keys are refused (with the closest known key).
What the file refers to (segments, tags, templates, channels, attributes, rules) and the
graph (targets, reachability, cycles, split weights) are checked by
:mod:`segflow.journeys.check`, which needs the project.

Times in ``effective`` carry their zone (``2026-01-01T00:00:00+08:00``); a time written
without one is read as UTC (the project's zone is not known to a definition). Durations
are the rule language's (``90min``, ``12h``, ``3d``, ``2w``), kept as whole seconds.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError, SegflowError
from segflow.journeys.model import (
    NODE_KINDS,
    Branch,
    BranchCase,
    DateEntry,
    Entry,
    EventEntry,
    EventMatch,
    Exit,
    Goal,
    Journey,
    Limits,
    ManualEntry,
    Node,
    NodeBody,
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
from segflow.names import nfc

__all__ = ["JOURNEYS_DIR", "check_journey_name", "load_journey_definitions", "parse_journey", "parse_signed_duration"]

#: The project folder holding journey definitions.
JOURNEYS_DIR = "journeys"

_NAME_RULE = "letters of any script, digits, _ and -, starting with a letter, a digit or _; no spaces"
_KEYS = ("name", "description", "owner", "label", "effective", "entry", "re_entry", "exit_when", "goal", "holdout",
         "limits", "start", "nodes")
_ENTRIES = ("segment_entered", "segment_exited", "event", "date", "schedule", "manual")
_NODE_KEYS = (*NODE_KINDS, "next", "label")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_DURATION_HELP = "an integer and min, h, d or w: 30min, 12h, 3d, 2w"
#: Kinds whose targets are inside the body: they take no ``next:``.
_OWN_TARGETS = ("branch", "split", "exit")


def check_journey_name(name: Any, where: str | None = None) -> str:
    """The NFC form of *name* when it is a valid journey name, else :class:`DefinitionError` (``bad_name``)."""
    from segflow.names import check_name

    return check_name("journey", name, where, rule=_NAME_RULE, first="letter_digit_or_underscore", marks="_-")


def parse_signed_duration(value: Any) -> int | None:
    """``"3d"`` → 259200, ``"-7d"`` → -604800, ``0`` → 0; None when *value* is not a duration."""
    from segflow.rules.parse import parse_duration

    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0
    if not isinstance(value, str):
        return None
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    d = parse_duration(text.lstrip("+-"))
    return None if d is None else sign * d.seconds


def _canonical(value: Any) -> Any:
    """*value* as JSON-ready data: times as ISO text, keys as text (what is versioned)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a text", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


class _JourneyParser:
    """Reads one file's data, collecting every problem as ``(path, code, message)``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[tuple[str, str, str]] = []

    # -- helpers --------------------------------------------------------------
    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append((path, code, message))

    def keys(self, data: dict[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            self.fail(f"{path}.{key}" if path else str(key), "unknown_key", f"unknown key {key!r} ({hint})")

    def mapping(self, value: Any, path: str, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.fail(path, "bad_value", f"{what} is a mapping, not {_kind(value)}")
        return None

    def text(self, value: Any, path: str, what: str, *, required: bool = True) -> str | None:
        if not required and (value is None or value == ""):
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.fail(path, "missing_value" if value is None else "bad_value",
                  f"{what} is required" if value is None else f"{what} is a non-empty text, not {_kind(value)}")
        return None

    def node_id(self, value: Any, path: str) -> str | None:
        """A reference to a node (whether it exists is the checker's question)."""
        if isinstance(value, str) and value.strip():
            return nfc(value.strip())
        self.fail(path, "missing_value" if value is None else "bad_value",
                  "a node id is required" if value is None else f"a node id is a text, not {_kind(value)}")
        return None

    def duration(self, value: Any, path: str, *, signed: bool = False) -> int | None:
        from segflow.rules.parse import parse_duration

        if signed:
            seconds = parse_signed_duration(value)
        else:
            d = parse_duration(value)
            seconds = None if d is None else d.seconds
        if seconds is not None:
            return seconds
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+m", value.strip()):
            hint = f" (minutes are written min: {value.strip()}in)"
        if value is None:
            self.fail(path, "missing_value", f"a duration is required ({_DURATION_HELP})")
        else:
            self.fail(path, "bad_duration", f"{value!r} is not a duration ({_DURATION_HELP}){hint}")
        return None

    def clock(self, value: Any, path: str) -> str | None:
        text = value.strip() if isinstance(value, str) else None
        if text is not None and re.fullmatch(r"[0-9]:[0-5][0-9]", text):
            text = "0" + text
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 10:00 as the base-60 number 600
            hh, mm = divmod(value, 60)
            self.fail(path, "bad_time", f"YAML read an unquoted {hh}:{mm:02d} as the number {value}; "
                      f"quote the time: \"{hh:02d}:{mm:02d}\"")
            return None
        if text is None or not _CLOCK.match(text):
            self.fail(path, "bad_time", f"{value!r} is not a time of day (\"HH:MM\", e.g. \"10:00\"; quote it)")
            return None
        return text

    def name(self, value: Any, path: str, kind: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "missing_value" if value is None else "bad_value", f"a {kind} name is required")
            return None
        try:
            if kind == "tag":
                from segflow.tags.definition import check_tag_name

                return check_tag_name(value.strip(), path=path)
            if kind == "segment":
                from segflow.segments.definition import check_segment_name

                return check_segment_name(value.strip())
        except DefinitionError as exc:
            self.fail(path, exc.code, exc.message)
            return None
        return nfc(value.strip())

    def rule(self, value: Any, path: str) -> Any:
        """A rule, kept as data (the checker checks it against the project)."""
        if isinstance(value, dict) and value:
            return value
        self.fail(path, "bad_rule", f"a rule is a non-empty mapping (e.g. {{segment: NAME}}), not {_kind(value)}")
        return None

    def event_match(self, value: Any, path: str, *, name_key: str = "name") -> EventMatch | None:
        if isinstance(value, str):
            value = {name_key: value}
        data = self.mapping(value, path, "an event match")
        if data is None:
            return None
        self.keys(data, (name_key, "where"), path)
        name = self.text(data.get(name_key), f"{path}.{name_key}", "an event name")
        where = data.get("where")
        if where is not None and not isinstance(where, dict):
            self.fail(f"{path}.where", "bad_value", f"where takes property filters ({{amount: {{gte: 600}}}}), "
                      f"not {_kind(where)}")
            where = None
        return None if name is None else EventMatch(name=name, where=dict(where or {}))

    def moment(self, value: Any, path: str) -> datetime | None:
        if value is None:
            return None
        when: datetime | None = None
        if isinstance(value, datetime):
            when = value
        elif isinstance(value, date):
            when = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                when = None
        if when is None:
            self.fail(path, "bad_time", f"{value!r} is not an ISO time (2026-01-01T00:00:00+08:00)")
            return None
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)

    def positive(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(path, "bad_value", f"a positive whole number is expected, not {value!r}")
            return None
        return value

    # -- the journey ------------------------------------------------------------
    def parse(self, data: Any, name: str) -> Journey | None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("", "bad_journey", f"a journey is a mapping (entry, start, nodes, ...), not {_kind(data)}")
            return None
        self.keys(data, _KEYS, "")
        if data.get("name") is not None and (not isinstance(data["name"], str) or nfc(data["name"]) != name):
            self.fail("name", "name_mismatch", f"{data['name']!r} does not match the file name {name!r}")
        texts = {k: self.text(data.get(k), k, k, required=False) or "" for k in ("description", "owner", "label")}
        effective_from, effective_to = self.effective(data.get("effective"))
        entry = self.entry(data.get("entry"))
        re_entry, re_entry_after = self.re_entry(data.get("re_entry"))
        exit_when = self.rule(data["exit_when"], "exit_when") if data.get("exit_when") is not None else None
        goal = self.goal(data["goal"]) if data.get("goal") is not None else None
        holdout = self.holdout(data.get("holdout"))
        limits = self.limits(data.get("limits"))
        start = self.node_id(data.get("start"), "start")
        nodes = self.nodes(data.get("nodes"))
        if self.problems or entry is None or start is None or nodes is None:
            return None
        return Journey(name=name, file=self.file, entry=entry, start=start, nodes=nodes,
                       description=texts["description"], owner=texts["owner"], label=texts["label"],
                       effective_from=effective_from, effective_to=effective_to, re_entry=re_entry,
                       re_entry_after=re_entry_after, exit_when=exit_when, goal=goal, holdout=holdout,
                       limits=limits, data=_canonical(data))

    def effective(self, value: Any) -> tuple[datetime | None, datetime | None]:
        if value is None:
            return None, None
        data = self.mapping(value, "effective", "effective")
        if data is None:
            return None, None
        self.keys(data, ("from", "to"), "effective")
        start = self.moment(data.get("from"), "effective.from")
        end = self.moment(data.get("to"), "effective.to")
        if start is not None and end is not None and end <= start:
            self.fail("effective.to", "bad_window", "effective.to is not after effective.from")
        return start, end

    def entry(self, value: Any) -> Entry | None:
        if value is None:
            self.fail("entry", "missing_entry", f"a journey needs an entry (one of {', '.join(_ENTRIES)})")
            return None
        data = self.mapping(value, "entry", "entry")
        if data is None:
            return None
        self.keys(data, _ENTRIES, "entry")
        given = [k for k in _ENTRIES if k in data]
        if len(given) != 1:
            self.fail("entry", "bad_entry", f"an entry has exactly one of {', '.join(_ENTRIES)}"
                      + (f"; this one has {' and '.join(given)}" if given else ""))
            return None
        kind = given[0]
        body = data[kind]
        path = f"entry.{kind}"
        if kind in ("segment_entered", "segment_exited"):
            segment = self.name(body, path, "segment")
            return None if segment is None else SegmentEntry(segment=segment, exited=kind == "segment_exited")
        if kind == "event":
            match = self.event_match(body, path)
            return None if match is None else EventEntry(event=match)
        if kind == "date":
            return self.date_entry(body, path)
        if kind == "schedule":
            return self.schedule_entry(body, path)
        if body is not None and body != {}:
            self.fail(path, "bad_value", "manual takes no settings: write manual: {}")
            return None
        return ManualEntry()

    def date_entry(self, body: Any, path: str) -> DateEntry | None:
        data = self.mapping(body, path, "a date entry ({attr: birthday, offset: -7d, at: \"10:00\"})")
        if data is None:
            return None
        self.keys(data, ("attr", "offset", "at"), path)
        attr = self.text(data.get("attr"), f"{path}.attr", "attr (a date or timestamp attribute)")
        offset = 0 if data.get("offset") is None else self.duration(data["offset"], f"{path}.offset", signed=True)
        at = "00:00" if data.get("at") is None else self.clock(data["at"], f"{path}.at")
        if attr is None or offset is None or at is None:
            return None
        return DateEntry(attr=attr, offset=offset, at=at)

    def schedule_entry(self, body: Any, path: str) -> ScheduleEntry | None:
        data = self.mapping(body, path, "a schedule entry ({cron: \"0 0 1 * *\", audience: RULE})")
        if data is None:
            return None
        self.keys(data, ("cron", "audience"), path)
        cron: str | None = None
        try:
            from segflow.segments.definition import check_cron

            cron = check_cron(data.get("cron"), f"{path}.cron")
        except DefinitionError as exc:
            self.fail(f"{path}.cron", exc.code, exc.message.removeprefix(f"{path}.cron: "))
        if data.get("audience") is None:
            self.fail(f"{path}.audience", "missing_value", "a schedule entry needs an audience rule (e.g. {segment: NAME})")
            return None
        audience = self.rule(data["audience"], f"{path}.audience")
        if cron is None or audience is None:
            return None
        return ScheduleEntry(cron=cron, audience=audience)

    def re_entry(self, value: Any) -> tuple[str, int | None]:
        if value is None or value in ("never", "always"):
            return value or "never", None
        if isinstance(value, dict):
            self.keys(value, ("after",), "re_entry")
            if "after" in value:
                seconds = self.duration(value["after"], "re_entry.after")
                return ("after", seconds) if seconds is not None else ("never", None)
        self.fail("re_entry", "bad_value", f"re_entry is never, always or {{after: DURATION}}, not {value!r}")
        return "never", None

    def goal(self, value: Any) -> Goal | None:
        data = self.mapping(value, "goal", "a goal ({event: order_paid, window: 14d})")
        if data is None:
            return None
        self.keys(data, ("event", "where", "window"), "goal")
        match = self.event_match({k: v for k, v in data.items() if k in ("event", "where")}, "goal",
                                 name_key="event")
        window = self.duration(data.get("window"), "goal.window")
        return None if match is None or window is None else Goal(event=match, window=window)

    def holdout(self, value: Any) -> float:
        if value is None:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            self.fail("holdout", "bad_value", f"holdout is a share from 0 up to (not including) 1, e.g. 0.1; "
                      f"not {value!r}")
            return 0.0
        return float(value)

    def limits(self, value: Any) -> Limits:
        if value is None:
            return Limits()
        data = self.mapping(value, "limits", "limits ({active: N, sends_per_day: N})")
        if data is None:
            return Limits()
        self.keys(data, ("active", "sends_per_day"), "limits")
        return Limits(active=self.positive(data.get("active"), "limits.active"),
                      sends_per_day=self.positive(data.get("sends_per_day"), "limits.sends_per_day"))

    # -- nodes ------------------------------------------------------------------
    def nodes(self, value: Any) -> dict[str, Node] | None:
        if value is None:
            self.fail("nodes", "missing_nodes", "a journey needs nodes")
            return None
        data = self.mapping(value, "nodes", "nodes")
        if data is None:
            return None
        if not data:
            self.fail("nodes", "missing_nodes", "a journey needs at least one node")
            return None
        from segflow.names import problem

        out: dict[str, Node] = {}
        for raw_id, body in data.items():
            why = problem(raw_id, marks="_-", first="letter_digit_or_underscore", max_len=100)
            if why is not None:
                self.fail(f"nodes.{raw_id}", "bad_node_id", f"{raw_id!r} is not a node id ({why})")
                continue
            node = self.node(nfc(raw_id), body, f"nodes.{nfc(raw_id)}")
            if node is not None:
                out[node.id] = node
        return out

    def node(self, node_id: str, value: Any, path: str) -> Node | None:
        data = self.mapping(value, path, "a node")
        if data is None:
            return None
        self.keys(data, _NODE_KEYS, path)
        kinds = [k for k in NODE_KINDS if k in data]
        if len(kinds) != 1:
            self.fail(path, "bad_node", f"a node has exactly one of {', '.join(NODE_KINDS)}"
                      + (f"; this one has {' and '.join(kinds)}" if kinds else ""))
            return None
        kind = kinds[0]
        here = f"{path}.{kind}"
        body = self.body(kind, data[kind], here)
        label = self.text(data.get("label"), f"{path}.label", "label", required=False) or ""
        names_targets = kind in _OWN_TARGETS or isinstance(body, WaitFor)
        nxt: str | None = None
        if names_targets:
            if "next" in data:
                what = "an exit ends the run" if kind == "exit" else f"a {kind} names its targets inside"
                self.fail(f"{path}.next", "unexpected_next", f"{what}; next is not used here")
        elif "next" not in data:
            self.fail(f"{path}.next", "missing_next", f"a {kind} node needs next: (the node after it)")
        else:
            nxt = self.node_id(data["next"], f"{path}.next")
        if body is None:
            return None
        return Node(id=node_id, body=body, next=nxt, label=label)

    def body(self, kind: str, value: Any, path: str) -> NodeBody | None:
        return {"send": self.send, "wait": self.wait, "branch": self.branch, "split": self.split, "tag": self.tag,
                "set": self.set_attributes, "segment": self.segment, "webhook": self.webhook,
                "exit": self.exit}[kind](value, path)

    def send(self, value: Any, path: str) -> Send | None:
        data = self.mapping(value, path, "send ({channel: email, template: NAME})")
        if data is None:
            return None
        self.keys(data, ("channel", "template", "topic", "transactional"), path)
        channel = self.text(data.get("channel"), f"{path}.channel", "channel")
        template = self.text(data.get("template"), f"{path}.template", "template")
        topic = self.text(data.get("topic"), f"{path}.topic", "topic", required=False)
        transactional = data.get("transactional", False)
        if not isinstance(transactional, bool):
            self.fail(f"{path}.transactional", "bad_value", f"transactional is true or false, not {transactional!r}")
            transactional = False
        if channel is None or template is None:
            return None
        return Send(channel=channel, template=nfc(template), topic=topic, transactional=transactional)

    def wait(self, value: Any, path: str) -> Wait | WaitUntil | WaitFor | None:
        if not isinstance(value, dict):
            seconds = self.duration(value, path)
            return None if seconds is None else Wait(seconds=seconds)
        if "for" in value:
            return self.wait_for(value, path)
        if "until" in value:
            self.keys(value, ("until", "days"), path)
            until = self.clock(value["until"], f"{path}.until")
            days = self.days(value.get("days"), f"{path}.days")
            return None if until is None or days is None else WaitUntil(until=until, days=days)
        self.keys(value, ("for", "timeout", "then", "else", "until", "days"), path)
        self.fail(path, "bad_wait", "wait is a duration (3d), {until: \"10:00\", days: [...]} or "
                  "{for: {event: NAME}, timeout: 3d, then: ID, else: ID}")
        return None

    def days(self, value: Any, path: str) -> tuple[int, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.fail(path, "bad_value", f"days is a list of {', '.join(_DAYS)}")
            return None
        out: list[int] = []
        for i, day in enumerate(value):
            key = str(day).strip().lower()[:3] if isinstance(day, str) else None
            if key not in _DAYS:
                self.fail(f"{path}[{i}]", "bad_value", f"{day!r} is not a day ({', '.join(_DAYS)})")
                return None
            if _DAYS.index(key) not in out:
                out.append(_DAYS.index(key))
        return tuple(sorted(out))

    def wait_for(self, value: dict[str, Any], path: str) -> WaitFor | None:
        self.keys(value, ("for", "timeout", "then", "else"), path)
        match = self.event_match(value["for"], f"{path}.for", name_key="event")
        timeout = self.duration(value.get("timeout"), f"{path}.timeout")
        then = self.node_id(value.get("then"), f"{path}.then")
        otherwise = self.node_id(value.get("else"), f"{path}.else")
        if match is None or timeout is None or then is None or otherwise is None:
            return None
        return WaitFor(event=match, timeout=timeout, then=then, otherwise=otherwise)

    def branch(self, value: Any, path: str) -> Branch | None:
        if not isinstance(value, list) or not value:
            self.fail(path, "bad_branch", "a branch is a list of {when: RULE, next: ID} ending with {else: ID}")
            return None
        cases: list[BranchCase] = []
        otherwise: str | None = None
        ok = True
        for i, case in enumerate(value):
            here = f"{path}[{i}]"
            last = i == len(value) - 1
            if isinstance(case, dict) and "else" in case:
                self.keys(case, ("else",), here)
                if not last:
                    self.fail(here, "else_not_last", "else is the last case of a branch (the cases after it never run)")
                    ok = False
                otherwise = self.node_id(case["else"], f"{here}.else")
                ok = ok and otherwise is not None
                continue
            if not isinstance(case, dict):
                self.fail(here, "bad_case", f"a case is {{when: RULE, next: ID}}, not {_kind(case)}")
                ok = False
                continue
            self.keys(case, ("when", "next"), here)
            when = self.rule(case.get("when"), f"{here}.when")
            nxt = self.node_id(case.get("next"), f"{here}.next")
            if when is None or nxt is None:
                ok = False
                continue
            cases.append(BranchCase(when=when, next=nxt))
        if not isinstance(value[-1], dict) or "else" not in value[-1]:
            self.fail(path, "missing_else", "a branch needs an else as its last case")
            return None
        if not cases and ok:
            self.fail(path, "bad_branch", "a branch needs at least one {when: RULE, next: ID} before its else")
            return None
        return Branch(cases=tuple(cases), otherwise=otherwise) if ok and otherwise is not None else None

    def split(self, value: Any, path: str) -> Split | None:
        data = self.mapping(value, path, "a split ({a: {weight: 50, next: ID}, b: {weight: 50, next: ID}})")
        if data is None:
            return None
        if len(data) < 2:
            self.fail(path, "bad_split", "a split needs at least two arms")
            return None
        arms: list[SplitArm] = []
        for arm, body in data.items():
            here = f"{path}.{arm}"
            spec = self.mapping(body, here, "an arm ({weight: 50, next: ID})")
            if spec is None:
                continue
            self.keys(spec, ("weight", "next"), here)
            weight = spec.get("weight")
            if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
                self.fail(f"{here}.weight", "bad_weight", f"a weight is a whole number above 0 "
                          f"(the weights sum to 100), not {weight!r}")
                weight = None
            nxt = self.node_id(spec.get("next"), f"{here}.next")
            if weight is not None and nxt is not None:
                arms.append(SplitArm(name=str(arm), weight=weight, next=nxt))
        return Split(arms=tuple(arms)) if len(arms) == len(data) else None

    def _add_remove(self, value: Any, path: str, kind: str) -> tuple[str, bool] | None:
        data = self.mapping(value, path, f"a {kind} effect ({{add: NAME}} or {{remove: NAME}})")
        if data is None:
            return None
        self.keys(data, ("add", "remove"), path)
        given = [k for k in ("add", "remove") if k in data]
        if len(given) != 1:
            self.fail(path, "bad_effect", f"a {kind} effect has add: or remove:, one of them")
            return None
        name = self.name(data[given[0]], f"{path}.{given[0]}", kind)
        return None if name is None else (name, given[0] == "remove")

    def tag(self, value: Any, path: str) -> TagEffect | None:
        found = self._add_remove(value, path, "tag")
        return None if found is None else TagEffect(tag=found[0], remove=found[1])

    def segment(self, value: Any, path: str) -> SegmentEffect | None:
        found = self._add_remove(value, path, "segment")
        return None if found is None else SegmentEffect(segment=found[0], remove=found[1])

    def set_attributes(self, value: Any, path: str) -> SetAttributes | None:
        data = self.mapping(value, path, "set ({ATTRIBUTE: VALUE})")
        if data is None:
            return None
        if not data:
            self.fail(path, "bad_value", "set names at least one attribute: {ATTRIBUTE: VALUE}")
            return None
        ok = True
        for key, v in data.items():
            if isinstance(v, (dict, list)):
                self.fail(f"{path}.{key}", "bad_value", f"a value is a text, a number, true/false or null, not {_kind(v)}")
                ok = False
        return SetAttributes(values={str(k): _canonical(v) for k, v in data.items()}) if ok else None

    def webhook(self, value: Any, path: str) -> Webhook | None:
        data = self.mapping(value, path, "a webhook ({url: https://..., method: POST})")
        if data is None:
            return None
        self.keys(data, ("url", "method", "body", "headers"), path)
        url = self.text(data.get("url"), f"{path}.url", "url")
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            self.fail(f"{path}.url", "bad_url", f"{url!r} is not an http(s) URL")
            url = None
        method = data.get("method", "POST")
        if not isinstance(method, str) or method.upper() not in _METHODS:
            self.fail(f"{path}.method", "bad_value", f"method is one of {', '.join(_METHODS)}, not {method!r}")
            method = None
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            self.fail(f"{path}.body", "bad_value", f"body is a template text, not {_kind(body)}")
            body = None
        headers = data.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                    for v in headers.values()):
            self.fail(f"{path}.headers", "bad_value", "headers is a mapping of header names to texts")
            headers = None
        if url is None or method is None or headers is None:
            return None
        return Webhook(url=url, method=method.upper(), body=body, headers={str(k): str(v) for k, v in headers.items()})

    def exit(self, value: Any, path: str) -> Exit | None:
        if value is not None and value != {}:
            self.fail(path, "bad_value", "exit takes no settings: write exit: {}")
            return None
        return Exit()


def _lines(file: str, problems: list[tuple[str, str, str]]) -> list[str]:
    return [f"{file}: {path}: {message}" if path else f"{file}: {message}" for path, _, message in problems]


def _error(file: str, problems: list[tuple[str, str, str]], context: tuple[str, ...] = ()) -> DefinitionError:
    """One :class:`DefinitionError` for every problem of *file*, a line each."""
    path, code, _ = problems[0]
    return DefinitionError("\n".join(_lines(file, problems)), code=code, path=f"{file}: {path}" if path else file,
                           context=context if len(problems) == 1 else ())


def parse_journey(data: Any, name: str, *, file: str | None = None) -> Journey:
    """One journey from its file's data; raises :class:`DefinitionError` listing every problem
    (one line each: ``file: nodes.ID.field: message``)."""
    where = file or f"{JOURNEYS_DIR}/{name}.yaml"
    name = check_journey_name(name, where)
    parser = _JourneyParser(where)
    journey = parser.parse(data, name)
    if parser.problems or journey is None:
        raise _error(where, parser.problems or [("", "bad_journey", "the journey could not be read")])
    return journey


def load_journey_definitions(root: Path, *, errors: list[DefinitionError] | list[SegflowError] | None = None
                             ) -> dict[str, Journey]:
    """Every ``journeys/*.yaml`` (and ``*.yml``) of the project at *root*, by name.

    Every file is read: a file with a problem does not hide the others. Without *errors*,
    the problems are raised: one :class:`DefinitionError` when there is one, else a
    :class:`~segflow.errors.DefinitionsError` with every problem (a line each). With it,
    one :class:`DefinitionError` per broken file is appended (its message: every problem
    of that file, a line each) and the journeys that loaded are returned.
    """
    from segflow.errors import DefinitionsError
    from segflow.yamlfile import load_yaml_file

    folder = Path(root) / JOURNEYS_DIR
    out: dict[str, Journey] = {}
    found: list[DefinitionError] = []
    paths = sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if folder.is_dir() else []
    for path in paths:
        rel = f"{JOURNEYS_DIR}/{path.name}"
        try:
            data = load_yaml_file(path, shown=rel, error=DefinitionError, code="bad_yaml")
            stem = nfc(path.stem)
            if stem in out:
                raise DefinitionError(f"{rel}: journey {stem!r} is also defined in {out[stem].file}",
                                      code="duplicate_journey", path=rel)
            journey = parse_journey(data, stem, file=rel)
            out[journey.name] = journey
        except DefinitionError as exc:
            found.append(exc)
    if errors is not None:
        errors.extend(found)
        return out
    lines = [line for exc in found for line in exc.message.splitlines()]
    if len(found) == 1 and len(lines) == 1:
        raise found[0]
    if found:
        raise DefinitionsError(lines, code=found[0].code, path=found[0].path)
    return out
