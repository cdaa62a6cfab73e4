"""plan and apply give the warnings preview gives: a misspelt event name, in a segment or a tag,
is named with its file and rule path (the rule would match no one until such an event arrives)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from segflow.definitions.plan import apply, make_plan
from segflow.workspace import Workspace


def test_plan_and_apply_name_every_unknown_event(shop: Workspace, define: Callable[..., Path]) -> None:
    define("segments/viewers.yaml", "rule: {event: view_product, within: 7d}\n")
    define("segments/typo.yaml", "type: dynamic\nschedule: '0 2 * * *'\nrule: {all: [{event: veiw_product, within: 7d}]}\n")
    define("tags/carts.yaml", "kind: dynamic\nrule: {event: add_to_kart, within: 7d}\n")
    plan = make_plan(shop)
    assert len(plan.warnings) == 2, plan.warnings
    assert any(w.startswith("segments/typo.yaml: rule.all[0].event: no event 'veiw_product'") for w in plan.warnings)
    assert any(w.startswith("tags/carts.yaml: rule.event: no event 'add_to_kart'") for w in plan.warnings)
    assert not any("viewers" in w for w in plan.warnings)
    assert apply(shop).plan.warnings == plan.warnings

    root = shop.root
    shop.close()
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "plan", "-p", str(root), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["warnings"]) == 2
    assert "Warning: segments/typo.yaml: rule.all[0].event: no event 'veiw_product'" in " ".join(proc.stderr.split())


def test_segment_list_names_the_events_no_event_has(shop: Workspace, define: Callable[..., Path]) -> None:
    from segflow.segments.listing import list_segments

    define("segments/viewers.yaml", "rule: {event: view_product, within: 7d}\n")
    define("segments/typo.yaml", "rule: {any: [{event: veiw_product, within: 7d}, {event: view_product, count: "
                                 "{gte: 99}}]}\n")
    apply(shop)
    infos = {s.name: s for s in list_segments(shop)}
    assert infos["viewers"].unknown_events == [] and infos["typo"].unknown_events == ["veiw_product"]
    root = shop.root
    shop.close()
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "segment", "list", "-p", str(root)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Warning: segment typo: no event 'veiw_product' has been loaded yet" in " ".join(proc.stderr.split())
    assert "viewers" not in proc.stderr
