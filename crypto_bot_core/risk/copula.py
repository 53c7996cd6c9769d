"""The Student-t copula model of joint returns, and its Monte-Carlo paths.

A path draws correlated normals ``z = L e`` (``L`` the Cholesky factor of the
shrunk correlation), turns them into a multivariate t with one chi-square per
path, ``t = z sqrt(nu / w)``, and maps each coordinate through its own
marginal: ``r_i = F_i^-1(T_nu(t_i))``. The shared ``w`` is what gives the
t copula its tail dependence: in a bad draw every coin is more likely to be in
its tail at once, which the Gaussian copula (``family="gaussian"``,
``r_i = F_i^-1(Phi(z_i))``) does not do.

Speed and memory. ``F_i^-1(T_nu(.))`` is a smooth increasing function of one
variable, so it is tabulated once per model on :data:`GRID_POINTS` points
of ``t`` (exactly, with scipy) and read back by linear interpolation: one
``take`` per element instead of a t CDF and a quantile function. Draws
beyond the table's ends (probability :data:`TAIL_PROBABILITY` each) take the
end value. Paths are made in chunks of :data:`CHUNK_PATHS` in float32, in
buffers reused from chunk to chunk, so memory stays at a few tens of MB
whatever the number of paths; only the portfolio P&L of each path is kept
when that is all that is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from crypto_bot_core.risk.marginals import Marginal, MarginalKind, fit_marginal
from crypto_bot_core.risk.returns import DAY_SECONDS, ReturnHistory
from crypto_bot_sdk import RiskError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CopulaFamily = Literal["t", "gaussian"]
GRID_POINTS = 4097
TAIL_PROBABILITY = 1e-7
CHUNK_PATHS = 8192


@dataclass(frozen=True)
class _Tables:
    cholesky: NDArray[np.float32]
    values: NDArray[np.float32]  # (d * G,): F_i^-1 on the grid, times the horizon scale
    slopes: NDArray[np.float32]  # (d * G,): the difference to the next grid point
    offsets: NDArray[np.int32]  # (d, 1): where each asset's row starts
    half_width: float  # the grid covers [-half_width, half_width]
    step: float


@dataclass(frozen=True)
class CopulaModel:
    """Joint one-horizon returns of ``symbols``: a copula, a correlation and a marginal each."""

    symbols: tuple[str, ...]
    correlation: NDArray[np.float64]
    marginals: tuple[Marginal, ...]
    family: CopulaFamily = "t"
    dof: float = 5.0
    horizon_scale: float = 1.0
    shrinkage: float | None = None
    mean_correlation: float | None = None
    observations: int = 0
    _tables: _Tables = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        d = len(self.symbols)
        if self.correlation.shape != (d, d) or len(self.marginals) != d:
            raise RiskError(
                f"a model of {d} symbols needs a {d}x{d} correlation and {d} marginals; got "
                f"{self.correlation.shape} and {len(self.marginals)}"
            )
        if self.family == "t" and not self.dof > 2:
            raise RiskError(f"t copula degrees of freedom {self.dof} must be above 2")
        object.__setattr__(self, "_tables", self._build_tables())

    @classmethod
    def fit(
        cls,
        history: ReturnHistory,
        *,
        family: CopulaFamily = "t",
        dof: float = 5.0,
        marginal: MarginalKind = "t",
        horizon_seconds: float = DAY_SECONDS,
        zero_mean: bool = True,
        fitted: Sequence[Marginal] | None = None,
    ) -> CopulaModel:
        """Estimate the model from ``history``: shrunk correlation, one fitted marginal each.

        ``fitted`` passes marginals already fitted to these very returns (a cache's).
        """
        from crypto_bot_core.risk.shrinkage import constant_correlation_shrinkage

        estimate = constant_correlation_shrinkage(history.returns, history.symbols)
        marginals = (
            tuple(fitted)
            if fitted is not None
            else tuple(
                fit_marginal(history.returns[:, i], marginal, zero_mean=zero_mean, symbol=symbol)
                for i, symbol in enumerate(history.symbols)
            )
        )
        return cls(
            symbols=history.symbols,
            correlation=estimate.correlation,
            marginals=marginals,
            family=family,
            dof=dof,
            horizon_scale=history.horizon_scale(horizon_seconds),
            shrinkage=estimate.intensity,
            mean_correlation=estimate.mean_correlation,
            observations=estimate.observations,
        )

    def stressed(
        self,
        *,
        volatility: Mapping[str, float] | None = None,
        correlation_target: float | None = None,
        correlation_weight: float = 1.0,
    ) -> CopulaModel:
        """The model under a scenario: marginals scaled, correlations pulled to a target.

        Off the diagonal the correlation becomes ``(1 - w) r_ij + w target``;
        with a target in [0, 1) a positive definite matrix stays so.
        """
        import numpy as np

        factors = volatility or {}
        marginals = tuple(
            m.scaled(factors[s]) if s in factors else m
            for s, m in zip(self.symbols, self.marginals, strict=True)
        )
        correlation = self.correlation
        if correlation_target is not None:
            w = correlation_weight
            correlation = (1 - w) * self.correlation + w * correlation_target
            np.fill_diagonal(correlation, 1.0)
        return replace(self, marginals=marginals, correlation=correlation)

    def _build_tables(self) -> _Tables:
        import numpy as np
        from scipy import special

        from crypto_bot_core.risk.shrinkage import nearest_correlation

        try:
            chol = np.linalg.cholesky(self.correlation)
        except np.linalg.LinAlgError:
            chol = np.linalg.cholesky(nearest_correlation(self.correlation))
        if self.family == "t":
            half = float(special.stdtrit(self.dof, 1 - TAIL_PROBABILITY))
            grid = np.linspace(-half, half, GRID_POINTS)
            u = special.stdtr(self.dof, grid)
        else:
            half = float(special.ndtri(1 - TAIL_PROBABILITY))
            grid = np.linspace(-half, half, GRID_POINTS)
            u = special.ndtr(grid)
        probabilities: NDArray[np.float64] = np.clip(
            u, TAIL_PROBABILITY / 2, 1 - TAIL_PROBABILITY / 2
        ).astype(np.float64)
        values = np.stack([m.ppf(probabilities) for m in self.marginals]) * self.horizon_scale
        slopes = np.zeros_like(values)
        slopes[:, :-1] = np.diff(values, axis=1)
        d = len(self.symbols)
        return _Tables(
            cholesky=chol.astype(np.float32),
            values=values.astype(np.float32).ravel(),
            slopes=slopes.astype(np.float32).ravel(),
            offsets=(np.arange(d, dtype=np.int32) * GRID_POINTS)[:, None],
            half_width=half,
            step=float(grid[1] - grid[0]),
        )

    def blocks(
        self, paths: int, seed: int, chunk: int = CHUNK_PATHS
    ) -> Iterator[NDArray[np.float32]]:
        """Horizon returns, ``(symbols, m)`` per block, ``paths`` columns in all; seeded.

        The block is a buffer reused for the next one: read (or copy) it before
        asking for the next. Reusing five buffers instead of allocating them per
        chunk keeps memory flat and saves the page faults of fresh memory.
        """
        import numpy as np

        if paths < 1:
            raise RiskError(f"paths must be at least 1, not {paths}")
        tables = self._tables
        d = len(self.symbols)
        rng = np.random.default_rng(seed)
        top = float(GRID_POINTS - 1)
        centre = np.float32(tables.half_width / tables.step)
        buffers: dict[int, tuple[NDArray[np.float32], ...]] = {}
        index_buffers: dict[int, NDArray[np.int32]] = {}
        for start in range(0, paths, chunk):
            m = min(chunk, paths - start)
            if m not in buffers:  # the full chunk, and the last one if it is shorter
                buffers = {m: tuple(np.empty((d, m), dtype=np.float32) for _ in range(4))}
                index_buffers = {m: np.empty((d, m), dtype=np.int32)}
            z, y, block, slope = buffers[m]
            index = index_buffers[m]
            rng.standard_normal(out=z, dtype=np.float32)
            np.matmul(tables.cholesky, z, out=y)
            if self.family == "t":
                y *= (np.sqrt(self.dof / rng.chisquare(self.dof, m)) / tables.step).astype(
                    np.float32
                )
            else:
                y *= np.float32(1.0 / tables.step)
            y += centre
            np.clip(y, 0.0, top, out=y)
            np.floor(y, out=z)  # z now holds the grid point below each draw
            np.copyto(index, z, casting="unsafe")
            y -= z  # y is now the fraction between grid points
            index += tables.offsets
            # mode="clip": the indices are in range by construction, and "raise" would
            # buffer the output (a copy per call) to check them.
            np.take(tables.values, index, out=block, mode="clip")
            np.take(tables.slopes, index, out=slope, mode="clip")
            slope *= y
            block += slope
            yield block

    def scenarios(self, paths: int, seed: int) -> NDArray[np.float64]:
        """All ``paths`` x ``symbols`` horizon returns at once (for repeated re-weighting)."""
        import numpy as np

        out = np.empty((paths, len(self.symbols)), dtype=np.float64)
        start = 0
        for block in self.blocks(paths, seed):
            m = block.shape[1]
            out[start : start + m] = block.T
            start += m
        return out

    def portfolio_pnl(
        self, exposures: Sequence[float], paths: int, seed: int, chunk: int = CHUNK_PATHS
    ) -> NDArray[np.float64]:
        """P&L of each path for signed ``exposures`` (money per symbol), memory-bounded."""
        import numpy as np

        weights = np.asarray(exposures, dtype=np.float32)
        if weights.shape != (len(self.symbols),):
            raise RiskError(f"{weights.size} exposures for a model of {len(self.symbols)} symbols")
        out = np.empty(paths, dtype=np.float64)
        start = 0
        for block in self.blocks(paths, seed, chunk):
            m = block.shape[1]
            out[start : start + m] = weights @ block
            start += m
        return out
