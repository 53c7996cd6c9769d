"""Building ccxt's ``binanceusdm`` client (REST and the ccxt.pro websocket) for one account.

ccxt is imported here, inside functions, so discovering the plugin and
``cryptobot --help`` never pay for it. The adapter hands ccxt an aiohttp
session of its own making because two settings live there: ``resolve``
(connect to a chosen address while keeping Binance's real host names, which
ccxt also uses to pick its error table) and ``ca_file`` (an extra CA to
trust, for a TLS-terminating proxy or the loopback test server).
"""

from __future__ import annotations

import functools
import socket
import ssl
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from cryptobot_binance_futures.config import BinanceFuturesConfig

if TYPE_CHECKING:
    import aiohttp


class RetryAfter(Exception):
    """Raised inside ccxt for HTTP 429/418, carrying Binance's Retry-After header.

    ccxt turns those statuses into a bare ``DDoSProtection`` and drops the
    header; the client class below keeps it so the adapter can tell the
    caller how long to wait.
    """

    def __init__(self, status: int, retry_after: float | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.retry_after = retry_after
        self.body = body


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


@functools.cache
def client_class() -> type[Any]:
    """ccxt.pro's ``binanceusdm`` with the Retry-After header kept on 429 and 418."""
    import ccxt.pro as ccxtpro

    class BinanceUsdm(ccxtpro.binanceusdm):  # type: ignore[misc]
        def handle_errors(  # noqa: PLR0917 (ccxt's own signature, overridden)
            self, code: int, reason: str, url: str, method: str, headers: Any, body: str,
            response: Any, request_headers: Any, request_body: Any,
        ) -> Any:  # fmt: skip
            if code in (418, 429):
                raise RetryAfter(code, _retry_after(headers), body)
            return super().handle_errors(
                code, reason, url, method, headers, body, response, request_headers, request_body
            )

    return BinanceUsdm


def _resolver(overrides: dict[str, str]) -> Any:
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import DefaultResolver

    class OverrideResolver(AbstractResolver):
        """Answers for the configured hosts; asks the normal resolver for every other one."""

        def __init__(self) -> None:
            self._fallback = DefaultResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[Any]:
            address = overrides.get(host)
            if address is None:
                return await self._fallback.resolve(host, port, family)
            target, _, target_port = address.rpartition(":")
            target = target.strip("[]")
            is_v6 = ":" in target
            return [{
                "hostname": host, "host": target, "port": int(target_port),
                "family": socket.AF_INET6 if is_v6 else socket.AF_INET, "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }]  # fmt: skip

        async def close(self) -> None:
            await self._fallback.close()

    return OverrideResolver()


def tls_context(config: BinanceFuturesConfig) -> ssl.SSLContext:
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    if config.ca_file is not None:
        context.load_verify_locations(cafile=str(config.ca_file))
    return context


def new_session(config: BinanceFuturesConfig) -> aiohttp.ClientSession:
    """An aiohttp session with the configured address overrides and trusted CAs."""
    import aiohttp

    connector = aiohttp.TCPConnector(
        ssl=tls_context(config),
        resolver=_resolver(dict(config.resolve)) if config.resolve else None,
        enable_cleanup_closed=True,
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def new_client(
    config: BinanceFuturesConfig, key: SecretStr, secret: SecretStr, session: aiohttp.ClientSession
) -> Any:
    """A ccxt.pro binanceusdm client: rate limiting on, our session, our recvWindow."""
    client = client_class()({
        "apiKey": key.get_secret_value(),
        "secret": secret.get_secret_value(),
        "session": session,
        "enableRateLimit": True,
        "timeout": int(config.timeout_s * 1000),
        "options": {
            "recvWindow": config.recv_window_ms,
            "adjustForTimeDifference": False,
            # The futures account has no spot wallet endpoints to ask for currencies.
            "fetchCurrencies": False,
            "defaultType": "swap",
        },
    })  # fmt: skip
    # ccxt waits this long in close() for connections it owns; the session is ours.
    client.timeout_on_exit = 0
    if config.testnet:
        client.enable_demo_trading(True)
    return client
