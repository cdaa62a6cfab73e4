"""A tiny hand-made shop for the tag tests: five profiles, a few events and orders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import segflow
from segflow.workspace import Workspace

T = datetime(2026, 3, 1, tzinfo=UTC)

PROFILES = """profile_id,city,member_level,created_at
p1,Beijing,vip,2025-01-01T00:00:00Z
p2,上海,normal,2025-01-01T00:00:00Z
p3,Chengdu,vip,2025-01-01T00:00:00Z
p4,Beijing,normal,2025-01-01T00:00:00Z
p5,,gold,2025-01-01T00:00:00Z
"""
ORDERS = """order_id,profile_id,ts,amount,status
o1,p1,2026-02-20T10:00:00Z,100.00,paid
o2,p1,2026-01-10T10:00:00Z,900.00,paid
o3,p2,2025-06-01T10:00:00Z,50.00,paid
o4,p3,2026-02-27T10:00:00Z,80.00,cancelled
"""
EVENTS = """event_id,profile_id,event,ts
e1,p1,login,2026-02-28T10:00:00Z
e2,p2,login,2026-01-01T10:00:00Z
e3,p4,add_to_cart,2026-02-27T10:00:00Z
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "tiny", timezone="Asia/Shanghai")
    files = tmp_path / "files"
    files.mkdir()
    for kind, text in (("profiles", PROFILES), ("orders", ORDERS), ("events", EVENTS)):
        (files / f"{kind}.csv").write_text(text, encoding="utf-8")
        ws.load(kind, [files / f"{kind}.csv"])
    yield ws
    ws.close()


@pytest.fixture
def define(tiny: Workspace) -> Callable[[str, str], Path]:
    """define("group/name", yaml_text) writes tags/group/name.yaml in the tiny project."""

    def _define(name: str, text: str) -> Path:
        path = tiny.root / "tags" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _define


def assignments(ws: Workspace, tag: str | None = None) -> dict[tuple[str, str, str], str | None]:
    """{(profile_id, tag, source): value} of the stored assignments (of one tag)."""
    where, params = ("WHERE tag = ?", [tag]) if tag else ("", [])
    rows = ws.warehouse.con.execute(f"SELECT profile_id, tag, source, value FROM tag_assignments {where}", params).fetchall()
    return {(p, t, s): v for p, t, s, v in rows}
