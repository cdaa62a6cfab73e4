"""Segment definitions: one YAML file per segment in the project's ``segments/`` folder.

A dynamic segment has a rule (the rule language, docs/rules.md) and optionally a cron
schedule in the workspace time zone; a static segment has members added and removed
by hand (``segflow segment add/remove``)::

    # segments/dormant_vip.yaml
    description: High spenders who have not ordered for 90 days
    rule:
      all:
        - orders: {sum: amount, gte: 5000}
        - not: {orders: {within: 90d}}
    schedule: "0 2 * * *"          # every day at 02:00, workspace time zone

    # segments/vip_manual.yaml
    type: static
    description: Hand-picked VIPs from the sales team

A file holding only a rule (``all: [...]``, as ``segflow segment preview`` takes) is a
dynamic segment without a schedule. The segment's name is the file name without
``.yaml``; a ``name:`` key, when present, must agree with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError
from segflow.names import nfc

__all__ = [
    "DefinitionError",
    "SegmentDefinition",
    "canonical_json",
    "check_cron",
    "fingerprint",
    "load_segment_definitions",
    "parse_segment",
    "check_segment_name",
    "rule_references",
]

#: Segment names (:mod:`segflow.names`): Unicode letters and digits and ``_ - .``, starting
#: with a letter, a digit or ``_``; no ``..``; at most 200 characters; NFC.
_NAME_RULE = "letters of any script, digits, _ - and ., starting with a letter, a digit or _; no spaces, no .."

_KEYS = {"name", "description", "label", "type", "kind", "rule", "schedule"}
_RULE_KEYS = {"all", "any", "not", "attr", "tag", "trait", "segment", "member_of", "subscribed", "sample",
              "event", "orders"}


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the stored body of a definition version."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(data: Any) -> str:
    """SHA-256 of :func:`canonical_json`: equal fingerprints mean the same definition."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def check_cron(expr: Any, where: str) -> str:
    """*expr* when it is a valid 5-field cron expression, else a :class:`DefinitionError` at *where*."""
    from croniter import croniter

    if not isinstance(expr, str) or not expr.strip():
        raise DefinitionError(f"{where}: a cron expression such as \"0 2 * * *\" is expected", code="bad_schedule",
                              path=where)
    text = " ".join(expr.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise DefinitionError(f"{where}: {expr!r} is not a valid cron expression (minute hour day month weekday)",
                              code="bad_schedule", path=where)
    return text


@dataclass(frozen=True)
class SegmentDefinition:
    """One segment as written in ``segments/NAME.yaml``."""

    name: str
    #: "dynamic" (a rule) or "static" (members added by hand).
    type: str
    rule: Any = None
    schedule: str | None = None
    description: str = ""
    #: A display name (any text); versioned only when set.
    label: str = ""
    #: The file it was read from, relative to the project (``segments/x.yaml``).
    file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dynamic(self) -> bool:
        return self.type == "dynamic"

    def body(self) -> dict[str, Any]:
        """What is versioned: everything that changes membership or scheduling."""
        body = {"type": self.type, "rule": self.rule, "schedule": self.schedule, "description": self.description}
        if self.label:  # only when set: a segment without one keeps its fingerprint
            body["label"] = self.label
        return body

    def fingerprint(self) -> str:
        return fingerprint(self.body())

    @classmethod
    def from_body(cls, name: str, body: dict[str, Any], file: str | None = None) -> SegmentDefinition:
        return cls(name=name, type=body["type"], rule=body.get("rule"), schedule=body.get("schedule"),
                   description=body.get("description") or "", label=body.get("label") or "", file=file)


def check_segment_name(name: Any, where: str | None = None) -> str:
    """The NFC form of *name* when it is a valid segment name, else :class:`DefinitionError` (``bad_name``)."""
    from segflow.names import check_name

    return check_name("segment", name, where, rule=_NAME_RULE, first="letter_digit_or_underscore", marks="_-.")


def parse_segment(data: Any, name: str, *, file: str | None = None) -> SegmentDefinition:
    """Validate one segment file's data; raises :class:`DefinitionError` naming the file and key."""
    where = file or name
    name = check_segment_name(name, where)
    if isinstance(data, dict) and not (set(data) & {"rule", "type", "kind"}) and set(data) & _RULE_KEYS:
        data = {"rule": data}  # a bare rule file
    if not isinstance(data, dict):
        raise DefinitionError(f"{where}: expected a mapping with rule: (or type: static)", code="bad_segment",
                              path=where)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise DefinitionError(f"{where}: {unknown[0]}: unknown key (allowed: {', '.join(sorted(_KEYS))})",
                              code="unknown_key", path=f"{where}:{unknown[0]}")
    if data.get("name") is not None and (not isinstance(data["name"], str) or nfc(data["name"]) != name):
        raise DefinitionError(f"{where}: name: {data['name']!r} does not match the file name {name!r}",
                              code="name_mismatch", path=f"{where}:name")
    if data.get("type") is not None and data.get("kind") is not None and data["type"] != data["kind"]:
        raise DefinitionError(f"{where}: type: {data['type']!r} and kind: {data['kind']!r} disagree (they are one "
                              "key: give one of them)", code="conflicting_type", path=f"{where}:kind")
    kind = data.get("type") or data.get("kind") or ("dynamic" if "rule" in data else None)
    if kind not in ("dynamic", "static"):
        raise DefinitionError(f"{where}: type: expected dynamic or static, got {kind!r}"
                              if kind else f"{where}: a dynamic segment needs rule: (or write type: static)",
                              code="bad_segment_type", path=f"{where}:type")
    rule = data.get("rule")
    if kind == "dynamic" and rule is None:
        raise DefinitionError(f"{where}: rule: a dynamic segment needs a rule", code="missing_rule",
                              path=f"{where}:rule")
    if kind == "static" and rule is not None:
        raise DefinitionError(f"{where}: rule: a static segment has no rule (its members are added by hand)",
                              code="static_rule", path=f"{where}:rule")
    schedule = data.get("schedule")
    if schedule is not None:
        if kind == "static":
            raise DefinitionError(f"{where}: schedule: a static segment is not refreshed", code="static_schedule",
                                  path=f"{where}:schedule")
        schedule = check_cron(schedule, f"{where}: schedule")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise DefinitionError(f"{where}: description: expected text", code="bad_description",
                              path=f"{where}:description")
    label = data.get("label") or ""
    if not isinstance(label, str):
        raise DefinitionError(f"{where}: label: expected text", code="bad_label", path=f"{where}:label")
    return SegmentDefinition(name=name, type=kind, rule=rule, schedule=schedule, description=description,
                             label=label, file=file)


def load_segment_definitions(root: Path, *, errors: list[DefinitionError] | None = None
                             ) -> dict[str, SegmentDefinition]:
    """Every ``segments/*.yaml`` (and ``*.yml``, ``*.json``) of the project at *root*, by name.

    Every file is read: a file with a problem does not hide the others. Without *errors*,
    the one error is raised (several: one :class:`DefinitionsError` listing each); with it,
    each file's error is appended to it and the segments that loaded are returned.
    """
    from segflow.errors import DefinitionsError
    from segflow.yamlfile import load_yaml_file

    folder = root / "segments"
    out: dict[str, SegmentDefinition] = {}
    found: list[DefinitionError] = []
    paths = sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml", ".json")) if folder.is_dir() else []
    for path in paths:
        rel = f"segments/{path.name}"
        try:
            data = load_yaml_file(path, shown=rel, error=DefinitionError, code="bad_yaml")
            stem = nfc(path.stem)  # a file name typed (or stored, as macOS does) in another normal form
            if stem in out:
                raise DefinitionError(f"{rel}: segment {stem!r} is also defined in {out[stem].file}",
                                      code="duplicate_segment", path=rel)
            segment = parse_segment(data, stem, file=rel)
            out[segment.name] = segment
        except DefinitionError as exc:
            found.append(exc)
    if errors is not None:
        errors.extend(found)
    elif len(found) == 1:
        raise found[0]
    elif found:
        raise DefinitionsError([e.message for e in found], code=found[0].code, path=found[0].path)
    return out


def rule_references(rule: Any) -> tuple[set[str], set[str]]:
    """The segments and tags a rule (data) refers to: ``({segment names}, {tag names})``.

    A rule that does not parse refers to nothing here; checking reports it with its path.
    """
    from segflow.rules.ast import SegmentRef, Tag, walk
    from segflow.rules.errors import RuleError
    from segflow.rules.parse import parse_rule

    if rule is None:
        return set(), set()
    try:
        tree = parse_rule(rule)
    except RuleError:
        return set(), set()
    segments = {n.name for n in walk(tree) if isinstance(n, SegmentRef)}
    tags = {n.name for n in walk(tree) if isinstance(n, Tag)}
    return segments, tags
