"""Lifecycle stages: a scripted customer history day by day, first match wins, the history
(idempotent, earlier days inserted), the migration matrix, the range equal to daily runs,
config errors that write nothing, the command, and the default stages against a Python
oracle (hypothesis).

The scripted shop is in UTC and its orders are at 12:00, so "within 30 days" as of the end
of day D (23:59:59.999999) holds for an order on days D-29 .. D: a first order on Jan 10
makes the customer new from Jan 10 to Feb 8, active from Feb 9, at risk from Apr 10 (90 days
later) and dormant from Jul 9 (180 days later).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.errors import ModelError
from segflow.models.lifecycle import (
    LifecycleConfig,
    end_of_day,
    lifecycle_changes,
    lifecycle_range,
    load_lifecycle_config,
    run_lifecycle,
)
from segflow.traits.store import owned_columns
from segflow.workspace import Workspace

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
START, END = date(2025, 1, 1), date(2025, 9, 30)


def noon(d: date, extra: timedelta = timedelta()) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=UTC) + extra


def eod(d: date) -> datetime:
    return end_of_day(d, "UTC")


#: profile → (created_at, orders as (ts, status)).
CUSTOMERS: dict[str, tuple[datetime, list[tuple[datetime, str]]]] = {
    # one order, gone for 203 days, back: reactivated for 30 days, then active again
    "ann": (datetime(2025, 1, 1, tzinfo=UTC), [(noon(date(2025, 1, 10)), "paid"), (noon(date(2025, 8, 1)), "paid")]),
    # three orders in two months: loyal from the third, then at risk and dormant
    "bob": (datetime(2025, 1, 1, tzinfo=UTC), [(noon(date(2025, 1, 10)), "paid"), (noon(date(2025, 2, 1)), "paid"),
                                              (noon(date(2025, 3, 1)), "paid")]),
    # signs up on Mar 1 and never buys: no stage before (not a profile yet), prospect after
    "cy": (datetime(2025, 3, 1, tzinfo=UTC), []),
    # only a refunded order: still a prospect
    "dee": (datetime(2025, 1, 1, tzinfo=UTC), [(noon(date(2025, 2, 1)), "refunded")]),
    # back after exactly 180 days: not "more than 180", so active, not reactivated
    "eve": (datetime(2025, 1, 1, tzinfo=UTC), [(noon(date(2025, 1, 10)), "paid"), (noon(date(2025, 7, 9)), "paid")]),
    # back after 180 days and a second: reactivated
    "fay": (datetime(2025, 1, 1, tzinfo=UTC), [(noon(date(2025, 1, 10)), "paid"),
                                              (noon(date(2025, 7, 9), SECOND), "paid")]),
}

#: profile → [(first day, stage)], by hand from the rules (see the module docstring).
EXPECTED: dict[str, list[tuple[date, str]]] = {
    "ann": [(date(2025, 1, 1), "prospect"), (date(2025, 1, 10), "new"), (date(2025, 2, 9), "active"),
            (date(2025, 4, 10), "at_risk"), (date(2025, 7, 9), "dormant"), (date(2025, 8, 1), "reactivated"),
            (date(2025, 8, 31), "active")],
    "bob": [(date(2025, 1, 1), "prospect"), (date(2025, 1, 10), "new"), (date(2025, 2, 9), "active"),
            (date(2025, 3, 1), "loyal"), (date(2025, 5, 30), "at_risk"), (date(2025, 8, 28), "dormant")],
    "cy": [(date(2025, 3, 1), "prospect")],
    "dee": [(date(2025, 1, 1), "prospect")],
    "eve": [(date(2025, 1, 1), "prospect"), (date(2025, 1, 10), "new"), (date(2025, 2, 9), "active"),
            (date(2025, 4, 10), "at_risk"), (date(2025, 7, 9), "active")],
    "fay": [(date(2025, 1, 1), "prospect"), (date(2025, 1, 10), "new"), (date(2025, 2, 9), "active"),
            (date(2025, 4, 10), "at_risk"), (date(2025, 7, 9), "reactivated"), (date(2025, 8, 8), "active")],
}


def expected_on(profile: str, day: date) -> str | None:
    stage = None
    for first, name in EXPECTED[profile]:
        if first <= day:
            stage = name
    return stage


def load(ws: Workspace, folder: Path, customers: dict[str, tuple[datetime, list[tuple[datetime, str]]]]) -> None:
    """Load *customers* as a profiles and an orders CSV file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.csv").write_text("profile_id,created_at\n" + "".join(
        f"{p},{created.isoformat()}\n" for p, (created, _) in customers.items()))
    rows = [(p, ts, status) for p, (_, orders) in customers.items() for ts, status in orders]
    (folder / "orders.csv").write_text("order_id,profile_id,ts,amount,status\n" + "".join(
        f"o{i},{p},{ts.isoformat()},100,{status}\n" for i, (p, ts, status) in enumerate(rows)))
    for kind in ("profiles", "orders"):
        assert ws.load(kind, [folder / f"{kind}.csv"])[0].rejected == 0


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "proj", timezone="UTC")
    load(ws, tmp_path / "files", CUSTOMERS)
    yield ws
    ws.close()


def stages_of(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    return {r[0]: tuple(r[1:]) for r in ws.warehouse.rows(
        "SELECT profile_id, lifecycle_stage, lifecycle_since FROM traits ORDER BY 1")}


def history(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.warehouse.rows("SELECT profile_id, day, previous_stage, stage FROM lifecycle_history "
                             "ORDER BY profile_id, day")


def expected_history(upto: date = END) -> list[tuple[Any, ...]]:
    rows = []
    for p, steps in sorted(EXPECTED.items()):
        previous = None
        for first, stage in steps:
            if first <= upto:
                rows.append((p, first, previous, stage))
                previous = stage
    return rows


# -- the scripted history ------------------------------------------------------------------------

CHECKPOINTS = sorted({first for steps in EXPECTED.values() for first, _ in steps}
                     | {first - DAY for steps in EXPECTED.values() for first, _ in steps if first > START} | {END})


def test_the_scripted_customers_pass_through_their_stages_day_by_day(shop: Workspace) -> None:
    """Daily runs on every day a stage changes (and the day before it): each profile's
    stage, when it entered it, and one history row per change."""
    for day in CHECKPOINTS:
        result = run_lifecycle(shop, as_of=eod(day))
        got = stages_of(shop)
        for p in CUSTOMERS:
            assert got[p][0] == expected_on(p, day), (p, day)
        assert result.day == day
        assert sum(result.stages.values()) == result.profiles == sum(1 for p in CUSTOMERS if expected_on(p, day))
        assert result.unclassified == 0
    assert history(shop) == expected_history()
    # lifecycle_since: the end of the day the current stage was entered
    since = {p: s for p, (_, s) in stages_of(shop).items()}
    assert since["bob"] == eod(date(2025, 8, 28)) and since["ann"] == eod(date(2025, 8, 31))
    assert since["dee"] == eod(START)
    state = owned_columns(shop.warehouse, "model:lifecycle")
    assert sorted(state) == ["lifecycle_since", "lifecycle_stage"] and state["lifecycle_stage"]["as_of"] == eod(END)


def test_rules_read_the_stage(shop: Workspace) -> None:
    from segflow.segments.preview import member_ids

    run_lifecycle(shop, as_of=eod(date(2025, 7, 20)))
    assert member_ids(shop, {"trait": "lifecycle_stage", "eq": "reactivated"}, as_of=eod(date(2025, 7, 20))).ids \
        == ["fay"]
    assert shop.warehouse.columns("traits")["lifecycle_since"] == "TIMESTAMP WITH TIME ZONE"


def test_first_match_wins(shop: Workspace) -> None:
    """bob is loyal and active on Mar 1: the earlier stage in the list wins. Put active first
    and he is active; a profile that matches no stage is unclassified (NULL), never the last stage."""
    day = eod(date(2025, 3, 1))
    assert run_lifecycle(shop, as_of=day).stages["loyal"] == 1
    stages = list(LifecycleConfig().stages)
    loyal = next(s for s in stages if s.name == "loyal")
    stages.remove(loyal)
    stages.insert(stages.index(next(s for s in stages if s.name == "active")) + 1, loyal)
    result = run_lifecycle(shop, as_of=day, config=LifecycleConfig(stages=tuple(stages)))
    assert stages_of(shop)["bob"][0] == "active" and result.stages["loyal"] == 0
    only_buyers = LifecycleConfig.model_validate({"stages": [
        {"name": "buyer", "rule": {"orders": {}}}, {"name": "big_buyer", "rule": {"orders": {"count": {"gte": 2}}}}]})
    result = run_lifecycle(shop, as_of=day, config=only_buyers)
    assert result.stages == {"buyer": 4, "big_buyer": 0}  # every buyer matched the first stage
    assert result.unclassified == 2 and stages_of(shop)["cy"] == (None, None)


def test_history_is_idempotent_per_day_and_the_first_run_enters_everyone(shop: Workspace) -> None:
    first = run_lifecycle(shop, as_of=eod(date(2025, 5, 1)))
    assert first.first_day and first.changes == 6 and all(t["from"] is None for t in first.transitions)
    before = history(shop)
    again = run_lifecycle(shop, as_of=datetime(2025, 5, 1, 8, tzinfo=UTC))  # the same day, earlier in it
    assert again.first_day and history(shop) == before
    assert shop.warehouse.count("SELECT count(*) FROM lifecycle_days") == 1
    later = run_lifecycle(shop, as_of=eod(date(2025, 6, 1)))
    assert not later.first_day
    assert later.transitions == [{"from": "loyal", "to": "at_risk", "profiles": 1}]
    assert later.entered["at_risk"] == 1 and later.changes == 1


def test_an_earlier_day_after_a_later_one_is_inserted(shop: Workspace) -> None:
    """Sep 30 first, then Jun 1: Jun 1's rows are relative to nothing before it, Sep 30's are
    rewritten relative to Jun 1, and each day reads back as it was evaluated."""
    run_lifecycle(shop, as_of=eod(date(2025, 9, 30)))
    run_lifecycle(shop, as_of=eod(date(2025, 6, 1)))
    jun = {p: expected_on(p, date(2025, 6, 1)) for p in CUSTOMERS}
    sep = {p: expected_on(p, date(2025, 9, 30)) for p in CUSTOMERS}
    rows = history(shop)
    assert [r for r in rows if r[1] == date(2025, 6, 1)] == [(p, date(2025, 6, 1), None, s) for p, s in sorted(jun.items())]
    assert [r for r in rows if r[1] == date(2025, 9, 30)] == [
        (p, date(2025, 9, 30), jun[p], sep[p]) for p in sorted(CUSTOMERS) if jun[p] != sep[p]]
    # re-running the later day changes nothing
    run_lifecycle(shop, as_of=eod(date(2025, 9, 30)))
    assert history(shop) == rows
    # the "entered" changes since Sep 1: what a journey starts on
    entered = lifecycle_changes(shop, since=eod(date(2025, 9, 1)), stage="dormant").to_pylist()
    assert [(r["profile_id"], r["previous_stage"], r["day"]) for r in entered] == [("bob", "at_risk", date(2025, 9, 30))]
    assert lifecycle_changes(shop, stage="reactivated").num_rows == 0


def test_the_range_backfills_the_history_every_day_and_matches_daily_runs(shop: Workspace) -> None:
    calls: list[tuple[int, int, date]] = []
    result = lifecycle_range(shop, START, END, backfill=True, progress=lambda *a: calls.append(a))
    assert len(result.days) == (END - START).days + 1 == len(calls) and calls[-1] == (len(calls), len(calls), END)
    assert history(shop) == expected_history()
    for d in result.days:
        want: dict[str, int] = {}
        for p in CUSTOMERS:
            stage = expected_on(p, d["day"])
            if stage:
                want[stage] = want.get(stage, 0) + 1
        assert {s: n for s, n in d["stages"].items() if n} == want, d["day"]
        assert d["as_of"] == eod(d["day"])
    # each day of the range is what a run as of that day's end gives
    for d in result.days[::40]:
        assert run_lifecycle(shop, as_of=d["as_of"]).stages == d["stages"]
    # and lifecycle_since after a backfill is the day the stage was entered
    run_lifecycle(shop, as_of=eod(END))
    assert stages_of(shop)["bob"] == ("dormant", eod(date(2025, 8, 28)))


def test_the_migration_matrix(shop: Workspace) -> None:
    result = lifecycle_range(shop, date(2025, 2, 20), date(2025, 9, 30))
    rows = result.matrix["rows"]
    assert result.matrix["from"] == date(2025, 2, 20) and result.matrix["to"] == END
    nonzero = {(a, b): n for a, cells in rows.items() for b, n in cells.items() if n}
    # Feb 20: ann, eve, fay active; bob active (two orders); dee prospect; cy not a profile yet
    assert nonzero == {("active", "active"): 3, ("active", "dormant"): 1, ("prospect", "prospect"): 1,
                       ("absent", "prospect"): 1}
    assert list(rows) == [*LifecycleConfig().names, "absent"]
    assert sum(sum(c.values()) for c in rows.values()) == result.days[-1]["profiles"]
    # read-only: nothing was written
    assert not shop.warehouse.table_exists("lifecycle_history")
    assert "lifecycle_stage" not in shop.warehouse.columns("traits")


def test_a_range_must_be_in_order_and_not_in_the_future(shop: Workspace) -> None:
    with pytest.raises(ModelError, match="starts on 2025-03-01 after it ends on 2025-02-01"):
        lifecycle_range(shop, date(2025, 3, 1), date(2025, 2, 1))
    with pytest.raises(ModelError, match="after today"):
        lifecycle_range(shop, date(2025, 3, 1), date(2999, 1, 1))


# -- config errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("stages:\n  - {name: a, rule: {attr: cty, eq: x}}\n",
     "cfg.yaml: stages[0].rule.attr: unknown attribute 'cty' of profiles (did you mean 'city'?)"),
    ("stages:\n  - {name: a, rule: {orders: {}}}\n  - {name: b, rule: {trait: nope, eq: 1}}\n",
     "cfg.yaml: stages[1].rule.trait: unknown trait 'nope'"),
    ("stages:\n  - {name: a, rule: {all: [{orders: {count: {gte: many}}}, {attr: cty, eq: 1}]}}\n",
     "cfg.yaml: stages[0].rule.all[0].orders.count.gte: count of the orders is integer, so 'many' does not fit "
     "(and 1 more)"),
    ("stages:\n  - {name: a, rule: {any: []}}\n", "cfg.yaml: stages[0].rule.any: "),
])
def test_a_stage_rule_that_fails_the_checks_names_the_file_and_rule_path_and_writes_nothing(
        shop: Workspace, tmp_path: Path, text: str, message: str) -> None:
    run_lifecycle(shop, as_of=eod(date(2025, 5, 1)))
    before = (stages_of(shop), history(shop))
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    config, file = load_lifecycle_config(path)
    with pytest.raises(ModelError) as info:
        run_lifecycle(shop, as_of=eod(date(2025, 6, 1)), config=config, file=file)
    assert str(info.value).startswith(str(tmp_path / message)) and "\n" not in str(info.value)
    assert (stages_of(shop), history(shop)) == before
    with pytest.raises(ModelError):
        lifecycle_range(shop, date(2025, 6, 1), date(2025, 6, 2), config=config, file=file, backfill=True)
    assert (stages_of(shop), history(shop)) == before


def test_a_stage_cannot_read_the_models_own_output(shop: Workspace) -> None:
    run_lifecycle(shop, as_of=eod(date(2025, 5, 1)))
    config = LifecycleConfig.model_validate({"stages": [{"name": "a", "rule": {"trait": "lifecycle_stage",
                                                                                 "eq": "loyal"}}]})
    with pytest.raises(ModelError, match=r"^lifecycle config: stages\[0\].rule.trait: reads lifecycle_stage"):
        run_lifecycle(shop, as_of=eod(date(2025, 6, 1)), config=config)


@pytest.mark.parametrize(("text", "message"), [
    ("stages:\n  - {name: a, rule: {orders: {}}, colour: red}\n",
     "cfg.yaml: stages[0].colour: Extra inputs are not permitted"),
    ("stage: []\n", "cfg.yaml: stage: Extra inputs are not permitted"),
    ("stages:\n  - {name: a, rule: {orders: {}}}\n  - {name: b, rule: {orders: {}}}\n  - {name: a, rule: {}}\n",
     "cfg.yaml: stages[2].name: 'a' is also the name of stages[0]"),
    ("stages:\n  - {name: Active, rule: {orders: {}}}\n", "cfg.yaml: stages[0].name: 'Active' is not a stage name"),
    ("stages:\n  - {name: unclassified, rule: {orders: {}}}\n", "cfg.yaml: stages[0].name: 'unclassified' is reserved"),
    ("stages:\n  - {name: a}\n", "cfg.yaml: stages[0]: stage 'a' needs a rule (or returned:)"),
    ("stages:\n  - {name: a, returned: {after: 6 months}}\n",
     "cfg.yaml: stages[0].returned.after: '6 months' is not a duration"),
    ("stages: []\n", "cfg.yaml: stages: give at least one stage"),
    ("- 1\n", "cfg.yaml: expected a mapping of settings, got list"),
    ("model: rfm\n", "cfg.yaml: model: this is a config of 'rfm', not of lifecycle"),
])
def test_a_bad_config_is_one_line_naming_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as info:
        load_lifecycle_config(path)
    assert str(info.value).startswith(str(tmp_path / message)) and "\n" not in str(info.value)


def test_the_config_from_the_project_folder(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "lifecycle.yaml").write_text(
        "model: lifecycle\nstages:\n  - {name: buyer, label_zh: 买家, rule: {orders: {}}}\n"
        "  - {name: rest, rule: {all: []}}\n")
    config, file = load_lifecycle_config(root=tmp_path)
    assert config.names == ["buyer", "rest"] and file == str(tmp_path / "models" / "lifecycle.yaml")
    assert config.labels() == {"buyer": {"en": "buyer", "zh": "买家"}, "rest": {"en": "rest", "zh": "rest"}}
    assert load_lifecycle_config(root=tmp_path / "nowhere") == (LifecycleConfig(), None)
    assert LifecycleConfig().names == ["prospect", "new", "reactivated", "loyal", "active", "at_risk", "dormant"]


# -- the command ---------------------------------------------------------------------------------

def test_the_command(shop: Workspace) -> None:
    root = shop.root
    shop.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "lifecycle", "-p", str(root), *args],
                              capture_output=True, text=True, check=False)

    proc = cli("--as-of", eod(date(2025, 7, 20)).isoformat(), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["stages"]["reactivated"] == 1 and summary["day"] == "2025-07-20" and summary["first_day"]
    proc = cli("--as-of", eod(date(2025, 7, 21)).isoformat(), "--chart", str(root / "day.png"))
    assert proc.returncode == 0, proc.stderr
    assert "召回用户" in proc.stdout and "lifecycle_stage" in proc.stdout
    assert (root / "day.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = cli("--from", "2025-07-01", "--to", "2025-07-31", "--chart", str(root / "range.html"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert len(summary["days"]) == 31 and summary["matrix"]["rows"]["at_risk"]["reactivated"] == 1
    assert "Lifecycle stages per day" in (root / "range.html").read_text()
    proc = cli("--from", "2025-07-01", "--to", "2025-07-03")
    assert proc.returncode == 0, proc.stderr
    assert "migration" in proc.stdout and "read-only" in proc.stdout
    proc = cli("--from", "2025-07-01")
    assert proc.returncode != 0 and "give both --from and --to" in proc.stderr
    bad = root / "bad.yaml"
    bad.write_text("stages:\n  - {name: a, rule: {attr: cty, eq: x}}\n")
    proc = cli("--config", str(bad))
    assert proc.returncode != 0 and f"{bad}: stages[0].rule.attr: unknown attribute 'cty'" in proc.stderr


# -- the default stages against a Python oracle ------------------------------------------------

def oracle(created: dict[str, datetime | None], orders: list[tuple[str, datetime, str]],
           t: datetime) -> dict[str, str | None]:
    """The default stages, row by row: first match wins."""
    out: dict[str, str | None] = {}
    for p, c in created.items():
        if c is not None and c > t:
            out[p] = None
            continue
        paid = sorted(ts for q, ts, status in orders if q == p and status == "paid" and ts <= t)
        returned = any(r > t - 30 * DAY and r - paid[i - 1] > 180 * DAY for i, r in enumerate(paid) if i)
        if not paid:
            out[p] = "prospect"
        elif paid[0] > t - 30 * DAY:
            out[p] = "new"
        elif returned:
            out[p] = "reactivated"
        elif sum(1 for ts in paid if ts > t - 365 * DAY) >= 3 and paid[-1] > t - 90 * DAY:
            out[p] = "loyal"
        elif paid[-1] > t - 90 * DAY:
            out[p] = "active"
        elif paid[-1] > t - 180 * DAY:
            out[p] = "at_risk"
        else:
            out[p] = "dormant"
    return out


T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
_PIDS = [f"c{i}" for i in range(6)]
_BOUNDS = [d * 86400 + s for d in (-30, -90, -180, -365) for s in (-1, 0, 1)]
_offset = st.one_of(st.integers(-500 * 86400, 2 * 86400), st.sampled_from(_BOUNDS))
#: a single order, or an order and another one a gap of about 180 days later
_orders = st.one_of(
    st.tuples(st.sampled_from(_PIDS), _offset, st.sampled_from(["paid", "paid", "refunded"])).map(lambda o: [o]),
    st.tuples(st.sampled_from(_PIDS), _offset, st.sampled_from([-1, 0, 1, 86400])).map(
        lambda g: [(g[0], g[1], "paid"), (g[0], g[1] + 180 * 86400 + g[2], "paid")]),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path_factory.mktemp("lifecycle") / "proj")
    ws.warehouse.executemany("INSERT INTO profiles (profile_id, created_at) VALUES (?, ?)", [[p, None] for p in _PIDS])
    yield ws
    ws.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.lists(_orders, max_size=12), days=st.integers(-40, 200),
       created_after=st.sets(st.sampled_from(_PIDS), max_size=2))
def test_the_default_stages_match_the_oracle(scratch: Workspace, groups: list[list[Any]], days: int,
                                             created_after: set[str]) -> None:
    t = T0 + days * DAY
    rows = [(p, T0 + timedelta(seconds=s), status) for group in groups for p, s, status in group]
    created = {p: (t + DAY if p in created_after else None) for p in _PIDS}
    wh = scratch.warehouse
    wh.execute("DELETE FROM orders")
    wh.executemany("UPDATE profiles SET created_at = ? WHERE profile_id = ?", [[c, p] for p, c in created.items()])
    if rows:
        wh.executemany("INSERT INTO orders (order_id, profile_id, ts, amount, status) VALUES (?, ?, ?, 1, ?)",
                       [[f"o{i}", p, ts, status] for i, (p, ts, status) in enumerate(rows)])
    run_lifecycle(scratch, as_of=t)
    got = dict(wh.rows("SELECT profile_id, lifecycle_stage FROM traits"))
    assert got == oracle(created, rows, t)
