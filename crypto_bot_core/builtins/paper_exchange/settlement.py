"""Booking what matching decides: fills into the account and the fill log, or expiry.

This is the :class:`~crypto_bot_core.builtins.paper_exchange.matching.FillSink`
of a venue: matching proposes a quantity and price, the settlement asks the
account how much of it can be carried (funds, reduce-only), books that much,
and expires the order when the account says it cannot go on.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from crypto_bot_core.builtins.paper_exchange.accounts import Account, plain
from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.markets import Market, MarketRegistry
from crypto_bot_core.builtins.paper_exchange.trusted import build
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import Fill, Liquidity, OrderStatus


class Settlement:
    """Books fills for one venue; keeps every fill, oldest first, and the ones per order."""

    def __init__(
        self, config: PaperExchangeConfig, markets: MarketRegistry, account: Account
    ) -> None:
        self._venue = config.venue
        self._maker = config.maker_fee
        self._taker = config.taker_fee
        self._markets = markets
        self._account = account
        self.fills: list[Fill] = []
        self.by_order: dict[str, list[Fill]] = {}
        self.collected: list[Fill] | None = None
        """While an event is matched: the fills it caused, for ``on_market_event``."""
        self.closed_any = False
        """Set when an order reached a terminal state, so the venue prunes its resting list."""
        self.fill_seq = 0

    def capacity(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, taker: bool
    ) -> Decimal:
        market = self._markets.get(order.request.symbol)
        assert market is not None
        rate = self._taker if taker else self._maker
        return self._account.cap_quantity(market, order, quantity, price, rate)[0]

    def fill(
        self, order: WorkingOrder, quantity: Decimal, price: Decimal, taker: bool, ts: datetime
    ) -> None:
        market = self._markets.get(order.request.symbol)
        assert market is not None
        rate = self._taker if taker else self._maker
        executed, exhausted = self._account.cap_quantity(market, order, quantity, price, rate)
        if executed > 0:
            self._book_fill(market, order, executed, price=price, rate=rate, taker=taker, ts=ts)
        if exhausted and order.is_open:
            req = order.request
            if req.reduce_only:
                held = self._account.position(req.symbol).quantity
                reason = f"reduce-only: the position is {held}, nothing more to reduce"
            else:
                asset = (
                    market.settle
                    if market.is_perpetual
                    else (market.quote if order.is_buy else market.base)
                )
                reason = (
                    f"insufficient {asset} to fill the remaining {order.remaining} at {price} "
                    f"(free {plain(self._account.free(asset))})"
                )
            self.expire(order, reason, ts)

    def _book_fill(
        self,
        market: Market,
        order: WorkingOrder,
        quantity: Decimal,
        *,
        price: Decimal,
        rate: Decimal,
        taker: bool,
        ts: datetime,
    ) -> None:
        fee = quantity * price * market.contract_size * rate
        self._account.release(order, quantity)
        self._account.settle(market, order.request.side, quantity, price, fee)
        order.filled += quantity
        order.notional += quantity * price
        order.fees += fee
        order.updated_at = ts
        if order.filled == order.request.quantity:
            order.status = OrderStatus.FILLED
            self.closed_any = True
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
        self.fill_seq += 1
        fill = build(
            Fill,
            {
                "fill_id": f"{self._venue}-fill-{self.fill_seq}",
                "client_order_id": order.request.client_order_id,
                "exchange_order_id": order.exchange_order_id,
                "symbol": market.symbol,
                "venue": self._venue,
                "side": order.request.side,
                "quantity": quantity,
                "price": price,
                "fee": fee,
                "fee_currency": market.settle,
                "liquidity": Liquidity.TAKER if taker else Liquidity.MAKER,
                "ts": ts,
            },
        )
        self.fills.append(fill)
        self.by_order.setdefault(fill.client_order_id, []).append(fill)
        if self.collected is not None:
            self.collected.append(fill)

    def expire(self, order: WorkingOrder, reason: str, ts: datetime) -> None:
        order.status = OrderStatus.EXPIRED
        order.reason = reason
        order.updated_at = ts
        self._account.release(order)
        self.closed_any = True
