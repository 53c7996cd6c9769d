"""A portfolio's signed exposure per symbol, in its own currency, exactly.

Exposure is ``quantity x price x contract size x rate``: the P&L of a
position for a simple return ``r`` of its price is ``exposure x r`` (spot and
linear perpetuals alike). The price is the mark, else the entry price; the
rate turns the symbol's settlement currency into the portfolio's and comes
from the market view (``QUOTE/CCY`` or the inverse of ``CCY/QUOTE``) through
the SDK's :func:`~crypto_bot_sdk.currency_rate`, the one the risk rules use
too. The same symbol on several venues is one exposure: it moves with one price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from crypto_bot_sdk import (
    MarketView,
    PortfolioSnapshot,
    Position,
    RiskError,
    currency_rate,
    parse_symbol,
)

__all__ = [
    "currency_rate",
    "exposures",
    "position_exposure",
    "position_price",
    "settlement_currency",
]


def settlement_currency(symbol: str) -> str:
    _base, quote, settle = parse_symbol(symbol)
    return settle or quote


def position_price(position: Position) -> Decimal:
    price = position.mark_price or position.average_entry_price
    if price is None:
        raise RiskError(
            f"position {position.symbol}@{position.venue} has neither a mark nor an entry price"
        )
    return price


def position_exposure(
    position: Position,
    currency: str,
    market: MarketView | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """Signed value of ``position`` at its price, in ``currency`` (at the portfolio's own
    ``rates`` where it has them: pegged currencies, the book's conversion pairs)."""
    rate = currency_rate(settlement_currency(position.symbol), currency, market, rates)
    return position.quantity * position_price(position) * position.contract_size * rate


def exposures(portfolio: PortfolioSnapshot, market: MarketView | None = None) -> dict[str, Decimal]:
    """Signed exposure per symbol (summed over venues), symbols in first-seen order."""
    out: dict[str, Decimal] = {}
    for position in portfolio.positions:
        if position.quantity == 0:
            continue
        value = position_exposure(position, portfolio.quote_currency, market, portfolio.rates)
        out[position.symbol] = out.get(position.symbol, Decimal(0)) + value
    return out
