"""A venue that fails at start (listing instruments, balances, fees) is named, not a
traceback: the start goes through each venue's fence like every other venue call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest
from fence_parts import Momentum, build_engine

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_sdk import Balance, FeeSchedule, Instrument, PluginConfig, PluginError


class BrokenListing(PaperExchange):
    async def load_instruments(self) -> Sequence[Instrument]:
        raise ValueError("exchangeInfo answered an empty body")


class NoFees(PaperExchange):
    """A venue whose fee endpoint is a plain NotImplementedError: no schedule, no failure."""

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        raise NotImplementedError


def _with_venue(adapter: PaperExchange) -> Engine:
    engine = build_engine({"momentum": Momentum(PluginConfig())})
    return Engine(
        run_id=engine.run_id,
        data_sources=engine.data_sources,
        agents=engine.agents,
        exchanges={"sim": adapter},
        policies=engine.policies,
        risk=engine.risk,
        ledger=engine.ledger,
        sizing=engine.sizing,
    )


def _config() -> PaperExchangeConfig:
    return PaperExchangeConfig(venue="sim", balances={"USDT": Decimal(100_000)})


def test_a_venue_failing_to_list_its_instruments_is_named() -> None:
    engine = _with_venue(BrokenListing(_config()))
    with pytest.raises(PluginError) as caught:
        asyncio.run(engine.start())
    assert caught.value.plugin == "sim"
    assert "load_instruments raised ValueError: exchangeInfo answered an empty body" in str(
        caught.value
    )


def test_a_venue_without_fees_still_starts_and_trades() -> None:
    engine = _with_venue(NoFees(_config()))

    async def go() -> list[Balance]:
        await engine.start()
        await engine.run()
        await engine.close()
        return list(await engine.exchanges["sim"].fetch_balances())

    balances = asyncio.run(go())
    assert "sim" not in engine.router.fees
    assert engine.stats.fills > 0
    assert balances


class FailsToStart(Momentum):
    async def start(self) -> None:
        raise ConnectionError("model server refused the connection")


def test_a_component_failing_to_start_is_named() -> None:
    from crypto_bot_core.host.fence import Fence

    engine = build_engine(
        {"flaky": FailsToStart(PluginConfig())}, fences={"flaky": Fence("acme-models")}
    )
    with pytest.raises(PluginError) as caught:
        asyncio.run(engine.start())
    assert caught.value.plugin == "acme-models"
    assert "ConnectionError: model server refused the connection" in str(caught.value)
