"""The project folder's definitions as code: ``segments/``, ``tags/``, ``traits/`` and ``models/``.

:func:`local_definitions` reads every file, validates it and returns one
:class:`LocalDefinition` per (kind, name) with the canonical body that is versioned.
:func:`check_definitions` then checks every rule against the workspace (names, types,
references, cycles) and collects *every* problem with its file and rule path, so
``segflow plan`` can list them all and ``segflow apply`` can refuse before changing
anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from segflow.errors import DefinitionsError, SegflowError
from segflow.segments.definition import fingerprint, load_segment_definitions

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.check import CheckContext

__all__ = ["DefinitionsError", "LocalDefinition", "ProjectDefinitions", "check_definitions", "local_definitions"]

KINDS = ("trait", "model", "tag", "segment", "journey")


@dataclass(frozen=True)
class LocalDefinition:
    kind: str
    name: str
    body: dict[str, Any]
    file: str | None
    #: The parsed object (SegmentDefinition, TraitDefinition, the tags module's definition).
    obj: Any

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.body)

    @property
    def schedule(self) -> str | None:
        return getattr(self.obj, "schedule", None)


@dataclass
class ProjectDefinitions:
    segments: dict[str, Any]
    tags: dict[str, Any]
    traits: dict[str, Any]
    models: dict[str, Any] = field(default_factory=dict)
    journeys: dict[str, Any] = field(default_factory=dict)

    def graph_definitions(self) -> dict[str, dict[str, Any]]:
        """``{kind: {name: definition}}`` for :func:`~segflow.definitions.graph.build_graph`."""
        return {"segment": self.segments, "tag": self.tags, "trait": self.traits, "model": self.models,
                "journey": self.journeys}

    def all(self) -> dict[tuple[str, str], LocalDefinition]:
        out: dict[tuple[str, str], LocalDefinition] = {}
        for name, t in self.traits.items():
            out[("trait", name)] = LocalDefinition("trait", name, dict(t.data), t.file, t)
        for name, m in self.models.items():
            out[("model", name)] = LocalDefinition("model", name, m.body(), m.file, m)
        for name, t in self.tags.items():
            out[("tag", name)] = LocalDefinition("tag", name, _tag_body(t), getattr(t, "file", None), t)
        for name, s in self.segments.items():
            out[("segment", name)] = LocalDefinition("segment", name, s.body(), s.file, s)
        for name, j in self.journeys.items():
            out[("journey", name)] = LocalDefinition("journey", name, j.body(), j.file, j)
        return out


def _plain(value: Any) -> Any:
    """JSON-able data of a definition object (dataclass, pydantic model, sets...)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _tag_body(tag: Any) -> dict[str, Any]:
    data = getattr(tag, "data", None)
    if isinstance(data, dict) and data:
        return _plain(dict(data))
    body = _plain(tag)
    if not isinstance(body, dict):
        body = {"rule": _plain(getattr(tag, "rule", None)), "schedule": getattr(tag, "schedule", None)}
    body.pop("file", None)
    return body


def local_definitions(ctx: ProjectContext, *, errors: list[SegflowError] | None = None) -> ProjectDefinitions:
    """Read ``traits/``, ``models/``, ``tags/`` and ``segments/``, every file of every folder.

    A file that does not parse does not hide the others: without *errors*, one
    :class:`DefinitionsError` lists every file's problems (one problem: that error itself);
    with it, each folder's error is appended to it and the definitions that loaded are
    returned (:func:`check_definitions` then raises them with the rule problems).
    """
    from segflow.errors import DefinitionError
    from segflow.models.definition import load_model_definitions
    from segflow.tags.definition import load_tag_definitions
    from segflow.traits import load_trait_definitions
    from segflow.traits.refresh import trait_columns

    found: list[DefinitionError] = []
    orders, items = trait_columns(ctx)
    traits = {t.name: t for t in load_trait_definitions(ctx.root, order_columns=orders, item_columns=items,
                                                        errors=found)}
    try:
        models = load_model_definitions(ctx.root)
    except DefinitionError as exc:
        found.append(exc)
        models = {}
    tags = dict(load_tag_definitions(ctx.root, errors=found))
    segments = load_segment_definitions(ctx.root, errors=found)
    from segflow.journeys.definition import load_journey_definitions

    journeys = load_journey_definitions(ctx.root, errors=found)  # type: ignore[arg-type]
    if errors is not None:
        errors.extend(found)
    elif len(found) == 1:
        raise found[0]
    elif found:
        raise DefinitionsError(_lines(found), code=found[0].code, path=found[0].path)
    return ProjectDefinitions(segments=segments, tags=tags, traits=traits, models=models, journeys=journeys)


def _lines(errors: list[Any]) -> list[str]:
    """Every problem of *errors*, one ``file: path: message`` line each."""
    out: list[str] = []
    for exc in errors:
        listed = getattr(exc, "problems", None)
        out.extend(listed if listed and all(isinstance(p, str) for p in listed)
                   else [line for line in exc.message.splitlines() if line.strip()])
    return out


def check_definitions(ctx: ProjectContext, defs: ProjectDefinitions,
                      warnings: list[str] | None = None, *, errors: list[SegflowError] | None = None) -> CheckContext:
    """Check every segment and tag rule and the dependency graph; raise :class:`DefinitionsError`
    listing all. Returns the rule context the rules were checked in (every local segment, tag
    and trait known), for the caller to reuse. With *warnings*, the checks' warnings (an event
    name no event has: the rule then matches no one) are appended to it as
    ``file: rule.path: message``, as ``segment preview`` shows them. *errors* are those
    :func:`local_definitions` found reading the files: they are raised with the rest (alone,
    one such error is raised as it is)."""
    from dataclasses import replace

    from segflow.definitions.graph import build_graph
    from segflow.definitions.runner import check_context
    from segflow.rules.errors import RuleError
    from segflow.rules.project import check_in

    read = _lines(errors or [])
    problems = list(read)
    try:
        build_graph(defs.graph_definitions()).order()
    except SegflowError as exc:
        problems.append(exc.message)
        if not read:
            raise DefinitionsError(problems, code="definition_cycle") from None
    if read and not defs.tags and not defs.journeys and all(s.rule is None for s in defs.segments.values()):
        _raise(errors or [], problems, None)  # no rule left to check: the warehouse is not needed
    from segflow.models.registry import get_model

    traits = {name: t.type for name, t in defs.traits.items()}
    for name in defs.models:  # a model's traits, before it first ran
        traits.update({k: v for k, v in get_model(name).outputs.items() if k not in traits})
    base = check_context(ctx, defs.segments, defs.tags)
    base = replace(base, traits={**base.traits, **traits})
    if warnings is not None:  # the event-name lookups preview does (one EXISTS probe per name)
        from segflow.rules.project import EventNames

        seen = replace(base, events_seen=EventNames(ctx.warehouse))
    else:
        seen = base
    rules: list[tuple[str, str, Any, str | None]] = [
        (s.file or f"segments/{n}.yaml", "rule", s.rule, n) for n, s in defs.segments.items() if s.rule is not None
    ]
    if defs.tags:  # the tags module checks its own rules (cases, SQL) with file and path
        from segflow.tags import check_tag_definitions

        try:
            check_tag_definitions(ctx, defs.tags, assume_traits=True, context=seen, warnings=warnings)
        except SegflowError as exc:
            problems.extend(line for line in str(exc).splitlines() if line.strip())
    first_path = None
    for where, key, rule, segment_name in rules:
        try:
            checked = check_in(ctx, rule, context=seen, segment_name=segment_name)
        except RuleError as exc:
            for p in exc.problems:
                path = f"{key}.{p.path}" if p.path else key
                first_path = first_path or f"{where}:{path}"
                problems.append(f"{where}: {path}: {p.message}")
            continue
        if warnings is not None:
            warnings.extend(f"{where}: {key}.{w.path}: {w.message}" if w.path else f"{where}: {key}: {w.message}"
                            for w in checked.warnings)
    if defs.journeys:
        from segflow.journeys.check import check_journeys

        problems += check_journeys(ctx, defs.journeys, segments=defs.segments, tags=defs.tags, rules_context=seen,
                                   warnings=warnings)
    if problems:
        _raise(errors or [], problems, first_path)
    return base


def _raise(errors: list[SegflowError], problems: list[str], first_path: str | None) -> NoReturn:
    """The one error for *problems*: the one error reading the files found, when that is all;
    else a :class:`DefinitionsError` with the code and path of the first problem."""
    if len(errors) == 1 and problems == _lines(errors):
        raise errors[0]
    first = errors[0] if errors else None
    raise DefinitionsError(problems, code=first.code if first else "invalid_definition",
                           path=first.path if first else first_path)
