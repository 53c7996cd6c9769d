"""Limits of the standard risk rules. Money limits are in the portfolio's quote currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk import PluginConfig, PositiveMoney, parse_symbol


def _check_symbols(value: dict[str, Decimal]) -> dict[str, Decimal]:
    for symbol in value:
        parse_symbol(symbol)
    return value


class MaxOrderNotionalConfig(PluginConfig):
    """A fat-finger guard: no single order worth more than the limit."""

    limit: PositiveMoney = Field(description="Largest order value, in the portfolio currency.")
    per_symbol: dict[str, PositiveMoney] = Field(
        default_factory=dict, description="Per-symbol limits that replace 'limit'."
    )

    _symbols = field_validator("per_symbol")(_check_symbols)


class MaxPositionConfig(PluginConfig):
    """The largest net position per symbol (summed over venues), long or short."""

    max_notional: PositiveMoney | None = Field(
        default=None,
        description="Largest position value per symbol, in the portfolio currency.",
    )
    max_quantity: dict[str, PositiveMoney] = Field(
        default_factory=dict,
        description="Largest position per symbol in its own units (base or contracts); "
        "where both limits apply the tighter one wins.",
    )
    count_open_orders: bool = Field(
        default=True,
        description="Count open orders on the intent's side as if filled (the worst case).",
    )

    _symbols = field_validator("max_quantity")(_check_symbols)

    @model_validator(mode="after")
    def _some_limit(self) -> MaxPositionConfig:
        if self.max_notional is None and not self.max_quantity:
            raise ValueError("set max_notional, max_quantity or both; neither limits anything")
        return self


class MaxGrossExposureConfig(PluginConfig):
    """The largest sum of absolute position values over all symbols."""

    max_gross_notional: PositiveMoney | None = Field(
        default=None, description="Largest gross exposure, in the portfolio currency."
    )
    max_leverage: Decimal | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Largest gross exposure as a multiple of equity (3 = 3x).",
    )

    @model_validator(mode="after")
    def _some_limit(self) -> MaxGrossExposureConfig:
        if self.max_gross_notional is None and self.max_leverage is None:
            raise ValueError("set max_gross_notional, max_leverage or both")
        return self


class MaxDrawdownConfig(PluginConfig):
    """The loss from peak equity at which trading stops and the kill switch trips."""

    max_drawdown: Decimal = Field(
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="Largest drawdown from peak equity, as a fraction (0.2 = 20%).",
    )


class PriceBandConfig(PluginConfig):
    """How far a limit price may stray from the reference price."""

    max_deviation_bps: Decimal = Field(
        default=Decimal(500),
        gt=0,
        le=10_000,
        allow_inf_nan=False,
        description="Largest distance of a limit price from the reference, in basis points.",
    )
    missing_reference: Literal["reject", "approve"] = Field(
        default="reject",
        description="What to do when no reference or last price is known to compare with.",
    )
