"""Helpers for the identity tests (imported by name: the test folders are on sys.path)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from segflow.workspace import Workspace

Feed = Callable[..., Any]


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text; the header is the union of keys in first-seen order."""
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def partition(ws: Workspace) -> dict[str, str]:
    """source id → canonical id."""
    return dict(ws.warehouse.con.execute("SELECT source_id, canonical_id FROM profile_map").fetchall())


def groups(ws: Workspace) -> set[frozenset[str]]:
    """The persons as sets of source ids."""
    out: dict[str, set[str]] = {}
    for source, canonical in partition(ws).items():
        out.setdefault(canonical, set()).add(source)
    return {frozenset(g) for g in out.values()}


def set_identity(ws: Workspace, **options: Any) -> None:
    """Write ``identity:`` options into segflow.yaml and reload the config."""
    import yaml

    from segflow.config import CONFIG_FILE, read_config

    path = ws.root / CONFIG_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["identity"] = {**data.get("identity", {}), **options}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    ws.config = read_config(ws.root)
