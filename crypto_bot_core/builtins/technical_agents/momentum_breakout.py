"""Momentum breakout: follow a close that leaves the N-bar high/low channel.

The channel is the highest high and lowest low of the ``lookback`` bars
before the current one. A close above the high scores
``min(1, 0.5 + 0.5 * (close - high) / ATR)``; below the low, the mirror image;
inside, 0. ATR is the mean true range of the last ``lookback`` bars (current
one included). Confidence is ``min(1, volume_ratio / volume_confirmation)``
for a breakout, where ``volume_ratio`` is the current volume over the
channel's mean volume - a breakout on thin volume is the classic false one -
and 0 inside the channel, where the agent has no view.

Everything comes from the last ``lookback + 1`` bars. The agent keeps them per
symbol as floats (converted once per bar, not once per call) in a window that
follows the view like the other agents' indicator state.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from crypto_bot_core.builtins.technical_agents.config import MomentumBreakoutConfig
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent, Runs, index_of
from crypto_bot_sdk import Bar, BarBlock, MarketView, ScoreBlock, Signal

Window = deque[tuple[float, float, float, float]]  # (high, low, close, volume), oldest first
Measure = tuple[float, float, float, float, float, float, float, float]
"""(close, channel_high, channel_low, atr, volume_ratio, distance, score, confidence) of one
bar: everything its signal says."""


def true_ranges(
    highs: Sequence[float], lows: Sequence[float], closes: Sequence[float], start: int
) -> list[float]:
    """The true ranges of bars ``start`` onwards (``start >= 1``: each reads the close
    before it): one formula for the window and for whole blocks."""
    return [
        max(high - low, abs(high - before), abs(low - before))
        for high, low, before in zip(highs[start:], lows[start:], closes[start - 1 :], strict=False)
    ]


class MomentumBreakoutAgent(IncrementalAgent[MomentumBreakoutConfig, Window]):
    """Channel breakout with ATR-scaled distance and volume confirmation."""

    name = "momentum_breakout"
    config_model = MomentumBreakoutConfig
    warmup_bars: ClassVar[int] = 21  # lookback + 1 with the default lookback of 20

    def __init__(self, config: MomentumBreakoutConfig) -> None:
        super().__init__(config)
        self._runs: Runs[_Tail, _Kept] = Runs(config.venue, _Tail)

    def new_state(self) -> Window:
        return deque(maxlen=self.config.lookback + 1)

    def fold(self, state: Window, bar: Bar) -> None:
        state.append((float(bar.high), float(bar.low), float(bar.close), float(bar.volume)))

    def measure(self, bars: _Bars, k: int) -> Measure:
        """The breakout at bar ``k`` of ``bars``, which hold at least the ``lookback`` bars
        before it.

        The one place the formulas live, for :meth:`evaluate` (the window's columns, ``k``
        its last bar) and :meth:`precompute` (a block's columns after the carried tail):
        the same slices reduced in the same order, so the same floats bit for bit.
        """
        cfg = self.config
        n = cfg.lookback
        start = k - n
        channel_high, channel_low = max(bars.high[start:k]), min(bars.low[start:k])
        atr = sum(bars.ranges[start + 1 : k + 1]) / n
        volumes = bars.volume
        mean_volume = sum(volumes[start:k]) / n
        close = bars.close[k]
        volume_ratio = volumes[k] / mean_volume if mean_volume > 0 else 0.0
        if close > channel_high:
            distance = (close - channel_high) / atr if atr > 0 else 1.0
            score = min(1.0, 0.5 + 0.5 * distance)
            confidence = min(1.0, volume_ratio / cfg.volume_confirmation)
        elif close < channel_low:
            distance = (channel_low - close) / atr if atr > 0 else 1.0
            score = -min(1.0, 0.5 + 0.5 * distance)
            confidence = min(1.0, volume_ratio / cfg.volume_confirmation)
        else:
            distance, score, confidence = 0.0, 0.0, 0.0
        return close, channel_high, channel_low, atr, volume_ratio, distance, score, confidence

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        n = self.config.lookback
        window = self.state_for(symbol, market)
        if window is None or len(window) < n + 1:
            return None
        highs, lows, closes, volumes = (list(column) for column in zip(*window, strict=True))
        ranges = [0.0, *true_ranges(highs, lows, closes, 1)]  # bar 0's is never read
        bars = _Bars(highs, lows, closes, volumes, ranges)
        return self.signal_of(symbol, self.measure(bars, n), market.now)

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock | None:
        """The score and confidence after each bar of ``block`` (capability ``precompute``).

        The window of bar ``i`` is rebuilt from columns, not folded bar by bar: the carried
        tail (the symbol's last ``lookback`` bars) followed by the block, and
        :meth:`measure` reads each bar's ``lookback + 1`` bars out of them - the numbers
        :meth:`evaluate` reads out of its window, so bit-identical results (NaN until
        ``lookback + 1`` bars are seen). These columns are kept for the last block, so
        :meth:`signal_from_score` can rebuild the full signal of any of its bars. A block
        of another venue than the one read is not this agent's market (None).
        """
        run = self._runs.begin(symbol, block)
        if run is None:
            return None
        n = self.config.lookback
        tail = run.state
        highs = tail.high + block.high
        lows = tail.low + block.low
        closes = tail.close + block.close
        volumes = tail.volume + block.volume
        first = len(tail.close)  # where the block starts in the columns
        # The tail's true ranges are carried too: only the block's bars are new. The very
        # first bar of a run has none (nothing before it); its placeholder is never read.
        ranges = tail.ranges + array("d", true_ranges(highs, lows, closes, max(1, first)))
        if not first:
            ranges.insert(0, 0.0)
        bars = _Bars(highs, lows, closes, volumes, ranges)
        size = len(block.close)
        scores = array("d", [math.nan]) * size
        confidences = array("d", [math.nan]) * size
        measure = self.measure
        for k in range(max(n, first), first + size):
            measured = measure(bars, k)
            scores[k - first] = measured[6]
            confidences[k - first] = measured[7]
        run.state = _Tail(highs[-n:], lows[-n:], closes[-n:], volumes[-n:], ranges[-n:])
        run.kept = _Kept(block.ts_ms, first, bars)
        return ScoreBlock(scores, confidences)

    def signal_from_score(
        self, symbol: str, ts: datetime, score: float, confidence: float
    ) -> Signal:
        """The signal :meth:`evaluate` gives at ``ts``, rebuilt from the last precomputed block."""
        kept = self._runs.kept(symbol)
        i = index_of(kept.ts_ms, ts) if kept is not None else None
        if kept is None or i is None or kept.first + i < self.config.lookback:
            return super().signal_from_score(symbol, ts, score, confidence)
        return self.signal_of(symbol, self.measure(kept.bars, kept.first + i), ts)

    def signal_of(self, symbol: str, measured: Measure, ts: datetime) -> Signal:
        """The signal of one bar's breakout: the one place a Signal is built, for both paths."""
        close, channel_high, channel_low, atr, volume_ratio, distance, score, confidence = measured
        channel = f"{self.config.lookback}-bar channel [{channel_low:.8g}, {channel_high:.8g}]"
        if close > channel_high:
            rationale = (
                f"close {close:.8g} broke above the {channel} by {distance:.2f} ATR "
                f"(ATR {atr:.8g}) on {volume_ratio:.2f}x mean volume: upside breakout"
            )
        elif close < channel_low:
            rationale = (
                f"close {close:.8g} broke below the {channel} by {distance:.2f} ATR "
                f"(ATR {atr:.8g}) on {volume_ratio:.2f}x mean volume: downside breakout"
            )
        else:
            rationale = f"close {close:.8g} is inside the {channel}: no breakout, no view"
        return Signal.model_construct(
            agent=self.name,
            symbol=symbol,
            ts=ts,
            score=score,
            confidence=confidence,
            rationale=rationale,
            features={
                "close": close,
                "channel_high": channel_high,
                "channel_low": channel_low,
                "atr": atr,
                "breakout_atr": distance if score >= 0 else -distance,
                "volume_ratio": volume_ratio,
            },
            model_version=None,
        )


class _Tail:
    """The last ``lookback`` bars a run carries into its next block, as float columns (high,
    low, close, volume, true range), oldest first: what the block's first windows reach
    back into."""

    __slots__ = ("close", "high", "low", "ranges", "volume")

    def __init__(
        self,
        high: array[float] | None = None,
        low: array[float] | None = None,
        close: array[float] | None = None,
        volume: array[float] | None = None,
        ranges: array[float] | None = None,
    ) -> None:
        self.high = high if high is not None else array("d")
        self.low = low if low is not None else array("d")
        self.close = close if close is not None else array("d")
        self.volume = volume if volume is not None else array("d")
        self.ranges = ranges if ranges is not None else array("d")


class _Bars:
    """Consecutive bars as columns, with their true ranges: what :meth:`measure` reads (lists
    of a window for ``evaluate``, arrays of tail and block for ``precompute``)."""

    __slots__ = ("close", "high", "low", "ranges", "volume")

    def __init__(
        self,
        high: Sequence[float],
        low: Sequence[float],
        close: Sequence[float],
        volume: Sequence[float],
        ranges: Sequence[float],
    ) -> None:
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.ranges = ranges


class _Kept:
    """The last precomputed block's bars after the tail it followed (bar ``i`` of the block
    is at ``first + i``): what the signal of any of its bars reads."""

    __slots__ = ("bars", "first", "ts_ms")

    def __init__(self, ts_ms: array[int], first: int, bars: _Bars) -> None:
        self.ts_ms = ts_ms
        self.first = first
        self.bars = bars
