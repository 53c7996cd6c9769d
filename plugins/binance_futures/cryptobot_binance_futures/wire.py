"""Binance's JSON and the SDK's models, both ways.

Binance writes every amount as a decimal string; they go straight into
``Decimal`` here (ccxt's unified structures would pass them through floats).
Requests are written the way Binance documents them: plain orders to
``/fapi/v1/order`` and conditional ones (stop, take-profit) to the algo order
endpoint ``/fapi/v1/algoOrder``, each carrying our client order id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crypto_bot_sdk import (
    Balance,
    Bar,
    BookLevel,
    Fill,
    Instrument,
    InstrumentKind,
    Liquidity,
    Order,
    OrderBook,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)

ZERO = Decimal(0)

STATUS = {
    "NEW": OrderStatus.ACKNOWLEDGED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "NEW_INSURANCE": OrderStatus.FILLED,
    "NEW_ADL": OrderStatus.FILLED,
}
ALGO_STATUS = {
    "NEW": OrderStatus.ACKNOWLEDGED,
    "TRIGGERING": OrderStatus.ACKNOWLEDGED,
    "TRIGGERED": OrderStatus.ACKNOWLEDGED,
    "FINISHED": OrderStatus.ACKNOWLEDGED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
ALGO_TYPES = {
    OrderType.STOP: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.TAKE_PROFIT: "TAKE_PROFIT_MARKET",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT",
}
FROM_ALGO_TYPE = {wire: sdk for sdk, wire in ALGO_TYPES.items()}
TRIGGERED_STATES = ("TRIGGERED", "FINISHED")


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def plain(value: Decimal) -> str:
    """A decimal as Binance wants it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def ms_to_dt(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def dt_to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def is_algo(order_type: OrderType) -> bool:
    return order_type in ALGO_TYPES


# --- markets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The order rules Binance states in a symbol's exchangeInfo ``filters``."""

    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step: Decimal
    market_max_qty: Decimal
    min_notional: Decimal

    @classmethod
    def of(cls, info: dict[str, Any]) -> Filters:
        by_type = {f.get("filterType"): f for f in info.get("filters", [])}
        price = by_type.get("PRICE_FILTER", {})
        lot = by_type.get("LOT_SIZE", {})
        market = by_type.get("MARKET_LOT_SIZE", lot)
        notional = by_type.get("MIN_NOTIONAL", {})
        return cls(
            tick=dec(price.get("tickSize")),
            step=dec(lot.get("stepSize")),
            min_qty=dec(lot.get("minQty")),
            max_qty=dec(lot.get("maxQty")),
            market_step=dec(market.get("stepSize")) or dec(lot.get("stepSize")),
            market_max_qty=dec(market.get("maxQty")) or dec(lot.get("maxQty")),
            min_notional=dec(notional.get("notional")),
        )


def is_tradable_perpetual(market: dict[str, Any]) -> bool:
    info = market.get("info") or {}
    return bool(
        market.get("swap") and market.get("linear")
        and info.get("contractType") == "PERPETUAL" and info.get("status") == "TRADING"
    )  # fmt: skip


def instrument_of(market: dict[str, Any], venue: str) -> Instrument:
    filters = Filters.of(market["info"])
    return Instrument(
        symbol=market["symbol"],
        venue=venue,
        kind=InstrumentKind.PERPETUAL,
        tick_size=filters.tick,
        lot_size=filters.step,
        min_notional=filters.min_notional,
        contract_size=dec(market.get("contractSize") or 1),
    )


# --- orders out -------------------------------------------------------------------------------


def order_params(request: OrderRequest, market_id: str) -> dict[str, str]:
    """The body of ``POST /fapi/v1/order`` or ``POST /fapi/v1/algoOrder`` for ``request``."""
    params = {
        "symbol": market_id,
        "side": request.side.value.upper(),
        "quantity": plain(request.quantity),
    }
    kind = request.order_type
    if is_algo(kind):
        params["algoType"] = "CONDITIONAL"
        params["type"] = ALGO_TYPES[kind]
        params["clientAlgoId"] = request.client_order_id
        assert request.stop_price is not None  # the SDK model guarantees it
        params["triggerPrice"] = plain(request.stop_price)
        params["workingType"] = "CONTRACT_PRICE"
    else:
        params["type"] = kind.value.upper()
        params["newClientOrderId"] = request.client_order_id
        params["newOrderRespType"] = "RESULT"
    if kind.needs_price:
        assert request.price is not None
        params["price"] = plain(request.price)
        params["timeInForce"] = (
            TimeInForce.GTX.value if request.post_only else request.time_in_force.value
        )
    if request.reduce_only:
        params["reduceOnly"] = "true"
    return params


def terms(params: dict[str, Any]) -> dict[str, str]:
    """What Binance keeps of an order, to tell a resend from a different order."""
    keys = ("symbol", "side", "quantity", "price", "triggerPrice", "timeInForce", "reduceOnly")
    out = {k: str(params[k]) for k in keys if params.get(k) not in (None, "")}
    for k in ("quantity", "price", "triggerPrice"):
        if k in out:
            out[k] = plain(Decimal(out[k]))
    if out.get("reduceOnly", "false").lower() != "true":
        out.pop("reduceOnly", None)
    else:
        out["reduceOnly"] = "true"
    if params.get("type") not in ("LIMIT", "STOP", "TAKE_PROFIT"):
        out.pop("timeInForce", None)
        out.pop("price", None)
    out["type"] = str(params.get("type") or params.get("orderType"))
    return out


def terms_of_wire(raw: dict[str, Any], algo: bool) -> dict[str, str]:
    if algo:
        return terms({
            "symbol": raw.get("symbol"), "side": raw.get("side"), "quantity": raw.get("quantity"),
            "price": raw.get("price"), "triggerPrice": raw.get("triggerPrice"),
            "timeInForce": raw.get("timeInForce"), "reduceOnly": str(raw.get("reduceOnly")),
            "type": raw.get("orderType"),
        })  # fmt: skip
    return terms({
        "symbol": raw.get("symbol"), "side": raw.get("side"), "quantity": raw.get("origQty"),
        "price": raw.get("price"), "timeInForce": raw.get("timeInForce"),
        "reduceOnly": str(raw.get("reduceOnly")), "type": raw.get("origType") or raw.get("type"),
    })  # fmt: skip


# --- orders in --------------------------------------------------------------------------------


def request_of_wire(raw: dict[str, Any], symbol: str, venue: str, algo: bool) -> OrderRequest:
    """Rebuild the request of an order this adapter did not place (or no longer remembers)."""
    if algo:
        kind = FROM_ALGO_TYPE.get(str(raw.get("orderType")), OrderType.STOP)
        client_id, quantity = raw.get("clientAlgoId"), raw.get("quantity")
        stop = dec(raw.get("triggerPrice"))
    else:
        kind = OrderType.LIMIT if raw.get("type") == "LIMIT" else OrderType.MARKET
        client_id, quantity, stop = raw.get("clientOrderId"), raw.get("origQty"), ZERO
    tif = str(raw.get("timeInForce") or "GTC")
    post_only = tif == "GTX" and kind.needs_price
    return OrderRequest(
        client_order_id=str(client_id),
        venue=venue,
        symbol=symbol,
        side=Side.BUY if raw.get("side") == "BUY" else Side.SELL,
        order_type=kind,
        quantity=dec(quantity),
        price=dec(raw.get("price")) if kind.needs_price else None,
        stop_price=stop if kind.needs_stop_price else None,
        time_in_force=TimeInForce(tif) if tif in TimeInForce.__members__ else TimeInForce.GTC,
        reduce_only=bool(raw.get("reduceOnly")),
        post_only=post_only,
    )


def order_of_wire(
    raw: dict[str, Any], request: OrderRequest, *, algo: bool, child: dict[str, Any] | None = None
) -> Order:
    """The SDK order from Binance's order (or algo order, plus its triggered child order)."""
    created = ms_to_dt(raw.get("time") or raw.get("createTime") or raw.get("updateTime") or 0)
    source = child if child is not None else raw
    updated = ms_to_dt(source.get("updateTime") or source.get("time") or 0)
    if algo and child is None:
        status = ALGO_STATUS.get(str(raw.get("algoStatus")), OrderStatus.ACKNOWLEDGED)
        filled, average = ZERO, None
        exchange_id = str(raw.get("algoId"))
    else:
        status = STATUS.get(str(source.get("status")), OrderStatus.ACKNOWLEDGED)
        filled = dec(source.get("executedQty"))
        quote = dec(source.get("cumQuote"))
        average = (quote / filled if quote else dec(source.get("avgPrice"))) if filled else None
        exchange_id = str(source.get("orderId"))
    return Order(
        request=request,
        status=status,
        exchange_order_id=exchange_id,
        filled_quantity=filled,
        average_fill_price=average,
        created_at=created,
        updated_at=max(created, updated),
    )


def fill_of_trade(raw: dict[str, Any], *, client_order_id: str, symbol: str, venue: str) -> Fill:
    """A fill from a ``/fapi/v1/userTrades`` row."""
    return Fill(
        fill_id=f"{raw['symbol']}:{raw['id']}",
        client_order_id=client_order_id,
        exchange_order_id=str(raw["orderId"]),
        symbol=symbol,
        venue=venue,
        side=Side.BUY if raw["side"] == "BUY" else Side.SELL,
        quantity=dec(raw["qty"]),
        price=dec(raw["price"]),
        fee=max(dec(raw.get("commission")), ZERO),
        fee_currency=str(raw.get("commissionAsset") or ""),
        liquidity=Liquidity.MAKER if raw.get("maker") else Liquidity.TAKER,
        ts=ms_to_dt(raw["time"]),
    )


def fill_of_update(raw: dict[str, Any], *, symbol: str, venue: str) -> Fill | None:
    """A fill from the ``o`` object of an ORDER_TRADE_UPDATE event; None unless it traded."""
    if raw.get("x") != "TRADE" or dec(raw.get("l")) <= 0:
        return None
    return Fill(
        fill_id=f"{raw['s']}:{raw['t']}",
        client_order_id=str(raw["c"]),
        exchange_order_id=str(raw["i"]),
        symbol=symbol,
        venue=venue,
        side=Side.BUY if raw["S"] == "BUY" else Side.SELL,
        quantity=dec(raw["l"]),
        price=dec(raw["L"]),
        fee=max(dec(raw.get("n")), ZERO),
        fee_currency=str(raw.get("N") or ""),
        liquidity=Liquidity.MAKER if raw.get("m") else Liquidity.TAKER,
        ts=ms_to_dt(raw["T"]),
    )


# --- account and market data ------------------------------------------------------------------


def balance_of(raw: dict[str, Any], venue: str) -> Balance:
    wallet = dec(raw.get("balance"))
    available = dec(raw.get("availableBalance"))
    return Balance(asset=str(raw["asset"]), venue=venue, free=available,
                   used=max(wallet - available, ZERO))  # fmt: skip


def position_of(raw: dict[str, Any], symbol: str, venue: str) -> Position:
    entry = dec(raw.get("entryPrice"))
    mark = dec(raw.get("markPrice"))
    return Position(
        symbol=symbol,
        venue=venue,
        quantity=dec(raw.get("positionAmt")),
        average_entry_price=entry if entry > 0 else None,
        mark_price=mark if mark > 0 else None,
    )


def book_of(raw: dict[str, Any], symbol: str, venue: str, depth: int) -> OrderBook:
    def levels(rows: list[list[str]]) -> tuple[BookLevel, ...]:
        kept = [(dec(p), dec(q)) for p, q, *_ in rows if dec(q) > 0]
        return tuple(BookLevel(price=p, amount=q) for p, q in kept[:depth])

    return OrderBook(
        symbol=symbol,
        venue=venue,
        ts=ms_to_dt(raw.get("T") or raw.get("E") or 0),
        bids=levels(raw.get("bids", [])),
        asks=levels(raw.get("asks", [])),
    )


def bar_of(row: list[Any], symbol: str, venue: str, timeframe: str) -> Bar:
    return Bar(
        symbol=symbol, venue=venue, ts=ms_to_dt(row[0]), timeframe=timeframe,
        open=dec(row[1]), high=dec(row[2]), low=dec(row[3]), close=dec(row[4]),
        volume=dec(row[5]),
    )  # fmt: skip
