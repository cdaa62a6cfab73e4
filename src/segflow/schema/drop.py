"""Dropping an attribute: its registry row, its ``schema.yaml`` entry and its column with the data.

The service behind ``segflow schema drop KIND NAME``: :func:`check_drop` says what would
go (and refuses what may not), :func:`drop_attribute` does it::

    >>> plan = check_drop(ctx, "profiles", "cty")        # doctest: +SKIP
    >>> plan.values                                       # doctest: +SKIP
    1204
    >>> drop_attribute(ctx, "profiles", "cty").dropped    # doctest: +SKIP
    True

Refused, each a :class:`~segflow.errors.SchemaError`: an unknown kind (``unknown_kind``), a
built-in column (``builtin_attribute``), a name the kind has no attribute of
(``unknown_attribute``, with the close name when there is one) and an attribute a
definition still reads (``attribute_in_use``, naming every such definition).

Which definitions read an attribute is found in their bodies, those in the project folder
and those applied (the state store's versions), so neither a refresh of an applied
segment nor the next ``apply`` is left reading a column that is gone: a rule's
``attr: NAME`` (``attr: account.NAME`` for accounts), a SQL text naming it as a word, and,
for the other kinds (orders, order items, events...), any key or value spelt like it (a
``where:`` filter, a summed field). The match errs on the side of refusing: a false hit
names a definition to look at, a miss would break it.

For profiles, the copies identity resolution keeps (``source_profiles``: each source
row's value and its stamp column) go too, so a later load of a column of that name
starts empty rather than bringing old values back.

The steps run in this order so that an interruption is never worse than a drop to repeat:
the warehouse column first (in a transaction), then the ``schema.yaml`` entry, then the
registry row; a registry row without its column gets an empty column back on the next open.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from segflow.errors import SchemaError
from segflow.schema.kinds import KINDS
from segflow.schema.spelling import close_name

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["AttributeDrop", "attribute_readers", "check_drop", "drop_attribute"]


@dataclass(frozen=True, slots=True)
class AttributeDrop:
    """What dropping *kind*.*name* removes (or removed, when ``dropped``)."""

    kind: str
    name: str
    type: str
    #: "declared" or "inferred".
    origin: str
    #: Rows of the kind's table with a value in the column.
    values: int
    #: Whether ``schema.yaml`` declares it (the entry goes too).
    declared: bool
    dropped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_drop(ctx: ProjectContext, kind: str, name: str) -> AttributeDrop:
    """What dropping *kind*.*name* would remove; raises :class:`SchemaError` when it may not be dropped."""
    if kind not in KINDS:
        raise SchemaError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})", code="unknown_kind", path=kind)
    wh = ctx.warehouse  # opening it applies schema.yaml, so declared attributes are registered
    key = f"{kind}.{name}"
    builtin = KINDS[kind].column(name)
    if builtin is not None:
        raise SchemaError(f"{key} is a built-in column of {kind} ({builtin.type.value}); it cannot be dropped",
                          code="builtin_attribute", path=key)
    attributes = ctx.registry.attributes(kind)
    attr = attributes.get(name)
    if attr is None:
        extra = [a for a, spec in attributes.items() if spec.origin != "builtin"]
        hint = close_name(name, list(attributes)) or next(iter(difflib.get_close_matches(name, extra, n=1)), None)
        suggestion = f'; did you mean "{hint}"?' if hint else ""
        listed = f" (its attributes: {', '.join(extra)})" if extra and not hint else ""
        raise SchemaError(f"{key}: {kind} has no attribute {name!r}{suggestion}{listed}",
                          code="unknown_attribute", path=key)
    readers = attribute_readers(ctx, kind, name)
    if readers:
        raise SchemaError(f"{key} is still read by {', '.join(readers)}; change or remove "
                          f"{'that definition' if len(readers) == 1 else 'those definitions'} first",
                          code="attribute_in_use", path=key)
    from segflow.warehouse.base import quote_ident

    present = name in wh.columns(kind)
    values = wh.count(f"SELECT count({quote_ident(name)}) FROM {quote_ident(kind)}") if present else 0
    declared = any(a.kind == kind and a.name == name for a in ctx.registry.read_declared())
    return AttributeDrop(kind, name, attr.type.value, attr.origin, values, declared)


def drop_attribute(ctx: ProjectContext, kind: str, name: str) -> AttributeDrop:
    """Drop *kind*.*name*: the column and its values, its ``schema.yaml`` entry, its registry row.

    Checked as :func:`check_drop` checks (which raises); returns what was removed."""
    plan = check_drop(ctx, kind, name)
    wh = ctx.warehouse
    with wh.transaction():
        wh.drop_column(kind, name)
        if kind == "profiles":  # identity resolution keeps each source row's values, and their stamps
            from segflow.identity.store import SOURCES, stamp

            if wh.table_exists(SOURCES):
                wh.drop_column(SOURCES, name)
                wh.drop_column(SOURCES, stamp(name))
    if plan.declared:
        ctx.registry.remove_declaration(kind, name)
    ctx.registry.forget(kind, name)
    return AttributeDrop(**{**plan.to_dict(), "dropped": True})


def attribute_readers(ctx: ProjectContext, kind: str, name: str) -> list[str]:
    """Every definition (in the project folder or applied) reading *kind*.*name*, as
    ``segment vip (segments/vip.yaml)``, sorted."""
    from segflow.definitions.project import local_definitions
    from segflow.definitions.versions import current_versions

    found: dict[tuple[str, str], str | None] = {}
    local = local_definitions(ctx, errors=[]).all()  # a broken file hides none of the others
    for (def_kind, def_name), d in local.items():
        if _reads(d.body, kind, name):
            found[(def_kind, def_name)] = d.file
    for (def_kind, def_name), v in current_versions(ctx.state).items():
        if v.active and _reads(v.body, kind, name):
            found.setdefault((def_kind, def_name), v.file)
    return [f"{k} {n}" + (f" ({file})" if file else "") for (k, n), file in sorted(found.items())]


def _walk(data: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) of nested data; list items carry their list's key."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield str(k), v
            yield from _walk(v, str(k))
    elif isinstance(data, (list, tuple)):
        for item in data:
            yield key, item
            yield from _walk(item, key)


def _reads(body: Any, kind: str, name: str) -> bool:
    word = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
    attr = {"profiles": name, "accounts": f"account.{name}"}.get(kind)
    for key, value in _walk(body):
        if isinstance(value, str) and key == "sql" and word.search(value):
            return True
        if attr is not None:
            if key == "attr" and value == attr:
                return True
        elif key == name or value == name:
            return True
    return False
