"""Ledoit-Wolf shrinkage of the sample covariance towards a constant-correlation target.

With a year of daily returns and fifty coins, the sample correlation matrix is
noisy and often nearly singular; the Monte-Carlo needs its Cholesky factor.
Ledoit and Wolf ("Honey, I shrunk the sample covariance matrix", Journal of
Portfolio Management 30(4), 2004) blend it with a structured target:

    Sigma = delta * F + (1 - delta) * S

``S`` is the sample covariance (divided by T, on de-meaned returns ``x``);
``F`` keeps the sample variances and sets every correlation to the average
sample correlation ``rbar``: ``f_ii = s_ii``, ``f_ij = rbar sqrt(s_ii s_jj)``.
The intensity minimising the expected Frobenius loss is
``delta = max(0, min(1, (pi - rho) / (gamma T)))`` with

* ``pi = sum_ij pi_ij``, ``pi_ij = 1/T sum_t (x_it x_jt - s_ij)^2``
* ``rho = sum_i pi_ii + rbar sum_{i != j} sqrt(s_jj / s_ii) theta_ij``,
  ``theta_ij = 1/T sum_t (x_it^2 - s_ii)(x_it x_jt - s_ij)``
* ``gamma = ||F - S||_F^2``.

The constant-correlation target suits crypto better than the identity target
of scikit-learn's ``LedoitWolf``: coins move together (average correlations of
0.5-0.8), and shrinking towards zero correlation would understate the risk of
a long book. The diagonal is untouched, so the shrunk correlation is
``delta * rbar + (1 - delta) * r_ij`` off the diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crypto_bot_sdk import RiskError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class ShrunkEstimate:
    """The shrunk covariance and correlation, with the intensity and target that made them."""

    covariance: NDArray[np.float64]
    correlation: NDArray[np.float64]
    intensity: float
    mean_correlation: float
    observations: int


def constant_correlation_shrinkage(
    returns: NDArray[np.float64], symbols: tuple[str, ...] = ()
) -> ShrunkEstimate:
    """Shrink the covariance of ``returns`` (rows: observations, columns: assets)."""
    import numpy as np

    x = np.asarray(returns, dtype=np.float64)
    t, n = x.shape
    if t < 2:
        raise RiskError(f"{t} return observation(s) cannot give a covariance; need at least 2")
    x = x - x.mean(axis=0)
    s = x.T @ x / t
    var = np.diag(s).copy()
    flat = np.flatnonzero(var <= 0)
    if flat.size:
        names = [symbols[i] if i < len(symbols) else f"column {i}" for i in flat]
        raise RiskError(f"returns of {names} never move (zero variance); drop them or add data")
    sd = np.sqrt(var)
    corr = s / np.outer(sd, sd)
    if n == 1:
        return ShrunkEstimate(s, np.ones((1, 1)), 0.0, 1.0, t)
    rbar = float((corr.sum() - n) / (n * (n - 1)))
    target = rbar * np.outer(sd, sd)
    np.fill_diagonal(target, var)

    y = x**2
    pi_mat = y.T @ y / t - s**2
    pi_hat = float(pi_mat.sum())
    theta = (x**3).T @ x / t - var[:, None] * s
    ratio = np.outer(1.0 / sd, sd)  # sqrt(s_jj / s_ii)
    off = ratio * theta
    rho_hat = float(np.trace(pi_mat) + rbar * (off.sum() - np.trace(off)))
    gamma_hat = float(((target - s) ** 2).sum())
    intensity = 0.0 if gamma_hat <= 0 else max(0.0, min(1.0, (pi_hat - rho_hat) / gamma_hat / t))

    shrunk = intensity * target + (1.0 - intensity) * s
    correlation = shrunk / np.outer(sd, sd)
    np.fill_diagonal(correlation, 1.0)
    return ShrunkEstimate(shrunk, correlation, intensity, rbar, t)


def nearest_correlation(matrix: NDArray[np.float64], floor: float = 1e-8) -> NDArray[np.float64]:
    """``matrix`` made positive definite by clipping eigenvalues, then rescaled to unit diagonal.

    Shrinkage keeps the matrix positive definite whenever ``rbar`` is above
    ``-1/(n-1)``; this is the fallback for the degenerate rest (and for
    correlations a stress scenario sets by hand).
    """
    import numpy as np

    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    out: NDArray[np.float64] = fixed / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return out
