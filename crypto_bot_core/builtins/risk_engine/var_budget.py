"""``portfolio_var``: new entries stop where the portfolio's VaR (or ES) would exceed its budget.

The model is the risk engine's t copula (``crypto_bot_core.risk``), fitted on
the market view's bars up to the last ``refit_every`` boundary and kept while
those bars are the same. Its simulated paths value the book before and after
the order: ``P&L = paths @ exposures``, the order adding ``quantity x unit
value x its symbol's column``. The verdict:

* after the order within budget: approve, with VaR before and after;
* the order lowers VaR: approve (even above budget, it helps);
* VaR already at or over budget: reject;
* otherwise resize to the largest quantity whose VaR fits (bisection on the
  same paths, rounded down to the lot), or reject when none does.

Orders that only shrink a position pass without a model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from crypto_bot_core.builtins.risk_engine.config import PortfolioVarConfig
from crypto_bot_core.builtins.risk_engine.valuation import (
    Valued,
    money,
    qty,
    reduces_position,
    show,
    value_intent,
)
from crypto_bot_core.risk.model_cache import ModelCache
from crypto_bot_core.risk.portfolio_var import VarSettings
from crypto_bot_sdk import OrderIntent, RiskContext, RiskError, RiskRule, RiskVerdict

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_BISECTIONS = 48


class PortfolioVar(RiskRule[PortfolioVarConfig]):
    """Throttles entries that would take Monte-Carlo VaR (or ES) beyond the budget."""

    name = "portfolio_var"
    config_model = PortfolioVarConfig

    def __init__(self, config: PortfolioVarConfig) -> None:
        super().__init__(config)
        self._settings = VarSettings(
            confidence=config.confidence,
            horizon=config.horizon,
            paths=config.paths,
            seed=config.seed,
            copula=config.copula,
            copula_dof=config.copula_dof,
            marginal=config.marginal,
        )
        self._cache = ModelCache()

    def _missing(self, reason: str) -> RiskVerdict:
        if self.config.missing_history == "approve":
            return RiskVerdict.approve(self.name, f"{reason}; allowed by configuration")
        return RiskVerdict.reject(self.name, f"{reason}; no new risk without a VaR model")

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        from crypto_bot_core.risk.exposure import exposures
        from crypto_bot_core.risk.returns import (
            interval_seconds,
            refit_boundary,
            returns_from_market,
        )

        cfg = self.config
        portfolio = context.portfolio
        if reduces_position(intent, portfolio.net_quantity(intent.symbol)):
            return RiskVerdict.approve(self.name, f"only reduces the {intent.symbol} position")
        try:
            valued = value_intent(intent, context)
            held = exposures(portfolio, context.market)
            symbols = list(dict.fromkeys([*held, intent.symbol]))
            until = refit_boundary(context.market.now, interval_seconds(cfg.refit_every))
            history = returns_from_market(
                context.market, symbols, lookback=cfg.lookback, until=until
            )
        except RiskError as exc:
            return self._missing(f"cannot model the portfolio: {exc}")
        if history.observations < cfg.min_observations:
            return self._missing(
                f"{history.observations} aligned returns of {symbols} up to {until:%Y-%m-%d %H:%M}"
                f", fewer than min_observations {cfg.min_observations}"
            )
        try:
            paths = self._cache.scenarios(history, self._settings)
        except RiskError as exc:
            return self._missing(f"cannot fit the VaR model: {exc}")
        return self._verdict(intent, context, valued, held, symbols=symbols, paths=paths)

    def _verdict(
        self,
        intent: OrderIntent,
        context: RiskContext,
        valued: Valued,
        held: dict[str, Decimal],
        *,
        symbols: list[str],
        paths: NDArray[np.float64],
    ) -> RiskVerdict:
        import numpy as np

        from crypto_bot_core.risk.var import tail_risk

        cfg = self.config
        equity = context.portfolio.equity
        budgets = [b for b in (cfg.budget,) if b is not None]
        if cfg.budget_fraction is not None:
            budgets.append(max(Decimal(0), cfg.budget_fraction * equity))
        budget = float(min(budgets))
        weights = np.array([float(held.get(s, 0)) for s in symbols])
        base = paths @ weights
        column = paths[:, symbols.index(intent.symbol)] * float(valued.unit) * intent.side.sign

        def risk(quantity: float) -> float:
            tail = tail_risk(base + quantity * column, cfg.confidence, "monte-carlo")
            return tail.var if cfg.metric == "var" else tail.es

        full = float(intent.quantity)
        before, after = risk(0.0), risk(full)
        label = f"{cfg.confidence:.0%} {cfg.horizon} {cfg.metric.upper()}"
        ccy = valued.currency
        figures = {
            f"{cfg.metric}_before": money(before),
            f"{cfg.metric}_after": money(after),
            "budget": money(budget),
            "paths": str(cfg.paths),
            "price": format(valued.price, "f"),
        }
        state = f"{label} {show(before)} -> {show(after)} {ccy} (budget {show(budget)} {ccy})"
        if after <= budget:
            return RiskVerdict(
                rule=self.name, action="approve", reason=f"{state}: within budget", figures=figures
            )
        if after <= before:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"{state}: over budget, but the order lowers it",
                figures=figures,
            )
        if before >= budget:
            return RiskVerdict.reject(
                self.name,
                f"{state}: the portfolio is already at its budget; no new risk",
                **figures,
            )
        low, high = 0.0, full
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            if risk(middle) <= budget:
                low = middle
            else:
                high = middle
        allowed = valued.round_down(Decimal(repr(low)))
        if allowed >= intent.quantity or not valued.fits_venue(allowed):
            return RiskVerdict.reject(
                self.name, f"{state}: no size on the lot grid fits the budget", **figures
            )
        figures[f"{cfg.metric}_resized"] = money(risk(float(allowed)))
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{state}: throttled to {qty(allowed)}, the largest size within budget",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
