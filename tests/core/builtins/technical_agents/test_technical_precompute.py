"""Capability ``precompute`` of the technical agents: block scores are ``evaluate``'s, bit for bit.

The engine trades on precomputed scores and asks ``signal_from_score`` for the
signal it records, so both must be exactly what ``evaluate`` gives on a view
ending at the same bar: equal floats (not close ones) and equal signals
(rationale and features included), however the series is cut into blocks.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
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
from crypto_bot_sdk import Agent, Bar, BarBlock, InMemoryMarketView, Signal

T0 = datetime(2024, 5, 1, tzinfo=UTC)
BARS = 400
AgentFactory = Callable[..., Agent[Any]]
FACTORIES: dict[str, AgentFactory] = {
    "ema": lambda **extra: EmaCrossoverAgent.from_config({"fast": 5, "slow": 13, **extra}),
    "rsi": lambda **extra: RsiMeanReversionAgent.from_config(
        {"period": 7, "oversold": 35, "overbought": 65, **extra}
    ),
    "breakout": lambda **extra: MomentumBreakoutAgent.from_config(
        {"lookback": 10, "volume_confirmation": 2.0, **extra}
    ),
}
SPLITS = {
    "whole": (BARS,),
    "ones": (1,) * BARS,
    "sevens": (7,) * (BARS // 7) + (BARS % 7,),
    "uneven": (1, 1, 9, 2, 150, 3, 64, 170),
}


def _bars(
    n: int = BARS, seed: int = 21, venue: str = "binance", symbol: str = "BTC/USDT"
) -> list[Bar]:
    """Regimes that reach every branch: trends both ways (RSI past both thresholds, breakouts
    up and down), flat stretches (no change at all: RSI 50 and an EMA volatility of 0 from the
    start, zero true ranges in the middle) and bars with no volume (a zero mean volume)."""
    rng = np.random.default_rng(seed)
    drift = np.concatenate([np.full(n // 4, 0.004), np.full(n // 4, -0.004), np.zeros(n - n // 2)])
    closes = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.006, n)))
    flat = {*range(12), *range(n // 2, n // 2 + 25)}
    out: list[Bar] = []
    previous = Decimal("100.00")
    for i, value in enumerate(closes):
        close = previous if i in flat else Decimal(f"{value:.2f}")
        wick = Decimal(0) if i in flat else Decimal(f"{abs(rng.normal(0, 0.2)):.2f}")
        volume = 0 if i in flat or i % 37 == 0 else int(rng.integers(1, 100))
        out.append(
            Bar(
                symbol=symbol,
                venue=venue,
                ts=T0 + timedelta(minutes=i),
                open=previous,
                high=max(previous, close) + wick,
                low=min(previous, close) - wick,
                close=close,
                volume=Decimal(volume),
            )
        )
        previous = close
    return out


def _evaluated(agent: Agent[Any], bars: Sequence[Bar]) -> list[Signal | None]:
    """``evaluate`` on a view growing one bar at a time: the reference."""
    view = InMemoryMarketView(max_bars=100_000)
    signals: list[Signal | None] = []
    for bar in bars:
        view.update(bar)
        signals.append(asyncio.run(agent.evaluate(bar.symbol, view)))
    return signals


def _same_float(a: float, b: float) -> bool:
    """Equal bit for bit (NaN equal to NaN): nothing looser is good enough here."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_precompute_in_blocks_is_evaluate_bar_by_bar(kind: str, split: str) -> None:
    sizes = SPLITS[split]
    assert sum(sizes) == BARS
    bars = _bars()
    expected = _evaluated(FACTORIES[kind](), bars)
    agent = FACTORIES[kind]()
    series = BarBlock.from_bars(bars)
    scores: list[float] = []
    confidences: list[float] = []
    start = 0
    for size in sizes:
        block = agent.precompute("BTC/USDT", series.slice(start, start + size))
        assert block is not None
        assert len(block) == size
        scores.extend(block.scores)
        confidences.extend(block.confidences)
        start += size
    for index, signal in enumerate(expected):
        if signal is None:
            assert math.isnan(scores[index]), f"bar {index}: evaluate gives no signal"
            continue
        assert _same_float(scores[index], signal.score), f"bar {index} score"
        assert _same_float(confidences[index], signal.confidence), f"bar {index} confidence"
    # The full signal of every bar of the last block, as the engine asks at decision time.
    last = sizes[-1]
    for index in range(BARS - last, BARS):
        signal = expected[index]
        if signal is not None:
            rebuilt = agent.signal_from_score(
                "BTC/USDT", bars[index].ts, scores[index], confidences[index]
            )
            assert rebuilt == signal, f"bar {index}"


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_the_series_reaches_every_branch(kind: str) -> None:
    """The comparisons above mean something only if the scores take every sign."""
    signals = [s for s in _evaluated(FACTORIES[kind](), _bars()) if s is not None]
    assert any(s.score > 0 for s in signals)
    assert any(s.score < 0 for s in signals)
    if kind != "ema":  # an EMA spread is never exactly zero once the slow EMA has warmed up
        assert any(s.score == 0 for s in signals)
    if kind == "breakout":
        assert any(s.features["volume_ratio"] == 0 for s in signals)
    if kind == "rsi":
        assert any(s.features["rsi"] == 50 for s in signals)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_a_pinned_agent_ignores_other_venues(kind: str) -> None:
    agent = FACTORIES[kind](venue="okx")
    assert agent.precompute("BTC/USDT", BarBlock.from_bars(_bars(venue="binance"))) is None
    okx = _bars(venue="okx")
    scored = agent.precompute("BTC/USDT", BarBlock.from_bars(okx))
    assert scored is not None
    reference = _evaluated(FACTORIES[kind](), okx)[-1]
    assert reference is not None
    assert (scored.scores[-1], scored.confidences[-1]) == (reference.score, reference.confidence)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_an_unpinned_agent_keeps_the_first_venue_it_answered(kind: str) -> None:
    """As ``market.bars(symbol)`` reads the first venue with bars, and the engine keeps the
    first venue an agent answers for; another venue's bars must not leak into the state."""
    agent = FACTORIES[kind]()
    first = BarBlock.from_bars(_bars(venue="binance"))
    assert agent.precompute("BTC/USDT", first.slice(0, 200)) is not None
    other = BarBlock.from_bars(_bars(seed=5, venue="okx"))
    assert agent.precompute("BTC/USDT", other.slice(0, 200)) is None
    rest = agent.precompute("BTC/USDT", first.slice(200, BARS))
    whole = FACTORIES[kind]().precompute("BTC/USDT", first)
    assert rest is not None
    assert whole is not None
    assert bytes(rest.scores) == bytes(whole.scores[200:])
    assert bytes(rest.confidences) == bytes(whole.confidences[200:])


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_a_block_that_does_not_follow_starts_a_fresh_run(kind: str) -> None:
    """Another backtest through the same instance starts again, as ``evaluate`` does on a
    view that does not continue its state."""
    agent = FACTORIES[kind]()
    agent.precompute("BTC/USDT", BarBlock.from_bars(_bars(seed=3)))
    again = BarBlock.from_bars(_bars(seed=4))
    rerun = agent.precompute("BTC/USDT", again)
    fresh = FACTORIES[kind]().precompute("BTC/USDT", again)
    assert rerun is not None
    assert fresh is not None
    assert bytes(rerun.scores) == bytes(fresh.scores)
    assert bytes(rerun.confidences) == bytes(fresh.confidences)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_symbols_run_apart(kind: str) -> None:
    btc, eth = _bars(seed=6), _bars(seed=7, symbol="ETH/USDT")
    agent = FACTORIES[kind]()
    for start in range(0, BARS, 50):
        agent.precompute("BTC/USDT", BarBlock.from_bars(btc[start : start + 50]))
        agent.precompute("ETH/USDT", BarBlock.from_bars(eth[start : start + 50]))
    for symbol, bars in (("BTC/USDT", btc), ("ETH/USDT", eth)):
        reference = _evaluated(FACTORIES[kind](), bars)[-1]
        assert reference is not None
        rebuilt = agent.signal_from_score(
            symbol, bars[-1].ts, reference.score, reference.confidence
        )
        assert rebuilt == reference


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_a_bar_outside_the_last_block_gets_the_plain_signal(kind: str) -> None:
    """Only the last block's bars are kept; an older bar still gets its score back."""
    agent = FACTORIES[kind]()
    bars = _bars()
    agent.precompute("BTC/USDT", BarBlock.from_bars(bars[:300]))
    agent.precompute("BTC/USDT", BarBlock.from_bars(bars[300:]))
    signal = agent.signal_from_score("BTC/USDT", bars[299].ts, 0.25, 0.5)
    assert (signal.agent, signal.symbol, signal.score, signal.confidence) == (
        agent.name,
        "BTC/USDT",
        0.25,
        0.5,
    )
    assert signal.features == {}
    never = agent.signal_from_score("ETH/USDT", bars[-1].ts, -0.5, 0.1)
    assert (never.score, never.confidence) == (-0.5, 0.1)


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_an_empty_block_changes_nothing(kind: str) -> None:
    bars = _bars()
    series = BarBlock.from_bars(bars)
    agent = FACTORIES[kind]()
    agent.precompute("BTC/USDT", series.slice(0, 250))
    empty = agent.precompute("BTC/USDT", series.slice(250, 250))
    assert empty is not None
    assert len(empty) == 0
    rest = agent.precompute("BTC/USDT", series.slice(250, BARS))
    whole = FACTORIES[kind]().precompute("BTC/USDT", series)
    assert rest is not None
    assert whole is not None
    assert bytes(rest.scores) == bytes(whole.scores[250:])
