"""One authenticated connection to Binance USDⓈ-M: the ccxt client, its markets, and calls
with the SDK's errors and retries.

Retries (with exponential backoff, or Binance's Retry-After when it sends
one) are only for calls that are safe to repeat: reads, cancels and lookups.
Placing an order goes through :mod:`cryptobot_binance_futures.orders`, which
looks the client order id up instead of blindly sending twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from crypto_bot_sdk import (
    ConfigError,
    ExchangeError,
    Instrument,
    InvalidOrderError,
    RateLimitedError,
)
from cryptobot_binance_futures.client import RetryAfter, new_client, new_session
from cryptobot_binance_futures.config import BinanceFuturesConfig, read_credentials
from cryptobot_binance_futures.errors import to_sdk_error
from cryptobot_binance_futures.wire import Filters, instrument_of, is_tradable_perpetual


def is_client_error(exc: BaseException) -> bool:
    """An exception of the client stack (ccxt's hierarchy, or our Retry-After carrier)."""
    import ccxt

    return isinstance(exc, ccxt.BaseError | RetryAfter)


class Connection:
    def __init__(self, config: BinanceFuturesConfig) -> None:
        self.config = config
        self.venue = config.venue
        self.client: Any = None
        self._session: Any = None
        self.instruments: dict[str, Instrument] = {}
        self.filters: dict[str, Filters] = {}
        self.ids: dict[str, str] = {}
        """Unified symbol -> Binance symbol id (``BTC/USDT:USDT`` -> ``BTCUSDT``)."""
        self.symbols_by_id: dict[str, str] = {}

    # --- life ---------------------------------------------------------------------------

    async def open(self) -> None:
        key, secret = read_credentials(self.config)
        self._session = new_session(self.config)
        self.client = new_client(self.config, key, secret, self._session)
        if self.config.adjust_for_time_difference:
            action = "measuring the offset to Binance's clock"
            await self.call(action, self.client.load_time_difference)
        await self.call("loading the USDⓈ-M markets", self.client.load_markets)
        for market in self.client.markets.values():
            if is_tradable_perpetual(market):
                symbol = market["symbol"]
                self.ids[symbol] = market["id"]
                self.symbols_by_id[market["id"]] = symbol
                self.filters[symbol] = Filters.of(market["info"])
                self.instruments[symbol] = instrument_of(market, self.venue)
        unknown = [s for s in self.config.symbols if s not in self.ids]
        if unknown:
            sample = ", ".join(sorted(self.ids)[:8])
            raise ConfigError(
                f"Binance USDⓈ-M has no trading perpetual {', '.join(unknown)}; "
                f"write them as ccxt symbols like {sample}",
                key="symbols",
            )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self._session is not None:
            await self._session.close()

    def require_open(self) -> Any:
        if self.client is None:
            raise ExchangeError(
                "the adapter is not started; await start() before using it", venue=self.venue
            )
        return self.client

    # --- markets --------------------------------------------------------------------------

    def traded_symbols(self) -> list[str]:
        return list(self.config.symbols) or sorted(self.instruments)

    def market_id(self, symbol: str) -> str:
        self.require_open()
        market_id = self.ids.get(symbol)
        if market_id is None:
            raise InvalidOrderError(
                f"symbol {symbol!r} is not a trading USDⓈ-M perpetual on Binance; use one of "
                f"load_instruments() (e.g. {', '.join(sorted(self.ids)[:5])})",
                venue=self.venue,
            )
        if self.config.symbols and symbol not in self.config.symbols:
            raise InvalidOrderError(
                f"symbol {symbol!r} is not in this venue's 'symbols' setting "
                f"({', '.join(self.config.symbols)}); add it there to trade it",
                venue=self.venue,
            )
        return market_id

    def symbol_of(self, market_id: str) -> str:
        symbol = self.symbols_by_id.get(market_id)
        if symbol is None:
            raise ExchangeError(
                f"Binance reported symbol {market_id!r}, which is not a loaded perpetual",
                venue=self.venue,
            )
        return symbol

    # --- calls ----------------------------------------------------------------------------

    async def call(
        self, action: str, fn: Callable[..., Awaitable[Any]], *args: Any, retry: bool = True
    ) -> Any:
        """``await fn(*args)``, errors turned into SDK errors; repeated if ``retry`` and the
        error says a resend may succeed (rate limit, timeout, server error)."""
        attempts = self.config.max_retries + 1 if retry else 1
        delay = self.config.retry_backoff_s
        for attempt in range(attempts):
            try:
                return await fn(*args)
            except Exception as exc:
                if not is_client_error(exc):
                    raise
                error = to_sdk_error(exc, venue=self.venue, action=action)
                wait = self.retry_wait(error, delay)
                if wait is None or attempt == attempts - 1:
                    raise error from exc
            await asyncio.sleep(wait)
            delay *= 2
        raise AssertionError("unreachable: the last attempt raises")

    def retry_wait(self, error: ExchangeError, delay: float) -> float | None:
        """Seconds to wait before resending after ``error``; None if it must not be resent."""
        if not error.retryable:
            return None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.config.max_retry_wait_s:
                return None
            return max(error.retry_after, delay)
        return delay
