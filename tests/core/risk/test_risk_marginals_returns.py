"""Per-asset marginals and return histories: fitted, aligned, scaled to the horizon."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy import stats

from crypto_bot_core.risk.marginals import (
    MAX_T_DOF,
    EmpiricalMarginal,
    NormalMarginal,
    StudentTMarginal,
    fit_marginal,
)
from crypto_bot_core.risk.returns import (
    interval_seconds,
    refit_boundary,
    returns_from_bars,
    returns_from_market,
)
from crypto_bot_sdk import InMemoryMarketView, RiskError

from .risk_helpers import NOW, bars_from_returns


def test_student_t_fit_recovers_fat_tails() -> None:
    sample = stats.t.rvs(3.5, scale=0.02, size=20_000, random_state=4)
    fitted = fit_marginal(sample, "t")
    assert isinstance(fitted, StudentTMarginal)
    assert 3.0 < fitted.dof < 4.2
    assert fitted.scale == pytest.approx(0.02, rel=0.05)
    assert fitted.loc == 0.0


def test_gaussian_data_fits_a_t_with_capped_dof() -> None:
    sample = np.random.default_rng(1).normal(0, 0.01, 5000)
    fitted = fit_marginal(sample, "t")
    assert isinstance(fitted, StudentTMarginal)
    assert fitted.dof > 30
    assert fitted.dof <= MAX_T_DOF


def test_thin_tailed_data_take_the_normal_limit_without_a_search() -> None:
    sample = np.random.default_rng(2).uniform(-0.02, 0.02, 500)  # excess kurtosis -1.2
    fitted = fit_marginal(sample, "t")
    assert isinstance(fitted, StudentTMarginal)
    assert fitted.dof == MAX_T_DOF
    assert fitted.scale == pytest.approx(sample.std())


def test_empirical_quantiles_are_the_data_and_normal_uses_the_std() -> None:
    sample = np.array([-0.04, -0.01, 0.0, 0.01, 0.04])
    empirical = fit_marginal(sample, "empirical")
    assert isinstance(empirical, EmpiricalMarginal)
    np.testing.assert_allclose(empirical.ppf(np.array([0.0, 0.5, 1.0])), [-0.04, 0.0, 0.04])
    normal = fit_marginal(sample, "normal", zero_mean=False)
    assert isinstance(normal, NormalMarginal)
    assert normal.scale == pytest.approx(sample.std())
    assert normal.scaled(2.0).scale == pytest.approx(2 * sample.std())


def test_a_marginal_needs_data() -> None:
    with pytest.raises(RiskError, match="BTC/USDT: need at least 2"):
        fit_marginal(np.array([0.01]), "t", symbol="BTC/USDT")


def test_returns_align_on_shared_timestamps_and_skip_gaps() -> None:
    a = bars_from_returns("A/USDT", [0.01, -0.02, 0.03, 0.01])
    b = bars_from_returns("B/USDT", [0.02, 0.01, -0.01, 0.0])
    b_with_gap = b[:2] + b[3:]  # the bar of day 3 is missing
    history = returns_from_bars([*a, *b_with_gap])
    assert history.symbols == ("A/USDT", "B/USDT")
    # Shared days 0,1,3,4: returns 0->1 and 3->4 are one bar long; 1->3 spans a gap.
    np.testing.assert_allclose(history.returns, [[0.01, 0.02], [0.01, 0.0]], atol=1e-8)
    assert history.bar_seconds == 86_400.0
    assert history.horizon_scale(4 * 86_400) == pytest.approx(2.0)


def test_returns_from_market_honour_the_refit_boundary() -> None:
    bars = bars_from_returns(
        "A/USDT", [0.01] * 30, timeframe="1h", step=timedelta(hours=1), end=NOW
    )
    view = InMemoryMarketView()
    for bar in bars:
        view.update(bar)
    full = returns_from_market(view, ["A/USDT"], lookback=10)
    assert full.observations == 10
    until = NOW - timedelta(hours=5)
    cut = returns_from_market(view, ["A/USDT"], lookback=10, until=until)
    assert cut.observations == 10
    assert cut.end == until
    assert refit_boundary(NOW + timedelta(hours=7), interval_seconds("1d")) == NOW


def test_returns_need_prices() -> None:
    with pytest.raises(RiskError, match=r"no prices for \['B/USDT'\]"):
        returns_from_bars(bars_from_returns("A/USDT", [0.01]), symbols=["A/USDT", "B/USDT"])
    with pytest.raises(ValueError, match="'1M' is not"):
        interval_seconds("1M")
