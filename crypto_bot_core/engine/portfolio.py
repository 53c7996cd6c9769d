"""The engine's own book: cash per venue, positions per venue and symbol, P&L, fees, funding.

The engine keeps its book from the fills it booked, not from what exchanges
say, so reconciliation can compare the two and name any difference. Spot
positions pay their notional in cash; perpetual positions only move cash by
realised P&L, fees and funding.

Cash is kept per currency: ``VenueAccount.cash`` in the portfolio currency
(``quote_currency``, the base the book is valued in) and ``VenueAccount.other``
in every other currency a venue's markets settle in. Those are converted at the
latest price of their conversion pair (see :mod:`.currencies`), set by
:meth:`Portfolio.mark` from the market's own events. A run whose markets all
settle in the portfolio currency has no other currency and no conversion pair,
so its equity is summed exactly as it always was, with no per-bar conversion.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crypto_bot_core.engine.currencies import CurrencyPlan
from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    Balance,
    Fill,
    Instrument,
    InstrumentKind,
    PortfolioSnapshot,
    Position,
    ValuationError,
)

ZERO = Decimal(0)
ONE = Decimal(1)
_NO_RATES: dict[str, Decimal] = {}
"""The rates of a single-currency book (none), one shared object for every snapshot."""


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
    currency: str | None = None
    """The settlement currency when it is not the portfolio's (the book's money is then
    in ``VenueAccount.other``); None for a book in the portfolio currency."""


@dataclass(slots=True)
class VenueAccount:
    venue: str
    quote: str
    cash: Decimal
    initial: Decimal
    """Starting equity of the venue in the portfolio currency: its starting cash in that
    currency, plus its other currencies at their first known rates."""
    fees: Decimal = ZERO
    """Fees paid, in the portfolio currency (fees in another currency at the fill's rate)."""
    trades: int = 0
    other: dict[str, Decimal] = field(default_factory=dict)
    """Cash in currencies other than the portfolio's, per currency (a multi-currency book)."""
    initial_other: dict[str, Decimal] = field(default_factory=dict)
    """The starting ``other``, kept until it can be valued into ``initial``."""


@dataclass
class Portfolio:
    """Cash and positions across venues, valued in one currency (``quote_currency``)."""

    quote_currency: str = "USDT"
    accounts: dict[str, VenueAccount] = field(default_factory=dict)
    books: dict[tuple[str, str], _Book] = field(default_factory=dict)
    peak_equity: Decimal = ZERO
    _venue_books: dict[str, list[_Book]] = field(default_factory=dict)
    """Per venue, its books in the portfolio currency in creation order: what :meth:`equity`
    walks every tick."""
    _sides: dict[str, int] = field(default_factory=dict)
    """Per symbol: the sign of the net position across venues (+1, -1; absent when flat)."""
    _flat_equity: Decimal | None = None
    """The equity while no position is open (it then moves only with a fill, funding, a
    new account or a conversion rate): one shared object for a whole flat stretch of the
    equity curve."""
    _plan: CurrencyPlan | None = None
    """The currencies and their conversions (:meth:`use_currencies`); None: everything is
    taken to be in ``quote_currency`` (a book rebuilt from a single-currency run)."""
    _multi: bool = False
    """Whether another currency than ``quote_currency`` can be held (then conversions run)."""
    _foreign_books: dict[str, list[_Book]] = field(default_factory=dict)
    """Per venue, its books settling in another currency, in creation order."""
    _rates: dict[str, Decimal] = field(default_factory=dict)
    """Portfolio currency per unit of each other currency, as last known."""
    _conversions: dict[tuple[str, str], list[tuple[str, bool]]] = field(default_factory=dict)
    """(venue, symbol) of a conversion pair -> the currencies its price converts (inverse?)."""
    _pending_initial: bool = False
    """Some account's starting ``other`` cash is not yet valued into its ``initial``, or some
    fill's fee is not yet valued into its account's ``fees`` (see ``_unpriced``)."""
    fill_rates: dict[str, Decimal] = field(default_factory=dict)
    """Per fill id, the rate its fee and P&L were valued at (portfolio currency per unit of
    its settlement currency), for every fill not settling in the portfolio currency: the
    run summary values fees and round trips with them (none in a single-currency book)."""
    _unpriced: deque[tuple[VenueAccount, str, Fill, Decimal]] = field(default_factory=deque)
    """Fills booked before their currency had a rate (a resumed run books its ledger's fills
    before any price), with the P&L they realised in their own currency: valued at the first
    rate known, as the starting cash is."""
    late_realised: dict[str, Decimal] = field(default_factory=dict)
    """Per fill id of those, its realised P&L in the portfolio currency once valued."""

    def use_currencies(self, plan: CurrencyPlan) -> None:
        """Value the book in ``plan.base``, converting other currencies as ``plan`` says; set
        before any account opens."""
        if self.accounts or self.books:
            raise ValueError("the portfolio's currencies are set before any account opens")
        self._plan = plan
        self.quote_currency = plan.base
        self._multi = not plan.single
        self._rates = {currency: ONE for currency in sorted(plan.fixed)}
        self._conversions = {}
        for conversion in plan.conversions.values():
            self._conversions.setdefault((conversion.venue, conversion.symbol), []).append(
                (conversion.currency, conversion.inverse)
            )

    def open_account(
        self, venue: str, cash: Decimal, other: dict[str, Decimal] | None = None
    ) -> None:
        """Open ``venue``'s account with ``cash`` in the portfolio currency and ``other``
        cash per other currency (each one the plan can convert)."""
        if venue in self.accounts:
            raise ValueError(f"venue {venue!r} is already in the portfolio")
        account = VenueAccount(venue, self.quote_currency, cash, cash)
        if other:
            plan = self._plan
            for currency, amount in other.items():
                if plan is None or not plan.converts(currency):
                    raise ValuationError(
                        f"venue {venue!r} holds {amount} {currency}, which the portfolio "
                        f"(valued in {self.quote_currency}) has no conversion for"
                    )
            account.other = dict(other)
            if any(other.values()):
                account.initial_other = {c: a for c, a in other.items() if a}
                self._pending_initial = True
        self.accounts[venue] = account
        self._flat_equity = None
        try:
            equity = self.equity()
        except ValuationError:
            return  # other cash not yet priced: the first tick sets the peak
        self.peak_equity = max(self.peak_equity, equity)

    def _book(self, instrument: Instrument) -> _Book:
        key = (instrument.venue, instrument.symbol)
        book = self.books.get(key)
        if book is None:
            book = _Book(
                instrument.symbol, instrument.venue, instrument.kind, instrument.contract_size
            )
            if self._multi and instrument.settle != self.quote_currency:
                assert self._plan is not None
                if not self._plan.converts(instrument.settle):
                    raise ValuationError(
                        f"{instrument.symbol} on {instrument.venue} settles in "
                        f"{instrument.settle}, which the portfolio (valued in "
                        f"{self.quote_currency}) has no conversion for"
                    )
                book.currency = instrument.settle
                self._foreign_books.setdefault(instrument.venue, []).append(book)
            else:
                self._venue_books.setdefault(instrument.venue, []).append(book)
            self.books[key] = book
        return book

    def apply_fill(self, fill: Fill, instrument: Instrument) -> Decimal:
        """Book one fill; return the P&L it realised (before fees), in the portfolio currency
        (another currency's at its latest rate)."""
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
        account.trades += 1
        if book.currency is not None:
            return self._settle_other(account, book, signed * fill.price * size, realised, fill)
        if book.kind is InstrumentKind.SPOT:
            account.cash -= signed * fill.price * size
        else:
            account.cash += realised
        account.cash -= fill.fee
        account.fees += fill.fee
        return realised

    def _settle_other(
        self, account: VenueAccount, book: _Book, paid: Decimal, realised: Decimal, fill: Fill
    ) -> Decimal:
        """A fill's cash in the book's own currency (spot pays ``paid``, a perpetual moves
        by ``realised``); its fee and P&L in the portfolio currency at the current rate."""
        currency = book.currency
        assert currency is not None
        moved = -paid if book.kind is InstrumentKind.SPOT else realised
        account.other[currency] = account.other.get(currency, ZERO) + moved - fill.fee
        rate = self._rates.get(currency)
        if rate is None:
            # No price yet (a resumed run loading its ledger): the cash moved is exact in its
            # own currency; its fee and P&L are valued at the first rate known.
            self._unpriced.append((account, currency, fill, realised))
            self._pending_initial = True
            return ZERO
        self.fill_rates[fill.fill_id] = rate
        account.fees += fill.fee * rate
        return realised * rate

    def apply_funding(self, venue: str, symbol: str, rate: Decimal, mark: Decimal) -> Decimal:
        """Charge (or pay) funding on a perpetual; longs pay a positive rate. The payment is
        in the perpetual's settlement currency."""
        book = self.books.get((venue, symbol))
        if book is None or book.quantity == 0 or book.kind is not InstrumentKind.PERPETUAL:
            return ZERO
        payment = book.quantity * mark * book.contract_size * rate
        book.funding += payment
        self._flat_equity = None
        account = self.accounts[venue]
        if book.currency is not None:
            account.other[book.currency] = account.other.get(book.currency, ZERO) - payment
        else:
            account.cash -= payment
        return payment

    def mark(self, venue: str, symbol: str, price: Decimal) -> None:
        book = self.books.get((venue, symbol))
        if book is not None:
            book.mark = price
        if self._conversions:
            converts = self._conversions.get((venue, symbol))
            if converts is not None and price > 0:
                for currency, inverse in converts:
                    self._rates[currency] = ONE / price if inverse else price
                self._flat_equity = None

    def rate_of(self, currency: str) -> Decimal:
        """Portfolio currency per unit of ``currency`` (1 for the portfolio currency itself,
        and for every currency of a book that has no plan). Raises :class:`ValuationError`
        when its conversion pair has no price yet."""
        if not self._multi or currency == self.quote_currency:
            return ONE
        return self._rate(currency, venue=None, amount=ONE)

    def rate_for(self, instrument: Instrument) -> Decimal:
        """:meth:`rate_of` the instrument's settlement currency (sizing asks it per decision;
        a single-currency book answers 1 without parsing the symbol)."""
        if not self._multi:
            return ONE
        return self.rate_of(instrument.settle)

    @property
    def multi(self) -> bool:
        """Whether another currency than the portfolio's can be held (cash per currency)."""
        return self._multi

    def starting_cash(self) -> dict[str, dict[str, str]]:
        """Each venue's cash per currency, as text: what a run's start record keeps (asked
        before any fill is booked) so that a resumed run starts from every currency."""
        starting: dict[str, dict[str, str]] = {}
        for venue, account in self.accounts.items():
            held = {account.quote: account.cash, **account.other}
            starting[venue] = {currency: str(held[currency]) for currency in sorted(held)}
        return starting

    def rates(self) -> dict[str, Decimal]:
        """The known rates of the other currencies (empty for a single-currency book)."""
        return dict(self._rates) if self._multi else _NO_RATES

    def _rate(self, currency: str, *, venue: str | None, amount: Decimal) -> Decimal:
        rate = self._rates.get(currency)
        if rate is not None:
            return rate
        if not amount:
            return ZERO  # nothing to convert: no price needed
        where = f" held on venue {venue!r}" if venue is not None else ""
        pair = "its conversion pair"
        if self._plan is not None and currency in self._plan.conversions:
            conversion = self._plan.conversions[currency]
            pair = f"{conversion.symbol} on venue {conversion.venue!r}"
        raise ValuationError(
            f"cannot value {amount} {currency}{where} in the portfolio currency "
            f"{self.quote_currency}: {pair} has no price yet (its data must start no later "
            "than the markets it converts)"
        )

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
        total = account.cash + sum(
            (self._value(b) for b in self.books.values() if b.venue == venue and not b.currency),
            ZERO,
        )
        if self._multi:
            total += self._foreign(venue, account)[0]
        return total

    def equity(self) -> Decimal:
        """Cash plus position values over every venue: :meth:`venue_equity` summed, with the
        same Decimal operations in the same order (so the same digits), without its per-venue
        scan of every book; asked once a tick. Raises :class:`ValuationError` when another
        currency held has no rate yet."""
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
        if self._multi:
            for venue, account in self.accounts.items():
                value, open_books = self._foreign(venue, account)
                total += value
                flat = flat and not open_books
        if flat:
            self._flat_equity = total
        return total

    def _foreign(self, venue: str, account: VenueAccount) -> tuple[Decimal, bool]:
        """The venue's cash and books in other currencies, in the portfolio currency; and
        whether any of those books is open."""
        value = ZERO
        open_books = False
        for currency, amount in account.other.items():
            if amount:
                value += amount * self._rate(currency, venue=venue, amount=amount)
        for book in self._foreign_books.get(venue, ()):
            if book.quantity == 0:
                continue
            open_books = True
            own = self._value(book)
            if own:
                assert book.currency is not None
                value += own * self._rate(book.currency, venue=venue, amount=own)
        return value, open_books

    def update_peak(self, ts: datetime | None = None) -> Decimal:
        """The equity at the end of the tick at ``ts``, which also raises the peak; values
        what waits for a rate (the starting cash, and fills filled by ``ts``)."""
        equity = self.equity()
        if self._pending_initial:
            self._value_initial(ts)
        self.peak_equity = max(self.peak_equity, equity)
        return equity

    def value_pending(self) -> None:
        """Value, at the latest rates, the fills still waiting for one (a run that ended
        before a tick reached their time): the summary asks it once, at the end."""
        if self._unpriced:
            self._value_fills(None)

    def _value_initial(self, ts: datetime | None) -> None:
        """Each venue's starting cash in other currencies, at the first rates known (the
        equity just valued them all), added to its ``initial``; and the fills waiting for
        a rate that ``ts`` reached."""
        for account in self.accounts.values():
            for currency, amount in account.initial_other.items():
                account.initial += amount * self._rate(currency, venue=account.venue, amount=amount)
            account.initial_other = {}
        self._value_fills(ts)
        self._pending_initial = bool(self._unpriced)

    def _value_fills(self, ts: datetime | None) -> None:
        """The fees and P&L of fills booked before their currency had a rate, at the rate of
        the tick that reached their time (a resumed run replays its ticks, so the rates are
        those of the time the fills were made, to within that tick's own move) or, with no
        ``ts``, at the latest rate."""
        unpriced = self._unpriced
        while unpriced:  # in booking order, so in time order: a tick takes a prefix
            account, currency, fill, realised = unpriced[0]
            rate = self._rates.get(currency)
            if rate is None or (ts is not None and fill.ts > ts):
                break
            unpriced.popleft()
            self.fill_rates[fill.fill_id] = rate
            account.fees += fill.fee * rate
            self.late_realised[fill.fill_id] = realised * rate

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
        if self._multi:
            balances = tuple(
                build(Balance, asset=asset, venue=a.venue, free=amount, used=ZERO)
                for a in self.accounts.values()
                for asset, amount in ((a.quote, a.cash), *a.other.items())
            )
        else:
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
            rates=self.rates(),
        )
