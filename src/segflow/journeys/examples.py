"""Example journeys shipped with segflow: the seed guide's automation templates, ready to install.

The examples are files of this package (``segflow/journeys/examples/``): one journey per
``<name>.yaml``, the message templates they send in ``templates/``, and the segment and
tag definitions they need in ``segments/`` and ``tags/``. Installing copies them into the
project's ``journeys/``, ``templates/``, ``segments/`` and ``tags/`` folders, where they are
ordinary definitions the user may edit (as the tag templates are, :mod:`segflow.tags.templates`)::

    >>> [e.name for e in list_examples()]
    ['dormant_high_aov', 'new_user_first_order', 'vip_birthday']
    >>> install_examples(ws.root, ["dormant_high_aov"])            # doctest: +SKIP
    [PosixPath('.../journeys/dormant_high_aov.yaml'), PosixPath('.../segments/dormant_high_aov.yaml'), ...]

* ``dormant_high_aov`` — 沉睡用户-高客单价: enters with the segment "60 days without an order,
  historical average order value >= 600"; a coupon email on day 1, an SMS reminder on day 7
  when no ``coupon_redeemed`` event came since the run entered.
* ``vip_birthday`` — 生日用户-VIP客户: enters 7 days before the ``birthday`` at 10:00; VIPs
  (``member_level`` = vip) get a gift email, and a push on the day.
* ``new_user_first_order`` — 新用户-未首单: enters on day 3 after sign-up (``created_at``);
  without an order, a coupon email; day 7 still none: the manual tag
  ``needs_manual_follow_up``; day 10: an invitation email.

They read only what ``segflow generate`` (and so ``segflow demo``) produces: the events
``order_paid`` and ``coupon_redeemed``, orders, and the profile attributes ``birthday``,
``member_level``, ``created_at`` and ``name`` (in the templates); :class:`ExampleInfo` lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError

__all__ = ["ExampleInfo", "example_files", "install_examples", "list_examples"]

#: The folders of an example's files, in the project and in the package.
_FOLDERS = ("journeys", "templates", "segments", "tags")


def _root() -> Traversable:
    return resources.files("segflow.journeys") / "examples"


@dataclass(frozen=True)
class ExampleInfo:
    """One shipped example journey and what it needs."""

    name: str
    label: str
    description: str
    #: Project-relative paths installing it writes: the journey, its templates, segments and tags.
    files: list[str] = field(default_factory=list)
    #: The event names its rules, goal and entry read.
    events: list[str] = field(default_factory=list)
    #: The profile attributes it reads (rules, date entry, templates' ``profile.X``).
    attributes: list[str] = field(default_factory=list)
    #: Whether its rules (or its segments' rules) read orders.
    orders: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _names() -> list[str]:
    return sorted(c.name.rsplit(".", 1)[0] for c in _root().iterdir()
                  if c.is_file() and c.name.endswith(".yaml"))


def _read(rel: str) -> str:
    node = _root()
    for part in rel.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


def _shipped(folder: str) -> set[str]:
    node = _root() / folder
    return {c.name.rsplit(".", 1)[0] for c in node.iterdir() if c.name.endswith(".yaml")} if node.is_dir() else set()


def _walk_rule(rule: Any) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of every leaf of rule data: ``("event", "order_paid")``, ``("attr", "city")``, ..."""
    if isinstance(rule, list):
        for item in rule:
            yield from _walk_rule(item)
    elif isinstance(rule, dict):
        for key, value in rule.items():
            if key in ("all", "any", "not"):
                yield from _walk_rule(value)
            elif key in ("event", "attr", "orders", "segment", "tag", "trait"):
                yield key, value


def _template_attributes(text: str) -> set[str]:
    import re

    return set(re.findall(r"profile\.([A-Za-z_][A-Za-z0-9_]*)", text))


def _info(name: str) -> ExampleInfo:
    import yaml

    from segflow.journeys.check import journey_rules
    from segflow.journeys.definition import parse_journey
    from segflow.journeys.model import DateEntry, SegmentEffect, SegmentEntry, Send, TagEffect

    journey = parse_journey(yaml.safe_load(_read(f"{name}.yaml")), name, file=f"journeys/{name}.yaml")
    templates = sorted({n.body.template for n in journey.nodes.values() if isinstance(n.body, Send)})
    segments: set[str] = {n.body.segment for n in journey.nodes.values() if isinstance(n.body, SegmentEffect)}
    tags: set[str] = {n.body.tag for n in journey.nodes.values() if isinstance(n.body, TagEffect)}
    events: set[str] = set()
    attributes: set[str] = set()
    orders = False
    if isinstance(journey.entry, SegmentEntry):
        segments.add(journey.entry.segment)
    if isinstance(journey.entry, DateEntry):
        attributes.add(journey.entry.attr)
    rules = [rule for _, rule in journey_rules(journey)]
    shipped_segments = _shipped("segments")
    for segment in sorted(segments & shipped_segments):
        rules.append((yaml.safe_load(_read(f"segments/{segment}.yaml")) or {}).get("rule"))
    for rule in rules:
        for key, value in _walk_rule(rule):
            if key == "event":
                events.update([value] if isinstance(value, str) else value)
            elif key == "attr" and isinstance(value, str):
                attributes.add(value)
            elif key == "orders":
                orders = True
            elif key == "segment" and isinstance(value, str):
                segments.add(value)
            elif key == "tag" and isinstance(value, str):
                tags.add(value)
    for template in templates:
        attributes |= _template_attributes(_read(f"templates/{template}.yaml"))
    files = [f"journeys/{name}.yaml", *(f"templates/{t}.yaml" for t in templates),
             *(f"segments/{s}.yaml" for s in sorted(segments & shipped_segments)),
             *(f"tags/{t}.yaml" for t in sorted(tags & _shipped("tags")))]
    return ExampleInfo(name=name, label=journey.label, description=journey.description, files=files,
                       events=sorted(events), attributes=sorted(attributes), orders=orders)


def list_examples() -> list[ExampleInfo]:
    """Every shipped example journey, by name, with the files it installs and what it reads."""
    return [_info(name) for name in _names()]


def example_files(name: str) -> dict[str, str]:
    """Project-relative path → text of every file example *name* installs."""
    known = _names()
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DefinitionError(f"no example journey {name!r} ({hint}examples: {', '.join(known)})",
                              code="unknown_example", path=name)
    info = _info(name)
    return {rel: _read(rel.removeprefix("journeys/")) for rel in info.files}


def install_examples(root: Path, names: list[str] | None = None, *, overwrite: bool = False) -> list[Path]:
    """Copy example journeys *names* (default: every one) into the project at *root*, with their
    message templates, segments and tags; returns the files written.

    A file already there with the same text is left alone; one with other text is refused
    (:class:`DefinitionError` code ``example_conflict`` naming every such file, and nothing is
    written) unless *overwrite*. Check the installed journeys against the project with
    :func:`segflow.journeys.check.check_journeys`.
    """
    wanted = _names() if names is None else list(dict.fromkeys(names))
    files: dict[str, str] = {}
    for name in wanted:
        files.update(example_files(name))
    root = Path(root)
    conflicts = [rel for rel, text in files.items()
                 if (root / rel).exists() and (root / rel).read_text(encoding="utf-8") != text]
    if conflicts and not overwrite:
        more = f" (and {len(conflicts) - 1} more: {', '.join(conflicts[1:])})" if len(conflicts) > 1 else ""
        raise DefinitionError(f"{conflicts[0]}: already in the project with other content; not replaced{more}",
                              code="example_conflict", path=conflicts[0])
    written = []
    for rel, text in files.items():
        target = root / rel
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
