"""A tiny shop whose segment memberships are known by hand (shared by the segments, definitions and
scheduler tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from segflow.workspace import Workspace

T1 = datetime(2026, 3, 10, tzinfo=UTC)
T2 = datetime(2026, 3, 14, tzinfo=UTC)

PROFILES = """profile_id,email,phone,city
p1,Alice.Smith@Gmail.com,+8613800000001,Beijing
p2,bob@example.com,,Shanghai
p3,,+86 138 0000 0003,Chengdu
p4,dan@example.com,+8613800000004,Beijing
p5,,,Shenzhen
p6,eve@example.com,,Beijing
"""

# viewers (view_product within 7 days): as of T1 p1 p2 p4; as of T2 p2 p3 p4 p6.
EVENTS = """event_id,profile_id,event,ts
e1,p1,view_product,2026-03-05T10:00:00Z
e2,p2,view_product,2026-03-08T10:00:00Z
e3,p3,view_product,2026-02-01T10:00:00Z
e4,p4,view_product,2026-03-09T10:00:00Z
e5,p6,view_product,2026-03-11T10:00:00Z
e6,p3,view_product,2026-03-10T12:00:00Z
e7,p5,login,2026-03-09T10:00:00Z
"""

IDENTITIES = """profile_id,type,value
p1,email,alice.work@example.com
p5,phone,+8613800000005
"""

VIEWERS = "description: viewed a product in 7 days\nrule: {event: view_product, within: 7d}\n"
BJ_VIEWERS = "rule:\n  all:\n    - {segment: viewers}\n    - {attr: city, eq: Beijing}\n"


def load_shop(ws: Workspace, tmp_path: Path) -> None:
    for kind, text in (("profiles", PROFILES), ("events", EVENTS), ("identities", IDENTITIES)):
        file = tmp_path / f"{kind}.csv"
        file.write_text(text, encoding="utf-8")
        [summary] = ws.load(kind, [file])
        assert summary.rejected == 0, kind



def members_of(ws: Workspace, name: str) -> set[str]:
    rows = ws.warehouse.con.execute("SELECT profile_id FROM segment_members WHERE segment = ?", [name]).fetchall()
    return {r[0] for r in rows}


def history_of(ws: Workspace, name: str) -> list[tuple[str, str, datetime]]:
    rows = ws.warehouse.con.execute(
        "SELECT profile_id, change, changed_at FROM segment_history WHERE segment = ? ORDER BY changed_at, change, "
        "profile_id", [name]).fetchall()
    return [(p, c, at.astimezone(UTC)) for p, c, at in rows]
