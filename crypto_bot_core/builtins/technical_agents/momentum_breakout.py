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

from collections import deque
from typing import ClassVar

from crypto_bot_core.builtins.technical_agents.config import MomentumBreakoutConfig
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent
from crypto_bot_sdk import Bar, MarketView, Signal

Window = deque[tuple[float, float, float, float]]  # (high, low, close, volume), oldest first


class MomentumBreakoutAgent(IncrementalAgent[MomentumBreakoutConfig, Window]):
    """Channel breakout with ATR-scaled distance and volume confirmation."""

    name = "momentum_breakout"
    config_model = MomentumBreakoutConfig
    warmup_bars: ClassVar[int] = 21  # lookback + 1 with the default lookback of 20

    def new_state(self) -> Window:
        return deque(maxlen=self.config.lookback + 1)

    def fold(self, state: Window, bar: Bar) -> None:
        state.append((float(bar.high), float(bar.low), float(bar.close), float(bar.volume)))

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        cfg = self.config
        n = cfg.lookback
        window = self.state_for(symbol, market)
        if window is None or len(window) < n + 1:
            return None
        highs, lows, closes, volumes = (list(column) for column in zip(*window, strict=True))
        channel_high, channel_low = max(highs[:-1]), min(lows[:-1])
        true_ranges = [
            max(highs[i] - lows[i], abs(highs[i] - closes[i - 1]), abs(lows[i] - closes[i - 1]))
            for i in range(1, n + 1)
        ]
        atr = sum(true_ranges) / n
        mean_volume = sum(volumes[:-1]) / n
        close = closes[-1]
        volume_ratio = volumes[-1] / mean_volume if mean_volume > 0 else 0.0
        channel = f"{n}-bar channel [{channel_low:.8g}, {channel_high:.8g}]"
        if close > channel_high:
            distance = (close - channel_high) / atr if atr > 0 else 1.0
            score = min(1.0, 0.5 + 0.5 * distance)
            confidence = min(1.0, volume_ratio / cfg.volume_confirmation)
            rationale = (
                f"close {close:.8g} broke above the {channel} by {distance:.2f} ATR "
                f"(ATR {atr:.8g}) on {volume_ratio:.2f}x mean volume: upside breakout"
            )
        elif close < channel_low:
            distance = (channel_low - close) / atr if atr > 0 else 1.0
            score = -min(1.0, 0.5 + 0.5 * distance)
            confidence = min(1.0, volume_ratio / cfg.volume_confirmation)
            rationale = (
                f"close {close:.8g} broke below the {channel} by {distance:.2f} ATR "
                f"(ATR {atr:.8g}) on {volume_ratio:.2f}x mean volume: downside breakout"
            )
        else:
            distance, score, confidence = 0.0, 0.0, 0.0
            rationale = f"close {close:.8g} is inside the {channel}: no breakout, no view"
        return Signal.model_construct(
            agent=self.name,
            symbol=symbol,
            ts=market.now,
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
