"""Average true range: the volatility yardstick of the dynamic margin.

True range is ``max(high - low, |high - previous close|, |low - previous
close|)``, so gaps between bars count; ATR is its Wilder average over
``period`` bars (the first value the plain mean of the first ``period`` true
ranges, then ``ATR_t = (ATR_t-1 (period - 1) + TR_t) / period``). Dividing
by the last close makes it a fraction of the price, comparable across coins.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from crypto_bot_sdk import Bar


def true_ranges(bars: Sequence[Bar]) -> list[float]:
    """One true range per bar after the first (the first has no previous close)."""
    out = []
    for previous, bar in pairwise(bars):
        high, low, prev_close = float(bar.high), float(bar.low), float(previous.close)
        out.append(max(high - low, abs(high - prev_close), abs(low - prev_close)))
    return out


def average_true_range(bars: Sequence[Bar], period: int = 14) -> float | None:
    """Wilder's ATR over ``period``; ``None`` until ``period + 1`` bars exist."""
    if period < 1:
        raise ValueError(f"ATR period must be at least 1, not {period}")
    ranges = true_ranges(bars)
    if len(ranges) < period:
        return None
    atr = sum(ranges[:period]) / period
    for value in ranges[period:]:
        atr = (atr * (period - 1) + value) / period
    return atr


def relative_atr(bars: Sequence[Bar], period: int = 14) -> float | None:
    """ATR as a fraction of the last close (0.02 = 2% of the price)."""
    atr = average_true_range(bars, period)
    if atr is None:
        return None
    return atr / float(bars[-1].close)
