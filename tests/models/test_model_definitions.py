"""Models as definitions: ``models/<name>.yaml`` in plan / apply, versions, the graph and the worker."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from segflow.definitions.plan import apply, make_plan
from segflow.definitions.runs import list_runs
from segflow.definitions.versions import current_versions
from segflow.errors import DefinitionsError
from segflow.models.rfm import load_rfm_config
from segflow.scheduler.schedules import list_schedules
from segflow.scheduler.worker import run_worker
from segflow.traits.store import owned_columns
from segflow.workspace import Workspace

from .test_rfm import GUIDE_CASES, T, load, scores

APPLIED = T  # the guide cases are as of T


@pytest.fixture
def shop(project: Workspace, tmp_path: Path) -> Workspace:
    profiles = [(p, created) for p, (created, _, _) in GUIDE_CASES.items()]
    orders = [(p, ts, a, s) for p, (_, rows, _) in GUIDE_CASES.items() for ts, a, s in rows]
    load(project, tmp_path / "files", profiles, orders)
    (project.root / "models").mkdir()
    return project


def write(ws: Workspace, rel: str, text: str) -> Path:
    path = ws.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_apply_versions_runs_and_schedules_a_model_file(shop: Workspace) -> None:
    write(shop, "models/rfm.yaml", "schedule: '0 2 * * *'\nmode: guide\n")
    write(shop, "tags/vip_rfm.yaml", "kind: dynamic\nrule: {trait: rfm_tier, eq: high_value}\n")
    plan = make_plan(shop, as_of=APPLIED)
    assert [(c.kind, c.name, c.action, c.schedule) for c in plan.pending] == [
        ("model", "rfm", "new", "0 2 * * *"), ("tag", "vip_rfm", "new", None)]

    result = apply(shop, as_of=APPLIED)
    assert result.versions[("model", "rfm")] == 1
    assert current_versions(shop.state, "model")[("model", "rfm")].body == {"mode": "guide", "schedule": "0 2 * * *"}
    assert {row["as_of"] for row in owned_columns(shop.warehouse, "model:rfm").values()} == {APPLIED}
    assert [(r.kind, r.name, r.status) for r in result.refreshed] == [("model", "rfm", "ok"), ("tag", "vip_rfm", "ok")]
    run = list_runs(shop.state, kind="model")[0]
    assert (run.name, run.status, run.trigger, run.members) == ("rfm", "ok", "apply", 11)
    expected_high = {p for p, (_, _, want) in GUIDE_CASES.items() if want[4] == "high_value"}
    members = {r[0] for r in shop.warehouse.rows("SELECT profile_id FROM tag_assignments WHERE tag = 'vip_rfm'")}
    assert members == expected_high
    assert {(s.kind, s.name, s.cron) for s in list_schedules(shop.state)} >= {("model", "rfm", "0 2 * * *")}

    assert make_plan(shop, as_of=APPLIED).pending == []


def test_a_changed_model_file_reruns_it_and_refreshes_what_reads_its_traits(shop: Workspace) -> None:
    write(shop, "models/rfm.yaml", "mode: guide\n")
    write(shop, "tags/vip_rfm.yaml", "kind: dynamic\nrule: {trait: rfm_tier, eq: high_value}\n")
    write(shop, "segments/top.yaml", "type: dynamic\nrule: {trait: rfm_score, lte: 4}\n")
    apply(shop, as_of=APPLIED)
    write(shop, "models/rfm.yaml", "mode: guide\nmonetary_min: [5000, 2000]\n")
    plan = make_plan(shop, as_of=APPLIED)
    assert [(c.kind, c.name, c.action) for c in plan.pending] == [("model", "rfm", "changed")]

    result = apply(shop, as_of=APPLIED)
    assert [(r.kind, r.name) for r in result.refreshed] == [("model", "rfm"), ("segment", "top"), ("tag", "vip_rfm")]
    config = load_rfm_config(root=shop.root)[0]
    assert {row["fingerprint"] for row in owned_columns(shop.warehouse, "model:rfm").values()} == {
        config.fingerprint()}
    # f5_m999_50 had M 2 (score 4, high value); with M 1 at 5000 and M 2 at 2000 it is M 3 (score 5)
    assert scores(shop)["f5_m999_50"] == (1, 1, 3, 5, "high_value")
    assert scores(shop)["f4_m1000"] == (1, 2, 3, 6, "potential")
    members = {r[0] for r in shop.warehouse.rows("SELECT profile_id FROM tag_assignments WHERE tag = 'vip_rfm'")}
    assert "f4_m1000" not in members and "f5_m999_50" in members


def test_every_bad_model_file_is_reported_at_once_and_nothing_is_applied(shop: Workspace) -> None:
    write(shop, "models/rmf.yaml", "mode: guide\n")
    write(shop, "models/rfm.yaml", "recency_days: [90, 30]\n")
    write(shop, "models/clv.yaml", "schedule: 'every day'\n")
    with pytest.raises(DefinitionsError) as caught:
        make_plan(shop, as_of=APPLIED)
    text = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 3
    assert "models/rmf.yaml: no model 'rmf': name the file after one of " in text and "clv" in text
    assert "models/rfm.yaml: recency_days: need 0 < first < second, got [90, 30]" in text
    assert "models/clv.yaml: schedule: 'every day' is not a valid cron expression" in text
    with pytest.raises(DefinitionsError):
        apply(shop, as_of=APPLIED)
    assert current_versions(shop.state) == {}
    assert owned_columns(shop.warehouse) == {}


def test_the_worker_runs_a_scheduled_model(shop: Workspace) -> None:
    write(shop, "models/rfm.yaml", "schedule: '0 2 * * *'\n")
    apply(shop, refresh=False, as_of=APPLIED)
    assert owned_columns(shop.warehouse, "model:rfm") == {}
    due = datetime(2026, 3, 2, 2, 5, tzinfo=UTC)  # the next 02:00 after APPLIED (the project is in UTC)
    summary = run_worker(shop, once=True, worker="w", clock=lambda: due)
    assert [(r.kind, r.name, r.status, r.members) for r in summary.results] == [("model", "rfm", "ok", 11)]
    assert {row["as_of"] for row in owned_columns(shop.warehouse, "model:rfm").values()} == {due}
    assert list_runs(shop.state, kind="model")[0].trigger == "schedule"


def test_removing_the_file_stops_the_schedule_and_keeps_the_traits(shop: Workspace) -> None:
    path = write(shop, "models/rfm.yaml", "schedule: '0 2 * * *'\n")
    apply(shop, as_of=APPLIED)
    path.unlink()
    plan = make_plan(shop, as_of=APPLIED)
    assert [(c.kind, c.name, c.action) for c in plan.pending] == [("model", "rfm", "removed")]
    apply(shop, as_of=APPLIED)
    assert ("model", "rfm") not in {(s.kind, s.name) for s in list_schedules(shop.state)}
    assert sorted(owned_columns(shop.warehouse, "model:rfm")) == ["rfm_f", "rfm_m", "rfm_r", "rfm_score", "rfm_tier"]


def test_plan_on_the_command_line_lists_the_model(shop: Workspace) -> None:
    write(shop, "models/clv.yaml", "time_unit: weeks\n")
    root = shop.root
    shop.close()
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "plan", "-p", str(root), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    changes = json.loads(proc.stdout)["changes"]
    assert [(c["kind"], c["name"], c["action"], c["file"]) for c in changes] == [
        ("model", "clv", "new", "models/clv.yaml")]


def test_model_list_shows_files_schedules_and_freshness(shop: Workspace) -> None:
    from segflow.models.registry import list_models
    from segflow.models.rfm import run_rfm

    write(shop, "models/rfm.yaml", "schedule: '0 2 * * *'\n")
    infos = {i.name: i for i in list_models(shop)}
    assert {"rfm", "clv", "activity", "lifecycle", "clusters"} <= set(infos)
    assert (infos["rfm"].file, infos["rfm"].schedule, infos["rfm"].as_of) == ("models/rfm.yaml", "0 2 * * *", None)
    run_rfm(shop, as_of=APPLIED, config=load_rfm_config(root=shop.root)[0])
    rfm = {i.name: i for i in list_models(shop)}["rfm"]
    assert (rfm.as_of, rfm.current) == (APPLIED, True)
    write(shop, "models/rfm.yaml", "mode: grid\n")
    assert {i.name: i for i in list_models(shop)}["rfm"].current is False
    root = shop.root
    shop.close()
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "list", "-p", str(root), "--format",
                           "json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    listed = {m["name"]: m for m in json.loads(proc.stdout)}
    assert listed["rfm"]["outputs"] == ["rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_tier"]
    assert listed["clv"]["as_of"] is None and listed["clv"]["file"] is None


def test_a_model_that_reads_another_models_trait_runs_after_it_in_apply(shop: Workspace) -> None:
    from segflow.models.lifecycle import lifecycle_changes

    write(shop, "models/rfm.yaml", "mode: guide\n")
    write(shop, "models/lifecycle.yaml", """stages:
  - {name: vip, rule: {trait: rfm_tier, eq: high_value}}
  - {name: others, rule: {attr: profile_id, is_null: false}}
""")
    result = apply(shop, as_of=APPLIED)
    assert [(r.kind, r.name, r.status) for r in result.refreshed][:2] == [("model", "rfm", "ok"),
                                                                         ("model", "lifecycle", "ok")]
    stages = dict(shop.warehouse.rows("SELECT profile_id, lifecycle_stage FROM traits"))
    expected_high = {p for p, (_, _, want) in GUIDE_CASES.items() if want[4] == "high_value"}
    assert {p for p, s in stages.items() if s == "vip"} == expected_high
    # a changed rfm file runs rfm again, and the lifecycle model that reads its tier after it
    write(shop, "models/rfm.yaml", "mode: guide\nmonetary_min: [5000, 2000]\n")
    result = apply(shop, as_of=APPLIED)
    assert [(r.kind, r.name) for r in result.refreshed] == [("model", "rfm"), ("model", "lifecycle")]
    stages = dict(shop.warehouse.rows("SELECT profile_id, lifecycle_stage FROM traits"))
    assert stages["f4_m1000"] == "others" and stages["f5_m999_50"] == "vip"
    assert any(c["stage"] == "others" and c["profile_id"] == "f4_m1000" for c in lifecycle_changes(shop).to_pylist())
