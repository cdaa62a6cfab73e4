"""Computed traits: named per-profile aggregates, defined in ``traits/``, materialised in ``traits``.

    >>> from segflow.traits import load_trait_definitions, refresh_traits
    >>> [t.name for t in load_trait_definitions(ws.root)]     # doctest: +SKIP
    ['email_open_rate_90d', 'favorite_category', 'orders_365d']
    >>> refresh_traits(ws)["traits"]["orders_365d"]["type"]  # doctest: +SKIP
    'integer'

Modules: :mod:`~segflow.traits.definition` (YAML → checked, frozen definitions),
:mod:`~segflow.traits.compile` (one definition → one SQL query),
:mod:`~segflow.traits.refresh` (every definition → the ``traits`` table, atomically).
"""

from segflow.traits.definition import (
    TraitDefinition,
    TraitKind,
    load_trait_definitions,
    parse_trait,
)
from segflow.traits.refresh import last_refresh, refresh_traits, trait_columns

__all__ = [
    "TraitDefinition",
    "TraitKind",
    "last_refresh",
    "load_trait_definitions",
    "parse_trait",
    "refresh_traits",
    "trait_columns",
]
