"""The definition kinds segflow knows, and what each tells the graph and the runner.

A kind (segment, tag, trait; later model, journey) registers one :class:`DefinitionKind`
from its own package, at import::

    register_kind(DefinitionKind(
        name="segment",
        nodes=segment_nodes,          # {name: definition} -> the GraphNodes
        load=applied_segments,        # ctx -> {name: (version, definition)} a refresh runs
        refresh=refresh_members,      # RefreshJob -> RefreshOutcome (one definition)
    ))

The graph (:mod:`~segflow.definitions.graph`) asks ``nodes``; the runner
(:mod:`~segflow.definitions.runner`) asks ``load`` and ``refresh``. Nothing outside the
kind's package looks inside its definitions.

The packages that register the built-in kinds are imported on first use
(:data:`PROVIDERS`); a new kind adds its module there, and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.definitions.graph import GraphNode
    from segflow.definitions.runner import RefreshJob, RefreshOutcome

__all__ = ["PROVIDERS", "DefinitionKind", "get_kind", "kinds", "register_kind"]

#: The modules that register the built-in kinds (and their job kinds), imported on first use.
PROVIDERS: tuple[str, ...] = ("segflow.segments.refresh", "segflow.tags.refresh", "segflow.traits.refresh",
                              "segflow.models.refresh", "segflow.journeys.kind")

#: ``{name: definition}`` → that kind's graph nodes.
NodesFn = Callable[[Mapping[str, Any]], Iterable["GraphNode"]]
#: The definitions a refresh runs: ``ctx`` → ``{name: (applied version or None, definition)}``.
LoadFn = Callable[["ProjectContext"], Mapping[str, tuple[int | None, Any]]]
#: Refresh one definition (the runner writes its run row around it).
RefreshFn = Callable[["RefreshJob"], "RefreshOutcome"]


@dataclass(frozen=True)
class DefinitionKind:
    #: ``"segment"``, ``"tag"``, ...: the ``kind`` of graph nodes, run rows and schedules.
    name: str
    nodes: NodesFn
    #: None: the runner does not refresh this kind node by node (traits: one table rewrite).
    load: LoadFn | None = None
    refresh: RefreshFn | None = None


_KINDS: dict[str, DefinitionKind] = {}
_loaded = False


def register_kind(kind: DefinitionKind) -> DefinitionKind:
    """Make *kind* known to the graph and the runner (registering the same name again replaces it)."""
    _KINDS[kind.name] = kind
    return kind


def _load_providers() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PROVIDERS:
            import_module(module)


def get_kind(name: str) -> DefinitionKind:
    """The registered kind *name*; KeyError for a kind nothing registered."""
    if name not in _KINDS:
        _load_providers()
    return _KINDS[name]


def kinds() -> dict[str, DefinitionKind]:
    """Every registered kind, by name."""
    _load_providers()
    return dict(_KINDS)
