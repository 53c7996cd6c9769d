"""Fitting one asset's marginal: what each kind keeps, how it scales, what it refuses.

The copula VaR draws each asset's returns from its marginal, and a volatility shock
scales them; a marginal that scales its location but not its spread (or the other way
round), or a t fitted with tails so fat its variance does not exist, would give a VaR
that looks plausible and is wrong. Figures are checked against hand computations.
"""

from __future__ import annotations

import numpy as np
import pytest

from crypto_bot_core.risk.marginals import (
    MAX_T_DOF,
    MIN_T_DOF,
    EmpiricalMarginal,
    NormalMarginal,
    StudentTMarginal,
    fit_marginal,
)
from crypto_bot_sdk import RiskError

# Mean 0.005; deviations +-0.005 and +-0.035: population std sqrt((2 x 0.005^2 +
# 2 x 0.035^2) / 4) = sqrt(0.000625) = 0.025.
SAMPLE = np.array([0.01, 0.0, 0.04, -0.03])


def test_a_normal_keeps_the_standard_deviation_and_optionally_the_mean() -> None:
    centred = fit_marginal(SAMPLE, "normal")
    assert isinstance(centred, NormalMarginal)
    assert (centred.loc, centred.scale) == pytest.approx((0.0, 0.025))
    raw = fit_marginal(SAMPLE, "normal", zero_mean=False)
    assert raw.describe() == pytest.approx({"loc": 0.005, "scale": 0.025})
    # The median of a normal is its location; a shock of 2 doubles both figures.
    assert raw.scaled(2.0).describe() == pytest.approx({"loc": 0.01, "scale": 0.05})
    assert float(raw.ppf(np.array([0.5]))[0]) == pytest.approx(0.005)


def test_an_empirical_marginal_is_the_sample_itself_centred_or_not() -> None:
    centred = fit_marginal(SAMPLE, "empirical")
    assert isinstance(centred, EmpiricalMarginal)
    assert centred.sample.tolist() == pytest.approx([0.005, -0.005, 0.035, -0.035])
    assert centred.describe() == pytest.approx(
        {"observations": 4.0, "min": -0.035, "max": 0.035}
    )
    raw = fit_marginal(SAMPLE, "empirical", zero_mean=False)
    raw.sample[0] = 99.0  # a copy: the caller's returns are untouched
    assert SAMPLE[0] == 0.01
    shocked = centred.scaled(3.0)
    assert shocked.describe() == pytest.approx(
        {"observations": 4.0, "min": -0.105, "max": 0.105}
    )
    # Its quantiles are the sample's: the 0 and 1 quantiles are the extremes.
    assert shocked.ppf(np.array([0.0, 1.0])).tolist() == pytest.approx([-0.105, 0.105])


def test_thin_tails_make_the_t_a_normal_without_a_search() -> None:
    # Two values equally often have the least excess kurtosis possible (-2), thinner
    # than a normal's (0): the fit takes the normal limit, MAX_T_DOF, with the sample's sd.
    thin = fit_marginal(np.array([0.01, -0.01, 0.01, -0.01]), "t")
    assert isinstance(thin, StudentTMarginal)
    assert thin.describe() == pytest.approx({"dof": MAX_T_DOF, "loc": 0.0, "scale": 0.01})
    uncentred = fit_marginal(np.array([0.03, 0.01, 0.03, 0.01]), "t", zero_mean=False)
    assert uncentred.describe() == pytest.approx({"dof": MAX_T_DOF, "loc": 0.02, "scale": 0.01})


@pytest.mark.parametrize("zero_mean", [True, False])
def test_tails_too_fat_for_a_variance_are_floored_at_the_minimum_dof(zero_mean: bool) -> None:
    # Student t draws with 1.2 degrees of freedom: no finite variance, so an unconstrained
    # fit lands below 2 and is refitted with the degrees of freedom held at MIN_T_DOF.
    sample = np.random.default_rng(1).standard_t(1.2, size=400) * 0.01
    fitted = fit_marginal(sample, "t", zero_mean=zero_mean)
    assert isinstance(fitted, StudentTMarginal)
    assert fitted.dof == MIN_T_DOF
    assert (fitted.loc == 0.0) is zero_mean
    assert 0.005 < fitted.scale < 0.03


def test_a_t_fit_finds_the_dof_of_fat_tailed_returns_and_scales_its_spread() -> None:
    sample = np.random.default_rng(1).standard_t(4.0, size=2000) * 0.01
    fitted = fit_marginal(sample, "t")
    assert isinstance(fitted, StudentTMarginal)
    assert 3.0 < fitted.dof < 5.5
    assert fitted.loc == 0.0
    shocked = fitted.scaled(2.0)
    assert shocked.dof == fitted.dof
    assert shocked.scale == pytest.approx(2 * fitted.scale)
    # The t's median is its location, and its quantiles widen with the scale.
    low, mid = fitted.ppf(np.array([0.01, 0.5]))
    assert mid == pytest.approx(0.0)
    assert float(shocked.ppf(np.array([0.01]))[0]) == pytest.approx(2 * low)


@pytest.mark.parametrize(
    ("sample", "symbol", "message"),
    [
        (np.array([0.01]), "BTC/USDT", "BTC/USDT: need at least 2 finite returns"),
        (np.array([0.01, np.nan, 0.02]), "", "an asset: need at least 2 finite returns"),
    ],
)
def test_too_few_or_non_finite_returns_are_refused(
    sample: np.ndarray, symbol: str, message: str
) -> None:
    with pytest.raises(RiskError) as caught:
        fit_marginal(sample, "normal", symbol=symbol)
    assert str(caught.value) == f"{message} to fit a marginal"


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(RiskError) as caught:
        fit_marginal(SAMPLE, "laplace")  # type: ignore[arg-type]
    assert str(caught.value) == "unknown marginal 'laplace'; use 'normal', 't' or 'empirical'"
