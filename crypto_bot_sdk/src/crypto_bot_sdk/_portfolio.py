"""Holdings: balances per asset, positions per market, and a portfolio snapshot of both."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from crypto_bot_sdk._base import FrozenModel, Money, NonNegativeMoney, PositiveMoney, UtcDatetime


class Balance(FrozenModel):
    """One asset's balance on one venue; ``total`` is always ``free + used``."""

    asset: str = Field(min_length=1)
    venue: str = Field(min_length=1)
    free: Money
    used: NonNegativeMoney = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.free + self.used


class Position(FrozenModel):
    """A net position in one market on one venue; ``quantity`` is signed (short < 0)."""

    symbol: str
    venue: str = Field(min_length=1)
    quantity: Money
    average_entry_price: PositiveMoney | None = None
    mark_price: PositiveMoney | None = None
    realised_pnl: Money = Decimal(0)
    fees_paid: NonNegativeMoney = Decimal(0)
    funding_paid: Money = Decimal(0)
    contract_size: PositiveMoney = Decimal(1)

    @model_validator(mode="after")
    def _entry_when_open(self) -> Position:
        if self.quantity != 0 and self.average_entry_price is None:
            raise ValueError(
                f"position {self.symbol}@{self.venue} of {self.quantity} needs an average "
                "entry price"
            )
        return self

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    @property
    def notional(self) -> Decimal:
        """Absolute exposure at the mark (or the entry price when no mark is known)."""
        price = self.mark_price or self.average_entry_price or Decimal(0)
        return abs(self.quantity) * price * self.contract_size

    @property
    def unrealised_pnl(self) -> Decimal:
        if self.quantity == 0 or self.mark_price is None or self.average_entry_price is None:
            return Decimal(0)
        return (self.mark_price - self.average_entry_price) * self.quantity * self.contract_size


class PortfolioSnapshot(FrozenModel):
    """The whole book at one instant, valued in ``quote_currency``.

    ``balances`` list cash per asset and venue; ``rates`` say how many
    ``quote_currency`` one unit of each other currency the book holds is
    worth, as the engine valued it (empty when the book holds one currency),
    so that a rule values an order exactly as the portfolio does (see
    :func:`crypto_bot_sdk.currency_rate`).
    """

    ts: UtcDatetime
    quote_currency: str = "USDT"
    balances: tuple[Balance, ...] = ()
    positions: tuple[Position, ...] = ()
    equity: Money
    peak_equity: Money | None = None
    rates: dict[str, PositiveMoney] = Field(default_factory=dict)

    def position(self, symbol: str, venue: str | None = None) -> Position | None:
        for pos in self.positions:
            if pos.symbol == symbol and (venue is None or pos.venue == venue):
                return pos
        return None

    def net_quantity(self, symbol: str) -> Decimal:
        """Signed quantity of ``symbol`` summed over venues."""
        return sum((p.quantity for p in self.positions if p.symbol == symbol), Decimal(0))

    @property
    def gross_exposure(self) -> Decimal:
        return sum((p.notional for p in self.positions), Decimal(0))

    @property
    def drawdown(self) -> Decimal:
        """Fractional fall from the peak equity (0 when at the peak or unknown)."""
        if self.peak_equity is None or self.peak_equity <= 0 or self.equity >= self.peak_equity:
            return Decimal(0)
        return (self.peak_equity - self.equity) / self.peak_equity
