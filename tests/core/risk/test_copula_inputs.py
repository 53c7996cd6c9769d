"""The copula model's checks on what it is given: a correlation matrix that is not a
correlation (not positive definite, as a hand-edited or shocked one can be), a path
count of zero, exposures for the wrong number of symbols.

A bad matrix is repaired to the nearest correlation, never a crash in the middle of a
VaR; a request that makes no sense is refused with what was wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from crypto_bot_core.risk.copula import CopulaModel
from crypto_bot_core.risk.marginals import NormalMarginal
from crypto_bot_sdk import RiskError

from .risk_helpers import normal_model

SYMBOLS = ("A/USDT", "B/USDT", "C/USDT")


def test_a_correlation_that_is_not_positive_definite_is_replaced_by_the_nearest_one() -> None:
    # A and B move together, B and C together, but A and C opposite: impossible (its
    # smallest eigenvalue is negative), so no Cholesky factor exists.
    impossible = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(impossible).min() < 0
    model = CopulaModel(
        symbols=SYMBOLS,
        correlation=impossible,
        marginals=tuple(NormalMarginal(0.0, 0.01) for _ in SYMBOLS),
        family="gaussian",
    )
    draws = model.scenarios(20_000, seed=4)
    assert draws.shape == (20_000, 3)
    assert np.all(np.isfinite(draws))
    realised = np.corrcoef(draws.T)
    # The signs the matrix asked for survive the repair; each margin keeps its 1% spread.
    assert realised[0, 1] > 0.3
    assert realised[1, 2] > 0.3
    assert realised[0, 2] < -0.1
    assert draws.std(axis=0) == pytest.approx([0.01, 0.01, 0.01], rel=0.05)


def test_zero_paths_are_refused() -> None:
    model = normal_model([0.01, 0.02], 0.5)
    with pytest.raises(RiskError, match=r"^paths must be at least 1, not 0$"):
        model.scenarios(0, seed=1)


def test_exposures_must_match_the_models_symbols() -> None:
    model = normal_model([0.01, 0.02], 0.5)
    with pytest.raises(RiskError) as caught:
        model.portfolio_pnl([1000.0, 2000.0, 500.0], paths=100, seed=1)
    assert str(caught.value) == "3 exposures for a model of 2 symbols"


def test_a_model_whose_parts_disagree_in_size_is_refused() -> None:
    with pytest.raises(RiskError) as caught:
        CopulaModel(
            symbols=SYMBOLS,
            correlation=np.eye(2),
            marginals=tuple(NormalMarginal(0.0, 0.01) for _ in SYMBOLS),
        )
    assert str(caught.value) == (
        "a model of 3 symbols needs a 3x3 correlation and 3 marginals; got (2, 2) and 3"
    )
