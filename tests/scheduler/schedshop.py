"""The tiny shop of tests/segments/segshop.py with scheduled segments (worker tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "segments"))

from segshop import BJ_VIEWERS, VIEWERS, load_shop

import segflow
from segflow.workspace import Workspace

DAILY = 'schedule: "0 2 * * *"\n'


def scheduled_shop(root: Path, tmp_path: Path, **init: str) -> Workspace:
    """A project whose viewers and bj_viewers (reads viewers) run daily at 02:00 Asia/Shanghai, plus
    four independent hourly segments."""
    ws = segflow.init(root, default_phone_country="CN", timezone="Asia/Shanghai", **init)
    load_shop(ws, tmp_path)
    seg = ws.root / "segments"
    (seg / "viewers.yaml").write_text(VIEWERS + DAILY, encoding="utf-8")
    (seg / "bj_viewers.yaml").write_text(BJ_VIEWERS + DAILY, encoding="utf-8")
    for city in ("Beijing", "Shanghai", "Chengdu", "Shenzhen"):
        (seg / f"in_{city.lower()}.yaml").write_text(f'rule: {{attr: city, eq: {city}}}\nschedule: "0 * * * *"\n',
                                                     encoding="utf-8")
    return ws
