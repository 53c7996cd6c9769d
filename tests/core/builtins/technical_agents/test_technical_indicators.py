"""Indicator values of the technical agents against hand and independent numpy computations."""

from __future__ import annotations

import asyncio
import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from crypto_bot_core.builtins.technical_agents import (
    EmaCrossoverAgent,
    MomentumBreakoutAgent,
    RsiMeanReversionAgent,
)
from crypto_bot_sdk import Agent, Bar, InMemoryMarketView, Signal

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _bar(
    i: int,
    close: float | str,
    *,
    high: str | None = None,
    low: str | None = None,
    volume: str = "10",
    open_: str | None = None,
    venue: str = "binance",
) -> Bar:
    c = Decimal(str(close))
    o = Decimal(open_) if open_ is not None else c
    h = Decimal(high) if high is not None else max(o, c)
    lo = Decimal(low) if low is not None else min(o, c)
    return Bar(
        symbol="BTC/USDT",
        venue=venue,
        ts=T0 + timedelta(minutes=i),
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=Decimal(volume),
    )


def _view(bars: list[Bar]) -> InMemoryMarketView:
    view = InMemoryMarketView(max_bars=100_000)
    for bar in bars:
        view.update(bar)
    return view


def _evaluate(agent: Agent[Any], bars: list[Bar]) -> Signal | None:
    return asyncio.run(agent.evaluate("BTC/USDT", _view(bars)))


def _walk(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(float(x), 2) for x in 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))]


def _ema_closed_form(x: np.ndarray, span: int) -> float:
    """ema[t] = (1-a)^t x[0] + sum_k a (1-a)^(t-k) x[k], k >= 1: no recursion involved."""
    a = 2 / (span + 1)
    t = len(x) - 1
    weights = a * (1 - a) ** (t - np.arange(1, t + 1))
    return float((1 - a) ** t * x[0] + np.dot(weights, x[1:]))


def test_ema_crossover_by_hand() -> None:
    # fast span 1 is the close itself; slow span 3 has a = 0.5: 10, 10.5, 11.75, 11.875.
    agent = EmaCrossoverAgent.from_config({"fast": 1, "slow": 3, "min_bars": 4})
    closes = [10, 11, 13, 12]
    assert _evaluate(agent, [_bar(i, c) for i, c in enumerate(closes[:3])]) is None
    signal = _evaluate(agent, [_bar(i, c) for i, c in enumerate(closes)])
    assert signal is not None
    r = [math.log(11 / 10), math.log(13 / 11), math.log(12 / 13)]
    variance = r[0] ** 2
    for ret in r[1:]:
        variance += 0.5 * (ret**2 - variance)
    spread = (12 - 11.875) / 11.875
    z = spread / math.sqrt(variance)
    assert signal.features["ema_fast"] == 12.0
    assert signal.features["ema_slow"] == 11.875
    assert signal.features["spread"] == pytest.approx(spread, rel=1e-15)
    assert signal.features["volatility"] == pytest.approx(math.sqrt(variance), rel=1e-15)
    assert signal.score == pytest.approx(math.tanh(z / 2.0), rel=1e-15)
    assert signal.confidence == pytest.approx(min(1.0, abs(z) / 2.0), rel=1e-15)
    assert signal.rationale == (
        f"EMA(1) 12 is above EMA(3) 11.875 by {spread:.4%}, {z:+.2f}x the per-bar "
        f"volatility {math.sqrt(variance):.4%}: bullish"
    )
    assert signal.ts == T0 + timedelta(minutes=3)


def test_ema_values_match_the_closed_form() -> None:
    closes = _walk(400, seed=5)
    signal = _evaluate(
        EmaCrossoverAgent.from_config({"fast": 12, "slow": 26}),
        [_bar(i, c) for i, c in enumerate(closes)],
    )
    assert signal is not None
    x = np.array(closes)
    assert signal.features["ema_fast"] == pytest.approx(_ema_closed_form(x, 12), rel=1e-12)
    assert signal.features["ema_slow"] == pytest.approx(_ema_closed_form(x, 26), rel=1e-12)
    r2 = np.diff(np.log(x)) ** 2
    a = 2 / 27
    t = len(r2) - 1
    variance = (1 - a) ** t * r2[0] + np.dot(a * (1 - a) ** (t - np.arange(1, t + 1)), r2[1:])
    assert signal.features["volatility"] == pytest.approx(math.sqrt(variance), rel=1e-10)


def test_crossings_are_reported_on_the_bar_they_happen() -> None:
    closes = [100, 99, 98, 97, 96, 100, 104, 105, 105]
    agent = EmaCrossoverAgent.from_config({"fast": 2, "slow": 4, "min_bars": 2})
    view = InMemoryMarketView(max_bars=100)
    seen = []
    for i, close in enumerate(closes):
        view.update(_bar(i, close))
        signal = asyncio.run(agent.evaluate("BTC/USDT", view))
        if signal is not None:
            seen.append((signal.features["crossed"], signal.features.get("bars_since_cross")))
            if signal.features["crossed"] == 1.0:
                assert signal.rationale.endswith("bullish; crossed up on this bar")
    # Falling from the start (no cross: first separation), crossing up at close 100 (bar 5).
    assert seen == [
        (0.0, None),
        (0.0, None),
        (0.0, None),
        (0.0, None),
        (1.0, 0.0),
        (0.0, 1.0),
        (0.0, 2.0),
        (0.0, 3.0),
    ]


def _rsi_by_hand(closes: list[int | str], period: int) -> Fraction:
    changes = [Fraction(b) - Fraction(a) for a, b in itertools.pairwise(closes)]
    gain = sum((max(c, Fraction(0)) for c in changes[:period]), Fraction(0)) / period
    loss = sum((max(-c, Fraction(0)) for c in changes[:period]), Fraction(0)) / period
    for c in changes[period:]:
        gain = (gain * (period - 1) + max(c, Fraction(0))) / period
        loss = (loss * (period - 1) + max(-c, Fraction(0))) / period
    return 100 - 100 / (1 + gain / loss)


@pytest.mark.parametrize(
    ("closes", "rsi", "score", "confidence"),
    [
        # changes +1, -0.5, +1.5: gain 2.5/3, loss 0.5/3, RS 5, RSI 83.33 (overbought).
        (
            ["10", "11", "10.5", "12"],
            Fraction(250, 3),
            -(Fraction(250, 3) - 70) / 30,
            Fraction(3, 9) * (Fraction(1, 2) + (Fraction(250, 3) - 70) / 60),
        ),
        # then -1: gain 5/9, loss 4/9, RS 1.25, RSI 55.56 (neutral band).
        (
            ["10", "11", "10.5", "12", "11"],
            Fraction(500, 9),
            Fraction(0),
            Fraction(4, 9) * Fraction(1, 2) * (1 - (Fraction(500, 9) - 50) / 20),
        ),
        # then -2: gain 10/27, loss 26/27, RSI 27.78 (oversold).
        (
            ["10", "11", "10.5", "12", "11", "9"],
            Fraction(250, 9),
            (30 - Fraction(250, 9)) / 30,
            Fraction(5, 9) * (Fraction(1, 2) + (30 - Fraction(250, 9)) / 60),
        ),
    ],
)
def test_rsi_by_hand(
    closes: list[str], rsi: Fraction, score: Fraction, confidence: Fraction
) -> None:
    assert _rsi_by_hand(list(closes), 3) == rsi
    signal = _evaluate(
        RsiMeanReversionAgent.from_config({"period": 3}), [_bar(i, c) for i, c in enumerate(closes)]
    )
    assert signal is not None
    assert signal.features["rsi"] == pytest.approx(float(rsi), rel=1e-12)
    assert signal.score == pytest.approx(float(score), rel=1e-12, abs=1e-15)
    assert signal.confidence == pytest.approx(float(confidence), rel=1e-12)


def test_rsi_rationale_names_the_numbers() -> None:
    signal = _evaluate(
        RsiMeanReversionAgent.from_config({"period": 3}),
        [_bar(i, c) for i, c in enumerate(["10", "11", "10.5", "12", "11", "9"])],
    )
    assert signal is not None
    assert signal.rationale == (
        "RSI(3) 27.78 is 2.22 below the oversold threshold 30: expect a rebound, buy "
        "(smoothing 56% mature)"
    )


def test_rsi_needs_period_changes_and_handles_one_way_markets() -> None:
    agent = RsiMeanReversionAgent.from_config({"period": 3})
    assert _evaluate(agent, [_bar(i, c) for i, c in enumerate([10, 11, 12])]) is None
    rising = _evaluate(
        RsiMeanReversionAgent.from_config({"period": 3}),
        [_bar(i, c) for i, c in enumerate([10, 11, 12, 13])],
    )
    flat = _evaluate(
        RsiMeanReversionAgent.from_config({"period": 3}), [_bar(i, 10) for i in range(4)]
    )
    assert rising is not None
    assert flat is not None
    assert (rising.features["rsi"], rising.score) == (100.0, -1.0)
    assert (flat.features["rsi"], flat.score) == (50.0, 0.0)


def test_rsi_matches_numpy_wilder_smoothing_on_a_long_series() -> None:
    closes = _walk(500, seed=9)
    signal = _evaluate(
        RsiMeanReversionAgent.from_config({"period": 14}),
        [_bar(i, c) for i, c in enumerate(closes)],
    )
    assert signal is not None
    changes = np.diff(np.array(closes))
    gains, losses = np.clip(changes, 0, None), np.clip(-changes, 0, None)
    a, n = 1 / 14, 14
    later = np.arange(n, len(changes))
    decay = (1 - a) ** (len(changes) - 1 - later)
    avg_gain = (1 - a) ** (len(changes) - n) * gains[:n].mean() + np.dot(a * decay, gains[n:])
    avg_loss = (1 - a) ** (len(changes) - n) * losses[:n].mean() + np.dot(a * decay, losses[n:])
    assert signal.features["rsi"] == pytest.approx(100 - 100 / (1 + avg_gain / avg_loss), rel=1e-9)
    assert signal.features["maturity"] == 1.0


def _channel(n: int = 20) -> list[Bar]:
    # Alternating closes 100 / 100.5 inside highs 101 and lows 99, volume 10.
    return [
        _bar(i, "100" if i % 2 else "100.5", high="101", low="99", volume="10") for i in range(n)
    ]


def test_breakout_up_scores_distance_in_atr_and_confidence_by_volume() -> None:
    bars = [*_channel(), _bar(20, "103", open_="100.5", high="103.5", low="100.5", volume="30")]
    signal = _evaluate(MomentumBreakoutAgent.from_config({}), bars)
    assert signal is not None
    # True ranges of bars 1..20: 19 channel bars of 2 (101 - 99), and the breakout bar's
    # max(103.5 - 100.5, |103.5 - 100|, |100.5 - 100|) = 3.5 (previous close 100).
    atr = (19 * 2 + 3.5) / 20
    distance = (103 - 101) / atr
    assert signal.features["atr"] == pytest.approx(atr)
    assert signal.features["breakout_atr"] == pytest.approx(distance)
    assert signal.score == pytest.approx(min(1.0, 0.5 + 0.5 * distance))
    assert signal.features["volume_ratio"] == 3.0
    assert signal.confidence == 1.0
    assert (signal.features["channel_high"], signal.features["channel_low"]) == (101.0, 99.0)
    assert signal.rationale == (
        f"close 103 broke above the 20-bar channel [99, 101] by {distance:.2f} ATR "
        f"(ATR {atr:.8g}) on 3.00x mean volume: upside breakout"
    )


def test_breakout_down_on_thin_volume_is_unsure() -> None:
    bars = [*_channel(), _bar(20, "98.8", open_="100", high="100", low="98.5", volume="6")]
    signal = _evaluate(MomentumBreakoutAgent.from_config({"volume_confirmation": 2}), bars)
    assert signal is not None
    atr = (19 * 2 + 1.5) / 20  # breakout bar: max(100 - 98.5, |100 - 100|, |98.5 - 100|) = 1.5
    assert signal.score == pytest.approx(-(0.5 + 0.5 * (99 - 98.8) / atr))
    assert signal.confidence == pytest.approx(0.6 / 2)
    assert signal.features["breakout_atr"] == pytest.approx(-(99 - 98.8) / atr)


def test_no_breakout_inside_the_channel_and_none_without_history() -> None:
    agent = MomentumBreakoutAgent.from_config({})
    inside = _evaluate(agent, [*_channel(), _bar(20, "100.9", high="101", low="100")])
    assert inside is not None
    assert (inside.score, inside.confidence) == (0.0, 0.0)
    assert (
        inside.rationale
        == "close 100.9 is inside the 20-bar channel [99, 101]: no breakout, no view"
    )
    assert _evaluate(agent, _channel(20)) is None
