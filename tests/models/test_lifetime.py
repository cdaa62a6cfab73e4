"""Customer lifetime value (segflow.models.lifetime): the summary, BG/NBD, Gamma-Gamma, CLV.

* the summary SQL against the plain-Python reference (hypothesis), on DuckDB in memory,
  and on CDNOW's transactions against the summary published with the paper;
* the fits against the published CDNOW estimates and against ``lifetimes`` (0.11.3,
  the reference implementation: parameters and predictions);
* recovery of known parameters from data simulated from each model, within a few
  standard errors (from the observed information at the estimate);
* the edge cases: no repeat buyer, no customer, inconsistent input, no convergence.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad

from segflow.errors import ModelError, SegflowError
from segflow.models.lifetime import (
    BGNBDFit,
    GammaGammaFit,
    _bgnbd_objective,
    _gamma_gamma_objective,
    _Grouped,
    _Spend,
    clv,
    fit_bgnbd,
    fit_gamma_gamma,
    rfm_summary_sql,
    summary_from_transactions,
)
from segflow.models.simulate import simulate_bgnbd, simulate_gamma_gamma

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources and old pandas names
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

COLUMNS = ["frequency", "recency", "T", "monetary_value"]
CDNOW_END = datetime(1997, 9, 30, tzinfo=UTC)  # end of the 39-week calibration period


# -- helpers --------------------------------------------------------------------------


def orders_table(con: duckdb.DuckDBPyConnection, orders: pd.DataFrame) -> None:
    """(Re)create ``orders`` with the warehouse's column types from a DataFrame."""
    con.register("orders_input", orders)
    con.execute("CREATE OR REPLACE TABLE orders AS SELECT CAST(order_id AS VARCHAR) AS order_id, "
                "CAST(profile_id AS VARCHAR) AS profile_id, CAST(ts AS TIMESTAMPTZ) AS ts, "
                "CAST(amount AS DECIMAL(18,4)) AS amount, CAST(status AS VARCHAR) AS status FROM orders_input")
    con.unregister("orders_input")


def run_summary(con: duckdb.DuckDBPyConnection, as_of: datetime, **options: str) -> pd.DataFrame:
    frame = con.execute(rfm_summary_sql(as_of, **options)).df()
    return frame.set_index("profile_id").sort_index()[COLUMNS]


def cdnow_transactions() -> pd.DataFrame:
    """CDNOW_sample.txt as shipped with lifetimes: master id, sample id (1..2357), yyyymmdd,
    CDs bought, dollars; one row per order, all paid."""
    text = (files("lifetimes") / "datasets" / "CDNOW_sample.txt").read_text()
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return pd.DataFrame({
        "order_id": [str(i) for i in range(len(rows))],
        "profile_id": [str(int(r[1])) for r in rows],
        "ts": pd.to_datetime([r[2] for r in rows], format="%Y%m%d").tz_localize("UTC"),
        "amount": [r[4] for r in rows],
        "status": "paid",
    })


def standard_errors(objective, theta: np.ndarray, n: float) -> np.ndarray:
    """Standard errors of the log-parameters: the inverse observed information, the Hessian
    of the total negative log-likelihood by central differences of its analytic gradient."""
    h = 1e-5
    hessian = np.empty((theta.size, theta.size))
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = h
        hessian[i] = (objective(theta + step)[1] - objective(theta - step)[1]) / (2 * h) * n
    return np.sqrt(np.diag(np.linalg.inv((hessian + hessian.T) / 2)))


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW summary published with the paper (recency, T, monetary value to 2 decimals)."""
    return load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def cdnow_fits(cdnow: pd.DataFrame) -> tuple[BGNBDFit, GammaGammaFit]:
    return fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow["T"]), fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)


@pytest.fixture(scope="module")
def lifetimes_fits(cdnow: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"])
        repeat = cdnow[cdnow.frequency > 0]
        gg = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    return bg, gg


# -- 1. the summary -------------------------------------------------------------------


def test_summary_of_one_customer_by_hand(con) -> None:
    day = datetime(2026, 3, 1, 10, tzinfo=UTC)
    orders = pd.DataFrame([
        ("o1", "ann", day, "10", "paid"),
        ("o2", "ann", day + timedelta(hours=5), "5", "paid"),          # same day: one purchase of 15
        ("o3", "ann", day + timedelta(days=7), "20", None),             # no status is paid
        ("o4", "ann", day + timedelta(days=14), "99", "refunded"),
        ("o5", "ann", day + timedelta(days=14), "99", "cancelled"),
        ("o6", "ann", day + timedelta(days=21), "40", "paid"),
        ("o7", "ann", day + timedelta(days=28, hours=1), "70", "paid"),  # after as_of
        ("o8", "bob", day + timedelta(days=3), "8", "paid"),
        ("o9", "cat", day, "8", "returned"),                            # no paid order: no row
    ], columns=["order_id", "profile_id", "ts", "amount", "status"])
    orders_table(con, orders)
    as_of = day + timedelta(days=28)
    got = run_summary(con, as_of, time_unit="days")
    assert got.to_dict("index") == {
        "ann": {"frequency": 2, "recency": 21.0, "T": 28.0, "monetary_value": 30.0},
        "bob": {"frequency": 0, "recency": 0.0, "T": 25.0, "monetary_value": 0.0},
    }
    weeks = run_summary(con, as_of, time_unit="weeks")
    assert weeks.loc["ann", "recency"] == 3.0 and weeks.loc["ann", "T"] == 4.0
    pd.testing.assert_frame_equal(got, summary_from_transactions(orders, as_of, "days"), check_dtype=False)


def test_summary_of_no_orders_is_empty(con) -> None:
    orders_table(con, pd.DataFrame({"order_id": ["o1"], "profile_id": ["ann"],
                                    "ts": [datetime(2026, 3, 2, tzinfo=UTC)], "amount": ["1"], "status": ["paid"]}))
    assert run_summary(con, datetime(2026, 3, 1, tzinfo=UTC)).empty


@pytest.mark.parametrize("bad, path", [({"time_unit": "months"}, "time_unit"), ({"timezone": "Mars/Olympus"}, "timezone")],
                         ids=["time-unit", "zone"])
def test_summary_refuses_unknown_options(bad: dict[str, str], path: str) -> None:
    with pytest.raises(ModelError) as caught:
        rfm_summary_sql(CDNOW_END, **bad)
    assert caught.value.code == "model" and caught.value.path == path


BASE = datetime(2026, 1, 1, tzinfo=UTC)
order_rows = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "p3", "p4"]),
        st.integers(0, 60 * 24 * 40),                                   # minutes after BASE
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
        st.sampled_from(["paid", "paid", "paid", "refunded", "returned", "cancelled", None]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=order_rows, as_of_minutes=st.integers(0, 60 * 24 * 45), time_unit=st.sampled_from(["days", "weeks"]),
       timezone=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]))
def test_summary_sql_matches_the_python_reference(con, rows, as_of_minutes: int, time_unit: str, timezone: str) -> None:
    orders = pd.DataFrame(
        [(f"o{i}", pid, BASE + timedelta(minutes=m), str(amount), status) for i, (pid, m, amount, status) in enumerate(rows)],
        columns=["order_id", "profile_id", "ts", "amount", "status"],
    ).astype({"ts": "datetime64[us, UTC]", "status": object})
    as_of = BASE + timedelta(minutes=as_of_minutes)
    orders_table(con, orders)
    got = run_summary(con, as_of, time_unit=time_unit, timezone=timezone)
    want = summary_from_transactions(orders, as_of, time_unit, timezone=timezone)
    assert list(got.index) == list(want.index)
    assert list(got.frequency) == list(want.frequency)
    assert list(got.recency) == list(want.recency) and list(got["T"]) == list(want["T"])
    assert list(got.monetary_value) == pytest.approx(list(want.monetary_value), rel=1e-12)


def test_cdnow_transactions_give_the_published_summary(con, cdnow: pd.DataFrame) -> None:
    orders_table(con, cdnow_transactions())
    got = run_summary(con, CDNOW_END, time_unit="weeks")
    got.index = got.index.astype(int)
    got = got.sort_index()
    assert list(got.index) == list(cdnow.index)
    assert (got.frequency.to_numpy() == cdnow.frequency.to_numpy()).all()
    for column in ("recency", "T", "monetary_value"):      # published rounded to 2 decimals
        assert np.abs(got[column].to_numpy() - cdnow[column].to_numpy()).max() <= 0.005 + 1e-9, column


# -- 2. CDNOW: the published estimates, and lifetimes ---------------------------------

#: Fader, Hardie & Lee (2005), "Counting your customers the easy way", and "RFM and CLV:
#: using iso-value curves": estimate, and half a unit of its last published digit.
PUBLISHED_BGNBD = {"r": (0.243, 0.0005), "alpha": (4.414, 0.0005), "a": (0.793, 0.0005), "b": (2.426, 0.0005),
                   "log_likelihood": (-9582.4, 0.05)}
PUBLISHED_GAMMA_GAMMA = {"p": (6.25, 0.005), "q": (3.74, 0.005), "gamma": (15.44, 0.005)}


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow_fits) -> None:
    fit = cdnow_fits[0].to_dict()
    assert fit["n"] == 2357
    for name, (value, tolerance) in PUBLISHED_BGNBD.items():
        assert fit[name] == pytest.approx(value, abs=tolerance), name


def test_gamma_gamma_reproduces_the_published_cdnow_fit(con, cdnow_fits) -> None:
    # The published summary's monetary values are rounded to cents, which moves γ by
    # 0.008 (15.448); the paper fitted the exact means, which our summary of CDNOW's
    # transactions gives: it must match to the published digit.
    assert cdnow_fits[1].n == 946
    orders_table(con, cdnow_transactions())
    summary = run_summary(con, CDNOW_END, time_unit="weeks")
    exact = fit_gamma_gamma(summary.frequency, summary.monetary_value).to_dict()
    rounded = cdnow_fits[1].to_dict()
    for name, (value, tolerance) in PUBLISHED_GAMMA_GAMMA.items():
        assert exact[name] == pytest.approx(value, abs=tolerance), name
        assert rounded[name] == pytest.approx(value, abs=2 * tolerance), name
    bgnbd = fit_bgnbd(summary.frequency, summary.recency, summary["T"]).to_dict()
    for name, (value, tolerance) in PUBLISHED_BGNBD.items():
        assert bgnbd[name] == pytest.approx(value, abs=tolerance), name


def test_fits_match_lifetimes(cdnow_fits, lifetimes_fits) -> None:
    ours_bg, ours_gg = cdnow_fits
    bg, gg = lifetimes_fits
    assert [ours_bg.r, ours_bg.alpha, ours_bg.a, ours_bg.b] == pytest.approx(list(bg.params_), rel=1e-5)
    assert [ours_gg.p, ours_gg.q, ours_gg.gamma] == pytest.approx(list(gg.params_), rel=1e-5)


def test_predictions_match_lifetimes(cdnow: pd.DataFrame, cdnow_fits, lifetimes_fits) -> None:
    ours_bg, ours_gg = cdnow_fits
    bg, gg = lifetimes_fits
    f, r, t, m = cdnow.frequency, cdnow.recency, cdnow["T"], cdnow.monetary_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_purchases = bg.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
        their_alive = bg.conditional_probability_alive(f, r, t)
        their_value = gg.conditional_expected_average_profit(f, m)
        their_clv = gg.customer_lifetime_value(bg, f, r, t, m, time=12, discount_rate=0.01, freq="W")
    assert ours_bg.expected_purchases(39, f, r, t) == pytest.approx(np.asarray(their_purchases), rel=1e-5)
    assert ours_bg.p_alive(f, r, t) == pytest.approx(np.asarray(their_alive), rel=1e-5)
    assert ours_gg.expected_order_value(f, m) == pytest.approx(np.asarray(their_value), rel=1e-6)
    ours_clv = clv(ours_bg, ours_gg, f, r, t, m, horizon=12, step=4.345, discount_rate=0.01)
    assert ours_clv == pytest.approx(np.asarray(their_clv), rel=1e-5)


def test_clv_without_discount_is_expected_purchases_times_order_value(cdnow: pd.DataFrame, cdnow_fits) -> None:
    bg, gg = cdnow_fits
    f, r, t, m = cdnow.frequency, cdnow.recency, cdnow["T"], cdnow.monetary_value
    value = clv(bg, gg, f, r, t, m, horizon=13, step=3.0)
    assert value == pytest.approx(bg.expected_purchases(39, f, r, t) * gg.expected_order_value(f, m), rel=1e-12)


# -- the gradients the optimiser is given ---------------------------------------------


@pytest.mark.parametrize("theta", [[0.24, 4.4, 0.79, 2.4], [1.0, 3.0, 2.0, 5.0]], ids=["cdnow", "elsewhere"])
def test_bgnbd_gradient_is_the_derivative_of_the_objective(cdnow: pd.DataFrame, theta: list[float]) -> None:
    x, tx, t = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    grouped = _Grouped.of(x, np.ones_like(x))

    def objective(th):
        return _bgnbd_objective(th, grouped, tx, t, 0.01)

    assert check_grad(lambda th: objective(th)[0], lambda th: objective(th)[1], np.log(theta)) < 1e-5


@pytest.mark.parametrize("theta", [[6.0, 3.7, 15.0], [1.0, 2.0, 3.0]], ids=["cdnow", "elsewhere"])
def test_gamma_gamma_gradient_is_the_derivative_of_the_objective(cdnow: pd.DataFrame, theta: list[float]) -> None:
    repeat = cdnow[cdnow.frequency > 0]
    grouped = _Grouped.of(repeat.frequency.to_numpy(dtype=float), np.ones(len(repeat)))
    spend = _Spend.of(grouped, repeat.monetary_value.to_numpy(dtype=float))

    def objective(th):
        return _gamma_gamma_objective(th, grouped, spend, 0.01)

    assert check_grad(lambda th: objective(th)[0], lambda th: objective(th)[1], np.log(theta)) < 1e-5


# -- 3. recovery from simulated data --------------------------------------------------

TRUE_BGNBD = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20050101)
    ages = rng.uniform(4, 78, size=8000)                     # cohorts of 4 to 78 weeks
    return simulate_bgnbd(ages, **TRUE_BGNBD, seed=rng)


def test_bgnbd_recovers_simulated_parameters(simulated) -> None:
    x, tx, t = simulated
    fit = fit_bgnbd(x, tx, t)
    estimate = np.log([getattr(fit, k) for k in TRUE_BGNBD])
    grouped = _Grouped.of(x, np.ones_like(x))
    se = standard_errors(lambda th: _bgnbd_objective(th, grouped, tx, t, 0.0), estimate, x.size)
    # 8,000 customers pin each log-parameter to within ~0.05-0.2; 4 standard errors is a
    # two-sided miss probability of 6e-5 per parameter if the estimator is right.
    assert se.max() < 0.25, se
    assert (np.abs(estimate - np.log(list(TRUE_BGNBD.values()))) < 4 * se).all(), (estimate, se)


def test_gamma_gamma_recovers_simulated_parameters(simulated) -> None:
    x = simulated[0]
    m = simulate_gamma_gamma(x, **TRUE_GAMMA_GAMMA, seed=7)
    fit = fit_gamma_gamma(x, m)
    assert fit.n == int((x > 0).sum())
    estimate = np.log([fit.p, fit.q, fit.gamma])
    repeat = x > 0
    grouped = _Grouped.of(x[repeat], np.ones(repeat.sum()))
    spend = _Spend.of(grouped, m[repeat])
    se = standard_errors(lambda th: _gamma_gamma_objective(th, grouped, spend, 0.0), estimate, grouped.n)
    assert se.max() < 0.25, se
    assert (np.abs(estimate - np.log(list(TRUE_GAMMA_GAMMA.values()))) < 4 * se).all(), (estimate, se)


# -- 4. edge cases --------------------------------------------------------------------


def test_gamma_gamma_refuses_when_nobody_bought_twice() -> None:
    with pytest.raises(ModelError) as caught:
        fit_gamma_gamma([0, 0, 0], [0.0, 0.0, 0.0])
    assert isinstance(caught.value, SegflowError)
    assert caught.value.to_dict() == {
        "code": "model", "path": "frequency",
        "message": "Gamma-Gamma: none of the 3 customers has a repeat purchase (frequency > 0); "
                   "the spend model needs some",
    }


@pytest.mark.parametrize("fit, model", [(lambda: fit_bgnbd([], [], []), "BG/NBD"),
                                        (lambda: fit_gamma_gamma([], []), "Gamma-Gamma")], ids=["bgnbd", "gamma-gamma"])
def test_empty_input_is_refused(fit, model: str) -> None:
    with pytest.raises(ModelError, match=f"^{model}: no customers to fit \\(the summary is empty\\)$"):
        fit()


def test_every_problem_of_the_input_is_reported_at_once() -> None:
    with pytest.raises(ModelError) as caught:
        fit_bgnbd([1, -1, 0, 2.5, 1], [5, 0, 3, 1, 11], [10, 10, 10, 10, 10])
    assert str(caught.value) == (
        "BG/NBD: 2 customer(s) with a frequency that is not a whole number >= 0 (first at row 1); "
        "1 customer(s) with recency outside [0, T] (first at row 4); "
        "1 customer(s) with frequency 0 but recency above 0 (first at row 2)"
    )
    assert caught.value.path == "frequency"
    with pytest.raises(ModelError, match="must be one-dimensional and of one length"):
        fit_bgnbd([1, 2], [1, 2], [3])
    with pytest.raises(ModelError, match=r"1 customer\(s\) with a repeat purchase but a monetary value <= 0"):
        fit_gamma_gamma([1, 2], [3.0, 0.0])


def test_non_convergence_is_reported(cdnow: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="^the BG/NBD fit did not converge after 2 iterations") as caught:
        fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow["T"], max_iterations=2)
    assert caught.value.path == "penalizer"


def test_bgnbd_refuses_when_nobody_bought_twice() -> None:
    # Without repeat purchases the likelihood (α/(α+T))^r grows without bound as r → 0.
    with pytest.raises(ModelError, match=r"^BG/NBD: none of the 50 customers has a repeat purchase \(frequency > 0\)"):
        fit_bgnbd([0] * 50, [0] * 50, np.linspace(1, 50, 50))


def test_data_that_cannot_identify_the_model_are_reported() -> None:
    # Everybody buying every week, nobody dropping out: p → 0 and λ the same for all, so
    # a → 0 and r, α → ∞ with r/α = 1.
    with pytest.raises(ModelError) as caught:
        fit_bgnbd([10] * 100, [10] * 100, [10] * 100)
    assert str(caught.value).startswith("the BG/NBD fit did not converge: ")
    assert "a = " in str(caught.value) and "ran off to the edge of the parameter space" in str(caught.value)
    assert caught.value.path == "penalizer"


def test_a_penalizer_shrinks_the_parameters(cdnow: pd.DataFrame, cdnow_fits) -> None:
    free = cdnow_fits[0]
    shrunk = fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow["T"], penalizer=0.01)
    assert shrunk.alpha < free.alpha and shrunk.log_likelihood < free.log_likelihood
    with pytest.raises(ModelError, match="penalizer must be >= 0"):
        fit_bgnbd([1], [1], [2], penalizer=-1)


def test_an_infinite_mean_order_value_is_refused() -> None:
    with pytest.raises(ModelError, match="q = 0.9 <= 1"):
        GammaGammaFit(p=2.0, q=0.9, gamma=1.0, log_likelihood=0.0, n=1).expected_order_value([1], [10.0])
