"""The fake venue's state: accounts, orders, the matching engine and its events.

One object, used only from the server's event loop. Other participants are
simulated by a market maker that always quotes a ladder of ``level_qty``
around the mid price, so a large market order walks several levels and fills
in parts (several trades), while :meth:`FakeVenue.external_trade` prints a
trade by someone else that fills our resting orders, partly if its size says
so, and fires conditional orders whose trigger it crosses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .models import (
    ZERO,
    AlgoOrder,
    BinanceError,
    FakeAccount,
    FakeOrder,
    FakePosition,
    FakeTrade,
    SymbolSpec,
    bad_request,
    text,
)
from .rules import check_order_params, margin_needed

TAKER_FEE = Decimal("0.0004")
MAKER_FEE = Decimal("0.0002")
LADDER_LEVELS = 10
Listener = Callable[[str, dict[str, Any]], None]


class FakeVenue:
    def __init__(self, symbols: list[SymbolSpec], clock: Callable[[], int]) -> None:
        self.symbols = {spec.id: spec for spec in symbols}
        self.clock = clock
        self.accounts: dict[str, FakeAccount] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.algos: dict[int, AlgoOrder] = {}
        self.trades: list[FakeTrade] = []
        self.prints: dict[str, list[tuple[int, Decimal, Decimal]]] = {s: [] for s in self.symbols}
        self.listeners: list[Listener] = []
        self._order_ids = itertools.count(8_000_000_001)
        self._algo_ids = itertools.count(3_000_000_001)
        self._trade_ids = {s: itertools.count(500_000_001) for s in self.symbols}
        self.accepted_orders = 0

    # --- accounts and lookups ---------------------------------------------------

    def add_account(self, api_key: str, secret: str, wallet: Decimal) -> FakeAccount:
        account = FakeAccount(api_key=api_key, secret=secret, wallet=wallet)
        self.accounts[api_key] = account
        return account

    def spec(self, symbol: str | None) -> SymbolSpec:
        if not symbol:
            raise bad_request(
                -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if symbol not in self.symbols:
            raise bad_request(-1121, "Invalid symbol.")
        return self.symbols[symbol]

    def position(self, account: FakeAccount, symbol: str) -> FakePosition:
        return account.positions.setdefault(symbol, FakePosition())

    def leverage(self, account: FakeAccount, symbol: str) -> int:
        return account.leverage.get(symbol, 20)

    def _emit(self, account: str, event: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(account, event)

    # --- the market maker's ladder --------------------------------------------------

    def spacing(self, spec: SymbolSpec) -> Decimal:
        steps = max(1, int(spec.price * Decimal("0.0001") / spec.tick))
        return spec.tick * steps

    def ladder(self, spec: SymbolSpec, side: str) -> list[tuple[Decimal, Decimal]]:
        """Levels an incoming order of ``side`` can take: asks for a BUY, bids for a SELL."""
        gap = self.spacing(spec)
        sign = 1 if side == "BUY" else -1
        return [(spec.price + sign * gap * k, spec.level_qty) for k in range(1, LADDER_LEVELS + 1)]

    def depth(self, symbol: str, limit: int) -> dict[str, Any]:
        spec = self.spec(symbol)
        now = self.clock()
        asks = [[text(p), text(q)] for p, q in self.ladder(spec, "BUY")[:limit]]
        bids = [[text(p), text(q)] for p, q in self.ladder(spec, "SELL")[:limit]]
        return {"lastUpdateId": now, "E": now, "T": now, "bids": bids, "asks": asks}

    # --- orders -----------------------------------------------------------------------

    def find_order(
        self, account: str, symbol: str, order_id: str | None, client_id: str | None
    ) -> FakeOrder | None:
        candidates = [
            o for o in self.orders.values()
            if o.account == account and o.symbol == symbol
            and (order_id is None or str(o.order_id) == order_id)
            and (client_id is None or o.client_order_id == client_id)
        ]  # fmt: skip
        return max(candidates, key=lambda o: o.order_id) if candidates else None

    def place_order(self, account: FakeAccount, params: dict[str, str]) -> FakeOrder:
        spec = self.spec(params.get("symbol"))
        checked = check_order_params(spec, params, conditional=False)
        if checked.type not in ("LIMIT", "MARKET"):
            raise bad_request(
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API "
                "endpoints instead.",
            )
        client_id = checked.client_id or f"fake-{next(self._order_ids)}"
        duplicate = self.find_order(account.api_key, spec.id, None, client_id)
        if duplicate is not None and duplicate.is_open:
            raise bad_request(-4116, "ClientOrderId is duplicated.")
        now = self.clock()
        order = FakeOrder(
            order_id=next(self._order_ids), client_order_id=client_id, account=account.api_key,
            symbol=spec.id, side=checked.side, type=checked.type, qty=checked.qty,
            price=checked.price, stop_price=ZERO, time_in_force=checked.time_in_force,
            reduce_only=checked.reduce_only, time=now, update_time=now,
        )  # fmt: skip
        self._admit(account, spec, order)
        return order

    def _admit(self, account: FakeAccount, spec: SymbolSpec, order: FakeOrder) -> None:
        """Checks that need the account and the book, then matching, then the events."""
        position = self.position(account, spec.id)
        signed = order.qty if order.side == "BUY" else -order.qty
        if order.reduce_only and (position.amount == 0 or (position.amount > 0) == (signed > 0)):
            raise bad_request(-2022, "ReduceOnly Order is rejected.")
        reference = order.price if order.type == "LIMIT" else spec.price
        if order.qty * reference < spec.min_notional and not order.reduce_only:
            raise bad_request(
                -4164,
                f"Order's notional must be no smaller than {text(spec.min_notional)} "
                "(unless you choose reduce only).",
            )
        levels = self._reachable(spec, order)
        if order.time_in_force == "GTX" and levels:
            raise bad_request(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be "
                "rejected. The order will not be recorded in the order history",
            )
        if order.time_in_force == "FOK" and sum(q for _, q in levels) < order.qty:
            raise bad_request(
                -5021,
                "Due to the order could not be filled immediately, the FOK order has been "
                "rejected. The order will not be recorded in the order history",
            )
        needed = margin_needed(self, account, spec, order, reference)
        if needed > self.available(account):
            raise bad_request(-2019, "Margin is insufficient.")
        self.orders[order.order_id] = order
        self.accepted_orders += 1
        self._order_event(order, "NEW")
        remaining = order.qty
        for price, qty in levels:
            if remaining <= 0:
                break
            take = min(qty, remaining)
            self._fill(account, spec, order, price, take, maker=False)
            remaining -= take
        if order.is_open and (order.type == "MARKET" or order.time_in_force == "IOC"):
            order.status = "EXPIRED"
            order.update_time = self.clock()
            self._order_event(order, "EXPIRED")

    def _reachable(self, spec: SymbolSpec, order: FakeOrder) -> list[tuple[Decimal, Decimal]]:
        levels = self.ladder(spec, order.side)
        if order.type == "MARKET":
            return levels
        if order.side == "BUY":
            return [(p, q) for p, q in levels if p <= order.price]
        return [(p, q) for p, q in levels if p >= order.price]

    def cancel_order(self, account: str, symbol: str, order_id: str | None, client_id: str | None
                     ) -> FakeOrder:  # fmt: skip
        self.spec(symbol)
        order = self.find_order(account, symbol, order_id, client_id)
        if order is None or not order.is_open:
            raise bad_request(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_time = self.clock()
        self._order_event(order, "CANCELED")
        return order

    def query_order(self, account: str, symbol: str, order_id: str | None, client_id: str | None
                    ) -> FakeOrder:  # fmt: skip
        self.spec(symbol)
        if order_id is None and client_id is None:
            raise bad_request(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        order = self.find_order(account, symbol, order_id, client_id)
        if order is None:
            raise bad_request(-2013, "Order does not exist.")
        return order

    def open_orders(self, account: str, symbol: str | None) -> list[FakeOrder]:
        if symbol is not None:
            self.spec(symbol)
        return [
            o for o in self.orders.values()
            if o.account == account and o.is_open and (symbol is None or o.symbol == symbol)
        ]  # fmt: skip

    # --- conditional (algo) orders -------------------------------------------------------

    def place_algo(self, account: FakeAccount, params: dict[str, str]) -> AlgoOrder:
        if params.get("algoType") != "CONDITIONAL":
            raise bad_request(-1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.")  # noqa: E501
        spec = self.spec(params.get("symbol"))
        checked = check_order_params(spec, params, conditional=True)
        trigger = checked.trigger
        fires_now = {
            ("BUY", True): spec.price >= trigger, ("SELL", True): spec.price <= trigger,
            ("BUY", False): spec.price <= trigger, ("SELL", False): spec.price >= trigger,
        }[(checked.side, checked.type in ("STOP", "STOP_MARKET"))]  # fmt: skip
        if fires_now:
            raise bad_request(-2021, "Order would immediately trigger.")
        client_id = checked.client_id or f"fake-algo-{next(self._algo_ids)}"
        if any(a.client_algo_id == client_id and a.is_open for a in self.algos.values()):
            raise bad_request(-4116, "ClientOrderId is duplicated.")
        now = self.clock()
        algo = AlgoOrder(
            algo_id=next(self._algo_ids), client_algo_id=client_id, account=account.api_key,
            symbol=spec.id, side=checked.side, order_type=checked.type, qty=checked.qty,
            price=checked.price, trigger_price=trigger, time_in_force=checked.time_in_force,
            reduce_only=checked.reduce_only, create_time=now, update_time=now,
        )  # fmt: skip
        self.algos[algo.algo_id] = algo
        self.accepted_orders += 1
        return algo

    def find_algo(self, account: str, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        for algo in sorted(self.algos.values(), key=lambda a: -a.algo_id):
            if algo.account != account:
                continue
            if (algo_id is None or str(algo.algo_id) == algo_id) and (
                client_id is None or algo.client_algo_id == client_id
            ):
                return algo
        raise bad_request(-2013, "Order does not exist.")

    def cancel_algo(self, account: str, algo_id: str | None, client_id: str | None) -> AlgoOrder:
        try:
            algo = self.find_algo(account, algo_id, client_id)
        except BinanceError:
            raise bad_request(-2011, "Unknown order sent.") from None
        if not algo.is_open:
            raise bad_request(-2011, "Unknown order sent.")
        algo.status = "CANCELED"
        algo.update_time = self.clock()
        return algo

    def _trigger(self, spec: SymbolSpec) -> None:
        for algo in list(self.algos.values()):
            if not algo.is_open or algo.symbol != spec.id:
                continue
            stop = algo.order_type in ("STOP", "STOP_MARKET")
            up = (algo.side == "BUY") == stop
            if (spec.price >= algo.trigger_price) if up else (spec.price <= algo.trigger_price):
                self._fire(algo, spec)

    def _fire(self, algo: AlgoOrder, spec: SymbolSpec) -> None:
        account = self.accounts[algo.account]
        now = self.clock()
        algo.trigger_time = now
        algo.update_time = now
        market = algo.order_type.endswith("MARKET")
        order = FakeOrder(
            order_id=next(self._order_ids), client_order_id=algo.client_algo_id,
            account=account.api_key, symbol=spec.id, side=algo.side,
            type="MARKET" if market else "LIMIT", qty=algo.qty,
            price=ZERO if market else algo.price, stop_price=algo.trigger_price,
            time_in_force=algo.time_in_force, reduce_only=algo.reduce_only,
            time=now, update_time=now,
        )  # fmt: skip
        try:
            self._admit(account, spec, order)
        except BinanceError:
            algo.status = "REJECTED"
            return
        algo.status = "FINISHED"
        algo.actual_order_id = order.order_id

    # --- fills, positions, events ---------------------------------------------------------

    def external_trade(self, symbol: str, price: Decimal, qty: Decimal | None = None) -> None:
        """Someone else trades ``qty`` (None: without limit) at ``price``: the mid moves there,
        resting orders it crosses fill as makers, and triggers it crosses fire."""
        spec = self.spec(symbol)
        spec.price = price
        left = qty
        resting = sorted(
            (o for o in self.orders.values() if o.symbol == symbol and o.is_open),
            key=lambda o: o.order_id,
        )
        for order in resting:
            crossed = order.price >= price if order.side == "BUY" else order.price <= price
            if not crossed:
                continue
            take = order.remaining if left is None else min(order.remaining, left)
            if take <= 0:
                break
            self._fill(self.accounts[order.account], spec, order, order.price, take, maker=True)
            if left is not None:
                left -= take
        self.prints[symbol].append((self.clock(), price, qty or ZERO))
        self._trigger(spec)

    def _fill(self, account: FakeAccount, spec: SymbolSpec, order: FakeOrder, price: Decimal,
              qty: Decimal, *, maker: bool) -> None:  # fmt: skip
        now = self.clock()
        fee = price * qty * (MAKER_FEE if maker else TAKER_FEE)
        realized = self._move_position(
            account, spec.id, side=order.side, price=price, qty=qty, now=now
        )
        account.wallet += realized - fee
        order.executed += qty
        order.cum_quote += price * qty
        order.status = "FILLED" if order.executed == order.qty else "PARTIALLY_FILLED"
        order.update_time = now
        trade = FakeTrade(
            id=next(self._trade_ids[spec.id]), order_id=order.order_id, account=account.api_key,
            symbol=spec.id, side=order.side, price=price, qty=qty, commission=fee,
            realized_pnl=realized, maker=maker, time=now,
        )  # fmt: skip
        self.trades.append(trade)
        self.prints[spec.id].append((now, price, qty))
        self._order_event(order, "TRADE", trade)
        self._account_event(account, spec.id)

    def _move_position(
        self, account: FakeAccount, symbol: str, *, side: str, price: Decimal, qty: Decimal,
        now: int,
    ) -> Decimal:  # fmt: skip
        position = self.position(account, symbol)
        signed = qty if side == "BUY" else -qty
        realized = ZERO
        if position.amount == 0 or (position.amount > 0) == (signed > 0):
            total = position.amount + signed
            position.entry_price = (
                position.entry_price * abs(position.amount) + price * qty
            ) / abs(total)
            position.amount = total
        else:
            closing = min(abs(signed), abs(position.amount))
            direction = 1 if position.amount > 0 else -1
            realized = (price - position.entry_price) * closing * direction
            position.amount += signed
            if position.amount == 0:
                position.entry_price = ZERO
            elif (position.amount > 0) != (direction > 0):
                position.entry_price = price  # flipped: the rest opened at this price
        position.update_time = now
        return realized

    def available(self, account: FakeAccount) -> Decimal:
        used = ZERO
        unrealized = ZERO
        for symbol, position in account.positions.items():
            spec = self.symbols[symbol]
            used += abs(position.amount) * position.entry_price / self.leverage(account, symbol)
            unrealized += (spec.price - position.entry_price) * position.amount
        for order in self.open_orders(account.api_key, None):
            used += order.remaining * order.price / self.leverage(account, order.symbol)
        return account.wallet + min(unrealized, ZERO) - used

    def _order_event(
        self, order: FakeOrder, execution: str, trade: FakeTrade | None = None
    ) -> None:
        now = self.clock()
        spec = self.symbols[order.symbol]
        payload = {
            "s": order.symbol, "c": order.client_order_id, "S": order.side, "o": order.type,
            "f": order.time_in_force, "q": text(order.qty), "p": text(order.price),
            "ap": text(order.avg_price), "sp": text(order.stop_price), "x": execution,
            "X": order.status, "i": order.order_id,
            "l": text(trade.qty) if trade else "0", "z": text(order.executed),
            "L": text(trade.price) if trade else "0", "N": spec.quote,
            "n": text(trade.commission) if trade else "0", "T": now,
            "t": trade.id if trade else 0, "b": "0", "a": "0",
            "m": trade.maker if trade else False, "R": order.reduce_only,
            "wt": "CONTRACT_PRICE", "ot": order.type, "ps": "BOTH", "cp": False,
            "rp": text(trade.realized_pnl) if trade else "0", "pP": False, "si": 0, "ss": 0,
            "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
        }  # fmt: skip
        self._emit(order.account, {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": payload})

    def _account_event(self, account: FakeAccount, symbol: str) -> None:
        now = self.clock()
        position = self.position(account, symbol)
        spec = self.symbols[symbol]
        unrealized = (spec.price - position.entry_price) * position.amount
        self._emit(account.api_key, {
            "e": "ACCOUNT_UPDATE", "E": now, "T": now,
            "a": {
                "m": "ORDER",
                "B": [{"a": account.asset, "wb": text(account.wallet),
                       "cw": text(account.wallet), "bc": "0"}],
                "P": [{"s": symbol, "pa": text(position.amount), "ep": text(position.entry_price),
                       "bep": text(position.entry_price), "cr": "0", "up": text(unrealized),
                       "mt": account.margin_type.get(symbol, "cross"), "iw": "0", "ps": "BOTH"}],
            },
        })  # fmt: skip
