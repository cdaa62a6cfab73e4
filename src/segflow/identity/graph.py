"""Connected components of the identifier graph, with ``scipy.sparse.csgraph``.

The graph is bipartite: one node per source profile, one per identifier value, an
edge where a source has the identifier. Two sources are one person when a path of
shared identifiers joins them (A~B by phone, B~C by e-mail ⇒ A, B, C). Codes are
assigned in the warehouse (``dense_rank``), so only two integer arrays cross into
Python, and scipy labels every node in one C pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["component_labels", "spanning_paths"]


def _matrix(n_sources: int, n_idents: int, src: np.ndarray, ident: np.ndarray):  # type: ignore[no-untyped-def]
    import numpy as np
    from scipy.sparse import coo_matrix

    n = n_sources + n_idents
    data = np.ones(len(src), dtype=np.int8)
    return coo_matrix((data, (src, ident + n_sources)), shape=(n, n)).tocsr()


def component_labels(n_sources: int, n_idents: int, src: np.ndarray, ident: np.ndarray) -> np.ndarray:
    """Component label of each source node ``0..n_sources-1``.

    *src* and *ident* are the edge list: source code and identifier code per edge.
    Sources without edges get a component of their own.
    """
    import numpy as np
    from scipy.sparse.csgraph import connected_components

    if n_sources == 0:
        return np.zeros(0, dtype=np.int64)
    graph = _matrix(n_sources, n_idents, np.asarray(src, dtype=np.int64), np.asarray(ident, dtype=np.int64))
    _, labels = connected_components(graph, directed=False, return_labels=True)
    return labels[:n_sources].astype(np.int64)


def spanning_paths(n_sources: int, n_idents: int, src: np.ndarray, ident: np.ndarray, root: int) -> np.ndarray:
    """Breadth-first predecessors from source node *root* (``-9999`` where unreached).

    Following predecessors from any node back to *root* gives the shortest chain of
    shared identifiers that joined them.
    """
    import numpy as np
    from scipy.sparse.csgraph import breadth_first_order

    graph = _matrix(n_sources, n_idents, np.asarray(src, dtype=np.int64), np.asarray(ident, dtype=np.int64))
    _, predecessors = breadth_first_order(graph, root, directed=False, return_predecessors=True)
    return predecessors
