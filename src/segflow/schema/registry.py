"""The schema registry: the type of every column of every kind.

Three sources, in order of precedence:

1. built-in columns of each kind (spec/data.md), fixed;
2. declared attributes: ``schema.yaml`` in the project, or :meth:`SchemaRegistry.declare`
   (which writes to ``schema.yaml`` too, so the file stays the source of truth);
3. inferred attributes: a column seen in a file for the first time gets the narrowest
   type that fits every value in that file, and keeps it: a later value of another
   type is a rejected row.

The registry rows live in the state store (table ``attributes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from segflow.errors import SchemaError
from segflow.schema.kinds import KINDS, kind_named
from segflow.schema.types import AttributeType, parse_type
from segflow.state.store import StateStore
from segflow.yamlfile import load_yaml_file

__all__ = ["Attribute", "SchemaRegistry", "check_attribute_name"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Attribute:
    kind: str
    name: str
    type: AttributeType
    label: str = ""
    #: "builtin", "declared" or "inferred".
    origin: str = "builtin"


def check_attribute_name(kind: str, name: str, *, where: str) -> None:
    if not _NAME.match(name) or name.startswith("_"):
        raise SchemaError(
            f"{where}: {kind}.{name!r} is not a usable column name "
            "(letters, digits and _, starting with a letter, at most 63 characters)",
            code="bad_attribute_name",
            path=where,
        )


class SchemaRegistry:
    def __init__(self, state: StateStore, schema_file: Path) -> None:
        self.state = state
        self.schema_file = schema_file

    # -- reading ----------------------------------------------------------
    def attributes(self, kind: str) -> dict[str, Attribute]:
        """Every column of *kind*: built-in first, then declared and inferred ones."""
        k = kind_named(kind)
        result = {c.name: Attribute(kind, c.name, c.type, c.label, "builtin") for c in k.columns}
        for row in self.state.attributes(kind):
            if row.name not in result:
                result[row.name] = Attribute(kind, row.name, AttributeType(row.type), row.label, row.origin)
        return result

    def extra_attributes(self) -> list[Attribute]:
        """Declared and inferred attributes of every kind (not the built-in columns)."""
        out = []
        for row in self.state.attributes():
            builtin = KINDS[row.kind].column(row.name) if row.kind in KINDS else None
            if builtin is None and row.kind in KINDS:
                out.append(Attribute(row.kind, row.name, AttributeType(row.type), row.label, row.origin))
        return out

    def get(self, kind: str, name: str) -> Attribute | None:
        return self.attributes(kind).get(name)

    # -- schema.yaml ------------------------------------------------------
    def read_declared(self) -> list[Attribute]:
        """Parse ``schema.yaml``: ``{kind: {name: type | {type, label}}}``."""
        if not self.schema_file.exists():
            return []
        where = self.schema_file.name
        raw = load_yaml_file(self.schema_file, shown=where, error=SchemaError, code="bad_schema") or {}
        if not isinstance(raw, dict):
            raise SchemaError(f"{where}: expected a mapping of kinds", code="bad_schema", path=where)
        declared = []
        for kind, attrs in raw.items():
            if kind not in KINDS:
                raise SchemaError(
                    f"{where}: {kind}: unknown kind (kinds: {', '.join(KINDS)})", code="unknown_kind", path=f"{kind}"
                )
            if attrs is None:
                continue
            if not isinstance(attrs, dict):
                raise SchemaError(f"{where}: {kind}: expected a mapping of attributes", code="bad_schema", path=kind)
            for name, spec in attrs.items():
                path = f"{kind}.{name}"
                check_attribute_name(kind, str(name), where=f"{where}: {path}")
                if isinstance(spec, str):
                    spec = {"type": spec}
                if not isinstance(spec, dict) or "type" not in spec:
                    raise SchemaError(f"{where}: {path}: expected a type or {{type, label}}", code="bad_schema", path=path)
                unknown = set(spec) - {"type", "label"}
                if unknown:
                    raise SchemaError(
                        f"{where}: {path}: unknown key {sorted(unknown)[0]!r} (allowed: type, label)",
                        code="bad_schema", path=path,
                    )
                try:
                    type_ = parse_type(spec["type"])
                except ValueError as exc:
                    raise SchemaError(f"{where}: {path}.type: {exc}", code="bad_type", path=f"{path}.type") from None
                builtin = KINDS[kind].column(str(name))
                if builtin is not None and builtin.type is not type_:
                    raise SchemaError(
                        f"{where}: {path}: built-in column of type {builtin.type.value}, cannot be declared {type_.value}",
                        code="builtin_conflict", path=path,
                    )
                if builtin is None:
                    declared.append(Attribute(kind, str(name), type_, str(spec.get("label", "")), "declared"))
        return declared

    def write_declaration(self, kind: str, name: str, type_: str | AttributeType, label: str = "") -> Attribute:
        """Add or change a declared attribute in ``schema.yaml``.

        The registry and the warehouse column follow on :meth:`Workspace.sync_schema`
        (:meth:`Workspace.declare` does both).
        """
        kind_named(kind)
        check_attribute_name(kind, name, where="declare")
        t = type_ if isinstance(type_, AttributeType) else parse_type(type_)
        builtin = KINDS[kind].column(name)
        if builtin is not None:
            raise SchemaError(f"{kind}.{name} is a built-in column ({builtin.type.value})", code="builtin_conflict")
        raw: dict[str, Any] = {}
        if self.schema_file.exists():
            raw = load_yaml_file(self.schema_file, shown=self.schema_file.name, error=SchemaError,
                                 code="bad_schema") or {}
        section = raw.setdefault(kind, {}) or {}
        raw[kind] = section
        section[name] = {"type": t.value, **({"label": label} if label else {})}
        self._write_schema_file(raw)
        return Attribute(kind, name, t, label, "declared")

    def remove_declaration(self, kind: str, name: str) -> bool:
        """Take *kind*.*name* out of ``schema.yaml``; False when it was not declared there."""
        if not self.schema_file.exists():
            return False
        raw = load_yaml_file(self.schema_file, shown=self.schema_file.name, error=SchemaError, code="bad_schema") or {}
        section = raw.get(kind) if isinstance(raw, dict) else None
        if not isinstance(section, dict) or name not in section:
            return False
        del section[name]
        if not section:
            del raw[kind]
        self._write_schema_file(raw)
        return True

    def _write_schema_file(self, raw: dict[str, Any]) -> None:
        header = "# Declared attribute types, per kind (types: string, integer, number, decimal,\n" \
                 "# boolean, date, timestamp, json, list). Undeclared columns are inferred on first load.\n"
        body = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False) if raw else ""
        self.schema_file.write_text(header + body, encoding="utf-8")

    def forget(self, kind: str, name: str) -> None:
        """Remove the registry row of *kind*.*name* (its column and declaration are the caller's)."""
        import sqlalchemy as sa

        from segflow.state.tables import attributes

        with self.state.begin() as conn:
            conn.execute(sa.delete(attributes).where(attributes.c.kind == kind, attributes.c.name == name))

    def record_inferred(self, kind: str, name: str, type_: AttributeType) -> Attribute:
        self.state.put_attribute(kind, name, type_.value, origin="inferred")
        return Attribute(kind, name, type_, "", "inferred")
