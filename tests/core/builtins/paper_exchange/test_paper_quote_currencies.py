"""A paper venue's starting wallet follows its markets' currency unless ``balances`` says.

Before, every paper venue started with 100,000 USDT whatever it traded, so a
``BTC/USD`` venue could never pay for an order. Each asset stays its own
wallet: nothing is converted or taken as equal at the venue.
"""

from __future__ import annotations

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import ConfigError, InsufficientFundsError, OrderStatus, Side

from .helpers import D, bar, order, run, venue


def _wallet(exchange: PaperExchange) -> dict[str, str]:
    return {b.asset: str(b.free) for b in run(exchange.fetch_balances())}


def test_an_unset_wallet_starts_in_the_markets_currency() -> None:
    usd = venue()
    usd.adopt_instruments(["BTC/USD", "ETH/USD"])
    assert _wallet(usd) == {"USD": "100000"}
    usdt = venue()
    usdt.adopt_instruments(["BTC/USDT"])
    assert _wallet(usdt) == {"USDT": "100000"}


def test_a_usd_market_buys_with_the_usd_it_was_given() -> None:
    exchange = venue(fill_at="signal_close")
    exchange.adopt_instruments(["BTC/USD"])
    exchange.match_event(bar(0, 100, 101, 99, 100, symbol="BTC/USD"))
    placed = exchange.place_order(order(Side.BUY, "2", symbol="BTC/USD"))
    assert placed.status is OrderStatus.FILLED
    assert _wallet(exchange) == {"BTC": "2", "USD": "99800"}


def test_an_order_is_first_to_use_the_wallet_funds_it_from_its_own_market() -> None:
    exchange = venue(fill_at="signal_close")
    exchange.match_event(bar(0, 100, 101, 99, 100, symbol="BTC/EUR"))
    placed = exchange.place_order(order(Side.BUY, "1", symbol="BTC/EUR"))
    assert placed.status is OrderStatus.FILLED
    assert _wallet(exchange) == {"BTC": "1", "EUR": "99900"}


def test_several_currencies_default_to_usdt_when_it_is_one_of_them() -> None:
    exchange = venue()
    exchange.adopt_instruments(["BTC/USDT", "ETH/BTC"])
    assert _wallet(exchange) == {"USDT": "100000"}


def test_several_currencies_without_usdt_ask_for_balances() -> None:
    exchange = venue()
    exchange.adopt_instruments(["BTC/USD", "BTC/EUR"])
    with pytest.raises(ConfigError, match=r"settling in EUR, USD .* e\.g\. \{EUR: 100000, USD"):
        run(exchange.fetch_balances())


def test_configured_balances_are_kept_and_not_converted() -> None:
    exchange = venue(balances={"USDT": "100000"}, fill_at="signal_close")
    exchange.adopt_instruments(["BTC/USD"])
    assert _wallet(exchange) == {"USDT": "100000"}
    exchange.match_event(bar(0, 100, 101, 99, 100, symbol="BTC/USD"))
    with pytest.raises(InsufficientFundsError, match="USD"):
        exchange.place_order(order(Side.BUY, "1", symbol="BTC/USD"))


def test_a_restored_wallet_is_not_funded_again() -> None:
    first = venue()
    first.adopt_instruments(["BTC/USD"])
    state = first.snapshot_state()
    state["account"]["cash"] = {"USD": "1234"}
    second = venue()
    second.restore_state(state)
    second.adopt_instruments(["BTC/USD"])
    assert _wallet(second) == {"USD": "1234"}
    assert D(_wallet(second)["USD"]) == D(1234)
