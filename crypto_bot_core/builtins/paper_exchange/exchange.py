"""The paper exchange: a simulated venue behind the ``ExchangeAdapter`` contract.

It is the venue of both backtests and paper trading (DESIGN rule 3): the
engine submits orders and feeds every market event to
:meth:`PaperExchange.on_market_event`, which returns the fills that event
caused. Nothing reads the wall clock: the venue's time is the latest event's
(a bar counts from its close), and ids are ``{venue}-{n}`` counters, so the
same events and orders always give the same fills.

Being in process, it offers the SDK's simulated-venue capabilities (API 1.1,
declared in its manifest): a synchronous submit and matching
(:meth:`~PaperExchange.submit_order_sync`, :meth:`~PaperExchange.match_event`),
one order's fills, adopted instruments, snapshots, funding, and forgetting
closed orders in a backtest (:meth:`~PaperExchange.forget_closed_orders`). The
engine's API 1.0 names of the same methods (``place_order``, ``process_event``,
``fills_for_order``, ``adopt_symbols``, ``snapshot``/``restore``,
``apply_funding``) are kept for the code and tests written against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crypto_bot_core.builtins.paper_exchange.accounts import Account, plain
from crypto_bot_core.builtins.paper_exchange.config import DEFAULT_FUNDS, PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.markets import Market, MarketRegistry
from crypto_bot_core.builtins.paper_exchange.matching import Matcher
from crypto_bot_core.builtins.paper_exchange.persistence import (
    dump_state,
    load_state,
)
from crypto_bot_core.builtins.paper_exchange.settlement import Settlement
from crypto_bot_core.builtins.paper_exchange.submission import check_submission
from crypto_bot_core.builtins.paper_exchange.views import (
    Depth,
    PriceAdjust,
    View,
    bar_end,
    book_at_venue,
    mark_of,
    view_of,
)
from crypto_bot_core.builtins.paper_exchange.watch import Watch
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import (
    Balance,
    Bar,
    ConfigError,
    DuplicateOrderError,
    ExchangeAdapter,
    ExchangeError,
    FeeSchedule,
    Fill,
    Instrument,
    InsufficientFundsError,
    InvalidOrderError,
    MarketEvent,
    Order,
    OrderBook,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    Position,
    Trade,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The venue's time before the first event (or :meth:`PaperExchange.advance_clock`)."""

_NO_FILLS: tuple[Fill, ...] = ()
PriceEvent = Bar | Trade | OrderBook


class PaperExchange(ExchangeAdapter[PaperExchangeConfig]):
    """A simulated venue with fees, price offset, latency, slippage and partial fills."""

    name = "paper"
    config_model = PaperExchangeConfig

    def __init__(self, config: PaperExchangeConfig) -> None:
        super().__init__(config)
        self._markets = MarketRegistry(config)
        self._account = Account(dict(config.balances or {}), config.leverage)
        self._unfunded = config.balances is None
        """``balances`` not configured: the wallet is funded when first used (:meth:`_fund`)."""
        self._adjust = PriceAdjust(config.price_offset_bps, config.price_offset)
        self._participation = config.max_participation
        self._latency = timedelta(milliseconds=config.latency_ms)
        self._signal_close = config.fill_at == "signal_close"
        self._data_venue = config.data_venue
        self._settlement = Settlement(config, self._markets, self._account)
        self._matcher = Matcher(config, self._settlement)
        self._orders: dict[str, WorkingOrder] = {}
        self._resting: dict[str, list[WorkingOrder]] = {}
        self._watches: dict[str, Watch] = {}
        self._last: dict[str, PriceEvent] = {}
        self._views: dict[str, tuple[PriceEvent, View]] = {}
        self._clock = EPOCH
        self._order_seq = 0
        self._forget = False
        """Set by :meth:`forget_closed_orders`: closed orders are dropped (a backtest)."""
        self._closed: list[str] = []
        """While forgetting: orders closed since the last submit or event, dropped at the next
        one (so the engine can still ask for the fills a submit made)."""

    # --- contract: identity and reference data --------------------------------

    @property
    def venue(self) -> str:
        return self.config.venue

    @property
    def now(self) -> datetime:
        """The venue's time: the latest event's (a bar's close), never the wall clock."""
        return self._clock

    def advance_clock(self, ts: datetime) -> None:
        """Move the venue's time forward (a paper engine's clock between events)."""
        if ts.tzinfo is None:
            raise ValueError(f"advance_clock needs an aware datetime, got {ts.isoformat()}")
        self._clock = max(self._clock, ts.astimezone(UTC))

    async def load_instruments(self) -> Sequence[Instrument]:
        return self._markets.instruments(list(self._last))

    def adopt_instruments(self, symbols: Iterable[str]) -> list[Instrument]:
        """Make the data's symbols tradable before their first event (``derive_instruments``);
        returns their instruments (capability ``adopt_symbols``).

        The engine passes its data sources' symbols here at start, so that
        ``load_instruments`` lists them and orders may precede the first bar. A
        symbol this venue cannot trade (not listed, derivation off) is left out.
        """
        wanted = list(dict.fromkeys(symbols))
        self._markets.instruments(wanted)
        markets = (self._markets.get(symbol) for symbol in wanted)
        return [market.instrument for market in markets if market is not None]

    def adopt_symbols(self, symbols: Iterable[str]) -> list[Instrument]:
        """API 1.0 form of :meth:`adopt_instruments`: adopts ``symbols`` and returns every
        instrument of the venue, as it always did."""
        self.adopt_instruments(symbols)
        return self._markets.instruments([])

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        self._markets.resolve(symbol, seen=symbol in self._last)
        return FeeSchedule(maker=self.config.maker_fee, taker=self.config.taker_fee)

    def _fund(self) -> None:
        """Fund a wallet whose ``balances`` are not configured, in the markets' currency.

        Done on first use (balances asked, an order, a snapshot), after the engine
        adopted the data's symbols: a venue trading ``BTC/USD`` starts with USD, one
        trading ``BTC/USDT`` with USDT. Markets settling in several currencies get
        USDT when it is one of them; otherwise the venue cannot guess and says so.
        """
        self._unfunded = False
        currencies = self._markets.settle_currencies()
        if len(currencies) == 1:
            (currency,) = currencies
        elif not currencies or "USDT" in currencies:
            currency = "USDT"
        else:
            example = ", ".join(f"{c}: 100000" for c in sorted(currencies))
            raise ConfigError(
                f"paper venue {self.venue!r} trades markets settling in "
                f"{', '.join(sorted(currencies))} and has no starting balances: set its "
                f"balances per currency, e.g. {{{example}}}",
                key="exchanges[].config.balances",
            )
        self._account.cash[currency] += DEFAULT_FUNDS

    # --- contract: orders -----------------------------------------------------

    async def submit_order(self, request: OrderRequest) -> Order:
        return self.place_order(request)

    def submit_order_sync(self, request: OrderRequest) -> Order:
        """Synchronous :meth:`submit_order` (capability ``sync_submit``), for an engine that
        wants no coroutine per order.

        The work is done by :meth:`place_order` (its API 1.0 name), looked up on the
        instance so that a harness may wrap it (``bench/latency.py`` times each submit so).
        """
        return self.place_order(request)

    def place_order(self, request: OrderRequest) -> Order:
        """:meth:`submit_order_sync` under its API 1.0 name."""
        if self._closed:
            self._drop_closed()
        existing = self._orders.get(request.client_order_id)
        if existing is not None:
            if existing.request.same_order_as(request):
                return existing.to_order()
            raise DuplicateOrderError(
                f"client order id {request.client_order_id!r} is already used by a different "
                f"order ({existing.request.side.value} {existing.request.quantity} "
                f"{existing.request.symbol}); choose a new id",
                venue=self.venue,
            )
        if request.venue != self.venue:
            raise InvalidOrderError(
                f"order {request.client_order_id} is addressed to venue {request.venue!r}, "
                f"but this is {self.venue!r}; route it to the right adapter",
                venue=self.venue,
            )
        market = self._markets.resolve(request.symbol, seen=request.symbol in self._last)
        if self._unfunded:
            self._fund()  # after resolving: the order's own market counts
        self._order_seq += 1
        order = WorkingOrder(
            request=request,
            seq=self._order_seq,
            exchange_order_id=f"{self.venue}-{self._order_seq}",
            created_at=self._clock,
            active_from=self._clock + self._latency,
        )
        try:
            asset, amount = check_submission(
                self.config,
                self._markets,
                self._account,
                market,
                order,
                reference=self._reference(request.symbol, order.is_buy),
                resting=self._resting.get(request.symbol, ()),
            )
        except ExchangeError:
            self._order_seq -= 1
            raise
        self._account.reserve(order, asset, amount)
        self._orders[request.client_order_id] = order
        self._resting.setdefault(request.symbol, []).append(order)
        self._watches.pop(request.symbol, None)
        if self._signal_close and not order.needs_trigger and request.symbol in self._last:
            view = self._view(request.symbol)
            if not isinstance(view, Depth):
                view = view.at_close(self._clock)
            self._matcher.arrive_now(order, view, market.tick)
            self._prune(request.symbol)
        return order.to_order()

    def forget_closed_orders(self) -> None:
        """Keep no closed order from now on (capability ``forget_closed``).

        The engine calls it at the start of a backtest, which nothing resumes
        and which takes every fill as it is reported: there, the closed orders
        and their per-order fill lists were most of what a long run kept in
        memory. An order closed by a submit is dropped at the next submit or
        event, so the fills it made at submission can still be asked for
        (:meth:`fills_of_order`); the fill log (:meth:`fetch_fills`), open
        orders and the account are unaffected. A snapshot then holds the open
        orders only.
        """
        self._forget = True

    def _drop_closed(self) -> None:
        orders, by_order = self._orders, self._settlement.by_order
        for client_order_id in self._closed:
            orders.pop(client_order_id, None)
            by_order.pop(client_order_id, None)
        self._closed.clear()

    def _reference(self, symbol: str, is_buy: bool) -> Decimal | None:
        """The price a buy (ask side) or sell (bid side) would meet now, if any event was seen."""
        event = self._last.get(symbol)
        if event is None:
            return None
        if isinstance(event, OrderBook):
            best = event.best_ask if is_buy else event.best_bid
            return None if best is None else self._adjust(best)
        return mark_of(event, self._adjust)

    def _view(self, symbol: str) -> View:
        event = self._last[symbol]
        cached = self._views.get(symbol)
        if cached is not None and cached[0] is event:
            return cached[1]
        view = view_of(event, self._adjust, self._participation)
        self._views[symbol] = (event, view)
        return view

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        order = self._find(client_order_id, symbol)
        if order.is_open:
            order.status = OrderStatus.CANCELLED
            order.updated_at = self._clock
            order.reason = "cancelled on request"
            self._account.release(order)
            self._resting[symbol] = [o for o in self._resting[symbol] if o is not order]
            self._watches.pop(symbol, None)
            if not self._resting[symbol]:
                del self._resting[symbol]
            if self._forget:
                self._closed.append(client_order_id)
        return order.to_order()

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        return self._find(client_order_id, symbol).to_order()

    def _find(self, client_order_id: str, symbol: str) -> WorkingOrder:
        order = self._orders.get(client_order_id)
        if order is None or order.request.symbol != symbol:
            raise OrderNotFoundError(
                f"no order {client_order_id!r} on {symbol}; it was never accepted here "
                "(check the id and symbol, or the ledger for a rejection)",
                venue=self.venue,
            )
        return order

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        if symbol is not None:
            return [o.to_order() for o in self._resting.get(symbol, ())]
        opened = [o for orders in self._resting.values() for o in orders]
        return [o.to_order() for o in sorted(opened, key=lambda o: o.seq)]

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        fills = [
            f
            for f in self._settlement.fills
            if (symbol is None or f.symbol == symbol) and (since is None or f.ts >= since)
        ]
        return sorted(fills, key=lambda f: f.ts)  # stable: same-ts fills keep their order

    def fills_of_order(self, client_order_id: str) -> Sequence[Fill]:
        """Fills of one order, oldest first (those made at submission with ``signal_close`` too);
        capability ``fills_by_order``."""
        return tuple(self._settlement.by_order.get(client_order_id, ()))

    fills_for_order = fills_of_order
    """API 1.0 name of :meth:`fills_of_order`."""

    # --- contract: account ----------------------------------------------------

    async def fetch_balances(self) -> Sequence[Balance]:
        if self._unfunded:
            self._fund()
        return self._account.balances(self.venue)

    async def fetch_positions(self) -> Sequence[Position]:
        return [
            self.position(symbol)
            for symbol, state in sorted(self._account.positions.items())
            if state.quantity != 0
        ]

    def position(self, symbol: str) -> Position:
        """A perpetual's position, flat ones included, with realised P&L, fees and funding."""
        market = self._markets.resolve(symbol, seen=symbol in self._last)
        event = self._last.get(symbol)
        mark = None if event is None else mark_of(event, self._adjust)
        return self._account.position_view(market, self.venue, mark)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        market = self._perpetual(symbol, "set leverage")
        if not 1 <= leverage <= 125:
            raise InvalidOrderError(
                f"leverage {leverage} for {symbol} is outside 1..125", venue=self.venue
            )
        if self._unfunded:
            self._fund()
        if not self._account.set_leverage(market, Decimal(leverage)):
            raise InsufficientFundsError(
                f"leverage {leverage} on {symbol} needs more margin than is free "
                f"({plain(self._account.free(market.settle))} {market.settle}); add collateral or "
                "reduce the position first",
                venue=self.venue,
            )

    def settle_funding(self, symbol: str, rate: Decimal, ts: datetime | None = None) -> Decimal:
        """Settle one funding interval on ``symbol`` at ``rate`` and the current mark
        (capability ``settle_funding``).

        Longs pay ``quantity * mark * contract_size * rate`` when the rate is
        positive and receive it when negative; shorts the opposite. Returns the
        amount this account paid (negative: received). The engine calls it at
        each funding time of the data (every 8 h on most venues).
        """
        market = self._perpetual(symbol, "apply funding")
        if ts is not None:
            self.advance_clock(ts)
        held = self._account.positions.get(symbol)
        if held is None or held.quantity == 0:
            return Decimal(0)  # a flat account pays nothing, whether or not a price was seen
        event = self._last.get(symbol)
        mark = None if event is None else mark_of(event, self._adjust)
        if mark is None:
            raise ExchangeError(
                f"no price seen for {symbol} yet; feed a market event before funding",
                venue=self.venue,
            )
        return self._account.apply_funding(market, rate, mark)

    apply_funding = settle_funding
    """API 1.0 name of :meth:`settle_funding`."""

    def _perpetual(self, symbol: str, what: str) -> Market:
        market = self._markets.resolve(symbol, seen=symbol in self._last)
        if not market.is_perpetual:
            raise InvalidOrderError(
                f"cannot {what} on spot market {symbol}; only perpetuals have it",
                venue=self.venue,
            )
        return market

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        event = self._last.get(symbol)
        if not isinstance(event, OrderBook):
            raise ExchangeError(
                f"no order book seen for {symbol}: the data stream carries "
                f"{'nothing' if event is None else event.kind + 's'} for it; feed OrderBook "
                "events to simulate depth",
                venue=self.venue,
            )
        return book_at_venue(event, self._adjust, self.venue, depth)

    # --- market events --------------------------------------------------------

    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        return self.match_event(event)

    def match_event(self, event: MarketEvent) -> tuple[Fill, ...]:
        """Synchronous :meth:`on_market_event` (capability ``sync_matching``): the fills
        ``event`` caused, in order.

        O(1) when no order rests on the event's symbol, or when the event's
        range reaches none of their prices (see :class:`Watch`): the event is
        then only remembered as the symbol's last price.
        """
        if self._closed:
            self._drop_closed()
        if event.kind == "metric":
            return _NO_FILLS
        if self._data_venue is not None and event.venue != self._data_venue:
            return _NO_FILLS
        symbol = event.symbol
        self._last[symbol] = event
        end = bar_end(event) if event.kind == "bar" else event.ts
        self._clock = max(self._clock, end)
        orders = self._resting.get(symbol)
        if not orders:
            return _NO_FILLS
        watch = self._watches.get(symbol)
        if watch is None:
            watch = self._watches[symbol] = Watch.of(orders)
        if not watch.reached_by(event, self._adjust):
            return _NO_FILLS
        del self._watches[symbol]  # matching changes what the orders wait for
        market = self._markets.get(symbol)
        assert market is not None  # orders exist only on resolved markets
        view = view_of(event, self._adjust, self._participation)
        self._views[symbol] = (event, view)
        collected: list[Fill] = []
        self._settlement.collected = collected
        self._matcher.match(orders, view, market.tick)
        self._settlement.collected = None
        self._prune(symbol)
        return tuple(collected)

    process_event = match_event
    """API 1.0 name of :meth:`match_event`."""

    def _prune(self, symbol: str) -> None:
        if not self._settlement.closed_any:
            return
        self._settlement.closed_any = False
        remaining: list[WorkingOrder] = []
        for order in self._resting.get(symbol, ()):
            if order.is_open:
                remaining.append(order)
            elif self._forget:
                self._closed.append(order.request.client_order_id)
        if remaining:
            self._resting[symbol] = remaining
        else:
            self._resting.pop(symbol, None)

    # --- persistence ----------------------------------------------------------

    def snapshot_state(self) -> dict[str, Any]:
        """The venue's whole state as JSON-able data (decimals as strings); capability
        ``state_snapshot``.

        In paper mode the engine stores it after each change; after a crash it
        builds a fresh adapter from the same config, calls :meth:`restore_state`, and
        reconciles its ledger against ``fetch_order``/``fetch_fills`` as it would
        with a real exchange.
        """
        if self._unfunded:
            self._fund()
        return dump_state(self)

    def restore_state(self, data: dict[str, Any]) -> None:
        """Load a :meth:`snapshot_state` into this (fresh, same-config) adapter."""
        load_state(self, data)
        self._unfunded = False  # the saved wallet is the wallet

    snapshot = snapshot_state
    """API 1.0 name of :meth:`snapshot_state`."""
    restore = restore_state
    """API 1.0 name of :meth:`restore_state`."""
