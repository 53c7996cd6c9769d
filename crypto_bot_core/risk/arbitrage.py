"""Cross-venue arbitrage: a spread beyond fees and a threshold becomes a hedged pair of intents.

For each symbol quoted on two or more venues the detector compares the best
ask of every venue with the best bid of every other (last prices where a
venue has no book) and keeps the widest pair whose edge clears the bar:

    edge_bps = (bid_dear - ask_cheap) / ask_cheap x 10,000 - (fee_cheap + fee_dear) x 10,000
    edge_bps >= threshold_bps

It returns a pair of limit IOC intents at the quoted prices: buy on the cheap
venue, sell on the dear one, same quantity, ``policy="arbitrage"``. The size
is the smallest of: ``max_pair_notional`` at the ask; the top-of-book amounts
of both sides (where books exist); the room left under ``max_symbol_notional``
of gross exposure in the symbol; and, for a spot sell leg, what the book
holds on the dear venue (spot never shorts). It is rounded down to both
venues' lot grids and dropped when below either venue's minimum.

A risk rule returns one verdict per intent, so emitting intents is not a
rule's job: the engine calls :meth:`ArbitrageDetector.detect` each tick and
sends both legs through the risk pipeline (where ``arbitrage_guard`` keeps
the exposure limits); see ``docs/risk.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict, Field

from crypto_bot_sdk import (
    Instrument,
    InstrumentKind,
    MarketView,
    OrderIntent,
    OrderType,
    PortfolioSnapshot,
    Side,
    TimeInForce,
)

BPS = Decimal(10_000)
ARBITRAGE_POLICY = "arbitrage"


class ArbitrageSettings(BaseModel):
    """What counts as an opportunity and how large a pair may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols: tuple[str, ...] = Field(default=(), description="Symbols to watch; empty: all.")
    fees: dict[str, Decimal] = Field(
        default_factory=dict, description="Taker fee per venue (0.001 = 10 bps)."
    )
    default_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    threshold_bps: Decimal = Field(default=Decimal(10), ge=0, description="Edge beyond fees.")
    max_pair_notional: Decimal = Field(gt=0, description="Largest value of one leg.")
    max_symbol_notional: Decimal | None = Field(
        default=None, gt=0, description="Largest gross exposure in one symbol, legs included."
    )


@dataclass(frozen=True)
class VenueQuote:
    venue: str
    bid: Decimal
    bid_size: Decimal | None
    ask: Decimal
    ask_size: Decimal | None


@dataclass(frozen=True)
class ArbitragePair:
    """Both legs of one opportunity and the figures that justified it."""

    symbol: str
    buy: OrderIntent
    sell: OrderIntent
    spread_bps: Decimal
    fees_bps: Decimal
    edge_bps: Decimal

    def resized(self, quantity: Decimal) -> ArbitragePair:
        """Both legs at ``quantity``: what the engine sends when a rule shrank one leg."""
        return ArbitragePair(
            self.symbol,
            self.buy.resized(quantity),
            self.sell.resized(quantity),
            self.spread_bps,
            self.fees_bps,
            self.edge_bps,
        )


def quotes(market: MarketView, symbol: str, venues: list[str]) -> list[VenueQuote]:
    """Best bid and ask per venue, from the book if there is one, else the last price."""
    out = []
    for venue in venues:
        book = market.order_book(symbol, venue)
        if book is not None and book.bids and book.asks:
            out.append(
                VenueQuote(
                    venue,
                    book.bids[0].price,
                    book.bids[0].amount,
                    book.asks[0].price,
                    book.asks[0].amount,
                )
            )
            continue
        last = market.last_price(symbol, venue)
        if last is not None:
            out.append(VenueQuote(venue, last, None, last, None))
    return out


class ArbitrageDetector:
    """Finds cross-venue spreads beyond fees; pure: the same market gives the same pairs."""

    def __init__(self, settings: ArbitrageSettings) -> None:
        self.settings = settings

    def fee(self, venue: str, fees: Mapping[str, Decimal] | None = None) -> Decimal:
        if fees is not None and venue in fees:
            return fees[venue]
        return self.settings.fees.get(venue, self.settings.default_fee)

    def detect(
        self,
        market: MarketView,
        portfolio: PortfolioSnapshot | None = None,
        *,
        fees: Mapping[str, Decimal] | None = None,
    ) -> list[ArbitragePair]:
        """The pairs to trade now, one per symbol at most, in symbol order."""
        listed: dict[str, dict[str, Instrument]] = {}
        for instrument in market.instruments():
            listed.setdefault(instrument.symbol, {})[instrument.venue] = instrument
        wanted = self.settings.symbols or tuple(sorted(listed))
        pairs = []
        for symbol in wanted:
            venues = listed.get(symbol, {})
            if len(venues) < 2:
                continue
            pair = self._best_pair(market, portfolio, symbol, venues, fees)
            if pair is not None:
                pairs.append(pair)
        return pairs

    def _best_pair(
        self,
        market: MarketView,
        portfolio: PortfolioSnapshot | None,
        symbol: str,
        venues: dict[str, Instrument],
        fees: Mapping[str, Decimal] | None,
    ) -> ArbitragePair | None:
        best: tuple[Decimal, VenueQuote, VenueQuote, Decimal, Decimal] | None = None
        board = quotes(market, symbol, sorted(venues))
        for cheap in board:
            for dear in board:
                if cheap.venue == dear.venue or dear.bid <= cheap.ask:
                    continue
                spread = (dear.bid - cheap.ask) / cheap.ask * BPS
                cost = (self.fee(cheap.venue, fees) + self.fee(dear.venue, fees)) * BPS
                edge = spread - cost
                if edge >= self.settings.threshold_bps and (best is None or edge > best[0]):
                    best = (edge, cheap, dear, spread, cost)
        if best is None:
            return None
        edge, cheap, dear, spread, cost = best
        quantity = self._size(portfolio, symbol, venues, cheap, dear)
        if quantity is None:
            return None
        ts = market.now
        stamp = ts.strftime("%Y%m%dT%H%M%S")
        reason = (
            f"{symbol}: bid {dear.bid} on {dear.venue} is {spread.quantize(Decimal('0.01'))} bps "
            f"over ask {cheap.ask} on {cheap.venue}; fees {cost.quantize(Decimal('0.01'))} bps, "
            f"edge {edge.quantize(Decimal('0.01'))} bps"
        )

        def leg(side: Side, venue: str, price: Decimal) -> OrderIntent:
            return OrderIntent(
                intent_id=f"arb-{symbol.replace('/', '').replace(':', '-')}-{stamp}-{side.value}",
                symbol=symbol,
                side=side,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.IOC,
                quantity=quantity,
                price=price,
                venue=venue,
                ts=ts,
                policy=ARBITRAGE_POLICY,
                reason=reason,
            )

        return ArbitragePair(
            symbol,
            leg(Side.BUY, cheap.venue, cheap.ask),
            leg(Side.SELL, dear.venue, dear.bid),
            spread,
            cost,
            edge,
        )

    def _size(
        self,
        portfolio: PortfolioSnapshot | None,
        symbol: str,
        venues: dict[str, Instrument],
        cheap: VenueQuote,
        dear: VenueQuote,
    ) -> Decimal | None:
        buy_on, sell_on = venues[cheap.venue], venues[dear.venue]
        size = buy_on.contract_size
        caps = [self.settings.max_pair_notional / (cheap.ask * size)]
        caps += [s for s in (cheap.ask_size, dear.bid_size) if s is not None]
        limit = self.settings.max_symbol_notional
        if limit is not None:
            held = Decimal(0)
            if portfolio is not None:
                held = sum(
                    (abs(p.quantity) for p in portfolio.positions if p.symbol == symbol),
                    Decimal(0),
                )
            caps.append(max(Decimal(0), (limit / (cheap.ask * size) - held) / 2))
        if sell_on.kind is InstrumentKind.SPOT:
            position = portfolio.position(symbol, dear.venue) if portfolio is not None else None
            caps.append(max(Decimal(0), position.quantity) if position is not None else Decimal(0))
        quantity = min(caps)
        for instrument in (buy_on, sell_on):
            quantity = (quantity / instrument.lot_size).quantize(
                Decimal(1), rounding=ROUND_DOWN
            ) * instrument.lot_size
        if quantity <= 0:
            return None
        if quantity * cheap.ask * size < buy_on.min_notional:
            return None
        if quantity * dear.bid * sell_on.contract_size < sell_on.min_notional:
            return None
        return quantity
