"""Settings of the risk-engine rules. Money limits are in the portfolio's currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk import PluginConfig, PositiveMoney, parse_symbol

MissingData = Literal["reject", "approve"]


def _interval(value: str) -> str:
    from crypto_bot_core.risk.returns import interval_seconds

    interval_seconds(value)
    return value


class PortfolioVarConfig(PluginConfig):
    """A VaR (or ES) budget that throttles new entries."""

    budget: PositiveMoney | None = Field(
        default=None, description="Largest VaR (or ES) after the order, in money."
    )
    budget_fraction: Decimal | None = Field(
        default=None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="Largest VaR (or ES) as a fraction of equity; the tighter budget wins.",
    )
    metric: Literal["var", "es"] = Field(default="var", description="Budget VaR or ES.")
    confidence: float = Field(default=0.99, ge=0.5, lt=1, description="Confidence level.")
    horizon: str = Field(default="1d", description="Horizon: returns are scaled by sqrt(time).")
    paths: int = Field(default=10_000, ge=100, le=1_000_000, description="Monte-Carlo paths.")
    seed: int = Field(default=0, ge=0, description="Seed of the paths.")
    copula: Literal["t", "gaussian"] = Field(default="t", description="Copula family.")
    copula_dof: float = Field(default=5.0, gt=2, le=1000, description="t copula's dof.")
    marginal: Literal["t", "empirical", "normal"] = Field(
        default="t", description="Per-asset marginal."
    )
    lookback: int = Field(default=250, ge=20, le=100_000, description="Bars of returns.")
    min_observations: int = Field(
        default=60, ge=10, description="Fewer aligned returns than this: no model."
    )
    refit_every: str = Field(
        default="1d", description="The model is fitted on bars up to the last such boundary."
    )
    missing_history: MissingData = Field(
        default="reject", description="What to do when there is too little history for a model."
    )

    _horizon = field_validator("horizon", "refit_every")(_interval)

    @model_validator(mode="after")
    def _some_budget(self) -> PortfolioVarConfig:
        if self.budget is None and self.budget_fraction is None:
            raise ValueError("set budget, budget_fraction or both")
        if self.min_observations > self.lookback:
            raise ValueError(
                f"min_observations {self.min_observations} exceeds lookback {self.lookback}"
            )
        return self


class StressLimitConfig(PluginConfig):
    """The largest projected loss, under any of the scenarios, after the order."""

    scenarios: tuple[str, ...] = Field(
        min_length=1, description="Shipped scenario names or scenario files."
    )
    max_loss: PositiveMoney | None = Field(default=None, description="Largest projected loss.")
    max_loss_fraction: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Largest projected loss as a fraction of equity; the tighter limit wins.",
    )

    @field_validator("scenarios")
    @classmethod
    def _loadable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from crypto_bot_core.risk.scenario_file import load_scenario

        for reference in value:
            load_scenario(reference)
        return value

    @model_validator(mode="after")
    def _some_limit(self) -> StressLimitConfig:
        if self.max_loss is None and self.max_loss_fraction is None:
            raise ValueError("set max_loss, max_loss_fraction or both")
        return self


class LiquidityGuardConfig(PluginConfig):
    """Expected slippage from the order book, capped."""

    max_slippage_bps: Decimal = Field(
        gt=0,
        le=10_000,
        allow_inf_nan=False,
        description="Largest expected slippage against the mid, in basis points.",
    )
    action: Literal["resize", "reject"] = Field(
        default="resize", description="Shrink an order to what fits, or refuse it."
    )
    missing_book: MissingData = Field(
        default="reject", description="What to do when no venue has a book of the symbol."
    )


class DynamicMarginConfig(PluginConfig):
    """Per-symbol exposure limit that shrinks when volatility rises."""

    base_notional: PositiveMoney = Field(description="Exposure allowed at the target ATR.")
    per_symbol: dict[str, PositiveMoney] = Field(
        default_factory=dict, description="Per-symbol base exposures that replace base_notional."
    )
    target_atr: Decimal = Field(
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="The ATR, as a fraction of price, at which the base applies (0.02 = 2%).",
    )
    atr_period: int = Field(default=14, ge=1, le=1000, description="ATR period in bars.")
    min_multiplier: Decimal = Field(
        default=Decimal("0.25"), gt=0, allow_inf_nan=False, description="Lower bound of the factor."
    )
    max_multiplier: Decimal = Field(
        default=Decimal(2), gt=0, allow_inf_nan=False, description="Upper bound of the factor."
    )
    missing_history: MissingData = Field(
        default="reject", description="What to do before atr_period + 1 bars exist."
    )

    @field_validator("per_symbol")
    @classmethod
    def _symbols(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol in value:
            parse_symbol(symbol)
        return value

    @model_validator(mode="after")
    def _bounds(self) -> DynamicMarginConfig:
        if self.min_multiplier > self.max_multiplier:
            raise ValueError(
                f"min_multiplier {self.min_multiplier} exceeds max_multiplier {self.max_multiplier}"
            )
        return self


class ArbitrageGuardConfig(PluginConfig):
    """Exposure limits of arbitrage legs (intents whose policy is ``policy``)."""

    policy: str = Field(default="arbitrage", min_length=1, description="Policy of the legs.")
    max_leg_notional: PositiveMoney = Field(description="Largest value of one leg.")
    max_net_notional: PositiveMoney = Field(
        description="Largest unhedged (net, all venues) exposure per symbol after a leg."
    )
    max_gross_notional: PositiveMoney | None = Field(
        default=None, description="Largest gross exposure per symbol (all venues) after a leg."
    )
    min_edge_bps: Decimal | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Re-check: the leg's edge over the best other venue, after fees, in bps.",
    )
    fees: dict[str, Decimal] = Field(
        default_factory=dict, description="Taker fee per venue for the re-check (0.001 = 10 bps)."
    )
    default_fee: Decimal = Field(
        default=Decimal("0.001"),
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="Taker fee of venues not in fees.",
    )
