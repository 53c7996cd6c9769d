"""Incremental indicator state gives exactly what a fresh agent computes from the history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from crypto_bot_core.builtins.technical_agents import (
    EmaCrossoverAgent,
    MomentumBreakoutAgent,
    RsiMeanReversionAgent,
)
from crypto_bot_sdk import Agent, Bar, BarBlock, ConfigError, InMemoryMarketView, Signal

T0 = datetime(2024, 5, 1, tzinfo=UTC)
AgentFactory = Callable[[], Agent[Any]]
FACTORIES: dict[str, AgentFactory] = {
    "ema": lambda: EmaCrossoverAgent.from_config({"fast": 5, "slow": 13}),
    "rsi": lambda: RsiMeanReversionAgent.from_config({"period": 7}),
    "breakout": lambda: MomentumBreakoutAgent.from_config({"lookback": 10}),
}


def _bars(n: int, seed: int, venue: str = "binance", symbol: str = "BTC/USDT") -> list[Bar]:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    out = []
    previous = Decimal("100.00")
    for i, value in enumerate(closes):
        close = Decimal(f"{value:.2f}")
        out.append(
            Bar(
                symbol=symbol,
                venue=venue,
                ts=T0 + timedelta(minutes=i),
                open=previous,
                high=max(previous, close) + Decimal("0.05"),
                low=min(previous, close) - Decimal("0.05"),
                close=close,
                volume=Decimal(int(rng.integers(1, 100))),
            )
        )
        previous = close
    return out


def _run(agent: Agent[Any], symbol: str, view: InMemoryMarketView) -> Signal | None:
    return asyncio.run(agent.evaluate(symbol, view))


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_every_bar_incremental_equals_a_fresh_agent(kind: str) -> None:
    incremental = FACTORIES[kind]()
    view = InMemoryMarketView(max_bars=100_000)
    compared = 0
    for index, bar in enumerate(_bars(400, seed=1)):
        view.update(bar)
        signal = _run(incremental, "BTC/USDT", view)
        if index % 23 == 0 or index == 399:
            assert signal == _run(FACTORIES[kind](), "BTC/USDT", view), f"bar {index}"
            compared += 1
        if signal is not None:
            assert Signal.model_validate(signal.model_dump()) == signal
    assert compared == 19


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_skipped_bars_are_caught_up_from_history(kind: str) -> None:
    agent = FACTORIES[kind]()
    view = InMemoryMarketView(max_bars=100_000)
    for index, bar in enumerate(_bars(300, seed=2)):
        view.update(bar)
        if index % 7 == 0:
            _run(agent, "BTC/USDT", view)
    assert _run(agent, "BTC/USDT", view) == _run(FACTORIES[kind](), "BTC/USDT", view)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_a_view_that_does_not_continue_the_state_restarts_it(kind: str) -> None:
    agent = FACTORIES[kind]()
    first = InMemoryMarketView(max_bars=100_000)
    for bar in _bars(200, seed=3):
        first.update(bar)
        _run(agent, "BTC/USDT", first)
    # Another run over other prices at the same times: the state must not be reused.
    second = InMemoryMarketView(max_bars=100_000)
    for bar in _bars(150, seed=4):
        second.update(bar)
    assert _run(agent, "BTC/USDT", second) == _run(FACTORIES[kind](), "BTC/USDT", second)
    # And a gap longer than a short view keeps: rebuilt from the 40 bars it has.
    short = InMemoryMarketView(max_bars=40)
    for bar in _bars(300, seed=3):
        short.update(bar)
    assert _run(agent, "BTC/USDT", short) == _run(FACTORIES[kind](), "BTC/USDT", short)


def test_evaluating_the_same_bar_twice_folds_it_once() -> None:
    agent = FACTORIES["ema"]()
    view = InMemoryMarketView(max_bars=100_000)
    for bar in _bars(60, seed=5):
        view.update(bar)
        first = _run(agent, "BTC/USDT", view)
        assert _run(agent, "BTC/USDT", view) == first
    assert _run(agent, "BTC/USDT", view) == _run(FACTORIES["ema"](), "BTC/USDT", view)


def test_symbols_keep_separate_state_and_forget_rebuilds() -> None:
    agent = EmaCrossoverAgent.from_config({"fast": 5, "slow": 13})
    view = InMemoryMarketView(max_bars=100_000)
    for btc, eth in zip(_bars(100, seed=6), _bars(100, seed=7, symbol="ETH/USDT"), strict=True):
        view.update(btc)
        view.update(eth)
        _run(agent, "BTC/USDT", view)
        _run(agent, "ETH/USDT", view)
    fresh = FACTORIES["ema"]()
    assert _run(agent, "ETH/USDT", view) == _run(fresh, "ETH/USDT", view)
    assert _run(agent, "BTC/USDT", view) == _run(fresh, "BTC/USDT", view)
    agent.forget("BTC/USDT")
    agent.forget()
    assert _run(agent, "BTC/USDT", view) == _run(fresh, "BTC/USDT", view)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_the_configured_venue_is_the_one_read(kind: str) -> None:
    view = InMemoryMarketView(max_bars=1000)
    for a, b in zip(
        _bars(80, seed=8, venue="binance"), _bars(80, seed=9, venue="okx"), strict=True
    ):
        view.update(a)
        view.update(b)
    okx_only = InMemoryMarketView(max_bars=1000)
    for bar in _bars(80, seed=9, venue="okx"):
        okx_only.update(bar)
    agent = type(FACTORIES[kind]()).from_config(
        {**FACTORIES[kind]().config.model_dump(), "venue": "okx"}
    )
    on_okx = _run(agent, "BTC/USDT", view)
    assert on_okx is not None
    assert on_okx.features["close"] == float(_bars(80, seed=9, venue="okx")[-1].close)
    assert on_okx == _run(FACTORIES[kind](), "BTC/USDT", okx_only)
    assert _run(agent, "ETH/USDT", view) is None


@pytest.mark.parametrize(
    ("agent", "settings", "message"),
    [
        (
            EmaCrossoverAgent,
            {"fast": 20, "slow": 10},
            r"fast span 20 must be shorter than slow span 10",
        ),
        (EmaCrossoverAgent, {"fast": 0}, r"fast: Input should be greater than or equal to 1"),
        (
            RsiMeanReversionAgent,
            {"oversold": 70, "overbought": 30},
            r"oversold threshold 70.0 must be below",
        ),
        (
            RsiMeanReversionAgent,
            {"period": 1},
            r"period: Input should be greater than or equal to 2",
        ),
        (
            MomentumBreakoutAgent,
            {"lookback": 1},
            r"lookback: Input should be greater than or equal to 2",
        ),
        (
            MomentumBreakoutAgent,
            {"volume_confirmation": 0},
            r"volume_confirmation: Input should be greater than 0",
        ),
        (MomentumBreakoutAgent, {"window": 5}, r"window: Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_refused(
    agent: type[Agent[Any]], settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        agent.from_config(settings)


@pytest.mark.parametrize("sizes", [(300,), (1, 1, 298), (7, 50, 243), (12, 1, 287)])
def test_precompute_in_any_blocks_is_bit_identical_to_evaluate_on_every_bar(
    sizes: tuple[int, ...],
) -> None:
    bars = _bars(300, seed=12)
    agent = EmaCrossoverAgent.from_config({"fast": 5, "slow": 13})
    scores: list[float] = []
    confidences: list[float] = []
    signals: dict[int, Signal] = {}
    start = 0
    for size in sizes:
        chunk = bars[start : start + size]
        block = agent.precompute("BTC/USDT", BarBlock.from_bars(chunk))
        assert block is not None
        scores.extend(block.scores)
        confidences.extend(block.confidences)
        for offset, bar in enumerate(chunk):
            if not np.isnan(block.scores[offset]):
                signals[start + offset] = agent.signal_from_score(
                    "BTC/USDT", bar.ts, block.scores[offset], block.confidences[offset]
                )
        start += size
    view = InMemoryMarketView(max_bars=100_000)
    live = EmaCrossoverAgent.from_config({"fast": 5, "slow": 13})
    for index, bar in enumerate(bars):
        view.update(bar)
        signal = _run(live, "BTC/USDT", view)
        if signal is None:
            assert index < 12
            assert np.isnan(scores[index])
            assert np.isnan(confidences[index])
        else:
            assert (scores[index], confidences[index]) == (signal.score, signal.confidence)
            # Only the last block's bars can be rebuilt in full; those must equal evaluate.
            if index >= 300 - sizes[-1]:
                assert signals[index] == signal
    assert len(scores) == 300


def test_precompute_ignores_a_venue_the_agent_does_not_read() -> None:
    agent = EmaCrossoverAgent.from_config({"fast": 5, "slow": 13, "venue": "alpha"})
    assert agent.precompute("BTC/USDT", BarBlock.from_bars(_bars(30, seed=3))) is None
    read = agent.precompute("BTC/USDT", BarBlock.from_bars(_bars(30, seed=3, venue="alpha")))
    assert read is not None
    assert len(read.scores) == 30
