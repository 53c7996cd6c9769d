"""Placing, finding and cancelling orders by client order id.

Binance's ``newClientOrderId`` (``clientAlgoId`` for conditional orders) is
the SDK's client order id, so an order can always be found by the id chosen
before it was sent. That makes submission idempotent: an id this adapter
has not seen is first looked up at Binance (a resend after a restart, or
after an answer was lost), and a placement whose answer is lost (timeout,
dropped connection, 5xx) is looked up before anything is sent again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from crypto_bot_sdk import (
    DuplicateOrderError,
    InvalidOrderError,
    Order,
    OrderNotFoundError,
    OrderRequest,
    PrecisionError,
)
from cryptobot_binance_futures.connection import Connection, is_client_error
from cryptobot_binance_futures.errors import binance_error, is_ambiguous, to_sdk_error
from cryptobot_binance_futures.wire import (
    TRIGGERED_STATES,
    is_algo,
    order_of_wire,
    order_params,
    request_of_wire,
    terms,
    terms_of_wire,
)


@dataclass
class Known:
    """What the adapter remembers of an order it placed or looked up."""

    request: OrderRequest
    algo: bool
    exchange_order_id: str | None = None


@dataclass(frozen=True)
class Found:
    raw: dict[str, Any]
    algo: bool
    child: dict[str, Any] | None = None


class OrderDesk:
    def __init__(self, connection: Connection) -> None:
        self.conn = connection
        self.known: dict[str, Known] = {}
        self.client_ids: dict[tuple[str, str], str] = {}
        """(Binance symbol id, Binance order id) -> client order id, for naming fills."""
        self.symbols: set[str] = set()
        """Every symbol this adapter has placed or found an order in: the fills to poll."""

    # --- submission ------------------------------------------------------------------------

    async def submit(self, request: OrderRequest) -> Order:
        venue = self.conn.venue
        if request.venue != venue:
            raise InvalidOrderError(
                f"order {request.client_order_id} is for venue {request.venue!r}, but this "
                f"adapter is {venue!r}; route it to the right exchange",
                venue=venue,
            )
        market_id = self.conn.market_id(request.symbol)
        self._preflight(request)
        coid = request.client_order_id
        known = self.known.get(coid)
        if known is not None:
            if not known.request.same_order_as(request):
                raise self._duplicate(request)
            return await self.fetch(coid, request.symbol)
        params = order_params(request, market_id)
        existing = await self._lookup(coid, market_id, prefer_algo=is_algo(request.order_type))
        if existing is not None:
            return self._adopt_existing(request, params, existing)
        return await self._place(request, params, market_id)

    def _preflight(self, request: OrderRequest) -> None:
        """Refuse what Binance would refuse, before sending: wrong grid, size or notional."""
        filters = self.conn.filters[request.symbol]
        venue, symbol = self.conn.venue, request.symbol
        market = not request.order_type.needs_price
        step = filters.market_step if market else filters.step
        max_qty = filters.market_max_qty if market else filters.max_qty
        if request.quantity % step != 0:
            suggestion = (request.quantity // step) * step
            raise PrecisionError(
                f"quantity {request.quantity} of {symbol} is not a multiple of the lot size "
                f"{step}; send {suggestion} instead (Instrument.round_quantity)",
                venue=venue,
            )
        for label, price in (("price", request.price), ("stop price", request.stop_price)):
            if price is not None and price % filters.tick != 0:
                suggestion = round(price / filters.tick) * filters.tick
                raise PrecisionError(
                    f"{label} {price} of {symbol} is not on the tick grid {filters.tick}; send "
                    f"{suggestion} instead (Instrument.round_price)",
                    venue=venue,
                )
        if request.quantity < filters.min_qty or request.quantity > max_qty:
            raise InvalidOrderError(
                f"quantity {request.quantity} of {symbol} is outside Binance's limits "
                f"[{filters.min_qty}, {max_qty}] for this order type; resize the order",
                venue=venue,
            )
        notional = request.quantity * request.price if request.price is not None else None
        if notional is not None and notional < filters.min_notional and not request.reduce_only:
            raise InvalidOrderError(
                f"order notional {notional} of {symbol} is below Binance's minimum "
                f"{filters.min_notional}; trade a larger size",
                venue=venue,
            )

    def _duplicate(self, request: OrderRequest) -> DuplicateOrderError:
        return DuplicateOrderError(
            f"client order id {request.client_order_id} is already used by an order with other "
            "terms; choose a new client order id for a new order",
            venue=self.conn.venue,
        )

    def _adopt_existing(self, request: OrderRequest, params: dict[str, str], found: Found) -> Order:
        if terms(params) != terms_of_wire(found.raw, found.algo):
            raise self._duplicate(request)
        self._remember(request, found)
        return self._order(request, found)

    async def _place(self, request: OrderRequest, params: dict[str, str], market_id: str) -> Order:
        client = self.conn.client
        algo = is_algo(request.order_type)
        send = client.fapiPrivatePostAlgoOrder if algo else client.fapiPrivatePostOrder
        action = f"placing order {request.client_order_id} ({request.symbol})"
        delay = self.conn.config.retry_backoff_s
        attempts = self.conn.config.max_retries + 1
        for attempt in range(attempts):
            try:
                raw = await send(dict(params))
            except Exception as exc:
                if not is_client_error(exc):
                    raise
                error = to_sdk_error(exc, venue=self.conn.venue, action=action)
                found = binance_error(str(exc))
                duplicated = found is not None and found[0] == -4116
                if not (is_ambiguous(error) or duplicated):
                    wait = self.conn.retry_wait(error, delay)
                    if wait is None or attempt == attempts - 1:
                        raise error from exc
                    await asyncio.sleep(wait)
                    delay *= 2
                    continue
                # The answer is lost (or the id is taken): Binance may hold the order. Find
                # it by client order id before anything is sent again.
                await asyncio.sleep(delay)
                delay *= 2
                existing = await self._lookup(request.client_order_id, market_id, prefer_algo=algo)
                if existing is not None:
                    return self._adopt_existing(request, params, existing)
                if attempt == attempts - 1:
                    raise error from exc
                continue
            found_order = Found(raw=raw, algo=algo)
            self._remember(request, found_order)
            return self._order(request, found_order)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- lookups ---------------------------------------------------------------------------

    async def _get(self, fn: Any, params: dict[str, str], action: str) -> dict[str, Any] | None:
        try:
            raw: dict[str, Any] = await self.conn.call(action, fn, params)
        except OrderNotFoundError:
            return None
        return raw

    async def _lookup(self, coid: str, market_id: str, *, prefer_algo: bool) -> Found | None:
        """The order with client order id ``coid`` at Binance, plain or conditional, or None."""
        client = self.conn.require_open()
        action = f"looking up order {coid}"

        async def plain() -> Found | None:
            params = {"symbol": market_id, "origClientOrderId": coid}
            raw = await self._get(client.fapiPrivateGetOrder, params, action)
            return None if raw is None else Found(raw=raw, algo=False)

        async def algo() -> Found | None:
            raw = await self._get(client.fapiPrivateGetAlgoOrder, {"clientAlgoId": coid}, action)
            if raw is None or raw.get("symbol") != market_id:
                return None
            child = None
            actual = str(raw.get("actualOrderId") or "")
            if raw.get("algoStatus") in TRIGGERED_STATES and actual:
                params = {"symbol": market_id, "orderId": actual}
                child = await self._get(client.fapiPrivateGetOrder, params, action)
            return Found(raw=raw, algo=True, child=child)

        for attempt in (algo, plain) if prefer_algo else (plain, algo):
            found = await attempt()
            if found is not None:
                return found
        return None

    def _remember(self, request: OrderRequest, found: Found) -> None:
        self.symbols.add(request.symbol)
        market_id = self.conn.market_id(request.symbol)
        exchange_id = None
        for raw in (found.child, None if found.algo else found.raw):
            if raw is not None and raw.get("orderId") is not None:
                exchange_id = str(raw["orderId"])
                self.client_ids[(market_id, exchange_id)] = request.client_order_id
        self.known[request.client_order_id] = Known(request, found.algo, exchange_id)

    def _order(self, request: OrderRequest, found: Found) -> Order:
        return order_of_wire(found.raw, request, algo=found.algo, child=found.child)

    def _request_for(self, found: Found, symbol: str) -> OrderRequest:
        coid = str(found.raw.get("clientAlgoId") if found.algo else found.raw.get("clientOrderId"))
        known = self.known.get(coid)
        if known is not None:
            return known.request
        return request_of_wire(found.raw, symbol, self.conn.venue, found.algo)

    async def fetch(self, coid: str, symbol: str) -> Order:
        market_id = self.conn.market_id(symbol)
        known = self.known.get(coid)
        found = await self._lookup(coid, market_id, prefer_algo=bool(known and known.algo))
        if found is None:
            raise OrderNotFoundError(
                f"Binance knows no order with client order id {coid} on {symbol}; check the id "
                "and the symbol (orders cancelled unfilled over 3 days ago are forgotten)",
                venue=self.conn.venue,
            )
        request = self._request_for(found, symbol)
        self._remember(request, found)
        return self._order(request, found)

    # --- cancel and open orders -----------------------------------------------------------------

    async def cancel(self, coid: str, symbol: str) -> Order:
        market_id = self.conn.market_id(symbol)
        client = self.conn.require_open()
        known = self.known.get(coid)
        action = f"cancelling order {coid} ({symbol})"
        if known is None or not known.algo:
            params = {"symbol": market_id, "origClientOrderId": coid}
            raw = await self._get(client.fapiPrivateDeleteOrder, params, action)
            if raw is not None:
                found = Found(raw=raw, algo=False)
                request = self._request_for(found, symbol)
                self._remember(request, found)
                return self._order(request, found)
        if known is None or known.algo:
            algo_params = {"symbol": market_id, "clientAlgoId": coid}
            if await self._get(client.fapiPrivateDeleteAlgoOrder, algo_params, action) is not None:
                return await self.fetch(coid, symbol)
        # Nothing open to cancel: a fill (or an earlier cancel) won the race, or it never existed.
        return await self.fetch(coid, symbol)

    async def open_orders(self, symbol: str | None) -> list[Order]:
        """Open orders of ``symbol``; of every configured symbol (or, with no 'symbols'
        setting, of the whole account) when it is None.

        Per-symbol queries cost Binance weight 1 each, the account-wide one 40: with a
        configured list the adapter asks per symbol, which is also all it may trade.
        """
        client = self.conn.require_open()
        if symbol is not None:
            scopes: list[dict[str, str]] = [{"symbol": self.conn.market_id(symbol)}]
        elif self.conn.config.symbols:
            scopes = [{"symbol": self.conn.market_id(s)} for s in self.conn.config.symbols]
        else:
            scopes = [{}]
        rows: list[tuple[dict[str, Any], bool]] = []
        for params in scopes:
            plain = await self.conn.call(
                "listing open orders", client.fapiPrivateGetOpenOrders, dict(params)
            )
            algos = await self.conn.call(
                "listing open conditional orders", client.fapiPrivateGetOpenAlgoOrders, dict(params)
            )
            rows += [(r, False) for r in plain] + [(r, True) for r in algos]
        orders: list[Order] = []
        for raw, algo in rows:
            found = Found(raw=raw, algo=algo)
            sym = self.conn.symbol_of(str(raw["symbol"]))
            request = self._request_for(found, sym)
            self._remember(request, found)
            orders.append(self._order(request, found))
        return orders

    async def client_order_id(self, market_id: str, order_id: str) -> str:
        """The client order id of Binance order ``order_id`` (asked for once, then remembered)."""
        cached = self.client_ids.get((market_id, order_id))
        if cached is not None:
            return cached
        client = self.conn.require_open()
        raw = await self.conn.call(
            f"looking up order {order_id}", client.fapiPrivateGetOrder,
            {"symbol": market_id, "orderId": order_id},
        )  # fmt: skip
        coid = str(raw.get("clientOrderId"))
        self.client_ids[(market_id, order_id)] = coid
        return coid

