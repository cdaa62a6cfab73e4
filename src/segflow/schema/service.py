"""The schema service: apply ``schema.yaml``, declare an attribute, describe every kind.

The CLI (``segflow schema show|add``), the Python API (``Workspace.declare``,
``Workspace.describe_schema``) and the coming HTTP API call these over a project
context; results are plain dataclasses (``to_dict()`` is the JSON body)::

    >>> from segflow.schema.service import describe_schema   # doctest: +SKIP
    >>> describe_schema(ws, "profiles").columns["profiles"][0].name   # doctest: +SKIP
    'profile_id'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.config import SCHEMA_FILE
from segflow.errors import SchemaError
from segflow.schema.kinds import KINDS

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.schema.registry import Attribute
    from segflow.warehouse.base import Warehouse

__all__ = ["Column", "SchemaDescription", "SchemaSync", "declare", "describe_schema", "sync_schema"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    label: str
    #: "builtin", "declared" or "inferred".
    origin: str


@dataclass(frozen=True, slots=True)
class SchemaDescription:
    #: kind → its columns, in table order.
    columns: dict[str, list[Column]]

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [asdict(c) for c in cols] for kind, cols in self.columns.items()}


@dataclass(frozen=True, slots=True)
class SchemaSync:
    #: ``kind.name`` of each attribute whose declaration was (re-)registered.
    registered: list[str] = field(default_factory=list)
    #: ``kind.name`` of each column whose stored values were converted to a new declared type.
    converted: list[str] = field(default_factory=list)


def sync_schema(ctx: ProjectContext, wh: Warehouse | None = None) -> SchemaSync:
    """Apply ``schema.yaml``: register declared attributes and give them warehouse columns.

    *wh* is the warehouse to apply it to (the context's while that is being opened).
    A declared type the stored values do not convert to raises :class:`SchemaError`
    (code ``type_conflict``) and changes nothing of that column.
    """
    wh = wh if wh is not None else ctx.warehouse
    registry = ctx.registry
    declared = registry.read_declared()
    current = {(a.kind, a.name): a for a in registry.extra_attributes()}
    wh.ensure_tables(current.values())
    registered, converted = [], []
    for attr in declared:
        key = f"{attr.kind}.{attr.name}"
        old = current.get((attr.kind, attr.name))
        if old is not None and old.type is not attr.type and attr.name in wh.columns(attr.kind):
            failing = wh.change_column_type(attr.kind, attr.name, attr.type)
            if failing:
                raise SchemaError(
                    f"{SCHEMA_FILE}: {key}: declared {attr.type.value} but {failing} stored "
                    f"value(s) of type {old.type.value} do not convert; fix the data or the declaration",
                    code="type_conflict",
                    path=key,
                )
            converted.append(key)
        if old is None or old.type is not attr.type or old.label != attr.label or old.origin != "declared":
            ctx.state.put_attribute(attr.kind, attr.name, attr.type.value, label=attr.label, origin="declared")
            registered.append(key)
    wh.ensure_tables(registry.extra_attributes())
    return SchemaSync(registered=registered, converted=converted)


def declare(ctx: ProjectContext, kind: str, name: str, type_: str, label: str = "") -> Attribute:
    """Declare an attribute (written to ``schema.yaml``) and apply it to the warehouse.

    A refused declaration (bad kind, name or type; stored values that do not convert)
    raises :class:`SchemaError` and leaves ``schema.yaml`` as it was.
    """
    schema_file = ctx.root / SCHEMA_FILE
    before = schema_file.read_text(encoding="utf-8") if schema_file.exists() else None
    try:
        attr = ctx.registry.write_declaration(kind, name, type_, label)
        sync_schema(ctx)
    except (KeyError, ValueError) as exc:
        raise SchemaError(str(exc.args[0]), code="bad_declaration", path=f"{kind}.{name}") from None
    except SchemaError:
        if before is None:
            schema_file.unlink(missing_ok=True)
        else:
            schema_file.write_text(before, encoding="utf-8")
        raise
    return attr


def describe_schema(ctx: ProjectContext, kind: str | None = None) -> SchemaDescription:
    """Every kind's columns (or *kind*'s alone): name, type, label, origin, after
    applying ``schema.yaml``. An unknown *kind* raises :class:`SchemaError`
    (code ``unknown_kind``)."""
    if kind is not None and kind not in KINDS:
        raise SchemaError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})", code="unknown_kind", path=kind)
    if not ctx.read_only:
        ctx.warehouse  # noqa: B018 - opening the warehouse applies schema.yaml
    kinds = KINDS if kind is None else [kind]
    return SchemaDescription({
        k: [Column(a.name, a.type.value, a.label, a.origin) for a in ctx.registry.attributes(k).values()]
        for k in kinds
    })
