"""The fake venue's records and how Binance writes them on the wire.

Field names, string-encoded decimals and millisecond timestamps follow the
USDⓈ-M futures API documentation, because the client under test is the real
ccxt parser: a payload that differs from Binance's would test the fake, not
the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


def text(value: Decimal) -> str:
    """Binance writes decimals as plain strings, never in exponent form."""
    return format(value.normalize(), "f") if value != 0 else "0"


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's ``{"code", "msg"}`` body."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}


def bad_request(code: int, msg: str) -> BinanceError:
    return BinanceError(400, code, msg)


@dataclass
class SymbolSpec:
    """One perpetual market: its filters and where its price starts."""

    id: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    price: Decimal
    level_qty: Decimal
    funding_rate: Decimal = Decimal("0.0001")

    def exchange_info(self) -> dict[str, Any]:
        price_precision = max(0, -self.tick.normalize().as_tuple().exponent)  # type: ignore[operator]
        qty_precision = max(0, -self.step.normalize().as_tuple().exponent)  # type: ignore[operator]
        return {
            "symbol": self.id,
            "pair": self.id,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": self.base,
            "quoteAsset": self.quote,
            "marginAsset": self.quote,
            "pricePrecision": price_precision,
            "quantityPrecision": qty_precision,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": text(self.tick),
                 "maxPrice": "10000000", "tickSize": text(self.tick)},
                {"filterType": "LOT_SIZE", "stepSize": text(self.step),
                 "minQty": text(self.min_qty), "maxQty": text(self.max_qty)},
                {"filterType": "MARKET_LOT_SIZE", "stepSize": text(self.step),
                 "minQty": text(self.min_qty), "maxQty": text(self.market_max_qty)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": text(self.min_notional)},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSet": ["GRID", "COPY"],
        }  # fmt: skip


@dataclass
class FakeOrder:
    order_id: int
    client_order_id: str
    account: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    price: Decimal
    stop_price: Decimal
    time_in_force: str
    reduce_only: bool
    time: int
    update_time: int
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed if self.executed else ZERO

    def wire(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": text(self.price),
            "avgPrice": text(self.avg_price),
            "origQty": text(self.qty),
            "executedQty": text(self.executed),
            "cumQty": text(self.executed),
            "cumQuote": text(self.cum_quote),
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": text(self.stop_price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time,
        }


@dataclass
class AlgoOrder:
    """A conditional order, held by Binance's algo service until its trigger price trades."""

    algo_id: int
    client_algo_id: str
    account: str
    symbol: str
    side: str
    order_type: str
    qty: Decimal
    price: Decimal
    trigger_price: Decimal
    time_in_force: str
    reduce_only: bool
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"

    def wire(self) -> dict[str, Any]:
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": "BOTH",
            "timeInForce": self.time_in_force,
            "quantity": text(self.qty),
            "algoStatus": self.status,
            "actualOrderId": "" if self.actual_order_id is None else str(self.actual_order_id),
            "triggerPrice": text(self.trigger_price),
            "price": text(self.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": False,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }


@dataclass
class FakeTrade:
    id: int
    order_id: int
    account: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    realized_pnl: Decimal
    maker: bool
    time: int

    def wire(self, quote: str) -> dict[str, Any]:
        return {
            "buyer": self.side == "BUY",
            "commission": text(self.commission),
            "commissionAsset": quote,
            "id": self.id,
            "maker": self.maker,
            "orderId": self.order_id,
            "price": text(self.price),
            "qty": text(self.qty),
            "quoteQty": text(self.price * self.qty),
            "realizedPnl": text(self.realized_pnl),
            "side": self.side,
            "positionSide": "BOTH",
            "symbol": self.symbol,
            "time": self.time,
        }


@dataclass
class FakePosition:
    amount: Decimal = ZERO
    entry_price: Decimal = ZERO
    update_time: int = 0


@dataclass
class FakeAccount:
    api_key: str
    secret: str
    wallet: Decimal
    asset: str = "USDT"
    positions: dict[str, FakePosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)
