"""Settings of the synthetic market: which markets, how long, and how the prices behave.

Every number that shapes the paths is a field here, so two runs with the same
config (seed included) produce the same bars, and a test can switch one
property (volatility clustering, venue spreads, regimes) on or off.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk import NonNegativeMoney, PluginConfig, PositiveMoney, UtcDatetime, parse_symbol

_VENUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
_TIMEFRAME = re.compile(r"^(?P<count>[1-9]\d*)(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_BARS = 10_000
MAX_BARS = 50_000_000

# Round-number starting prices for well-known USD-quoted pairs, so the common case
# needs no price table; any other pair must be priced in ``initial_prices``.
KNOWN_PRICES: dict[str, Decimal] = {
    "BTC": Decimal(60000),
    "ETH": Decimal(3000),
    "SOL": Decimal(150),
    "BNB": Decimal(550),
    "XRP": Decimal("0.6"),
    "ADA": Decimal("0.45"),
    "DOGE": Decimal("0.15"),
}
_USD_QUOTES = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD"})
Pace = Literal["none", "wall_clock"]


def timeframe_seconds(timeframe: str) -> int:
    """``"5m"`` -> 300. Months (``M``) are refused: they have no fixed length."""
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValueError(
            f"timeframe {timeframe!r} is not a fixed bar interval; write a count and a unit "
            "s, m, h, d or w (e.g. '1m', '15m', '4h', '1d')"
        )
    return int(match["count"]) * _UNIT_SECONDS[match["unit"]]


def pair_of(symbol: str) -> str:
    """The spot pair a symbol's price follows: ``BTC/USDT:USDT`` -> ``BTC/USDT``."""
    base, quote, _ = parse_symbol(symbol)
    return f"{base}/{quote}"


def _is_power_of_ten(value: Decimal) -> bool:
    normal = value.normalize()
    return normal.as_tuple().digits == (1,)


class SyntheticMarketConfig(PluginConfig):
    """A seeded, deterministic market: paths per pair, venues as offsets around them."""

    symbols: tuple[str, ...] = Field(
        default=("BTC/USDT", "ETH/USDT", "SOL/USDT"),
        min_length=1,
        description="ccxt unified symbols; 'BTC/USDT:USDT' is the perpetual of 'BTC/USDT' and "
        "follows the same price path plus a funding basis.",
    )
    venues: tuple[str, ...] = Field(
        default=("binance", "okx"),
        min_length=1,
        description="Venue names; every symbol trades on every venue at its own small offset.",
    )
    start: UtcDatetime = Field(
        default=datetime(2024, 1, 1, tzinfo=UTC), description="Open time of the first bar (UTC)."
    )
    timeframe: str = Field(default="1m", description="Bar interval: '1m', '5m', '1h', '1d'...")
    bars: int | None = Field(
        default=None,
        ge=1,
        le=MAX_BARS,
        description=f"Number of bars per market; leave out with 'end' unset for {DEFAULT_BARS} "
        "(or, with pace 'wall_clock', for no end).",
    )
    end: UtcDatetime | None = Field(
        default=None, description="Alternative to 'bars': bars open strictly before this time."
    )
    seed: int = Field(default=0, ge=0, description="Seed of every random draw.")
    pace: Pace = Field(
        default="none",
        description="'none': every bar at once (backtests, reports). 'wall_clock': each bar "
        "is emitted when its interval has ended in real time, from the current interval on "
        "(unless 'start' is given), for as long as the run lasts when neither 'bars' nor "
        "'end' is set: paper trading that runs until it is stopped.",
    )
    initial_prices: dict[str, PositiveMoney] = Field(
        default_factory=dict,
        description="Starting price per pair ('BTC/USDT'); well-known USD pairs have defaults.",
    )
    tick_sizes: dict[str, PositiveMoney] = Field(
        default_factory=dict,
        description="Price increment per symbol, a power of ten; default from the price level.",
    )
    lot_sizes: dict[str, PositiveMoney] = Field(
        default_factory=dict,
        description="Quantity increment per symbol, a power of ten; default from the price level.",
    )
    min_notional: NonNegativeMoney = Field(
        default=Decimal(5), description="Smallest order value (quote currency) on every market."
    )
    annual_volatility: float = Field(
        default=0.6, gt=0, le=5, description="Long-run annualised volatility of every pair."
    )
    annual_volatilities: dict[str, float] = Field(
        default_factory=dict, description="Per-pair override of 'annual_volatility'."
    )
    garch_alpha: float = Field(
        default=0.05, ge=0, lt=1, description="GARCH(1,1) reaction of variance to the last shock."
    )
    garch_beta: float = Field(
        default=0.93, gt=0, lt=1, description="GARCH(1,1) persistence of variance."
    )
    market_correlation: float = Field(
        default=0.6, ge=0, le=1, description="Share of each pair's shock variance that is common."
    )
    regime_mean_bars: int = Field(
        default=1440, ge=10, description="Mean length of a market regime, in bars."
    )
    trend_drift: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Drift per bar in trend regimes, as a fraction of the per-bar volatility.",
    )
    range_reversion: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description="Per-bar pull of the log price back to its level at the start of a range.",
    )
    range_vol_multiplier: float = Field(
        default=0.7, gt=0, le=1, description="Volatility scale in range regimes."
    )
    high_vol_multiplier: float = Field(
        default=2.5, ge=1, le=10, description="Volatility scale in high-volatility regimes."
    )
    venue_spread_bps: float = Field(
        default=3.0, ge=0, le=500, description="Long-run std of a venue's price offset, in bps."
    )
    venue_spread_half_life_bars: float = Field(
        default=30.0, gt=0, description="Half-life of a venue's offset, in bars."
    )
    perp_basis_bps: float = Field(
        default=5.0, ge=-500, le=500, description="Mean premium of perpetuals over spot, in bps."
    )
    perp_basis_vol_bps: float = Field(
        default=3.0, ge=0, le=500, description="Long-run std of the perpetual basis, in bps."
    )
    perp_basis_half_life_bars: float = Field(
        default=240.0, gt=0, description="Half-life of the perpetual basis, in bars."
    )
    funding_interval: str | None = Field(
        default=None,
        description="Emit each perpetual's funding rate (MetricPoint 'funding_rate', one per "
        "venue) at every multiple of this interval since the epoch, e.g. '8h'; off when unset.",
    )
    daily_quote_volume: float = Field(
        default=50_000_000.0,
        gt=0,
        description="Mean quote-currency volume per day of a spot symbol on the first venue.",
    )

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            parse_symbol(symbol)
        if len(set(value)) != len(value):
            raise ValueError(f"symbols must be unique; got {list(value)}")
        return value

    @field_validator("venues")
    @classmethod
    def _check_venues(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for venue in value:
            if not re.match(_VENUE_PATTERN, venue):
                raise ValueError(
                    f"venue {venue!r} must be 1-32 letters, digits or '._-', starting with a "
                    "letter or digit"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"venues must be unique; got {list(value)}")
        return value

    @field_validator("timeframe")
    @classmethod
    def _check_timeframe(cls, value: str) -> str:
        timeframe_seconds(value)
        return value

    @field_validator("funding_interval")
    @classmethod
    def _check_funding_interval(cls, value: str | None) -> str | None:
        if value is not None:
            timeframe_seconds(value)
        return value

    @field_validator("tick_sizes", "lot_sizes")
    @classmethod
    def _powers_of_ten(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol, size in value.items():
            if not _is_power_of_ten(size):
                raise ValueError(
                    f"{symbol}: increment {size} must be a power of ten (0.01, 1, 10...) so "
                    "prices stay exact in both Decimal and float form"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SyntheticMarketConfig:
        if self.garch_alpha + self.garch_beta >= 1:
            raise ValueError(
                f"garch_alpha + garch_beta = {self.garch_alpha + self.garch_beta} must be below "
                "1, or the variance has no long-run level; lower one of them"
            )
        if self.bars is not None and self.end is not None:
            raise ValueError("set either 'bars' or 'end', not both")
        if self.end is not None and self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )
        if self.bar_count > MAX_BARS:
            raise ValueError(f"{self.bar_count} bars exceed the limit of {MAX_BARS}; shorten 'end'")
        pairs = {pair_of(s) for s in self.symbols}
        for key, table in (
            ("initial_prices", self.initial_prices),
            ("annual_volatilities", self.annual_volatilities),
        ):
            stray = sorted(set(table) - pairs)
            if stray:
                raise ValueError(
                    f"{key} names pairs not traded here: {stray}; pairs: {sorted(pairs)}"
                )
        for key, sizes in (("tick_sizes", self.tick_sizes), ("lot_sizes", self.lot_sizes)):
            stray = sorted(set(sizes) - set(self.symbols))
            if stray:
                raise ValueError(f"{key} names unknown symbols {stray}")
        for pair in sorted(pairs):
            self.initial_price(pair)
        for pair, vol in self.annual_volatilities.items():
            if not 0 < vol <= 5:
                raise ValueError(f"annual_volatilities[{pair}] = {vol} must be in (0, 5]")
        return self

    @property
    def bar_seconds(self) -> int:
        return timeframe_seconds(self.timeframe)

    @property
    def unbounded(self) -> bool:
        """A wall-clock market with no 'bars' and no 'end': it never ends by itself."""
        return self.pace == "wall_clock" and self.bars is None and self.end is None

    @property
    def bar_count(self) -> int:
        if self.bars is not None:
            return self.bars
        if self.end is None:
            return DEFAULT_BARS
        span = (self.end - self.start) / timedelta(seconds=self.bar_seconds)
        return math.ceil(span)

    def initial_price(self, pair: str) -> Decimal:
        if pair in self.initial_prices:
            return self.initial_prices[pair]
        base, quote, _ = parse_symbol(pair)
        if quote in _USD_QUOTES and base in KNOWN_PRICES:
            return KNOWN_PRICES[base]
        raise ValueError(
            f"no starting price for {pair}: add it to initial_prices (e.g. "
            f"initial_prices: {{'{pair}': 100}})"
        )

    def volatility(self, pair: str) -> float:
        return self.annual_volatilities.get(pair, self.annual_volatility)

    def tick_size(self, symbol: str) -> Decimal:
        """Given, or 1e-2 down to 1e-8 so a price shows about 5-6 significant digits."""
        if symbol in self.tick_sizes:
            return self.tick_sizes[symbol].normalize()
        magnitude = math.floor(math.log10(self.initial_price(pair_of(symbol))))
        return Decimal(1).scaleb(-min(8, max(2, 4 - magnitude)))

    def lot_size(self, symbol: str) -> Decimal:
        """Given, or a power of ten whose value is below one quote unit (as venues choose)."""
        if symbol in self.lot_sizes:
            return self.lot_sizes[symbol].normalize()
        magnitude = math.floor(math.log10(self.initial_price(pair_of(symbol))))
        return Decimal(1).scaleb(-min(8, max(0, magnitude + 1)))
