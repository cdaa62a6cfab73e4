"""Models as definitions: ``models/<name>.yaml`` in plan / apply, versions and schedules.

A file in the project's ``models/`` folder says "this project runs this model, with
these settings" (and, with ``schedule:``, when the worker runs it)::

    # models/rfm.yaml
    schedule: "0 2 * * *"      # every day at 02:00 in the workspace time zone (optional)
    mode: guide                # the model's own settings (docs/models.md)

The file's name is the model's (``rfm.yaml`` → ``rfm``; another name is an error naming
the known models); ``model: rfm`` may repeat it. ``schedule`` and ``description`` are
the definition's keys; every other key is the model's setting, validated by the model
as ``segflow model <name>`` validates it. ``segflow plan`` shows a new, changed or
removed model file; ``segflow apply`` records its version, brings its schedule in line,
runs a new or changed model as of the apply time and refreshes what reads its traits.
A removed file stops its schedule; the traits the model wrote stay (``segflow model``
still runs it with its defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segflow.errors import DefinitionError, DefinitionsError, SegflowError

__all__ = ["ModelDefinition", "load_model_definitions"]


@dataclass(frozen=True)
class ModelDefinition:
    name: str
    #: The model's validated settings (its pydantic config).
    config: Any
    file: str
    schedule: str | None = None
    description: str = ""
    #: What is versioned: the file's mapping (settings and definition keys), canonical.
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def body(self) -> dict[str, Any]:
        return dict(self.data)


def load_model_definitions(root: Path) -> dict[str, ModelDefinition]:
    """Every ``models/*.yaml`` of the project, checked; DefinitionsError listing every file's problem."""
    from segflow.models.config import DEFINITION_KEYS, read_model_file, validate_config
    from segflow.models.registry import models
    from segflow.segments.definition import check_cron

    folder = root / "models"
    if not folder.is_dir():
        return {}
    known = models()
    out: dict[str, ModelDefinition] = {}
    problems: list[str] = []
    first: str | None = None
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        rel = f"models/{path.name}"
        name = path.stem
        try:
            if name not in known:
                raise DefinitionError(f"{rel}: no model {name!r}: name the file after one of "
                                      f"{', '.join(sorted(known))}", code="unknown_model", path=rel)
            if name in out:
                raise DefinitionError(f"{rel}: model {name!r} is also defined in {out[name].file}",
                                      code="duplicate_model", path=rel)
            data = read_model_file(path, name)
            schedule = check_cron(data["schedule"], f"{rel}: schedule") if data.get("schedule") is not None else None
            description = data.get("description") or ""
            if not isinstance(description, str):
                raise DefinitionError(f"{rel}: description: text is expected", code="invalid_config",
                                      path=f"{rel}: description")
            settings = {k: v for k, v in data.items() if k not in DEFINITION_KEYS}
            config = validate_config(known[name].settings, settings, rel)
        except SegflowError as exc:
            message = exc.message.replace(str(path), rel)
            problems.append(message)
            first = first or rel
            continue
        body = {k: v for k, v in data.items() if k != "model"} | ({"schedule": schedule} if schedule else {})
        out[name] = ModelDefinition(name=name, config=config, file=rel, schedule=schedule, description=description,
                                    data=body)
    if problems:
        raise DefinitionsError(problems, code="invalid_config", path=first)
    return out
