"""Sizing: from a policy's signal to an order intent.

Two modes. ``discrete`` holds a full long, a full short or nothing, and trades
only when that state changes: a crossover strategy's classic behaviour, and no
churn as prices drift. ``proportional`` scales the target with score x
confidence and trades only when the target moved by more than a band, so small
signal wiggles do not pay fees.

``notional_per_symbol`` is money in the portfolio currency: a market quoted in
another currency (``ETH/BTC`` in a USDT book) is sized at ``rate``, the
portfolio currency per unit of the market's settlement currency, so a full
position is worth the same whatever a market is quoted in. In a single-currency
book the rate is 1 and the arithmetic is exactly what it was.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    Instrument,
    InstrumentKind,
    OrderIntent,
    OrderType,
    Side,
    Signal,
    TimeInForce,
)

ZERO = Decimal(0)
ONE = Decimal(1)


class SizingMode(StrEnum):
    DISCRETE = "discrete"
    PROPORTIONAL = "proportional"


class SizingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: SizingMode = SizingMode.DISCRETE
    notional_per_symbol: Decimal = Field(
        default=Decimal(10_000),
        gt=0,
        description="Size of a full position in the portfolio currency (portfolio."
        "base_currency; a market quoted in another currency is converted).",
    )
    entry_threshold: float = Field(default=0.0, ge=0, lt=1)
    long_only: bool = False
    rebalance_band: Decimal = Field(
        default=Decimal("0.25"),
        ge=0,
        description=(
            "proportional mode: trade only when the target moved by this fraction "
            "of a full position."
        ),
    )
    order_type: Literal["market", "limit"] = "market"
    quantity_per_symbol: Decimal | None = Field(
        default=None,
        gt=0,
        description=(
            "Base-unit size of a full position (e.g. 1 BTC) instead of notional_per_symbol: "
            "trades then compare unit for unit with other backtesters."
        ),
    )


def full_position(
    config: SizingConfig, price: Decimal, instrument: Instrument, rate: Decimal = ONE
) -> Decimal:
    """A full position in base units on the lot grid: the fixed quantity, or the notional at
    ``price`` (and ``rate``, portfolio currency per unit of the market's settle currency)."""
    if config.quantity_per_symbol is not None:
        return instrument.round_quantity(config.quantity_per_symbol)
    return instrument.round_quantity(config.notional_per_symbol / _unit(price, instrument, rate))


def _unit(price: Decimal, instrument: Instrument, rate: Decimal) -> Decimal:
    """Portfolio money per base unit; the rate is left out when it is 1 (the same digits)."""
    if rate == ONE:
        return price * instrument.contract_size
    return price * instrument.contract_size * rate


def target_quantity(
    config: SizingConfig,
    signal: Signal,
    price: Decimal,
    instrument: Instrument,
    rate: Decimal = ONE,
) -> Decimal:
    """The position the signal asks for, in base units on the lot grid."""
    full = full_position(config, price, instrument, rate)
    score = signal.score
    if (config.long_only or instrument.kind is InstrumentKind.SPOT) and score < 0:
        # Spot cannot be shorted without borrowing, which no venue contract offers.
        score = 0.0
    if abs(score) <= config.entry_threshold:
        return ZERO
    if config.mode is SizingMode.DISCRETE:
        return full if score > 0 else -full
    fraction = Decimal(repr(score * signal.confidence))
    return instrument.round_quantity(abs(full * fraction)) * (1 if fraction > 0 else -1)


def intent_for(
    config: SizingConfig,
    signal: Signal,
    *,
    current: Decimal,
    price: Decimal,
    instrument: Instrument,
    intent_id: str,
    policy: str,
    rate: Decimal = ONE,
) -> OrderIntent | None:
    """The intent that moves ``current`` to the target, or ``None`` when no trade is due.

    ``rate`` is the portfolio currency per unit of the instrument's settlement currency.
    """
    target = target_quantity(config, signal, price, instrument, rate)
    if config.mode is SizingMode.DISCRETE:
        if (target > 0) == (current > 0) and (target < 0) == (current < 0):
            return None
    else:
        full = (
            config.quantity_per_symbol
            if config.quantity_per_symbol is not None
            else config.notional_per_symbol / _unit(price, instrument, rate)
        )
        if abs(target - current) < full * config.rebalance_band:
            return None
    delta = target - current
    quantity = instrument.round_quantity(abs(delta))
    if quantity <= 0 or quantity * price * instrument.contract_size < instrument.min_notional:
        return None
    side = Side.BUY if delta > 0 else Side.SELL
    reduce_only = target == 0 or (abs(target) < abs(current) and (target > 0) == (current > 0))
    order_type = OrderType.LIMIT if config.order_type == "limit" else OrderType.MARKET
    return build(
        OrderIntent,
        intent_id=intent_id,
        symbol=signal.symbol,
        venue=instrument.venue,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=instrument.round_price(price) if order_type is OrderType.LIMIT else None,
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        reduce_only=reduce_only,
        post_only=False,
        ts=signal.ts,
        policy=policy,
        reason=(
            f"{signal.agent} score {signal.score:+.3f} (confidence {signal.confidence:.2f}): "
            f"target {target} from {current}"
        ),
    )
