"""Ledoit-Wolf shrinkage to constant correlation: the published formulas, and what it buys."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crypto_bot_core.risk.shrinkage import constant_correlation_shrinkage, nearest_correlation
from crypto_bot_sdk import RiskError

from .risk_helpers import equicorrelated


def reference_intensity(x: np.ndarray) -> float:
    """Ledoit & Wolf (2004), term by term with loops, for a small sample."""
    t, n = int(x.shape[0]), int(x.shape[1])
    x = x - x.mean(axis=0)
    s = x.T @ x / t
    r = s / np.sqrt(np.outer(np.diag(s), np.diag(s)))
    rbar = sum(r[i, j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    f = np.array(
        [
            [s[i, i] if i == j else rbar * math.sqrt(s[i, i] * s[j, j]) for j in range(n)]
            for i in range(n)
        ]
    )
    pi = sum(
        sum((x[k, i] * x[k, j] - s[i, j]) ** 2 for k in range(t)) / t
        for i in range(n)
        for j in range(n)
    )

    def theta(i: int, j: int) -> float:
        terms = ((x[k, i] ** 2 - s[i, i]) * (x[k, i] * x[k, j] - s[i, j]) for k in range(t))
        return float(sum(terms)) / t

    rho = sum(sum((x[k, i] ** 2 - s[i, i]) ** 2 for k in range(t)) / t for i in range(n))
    rho += sum(
        rbar
        / 2
        * (math.sqrt(s[j, j] / s[i, i]) * theta(i, j) + math.sqrt(s[i, i] / s[j, j]) * theta(j, i))
        for i in range(n)
        for j in range(n)
        if i != j
    )
    gamma = float(((f - s) ** 2).sum())
    return max(0.0, min(1.0, float(pi - rho) / gamma / t))


def test_intensity_matches_the_published_formulas_term_by_term() -> None:
    rng = np.random.default_rng(8)
    corr = np.array(  # two blocks: the target (one average correlation) is wrong, but useful
        [
            [1.0, 0.8, 0.7, 0.1, 0.0],
            [0.8, 1.0, 0.75, 0.05, 0.1],
            [0.7, 0.75, 1.0, 0.0, 0.05],
            [0.1, 0.05, 0.0, 1.0, 0.6],
            [0.0, 0.1, 0.05, 0.6, 1.0],
        ]
    )
    x = rng.standard_t(4, size=(40, 5)) @ np.linalg.cholesky(corr).T * 0.02
    x[:, 2] *= 3  # unequal variances exercise the sqrt(s_jj / s_ii) weights
    estimate = constant_correlation_shrinkage(x)
    assert estimate.intensity == pytest.approx(reference_intensity(x), rel=1e-10)
    assert 0 < estimate.intensity < 1


def test_shrunk_correlation_is_the_blend_of_sample_and_average() -> None:
    rng = np.random.default_rng(1)
    x = rng.multivariate_normal(np.zeros(4), equicorrelated(4, 0.3), size=60)
    est = constant_correlation_shrinkage(x)
    sample = np.asarray(np.corrcoef(x, rowvar=False))
    expected = np.asarray(est.intensity * est.mean_correlation + (1 - est.intensity) * sample)
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(est.correlation, expected, atol=1e-12)
    np.testing.assert_allclose(np.diag(est.covariance), x.var(axis=0), rtol=1e-12)


def test_more_coins_than_days_still_gives_a_positive_definite_matrix() -> None:
    rng = np.random.default_rng(2)
    x = rng.multivariate_normal(np.zeros(50), equicorrelated(50, 0.6), size=30) * 0.03
    sample = np.cov(x, rowvar=False, bias=True)
    assert np.linalg.eigvalsh(sample).min() < 1e-12  # singular: no Cholesky factor
    est = constant_correlation_shrinkage(x)
    assert np.linalg.eigvalsh(est.correlation).min() > 0
    np.linalg.cholesky(est.correlation)


def test_long_histories_need_little_shrinkage() -> None:
    rng = np.random.default_rng(3)
    corr = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.2], [0.1, 0.2, 1.0]])
    x = rng.multivariate_normal(np.zeros(3), corr, size=20_000)
    est = constant_correlation_shrinkage(x)
    assert est.intensity < 0.01
    np.testing.assert_allclose(est.correlation, corr, atol=0.03)


def test_a_flat_series_is_named() -> None:
    x = np.column_stack([np.linspace(-0.01, 0.01, 10), np.zeros(10)])
    with pytest.raises(RiskError, match=r"\['USDC/USDT'\] never move"):
        constant_correlation_shrinkage(x, ("BTC/USDT", "USDC/USDT"))


def test_nearest_correlation_repairs_an_indefinite_matrix() -> None:
    broken = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(broken).min() < 0
    fixed = nearest_correlation(broken)
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.testing.assert_allclose(np.diag(fixed), 1.0)
