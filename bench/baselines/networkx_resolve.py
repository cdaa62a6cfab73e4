"""The networkx baseline for identity resolution: connected components in Python.

    python bench/baselines/networkx_resolve.py EDGES.parquet SOURCES.parquet OUT.parquet

What a team writes without a warehouse-native resolver: read the (already normalised
and filtered) edges ``source_id — identifier``, build a ``networkx.Graph``, take
``connected_components``, and name each person after its oldest source (has a profile
row, earliest ``created_at``, smallest id — the same rule as segflow). Writes
``source_id, canonical_id`` to OUT and prints one JSON line of timings. Re-keying
events and orders is *not* done here (segflow's figure includes it).
"""

from __future__ import annotations

import json
import sys
import time


def main(edges_path: str, sources_path: str, out_path: str) -> None:
    import networkx as nx
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    edges = pq.read_table(edges_path)
    sources = pq.read_table(sources_path)
    read = time.perf_counter()
    graph = nx.Graph()
    src = sources.column("source_id").to_pylist()
    graph.add_nodes_from(("s", s) for s in src)
    graph.add_edges_from(
        (("s", s), ("i", i)) for s, i in zip(edges.column("source_id").to_pylist(), edges.column("ident").to_pylist())
    )
    built = time.perf_counter()
    components = list(nx.connected_components(graph))
    found = time.perf_counter()
    rank = {
        s: (no_profile, created, s)
        for s, no_profile, created in zip(
            src, sources.column("no_profile").to_pylist(), sources.column("created_key").to_pylist()
        )
    }
    out_src, out_canon = [], []
    for comp in components:
        members = [n[1] for n in comp if n[0] == "s"]
        if not members:
            continue
        oldest = min(members, key=rank.__getitem__)
        out_src.extend(members)
        out_canon.extend([oldest] * len(members))
    named = time.perf_counter()
    pq.write_table(pa.table({"source_id": out_src, "canonical_id": out_canon}), out_path)
    print(json.dumps({
        "read_s": read - started,
        "build_s": built - read,
        "components_s": found - built,
        "name_s": named - found,
        "total_s": named - read,
        "persons": len(set(out_canon)),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
