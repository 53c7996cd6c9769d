"""Own fills, kept by id: from REST (``/fapi/v1/userTrades``) and from the user-data stream.

Each symbol has a cursor, the next trade id to ask for, so a poll costs one
request per symbol when nothing happened, and fills missed while the
websocket was down are found by the next sync. The first query of a symbol
reaches back ``fill_history_days`` (Binance answers at most 7 days per query).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_bot_sdk import Fill
from cryptobot_binance_futures.connection import Connection
from cryptobot_binance_futures.orders import OrderDesk
from cryptobot_binance_futures.wire import dt_to_ms, fill_of_trade

PAGE = 1000


class FillBook:
    def __init__(self, connection: Connection, desk: OrderDesk) -> None:
        self.conn = connection
        self.desk = desk
        self.fills: dict[str, Fill] = {}
        self.cursors: dict[str, int] = {}

    def add(self, fill: Fill) -> bool:
        """Keep ``fill``; False if it was already known."""
        if fill.fill_id in self.fills:
            return False
        self.fills[fill.fill_id] = fill
        self.desk.symbols.add(fill.symbol)
        if fill.exchange_order_id is not None:
            market_id = self.conn.ids.get(fill.symbol)
            if market_id is not None:
                key = (market_id, fill.exchange_order_id)
                self.desk.client_ids.setdefault(key, fill.client_order_id)
        return True

    def active_symbols(self) -> list[str]:
        return sorted(set(self.conn.config.symbols) | self.desk.symbols)

    async def sync(self, symbol: str) -> list[Fill]:
        """Ask Binance for the symbol's trades after the cursor; return the new fills."""
        client = self.conn.require_open()
        market_id = self.conn.market_id(symbol)
        cursor = self.cursors.get(market_id)
        if cursor is None:
            start = datetime.now(UTC) - timedelta(days=self.conn.config.fill_history_days)
            params: dict[str, Any] = {"symbol": market_id, "startTime": dt_to_ms(start) + 60_000}
        else:
            params = {"symbol": market_id, "fromId": cursor}
        new: list[Fill] = []
        while True:
            rows = await self.conn.call(
                f"fetching own trades of {symbol}", client.fapiPrivateGetUserTrades,
                {**params, "limit": PAGE},
            )  # fmt: skip
            for row in rows:
                coid = await self.desk.client_order_id(market_id, str(row["orderId"]))
                fill = fill_of_trade(
                    row, client_order_id=coid, symbol=symbol, venue=self.conn.venue
                )
                if self.add(fill):
                    new.append(fill)
            if rows:
                cursor = max(int(row["id"]) for row in rows) + 1
                self.cursors[market_id] = cursor
            elif cursor is None:
                # Nothing in the window: later syncs ask from the window's end by time again.
                return new
            if len(rows) < PAGE:
                return new
            params = {"symbol": market_id, "fromId": cursor}

    async def fetch(self, symbol: str | None, since: datetime | None) -> list[Fill]:
        symbols = [symbol] if symbol is not None else self.active_symbols()
        for each in symbols:
            await self.sync(each)
        wanted = set(symbols)
        fills = [
            f for f in self.fills.values()
            if f.symbol in wanted and (since is None or f.ts >= since)
        ]  # fmt: skip
        return sorted(fills, key=lambda f: (f.ts, f.fill_id))
