"""The segments step of segflow demo on a small generated shop: everything refreshes, in order."""

from __future__ import annotations

from pathlib import Path

import segflow
from segflow.definitions.plan import make_plan
from segflow.generate import generate_shop
from segflow.segments.demo import DEMO_SEGMENTS, run_demo_segments

KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")


def test_demo_segments_and_templates_apply_and_refresh(tmp_path: Path) -> None:
    manifest = generate_shop(tmp_path / "data", profiles=400, seed=3, days=30)
    ws = segflow.init(tmp_path / "demo", timezone="Asia/Shanghai", default_phone_country="CN")
    with ws:
        for kind in KINDS:
            ws.load(kind, [tmp_path / "data" / manifest["files"][kind]["file"]])
        written, installed, result = run_demo_segments(ws)
        assert sorted(written) == sorted(n.removesuffix(".yaml") for n in DEMO_SEGMENTS)
        assert result.failed == []
        order = [(r.kind, r.name) for r in result.refreshed]
        assert order.index(("segment", "active_browsers")) < order.index(("segment", "tier1_active"))
        if installed is not None:  # the tags module's templates: every computed tag refreshed too
            assert sum(1 for k, _ in order if k == "tag") >= 10
        con = ws.warehouse.con
        tier1 = {r[0] for r in con.execute("SELECT profile_id FROM segment_members WHERE segment = 'tier1_active'")
                 .fetchall()}
        browsers = {r[0] for r in con.execute(
            "SELECT profile_id FROM segment_members WHERE segment = 'active_browsers'").fetchall()}
        assert browsers and tier1 <= browsers
        assert make_plan(ws, counts=False).pending == []
