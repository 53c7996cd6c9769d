"""Fixtures: the network guard (always on), the test CA, the fake Binance server, adapters."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.fake_binance import API_KEY, API_SECRET, Certificates, FakeBinanceServer
from tests.fake_binance import make_certificates as _make_certificates
from tests.network_guard import guard_connect, guard_getaddrinfo


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches an address beyond 127.0.0.0/8 (see tests/network_guard.py)."""
    monkeypatch.setattr(socket.socket, "connect", guard_connect(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard_connect(socket.socket.connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", guard_getaddrinfo(socket.getaddrinfo))


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return _make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake(certificates: Certificates) -> Iterator[FakeBinanceServer]:
    server = FakeBinanceServer(certificates).start()
    try:
        yield server
        unknown = server.call(lambda: list(server.state.unknown))
        assert unknown == [], f"the client called endpoints the fake does not serve: {unknown}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def credential_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("secrets")
    key, secret = directory / "api_key", directory / "api_secret"
    key.write_text(API_KEY + "\n", encoding="utf-8")
    secret.write_text(API_SECRET + "\n", encoding="utf-8")
    return key, secret


AdapterFactory = Callable[..., BinanceFuturesExchange]


@pytest.fixture
def adapter_config(
    fake: FakeBinanceServer, certificates: Certificates, credential_files: tuple[Path, Path]
) -> dict[str, Any]:
    """Settings that point the adapter at the fake: real host names resolved to loopback."""
    return {
        "api_key_file": str(credential_files[0]),
        "api_secret_file": str(credential_files[1]),
        "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        "resolve": fake.resolve,
        "ca_file": str(certificates.ca_file),
        "retry_backoff_s": 0.01,
        "poll_interval_s": 0.2,
        "timeout_s": 5,
    }


@pytest.fixture
def make_adapter(adapter_config: dict[str, Any]) -> AdapterFactory:
    def make(**overrides: Any) -> BinanceFuturesExchange:
        return BinanceFuturesExchange.from_config({**adapter_config, **overrides})

    return make
