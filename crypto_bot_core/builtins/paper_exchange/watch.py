"""Which prices could make any resting order of a symbol act, so other events skip matching.

Stops, take-profits and far limits may rest for thousands of bars; matching
each of them on every bar would make a backtest pay per order per bar. A
:class:`Watch` folds a symbol's open orders into two thresholds: something
may happen when the market trades at or below ``low_trigger`` (buy limits,
sell stops, buy take-profits) or at or above ``high_trigger`` (sell limits,
buy stops, sell take-profits). Orders that act on any event (not yet arrived,
or a market remainder) set ``always``. The thresholds are conservative for
books (best bid stands for the low, best ask for the high), never optimistic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from crypto_bot_core.builtins.paper_exchange.views import PriceAdjust
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import Bar, OrderBook, OrderType, Trade

_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


@dataclass(frozen=True, slots=True)
class Watch:
    always: bool
    low_trigger: Decimal | None
    high_trigger: Decimal | None

    @classmethod
    def of(cls, orders: Iterable[WorkingOrder]) -> Watch:
        low: Decimal | None = None
        high: Decimal | None = None
        for order in orders:
            req = order.request
            if order.needs_trigger:
                level = req.stop_price
                rises = order.is_buy == (req.order_type in _STOPS)
            elif not order.arrived or req.price is None:
                return cls(always=True, low_trigger=None, high_trigger=None)
            else:
                level = req.price
                rises = not order.is_buy
            assert level is not None
            if rises:
                high = level if high is None else min(high, level)
            else:
                low = level if low is None else max(low, level)
        return cls(always=False, low_trigger=low, high_trigger=high)

    def reached_by(self, event: Bar | Trade | OrderBook, adjust: PriceAdjust) -> bool:
        """Whether ``event`` (stream prices) reaches a threshold at this venue's prices."""
        if self.always:
            return True
        low: Decimal | None
        high: Decimal | None
        if isinstance(event, Bar):
            low, high = event.low, event.high
        elif isinstance(event, Trade):
            low = high = event.price
        else:
            low = event.best_bid if event.best_bid is not None else event.best_ask
            high = event.best_ask if event.best_ask is not None else event.best_bid
        if low is None or high is None:
            return False
        if not adjust.identity:
            low, high = adjust(low), adjust(high)
        return (self.low_trigger is not None and low <= self.low_trigger) or (
            self.high_trigger is not None and high >= self.high_trigger
        )
