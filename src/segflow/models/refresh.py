"""The ``model`` definition kind and job kind: models in the graph, the runner and the worker.

Registered at import (``segflow.definitions.kinds.PROVIDERS`` lists this module):

* graph nodes (:func:`model_nodes`): each model file is a refreshable node
  ``("model", name)`` reading what its settings read (``ModelKind.reads``: a lifecycle
  stage's rule, a trait a cluster feature uses), and each trait it writes a node
  ``("trait", output)`` reading it, so a tag, segment or model that reads
  ``{trait: rfm_tier}`` is downstream of ``model rfm`` (``segflow apply`` of a changed
  ``models/rfm.yaml`` refreshes them, models first);
* the runner's ``load`` (:func:`model_definitions`: the files in ``models/`` with their
  applied versions) and ``refresh`` (one model run as of the refresh's time, the number
  of profiles it scored as the run's members);
* the ``model`` job kind: a model file with ``schedule:`` runs on that schedule in
  ``segflow worker``, with a row in the run history like every refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from segflow.definitions.graph import GraphNode
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.definitions.runner import RefreshJob, RefreshOutcome, RefreshResult, run_refresh
from segflow.models.definition import ModelDefinition, load_model_definitions
from segflow.scheduler.jobs import register_job_kind

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["model_definitions", "model_nodes", "refresh_models"]


def model_nodes(defs: Mapping[str, ModelDefinition | None]) -> list[GraphNode]:
    """A refreshable node per model, and a node per trait it writes that reads the model."""
    from segflow.models.registry import models

    known = models()
    out = []
    for name, definition in defs.items():
        file = definition.file if definition is not None else f"models/{name}.yaml"
        reads = frozenset(known[name].reads(definition.config)) if definition is not None and name in known \
            else frozenset()
        out.append(GraphNode("model", name, reads, refreshable=definition is not None, file=file))
        if name in known:
            out.extend(GraphNode("trait", trait, frozenset({("model", name)}), file=file)
                       for trait in known[name].outputs)
    return out


def model_definitions(ctx: ProjectContext) -> dict[str, tuple[int | None, ModelDefinition]]:
    """``{name: (applied version or None, definition)}`` of the files in ``models/``."""
    from segflow.definitions.versions import current_versions

    versions = current_versions(ctx.state, "model")
    return {name: (versions[("model", name)].version if ("model", name) in versions else None, d)
            for name, d in load_model_definitions(ctx.root).items()}


def _run_model(job: RefreshJob) -> RefreshOutcome:
    from segflow.models.registry import get_model

    definition: ModelDefinition = job.definition
    result = get_model(job.name).run(job.ctx, as_of=job.as_of, config=definition.config, file=definition.file)
    scored = getattr(result, "scored", None)
    if scored is None:
        scored = getattr(result, "customers", None)
    return RefreshOutcome(members=scored)


def refresh_models(ctx: ProjectContext, names: list[str] | None = None, *, as_of: datetime, trigger: str = "manual",
                   worker: str | None = None) -> list[RefreshResult]:
    """Run the model files *names* (default: every one) as of *as_of*, one run row each."""
    defs = model_definitions(ctx)
    wanted = None if names is None else {("model", n) for n in names}
    return run_refresh(ctx, wanted, definitions={"model": defs}, as_of=as_of, trigger=trigger, worker=worker)


def _model_job(ctx: ProjectContext, name: str, *, as_of: datetime, trigger: str,
               worker: str | None) -> list[RefreshResult]:
    return refresh_models(ctx, [name], as_of=as_of, trigger=trigger, worker=worker)


register_kind(DefinitionKind("model", nodes=model_nodes, load=model_definitions, refresh=_run_model))
register_job_kind("model", _model_job, description="run one model and write its traits")
