"""Binance's errors, as the fake sends them, arrive as the SDK's errors with advice.

Most are provoked the way they happen on Binance (a margin shortfall, a
skewed clock, a wrong key, too many requests); codes the adapter's own
checks prevent from being sent (precision, lot-size filters) are answered by
the server on purpose, in Binance's exact payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from crypto_bot_sdk import (
    AuthenticationError,
    ClockSkewError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientFundsError,
    InvalidOrderError,
    OrderRequest,
    OrderType,
    PrecisionError,
    RateLimitedError,
    Side,
)
from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.conftest import AdapterFactory
from tests.fake_binance import FakeBinanceServer, FaultKind

T = TypeVar("T")
ORDER = "/fapi/v1/order"
BALANCE = "/fapi/v3/balance"


def run(
    make_adapter: AdapterFactory,
    scenario: Callable[[BinanceFuturesExchange], Awaitable[T]],
    **config: Any,
) -> T:
    async def main() -> T:
        adapter = make_adapter(**config)
        await adapter.start()
        try:
            return await scenario(adapter)
        finally:
            await adapter.close()

    return asyncio.run(main())


def order(quantity: str, *, kind: OrderType = OrderType.MARKET, price: str | None = None,
          coid: str = "err-1") -> OrderRequest:  # fmt: skip
    return OrderRequest(
        client_order_id=coid, venue="binance-futures", symbol="BTC/USDT:USDT", side=Side.BUY,
        order_type=kind, quantity=Decimal(quantity),
        price=Decimal(price) if price is not None else None,
    )  # fmt: skip


def submit_error(
    make_adapter: AdapterFactory, request: OrderRequest, **config: Any
) -> ExchangeError:
    async def scenario(adapter: BinanceFuturesExchange) -> ExchangeError:
        with pytest.raises(ExchangeError) as caught:
            await adapter.submit_order(request)
        return caught.value

    return run(make_adapter, scenario, **config)


def test_margin_shortfall_is_insufficient_funds(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    error = submit_error(make_adapter, order("40"))  # 2.4M notional on 100k at 20x
    assert type(error) is InsufficientFundsError
    assert "-2019 'Margin is insufficient.'" in str(error)
    assert "reduce the size" in str(error)
    assert fake.orders_with_client_id("err-1") == 0


def test_notional_below_minimum_is_invalid_order(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    error = submit_error(make_adapter, order("0.001"))  # 60 USDT, the minimum is 100
    assert type(error) is InvalidOrderError
    assert "-4164" in str(error)
    assert "trade a larger size" in str(error)


@pytest.mark.parametrize(
    ("code", "msg", "expected", "advice"),
    [
        (-1111, "Precision is over the maximum defined for this asset.", PrecisionError,
         "round it to the instrument's tick and lot size"),
        (-1013, "Filter failure: LOT_SIZE", InvalidOrderError, "lot size and limits"),
        (-4014, "Price not increased by tick size.", PrecisionError, "Instrument.round_price"),
        (-2022, "ReduceOnly Order is rejected.", InvalidOrderError, "drop reduce_only"),
        (-5022, "Due to the order could not be executed as maker, the Post Only order will be "
         "rejected.", InvalidOrderError, "price it away from the market"),
    ],
)  # fmt: skip
def test_order_refusals_map_to_invalid_order(  # noqa: PLR0917 (fixtures and parameters)
    fake: FakeBinanceServer, make_adapter: AdapterFactory, code: int, msg: str,
    expected: type[ExchangeError], advice: str,
) -> None:  # fmt: skip
    fake.arm(FaultKind.ERROR, "POST", ORDER, code=code, msg=msg, status=400)
    error = submit_error(make_adapter, order("0.010", kind=OrderType.LIMIT, price="50000.0"))
    assert type(error) is expected
    assert f"Binance error {code} {msg!r}" in str(error)
    assert advice in str(error)
    assert len(fake.requests("POST", ORDER)) == 1, "a refusal is final: never resent"


def test_off_grid_values_are_refused_before_sending(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    error = submit_error(make_adapter, order("0.0105"))
    assert type(error) is PrecisionError
    assert "not a multiple of the lot size 0.001; send 0.010 instead" in str(error)
    error = submit_error(make_adapter, order("0.010", kind=OrderType.LIMIT, price="50000.05"))
    assert type(error) is PrecisionError
    assert "not on the tick grid 0.1; send 50000.0 instead" in str(error)
    assert fake.requests("POST", ORDER) == []


def test_skewed_clock_is_clock_skew_and_measuring_the_offset_cures_it(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fake.call(setattr, fake.state, "clock_offset_ms", 30_000)

    async def balances(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_balances()

    with pytest.raises(ClockSkewError, match="sync the host clock with NTP") as caught:
        run(make_adapter, balances)
    assert "-1021 'Timestamp for this request is outside of the recvWindow.'" in str(caught.value)
    (usdt,) = run(make_adapter, balances, adjust_for_time_difference=True)
    assert usdt.free == Decimal("100000")


def test_unknown_api_key_is_authentication_error(
    fake: FakeBinanceServer, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    wrong = tmp_path / "key"
    wrong.write_text("not-a-key-binance-knows", encoding="utf-8")

    async def balances(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_balances()

    with pytest.raises(AuthenticationError, match="check the key, its IP whitelist") as caught:
        run(make_adapter, balances, api_key_file=str(wrong))
    assert "-2015" in str(caught.value)
    assert "not-a-key-binance-knows" not in str(caught.value)


def test_wrong_secret_is_authentication_error(
    fake: FakeBinanceServer, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    wrong = tmp_path / "secret"
    wrong.write_text("another-secret", encoding="utf-8")

    async def balances(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_balances()

    with pytest.raises(AuthenticationError, match="-1022 'Signature for this request is not"):
        run(make_adapter, balances, api_secret_file=str(wrong))


def test_too_many_requests_is_rate_limited_with_retry_after_then_banned(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    def tighten() -> None:
        fake.state.limiter.limit = 12  # exchangeInfo 1 + two balance calls of 5
        fake.state.limiter.ban_after = 1
        fake.state.limiter.pinned = True

    fake.call(tighten)

    async def scenario(adapter: BinanceFuturesExchange) -> list[RateLimitedError]:
        await adapter.fetch_balances()
        await adapter.fetch_balances()
        errors = []
        for _ in range(2):
            with pytest.raises(RateLimitedError) as caught:
                await adapter.fetch_balances()
            errors.append(caught.value)
        return errors

    limited, banned = run(make_adapter, scenario, max_retries=0)
    assert "HTTP 429" in str(limited)
    assert "-1003" in str(limited)
    assert "lower the request rate" in str(limited)
    assert "HTTP 418 (the IP is banned until then)" in str(banned)
    for error in (limited, banned):
        assert error.retry_after is not None
        assert 1 <= error.retry_after <= 60
        assert f"wait {error.retry_after:g} s" in str(error)


def test_rate_limit_with_short_retry_after_is_waited_out(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fake.arm(
        FaultKind.ERROR, "GET", BALANCE, status=429, code=-1003,
        msg="Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute.",
        headers={"Retry-After": "0"},
    )  # fmt: skip

    async def balances(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_balances()

    (usdt,) = run(make_adapter, balances)
    assert usdt.asset == "USDT"
    assert len(fake.requests("GET", BALANCE)) == 2


def test_server_errors_are_retried_for_reads_then_reported_unavailable(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fake.arm(FaultKind.SERVER_ERROR, "GET", BALANCE, times=2)

    async def balances(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_balances()

    (usdt,) = run(make_adapter, balances)
    assert usdt.free == Decimal("100000")
    assert len(fake.requests("GET", BALANCE)) == 3
    fake.arm(FaultKind.DROP, "GET", BALANCE, times=5)
    with pytest.raises(ExchangeUnavailableError, match="fetching balances"):
        run(make_adapter, balances, max_retries=1)


def test_ccxt_picks_binance_futures_error_table_by_the_real_host(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    """The URL stays https://fapi.binance.com, so ccxt's USDⓈ-M table applies (-2019 is
    InsufficientFunds only there): the redirect to loopback happens below the URL."""
    import ccxt

    async def raw_order(adapter: BinanceFuturesExchange) -> BaseException:
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "40"}
        with pytest.raises(ccxt.BaseError) as caught:
            await adapter.conn.client.fapiPrivatePostOrder(params)
        error: BaseException = caught.value
        return error

    error = run(make_adapter, raw_order)
    assert type(error) is ccxt.InsufficientFunds
    assert fake.requests("POST", ORDER)[0].path == ORDER


def test_listen_keys_never_reach_error_messages() -> None:
    import ccxt

    from cryptobot_binance_futures.errors import to_sdk_error

    dropped = ccxt.NetworkError(
        "400, message='Invalid response status', "
        "url='wss://fstream.binance.com/private/ws?listenKey=AbC123-_xyz'"
    )
    error = to_sdk_error(dropped, venue="binance-futures", action="watching own trades")
    assert isinstance(error, ExchangeUnavailableError)
    assert "AbC123" not in str(error)
    assert "listenKey=<redacted>" in str(error)
