"""Lifetime value on a project (segflow.models.clv): CDNOW's transactions loaded as files
give the published fit, the traits equal the fitted models' predictions, and the command
prints the documented JSON. The numerical core is tested in test_lifetime.py."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import segflow
from segflow.errors import ModelError
from segflow.models.clv import ClvSettings, load_clv_config, run_clv
from segflow.models.lifetime import clv, fit_bgnbd, fit_gamma_gamma, rfm_summary_sql
from segflow.traits.store import owned_columns

from .test_lifetime import CDNOW_END, PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, cdnow_transactions


@pytest.fixture(scope="module")
def cdnow_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cdnow")
    orders = cdnow_transactions()
    orders["ts"] = orders["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    orders.to_csv(root / "orders.csv", index=False)
    ids = sorted(set(orders["profile_id"]) | {"never_bought"})
    (root / "profiles.csv").write_text("profile_id\n" + "".join(f"{p}\n" for p in ids))
    ws = segflow.init(root / "proj", timezone="UTC")
    for kind in ("profiles", "orders"):
        assert ws.load(kind, [root / f"{kind}.csv"])[0].rejected == 0
    ws.close()
    return root / "proj"


def test_the_project_fit_is_the_published_one_and_the_traits_its_predictions(cdnow_project: Path) -> None:
    ws = segflow.open(cdnow_project)
    try:
        result = run_clv(ws, as_of=CDNOW_END, settings=ClvSettings(time_unit="weeks", horizon=12))
        assert result.customers == 2357
        for name, (value, tolerance) in PUBLISHED_BGNBD.items():
            assert result.bgnbd[name] == pytest.approx(value, abs=tolerance), name
        for name, (value, tolerance) in PUBLISHED_GAMMA_GAMMA.items():
            assert result.gamma_gamma[name] == pytest.approx(value, abs=tolerance), name

        summary = ws.warehouse.execute(
            f"SELECT * FROM ({rfm_summary_sql(CDNOW_END, time_unit='weeks')}) ORDER BY profile_id").df()
        x, tx, age, m = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
        bg, gg = fit_bgnbd(x, tx, age), fit_gamma_gamma(x, m)
        rows = ws.warehouse.execute(
            "SELECT profile_id, p_alive, expected_orders, expected_order_value, clv FROM traits "
            "WHERE p_alive IS NOT NULL ORDER BY profile_id").df()
        assert list(rows.profile_id) == list(summary.profile_id)
        np.testing.assert_allclose(rows.p_alive, bg.p_alive(x, tx, age), rtol=1e-9)
        np.testing.assert_allclose(rows.expected_orders, bg.expected_purchases(12 * 4.345, x, tx, age), rtol=1e-9)
        np.testing.assert_allclose(rows.expected_order_value, gg.expected_order_value(x, m), rtol=1e-9)
        np.testing.assert_allclose(rows.clv, clv(bg, gg, x, tx, age, m, horizon=12, step=4.345), rtol=1e-9)
        never = ws.warehouse.rows("SELECT p_alive, clv FROM traits WHERE profile_id = 'never_bought'")
        assert never == [(None, None)]
        state = owned_columns(ws.warehouse, "model:clv")
        assert sorted(state) == ["clv", "expected_order_value", "expected_orders", "p_alive"]
        assert all(row["as_of"] == CDNOW_END and row["non_null"] == 2357 for row in state.values())
    finally:
        ws.close()


def test_no_orders_before_as_of_is_an_error_that_writes_nothing(cdnow_project: Path) -> None:
    ws = segflow.open(cdnow_project)
    try:
        run_clv(ws, as_of=CDNOW_END)
        before = ws.warehouse.rows("SELECT profile_id, clv FROM traits ORDER BY 1")
        with pytest.raises(ModelError, match="no paid orders up to 1990-01-01"):
            run_clv(ws, as_of=datetime(1990, 1, 1, tzinfo=UTC))
        assert ws.warehouse.rows("SELECT profile_id, clv FROM traits ORDER BY 1") == before
        with pytest.raises(ModelError, match="time_unit: Input should be 'days' or 'weeks'"):
            load_clv_config(overrides={"time_unit": "months"})
    finally:
        ws.close()


def test_the_command_prints_the_documented_json(cdnow_project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "clv", "-p", str(cdnow_project),
                           "--as-of", "1997-09-30", "--time-unit", "weeks", "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["customers"] == 2357
    assert set(summary["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(summary["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert summary["bgnbd"]["r"] == pytest.approx(0.243, abs=0.0005)
    assert summary["settings"]["step"] == 4.345
    chart = cdnow_project / "clv.html"
    table = subprocess.run([sys.executable, "-m", "segflow.cli.app", "model", "clv", "-p", str(cdnow_project),
                            "--as-of", "1997-09-30", "--time-unit", "weeks", "--chart", str(chart)],
                           capture_output=True, text=True, check=False)
    assert table.returncode == 0, table.stderr
    assert "BG/NBD" in table.stdout and "expected_order_value" in table.stdout
    page = chart.read_text()
    assert "vega" in page and "Lifetime value of 2,357 customers" in page
    assert sum(summary["histograms"]["clv"]["counts"]) == 2357


def test_settings_come_from_the_project_folder_and_flags_win(cdnow_project: Path) -> None:
    file = cdnow_project / "models" / "clv.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text("model: clv\ntime_unit: weeks\nhorizon: 6\nschedule: '0 3 * * *'\n")
    try:
        settings, shown = load_clv_config(root=cdnow_project)
        assert (settings.time_unit, settings.horizon, settings.period, shown) == ("weeks", 6, 4.345, str(file))
        settings, _ = load_clv_config(root=cdnow_project, overrides={"horizon": 3, "time_unit": None})
        assert (settings.time_unit, settings.horizon) == ("weeks", 3)
        assert settings.fingerprint() != ClvSettings(time_unit="weeks", horizon=6).fingerprint()
        file.write_text("horizon: 0\n")
        with pytest.raises(ModelError, match=r"clv.yaml: horizon: Input should be greater than or equal to 1"):
            load_clv_config(root=cdnow_project)
        file.write_text("horizon: [1,\n")
        with pytest.raises(ModelError, match=r"clv.yaml: not valid YAML \(line 1, column 13\)"):
            load_clv_config(root=cdnow_project)
    finally:
        file.unlink()
