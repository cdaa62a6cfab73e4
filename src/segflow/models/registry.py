"""The models segflow knows: their outputs, their settings, how to run one with the project's settings.

Each model module registers one :class:`ModelKind` at import::

    register_model(ModelKind(
        name="rfm",
        outputs=OUTPUTS,                  # the traits it writes, with their types
        settings=RfmConfig,               # its settings (pydantic, with fingerprint())
        load=load_rfm_config,             # (path, root=...) -> (settings, file)
        run=run_rfm,                      # (ctx, as_of=..., config=..., file=...) -> result
        describe=lambda r: "...",         # one line about a result, for run summaries
    ))

The modules of the built-in models are imported on first use (:data:`PROVIDERS`), so
a caller asks for a model by name. What uses the registry:

* :func:`fresh_model_traits` — a tag refresh as of T that reads a model's trait (the
  e-commerce template's ``rfm/*`` tags read ``rfm_r`` ... ``rfm_tier``) runs that model
  as of T first, unless its traits already are as of T with the current settings;
* the model definition kind (:mod:`segflow.models.refresh`): ``models/<name>.yaml`` in
  plan / apply, versions and schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import ModelError

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.schema.types import AttributeType

__all__ = ["PROVIDERS", "ModelInfo", "ModelKind", "fresh_model_traits", "get_model", "list_models", "model_of_trait",
           "models", "output_types", "register_model", "run_model", "stale_models"]

#: The modules that register the built-in models, imported on first use.
PROVIDERS: tuple[str, ...] = ("segflow.models.rfm", "segflow.models.clv", "segflow.models.activity",
                               "segflow.models.lifecycle", "segflow.models.clusters")


@dataclass(frozen=True)
class ModelKind:
    name: str
    #: The traits a run writes (owned by ``model:<name>``), with their types.
    outputs: Mapping[str, AttributeType]
    #: Its settings: a frozen pydantic model with ``fingerprint()``.
    settings: type[Any]
    #: ``load(path, root=...)`` → (settings, the file they came from or None).
    load: Callable[..., tuple[Any, str | None]]
    #: ``run(ctx, as_of=..., config=..., file=...)`` → the model's result (with ``to_dict()``).
    run: Callable[..., Any]
    #: One line about a result ("high value 1,044, potential 1,014, ...").
    describe: Callable[[Any], str] = lambda result: ""
    #: One line for ``segflow model --help`` and listings.
    title: str = ""
    #: ``reads(settings)`` → the definitions its settings read, as graph nodes
    #: (``("trait", "rfm_tier")``, ``("segment", "vip")``): the graph runs those first.
    reads: Callable[[Any], set[tuple[str, str]]] = lambda settings: set()

    @property
    def owner(self) -> str:
        return f"model:{self.name}"


_MODELS: dict[str, ModelKind] = {}
_loaded = False


def register_model(kind: ModelKind) -> ModelKind:
    """Make *kind* known (registering the same name again replaces it)."""
    _MODELS[kind.name] = kind
    return kind


def _load_providers() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PROVIDERS:
            import_module(module)


def models() -> dict[str, ModelKind]:
    """Every registered model, by name."""
    _load_providers()
    return dict(_MODELS)


def get_model(name: str) -> ModelKind:
    """The model *name*; ModelError naming the known ones otherwise."""
    known = models()
    if name not in known:
        raise ModelError(f"no model {name!r} (models: {', '.join(sorted(known))})", code="unknown_model",
                         path=name)
    return known[name]


def model_of_trait(trait: str) -> str | None:
    """The model whose output *trait* is, or None."""
    return next((m.name for m in models().values() if trait in m.outputs), None)


def output_types() -> dict[str, AttributeType]:
    """Every model output's type, by trait name (what rules may read before a model first ran)."""
    return {name: type_ for m in models().values() for name, type_ in m.outputs.items()}


def run_model(ctx: ProjectContext, name: str, *, as_of: datetime, path: Path | None = None) -> Any:
    """Run *name* as of *as_of* with the project's settings (``models/<name>.yaml``, or *path*)."""
    kind = get_model(name)
    config, file = kind.load(path, root=ctx.root)
    return kind.run(ctx, as_of=as_of, config=config, file=file)


def stale_models(ctx: ProjectContext, names: Iterable[str], as_of: datetime) -> list[str]:
    """Those of the models *names* whose stored traits are not as of *as_of* with the project's
    current settings (or were never written)."""
    from segflow.clock import utc
    from segflow.traits.store import owned_columns

    stored = owned_columns(ctx.warehouse)
    out = []
    for name in names:
        kind = get_model(name)
        config, _ = kind.load(None, root=ctx.root)
        fingerprint = config.fingerprint()
        rows = [stored.get(trait) for trait in kind.outputs]
        if any(row is None or row["kind"] != kind.owner or row["as_of"] != utc(as_of)
               or row["fingerprint"] != fingerprint for row in rows):
            out.append(name)
    return out


def fresh_model_traits(ctx: ProjectContext, traits: Iterable[str], as_of: datetime) -> dict[str, Any]:
    """Run, as of *as_of*, each model that writes one of *traits* and is stale; their results by
    model name (empty when every one was fresh)."""
    wanted = sorted({m for t in traits if (m := model_of_trait(t)) is not None})
    return {name: run_model(ctx, name, as_of=as_of) for name in stale_models(ctx, wanted, as_of)}


@dataclass(frozen=True)
class ModelInfo:
    """One model as ``segflow model list`` shows it."""

    name: str
    title: str
    outputs: list[str]
    #: ``models/<name>.yaml`` when the project has one (the model is then a definition).
    file: str | None
    schedule: str | None
    #: The time its stored traits are as of (None: never run here).
    as_of: datetime | None
    #: Whether they were computed with the project's current settings.
    current: bool

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def list_models(ctx: ProjectContext) -> list[ModelInfo]:
    """Every model, with the project's file for it and when its traits were last computed.
    A model file that does not load is reported as the error it gives."""
    from segflow.models.config import model_file, read_model_file
    from segflow.traits.store import owned_columns

    stored = owned_columns(ctx.warehouse)
    out = []
    for name, kind in models().items():
        file = model_file(ctx.root, name)
        data = read_model_file(file, name) if file.is_file() else {}
        config, _ = kind.load(None, root=ctx.root)
        rows = [stored[t] for t in kind.outputs if t in stored and stored[t]["kind"] == kind.owner]
        as_of = min((r["as_of"] for r in rows), default=None) if len(rows) == len(kind.outputs) else None
        current = as_of is not None and all(r["fingerprint"] == config.fingerprint() for r in rows)
        out.append(ModelInfo(name=name, title=kind.title, outputs=list(kind.outputs),
                             file=f"models/{file.name}" if file.is_file() else None,
                             schedule=data.get("schedule"), as_of=as_of, current=current))
    return out
