"""Running the fake server on a thread of its own, so any test's event loop can use it.

The conformance kit runs each check in its own ``asyncio.run``; the server
lives on a separate loop in a background thread for the whole test, and the
test reaches into its state only through :meth:`FakeBinanceServer.call`,
which runs a function on the server's loop and waits for the result. State
is therefore touched by one thread only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from .faults import Fault, FaultKind
from .models import SymbolSpec
from .server import FakeBinance, Recorded
from .tls import BINANCE_HOSTS, Certificates
from .venue import FakeVenue

T = TypeVar("T")

API_KEY = "fake-api-key-0123456789abcdefABCDEF0123456789abcdefABCDEF01234567"
API_SECRET = "fake-api-secret-9876543210fedcbaFEDCBA9876543210fedcbaFEDCBA98765"


def default_symbols() -> list[SymbolSpec]:
    return [
        SymbolSpec(id="BTCUSDT", base="BTC", quote="USDT", tick=Decimal("0.10"),
                   step=Decimal("0.001"), min_qty=Decimal("0.001"), max_qty=Decimal("1000"),
                   market_max_qty=Decimal("120"), min_notional=Decimal("100"),
                   price=Decimal("60000.00"), level_qty=Decimal("0.050")),
        SymbolSpec(id="ETHUSDT", base="ETH", quote="USDT", tick=Decimal("0.01"),
                   step=Decimal("0.001"), min_qty=Decimal("0.001"), max_qty=Decimal("10000"),
                   market_max_qty=Decimal("2000"), min_notional=Decimal("20"),
                   price=Decimal("3000.00"), level_qty=Decimal("1.000")),
    ]  # fmt: skip


class FakeBinanceServer:
    def __init__(
        self,
        certificates: Certificates,
        *,
        symbols: list[SymbolSpec] | None = None,
        wallet: Decimal = Decimal("100000"),
    ) -> None:
        self.certificates = certificates
        self._symbols = symbols or default_symbols()
        self._wallet = wallet
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-binance")
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._connected = threading.Condition()
        self._connections = 0
        self.state: FakeBinance

    # --- life -----------------------------------------------------------------------------

    def start(self) -> FakeBinanceServer:
        self._thread.start()
        self._submit(self._start()).result(timeout=30)
        return self

    async def _start(self) -> None:
        venue = FakeVenue(self._symbols, clock=lambda: 0)
        self.state = FakeBinance(venue=venue)
        venue.clock = self.state.now
        venue.listeners.append(self.state.push)
        venue.add_account(API_KEY, API_SECRET, self._wallet)
        self.state.on_stream_connected.append(self._stream_connected)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.state.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, "127.0.0.1", 0, ssl_context=self.certificates.server_context()
        )
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._runner is not None:
            self._submit(self._stop()).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _stop(self) -> None:
        self.state.release.set()
        self.state.disconnect_streams()
        assert self._runner is not None
        await self._runner.cleanup()

    def _stream_connected(self, count: int) -> None:
        with self._connected:
            self._connections = count
            self._connected.notify_all()

    def wait_for_stream_connections(self, count: int, timeout: float) -> bool:
        """Block until ``count`` user-data websockets have connected in total (or time out)."""
        with self._connected:
            return self._connected.wait_for(lambda: self._connections >= count, timeout)

    async def until_stream_connections(self, count: int, limit_s: float = 15.0) -> None:
        """:meth:`wait_for_stream_connections` from a test's event loop; fails after ``limit_s``."""
        if not await asyncio.to_thread(self.wait_for_stream_connections, count, limit_s):
            raise AssertionError(f"the user-data stream did not reach {count} connection(s)")

    def _submit(self, coroutine: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    # --- reaching into the state ---------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the server's loop and return its result (blocking)."""

        async def run() -> T:
            return fn(*args)

        result: T = self._submit(run()).result(timeout=30)
        return result

    async def acall(self, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`call` for code running on another event loop: awaits instead of blocking."""

        async def run() -> T:
            return fn(*args)

        result: T = await asyncio.wrap_future(self._submit(run()))
        return result

    @property
    def resolve(self) -> dict[str, str]:
        """The adapter's ``resolve`` setting: every Binance host to this server."""
        return {host: f"127.0.0.1:{self.port}" for host in BINANCE_HOSTS}

    def arm(self, kind: FaultKind, method: str, path: str, **details: Any) -> Fault:
        return self.call(self.state.faults.arm, Fault(kind, method, path, **details))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return self.call(lambda: [
            r for r in self.state.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ])  # fmt: skip

    def external_trade(self, symbol: str, price: Decimal, qty: Decimal | None = None) -> None:
        self.call(self.state.venue.external_trade, symbol, price, qty)

    async def aexternal_trade(self, symbol: str, price: Decimal, qty: Decimal | None = None
                              ) -> None:  # fmt: skip
        await self.acall(self.state.venue.external_trade, symbol, price, qty)

    def orders_with_client_id(self, client_order_id: str) -> int:
        return self.call(lambda: sum(
            1 for o in self.state.venue.orders.values() if o.client_order_id == client_order_id
        ))  # fmt: skip
