"""Identity resolution: one canonical profile per person, across channels.

    >>> from segflow.identity import resolve_identities
    >>> summary = resolve_identities(ws)            # doctest: +SKIP
    >>> summary.sources, summary.persons            # doctest: +SKIP
    (33412, 20000)

Modules, one role each:

* :mod:`~segflow.identity.config` — the ``identity:`` section of ``segflow.yaml``;
* :mod:`~segflow.identity.store` — the warehouse tables resolution keeps;
* :mod:`~segflow.identity.index` — normalised identifier rows per source profile;
* :mod:`~segflow.identity.graph` — connected components (scipy.sparse.csgraph);
* :mod:`~segflow.identity.resolve` — full and incremental runs, undo and pins;
* :mod:`~segflow.identity.ids` — which source id names each person, kept across runs;
* :mod:`~segflow.identity.persons` — the person an id stands for (the one lookup over
  ``profile_map`` other packages use);
* :mod:`~segflow.identity.merge` — canonical profile rows from their sources;
* :mod:`~segflow.identity.rekey` — events, orders, ... follow the canonical id;
* :mod:`~segflow.identity.explain` — the identifier path that joined two records;
* :mod:`~segflow.identity.profile` — the global file of one person.

Imports here are lazy: ``segflow.config`` imports the config module when the CLI starts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IdentityError", "explain_person", "global_file", "resolve_identities", "undo_merge", "unpin"]


def __getattr__(name: str) -> Any:
    if name in ("resolve_identities", "undo_merge", "unpin"):
        from segflow.identity import resolve

        return getattr(resolve, name)
    if name == "explain_person":
        from segflow.identity.explain import explain_person

        return explain_person
    if name == "global_file":
        from segflow.identity.profile import global_file

        return global_file
    if name == "IdentityError":
        from segflow.identity.errors import IdentityError

        return IdentityError
    raise AttributeError(name)
