"""The EMA crossover's whole-series signals equal what ``evaluate`` gives bar by bar."""

from __future__ import annotations

import asyncio
import math
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crypto_bot_core.builtins.technical_agents import EmaCrossoverAgent
from crypto_bot_core.builtins.technical_agents.series import advance
from crypto_bot_sdk import Bar, InMemoryMarketView

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _bars(n: int, seed: int, venue: str) -> list[Bar]:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    closes[40:55] = closes[40]  # a flat stretch: zero spread, zero volatility
    return [
        Bar(
            symbol="BTC/USDT",
            venue=venue,
            ts=T0 + timedelta(minutes=i),
            open=Decimal(f"{c:.2f}"),
            high=Decimal(f"{c:.2f}") + Decimal("0.05"),
            low=Decimal(f"{c:.2f}") - Decimal("0.05"),
            close=Decimal(f"{c:.2f}"),
            volume=Decimal(1),
        )
        for i, c in enumerate(closes)
    ]


@pytest.mark.parametrize("venue", [None, "okx"])
def test_signal_series_equals_evaluate_on_every_bar(venue: str | None) -> None:
    settings = {"fast": 4, "slow": 11} | ({"venue": venue} if venue else {})
    bars = {v: _bars(400, seed, v) for v, seed in (("binance", 3), ("okx", 4))}
    series = EmaCrossoverAgent.from_config(settings).signal_series(
        "BTC/USDT",
        {v: {"close": np.array([float(b.close) for b in bs])} for v, bs in bars.items()},
    )
    live = EmaCrossoverAgent.from_config(settings)
    view = InMemoryMarketView(max_bars=512)
    seen = []
    for index in range(400):
        view.update(bars["binance"][index])
        view.update(bars["okx"][index])
        expected = asyncio.run(live.evaluate("BTC/USDT", view))
        seen.append(expected)
        got = series.signal(index, view.now)
        assert got == expected
        if expected is None:
            assert math.isnan(series.scores[index])
            assert math.isnan(series.confidences[index])
        else:
            assert (series.scores[index], series.confidences[index]) == (
                expected.score,
                expected.confidence,
            )
    # asking again for an earlier bar refolds from the start and still agrees
    assert seen[100] is not None
    assert series.signal(100, seen[100].ts) == seen[100]
    assert sum(1 for s in seen if s is not None and s.features["crossed"] != 0) > 3


def test_advance_is_update_field_by_field() -> None:
    agent = EmaCrossoverAgent.from_config({"fast": 3, "slow": 7})
    closes = [float(b.close) for b in _bars(300, 9, "x")]
    stepped, jumped = agent.new_state(), agent.new_state()
    for stop in (1, 2, 5, 60, 61, 300):
        while stepped.bars < stop:
            stepped.update(closes[stepped.bars])
        advance(jumped, closes, jumped.bars, stop)
        assert astuple(jumped) == astuple(stepped)
    assert stepped.bars_since_cross >= 0  # the data crossed at least once


def test_series_outside_the_closes_is_refused() -> None:
    series = EmaCrossoverAgent.from_config({}).signal_series("BTC/USDT", {"v": {"close": [1.0]}})
    with pytest.raises(IndexError, match="outside the series of 1 closes"):
        series.signal(1, T0)
