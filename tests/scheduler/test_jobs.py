"""Job kinds: the worker runs what each kind registered, and names none itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from segflow.definitions.plan import apply
from segflow.definitions.runner import RefreshResult
from segflow.definitions.runs import list_runs
from segflow.scheduler import jobs
from segflow.scheduler.jobs import get_job_kind, job_kinds, register_job_kind
from segflow.scheduler.schedules import Desired, list_schedules, sync_schedules
from segflow.scheduler.worker import run_worker
from segflow.workspace import Workspace

APPLIED = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)


def _schedule(ws: Workspace, kind: str, name: str) -> None:
    """Add one hourly schedule of *kind* next to those apply wrote."""
    current = [Desired(kind=s.kind, name=s.name, cron=s.cron, depends_on=s.depends_on, rank=s.rank)
               for s in list_schedules(ws.state)]
    with ws.state.begin() as conn:
        sync_schedules(conn, [*current, Desired(kind=kind, name=name, cron="0 * * * *")], ws.config.timezone,
                       APPLIED)


def test_segment_tag_and_trait_are_registered() -> None:
    assert {"segment", "tag", "trait"} <= set(job_kinds())
    with pytest.raises(KeyError, match="no job kind 'journey' is registered"):
        get_job_kind("journey")


def test_the_worker_runs_a_registered_kind_without_knowing_it(shop: Workspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, datetime, str, str | None]] = []

    def refresh_model(ctx: Any, name: str, *, as_of: datetime, trigger: str, worker: str | None) -> list[Any]:
        calls.append((name, as_of, trigger, worker))
        return [RefreshResult("model", name, None, "ok", as_of, members=3)]

    monkeypatch.setattr(jobs, "_JOBS", dict(jobs._JOBS))  # registered for this test only
    register_job_kind("model", refresh_model, description="score one model")
    apply(shop, refresh=False, as_of=APPLIED)
    _schedule(shop, "model", "rfm")
    summary = run_worker(shop, once=True, worker="w", clock=lambda: AFTER)
    assert calls == [("rfm", AFTER, "schedule", "w")]
    assert [(r.kind, r.name, r.status) for r in summary.results if r.kind == "model"] == [("model", "rfm", "ok")]
    row = {(s.kind, s.name): s for s in list_schedules(shop.state)}[("model", "rfm")]
    assert (row.last_status, row.lease_owner) == ("ok", None)


def test_the_worker_refreshes_a_due_trait_with_a_run_row(shop: Workspace) -> None:
    (shop.root / "traits").mkdir(exist_ok=True)
    (shop.root / "traits" / "views.yaml").write_text("kind: counter\nevent: view_product\nwithin: 60d\n",
                                                     encoding="utf-8")
    apply(shop, refresh=False, as_of=APPLIED)
    _schedule(shop, "trait", "views")
    summary = run_worker(shop, once=True, worker="w", clock=lambda: AFTER)
    [result] = [r for r in summary.results if r.kind == "trait"]
    assert (result.name, result.status, result.as_of) == ("views", "ok", AFTER)
    [run] = list_runs(shop.state, kind="trait", name="views")
    assert (run.status, run.trigger, run.worker, run.version, run.as_of) == ("ok", "schedule", "w", 1, AFTER)
    assert run.members == result.members and run.members is not None and run.members > 0
    from segflow.traits import last_refresh

    assert last_refresh(shop)["traits"]["views"]["as_of"] == AFTER  # type: ignore[index]


def test_a_schedule_of_a_kind_nothing_registered_fails_and_the_worker_goes_on(shop: Workspace) -> None:
    apply(shop, refresh=False, as_of=APPLIED)
    _schedule(shop, "journey", "welcome")
    summary = run_worker(shop, once=True, worker="w", clock=lambda: AFTER)
    [failed] = [r for r in summary.results if r.kind == "journey"]
    assert failed.status == "failed" and "no job kind 'journey'" in (failed.error or "")
    assert sum(1 for r in summary.results if r.kind == "segment" and r.status == "ok") == 6
    row = {(s.kind, s.name): s for s in list_schedules(shop.state)}[("journey", "welcome")]
    assert row.last_status == "failed" and row.next_run_at > AFTER - timedelta(hours=1)
