"""The indicators, as states folded one close at a time (floats: analytics, not money).

Definitions follow the usual references so results can be checked elsewhere:

* EMA of span ``N``: ``a = 2 / (N + 1)``, ``ema[0] = close[0]``,
  ``ema[t] = ema[t-1] + a * (close[t] - ema[t-1])`` - pandas'
  ``Series.ewm(span=N, adjust=False).mean()``;
* per-bar volatility: the square root of an EWMA (same ``a`` as the slow EMA)
  of squared log returns, seeded with the first squared return;
* RSI (Wilder): average gain and loss seeded with the simple mean of the first
  ``N`` changes, then ``avg = (avg * (N - 1) + x) / N``;
  ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``, 100 when there is no loss
  (50 when there is neither gain nor loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class EmaCrossState:
    """Two EMAs of the close, a volatility estimate, and when they last crossed."""

    fast_alpha: float
    slow_alpha: float
    bars: int = 0
    close: float = 0.0
    fast: float = 0.0
    slow: float = 0.0
    variance: float = 0.0
    side: int = 0  # last non-zero sign of fast - slow; 0 until the EMAs first differ
    crossed: int = 0  # +1 crossed up on the last bar, -1 crossed down, 0 neither
    bars_since_cross: int = -1  # -1 until the first cross is seen

    def update(self, close: float) -> None:
        if self.bars == 0:
            self.fast = self.slow = close
        else:
            ret = math.log(close / self.close)
            if self.bars == 1:
                self.variance = ret * ret
            else:
                self.variance += self.slow_alpha * (ret * ret - self.variance)
            self.fast += self.fast_alpha * (close - self.fast)
            self.slow += self.slow_alpha * (close - self.slow)
        self.close = close
        self.bars += 1
        side = (self.fast > self.slow) - (self.fast < self.slow)
        self.crossed = 0
        if side != 0 and self.side not in (0, side):
            self.crossed = side
            self.bars_since_cross = 0
        elif self.bars_since_cross >= 0:
            self.bars_since_cross += 1
        if side != 0:
            self.side = side  # the last non-zero side: touching without crossing is no cross


def ema_alpha(span: int) -> float:
    return 2.0 / (span + 1.0)


@dataclass(slots=True)
class RsiState:
    """Wilder's average gain and loss over ``period`` changes of the close."""

    period: int
    changes: int = 0
    close: float | None = None
    gain_sum: float = 0.0
    loss_sum: float = 0.0
    avg_gain: float = 0.0
    avg_loss: float = 0.0

    def update(self, close: float) -> None:
        previous = self.close
        self.close = close
        if previous is None:
            return
        change = close - previous
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        self.changes += 1
        n = self.period
        if self.changes <= n:
            self.gain_sum += gain
            self.loss_sum += loss
            if self.changes == n:
                self.avg_gain = self.gain_sum / n
                self.avg_loss = self.loss_sum / n
        else:
            self.avg_gain = (self.avg_gain * (n - 1) + gain) / n
            self.avg_loss = (self.avg_loss * (n - 1) + loss) / n

    @property
    def ready(self) -> bool:
        return self.changes >= self.period

    @property
    def rsi(self) -> float:
        return rsi_of(self.avg_gain, self.avg_loss)


def rsi_of(avg_gain: float, avg_loss: float) -> float:
    """Wilder's RSI of an average gain and loss: one formula for the state and for the
    precompute path, which keeps the averages per bar rather than whole states."""
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
