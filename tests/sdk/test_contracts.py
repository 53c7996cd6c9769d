"""Contracts: config validation that names the YAML key, optional methods that say they are
not offered, the capability table, and the in-memory market view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from bare_exchange import BareExchange
from pydantic import Field

from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    CONTRACTS,
    Agent,
    ConfigError,
    DataSource,
    InMemoryMarketView,
    Instrument,
    MarketEvent,
    MarketView,
    NotSupportedError,
    PluginConfig,
    PluginKind,
    Signal,
)
from crypto_bot_sdk.testing import bar_series, make_instrument


class Leg(PluginConfig):
    symbol: str
    weight: float = Field(gt=0)


class SpreadConfig(PluginConfig):
    window: int = Field(default=20, ge=2)
    legs: tuple[Leg, ...] = ()


class SpreadAgent(Agent[SpreadConfig]):
    name = "spread"
    config_model = SpreadConfig

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return None


def test_from_config_builds_with_defaults_and_values() -> None:
    agent = SpreadAgent.from_config({"window": 50, "legs": [{"symbol": "BTC/USDT", "weight": 1}]})
    assert agent.config.window == 50
    assert agent.config.legs[0].weight == 1.0
    assert SpreadAgent.from_config().config.window == 20


def test_from_config_error_names_the_nested_key() -> None:
    with pytest.raises(ConfigError) as caught:
        SpreadAgent.from_config(
            {"legs": [{"symbol": "BTC/USDT", "weight": 1}, {"symbol": "ETH/USDT", "weight": 0}]},
            key="agents[2].config",
        )
    assert caught.value.key == "agents[2].config.legs[1].weight"
    assert "invalid settings for agent 'spread'" in str(caught.value)
    assert "legs[1].weight: Input should be greater than 0" in str(caught.value)


def test_from_config_refuses_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="windw: Extra inputs are not permitted") as caught:
        SpreadAgent.from_config({"windw": 5})
    assert caught.value.key == "config.windw"


def test_optional_exchange_methods_raise_not_supported() -> None:
    exchange = BareExchange.from_config()

    async def probe() -> list[str]:
        messages = []
        for call in (
            exchange.fetch_positions(),
            exchange.fetch_order_book("BTC/USDT"),
            exchange.fetch_fees("BTC/USDT"),
            exchange.set_leverage("BTC/USDT:USDT", 3),
        ):
            with pytest.raises(NotSupportedError) as caught:
                await call
            messages.append(str(caught.value))
        assert await exchange.on_market_event(bar_series(count=1)[0]) == ()
        return messages

    messages = asyncio.run(probe())
    assert messages == [
        "exchange 'bare' reports no positions",
        "exchange 'bare' offers no order book",
        "exchange 'bare' publishes no fee schedule",
        "exchange 'bare' has no leverage setting",
    ]
    with pytest.raises(NotSupportedError, match="has no fill stream; poll fetch_fills"):
        exchange.fill_stream()
    assert isinstance(NotSupportedError("x"), NotImplementedError)


def test_capability_table_names_real_optional_methods() -> None:
    for capability, (kind, method) in CAPABILITY_METHODS.items():
        contract = CONTRACTS[kind]
        assert callable(getattr(contract, method)), capability
        assert method not in contract.__abstractmethods__, f"{capability}: {method} is required"
    assert set(CONTRACTS) == set(PluginKind)
    assert {contract.kind for contract in CONTRACTS.values()} == set(PluginKind)


def test_data_source_history_is_optional() -> None:
    class Empty(DataSource[PluginConfig]):
        name = "empty"

        def instruments(self) -> Sequence[Instrument]:
            return ()

        async def stream(
            self, start: datetime | None = None, end: datetime | None = None
        ) -> AsyncIterator[MarketEvent]:
            nothing: tuple[MarketEvent, ...] = ()
            for event in nothing:
                yield event

    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(NotSupportedError, match="data source 'empty' offers no history"):
        asyncio.run(Empty.from_config().history("BTC/USDT", start, start + timedelta(days=1)))


def test_in_memory_market_view() -> None:
    view = InMemoryMarketView([make_instrument()], max_bars=50)
    with pytest.raises(LookupError, match="has seen no event yet"):
        _ = view.now
    bars = bar_series(count=80)
    for bar in bars:
        view.update(bar)
    assert isinstance(view, MarketView)
    assert view.now == bars[-1].ts
    assert len(view.bars("BTC/USDT")) == 50  # bounded
    assert view.bars("BTC/USDT", limit=3) == tuple(bars[-3:])
    assert view.bars("BTC/USDT", venue="elsewhere") == ()
    assert view.last_price("BTC/USDT") == bars[-1].close
    assert view.last_price("ETH/USDT") is None
    assert view.instruments()[0].symbol == "BTC/USDT"
    assert view.order_book("BTC/USDT", "conformance") is None
