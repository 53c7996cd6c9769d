"""The optional capabilities of API 1.1: agent precompute and explain over bar and score
blocks, and the simulated-venue methods of ExchangeAdapter."""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import pytest
from bare_exchange import BareExchange

from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    CONTRACTS,
    Agent,
    BarBlock,
    ExchangeAdapter,
    Fill,
    Instrument,
    MarketView,
    NotSupportedError,
    Order,
    OrderRequest,
    PluginConfig,
    PluginKind,
    ScoreBlock,
    Signal,
    promised_methods,
)
from crypto_bot_sdk.testing import FIXED_NOW, bar_series

# --- blocks -------------------------------------------------------------------------


def test_bar_block_from_bars_holds_exact_times_and_float_columns() -> None:
    bars = bar_series("BTC/USDT", "a", count=5, timeframe="1m")
    block = BarBlock.from_bars(bars)
    assert (block.symbol, block.venue, len(block)) == ("BTC/USDT", "a", 5)
    assert block.ts_ms.typecode == "q"
    assert list(block.ts_ms) == [1_704_067_200_000 + 60_000 * i for i in range(5)]
    assert list(block.close) == [float(b.close) for b in bars]
    assert list(block.volume) == [float(b.volume) for b in bars]
    tail = block.slice(3, 5)
    assert list(tail.ts_ms) == list(block.ts_ms[3:])
    assert list(tail.open) == [float(b.open) for b in bars[3:]]


def test_bar_block_refuses_mixed_markets_and_ragged_columns() -> None:
    with pytest.raises(ValueError, match="needs at least one bar"):
        BarBlock.from_bars([])
    mixed = [*bar_series("BTC/USDT", "a", count=1), *bar_series("ETH/USDT", "a", count=1)]
    with pytest.raises(ValueError, match="holds one market; got BTC/USDT@a and ETH/USDT@a"):
        BarBlock.from_bars(mixed)
    good = BarBlock.from_bars(bar_series(count=3))
    with pytest.raises(ValueError, match="close has 2 values but ts_ms has 3"):
        BarBlock(good.symbol, good.venue, good.ts_ms, good.open, good.high, good.low,
                 good.close[:2], good.volume)
    with pytest.raises(TypeError, match=r"ts_ms must be array\('q'\)"):
        BarBlock(good.symbol, good.venue, array("d", [1.0, 2.0, 3.0]), good.open,  # type: ignore[arg-type]
                 good.high, good.low, good.close, good.volume)
    with pytest.raises(TypeError, match=r"BarBlock.open must be array\('d'\), not list"):
        BarBlock(good.symbol, good.venue, good.ts_ms, [1.0, 2.0, 3.0],  # type: ignore[arg-type]
                 good.high, good.low, good.close, good.volume)


def test_score_block_converts_sequences_and_float64_buffers() -> None:
    scores = ScoreBlock.of([0.5, math.nan], (1.0, 0.0))
    assert scores.scores.typecode == scores.confidences.typecode == "d"
    assert scores.scores[0] == 0.5
    assert math.isnan(scores.scores[1])
    as_buffer = ScoreBlock.of(memoryview(array("d", [0.25, -0.25])), array("d", [1.0, 1.0]))
    assert list(as_buffer.scores) == [0.25, -0.25]
    with pytest.raises(ValueError, match="2 scores but 1 confidences"):
        ScoreBlock.of([0.1, 0.2], [1.0])
    with pytest.raises(TypeError, match=r"use ScoreBlock.of\(...\) to convert a list"):
        ScoreBlock([0.1], array("d", [1.0]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scores must be float numbers, got str"):
        ScoreBlock.of("abc", [1.0])


def test_score_block_takes_numpy_arrays_in_one_copy() -> None:
    np = pytest.importorskip("numpy")
    values = np.linspace(-1.0, 1.0, 5)
    block = ScoreBlock.of(values, np.ones(5))
    assert list(block.scores) == values.tolist()
    strided = ScoreBlock.of(values[::2], np.ones(3, dtype=np.float32))
    assert list(strided.scores) == values[::2].tolist()
    assert list(strided.confidences) == [1.0, 1.0, 1.0]
    # And back, without a copy, as a plugin reads a bar block.
    closes = np.frombuffer(BarBlock.from_bars(bar_series(count=4)).close, dtype=np.float64)
    assert closes.shape == (4,)


# --- agents -------------------------------------------------------------------------


class Plain(Agent[PluginConfig]):
    name = "plain"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return None


def test_agent_capabilities_default_to_not_supported() -> None:
    agent = Plain.from_config()
    block = BarBlock.from_bars(bar_series(count=2))
    with pytest.raises(NotSupportedError, match="agent 'plain' does not precompute scores"):
        agent.precompute("BTC/USDT", block)
    signal = Signal(agent="plain", symbol="BTC/USDT", ts=FIXED_NOW, score=0.2, confidence=0.5)
    with pytest.raises(NotSupportedError, match="agent 'plain' offers no explanations"):
        agent.explain("BTC/USDT", bar_view(), signal)


def bar_view() -> MarketView:
    from crypto_bot_sdk.testing import market_view_from

    return market_view_from(bar_series(count=3))


def test_signal_from_score_default_builds_a_plain_signal() -> None:
    signal = Plain.from_config().signal_from_score("BTC/USDT", FIXED_NOW, -0.4, 0.75)
    assert signal == Signal(
        agent="plain",
        symbol="BTC/USDT",
        ts=FIXED_NOW,
        score=-0.4,
        confidence=0.75,
        rationale="plain: precomputed score",
    )
    with pytest.raises(ValueError, match="score"):
        Plain.from_config().signal_from_score("BTC/USDT", FIXED_NOW, math.nan, 0.5)


class Explaining(Plain):
    name = "explaining"

    def explain(self, symbol: str, market: MarketView, signal: Signal) -> Mapping[str, float]:
        return {"momentum": signal.score}


def test_an_override_replaces_the_default() -> None:
    signal = Signal(agent="x", symbol="BTC/USDT", ts=FIXED_NOW, score=0.3, confidence=1.0)
    assert Explaining.from_config().explain("BTC/USDT", bar_view(), signal) == {"momentum": 0.3}


# --- simulated venues ---------------------------------------------------------------


def test_simulated_venue_methods_default_to_not_supported() -> None:
    venue = BareExchange.from_config()
    request = OrderRequest(
        client_order_id="c1", venue="bare", symbol="BTC/USDT", side="buy", quantity=Decimal(1)
    )
    calls = [
        (lambda: venue.submit_order_sync(request), "has no synchronous submit"),
        (lambda: venue.fills_of_order("c1"), "cannot list one order's fills"),
        (lambda: venue.adopt_instruments(["BTC/USDT"]), "lists a fixed set of instruments"),
        (venue.snapshot_state, "keeps no state of its own to save"),
        (lambda: venue.restore_state({}), "keeps no state of its own to restore"),
        (lambda: venue.settle_funding("BTC/USDT:USDT", Decimal("0.0001")), "settles no funding"),
        (lambda: venue.match_event(bar_series(count=1)[0]), "has no synchronous matching"),
        (venue.forget_closed_orders, "keeps every order it was sent"),
    ]
    for call, message in calls:
        with pytest.raises(NotSupportedError, match=f"exchange 'bare' {message}"):
            call()
    assert asyncio.run(venue.on_market_event(bar_series(count=1)[0])) == ()


# The engine's structural protocols of API 1.0, as it declares them: a real venue must not
# look like a simulated one to them, which is why the SDK's methods carry other names.


@runtime_checkable
class SyncOrderEntry(Protocol):
    def place_order(self, request: OrderRequest) -> Order: ...


@runtime_checkable
class FillsByOrder(Protocol):
    def fills_for_order(self, client_order_id: str) -> Sequence[Fill]: ...


@runtime_checkable
class AdoptsSymbols(Protocol):
    def adopt_symbols(self, symbols: Iterable[str]) -> list[Instrument]: ...


@runtime_checkable
class Snapshotting(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...


@runtime_checkable
class SettlesFunding(Protocol):
    def apply_funding(self, symbol: str, rate: Decimal, ts: datetime | None = None) -> Decimal: ...


@pytest.mark.parametrize(
    "protocol", [SyncOrderEntry, FillsByOrder, AdoptsSymbols, Snapshotting, SettlesFunding]
)
def test_a_plain_adapter_matches_none_of_the_engines_private_protocols(protocol: type) -> None:
    assert not isinstance(BareExchange.from_config(), protocol)


def test_the_capability_methods_mirror_the_engine_protocols() -> None:
    import inspect

    pairs = [
        (ExchangeAdapter.submit_order_sync, SyncOrderEntry.place_order),
        (ExchangeAdapter.fills_of_order, FillsByOrder.fills_for_order),
        (ExchangeAdapter.adopt_instruments, AdoptsSymbols.adopt_symbols),
        (ExchangeAdapter.snapshot_state, Snapshotting.snapshot),
        (ExchangeAdapter.restore_state, Snapshotting.restore),
        (ExchangeAdapter.settle_funding, SettlesFunding.apply_funding),
    ]
    for sdk, engine in pairs:
        assert str(inspect.signature(sdk)) == str(inspect.signature(engine)), sdk.__name__


# --- the capability table -------------------------------------------------------------


def test_new_capabilities_promise_their_methods() -> None:
    expected = {
        "precompute": (PluginKind.AGENT, "precompute"),
        "explain": (PluginKind.AGENT, "explain"),
        "sync_submit": (PluginKind.EXCHANGE, "submit_order_sync"),
        "fills_by_order": (PluginKind.EXCHANGE, "fills_of_order"),
        "adopt_symbols": (PluginKind.EXCHANGE, "adopt_instruments"),
        "state_snapshot": (PluginKind.EXCHANGE, "snapshot_state"),
        "settle_funding": (PluginKind.EXCHANGE, "settle_funding"),
        "sync_matching": (PluginKind.EXCHANGE, "match_event"),
        "forget_closed": (PluginKind.EXCHANGE, "forget_closed_orders"),
    }
    assert {k: CAPABILITY_METHODS[k] for k in expected} == expected
    assert promised_methods("state_snapshot") == ("snapshot_state", "restore_state")
    assert promised_methods("fees") == ("fetch_fees",)
    assert promised_methods("deterministic") == ()
    assert promised_methods("no-such-capability") == ()
    for capability, (kind, _) in CAPABILITY_METHODS.items():
        for method in promised_methods(capability):
            assert callable(getattr(CONTRACTS[kind], method)), (capability, method)
            assert method not in CONTRACTS[kind].__abstractmethods__, (capability, method)


def test_sync_matching_mirrors_on_market_event() -> None:
    """``match_event`` is ``on_market_event`` without the coroutine: same parameters, and a
    sequence of fills for a result."""
    import inspect

    sync = inspect.signature(ExchangeAdapter.match_event)
    awaited = inspect.signature(ExchangeAdapter.on_market_event)
    assert sync == awaited
    assert not inspect.iscoroutinefunction(ExchangeAdapter.match_event)
    assert inspect.signature(ExchangeAdapter.forget_closed_orders).return_annotation == "None"
