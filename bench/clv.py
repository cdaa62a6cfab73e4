"""The ``clv`` suite: fitting and scoring the lifetime-value models, segflow against lifetimes.

On one synthetic BTYD summary (:func:`synthetic_summary`: ``--profiles`` customers drawn
from BG/NBD(r 0.25, α 4, a 0.8, b 2.5) with ages of 1 to 365 whole days, in weeks, and
recency on the same day grid, as :func:`segflow.models.lifetime.rfm_summary_sql` gives
it; mean repeat values from Gamma-Gamma(p 6, q 4, γ 15)):

* **BG/NBD fit**: :func:`~segflow.models.lifetime.fit_bgnbd` against
  ``lifetimes.BetaGeoFitter().fit`` on the same arrays, one row per customer (what a
  lifetimes user writes), and, like for like, on the condensed rows with ``weights``
  (segflow condenses inside its fit; the condensing time is shown apart);
* **Gamma-Gamma fit**: :func:`~segflow.models.lifetime.fit_gamma_gamma` against
  ``GammaGammaFitter().fit`` on the customers with a repeat purchase;
* **scoring**: expected purchases in 39 weeks, P(alive) and 12 months' CLV (1 % a month)
  for every customer, each side with its own fitted models.

Everything runs in this process, ``--repeat`` times after one untimed warm-up (imports,
caches), median reported; before each side the suite waits for a quiet machine. Both
sides must find the same parameters (relative 1e-3) or the suite exits 1. lifetimes also
computes a Hessian (autograd) after each fit; that is part of its ``fit``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import (
    REPO,
    machine_info,
    machine_line,
    markdown_table,
    source_digest,
    timed_side,
    wait_until_idle,
    write_section,
)

__all__ = ["ClvOptions", "run_clv_suite", "result_rows", "render_section", "synthetic_summary"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]
BGNBD = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@dataclass
class ClvOptions:
    profiles: int = 1_000_000
    seed: int = 0
    repeat: int = 3
    idle_timeout: float = 60.0
    docs: bool = True

    def command(self) -> str:
        return f"python bench/run.py clv --profiles {self.profiles} --seed {self.seed} --repeat {self.repeat}"


def synthetic_summary(profiles: int, seed: int) -> dict[str, Any]:
    """frequency, recency, T (weeks, on a day grid) and monetary_value of *profiles* customers."""
    import numpy as np

    from segflow.models.simulate import simulate_bgnbd, simulate_gamma_gamma

    rng = np.random.default_rng(seed)
    ages = rng.integers(1, 366, size=profiles) / 7
    x, tx, T = simulate_bgnbd(ages, **BGNBD, seed=rng)
    tx = np.floor(tx * 7 + 1e-9) / 7
    return {"frequency": x, "recency": tx, "T": T, "monetary_value": simulate_gamma_gamma(x, **GAMMA_GAMMA, seed=rng)}


_time = timed_side


def run_clv_suite(opts: ClvOptions, report: Reporter) -> dict[str, Any]:
    """Time every side, check they agree, save the figures and (optionally) the docs."""
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

    from segflow.models.lifetime import _condensed, clv, fit_bgnbd, fit_gamma_gamma

    report("data", f"simulating {opts.profiles:,} customers")
    s = synthetic_summary(opts.profiles, opts.seed)
    x, tx, T, m = s["frequency"], s["recency"], s["T"], s["monetary_value"]
    repeat = x > 0
    (cx, ctx, cT), counts = _condensed(x, tx, T)

    def lifetimes_bg(weights: bool) -> Callable[[], Any]:
        def fit() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if weights:
                    return BetaGeoFitter().fit(cx, ctx, cT, weights=counts)
                return BetaGeoFitter().fit(x, tx, T)
        return fit

    def lifetimes_gg() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return GammaGammaFitter().fit(x[repeat], m[repeat])

    sides: dict[str, Any] = {}
    results: dict[str, Any] = {}
    runs: dict[str, Callable[[], Any]] = {
        "segflow_bgnbd": lambda: fit_bgnbd(x, tx, T),
        "segflow_condense": lambda: _condensed(x, tx, T),
        "lifetimes_bgnbd": lifetimes_bg(False),
        "lifetimes_bgnbd_weights": lifetimes_bg(True),
        "segflow_gamma_gamma": lambda: fit_gamma_gamma(x, m),
        "lifetimes_gamma_gamma": lifetimes_gg,
    }
    for side, fn in runs.items():
        if opts.idle_timeout > 0:
            report(side, "waiting for a quiet machine")
            wait_until_idle(timeout=opts.idle_timeout)
        report(side, f"{opts.repeat} runs")
        results[side], sides[side] = _time(fn, opts.repeat)

    ours_bg, ours_gg = results["segflow_bgnbd"], results["segflow_gamma_gamma"]
    their_bg, their_gg = results["lifetimes_bgnbd"], results["lifetimes_gamma_gamma"]
    xs, txs, Ts, ms = pd.Series(x), pd.Series(tx), pd.Series(T), pd.Series(m)

    def score_segflow() -> Any:
        return (ours_bg.expected_purchases(39, x, tx, T), ours_bg.p_alive(x, tx, T),
                clv(ours_bg, ours_gg, x, tx, T, m, horizon=12, step=4.345, discount_rate=0.01))

    def score_lifetimes() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return (their_bg.conditional_expected_number_of_purchases_up_to_time(39, xs, txs, Ts),
                    their_bg.conditional_probability_alive(xs, txs, Ts),
                    their_gg.customer_lifetime_value(their_bg, xs, txs, Ts, ms, time=12, discount_rate=0.01, freq="W"))

    for side, fn in {"segflow_score": score_segflow, "lifetimes_score": score_lifetimes}.items():
        if opts.idle_timeout > 0:
            report(side, "waiting for a quiet machine")
            wait_until_idle(timeout=opts.idle_timeout)
        report(side, f"{opts.repeat} runs")
        results[side], sides[side] = _time(fn, opts.repeat)

    params = {
        "segflow_bgnbd": [ours_bg.r, ours_bg.alpha, ours_bg.a, ours_bg.b],
        "lifetimes_bgnbd": [float(v) for v in their_bg.params_],
        "lifetimes_bgnbd_weights": [float(v) for v in results["lifetimes_bgnbd_weights"].params_],
        "segflow_gamma_gamma": [ours_gg.p, ours_gg.q, ours_gg.gamma],
        "lifetimes_gamma_gamma": [float(v) for v in their_gg.params_],
    }

    def close(a: Any, b: Any, rel: float = 1e-3) -> bool:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rel, atol=1e-9))

    checks = {
        "same BG/NBD parameters": close(params["segflow_bgnbd"], params["lifetimes_bgnbd"])
        and close(params["segflow_bgnbd"], params["lifetimes_bgnbd_weights"]),
        "same Gamma-Gamma parameters": close(params["segflow_gamma_gamma"], params["lifetimes_gamma_gamma"]),
        "same scores": all(close(a, b) for a, b in zip(results["segflow_score"], results["lifetimes_score"])),
    }
    data = {
        "suite": "clv",
        "options": {"profiles": opts.profiles, "seed": opts.seed, "repeat": opts.repeat},
        "command": opts.command(),
        "machine": {**machine_info(), "segflow_src": source_digest(), "lifetimes": "0.11.3"},
        "sizes": {"customers": opts.profiles, "repeat_buyers": int(repeat.sum()), "distinct_rows": int(counts.size)},
        "truth": {**BGNBD, **GAMMA_GAMMA},
        "params": params,
        "sides": sides,
        "checks": checks,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"clv-{opts.profiles}-{opts.seed}.json").write_text(json.dumps(data, indent=1) + "\n")
    if opts.docs:
        saved = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("clv-*.json"))]
        write_section("clv", render_section(sorted(saved, key=lambda d: d["options"]["profiles"])))
    return data


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    s = data["sides"]

    def row(label: str, side: str, mine: str | None, note: str = "") -> list[str]:
        secs, cpu = s[side]["seconds"], s[side]["cpu_seconds"]
        ratio = f"{secs / s[mine]['seconds']:.1f}x" if mine else ""
        cpu_ratio = f"{cpu / s[mine]['cpu_seconds']:.1f}x" if mine else ""
        return [label, f"{secs:.3f}", f"{cpu:.2f}", ratio, cpu_ratio, note]

    n = data["sizes"]
    return [
        row("segflow fit_bgnbd", "segflow_bgnbd", "segflow_bgnbd",
            f"{n['distinct_rows']:,} distinct (x, t_x, T) rows"),
        row("  of which condensing the rows", "segflow_condense", None),
        row("lifetimes BetaGeoFitter.fit, one row per customer", "lifetimes_bgnbd", "segflow_bgnbd"),
        row("lifetimes BetaGeoFitter.fit, condensed rows + weights", "lifetimes_bgnbd_weights", "segflow_bgnbd",
            "condensing not timed"),
        row("segflow fit_gamma_gamma", "segflow_gamma_gamma", "segflow_gamma_gamma",
            f"{n['repeat_buyers']:,} repeat buyers"),
        row("lifetimes GammaGammaFitter.fit", "lifetimes_gamma_gamma", "segflow_gamma_gamma"),
        row("segflow: 39-week purchases, P(alive), 12-month CLV", "segflow_score", "segflow_score"),
        row("lifetimes: the same three", "lifetimes_score", "segflow_score"),
    ]


HEADERS = ["side", "seconds", "CPU s", "÷ segflow", "CPU ÷ segflow", "note"]


def render_run(data: dict[str, Any]) -> str:
    o = data["options"]
    return "\n".join([
        f"### {o['profiles']:,} customers (seed {o['seed']})",
        "",
        f"Machine: {machine_line(data['machine'])}. Median of {o['repeat']} runs after a warm-up.",
        "",
        f"```\n{data['command']}\n```",
        "",
        markdown_table(HEADERS, result_rows(data), right={1, 2, 3, 4}),
        "",
        "Same parameters and scores on both sides: " + ("yes" if all(data["checks"].values()) else "**NO**") + ".",
    ])


_EXPLANATION = """\
Fitting BG/NBD and Gamma-Gamma (`segflow.models.lifetime`) on one synthetic summary,
next to `lifetimes` 0.11.3 on the same arrays (`bench/clv.py`). segflow's fits condense
the customers to distinct rows, compute the terms that depend on the parameters and the
frequency alone once per distinct frequency, and give BFGS an analytic gradient; lifetimes
differentiates its per-row likelihood with autograd and computes a Hessian after the fit.
"""


def render_section(results: list[dict[str, Any]]) -> str:
    runs = "\n\n".join(render_run(d) for d in results)
    return f"## Lifetime value: fitting BG/NBD and Gamma-Gamma\n\n{_EXPLANATION}\n{runs}\n"
