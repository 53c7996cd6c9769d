"""The engine's own book: cash per venue, positions per venue and symbol, P&L, fees, funding.

The engine keeps its book from the fills it booked, not from what exchanges
say, so reconciliation can compare the two and name any difference. Spot
positions pay their notional in cash; perpetual positions only move cash by
realised P&L, fees and funding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    Balance,
    Fill,
    Instrument,
    InstrumentKind,
    PortfolioSnapshot,
    Position,
)

ZERO = Decimal(0)


@dataclass(slots=True)
class _Book:
    """Mutable position state; a :class:`Position` is its immutable snapshot."""

    symbol: str
    venue: str
    kind: InstrumentKind
    contract_size: Decimal
    quantity: Decimal = ZERO
    entry: Decimal = ZERO
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    mark: Decimal | None = None


@dataclass(slots=True)
class VenueAccount:
    venue: str
    quote: str
    cash: Decimal
    initial: Decimal
    fees: Decimal = ZERO
    trades: int = 0


@dataclass
class Portfolio:
    """Cash and positions across venues, valued in one quote currency."""

    quote_currency: str = "USDT"
    accounts: dict[str, VenueAccount] = field(default_factory=dict)
    books: dict[tuple[str, str], _Book] = field(default_factory=dict)
    peak_equity: Decimal = ZERO
    _venue_books: dict[str, list[_Book]] = field(default_factory=dict)
    """Per venue, its books in creation order: what :meth:`equity` walks every tick."""
    _sides: dict[str, int] = field(default_factory=dict)
    _flat_equity: Decimal | None = None
    """The equity while no position is open (it then moves only with a fill, funding or a
    new account): one shared object for a whole flat stretch of the equity curve."""
    """Per symbol: the sign of the net position across venues (+1, -1; absent when flat)."""

    def open_account(self, venue: str, cash: Decimal) -> None:
        if venue in self.accounts:
            raise ValueError(f"venue {venue!r} is already in the portfolio")
        self.accounts[venue] = VenueAccount(venue, self.quote_currency, cash, cash)
        self._flat_equity = None
        self.peak_equity = max(self.peak_equity, self.equity())

    def _book(self, instrument: Instrument) -> _Book:
        key = (instrument.venue, instrument.symbol)
        book = self.books.get(key)
        if book is None:
            book = _Book(
                instrument.symbol, instrument.venue, instrument.kind, instrument.contract_size
            )
            self.books[key] = book
            self._venue_books.setdefault(instrument.venue, []).append(book)
        return book

    def apply_fill(self, fill: Fill, instrument: Instrument) -> Decimal:
        """Book one fill; return the P&L it realised (before fees)."""
        account = self.accounts.get(fill.venue)
        if account is None:
            raise KeyError(f"fill {fill.fill_id} on venue {fill.venue!r}, which has no account")
        book = self._book(instrument)
        signed = fill.quantity * fill.side.sign
        size = book.contract_size
        realised = ZERO
        if book.quantity == 0 or (book.quantity > 0) == (signed > 0):
            new_qty = book.quantity + signed
            book.entry = (book.entry * abs(book.quantity) + fill.price * fill.quantity) / abs(
                new_qty
            )
            book.quantity = new_qty
        else:
            closing = min(abs(signed), abs(book.quantity))
            direction = 1 if book.quantity > 0 else -1
            realised = (fill.price - book.entry) * closing * direction * size
            new_qty = book.quantity + signed
            if new_qty == 0:
                book.entry = ZERO
            elif (new_qty > 0) != (book.quantity > 0):
                book.entry = fill.price  # flipped: the remainder opened at this price
            book.quantity = new_qty
        book.realised += realised
        book.fees += fill.fee
        self._flat_equity = None
        net = self.net_quantity(book.symbol)
        if net == 0:
            self._sides.pop(book.symbol, None)
        else:
            self._sides[book.symbol] = 1 if net > 0 else -1
        if book.mark is None:
            book.mark = fill.price  # until the market marks it; a later close must win
        if book.kind is InstrumentKind.SPOT:
            account.cash -= signed * fill.price * size
        else:
            account.cash += realised
        account.cash -= fill.fee
        account.fees += fill.fee
        account.trades += 1
        return realised

    def apply_funding(self, venue: str, symbol: str, rate: Decimal, mark: Decimal) -> Decimal:
        """Charge (or pay) funding on a perpetual; longs pay a positive rate."""
        book = self.books.get((venue, symbol))
        if book is None or book.quantity == 0 or book.kind is not InstrumentKind.PERPETUAL:
            return ZERO
        payment = book.quantity * mark * book.contract_size * rate
        book.funding += payment
        self._flat_equity = None
        self.accounts[venue].cash -= payment
        return payment

    def mark(self, venue: str, symbol: str, price: Decimal) -> None:
        book = self.books.get((venue, symbol))
        if book is not None:
            book.mark = price

    def position_quantity(self, venue: str, symbol: str) -> Decimal:
        book = self.books.get((venue, symbol))
        return book.quantity if book is not None else ZERO

    def side_of(self, symbol: str) -> int:
        """The sign of :meth:`net_quantity`, kept up to date by every fill (asked every bar)."""
        return self._sides.get(symbol, 0)

    def net_quantity(self, symbol: str) -> Decimal:
        return sum((b.quantity for b in self.books.values() if b.symbol == symbol), ZERO)

    def _value(self, book: _Book) -> Decimal:
        if book.quantity == 0 or book.mark is None:
            return ZERO
        if book.kind is InstrumentKind.SPOT:
            return book.quantity * book.mark * book.contract_size
        return (book.mark - book.entry) * book.quantity * book.contract_size

    def venue_equity(self, venue: str) -> Decimal:
        account = self.accounts[venue]
        return account.cash + sum(
            (self._value(b) for b in self.books.values() if b.venue == venue), ZERO
        )

    def equity(self) -> Decimal:
        """Cash plus position values over every venue: :meth:`venue_equity` summed, with the
        same Decimal operations in the same order (so the same digits), without its per-venue
        scan of every book; asked once a tick."""
        if self._flat_equity is not None:
            return self._flat_equity
        total = ZERO
        flat = True
        spot = InstrumentKind.SPOT
        for venue, account in self.accounts.items():
            value = ZERO
            for book in self._venue_books.get(venue, ()):
                quantity = book.quantity
                mark = book.mark
                if quantity == 0 or mark is None:
                    value += ZERO
                    flat = flat and quantity == 0
                    continue
                flat = False
                if book.kind is spot:
                    value += quantity * mark * book.contract_size
                else:
                    value += (mark - book.entry) * quantity * book.contract_size
            total += account.cash + value
        if flat:
            self._flat_equity = total
        return total

    def update_peak(self) -> Decimal:
        equity = self.equity()
        self.peak_equity = max(self.peak_equity, equity)
        return equity

    def snapshot(self, ts: datetime) -> PortfolioSnapshot:
        positions = tuple(
            build(
                Position,
                symbol=b.symbol,
                venue=b.venue,
                quantity=b.quantity,
                average_entry_price=b.entry if b.quantity != 0 else None,
                mark_price=b.mark,
                realised_pnl=b.realised,
                fees_paid=b.fees,
                funding_paid=b.funding,
                contract_size=b.contract_size,
            )
            for b in self.books.values()
            if b.quantity != 0
        )
        balances = tuple(
            build(Balance, asset=a.quote, venue=a.venue, free=a.cash, used=ZERO)
            for a in self.accounts.values()
        )
        return build(
            PortfolioSnapshot,
            ts=ts,
            quote_currency=self.quote_currency,
            balances=balances,
            positions=positions,
            equity=self.equity(),
            peak_equity=self.peak_equity,
        )
