"""The traits with when each column was last computed (``segflow traits list``): defined ones, then model ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["TraitInfo", "list_traits"]


@dataclass(frozen=True)
class TraitInfo:
    name: str
    kind: str
    type: str
    source: str
    window: str
    file: str | None
    description: str
    #: The time the stored column was computed as of; None when never computed, or
    #: computed from a definition that has changed since (the column is stale).
    as_of: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_traits(ctx: ProjectContext) -> list[TraitInfo]:
    """Every definition in ``traits/`` (checked), with the ``as_of`` of its current column,
    then the columns models write (kind ``model``, source ``model:<name>``)."""
    from segflow.traits import last_refresh, load_trait_definitions, trait_columns
    from segflow.traits.store import OWNED_PREFIX, owned_columns

    orders, items = trait_columns(ctx)
    definitions = load_trait_definitions(ctx.root, order_columns=orders, item_columns=items)
    stored = (last_refresh(ctx) or {"traits": {}})["traits"]

    def current(t: Any) -> datetime | None:
        row = stored.get(t.name)
        return row["as_of"] if row is not None and row["fingerprint"] == t.fingerprint() else None

    defined = [TraitInfo(name=t.name, kind=t.kind.value, type=t.type.value, source=t.source, window=t.window_text,
                         file=t.file, description=t.description, as_of=current(t)) for t in definitions]
    owned = [TraitInfo(name=name, kind="model", type=row["type"], source=row["kind"], window="", file=row["file"],
                       description=f"written by segflow model {row['kind'].removeprefix(OWNED_PREFIX)}",
                       as_of=row["as_of"]) for name, row in owned_columns(ctx.warehouse).items()]
    return defined + owned
