"""Customers drawn from the lifetime-value models, for tests and benchmarks.

:func:`simulate_bgnbd` draws BTYD summaries from the BG/NBD model itself, without
simulating purchase by purchase: while alive a customer's purchases form a Poisson
process, so the purchases in (0, T] number N ~ Poisson(λT); they drop out after their
D-th repeat purchase, D ~ Geometric(p) on 1, 2, ..., so x = min(N, D). Given N = n the
purchase times are n sorted uniform points on (0, T], so the x-th is T · Beta(x, n−x+1).
:func:`simulate_gamma_gamma` draws each customer's mean repeat purchase value: the sum
of x values Gamma(p, ν) is Gamma(px, ν).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["simulate_bgnbd", "simulate_gamma_gamma"]


def simulate_bgnbd(T: Any, *, r: float, alpha: float, a: float, b: float,
                   seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of customers of ages *T* (an array) drawn from BG/NBD(r, α, a, b)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    age = np.asarray(T, dtype=float)
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=age.shape)   # λ ~ Gamma(r, rate α)
    p = rng.beta(a, b, size=age.shape)
    n = rng.poisson(rate * age)
    dropout = rng.geometric(p)                                      # the repeat purchase after which they leave
    x = np.minimum(n, dropout)
    tx = np.zeros_like(age)
    some = x > 0
    tx[some] = age[some] * rng.beta(x[some], n[some] - x[some] + 1)
    return x.astype(float), tx, age


def simulate_gamma_gamma(frequency: Any, *, p: float, q: float, gamma: float,
                         seed: int | np.random.Generator = 0) -> np.ndarray:
    """The mean repeat purchase value of customers with *frequency* repeat purchases (0 for none)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=x.shape)        # ν ~ Gamma(q, rate γ)
    some = x > 0
    m = np.zeros_like(x)
    m[some] = rng.gamma(shape=p * x[some], scale=1.0 / nu[some]) / x[some]
    return m
