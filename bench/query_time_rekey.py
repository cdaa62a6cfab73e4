"""What would query-time re-keying cost segment queries? (A measurement, not a suite.)

segflow re-keys stored rows: after ``segflow resolve`` every event and order carries its
person's id. The alternative keeps the id a row was loaded with and maps it through
``profile_map`` in every query. This script times compiled segment rules on a resolved
project both ways, in one process:

* **stored ids**: views over the warehouse's tables as they are;
* **mapped at query time**: the same, but ``events`` and ``orders`` join the merged part
  of ``profile_map`` (records whose person has another id) and take the person's id
  from it.

    python bench/query_time_rekey.py bench/out/some-resolved-project [--repeat 5]

The project must have been resolved (``segflow resolve``); its stored ids are already
the persons' ids, so both sides find the same members and only the join's cost differs.
Figures of 2026-12-02 are in docs/benchmarks.md ("Identity: reading the figures").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.rules import AS_OF, RULE  # noqa: E402 - after the sys.path line above

#: The rules suite's 6-condition segment and two conditions over all history.
RULES: list[tuple[str, dict[str, Any]]] = [
    ("rules suite segment (6 conditions)", RULE),
    ("page_view count >= 50, all history", {"event": "page_view", "count": {"gte": 50}}),
    ("order total >= 1000, all history", {"orders": {"total": {"gte": 1000}}}),
]


def main(argv: list[str] | None = None) -> None:
    import duckdb

    import segflow
    from segflow.rules.compile import compile_sql

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="a resolved segflow project")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per side (after one warm-up)")
    args = parser.parse_args(argv)

    ws = segflow.open(args.project)
    queries = [(label, compile_sql(ws.check(rule)[0], as_of=AS_OF, timezone=ws.config.timezone))
               for label, rule in RULES]
    ws.close()

    con = duckdb.connect()
    db = args.project / ".segflow" / "warehouse.duckdb"
    con.execute(f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS w (READ_ONLY)")
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'w'").fetchall()]
    con.execute("CREATE TABLE merged AS SELECT source_id, canonical_id FROM w.profile_map WHERE source_id <> canonical_id")
    merged = con.execute("SELECT count(*) FROM merged").fetchall()[0][0]

    def views(mapped: bool) -> None:
        for t in tables:
            if mapped and t in ("events", "orders"):
                body = (f"SELECT x.* REPLACE (coalesce(m.canonical_id, x.profile_id) AS profile_id) FROM w.{t} x "
                        f"LEFT JOIN merged m ON m.source_id = x.profile_id")
            else:
                body = f"SELECT * FROM w.{t}"
            con.execute(f"CREATE OR REPLACE VIEW {t} AS {body}")

    def timed(sql: str) -> tuple[float, int]:
        walls, n = [], 0
        for i in range(args.repeat + 1):
            start = time.perf_counter()
            n = len(con.execute(sql).fetchall())
            if i:
                walls.append(time.perf_counter() - start)
        return statistics.median(walls), n

    print(f"{merged:,} merged records in profile_map")
    for label, sql in queries:
        views(False)
        stored, n_stored = timed(sql)
        views(True)
        mapped, n_mapped = timed(sql)
        same = "same members" if n_stored == n_mapped else f"MEMBERS DIFFER ({n_stored} vs {n_mapped})"
        print(f"{label}: stored ids {stored:.3f} s, mapped at query time {mapped:.3f} s "
              f"(x{mapped / stored:.2f}); {n_stored:,} members, {same}")


if __name__ == "__main__":
    main()
