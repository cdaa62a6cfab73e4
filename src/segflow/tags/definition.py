"""Tag definitions: the YAML files of a project's ``tags/`` folder → checked, frozen data.

A tag is a hierarchical name ``group/tag`` (``lifecycle/churn_risk``,
``preference/coupon_sensitive``); deeper paths are allowed (``rfm/score/r``). One tag per
file; the name is ``name:`` or else the file's path under ``tags/`` without the suffix,
so ``tags/lifecycle/churn_risk.yaml`` defines ``lifecycle/churn_risk``::

    # tags/lifecycle/churn_risk.yaml
    description: No login and no purchase in 90 days, 2+ purchases ever
    kind: dynamic
    schedule: "0 2 * * *"
    rule:
      all:
        - not: {event: [login, app_open], within: 90d}
        - not: {orders: {within: 90d}}
        - orders: {count: {gte: 2}}

How a tag gets its members (``source``):

* ``rule`` — a rule of the rule language (``rule:``), optionally with a constant
  ``value:``; or ``cases:``, a list of ``{value, rule}`` where the first matching case
  gives a profile its value (a valued tag such as ``rfm/tier``);
* ``sql`` — ``sql:``, one read-only SELECT over warehouse tables returning
  ``profile_id`` (and optionally ``value``); see :mod:`segflow.tags.custom`;
* ``python`` — ``python:``, a registered function name or ``module:function``;
* ``manual`` — none of the above: assigned by people (CLI, files, API), by models or by
  journeys, never computed.

:func:`load_tag_definitions` parses every file and raises one
:class:`~segflow.errors.DefinitionError` listing every problem, each as ``file: path:
message``, so nothing half-understood is ever refreshed.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError
from segflow.rules.ast import SegmentRef, Tag, Trait, walk
from segflow.rules.errors import Problem, RuleError
from segflow.rules.parse import parse_duration, parse_rule

__all__ = ["COMPUTED_SOURCES", "SOURCES", "TAGS_DIR", "TagCase", "TagDefinition", "check_tag_name",
           "load_tag_definitions", "parse_tag", "refresh_order"]

#: The project folder holding tag definitions.
TAGS_DIR = "tags"

#: Where an assignment comes from. Computed sources are written only by a refresh.
SOURCES = ("manual", "rule", "sql", "python", "model", "journey")
COMPUTED_SOURCES = ("rule", "sql", "python")

#: ``group/tag`` (:mod:`segflow.names`): parts of letters of any script (no upper-case
#: ones), digits, ``_`` and ``-`` (a leading letter or digit), separated by ``/``; at most
#: 200 characters; NFC.
_NAME_RULE = ("lower-case segments of letters, digits, _ and -, separated by /, "
              "e.g. lifecycle/churn_risk or 生命周期/沉睡用户")
_KEYS = ("name", "description", "label", "kind", "type", "rule", "value", "cases", "sql", "python", "schedule", "expires",
         "values")
_KINDS = ("static", "dynamic")


def check_tag_name(name: Any, *, path: str | None = None) -> str:
    """The NFC form of *name* if it is a valid tag name, else :class:`DefinitionError` (code ``bad_tag_name``)."""
    from segflow.names import check_name

    return check_name("tag", name, rule=_NAME_RULE, code="bad_tag_name", path=path, groups=True, lower=True,
                      first="letter_or_digit", marks="_-")


@dataclass(frozen=True, kw_only=True, slots=True)
class TagCase:
    """One case of a valued rule tag: profiles matching ``rule`` (raw data) get ``value``."""

    value: str
    rule: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class TagDefinition:
    """One tag of the library.

    ``rule`` is the raw rule data (None for other sources); ``cases`` the valued cases
    (a plain ``rule:`` with ``value:`` is one case); ``schedule`` cron text or None;
    ``expires`` the lifetime of assignments made by hand, models or journeys (None:
    never); ``depends_on`` the segments its rules reference, ``tags_used`` the tags and
    ``traits_used`` the computed traits.
    """

    name: str
    source: str = "manual"
    kind: str = "dynamic"
    file: str = ""
    description: str = ""
    label: str = ""
    rule: Any = None
    value: str | None = None
    cases: tuple[TagCase, ...] = ()
    sql: str | None = None
    python: str | None = None
    schedule: str | None = None
    expires: int | None = None  # seconds
    #: The values a manual (or model / journey) assignment may carry; empty = any.
    values: tuple[str, ...] = ()
    depends_on: frozenset[str] = frozenset()
    tags_used: frozenset[str] = frozenset()
    traits_used: frozenset[str] = frozenset()
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def group(self) -> str:
        """The part of the name before the last ``/`` ('' for a top-level tag)."""
        return self.name.rpartition("/")[0]

    @property
    def computed(self) -> bool:
        return self.source in COMPUTED_SOURCES

    @property
    def valued(self) -> bool:
        """Whether assignments carry a value (cases, a constant value, or custom logic that may)."""
        return bool(self.cases and any(c.value for c in self.cases)) or self.source in ("sql", "python")

    def fingerprint(self) -> str:
        """A digest of the definition as written (tells a changed definition from an unchanged one)."""
        text = json.dumps(self.data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _TagParser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[tuple[str, Problem]] = []

    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append((self.file, Problem(code, path, message)))

    def text(self, data: dict[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "bad_value", f"{key} takes a non-empty text")
            return None
        return value.strip()

    def rule(self, data: Any, path: str) -> tuple[set[str], set[str], set[str]]:
        """Parse a rule for its shape and the names it uses (segments, tags, traits)."""
        try:
            tree = parse_rule(data)
        except RuleError as exc:
            for p in exc.problems:
                self.fail(f"{path}.{p.path}" if p.path else path, p.code, p.message)
            return set(), set(), set()
        segments, tags, traits = set(), set(), set()
        for node in walk(tree):
            if isinstance(node, SegmentRef):
                segments.add(node.name)
            elif isinstance(node, Tag):
                tags.add(node.name)
            elif isinstance(node, Trait):
                traits.add(node.name)
        return segments, tags, traits

    def parse(self, data: Any, default_name: str) -> TagDefinition | None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("", "bad_definition", "a tag definition is a mapping (name, description, rule, ...)")
            return None
        for key in data:
            if key not in _KEYS:
                self.fail(str(key), "unknown_key", f"unknown key {key!r} (keys: {', '.join(_KEYS)})")
        name = data.get("name", default_name)
        try:
            name = check_tag_name(name)
        except DefinitionError as exc:
            self.fail("name", exc.code, exc.message + ("" if "name" in data else "; rename the file or give name:"))
            return None
        if data.get("kind") is not None and data.get("type") is not None and data["kind"] != data["type"]:
            self.fail("type", "conflicting_kind", f"kind: {data['kind']!r} and type: {data['type']!r} disagree "
                      "(they are one key: give one of them)")
        kind = data.get("kind", data.get("type", "dynamic"))
        if kind not in _KINDS:
            self.fail("kind", "bad_value", f"kind is static or dynamic, not {kind!r}")
        methods = [k for k in ("rule", "cases", "sql", "python") if data.get(k) is not None]
        if len(methods) > 1:
            self.fail(methods[1], "conflicting_sources", f"a tag has one of rule, cases, sql, python; this one has "
                      f"{' and '.join(methods)}")
        value = data.get("value")
        if value is not None and (not isinstance(value, (str, int, float)) or isinstance(value, bool)):
            self.fail("value", "bad_value", "value takes a text (or a number)")
            value = None
        if value is not None and "rule" not in data:
            self.fail("value", "value_without_rule", "value: goes with rule: (custom logic returns its own values)")
        allowed: tuple[str, ...] = ()
        if data.get("values") is not None:
            raw_values = data["values"]
            if (not isinstance(raw_values, list) or not raw_values
                    or any(isinstance(v, bool) or not isinstance(v, (str, int, float)) or str(v) == "" for v in raw_values)):
                self.fail("values", "bad_values", "values takes a non-empty list of texts (the values people may assign)")
            else:
                allowed = tuple(str(v) for v in raw_values)
        schedule = self.text(data, "schedule")
        if schedule is not None:
            self.check_schedule(schedule)
        expires = None
        if data.get("expires") is not None:
            d = parse_duration(data["expires"])
            if d is None:
                self.fail("expires", "bad_duration", f"{data['expires']!r} is not a duration (90min, 12h, 7d, 2w)")
            else:
                expires = d.seconds
        segments: set[str] = set()
        tags: set[str] = set()
        traits: set[str] = set()
        cases: list[TagCase] = []
        if data.get("rule") is not None:
            segments, tags, traits = self.rule(data["rule"], "rule")
            cases.append(TagCase(value=None if value is None else str(value), rule=data["rule"]))  # type: ignore[arg-type]
        if data.get("cases") is not None:
            raw = data["cases"]
            if not isinstance(raw, list) or not raw:
                self.fail("cases", "bad_cases", "cases takes a non-empty list of {value, rule}")
                raw = []
            seen: set[str] = set()
            for i, case in enumerate(raw):
                here = f"cases[{i}]"
                if not isinstance(case, dict) or set(case) != {"value", "rule"}:
                    self.fail(here, "bad_case", "each case is {value: ..., rule: ...} and nothing else")
                    continue
                v = case["value"]
                if not isinstance(v, (str, int, float)) or isinstance(v, bool) or str(v) == "":
                    self.fail(f"{here}.value", "bad_value", "a case value is a non-empty text (or a number)")
                    continue
                if str(v) in seen:
                    self.fail(f"{here}.value", "duplicate_value", f"value {str(v)!r} appears in two cases")
                seen.add(str(v))
                s, t, tr = self.rule(case["rule"], f"{here}.rule")
                segments |= s
                tags |= t
                traits |= tr
                cases.append(TagCase(value=str(v), rule=case["rule"]))
        sql = self.text(data, "sql")
        python = self.text(data, "python")
        if sql is not None:
            from segflow.tags.custom import check_tag_sql

            try:
                check_tag_sql(sql)
            except DefinitionError as exc:
                self.fail("sql", exc.code, exc.message)
        source = {"rule": "rule", "cases": "rule", "sql": "sql", "python": "python"}.get(methods[0]) if methods else "manual"
        if name in tags:
            self.fail("rule", "tag_cycle", f"tag {name} refers to itself")
        return TagDefinition(
            name=name, source=source or "manual", kind=kind if kind in _KINDS else "dynamic", file=self.file,
            description=str(data.get("description") or ""), label=str(data.get("label") or ""),
            rule=data["rule"] if data.get("rule") is not None else ({"any": [c.rule for c in cases]} if cases else None),
            value=None if value is None else str(value), cases=tuple(cases), sql=sql, python=python,
            schedule=schedule, expires=expires, values=allowed, depends_on=frozenset(segments), tags_used=frozenset(tags),
            traits_used=frozenset(traits), data=dict(data),
        )

    def check_schedule(self, text: str) -> None:
        try:
            from croniter import croniter
        except ImportError:  # pragma: no cover - croniter is a dependency
            if len(text.split()) not in (5, 6):
                self.fail("schedule", "bad_schedule", f"{text!r} is not a cron expression (e.g. '0 2 * * *')")
            return
        if not croniter.is_valid(text):
            self.fail("schedule", "bad_schedule", f"{text!r} is not a cron expression (e.g. '0 2 * * *' = daily 02:00)")


def parse_tag(data: Any, name: str, *, file: str = "") -> TagDefinition:
    """One tag definition from its YAML data; *name* is the default name (from the file)."""
    parser = _TagParser(file)
    tag = parser.parse(data, name)
    if parser.problems or tag is None:
        raise _error(parser.problems)
    return tag


def _error(problems: list[tuple[str, Problem]], context: tuple[str, ...] = ()) -> DefinitionError:
    """One DefinitionError for every problem, a line each; *context* (a caret under a YAML
    error) only when that is the one problem."""
    lines = [f"{file}: {p.path}: {p.message}" if p.path else f"{file}: {p.message}" for file, p in problems]
    file, first = problems[0]
    return DefinitionError("\n".join(lines), code=first.code, path=f"{file}: {first.path}" if first.path else file,
                           context=context if len(problems) == 1 else ())


def _default_name(path: Path, folder: Path) -> str:
    rel = path.relative_to(folder).with_suffix("")
    return unicodedata.normalize("NFC", "/".join(rel.parts))


def load_tag_definitions(root: Path, *, errors: list[DefinitionError] | None = None) -> dict[str, TagDefinition]:
    """Every tag defined under ``root/tags/`` (``*.yaml``/``*.yml``, folders included), by name.

    Raises :class:`DefinitionError` listing every problem of every file (YAML errors, unknown
    keys, bad names, rule shape errors, unsafe SQL, two files defining one tag, tags
    referring to each other in a cycle). Names used by rules are not checked against
    the warehouse here; :func:`segflow.tags.refresh_tags` does that before running. With
    *errors*, that error is appended to it instead and the tags that loaded are returned.
    """
    from segflow.yamlfile import YamlSyntax, read_yaml

    folder = Path(root) / TAGS_DIR
    if not folder.is_dir():
        return {}
    problems: list[tuple[str, Problem]] = []
    context: tuple[str, ...] = ()
    found: dict[str, TagDefinition] = {}
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        rel = f"{TAGS_DIR}/{path.relative_to(folder).as_posix()}"
        try:
            data = read_yaml(path)
        except YamlSyntax as bad:
            problems.append((rel, Problem("bad_yaml", "", str(bad))))
            context = context or bad.context
            continue
        parser = _TagParser(rel)
        tag = parser.parse(data, _default_name(path, folder))
        problems += parser.problems
        if tag is None or parser.problems:
            continue
        if tag.name in found:
            other = found[tag.name].file
            problems.append((rel, Problem("duplicate_tag", "name", f"tag {tag.name} is also defined in {other}")))
            continue
        found[tag.name] = tag
    if not problems:
        cycle = _find_cycle(found)
        if cycle:
            start = found[cycle[0]]
            problems.append((start.file, Problem("tag_cycle", "rule", "tags refer to each other in a cycle: "
                                                 + " → ".join(cycle))))
    if problems and errors is not None:
        errors.append(_error(problems, context))
    elif problems:
        raise _error(problems, context)
    return found


def _find_cycle(tags: Mapping[str, TagDefinition]) -> list[str] | None:
    """A cycle of tag references among *tags* (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for used in sorted(tags[name].tags_used):
            if used not in tags:
                continue
            if state.get(used) == 1:
                return stack[stack.index(used):] + [used]
            if used not in state:
                found = visit(used)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(tags):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def refresh_order(tags: Mapping[str, TagDefinition], names: list[str], *, include_used: bool = False) -> list[str]:
    """*names* ordered so that each comes after the defined tags its rules use; with
    *include_used*, those tags (transitively) are added too."""
    wanted = set(names)
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for used in sorted(tags[name].tags_used):
            if used in tags and (include_used or used in wanted):
                visit(used)
        done.append(name)

    for name in names:
        visit(name)
    return done
