"""The REST endpoints ccxt's binanceusdm calls, answering in Binance's payload shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import ZERO, BinanceError, FakeAccount, bad_request, text
from .venue import MAKER_FEE, TAKER_FEE, FakeVenue

WEEK_MS = 7 * 24 * 3600 * 1000
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
INTERVALS_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}


@dataclass(frozen=True)
class Route:
    handler: Callable[[FakeVenue, FakeAccount | None, dict[str, str]], Any]
    signed: bool
    weight: int = 1


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        ) from None


def _account(account: FakeAccount | None) -> FakeAccount:
    assert account is not None, "signed routes always carry an account"
    return account


# --- public ---------------------------------------------------------------------------


def ping(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return {}


def server_time(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return {"serverTime": venue.clock()}


def exchange_info(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return {
        "timezone": "UTC",
        "serverTime": venue.clock(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [spec.exchange_info() for spec in venue.symbols.values()],
    }  # fmt: skip


def depth(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    limit = _int(params, "limit", 500)
    if limit not in (5, 10, 20, 50, 100, 500, 1000):
        raise bad_request(-1130, "Invalid data sent for a parameter.")
    return venue.depth(params.get("symbol", ""), limit)


def klines(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    spec = venue.spec(params.get("symbol"))
    interval = params.get("interval", "")
    if interval not in INTERVALS_MS:
        raise bad_request(-1120, "Invalid interval.")
    step = INTERVALS_MS[interval]
    limit = min(_int(params, "limit", 500) or 500, 1500)
    end = _int(params, "endTime") or venue.clock()
    start = _int(params, "startTime")
    first = (start // step) * step if start is not None else (end // step - limit + 1) * step
    prints = venue.prints[spec.id]
    rows = []
    last = next((p for t, p, _ in reversed(prints) if t < first), spec.price)
    for open_time in range(first, end + 1, step):
        inside = [(p, q) for t, p, q in prints if open_time <= t < open_time + step]
        prices = [p for p, _ in inside] or [last]
        volume = sum((q for _, q in inside), ZERO)
        rows.append([
            open_time, text(prices[0] if inside else last), text(max(prices)), text(min(prices)),
            text(prices[-1]), text(volume), open_time + step - 1,
            text(sum((p * q for p, q in inside), ZERO)), len(inside), "0", "0", "0",
        ])  # fmt: skip
        last = prices[-1]
        if len(rows) == limit:
            break
    return rows


def premium_index(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    now = venue.clock()

    def one(symbol: str) -> dict[str, Any]:
        spec = venue.spec(symbol)
        return {
            "symbol": spec.id, "markPrice": text(spec.price), "indexPrice": text(spec.price),
            "estimatedSettlePrice": text(spec.price), "lastFundingRate": text(spec.funding_rate),
            "interestRate": "0.00010000",
            "nextFundingTime": (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
            "time": now,
        }  # fmt: skip

    if "symbol" in params:
        return one(params["symbol"])
    return [one(symbol) for symbol in venue.symbols]


def funding_rate(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    spec = venue.spec(params.get("symbol"))
    limit = min(_int(params, "limit", 100) or 100, 1000)
    latest = venue.clock() // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
    times = [latest - FUNDING_INTERVAL_MS * k for k in range(limit)][::-1]
    return [
        {"symbol": spec.id, "fundingRate": text(spec.funding_rate), "fundingTime": t,
         "markPrice": text(spec.price)}
        for t in times
    ]  # fmt: skip


# --- account ------------------------------------------------------------------------------


def balance(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    available = text(venue.available(acct))
    return [{
        "accountAlias": "SgsR", "asset": acct.asset, "balance": text(acct.wallet),
        "crossWalletBalance": text(acct.wallet), "crossUnPnl": "0", "availableBalance": available,
        "maxWithdrawAmount": available, "marginAvailable": True, "updateTime": venue.clock(),
    }]  # fmt: skip


def account_info(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    assets = balance(venue, acct, params)
    return {
        "totalWalletBalance": text(acct.wallet), "availableBalance": text(venue.available(acct)),
        "assets": [{**a, "walletBalance": a["balance"]} for a in assets],
        "positions": position_risk(venue, acct, {}),
    }  # fmt: skip


def position_risk(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    symbol = params.get("symbol")
    if symbol is not None:
        venue.spec(symbol)
    rows = []
    for sym, position in sorted(acct.positions.items()):
        if (symbol is not None and sym != symbol) or position.amount == 0:
            continue
        spec = venue.symbols[sym]
        notional = position.amount * spec.price
        rows.append({
            "symbol": sym, "positionSide": "BOTH", "positionAmt": text(position.amount),
            "entryPrice": text(position.entry_price), "breakEvenPrice": text(position.entry_price),
            "markPrice": text(spec.price),
            "unRealizedProfit": text((spec.price - position.entry_price) * position.amount),
            "liquidationPrice": "0", "isolatedMargin": "0", "notional": text(notional),
            "marginAsset": acct.asset, "isolatedWallet": "0",
            "initialMargin": text(abs(notional) / venue.leverage(acct, sym)),
            "maintMargin": "0", "positionInitialMargin": "0", "openOrderInitialMargin": "0",
            "adl": 0, "bidNotional": "0", "askNotional": "0", "updateTime": position.update_time,
            "leverage": str(venue.leverage(acct, sym)),
            "marginType": acct.margin_type.get(sym, "cross"),
        })  # fmt: skip
    return rows


def leverage_bracket(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    symbol = params.get("symbol")
    specs = [venue.spec(symbol)] if symbol is not None else list(venue.symbols.values())
    tiers = [(125, 50_000, "0.004"), (100, 250_000, "0.005"), (50, 3_000_000, "0.01"),
             (20, 20_000_000, "0.025"), (10, 50_000_000, "0.05")]  # fmt: skip
    return [{
        "symbol": spec.id, "notionalCoef": 1.0,
        "brackets": [
            {"bracket": n + 1, "initialLeverage": lev, "notionalCap": cap,
             "notionalFloor": tiers[n - 1][1] if n else 0, "maintMarginRatio": float(mmr),
             "cum": 0.0}
            for n, (lev, cap, mmr) in enumerate(tiers)
        ],
    } for spec in specs]  # fmt: skip


def commission_rate(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    spec = venue.spec(params.get("symbol"))
    return {"symbol": spec.id, "makerCommissionRate": text(MAKER_FEE),
            "takerCommissionRate": text(TAKER_FEE)}  # fmt: skip


def leverage(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    spec = venue.spec(params.get("symbol"))
    value = _int(params, "leverage")
    if value is None:
        raise bad_request(-1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.")  # noqa: E501
    if not 1 <= value <= 125:
        raise bad_request(-4028, f"Leverage {value} is not valid")
    acct.leverage[spec.id] = value
    return {"leverage": value, "maxNotionalValue": "1000000", "symbol": spec.id}


def margin_type(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    spec = venue.spec(params.get("symbol"))
    wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(params.get("marginType", ""))
    if wanted is None:
        raise bad_request(-4044, "The margin type is invalid.")
    if acct.margin_type.get(spec.id, "cross") == wanted:
        raise bad_request(-4046, "No need to change margin type.")
    acct.margin_type[spec.id] = wanted
    return {"code": 200, "msg": "success"}


# --- orders and trades ----------------------------------------------------------------------


def new_order(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return venue.place_order(_account(account), params).wire()


def get_order(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    return venue.query_order(
        acct.api_key, params.get("symbol", ""), params.get("orderId"),
        params.get("origClientOrderId"),
    ).wire()  # fmt: skip


def cancel_order(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    return venue.cancel_order(
        acct.api_key, params.get("symbol", ""), params.get("orderId"),
        params.get("origClientOrderId"),
    ).wire()  # fmt: skip


def open_orders(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return [o.wire() for o in venue.open_orders(_account(account).api_key, params.get("symbol"))]


def user_trades(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    acct = _account(account)
    spec = venue.spec(params.get("symbol"))
    start, end = _int(params, "startTime"), _int(params, "endTime")
    from_id = _int(params, "fromId")
    limit = _int(params, "limit", 500) or 500
    if not 1 <= limit <= 1000:
        raise bad_request(-1130, "Invalid data sent for a parameter.")
    if from_id is not None and (start is not None or end is not None):
        raise bad_request(-1128, "Combination of optional parameters invalid.")
    now = venue.clock()
    if start is not None and end is not None and end - start > WEEK_MS:
        raise bad_request(-1127, "More than 7 days between startTime and endTime.")
    if from_id is None:
        if start is None and end is None:
            start, end = now - WEEK_MS, now
        elif start is None:
            assert end is not None
            start = end - WEEK_MS
        elif end is None:
            end = start + WEEK_MS
    trades = [
        t for t in venue.trades
        if t.account == acct.api_key and t.symbol == spec.id
        and (from_id is None or t.id >= from_id)
        and (start is None or t.time >= start) and (end is None or t.time <= end)
    ]  # fmt: skip
    trades.sort(key=lambda t: t.id)
    return [t.wire(spec.quote) for t in trades[:limit]]


def new_algo(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return venue.place_algo(_account(account), params).wire()


def get_algo(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    return venue.find_algo(
        _account(account).api_key, params.get("algoId"), params.get("clientAlgoId")
    ).wire()


def cancel_algo(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    algo = venue.cancel_algo(
        _account(account).api_key, params.get("algoId"), params.get("clientAlgoId")
    )
    return {"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id, "code": "200",
            "msg": "success"}  # fmt: skip


def open_algos(venue: FakeVenue, account: FakeAccount | None, params: dict[str, str]) -> Any:
    key = _account(account).api_key
    symbol = params.get("symbol")
    return [
        a.wire() for a in venue.algos.values()
        if a.account == key and a.is_open and (symbol is None or a.symbol == symbol)
    ]  # fmt: skip


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/fapi/v1/ping"): Route(ping, signed=False),
    ("GET", "/fapi/v1/time"): Route(server_time, signed=False),
    ("GET", "/fapi/v1/exchangeInfo"): Route(exchange_info, signed=False),
    ("GET", "/fapi/v1/depth"): Route(depth, signed=False, weight=5),
    ("GET", "/fapi/v1/klines"): Route(klines, signed=False, weight=2),
    ("GET", "/fapi/v1/premiumIndex"): Route(premium_index, signed=False),
    ("GET", "/fapi/v1/fundingRate"): Route(funding_rate, signed=False),
    ("GET", "/fapi/v2/balance"): Route(balance, signed=True, weight=5),
    ("GET", "/fapi/v3/balance"): Route(balance, signed=True, weight=5),
    ("GET", "/fapi/v2/account"): Route(account_info, signed=True, weight=5),
    ("GET", "/fapi/v3/account"): Route(account_info, signed=True, weight=5),
    ("GET", "/fapi/v2/positionRisk"): Route(position_risk, signed=True, weight=5),
    ("GET", "/fapi/v3/positionRisk"): Route(position_risk, signed=True, weight=5),
    ("GET", "/fapi/v1/commissionRate"): Route(commission_rate, signed=True, weight=20),
    ("POST", "/fapi/v1/leverage"): Route(leverage, signed=True),
    ("GET", "/fapi/v1/leverageBracket"): Route(leverage_bracket, signed=True),
    ("POST", "/fapi/v1/marginType"): Route(margin_type, signed=True),
    ("POST", "/fapi/v1/order"): Route(new_order, signed=True, weight=0),
    ("GET", "/fapi/v1/order"): Route(get_order, signed=True),
    ("DELETE", "/fapi/v1/order"): Route(cancel_order, signed=True),
    ("GET", "/fapi/v1/openOrders"): Route(open_orders, signed=True),
    ("GET", "/fapi/v1/userTrades"): Route(user_trades, signed=True, weight=5),
    ("POST", "/fapi/v1/algoOrder"): Route(new_algo, signed=True, weight=0),
    ("GET", "/fapi/v1/algoOrder"): Route(get_algo, signed=True),
    ("DELETE", "/fapi/v1/algoOrder"): Route(cancel_algo, signed=True),
    ("GET", "/fapi/v1/openAlgoOrders"): Route(open_algos, signed=True),
}


def unknown_route(method: str, path: str) -> BinanceError:
    return BinanceError(404, -1000, f"Path {path}, Method {method} is invalid")
