"""Monte-Carlo VaR against closed forms, the t copula's tail dependence, and the other methods."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy import special

from crypto_bot_core.risk.copula import CopulaModel
from crypto_bot_core.risk.portfolio_var import VarSettings, portfolio_var
from crypto_bot_core.risk.returns import ReturnHistory
from crypto_bot_core.risk.var import historical, monte_carlo, parametric, tail_risk
from crypto_bot_sdk import RiskError

from .risk_helpers import equicorrelated, normal_model

SIGMAS = [0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06]
WEIGHTS = [10_000.0, -4_000.0, 8_000.0, 6_000.0, 12_000.0, -3_000.0, 5_000.0, 7_000.0]
Z99 = float(special.ndtri(0.99))


def closed_form(rho: float) -> tuple[float, float]:
    """Gaussian VaR and ES of WEIGHTS: z sigma_p and sigma_p phi(z) / (1 - a)."""
    cov = equicorrelated(len(SIGMAS), rho) * np.outer(SIGMAS, SIGMAS)
    w = np.array(WEIGHTS)
    sigma = math.sqrt(w @ cov @ w)
    phi = math.exp(-(Z99**2) / 2) / math.sqrt(2 * math.pi)
    return Z99 * sigma, sigma * phi / 0.01


def test_gaussian_monte_carlo_var_matches_the_closed_form_within_2pct_at_100k_paths() -> None:
    var, es = closed_form(0.5)
    mc = monte_carlo(normal_model(SIGMAS, 0.5), WEIGHTS, paths=100_000, seed=11)
    assert mc.samples == 100_000
    assert abs(mc.var / var - 1) < 0.02, (mc.var, var)
    assert abs(mc.es / es - 1) < 0.02, (mc.es, es)


def test_fitted_gaussian_model_matches_parametric_var_of_the_same_estimate() -> None:
    rng = np.random.default_rng(5)
    cov = equicorrelated(len(SIGMAS), 0.6) * np.outer(SIGMAS, SIGMAS)
    returns = rng.multivariate_normal(np.zeros(len(SIGMAS)), cov, size=3000)
    history = ReturnHistory(tuple(f"C{i}/USDT" for i in range(len(SIGMAS))), returns, 86_400.0)
    settings = VarSettings(paths=100_000, seed=3, copula="gaussian", marginal="normal")
    report = portfolio_var(dict(zip(history.symbols, WEIGHTS, strict=True)), history, settings)
    assert abs(report.monte_carlo.var / report.parametric.var - 1) < 0.02
    assert abs(report.parametric.var / closed_form(0.6)[0] - 1) < 0.05  # the estimate is close
    assert 0.0 <= (report.shrinkage or 0.0) <= 1.0


def test_t_copula_expected_shortfall_exceeds_gaussian_at_the_same_correlation() -> None:
    gaussian = monte_carlo(normal_model(SIGMAS, 0.4), WEIGHTS, paths=100_000, seed=2)
    student = monte_carlo(normal_model(SIGMAS, 0.4, "t", dof=4.0), WEIGHTS, paths=100_000, seed=2)
    # Same marginals, same correlation: only the joint tail differs, and it is heavier.
    assert student.es > 1.05 * gaussian.es, (student.es, gaussian.es)
    assert student.var > gaussian.var


def test_t_copula_tail_dependence_shows_in_joint_crashes() -> None:
    def joint_crash_rate(model: CopulaModel) -> float:
        paths = model.scenarios(100_000, seed=9)
        cut = np.quantile(paths, 0.01, axis=0)
        return float(np.mean(np.all(paths[:, :2] < cut[:2], axis=1)))

    gaussian = joint_crash_rate(normal_model([0.03, 0.03], 0.5))
    student = joint_crash_rate(normal_model([0.03, 0.03], 0.5, "t", dof=3.0))
    assert student > 1.5 * gaussian, (student, gaussian)


def test_same_seed_same_figures_other_seed_other_paths() -> None:
    model = normal_model(SIGMAS, 0.3, "t")
    first = monte_carlo(model, WEIGHTS, paths=20_000, seed=1)
    again = monte_carlo(model, WEIGHTS, paths=20_000, seed=1)
    other = monte_carlo(model, WEIGHTS, paths=20_000, seed=2)
    assert first == again
    assert other.var != first.var


def test_portfolio_pnl_equals_the_scenario_matrix_times_the_exposures() -> None:
    model = normal_model(SIGMAS, 0.3, "t")
    pnl = model.portfolio_pnl(WEIGHTS, 10_000, seed=4)
    matrix = model.scenarios(10_000, seed=4)
    np.testing.assert_allclose(pnl, matrix @ np.array(WEIGHTS), rtol=1e-5, atol=1e-3)


def test_paths_are_made_in_chunks_so_memory_stays_bounded() -> None:
    sigmas = [0.03] * 100
    model = normal_model(sigmas, 0.5, "t")
    tracemalloc.start()
    try:
        pnl = model.portfolio_pnl([1000.0] * 100, 100_000, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pnl.shape == (100_000,)
    # All paths at once would be 100,000 x 100 float32 = 40 MB before any temporaries.
    assert peak < 25 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_tail_risk_of_a_known_sample() -> None:
    pnl = -np.arange(1, 101, dtype=np.float64)  # losses 1..100
    tail = tail_risk(pnl, 0.95, "test")
    assert (tail.var, tail.es) == (96.0, 98.0)  # the 5 worst: 96..100
    assert tail_risk(pnl, 0.99, "test").var == 100.0
    with pytest.raises(RiskError, match=r"confidence 1\.2"):
        tail_risk(pnl, 1.2, "test")


def test_historical_var_replays_todays_exposures_over_the_observed_returns() -> None:
    returns = np.array([[0.01, 0.02], [-0.05, 0.01], [0.02, -0.03], [-0.01, -0.02]])
    history = ReturnHistory(("A/USDT", "B/USDT"), returns, 86_400.0)
    tail = historical(history, [1000.0, 2000.0], confidence=0.75)
    pnl = returns @ np.array([1000.0, 2000.0])  # 50, -30, -40, -50
    centred = pnl - pnl.mean()  # 67.5, -12.5, -22.5, -32.5
    assert tail.var == pytest.approx(-centred.min())
    assert tail.es == pytest.approx(32.5)


def test_parametric_var_scales_with_the_square_root_of_time() -> None:
    cov = np.array([[0.0004]])
    one = parametric(cov, [1000.0], confidence=0.99)
    four = parametric(cov, [1000.0], confidence=0.99, scale=2.0)
    assert one.var == pytest.approx(Z99 * 20.0)
    assert four.var == pytest.approx(2 * one.var)


def test_a_model_needs_matching_shapes_and_a_t_dof_above_two() -> None:
    with pytest.raises(RiskError, match="2x2 correlation"):
        CopulaModel(("A/USDT", "B/USDT"), np.eye(3), normal_model([0.1, 0.1], 0).marginals)
    with pytest.raises(RiskError, match="above 2"):
        normal_model([0.1], 0.0, "t", dof=2.0)
