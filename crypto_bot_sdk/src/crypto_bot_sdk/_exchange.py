"""The ExchangeAdapter contract: one venue's instruments, balances, orders and fills.

Simulated venues (the paper exchange) offer more than a real venue can: a
synchronous submit, one order's fills without a scan, instruments derived
from the data, their whole state as a snapshot, perpetual funding settled on
their books, matching without a coroutine per event, and forgetting closed
orders where nothing will ask for them again. Since API 1.1.0 these are
capabilities a manifest declares (``sync_submit``, ``fills_by_order``,
``adopt_symbols``, ``state_snapshot``, ``settle_funding``, ``sync_matching``,
``forget_closed``); the first five have the same parameters and results as
the engine's private structural protocols of API 1.0 (``place_order``,
``fills_for_order``, ``adopt_symbols``, ``snapshot``/``restore``,
``apply_funding``), which the engine no longer uses: it calls a capability's
method when the adapter's class overrides it.

The method names differ from those protocol members on purpose: a runtime
protocol matches any class that *has* the attribute, so a default named
``snapshot`` on this base class would make every adapter look snapshottable
to code still using such a protocol.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crypto_bot_sdk._component import Component, ConfigT, NotSupportedError, PluginKind
from crypto_bot_sdk._market import Instrument, MarketEvent, OrderBook
from crypto_bot_sdk._orders import Fill, Order, OrderRequest
from crypto_bot_sdk._portfolio import Balance, Position


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fee rates as fractions of notional (0.0004 = 4 bps); negative maker means a rebate."""

    maker: Decimal
    taker: Decimal


class ExchangeAdapter(Component[ConfigT]):
    """One venue: instruments, balances, orders and fills.

    ``submit_order`` must be idempotent by client order id: sending the same
    request twice (a resend after a timeout) returns the one order, never two.
    Simulated venues (the paper exchange) also receive market events through
    :meth:`on_market_event` and return the fills they cause; real venues ignore it.
    """

    kind = PluginKind.EXCHANGE

    @property
    @abstractmethod
    def venue(self) -> str:
        """Required: the venue's name as it appears in instruments, orders and the ledger."""

    @abstractmethod
    async def load_instruments(self) -> Sequence[Instrument]:
        """Required: tradable instruments with tick, lot and minimum-notional rules."""

    @abstractmethod
    async def submit_order(self, request: OrderRequest) -> Order:
        """Required: place an order, idempotent by ``request.client_order_id``.

        Raises :class:`InvalidOrderError`, :class:`InsufficientFundsError`,
        :class:`DuplicateOrderError` (same id, different parameters) and the
        other :class:`ExchangeError` subclasses.
        """

    @abstractmethod
    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        """Required: cancel an open order and return its final state."""

    @abstractmethod
    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        """Required: the order's current state; :class:`OrderNotFoundError` if unknown."""

    @abstractmethod
    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        """Required: orders not yet in a terminal state."""

    @abstractmethod
    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        """Required: own fills, oldest first; used to recover fills missed while disconnected."""

    @abstractmethod
    async def fetch_balances(self) -> Sequence[Balance]:
        """Required: balances per asset on this venue."""

    async def fetch_positions(self) -> Sequence[Position]:
        """Optional (capability ``positions``): open derivative positions."""
        raise NotSupportedError(f"exchange {self.venue!r} reports no positions")

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        """Optional (capability ``order_book``): a depth snapshot."""
        raise NotSupportedError(f"exchange {self.venue!r} offers no order book")

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        """Optional (capability ``fees``): maker and taker rates for ``symbol``."""
        raise NotSupportedError(f"exchange {self.venue!r} publishes no fee schedule")

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Optional (capability ``leverage``): set the leverage for a derivative market."""
        raise NotSupportedError(f"exchange {self.venue!r} has no leverage setting")

    def fill_stream(self) -> AsyncIterator[Fill]:
        """Optional (capability ``fill_stream``): own fills pushed as they happen."""
        raise NotSupportedError(f"exchange {self.venue!r} has no fill stream; poll fetch_fills")

    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        """Optional (capability ``simulated``): match resting orders against a market event."""
        return ()

    # --- simulated-venue capabilities (API 1.1.0) -------------------------------

    def submit_order_sync(self, request: OrderRequest) -> Order:
        """Optional (capability ``sync_submit``): :meth:`submit_order` without a coroutine.

        For an in-process venue whose submit cannot time out or lose its
        connection; it must be exactly what the class's own ``submit_order``
        does (same idempotency, same errors), so the engine may call either.
        """
        raise NotSupportedError(f"exchange {self.venue!r} has no synchronous submit")

    def fills_of_order(self, client_order_id: str) -> Sequence[Fill]:
        """Optional (capability ``fills_by_order``): one order's fills, oldest first, without
        scanning :meth:`fetch_fills`; empty for an order without fills."""
        raise NotSupportedError(f"exchange {self.venue!r} cannot list one order's fills")

    def adopt_instruments(self, symbols: Iterable[str]) -> list[Instrument]:
        """Optional (capability ``adopt_symbols``): make ``symbols`` tradable before their first
        event and return their instruments.

        For a simulated venue that derives its instruments from the data it
        will see; afterwards :meth:`load_instruments` lists them.
        """
        raise NotSupportedError(f"exchange {self.venue!r} lists a fixed set of instruments")

    def snapshot_state(self) -> dict[str, Any]:
        """Optional (capability ``state_snapshot``, with :meth:`restore_state`): the venue's whole
        state as JSON-able data (decimals as strings).

        The engine stores it after every change so that a crashed paper run
        can resume with its "exchange" exactly where it was.
        """
        raise NotSupportedError(f"exchange {self.venue!r} keeps no state of its own to save")

    def restore_state(self, data: dict[str, Any]) -> None:
        """Optional (capability ``state_snapshot``): load a :meth:`snapshot_state` into this
        fresh adapter built from the same config."""
        raise NotSupportedError(f"exchange {self.venue!r} keeps no state of its own to restore")

    def settle_funding(self, symbol: str, rate: Decimal, ts: datetime | None = None) -> Decimal:
        """Optional (capability ``settle_funding``): settle one funding interval of perpetual
        ``symbol`` at ``rate`` and the venue's mark.

        Longs pay ``quantity x mark x contract size x rate`` when the rate is
        positive and receive it when negative, shorts the opposite; returns
        what this account paid (negative: received), zero when flat.
        """
        raise NotSupportedError(f"exchange {self.venue!r} settles no funding itself")

    def match_event(self, event: MarketEvent) -> Sequence[Fill]:
        """Optional (capability ``sync_matching``): :meth:`on_market_event` without a coroutine.

        A backtest offers every event to every simulated venue; awaiting a
        coroutine for each costs more than matching an event that reaches no
        resting order. It must return exactly what the class's own
        ``on_market_event`` returns for the event (the same fills, in order,
        with the same effect on the venue), so the engine may call either;
        a venue declaring it also declares ``simulated``.
        """
        raise NotSupportedError(f"exchange {self.venue!r} has no synchronous matching")

    def forget_closed_orders(self) -> None:
        """Optional (capability ``forget_closed``): from now on, keep no order once it is closed
        (filled, cancelled, expired) and the fills it made have been handed over.

        The engine calls it once, before the first event, in a run that will
        never ask about a closed order again: a backtest, which is never
        resumed, takes every fill as the venue reports it and never resends an
        order. Afterwards :meth:`fetch_order` and :meth:`fills_of_order` no
        longer know a closed order, and a resend of its client order id is a
        new order; open orders, balances, positions and :meth:`fetch_fills` are
        unaffected. Without it a simulated venue keeps every order of a long
        backtest in memory.
        """
        raise NotSupportedError(f"exchange {self.venue!r} keeps every order it was sent")
