"""Value at risk and expected shortfall, three ways: Monte-Carlo, historical and parametric.

Conventions: losses are positive numbers in the portfolio currency; ``VaR_a``
is the loss exceeded with probability ``1 - a`` over the horizon, ``ES_a`` the
mean loss in that tail. From ``n`` simulated or historical P&Ls the tail is
the ``k = ceil(n (1 - a))`` worst: VaR is the smallest loss among them, ES
their mean. The parametric figures are the Gaussian closed forms
``VaR = z_a sigma`` and ``ES = sigma phi(z_a) / (1 - a)`` with ``sigma`` from
the shrunk covariance; the three side by side show how far fat tails and tail
dependence move the number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crypto_bot_core.risk.returns import DAY_SECONDS, ReturnHistory
from crypto_bot_sdk import RiskError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crypto_bot_core.risk.copula import CopulaModel


@dataclass(frozen=True)
class TailRisk:
    """VaR and ES of one method, positive numbers meaning losses."""

    method: str
    var: float
    es: float
    confidence: float
    samples: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "var": self.var,
            "es": self.es,
            "confidence": self.confidence,
            "samples": self.samples,
        }


def check_confidence(confidence: float) -> float:
    if not 0.5 <= confidence < 1:
        raise RiskError(f"confidence {confidence} must be in [0.5, 1), e.g. 0.99")
    return confidence


def tail_risk(pnl: NDArray[np.float64], confidence: float, method: str) -> TailRisk:
    """VaR and ES of a P&L sample (the ``k`` worst outcomes make the tail)."""
    import numpy as np

    check_confidence(confidence)
    n = int(pnl.size)
    if n == 0:
        raise RiskError("no P&L outcomes to take VaR of")
    k = max(1, math.ceil(n * (1 - confidence) - 1e-9))
    losses = -np.asarray(pnl, dtype=np.float64)
    worst = np.partition(losses, n - k)[n - k :]
    return TailRisk(method, float(worst.min()), float(worst.mean()), confidence, n)


def monte_carlo(
    model: CopulaModel,
    exposures: Sequence[float],
    *,
    paths: int = 10_000,
    seed: int = 0,
    confidence: float = 0.99,
) -> TailRisk:
    """VaR and ES of the portfolio over ``paths`` simulated horizons of ``model``."""
    pnl = model.portfolio_pnl(exposures, paths, seed)
    return tail_risk(pnl, confidence, f"monte-carlo ({model.family} copula)")


def historical(
    history: ReturnHistory,
    exposures: Sequence[float],
    *,
    confidence: float = 0.99,
    horizon_seconds: float = DAY_SECONDS,
) -> TailRisk:
    """VaR and ES of today's exposures replayed over the observed returns."""
    import numpy as np

    pnl = history.returns @ np.asarray(exposures, dtype=np.float64)
    pnl = (pnl - pnl.mean()) * history.horizon_scale(horizon_seconds)
    return tail_risk(pnl, confidence, "historical")


def parametric(
    covariance: NDArray[np.float64],
    exposures: Sequence[float],
    *,
    confidence: float = 0.99,
    scale: float = 1.0,
    samples: int = 0,
) -> TailRisk:
    """Gaussian closed forms from a covariance of one-bar returns, times ``scale``."""
    import numpy as np
    from scipy import special

    check_confidence(confidence)
    w = np.asarray(exposures, dtype=np.float64)
    sigma = float(np.sqrt(max(float(w @ covariance @ w), 0.0))) * scale
    z = float(special.ndtri(confidence))
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return TailRisk(
        "parametric (normal)", z * sigma, sigma * density / (1 - confidence), confidence, samples
    )
