"""Per-asset return distributions: the marginals the copula glues together.

* ``normal`` -- mean and standard deviation; the textbook case, and the one
  with a closed form to check the Monte-Carlo against.
* ``t`` -- a Student t fitted by maximum likelihood (``scipy.stats.t.fit``),
  with its degrees of freedom floored at :data:`MIN_T_DOF` so the variance
  stays finite and capped at :data:`MAX_T_DOF` (a normal, to VaR's digits);
  a sample without excess kurtosis takes that cap directly. Crypto daily
  returns usually fit 2.5-5 degrees of freedom.
* ``empirical`` -- the observed returns themselves, read back through their
  quantiles (``numpy.quantile``, linear between order statistics). Honest to
  the data, but it cannot produce a loss beyond the worst one observed.

With ``zero_mean`` (the default of the models that use them) the location is
set to zero: over one day the drift is noise next to the volatility, and a
fitted positive drift would only make VaR smaller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from crypto_bot_sdk import RiskError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MarginalKind = Literal["normal", "t", "empirical"]
MIN_T_DOF = 2.5
MAX_T_DOF = 1000.0  # beyond this a t is a normal to every digit VaR reports


class Marginal(Protocol):
    """One asset's return distribution, read through its quantile function."""

    @property
    def kind(self) -> str: ...

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Returns at probabilities ``u`` (0 < u < 1)."""
        ...

    def scaled(self, factor: float) -> Marginal:
        """The same shape with returns ``factor`` times as large (a volatility shock)."""
        ...

    def describe(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class NormalMarginal:
    loc: float
    scale: float
    kind: str = "normal"

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        from scipy import special

        return self.loc + self.scale * special.ndtri(u)

    def scaled(self, factor: float) -> NormalMarginal:
        return NormalMarginal(self.loc * factor, self.scale * factor)

    def describe(self) -> dict[str, float]:
        return {"loc": self.loc, "scale": self.scale}


@dataclass(frozen=True)
class StudentTMarginal:
    dof: float
    loc: float
    scale: float
    kind: str = "t"

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        import numpy as np
        from scipy import special

        return np.asarray(self.loc + self.scale * special.stdtrit(self.dof, u), np.float64)

    def scaled(self, factor: float) -> StudentTMarginal:
        return StudentTMarginal(self.dof, self.loc * factor, self.scale * factor)

    def describe(self) -> dict[str, float]:
        return {"dof": self.dof, "loc": self.loc, "scale": self.scale}


@dataclass(frozen=True)
class EmpiricalMarginal:
    sample: NDArray[np.float64] = field(repr=False)
    kind: str = "empirical"

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        import numpy as np

        return np.asarray(np.quantile(self.sample, u), dtype=np.float64)

    def scaled(self, factor: float) -> EmpiricalMarginal:
        return EmpiricalMarginal(self.sample * factor)

    def describe(self) -> dict[str, float]:
        return {
            "observations": float(self.sample.size),
            "min": float(self.sample.min()),
            "max": float(self.sample.max()),
        }


def _fit_t(x: NDArray[np.float64], zero_mean: bool) -> StudentTMarginal:
    from scipy import stats

    if float(stats.kurtosis(x)) <= 0:
        # Tails no fatter than the normal's: the likelihood climbs towards infinite
        # degrees of freedom, so take its limit (the normal) without the search.
        return StudentTMarginal(MAX_T_DOF, 0.0 if zero_mean else float(x.mean()), float(x.std()))
    if zero_mean:  # the de-meaned returns, with the location held at 0
        data = x - x.mean()
        dof, loc, scale = stats.t.fit(data, floc=0.0)
        if dof < MIN_T_DOF:
            dof, loc, scale = stats.t.fit(data, fix_df=MIN_T_DOF, floc=0.0)
    else:
        dof, loc, scale = stats.t.fit(x)
        if dof < MIN_T_DOF:
            dof, loc, scale = stats.t.fit(x, fix_df=MIN_T_DOF)
    return StudentTMarginal(min(float(dof), MAX_T_DOF), float(loc), float(scale))


def fit_marginal(
    sample: NDArray[np.float64], kind: MarginalKind, *, zero_mean: bool = True, symbol: str = ""
) -> Marginal:
    """Fit one asset's marginal of ``kind`` to its returns."""
    import numpy as np

    x = np.asarray(sample, dtype=np.float64)
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise RiskError(f"{symbol or 'an asset'}: need at least 2 finite returns to fit a marginal")
    mean = float(x.mean())
    if kind == "normal":
        return NormalMarginal(0.0 if zero_mean else mean, float(x.std()))
    if kind == "empirical":
        return EmpiricalMarginal(x - mean if zero_mean else x.copy())
    if kind == "t":
        return _fit_t(x, zero_mean)
    raise RiskError(f"unknown marginal {kind!r}; use 'normal', 't' or 'empirical'")
