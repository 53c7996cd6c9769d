"""Settings of one simulated venue: fees, price offset, latency, slippage, funds, instruments.

Several named venues are several instances, each with its own config, all fed
the same data stream; the ``price_offset_*`` fields make their prices differ
so routing and best-execution logic have something to choose between.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from crypto_bot_sdk import Instrument, InstrumentKind, PluginConfig

_VENUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
DEFAULT_FUNDS = Decimal(100000)
"""Starting cash of a venue whose ``balances`` are not configured, in its markets' currency."""


class InstrumentSpec(PluginConfig):
    """One tradable market of the venue and the increments its orders must respect."""

    symbol: str = Field(description="ccxt unified symbol: 'BTC/USDT' or 'BTC/USDT:USDT'.")
    kind: InstrumentKind | None = Field(
        default=None,
        description="spot or perpetual; left out, it follows the symbol (':SETTLE' = perpetual).",
    )
    tick_size: Decimal = Field(gt=0, allow_inf_nan=False)
    lot_size: Decimal = Field(gt=0, allow_inf_nan=False)
    min_notional: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)
    contract_size: Decimal = Field(default=Decimal(1), gt=0, allow_inf_nan=False)

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        # The SDK's Instrument owns the symbol rules; a probe reuses its message.
        kind = InstrumentKind.PERPETUAL if ":" in value else InstrumentKind.SPOT
        try:
            Instrument(symbol=value, venue="config", kind=kind, tick_size=1, lot_size=1)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc
        return value


class DerivedInstruments(PluginConfig):
    """Increments for symbols that appear in the data stream but not in ``instruments``.

    Lets a backtest trade whatever a replay or synthetic source emits without
    listing every market; the fine default grid accepts any realistic size.
    """

    tick_size: Decimal = Field(default=Decimal("0.00000001"), gt=0, allow_inf_nan=False)
    lot_size: Decimal = Field(default=Decimal("0.00000001"), gt=0, allow_inf_nan=False)
    min_notional: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)


class PaperExchangeConfig(PluginConfig):
    """Everything that makes one paper venue behave like a particular real one."""

    venue: str = Field(
        default="paper",
        pattern=_VENUE_PATTERN,
        description="Venue name used in instruments, orders, fills and ids ('{venue}-{n}').",
    )
    data_venue: str | None = Field(
        default=None,
        description="Only match against events whose 'venue' is this; None uses every event.",
    )
    maker_fee: Decimal = Field(
        default=Decimal("0.0002"),
        ge=0,
        allow_inf_nan=False,
        description="Fraction of notional charged on resting (maker) fills. Rebates (< 0) "
        "cannot be expressed: an SDK Fill's fee is never negative.",
    )
    taker_fee: Decimal = Field(
        default=Decimal("0.0004"),
        ge=0,
        allow_inf_nan=False,
        description="Fraction of notional charged on fills that take liquidity.",
    )
    price_offset_bps: Decimal = Field(
        default=Decimal(0),
        gt=-10000,
        allow_inf_nan=False,
        description="This venue's prices = stream price * (1 + bps/10000) + price_offset.",
    )
    price_offset: Decimal = Field(
        default=Decimal(0),
        allow_inf_nan=False,
        description="Absolute amount added to every stream price after the bps offset.",
    )
    latency_ms: int = Field(
        default=0,
        ge=0,
        description="An order submitted at venue time T matches only events with ts >= T + "
        "latency. Venue time is the close of the last bar (ts + timeframe) or the last "
        "trade/book ts.",
    )
    fill_at: Literal["next_open", "signal_close"] = Field(
        default="next_open",
        description="'next_open': market and marketable orders match the next event (a bar's "
        "open). 'signal_close': they match at submission against the last price seen (the "
        "signal bar's close), as backtesting.py's trade_on_close does.",
    )
    slippage_bps: Decimal = Field(
        default=Decimal(0),
        ge=0,
        allow_inf_nan=False,
        description="Fixed adverse slippage on every taker fill, in basis points.",
    )
    impact_coefficient: Decimal = Field(
        default=Decimal(0),
        ge=0,
        allow_inf_nan=False,
        description="Size-dependent slippage on bar/trade fills: coefficient * (qty / volume) "
        "** impact_exponent, as a fraction of price.",
    )
    impact_exponent: Decimal = Field(
        default=Decimal("0.5"),
        gt=0,
        le=2,
        allow_inf_nan=False,
        description="0.5 is the square-root impact law; 1 is linear.",
    )
    max_participation: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Largest fraction of a bar's volume (a trade's amount, a book level's "
        "size) this account can take; the rest of an order fills on later events. None: "
        "no cap.",
    )
    balances: dict[str, Decimal] | None = Field(
        default=None,
        description="Starting wallet balance per asset, e.g. {USD: 100000, BTC: 1}. Unset: "
        f"{DEFAULT_FUNDS} in the currency the venue's markets settle in (USDT when they settle "
        "in several and USDT is one of them; otherwise set it).",
    )
    leverage: Decimal = Field(
        default=Decimal(1),
        ge=1,
        le=125,
        allow_inf_nan=False,
        description="Default leverage of perpetuals: initial margin = notional / leverage.",
    )
    instruments: tuple[InstrumentSpec, ...] = Field(
        default=(), description="Markets with explicit tick, lot and minimum notional."
    )
    derive_instruments: DerivedInstruments | None = Field(
        default_factory=DerivedInstruments,
        description="Increments for symbols seen in the data but not listed; None trades "
        "only the listed instruments.",
    )

    @field_validator("balances")
    @classmethod
    def _non_negative_balances(cls, value: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        if value is None:
            return None
        for asset, amount in value.items():
            if not amount.is_finite() or amount < 0:
                raise ValueError(
                    f"starting balance of {asset!r} is {amount}; give a finite amount >= 0"
                )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PaperExchangeConfig:
        if self.fill_at == "signal_close" and self.latency_ms:
            raise ValueError(
                f"fill_at 'signal_close' fills at the signal bar's close, which latency_ms "
                f"{self.latency_ms} contradicts; set latency_ms 0 or use fill_at 'next_open'"
            )
        symbols = [spec.symbol for spec in self.instruments]
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise ValueError(f"instruments lists {duplicates} more than once; keep one entry each")
        return self
