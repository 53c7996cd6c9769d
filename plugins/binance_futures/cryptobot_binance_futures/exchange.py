"""The Binance USDⓈ-M futures exchange adapter.

A thin composition: :mod:`.connection` (ccxt client, markets, retries and
error mapping), :mod:`.orders` (idempotent placement, lookups, cancels),
:mod:`.fills` (own trades by cursor) and :mod:`.stream` (the user-data
websocket with REST reconciliation). Market data beyond the contract
(OHLCV, funding rate) and margin mode are extra public methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from crypto_bot_sdk import (
    Balance,
    Bar,
    ExchangeAdapter,
    FeeSchedule,
    Fill,
    Instrument,
    InvalidOrderError,
    MetricPoint,
    Order,
    OrderBook,
    OrderRequest,
    Position,
)
from cryptobot_binance_futures.config import BinanceFuturesConfig
from cryptobot_binance_futures.connection import Connection
from cryptobot_binance_futures.errors import binance_error, to_sdk_error
from cryptobot_binance_futures.fills import FillBook
from cryptobot_binance_futures.orders import OrderDesk
from cryptobot_binance_futures.stream import StreamStats, fill_stream
from cryptobot_binance_futures.wire import (
    balance_of,
    bar_of,
    book_of,
    dec,
    dt_to_ms,
    ms_to_dt,
    position_of,
)

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
"""The depths Binance's ``/fapi/v1/depth`` accepts."""
MAX_LEVERAGE = 125


@dataclass(frozen=True)
class FundingRate:
    """The current funding of a perpetual: ``rate`` is paid by longs to shorts when positive."""

    symbol: str
    rate: Decimal
    mark_price: Decimal
    next_funding_time: datetime
    ts: datetime

    def as_metric(self, venue: str) -> MetricPoint:
        return MetricPoint(
            name="funding_rate", ts=self.ts, value=float(self.rate), unit="fraction",
            source=venue, symbol=self.symbol,
        )  # fmt: skip


class BinanceFuturesExchange(ExchangeAdapter[BinanceFuturesConfig]):
    """Binance USDⓈ-M perpetual futures, one account, over ccxt."""

    name = "binance_futures"
    config_model = BinanceFuturesConfig

    def __init__(self, config: BinanceFuturesConfig) -> None:
        super().__init__(config)
        self.conn = Connection(config)
        self.desk = OrderDesk(self.conn)
        self.book = FillBook(self.conn, self.desk)
        self.stream_stats = StreamStats()

    @property
    def venue(self) -> str:
        return self.config.venue

    async def start(self) -> None:
        await self.conn.open()
        for symbol in self.config.symbols:
            if self.config.leverage is not None:
                await self.set_leverage(symbol, self.config.leverage)
            if self.config.margin_mode is not None:
                await self.set_margin_mode(symbol, self.config.margin_mode)

    async def close(self) -> None:
        await self.conn.close()

    # --- the contract ---------------------------------------------------------------------

    async def load_instruments(self) -> Sequence[Instrument]:
        self.conn.require_open()
        return [self.conn.instruments[s] for s in self.conn.traded_symbols()]

    async def submit_order(self, request: OrderRequest) -> Order:
        return await self.desk.submit(request)

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        return await self.desk.cancel(client_order_id, symbol)

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        return await self.desk.fetch(client_order_id, symbol)

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        return await self.desk.open_orders(symbol)

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        if symbol is not None:
            self.conn.market_id(symbol)
        return await self.book.fetch(symbol, since)

    async def fetch_balances(self) -> Sequence[Balance]:
        client = self.conn.require_open()
        rows = await self.conn.call("fetching balances", client.fapiPrivateV3GetBalance, {})
        return [balance_of(row, self.venue) for row in rows]

    async def fetch_positions(self) -> Sequence[Position]:
        client = self.conn.require_open()
        rows = await self.conn.call("fetching positions", client.fapiPrivateV3GetPositionRisk, {})
        return [
            position_of(row, self.conn.symbols_by_id[row["symbol"]], self.venue)
            for row in rows
            if dec(row.get("positionAmt")) != 0 and row.get("symbol") in self.conn.symbols_by_id
        ]

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        client = self.conn.require_open()
        if depth < 1:
            message = f"order book depth {depth} must be at least 1"
            raise InvalidOrderError(message, venue=self.venue)
        limit = next((n for n in DEPTH_LIMITS if n >= depth), DEPTH_LIMITS[-1])
        raw = await self.conn.call(
            f"fetching the {symbol} order book", client.fapiPublicGetDepth,
            {"symbol": self.conn.market_id(symbol), "limit": limit},
        )  # fmt: skip
        return book_of(raw, symbol, self.venue, depth)

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        client = self.conn.require_open()
        raw = await self.conn.call(
            f"fetching the {symbol} commission rate", client.fapiPrivateGetCommissionRate,
            {"symbol": self.conn.market_id(symbol)},
        )  # fmt: skip
        return FeeSchedule(
            maker=dec(raw["makerCommissionRate"]), taker=dec(raw["takerCommissionRate"])
        )

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        client = self.conn.require_open()
        if not 1 <= leverage <= MAX_LEVERAGE:
            raise InvalidOrderError(
                f"leverage {leverage} for {symbol} is not allowed; Binance USDⓈ-M takes 1 to "
                f"{MAX_LEVERAGE} (less for large positions)",
                venue=self.venue,
            )
        await self.conn.call(
            f"setting {symbol} leverage to {leverage}", client.fapiPrivatePostLeverage,
            {"symbol": self.conn.market_id(symbol), "leverage": leverage},
        )  # fmt: skip

    def fill_stream(self) -> AsyncIterator[Fill]:
        return fill_stream(self.conn, self.book, self.stream_stats)

    # --- beyond the contract -------------------------------------------------------------------

    async def set_margin_mode(self, symbol: str, mode: Literal["cross", "isolated"]) -> None:
        """Cross or isolated margin for ``symbol``; setting the current mode is not an error."""
        client = self.conn.require_open()
        import ccxt

        params = {
            "symbol": self.conn.market_id(symbol),
            "marginType": "ISOLATED" if mode == "isolated" else "CROSSED",
        }
        try:
            await client.fapiPrivatePostMarginType(params)
        except ccxt.BaseError as exc:
            found = binance_error(str(exc))
            if found is not None and found[0] == -4046:  # "No need to change margin type."
                return
            action = f"setting {symbol} margin mode to {mode}"
            raise to_sdk_error(exc, venue=self.venue, action=action) from exc

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: datetime | None = None, limit: int = 500
    ) -> list[Bar]:
        """Closed candles of ``symbol``, oldest first (the one still forming is left out)."""
        client = self.conn.require_open()
        params: dict[str, object] = {
            "symbol": self.conn.market_id(symbol), "interval": timeframe, "limit": limit,
        }  # fmt: skip
        if since is not None:
            params["startTime"] = dt_to_ms(since)
        rows = await self.conn.call(
            f"fetching {symbol} {timeframe} candles", client.fapiPublicGetKlines, params
        )
        now_ms = client.milliseconds()
        return [bar_of(r, symbol, self.venue, timeframe) for r in rows if int(r[6]) < now_ms]

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        client = self.conn.require_open()
        raw = await self.conn.call(
            f"fetching the {symbol} funding rate", client.fapiPublicGetPremiumIndex,
            {"symbol": self.conn.market_id(symbol)},
        )  # fmt: skip
        return FundingRate(
            symbol=symbol,
            rate=dec(raw["lastFundingRate"]),
            mark_price=dec(raw["markPrice"]),
            next_funding_time=ms_to_dt(raw["nextFundingTime"]),
            ts=ms_to_dt(raw["time"]),
        )
