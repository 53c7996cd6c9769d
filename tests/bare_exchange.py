"""An exchange adapter with only the methods the contract requires, for the SDK and host tests.

What the SDK and the host do with an adapter that offers nothing optional (every
optional and simulated-venue method says it is not supported; a capability it
declares is refused at registration) is tested on this one class. It stands at the
top of ``tests/`` (on ``sys.path`` through ``tests/conftest.py``) so that
``tests/sdk`` and ``tests/core/host`` import the same one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crypto_bot_sdk import (
    Balance,
    ExchangeAdapter,
    Fill,
    Instrument,
    Order,
    OrderRequest,
    PluginConfig,
)


class BareExchange(ExchangeAdapter[PluginConfig]):
    """Only the required methods, on venue ``bare``: it lists and holds nothing, and
    trading on it is never called by the tests that use it."""

    name = "bare"

    @property
    def venue(self) -> str:
        return "bare"

    async def load_instruments(self) -> Sequence[Instrument]:
        return ()

    async def submit_order(self, request: OrderRequest) -> Order:
        raise NotImplementedError("not called in these tests")

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        raise NotImplementedError("not called in these tests")

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        raise NotImplementedError("not called in these tests")

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        return ()

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        return ()

    async def fetch_balances(self) -> Sequence[Balance]:
        return ()
