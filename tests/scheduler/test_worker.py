"""Cron in the workspace zone, claims and leases, the worker; exactly once with several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from schedshop import scheduled_shop
from segshop import members_of

from segflow.definitions.plan import apply
from segflow.scheduler.cron import next_run
from segflow.scheduler.schedules import claim_due, complete, list_schedules
from segflow.scheduler.worker import run_worker
from segflow.segments.runs import list_runs
from segflow.state.store import StateStore
from segflow.workspace import Workspace

APPLIED = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)   # 20:00 in Shanghai
NEXT_DAILY = datetime(2026, 3, 9, 18, 0, tzinfo=UTC)  # 02:00 on 10 March in Shanghai
AFTER = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(("cron", "tz", "after", "expected"), [
    ("0 2 * * *", "Asia/Shanghai", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 18, tzinfo=UTC)),
    ("0 2 * * *", "UTC", datetime(2026, 3, 1, 2, tzinfo=UTC), datetime(2026, 3, 2, 2, tzinfo=UTC)),
    ("0 9 * * 1", "Europe/Berlin", datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 3, 30, 7, tzinfo=UTC)),
    ("0 9 * * 1", "Europe/Berlin", datetime(2026, 3, 18, tzinfo=UTC), datetime(2026, 3, 23, 8, tzinfo=UTC)),
    ("*/15 * * * *", "Asia/Kolkata", datetime(2026, 3, 1, 0, 1, tzinfo=UTC), datetime(2026, 3, 1, 0, 15, tzinfo=UTC)),
], ids=["shanghai-daily", "strictly-after", "berlin-summer-time", "berlin-winter-time", "kolkata-half-hour"])
def test_next_run_is_wall_clock_time_in_the_zone(cron: str, tz: str, after: datetime, expected: datetime) -> None:
    assert next_run(cron, tz, after) == expected


def test_worker_once_runs_what_is_due_in_dependency_order(shop: Workspace) -> None:
    apply(shop, refresh=False, as_of=APPLIED)
    hourly = {s.name: s.next_run_at for s in list_schedules(shop.state) if s.cron.startswith("0 *")}
    assert set(hourly.values()) == {datetime(2026, 3, 9, 13, tzinfo=UTC)}
    summary = run_worker(shop, once=True, worker="w1", clock=lambda: AFTER)
    names = [r.name for r in summary.results]
    assert sorted(names) == ["bj_viewers", "in_beijing", "in_chengdu", "in_shanghai", "in_shenzhen", "viewers"]
    assert names.index("viewers") < names.index("bj_viewers")
    assert all(r.status == "ok" and r.as_of == AFTER for r in summary.results)
    assert members_of(shop, "bj_viewers") == {"p1", "p4"}  # as of 18:30 on 9 March: viewers p1, p2, p4
    runs = list_runs(shop.state, kind="segment", name="viewers")
    assert [(r.trigger, r.worker) for r in runs] == [("schedule", "w1")]
    rows = {s.name: s for s in list_schedules(shop.state)}
    assert rows["viewers"].next_run_at == NEXT_DAILY + timedelta(days=1)
    assert rows["in_beijing"].next_run_at == datetime(2026, 3, 9, 19, tzinfo=UTC)
    assert (rows["viewers"].last_status, rows["viewers"].lease_owner) == ("ok", None)
    assert run_worker(shop, once=True, worker="w2", clock=lambda: AFTER).results == []


def test_a_held_lease_blocks_others_until_it_expires(shop: Workspace) -> None:
    apply(shop, refresh=False, as_of=APPLIED)
    lease = timedelta(minutes=10)
    a = claim_due(shop.state, "a", AFTER, lease=lease)
    assert a is not None and (a.kind, a.name) != ("segment", "bj_viewers")
    taken = {a.name}
    while (c := claim_due(shop.state, "b", AFTER, lease=lease)) is not None:
        taken.add(c.name)
        assert c.name != a.name
    # bj_viewers waits for viewers (due or leased): never claimed in this round
    assert "bj_viewers" not in taken
    # "a" dies; after its lease, the row is claimable again
    later = AFTER + lease + timedelta(seconds=1)
    again = claim_due(shop.state, "c", later, lease=lease)
    assert again is not None and again.name in taken
    assert complete(shop.state, a, "a", status="ok", now=later) is False  # "a" lost its lease


def test_a_failed_refresh_is_recorded_and_rescheduled(shop: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import segflow.segments.refresh as mod

    apply(shop, refresh=False, as_of=APPLIED)
    monkeypatch.setattr(mod, "compile_segment", lambda *a: "SELECT error('boom') AS profile_id")
    summary = run_worker(shop, once=True, worker="w", clock=lambda: AFTER)
    assert summary.failed == 6
    statuses = Counter(r.status for r in summary.results)
    assert statuses == {"failed": 6}
    row = {s.name: s for s in list_schedules(shop.state)}["viewers"]
    assert (row.last_status, row.next_run_at, row.lease_owner) == ("failed", NEXT_DAILY + timedelta(days=1), None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared-state.db'}"
    return request.getfixturevalue("pg_url")


def test_claims_are_exactly_once_across_threads(state_url: str, tmp_path: Path) -> None:
    ws = scheduled_shop(tmp_path / "shop", tmp_path, state=state_url)
    apply(ws, refresh=False, as_of=APPLIED)
    ws.close()
    claims: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(me: str) -> None:
        store = StateStore.open(state_url)
        start.wait()
        while (c := claim_due(store, me, AFTER)) is not None:
            with lock:
                claims.append(c.name)
            assert complete(store, c, me, status="ok", now=AFTER)
        store.close()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(claims) == {n: 1 for n in ("viewers", "bj_viewers", "in_beijing", "in_shanghai", "in_chengdu",
                                              "in_shenzhen")}


@pytest.mark.postgres
def test_three_worker_processes_refresh_each_due_segment_once(pg_url: str, tmp_path: Path) -> None:
    ws = scheduled_shop(tmp_path / "shop", tmp_path, state=pg_url)
    apply(ws, refresh=False, as_of=APPLIED)
    root = ws.root
    ws.close()
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    procs = [subprocess.Popen([sys.executable, "-m", "segflow.cli.app", "worker", "--once", "--project", str(root),
                               "--now", AFTER.isoformat(), "--name", f"w{i}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    store = StateStore.open(pg_url)
    runs = list_runs(store, kind="segment", limit=None)
    store.close()
    assert Counter(r.name for r in runs) == {n: 1 for n in ("viewers", "bj_viewers", "in_beijing", "in_shanghai",
                                                           "in_chengdu", "in_shenzhen")}
    assert {r.trigger for r in runs} == {"schedule"} and {r.status for r in runs} == {"ok"}
    by_name = {r.name: r for r in runs}
    assert by_name["viewers"].finished_at <= by_name["bj_viewers"].started_at


def test_an_interrupted_worker_leaves_the_refresh_due_for_another(shop: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import segflow.scheduler.worker as mod

    apply(shop, refresh=False, as_of=APPLIED)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "run_claim", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_worker(shop, once=True, worker="w1", clock=lambda: AFTER)
    assert all(s.lease_owner is None for s in list_schedules(shop.state))
    monkeypatch.undo()
    summary = run_worker(shop, once=True, worker="w2", clock=lambda: AFTER)
    assert len(summary.results) == 6 and summary.failed == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=180)


def test_a_pinned_clock_later_than_the_wall_clock_is_refused_and_moves_no_schedule(shop: Workspace) -> None:
    from segflow.clock import now
    from segflow.errors import ClockError

    apply(shop, refresh=False, as_of=APPLIED)
    before = list_schedules(shop.state)
    future = now() + timedelta(days=2)
    with pytest.raises(ClockError) as info:
        run_worker(shop, once=True, worker="w", clock=lambda: future)
    assert info.value.code == "future_clock"
    assert info.value.message.startswith(f"the pinned time {future.isoformat()} is later than the wall clock (")
    assert list_schedules(shop.state) == before
    assert list_runs(shop.state, kind="segment", limit=None) == []
    # The same through the command line: refused, with the opt-in as the hint; nothing moved.
    root = shop.root
    shop.close()
    refused = _cli("worker", "--once", "--project", str(root), "--now", future.isoformat())
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"Error: the pinned time {future.isoformat()} is later than the wall clock")
    assert "Hint: pass --allow-future" in refused.stderr
    assert list_schedules(shop.state) == before


def test_allow_future_runs_as_of_the_pinned_time_and_moves_the_schedules_past_it(shop: Workspace) -> None:
    from segflow.clock import now

    apply(shop, refresh=False, as_of=APPLIED)
    future = now() + timedelta(days=2)
    summary = run_worker(shop, once=True, worker="w", clock=lambda: future, allow_future=True)
    assert len(summary.results) == 6 and summary.failed == 0
    assert all(r.as_of == future for r in summary.results)
    assert all(s.next_run_at > future for s in list_schedules(shop.state))
    # The command line's opt-in reaches the service (nothing is due any more: exit 0, no refresh).
    root = shop.root
    shop.close()
    later = _cli("worker", "--once", "--project", str(root), "--now", future.isoformat(), "--allow-future")
    assert later.returncode == 0, later.stderr
    assert "0 refresh(es)" in later.stderr
