"""The guard that keeps every test on 127.0.0.0/8, and proof that it is in force."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from crypto_bot_sdk import ExchangeUnavailableError
from tests.conftest import AdapterFactory
from tests.network_guard import NetworkGuardError, guard_connect, guard_getaddrinfo, is_loopback


def test_guard_refuses_outside_addresses_without_touching_the_network() -> None:
    calls: list[Any] = []

    def recorder(sock: socket.socket, address: Any) -> str:
        calls.append(address)
        return "connected"

    connect = guard_connect(recorder)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        for outside in (("203.0.113.7", 443), ("10.1.2.3", 80), ("192.168.0.1", 5432)):
            with pytest.raises(NetworkGuardError, match="refusing to connect"):
                connect(sock, outside)
        assert calls == [], "the real connect was never reached for an outside address"
        assert connect(sock, ("127.0.0.1", 9)) == "connected"
        assert connect(sock, ("127.8.9.10", 9)) == "connected"
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock6:
        assert connect(sock6, ("::1", 9, 0, 0)) == "connected"
        with pytest.raises(NetworkGuardError):
            connect(sock6, ("2001:db8::1", 443, 0, 0))
    assert calls == [("127.0.0.1", 9), ("127.8.9.10", 9), ("::1", 9, 0, 0)]


def test_guard_refuses_to_resolve_outside_names() -> None:
    looked_up: list[Any] = []

    def recorder(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
        looked_up.append(host)
        return []

    getaddrinfo = guard_getaddrinfo(recorder)
    with pytest.raises(socket.gaierror, match=r"refusing to resolve 'fapi\.binance\.com'"):
        getaddrinfo("fapi.binance.com", 443)
    assert getaddrinfo("localhost", 80) == []
    assert getaddrinfo("127.0.0.1", 80) == []
    assert looked_up == ["localhost", "127.0.0.1"]
    assert is_loopback("127.0.0.1")
    assert not is_loopback("fapi.binance.com")


def test_guard_is_installed_for_every_test() -> None:
    assert socket.socket.connect.__name__ == "connect"
    assert socket.socket.connect.__qualname__.startswith("guard_connect")
    assert socket.socket.connect_ex.__qualname__.startswith("guard_connect")
    assert socket.getaddrinfo.__qualname__.startswith("guard_getaddrinfo")


def test_an_adapter_without_the_loopback_mapping_is_stopped_by_the_guard(
    make_adapter: AdapterFactory,
) -> None:
    # Checked first, so a broken guard fails here before anything is attempted: names are
    # resolved through socket.getaddrinfo (aiohttp's threaded resolver), which is guarded.
    from aiohttp.resolver import DefaultResolver, ThreadedResolver

    assert DefaultResolver is ThreadedResolver
    assert socket.getaddrinfo.__qualname__.startswith("guard_getaddrinfo")
    adapter = make_adapter(resolve={}, max_retries=0)

    async def main() -> None:
        try:
            await adapter.start()
        finally:
            await adapter.close()

    with pytest.raises(ExchangeUnavailableError, match="loading the USDⓈ-M markets"):
        asyncio.run(main())
