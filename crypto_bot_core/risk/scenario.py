"""The scenario language: a named list of shocks to apply to a portfolio and its market.

A scenario file (YAML) reads::

    name: market-crash-30
    description: Basel-style market-wide crash
    groups:
      majors: [BTC, ETH]                 # assets (base currencies) or symbols
    shocks:
      - price: {move: -0.30, symbols: "*"}
      - price: {move: -0.10, groups: [majors]}
      - volatility: {multiplier: 2.5, symbols: "*"}
      - correlation: {target: 0.9}
      - exchange_halt: {venue: binance, haircut: 0.25}
      - ban: {assets: [XRP], venues: [binance], liquidation_discount: 0.05}
      - liquidity: {remove: 0.9, symbols: "*"}
      - funding: {rate: 0.003, periods: 9, assets: [BTC]}

Every shock item holds exactly one kind. Markets are chosen by ``symbols``
(exact ccxt symbols, or ``"*"`` for all), ``assets`` (base currencies:
``BTC`` hits ``BTC/USDT`` and ``BTC/USDT:USDT``) and ``groups``; a market is
hit if any of the given selectors names it. Numbers that become money
(moves, haircuts, discounts, funding rates, removed depth) are read as exact
decimals. The meaning of each shock is in :mod:`.stress` and
``docs/risk.md``; loading with key-and-line errors is in :mod:`.scenario_file`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crypto_bot_sdk import parse_symbol

ALL: Literal["*"] = "*"
SHOCK_KINDS = (
    "price",
    "volatility",
    "correlation",
    "exchange_halt",
    "ban",
    "liquidity",
    "funding",
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


ShockT = TypeVar("ShockT", bound=_Strict)


def _check_symbols(value: tuple[str, ...] | str | None) -> tuple[str, ...] | str | None:
    if isinstance(value, tuple):
        for symbol in value:
            parse_symbol(symbol)
    return value


class Selector(_Strict):
    """Which markets a shock hits: by symbol, by base asset, by named group."""

    symbols: Literal["*"] | tuple[str, ...] | None = Field(
        default=None, description='ccxt symbols, or "*" for every market.'
    )
    assets: tuple[str, ...] | None = Field(default=None, description="Base currencies.")
    groups: tuple[str, ...] | None = Field(default=None, description="Names from `groups`.")

    _symbols = field_validator("symbols")(_check_symbols)

    @model_validator(mode="after")
    def _chooses(self) -> Selector:
        if self.symbols is None and self.assets is None and self.groups is None:
            raise ValueError(
                'say which markets the shock hits: symbols (a list, or "*" for all), assets or '
                "groups"
            )
        return self

    def hits(self, symbol: str, groups: dict[str, tuple[str, ...]]) -> bool:
        if self.symbols == ALL:
            return True
        base = parse_symbol(symbol)[0]
        if isinstance(self.symbols, tuple) and symbol in self.symbols:
            return True
        if self.assets is not None and base in self.assets:
            return True
        for name in self.groups or ():
            members = groups.get(name, ())
            if symbol in members or base in members:
                return True
        return False


class PriceShock(Selector):
    move: Decimal = Field(gt=-1, le=100, description="Relative price change: -0.3 is -30%.")


class VolatilityShock(Selector):
    multiplier: float = Field(gt=0, le=100, description="Factor on the returns' volatility.")


class CorrelationShock(_Strict):
    target: float = Field(ge=0, lt=1, description="Correlation every pair moves towards.")
    weight: float = Field(default=1.0, gt=0, le=1, description="How far: 1 is all the way.")


class ExchangeHaltShock(_Strict):
    venue: str | None = Field(default=None, min_length=1, description="The venue that halts.")
    largest: bool = Field(default=False, description="Halt the venue holding the most equity.")
    haircut: Decimal = Field(
        default=Decimal(0), ge=0, le=1, description="Share of the venue's equity written off."
    )
    duration: timedelta | None = Field(
        default=None, description="How long the halt lasts in a replay; unset: to the end."
    )

    @model_validator(mode="after")
    def _one_venue(self) -> ExchangeHaltShock:
        if (self.venue is None) == (not self.largest):
            raise ValueError("name the halted venue with `venue`, or set `largest: true`; not both")
        return self


class BanShock(Selector):
    venues: Literal["*"] | tuple[str, ...] = Field(
        default=ALL, description='Venues that ban the markets, or "*".'
    )
    liquidation_discount: Decimal = Field(
        default=Decimal(0), ge=0, lt=1, description="Price concession of the forced sale."
    )


class LiquidityShock(Selector):
    remove: Decimal = Field(gt=0, le=1, description="Share of order-book depth removed.")
    venues: Literal["*"] | tuple[str, ...] = Field(default=ALL, description="Venues hit.")
    unfilled_discount: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=1,
        description="Discount on the worst remaining price for what the book cannot take.",
    )


class FundingShock(Selector):
    rate: Decimal = Field(ge=-1, le=1, description="Funding rate per period; longs pay > 0.")
    periods: int = Field(default=1, ge=1, le=10_000, description="Funding periods it lasts.")


class Shock(_Strict):
    """One item of ``shocks``: exactly one of the kinds."""

    price: PriceShock | None = None
    volatility: VolatilityShock | None = None
    correlation: CorrelationShock | None = None
    exchange_halt: ExchangeHaltShock | None = None
    ban: BanShock | None = None
    liquidity: LiquidityShock | None = None
    funding: FundingShock | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Shock:
        given = [k for k in SHOCK_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a shock holds exactly one of {', '.join(SHOCK_KINDS)}; this one has "
                f"{given or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in SHOCK_KINDS if getattr(self, k) is not None)

    @property
    def body(self) -> _Strict:
        value: _Strict = getattr(self, self.kind)
        return value


class Scenario(_Strict):
    """A named stress scenario."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$", description="Scenario id.")
    description: str = Field(default="", description="What it represents, for reports.")
    groups: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Named sets of assets or symbols."
    )
    shocks: tuple[Shock, ...] = Field(min_length=1, description="The shocks, applied in order.")

    def of_kind(self, kind: type[ShockT]) -> list[ShockT]:
        return [s.body for s in self.shocks if isinstance(s.body, kind)]

    def price_factor(self, symbol: str) -> Decimal:
        """Product of ``1 + move`` over the price shocks that hit ``symbol``, in file order."""
        factor = Decimal(1)
        for shock in self.of_kind(PriceShock):
            if shock.hits(symbol, self.groups):
                factor *= 1 + shock.move
        return factor

    def volatility_factor(self, symbol: str) -> float:
        factor = 1.0
        for shock in self.of_kind(VolatilityShock):
            if shock.hits(symbol, self.groups):
                factor *= shock.multiplier
        return factor

    def correlation_shock(self) -> CorrelationShock | None:
        found = self.of_kind(CorrelationShock)
        return found[-1] if found else None
