"""Matching rules: when an order fills, how much, at what price, as maker or taker.

An order is *live* once it has arrived (first event at or after its
``active_from``) and, for stop and take-profit types, been triggered. At
arrival it is checked once against the reference price (a bar's open, a
trade's price, the book's best opposite level, or the trigger price):

* market-like orders take liquidity at the reference price plus slippage;
* a limit that is marketable takes liquidity (taker fee), capped at its limit;
* a limit that is not marketable rests and fills later at its own price
  (maker fee) whenever the market trades through it (bar low <= buy limit,
  bar high >= sell limit; book asks <= buy limit, bids >= sell limit);
* IOC keeps what filled at arrival and expires the rest; FOK fills entirely
  at arrival or not at all; post-only (or GTX) expires if it would take.

How much fills is capped by the event's liquidity (``max_participation`` of
its volume or book levels, shared by all orders in the event) and by the
account (funds, reduce-only), which the :class:`FillSink` decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.views import Depth, Tape, View
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import OrderType, TimeInForce

_ZERO = Decimal(0)
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class FillSink(Protocol):
    """The venue side of a match: the account's limits, booking fills, expiring orders."""

    def capacity(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, taker: bool
    ) -> Decimal: ...

    def fill(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, taker: bool, ts: datetime
    ) -> None: ...

    def expire(self, order: WorkingOrder, reason: str, ts: datetime) -> None: ...


class Matcher:
    """Applies the matching rules of one venue to its orders, event by event."""

    def __init__(self, config: PaperExchangeConfig, sink: FillSink) -> None:
        self._sink = sink
        self._fixed = config.slippage_bps / 10000
        self._impact = config.impact_coefficient
        self._exponent = config.impact_exponent

    # --- prices ---------------------------------------------------------------

    def taker_price(
        self,
        reference: Decimal,
        is_buy: bool,
        quantity: Decimal,
        volume: Decimal | None,
        tick: Decimal,
    ) -> Decimal:
        """Reference price moved against the taker, then onto the tick grid (adversely).

        ``fraction = slippage_bps / 10000 + impact_coefficient * (quantity / volume) **
        impact_exponent``; the impact term needs a volume (bars, trades), a book's
        levels being their own impact.
        """
        fraction = self._fixed
        if self._impact and volume:
            fraction += self._impact * (quantity / volume) ** self._exponent
        if is_buy:
            price = reference * (1 + fraction)
            return (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick
        price = reference * (1 - fraction)
        return max(tick, (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick)

    # --- dispatch -------------------------------------------------------------

    def match(self, orders: Iterable[WorkingOrder], view: View, tick: Decimal) -> None:
        """Give every eligible open order its chance at this event, oldest first."""
        ts = view.ts
        for order in orders:
            if order.active_from > ts or not order.is_open:
                continue
            if isinstance(view, Tape):
                self._on_tape(order, view, tick)
            else:
                self._on_depth(order, view, tick)

    def arrive_now(self, order: WorkingOrder, view: View, tick: Decimal) -> None:
        """Arrival at submission (``fill_at`` signal_close) for orders that need no trigger."""
        if isinstance(view, Tape):
            self._arrive_tape(order, view, view.open, tick, rest_in_event=False)
        else:
            self._arrive_depth(order, view, tick)

    # --- bars and trades ------------------------------------------------------

    def _on_tape(self, order: WorkingOrder, tape: Tape, tick: Decimal) -> None:
        if order.needs_trigger:
            trigger = self._tape_trigger(order, tape)
            if trigger is not None:
                order.triggered = True
                self._arrive_tape(order, tape, trigger, tick, rest_in_event=False)
        elif not order.arrived:
            self._arrive_tape(order, tape, tape.open, tick, rest_in_event=True)
        else:
            self._rest_tape(order, tape, tick)

    @staticmethod
    def _tape_trigger(order: WorkingOrder, tape: Tape) -> Decimal | None:
        """The price a stop or take-profit triggers at in this bar, or None."""
        stop = order.request.stop_price
        assert stop is not None  # the SDK requires it for these types
        rises = order.is_buy == (order.request.order_type in _STOPS)
        if rises:
            return max(tape.open, stop) if tape.high >= stop else None
        return min(tape.open, stop) if tape.low <= stop else None

    def _take(self, order: WorkingOrder, tape: Tape) -> Decimal:
        left = tape.pool.left
        return order.remaining if left is None else min(order.remaining, left)

    def _arrive_tape(
        self,
        order: WorkingOrder,
        tape: Tape,
        reference: Decimal,
        tick: Decimal,
        *,
        rest_in_event: bool,
    ) -> None:
        order.arrived = True
        req = order.request
        limit = req.price
        marketable = limit is None or (reference <= limit if order.is_buy else reference >= limit)
        if not marketable:
            if req.time_in_force in _IMMEDIATE:
                self._sink.expire(
                    order,
                    f"{req.time_in_force.value} limit {limit} not marketable at {reference}",
                    tape.ts,
                )
            elif rest_in_event:
                self._rest_tape(order, tape, tick)
            return
        if order.post_only:
            self._sink.expire(
                order, f"post-only limit {limit} would take liquidity at {reference}", tape.ts
            )
            return
        quantity = self._take(order, tape)
        if quantity > 0:
            price = self.taker_price(reference, order.is_buy, quantity, tape.volume, tick)
            if limit is not None:
                price = min(price, limit) if order.is_buy else max(price, limit)
            if req.time_in_force is TimeInForce.FOK and (
                quantity < order.remaining
                or self._sink.capacity(order, quantity, price, True) < quantity
            ):
                self._sink.expire(order, "FOK: the full quantity is not available", tape.ts)
                return
            self._execute(order, quantity, price, True, tape)
        self._finish_immediate(order, tape.ts)

    def _rest_tape(self, order: WorkingOrder, tape: Tape, tick: Decimal) -> None:
        limit = order.request.price
        if limit is None:  # a market-like remainder takes what the next event offers
            quantity = self._take(order, tape)
            if quantity > 0:
                price = self.taker_price(tape.open, order.is_buy, quantity, tape.volume, tick)
                self._execute(order, quantity, price, True, tape)
            return
        crossed = tape.low <= limit if order.is_buy else tape.high >= limit
        if crossed:
            quantity = self._take(order, tape)
            if quantity > 0:
                self._execute(order, quantity, limit, False, tape)

    def _execute(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, taker: bool, tape: Tape
    ) -> None:
        before = order.filled
        self._sink.fill(order, quantity, price, taker, tape.ts)
        if tape.pool.left is not None:
            tape.pool.left -= order.filled - before

    def _finish_immediate(self, order: WorkingOrder, ts: datetime) -> None:
        tif = order.request.time_in_force
        if tif in _IMMEDIATE and order.is_open:
            self._sink.expire(order, f"{tif.value}: unfilled rest cancelled", ts)

    # --- order books ----------------------------------------------------------

    def _on_depth(self, order: WorkingOrder, depth: Depth, tick: Decimal) -> None:
        if order.needs_trigger:
            best = depth.best_ask if order.is_buy else depth.best_bid
            stop = order.request.stop_price
            if best is None or stop is None:
                return
            rises = order.is_buy == (order.request.order_type in _STOPS)
            if (best >= stop) if rises else (best <= stop):
                order.triggered = True
                self._arrive_depth(order, depth, tick)
        elif not order.arrived:
            self._arrive_depth(order, depth, tick)
        elif order.request.price is None:
            self._walk(order, depth, tick, taker=True)
        else:
            self._walk(order, depth, tick, taker=False)

    def _arrive_depth(self, order: WorkingOrder, depth: Depth, tick: Decimal) -> None:
        order.arrived = True
        req = order.request
        limit = req.price
        best = depth.best_ask if order.is_buy else depth.best_bid
        marketable = limit is None or (
            best is not None and (best <= limit if order.is_buy else best >= limit)
        )
        if not marketable:
            if req.time_in_force in _IMMEDIATE:
                self._sink.expire(
                    order,
                    f"{req.time_in_force.value} limit {limit} not marketable against best {best}",
                    depth.ts,
                )
            return
        if order.post_only:
            self._sink.expire(
                order, f"post-only limit {limit} would take liquidity at {best}", depth.ts
            )
            return
        if req.time_in_force is TimeInForce.FOK and not self._fok_fits(order, depth):
            self._sink.expire(order, "FOK: the full quantity is not available", depth.ts)
            return
        self._walk(order, depth, tick, taker=True)
        self._finish_immediate(order, depth.ts)

    def _fok_fits(self, order: WorkingOrder, depth: Depth) -> bool:
        """Whether the book within the limit holds the whole order and the account pays for it
        at the worst level it would reach."""
        needed = order.remaining
        for price, left in depth.asks if order.is_buy else depth.bids:
            if not self._within(order, price):
                return False
            needed -= min(needed, left)
            if needed == 0:
                return self._sink.capacity(order, order.remaining, price, True) == order.remaining
        return False

    def _within(self, order: WorkingOrder, price: Decimal) -> bool:
        limit = order.request.price
        return limit is None or (price <= limit if order.is_buy else price >= limit)

    def _walk(self, order: WorkingOrder, depth: Depth, tick: Decimal, *, taker: bool) -> None:
        """Take the opposite side level by level, one fill per level, within the limit."""
        levels = depth.asks if order.is_buy else depth.bids
        limit = order.request.price
        for level in levels:
            if not order.is_open or order.remaining == 0:
                break
            price, left = level
            if left <= 0:
                continue
            if not self._within(order, price):
                break
            quantity = min(order.remaining, left)
            if taker:
                fill_price = self.taker_price(price, order.is_buy, quantity, None, tick)
                if limit is not None:
                    fill_price = min(fill_price, limit) if order.is_buy else max(fill_price, limit)
            else:
                assert limit is not None
                fill_price = limit
            before = order.filled
            self._sink.fill(order, quantity, fill_price, taker, depth.ts)
            taken = order.filled - before
            level[1] = left - taken
            if taken < quantity:
                break
