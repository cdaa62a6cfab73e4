"""Reading a model's settings: ``--config FILE``, else ``models/<model>.yaml``, else the defaults.

    >>> config, file = load_model_config("rfm", RfmConfig, root=ws.root)   # doctest: +SKIP

Every model's settings are a frozen pydantic model with ``extra="forbid"``; this module
turns a file into one, or into a one-line :class:`~segflow.errors.ModelError` naming the
file and the field. A file may say ``model: <name>``; another model's name there is an
error (the file was meant for another model). ``schedule:`` (a cron line, for the worker)
is a definition key, not a setting: :func:`read_model_file` keeps it apart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from segflow.errors import ModelError

__all__ = ["DEFINITION_KEYS", "config_fingerprint", "field_path", "load_model_config", "model_file",
           "read_model_file", "validate_config"]

M = TypeVar("M", bound=BaseModel)

#: Keys of a model file that belong to the definition, not to the model's settings.
DEFINITION_KEYS = ("model", "schedule", "description")


def model_file(root: Path, model: str) -> Path:
    """``<root>/models/<model>.yaml``: where a project keeps a model's settings."""
    return root / "models" / f"{model}.yaml"


def read_model_file(file: Path, model: str) -> dict[str, Any]:
    """The mapping in *file*, checked to be *model*'s; ModelError naming the file otherwise."""
    from segflow.yamlfile import load_yaml_file

    try:
        loaded = load_yaml_file(file, error=ModelError, code="invalid_config")
    except FileNotFoundError:
        raise ModelError(f"{file}: no such file", code="invalid_config", path=str(file)) from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ModelError(f"{file}: expected a mapping of settings, got {type(loaded).__name__}",
                         code="invalid_config", path=str(file))
    data = dict(loaded or {})
    if data.get("model", model) != model:
        raise ModelError(f"{file}: model: this is a config of {data['model']!r}, not of {model}",
                         code="invalid_config", path="model")
    return data


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a path: ``stages[2].name``, ``k_range[1]`` (the branch names
    pydantic adds inside a union, which start with a capital or are a bare type name, left out)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not (str(part)[:1].isupper() or part in ("str", "int", "float", "bool", "list", "dict")):
            out += f".{part}" if out else str(part)
    return out


def validate_config(schema: type[M], data: dict[str, Any], file: str | None = None) -> M:
    """*data* as *schema*; ModelError ``<file>: <field>: <message>`` for the first problem (a
    check of the whole config names its own field in its message)."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = field_path(tuple(err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        prefix = f"{file}: " if file else ""
        raise ModelError(f"{prefix}{where + ': ' if where else ''}{message}", code="invalid_config",
                         path=where or None) from None


def load_model_config(model: str, schema: type[M], path: Path | None = None, *, root: Path | None = None,
                      overrides: dict[str, Any] | None = None) -> tuple[M, str | None]:
    """The settings in *path*, else ``<root>/models/<model>.yaml`` when it exists, else the
    defaults, with the non-None *overrides* on top. Returns them and the file they came from."""
    file = path if path is not None else (model_file(root, model) if root is not None else None)
    data: dict[str, Any] = {}
    shown: str | None = None
    if file is not None and (path is not None or file.is_file()):
        shown = str(file)
        data = {k: v for k, v in read_model_file(file, model).items() if k not in DEFINITION_KEYS}
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return validate_config(schema, data, shown), shown


def config_fingerprint(config: BaseModel, **extra: Any) -> str:
    """A short hash of the settings (and *extra*): what a stored output was computed with."""
    text = json.dumps(config.model_dump(mode="json") | extra, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
