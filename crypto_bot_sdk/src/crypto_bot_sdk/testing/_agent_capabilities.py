"""Agent checks selected by the manifest's capabilities: ``precompute`` (block scores equal
``evaluate`` bar by bar, whatever the block size) and ``explain`` (finite contributions)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._agent import Agent
from crypto_bot_sdk._blocks import BarBlock, ScoreBlock
from crypto_bot_sdk._decisions import Signal
from crypto_bot_sdk._market import Bar
from crypto_bot_sdk._market_view import InMemoryMarketView, MarketView
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    is_finite_number,
    market_fingerprint,
    run_async,
    started,
)

NAN = float("nan")
Score = tuple[float, float]


def _bars_of(market: MarketView, symbol: str) -> Sequence[Bar]:
    bars = market.bars(symbol)
    if not bars:
        pytest.fail(
            f"the 'market_view' fixture has no bars of {symbol!r} to precompute over",
            pytrace=False,
        )
    return bars


async def _evaluated(agent: Agent[Any], symbol: str, market: MarketView) -> list[Score]:
    """What ``evaluate`` gives at each bar of ``symbol``, on views growing one bar at a time."""
    view = InMemoryMarketView(market.instruments(), max_bars=len(market.bars(symbol)) + 1)
    scores: list[Score] = []
    for bar in _bars_of(market, symbol):
        view.update(bar)
        signal = await agent.evaluate(symbol, view)
        scores.append((NAN, NAN) if signal is None else (signal.score, signal.confidence))
    return scores


def _precomputed(agent: Agent[Any], symbol: str, series: BarBlock, size: int) -> list[Score]:
    scores: list[Score] = []
    for start in range(0, len(series), size):
        block = series.slice(start, start + size)
        result = agent.precompute(symbol, block)
        if result is None:
            pytest.fail(
                f"precompute returned None for {symbol}@{series.venue}, the venue evaluate reads "
                "(market.bars(symbol) with no venue); None is only for a venue the agent does "
                "not read",
                pytrace=False,
            )
        assert isinstance(result, ScoreBlock), (
            f"precompute returned a {type(result).__qualname__}, not a crypto_bot_sdk.ScoreBlock"
        )
        assert len(result) == len(block), (
            f"precompute of a {len(block)}-bar block (bars {start}..{start + len(block) - 1}) "
            f"returned {len(result)} scores; give one per bar (NaN for no opinion)"
        )
        scores.extend(zip(result.scores, result.confidences, strict=True))
    return scores


def _same(expected: Score, got: Score, tolerance: float) -> bool:
    if math.isnan(expected[0]) or math.isnan(got[0]):
        return math.isnan(expected[0]) and math.isnan(got[0])
    return all(
        math.isclose(e, g, rel_tol=tolerance, abs_tol=tolerance)
        for e, g in zip(expected, got, strict=True)
    )


def _describe(score: Score) -> str:
    if math.isnan(score[0]):
        return "no signal (NaN)"
    return f"score {score[0]!r} confidence {score[1]!r}"


class AgentCapabilityChecks:
    """Mixed into :class:`AgentConformance`; uses its fixtures.

    ``precompute_block_sizes`` are the block lengths the precompute check splits
    the view's bars into (the whole series as one block is always added);
    ``precompute_tolerance`` the relative and absolute difference allowed between
    a precomputed and an evaluated number (vectorised float maths may differ from
    bar-by-bar decimal maths in the last digits).
    """

    precompute_block_sizes: ClassVar[tuple[int, ...]] = (1, 2, 7, 64)
    precompute_tolerance: ClassVar[float] = 1e-9

    @pytest.mark.requires_capability("precompute")
    def test_precompute_matches_evaluate(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        bars = _bars_of(market_view, symbol)
        series = BarBlock.from_bars(bars)

        async def reference() -> list[Score]:
            async with started(component_factory, (Agent,)) as agent:
                return await _evaluated(agent, symbol, market_view)

        async def in_blocks(size: int) -> list[Score]:
            async with started(component_factory, (Agent,)) as agent:
                return _precomputed(agent, symbol, series, size)

        expected = run_async(reference)
        assert any(not math.isnan(score) for score, _ in expected), (
            f"evaluate gave no signal on any of the {len(bars)} bars of {symbol}, so precompute "
            "cannot be compared with it; give 'market_view' more history"
        )
        for size in sorted({*self.precompute_block_sizes, len(bars)}):
            got = run_async(partial(in_blocks, size))
            for index, (want, have) in enumerate(zip(expected, got, strict=True)):
                if not (-1.0 <= have[0] <= 1.0 or math.isnan(have[0])):
                    pytest.fail(f"precompute gave score {have[0]!r} outside [-1, 1] at bar {index}")
                assert _same(want, have, self.precompute_tolerance), (
                    f"bar {index} ({bars[index].ts.isoformat()}): evaluate gives "
                    f"{_describe(want)}, precompute in blocks of {size} gives {_describe(have)}; "
                    "carry indicator state from one block to the next, and score bar i as "
                    "evaluate does on a view whose last bar is bar i"
                )

    @pytest.mark.requires_capability("precompute")
    def test_signal_from_score_keeps_the_score(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        bars = _bars_of(market_view, symbol)
        last = bars[-1]

        async def scenario() -> tuple[str, Signal, Score]:
            async with started(component_factory, (Agent,)) as agent:
                scored = agent.precompute(symbol, BarBlock.from_bars(bars))
                if scored is None:
                    pytest.fail(f"precompute returned None for the bars of {symbol}")
                found = [
                    (i, s, c)
                    for i, (s, c) in enumerate(zip(scored.scores, scored.confidences, strict=True))
                    if not math.isnan(s)
                ]
                if not found:
                    pytest.fail(f"precompute scored none of the {len(bars)} bars of {symbol}")
                index, score, confidence = found[-1]
                signal = agent.signal_from_score(symbol, bars[index].ts, score, confidence)
                return agent.name, signal, (score, confidence)

        name, signal, (score, confidence) = run_async(scenario)
        assert isinstance(signal, Signal), f"signal_from_score returned {signal!r}"
        assert (signal.agent, signal.symbol) == (name, symbol), (
            f"signal_from_score gave a signal of agent {signal.agent!r} for {signal.symbol!r}"
        )
        assert (signal.score, signal.confidence) == (score, confidence), (
            f"signal_from_score changed the score {score!r}/{confidence!r} into "
            f"{signal.score!r}/{signal.confidence!r}"
        )
        assert signal.ts <= last.ts, "signal_from_score signed a signal after the last bar"

    @pytest.mark.requires_capability("explain")
    def test_explain_gives_finite_contributions(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        async def scenario() -> Mapping[str, float]:
            async with started(component_factory, (Agent,)) as agent:
                signal = await agent.evaluate(symbol, market_view)
                if signal is None:
                    pytest.fail(
                        f"evaluate({symbol!r}) gave no signal to explain; give 'market_view' "
                        "enough history",
                        pytrace=False,
                    )
                return agent.explain(symbol, market_view, signal)

        before = market_fingerprint(market_view, [symbol])
        contributions = run_async(scenario)
        assert isinstance(contributions, Mapping), (
            f"explain returned a {type(contributions).__qualname__}, not a mapping of feature "
            "names to contributions"
        )
        assert contributions, "explain returned no contributions at all"
        bad = {
            key: value
            for key, value in contributions.items()
            if not (isinstance(key, str) and key and is_finite_number(value))
        }
        assert not bad, f"contributions must map feature names to finite numbers; got {bad}"
        assert market_fingerprint(market_view, [symbol]) == before, (
            "explain changed the market view it was lent"
        )

