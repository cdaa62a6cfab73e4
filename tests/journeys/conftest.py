"""Fixtures: a small shop with profiles, events and consent, and helpers to write journeys and templates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import segflow
from segflow.workspace import Workspace

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

PROFILES = """profile_id,email,phone,first_name,city,birthday,created_at
p1,p1@example.com,13800000001,Ann,Shanghai,1990-03-08,2025-01-01T00:00:00Z
p2,p2@example.com,13800000002,Bo,Beijing,1985-03-02,2025-01-01T00:00:00Z
p3,p3@example.com,,Cai,Shanghai,1992-07-01,2025-01-01T00:00:00Z
p4,,13800000004,Dan,Shenzhen,1979-03-09,2025-01-01T00:00:00Z
p5,p5@example.com,13800000005,Eve,Shanghai,2000-12-24,2025-01-01T00:00:00Z
p6,p6@example.com,13800000006,Fay,Beijing,1995-03-05,2025-01-01T00:00:00Z
"""

EVENTS = """event_id,profile_id,event,ts,properties
e1,p1,signup,2026-03-01T10:00:00Z,"{""plan"": ""pro""}"
e2,p2,signup,2026-03-01T11:00:00Z,"{""plan"": ""free""}"
e3,p3,signup,2026-03-02T10:00:00Z,"{""plan"": ""pro""}"
e4,p1,coupon_used,2026-03-03T12:00:00Z,{}
e5,p5,signup,2026-03-04T08:00:00Z,"{""plan"": ""pro""}"
e6,p5,order_paid,2026-03-05T08:00:00Z,"{""amount"": 700}"
e7,p6,signup,2026-03-05T09:00:00Z,"{""plan"": ""pro""}"
"""

SUBSCRIPTIONS = """profile_id,channel,topic,status,ts
p2,email,,opted_out,2026-02-01T00:00:00Z
p3,email,promotions,opted_in,2026-02-01T00:00:00Z
"""


def load_shop(ws: Workspace, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, text in (("profiles", PROFILES), ("events", EVENTS), ("subscriptions", SUBSCRIPTIONS)):
        path = folder / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        ws.load(kind, [path])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "shop", default_phone_country="CN")
    load_shop(ws, tmp_path / "data")
    (ws.root / "segflow.yaml").write_text((ws.root / "segflow.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    yield ws
    ws.close()


@pytest.fixture
def files(shop: Workspace) -> Callable[[str, str], Path]:
    """files("journeys/x.yaml", text) writes a project file."""

    def _write(rel: str, text: str) -> Path:
        path = shop.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
