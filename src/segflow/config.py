"""The project folder and its ``segflow.yaml``.

A project is a folder holding ``segflow.yaml`` (where the two stores live, the time
zone, the default phone country, load options), ``schema.yaml`` (declared attribute
types) and the definition folders ``segments/ tags/ traits/ journeys/``. Commands find
it from ``--project DIR``, else ``$SEGFLOW_PROJECT``, else the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from segflow.errors import ProjectError
from segflow.identity.config import IdentityOptions

__all__ = [
    "CONFIG_FILE",
    "SCHEMA_FILE",
    "DEFINITION_DIRS",
    "ProjectConfig",
    "LoadOptions",
    "ChannelSettings",
    "SmtpSettings",
    "find_project",
    "init_project",
    "read_config",
]

CONFIG_FILE = "segflow.yaml"
SCHEMA_FILE = "schema.yaml"
STATE_DIR = ".segflow"
DEFINITION_DIRS = ("segments", "tags", "traits", "journeys")
ENV_PROJECT = "SEGFLOW_PROJECT"


class LoadOptions(BaseModel):
    """How ``segflow load`` cleans data."""

    model_config = ConfigDict(extra="forbid")

    #: Constant values for missing cells, per kind and column: ``{profiles: {country: CN}}``.
    fill: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Where rejects files go, relative to the project (``--rejects`` overrides per load).
    rejects_dir: str = f"{STATE_DIR}/rejects"


class SmtpSettings(BaseModel):
    """``channels.<name>.smtp``: the SMTP server of an email channel. Host, port and user name
    may be overridden by ``SEGFLOW_SMTP_HOST`` / ``_PORT`` / ``_USERNAME``; the password is
    only ever read from the environment variable named by ``password_env``."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    #: Default: 465 with ``ssl``, 587 with ``starttls``, else 25.
    port: int | None = Field(default=None, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None
    #: Seconds to wait for the server on connect and on each reply.
    timeout: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _one_tls(self) -> SmtpSettings:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other (ssl: TLS from the start, starttls: upgrade)")
        return self


class ChannelSettings(BaseModel):
    """``channels.<name>``: how messages of one channel leave. ``provider`` defaults to
    ``smtp`` for ``email`` and to ``file`` for every other channel; see docs/channels.md."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: ``smtp`` or ``file`` (checked when the channels are opened, naming the channel).
    provider: str | None = None
    #: The file provider's JSON-lines file, relative to the project (default ``.segflow/outbox/<name>.jsonl``).
    path: str | None = None
    smtp: SmtpSettings | None = None
    #: The email From header: ``"Shop <news@shop.example>"``.
    sender: str | None = Field(default=None, alias="from")
    #: The profile column a message's address comes from (default: ``email`` for email,
    #: ``phone`` for sms, none for other channels).
    address: str | None = None


def _channel_name(name: str) -> str | None:
    from segflow.names import problem

    return problem(name, marks="_", first="letter", lower=True, max_len=64)


class ProjectConfig(BaseModel):
    """The contents of ``segflow.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = "segflow"
    #: ``duckdb:///relative/or/absolute/path.duckdb``; relative paths are under the project.
    warehouse: str = f"duckdb:///{STATE_DIR}/warehouse.duckdb"
    #: A SQLAlchemy URL: ``sqlite:///.segflow/state.db`` or ``postgresql+psycopg://...``.
    state: str = f"sqlite:///{STATE_DIR}/state.db"
    #: IANA time zone for calendar operations (days active, birthdays, schedules).
    timezone: str = "UTC"
    #: ISO 3166 country whose calling code prefixes phone numbers written without one.
    default_phone_country: str | None = None
    load: LoadOptions = Field(default_factory=LoadOptions)
    #: Identity resolution (``segflow resolve``): merge and attach types, junk cap, normalisation.
    identity: IdentityOptions = Field(default_factory=IdentityOptions)
    #: Message channels by name (``email``, ``sms``, ``file``, ...). None (no ``channels:``
    #: section): every standard channel writes to ``.segflow/outbox/<name>.jsonl``, so nothing
    #: leaves the machine until a real provider is configured.
    channels: dict[str, ChannelSettings] | None = None

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, ChannelSettings] | None) -> dict[str, ChannelSettings] | None:
        for name in value or {}:
            why = _channel_name(name)
            if why:
                raise ValueError(f"{name!r} is not a channel name ({why}; lower-case letters, digits and _)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_phone_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        from segflow.ingest.phones import CALLING_CODES

        if value is None:
            return None
        code = value.strip().upper()
        if code not in CALLING_CODES:
            known = ", ".join(sorted(CALLING_CODES))
            raise ValueError(f"unknown phone country {value!r} (known: {known})")
        return code


def find_project(project: str | Path | None = None) -> Path:
    """Return the project folder: *project*, else ``$SEGFLOW_PROJECT``, else the cwd."""
    chosen = project or os.environ.get(ENV_PROJECT) or Path.cwd()
    root = Path(chosen).expanduser().resolve()
    if not (root / CONFIG_FILE).is_file():
        how = "the folder given" if project else (f"${ENV_PROJECT}" if os.environ.get(ENV_PROJECT)
                                                  else "the current folder")
        raise ProjectError(
            f"no segflow project at {root} (from {how}): no {CONFIG_FILE} there",
            code="no_project",
            path=str(root),
        )
    return root


def read_config(root: Path) -> ProjectConfig:
    """Read and validate ``segflow.yaml`` in *root*."""
    path = root / CONFIG_FILE
    from segflow.yamlfile import load_yaml_file

    raw = load_yaml_file(path, error=ProjectError, code="bad_config") or {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: expected a mapping at the top", code="bad_config", path=str(path))
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ProjectError(
            f"{path}: {where}: {first['msg']}", code="bad_config", path=f"{path}:{where}"
        ) from exc


_CONFIG_TEMPLATE = """\
# segflow project settings. Paths in URLs are relative to this folder.
name: {name}
# The warehouse holds customer data (profiles, events, orders, ...): a DuckDB file.
warehouse: {warehouse}
# The state store holds definitions, the schema registry and run history
# (SQLAlchemy URL: sqlite:///... or postgresql+psycopg://user@host/db).
state: {state}
# Time zone for calendar operations: days active, birthdays, schedules.
timezone: {timezone}
# Country whose calling code is added to phone numbers written without one (e.g. CN, US).
default_phone_country: {phone}
load:
  # Constant values for missing cells, per kind and column, e.g. {{profiles: {{country: CN}}}}
  fill: {{}}
  rejects_dir: .segflow/rejects
"""

_SCHEMA_TEMPLATE = """\
# Declared attribute types, per kind. Undeclared columns are inferred on first load.
# Types: string, integer, number, decimal, boolean, date, timestamp, json, list
# Example:
# profiles:
#   vip_score: {type: number, label: VIP score}
#   interests: {type: list, label: Interests}
profiles: {}
accounts: {}
"""


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None or empty)."""
    return {k: v for k, v in values.items() if v}


def init_project(
    directory: str | Path,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    default_phone_country: str | None = None,
    warehouse: str | None = None,
    state: str | None = None,
) -> Path:
    """Create a project folder (or complete an empty one) and return its path.

    Refuses to overwrite an existing ``segflow.yaml``.
    """
    root = Path(directory).expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        raise ProjectError(
            f"{root / CONFIG_FILE} already exists: this folder is already a project",
            code="project_exists",
            path=str(root),
        )
    try:
        config = ProjectConfig(
            name=name or root.name or "segflow",
            timezone=timezone,
            default_phone_country=default_phone_country,
            **_given(warehouse=warehouse, state=state),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProjectError(f"{where}: {first['msg'].removeprefix('Value error, ')}", code="bad_option", path=where) from None
    root.mkdir(parents=True, exist_ok=True)
    for sub in DEFINITION_DIRS:
        (root / sub).mkdir(exist_ok=True)
    (root / STATE_DIR).mkdir(exist_ok=True)
    (root / STATE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
    text = _CONFIG_TEMPLATE.format(
        name=yaml.safe_dump(config.name, default_style='"').strip(),
        warehouse=config.warehouse,
        state=config.state,
        timezone=config.timezone,
        phone=config.default_phone_country or "null",
    )
    (root / CONFIG_FILE).write_text(text, encoding="utf-8")
    if not (root / SCHEMA_FILE).exists():
        (root / SCHEMA_FILE).write_text(_SCHEMA_TEMPLATE, encoding="utf-8")
    return root


def resolve_url(url: str, root: Path, scheme: str) -> str:
    """Make the file path in ``scheme:///path`` absolute against *root*."""
    prefix = f"{scheme}:///"
    if not url.startswith(prefix):
        return url
    rest = url[len(prefix):]
    if rest in ("", ":memory:") or rest.startswith("/"):
        return url
    return prefix + str((root / rest).resolve())
