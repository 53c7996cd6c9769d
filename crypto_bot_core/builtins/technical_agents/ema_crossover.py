"""EMA crossover: long while the fast EMA is above the slow one, short while below.

Score: ``tanh(z / score_scale)`` where ``z = ((fast - slow) / slow) / volatility``
is the EMA spread in units of the per-bar volatility, so the same spread
counts for more in a quiet market than in a wild one. Confidence:
``min(1, |z| / score_scale)``: a spread that is small against the noise is
the whipsaw a crossover system fears, and earns little confidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from crypto_bot_core.builtins.technical_agents.config import EmaCrossoverConfig
from crypto_bot_core.builtins.technical_agents.indicators import EmaCrossState, ema_alpha
from crypto_bot_core.builtins.technical_agents.series import Z_LIMIT, EmaSignalSeries
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent
from crypto_bot_sdk import Bar, MarketView, Signal

_Z_LIMIT = Z_LIMIT  # a flat market has zero volatility; keep z finite


class EmaCrossoverAgent(IncrementalAgent[EmaCrossoverConfig, EmaCrossState]):
    """Trend following on EMA(fast) against EMA(slow) of the close; see the module doc."""

    name = "ema_crossover"
    config_model = EmaCrossoverConfig
    warmup_bars: ClassVar[int] = 20  # the default slow span; see config.required_bars

    def new_state(self) -> EmaCrossState:
        return EmaCrossState(ema_alpha(self.config.fast), ema_alpha(self.config.slow))

    def fold(self, state: EmaCrossState, bar: Bar) -> None:
        state.update(float(bar.close))

    def _measure(self, state: EmaCrossState) -> tuple[float, float, float, float, float]:
        """(spread, volatility, z, score, confidence) of a state: the one formula for both paths."""
        spread = (state.fast - state.slow) / state.slow
        volatility = math.sqrt(state.variance)
        if volatility > 0.0:
            z = max(-_Z_LIMIT, min(_Z_LIMIT, spread / volatility))
        else:
            z = 0.0 if spread == 0.0 else math.copysign(_Z_LIMIT, spread)
        scale = self.config.score_scale
        return spread, volatility, z, math.tanh(z / scale), min(1.0, abs(z) / scale)

    def score_series(self, closes: Iterable[float]) -> tuple[list[float], list[float]]:
        """Fast path for backtests: the score and confidence after each close, no Signals.

        Runs the same fold and formula as :meth:`evaluate` over a whole series
        (e.g. ``SyntheticMarket.arrays(...)["close"]``), so each value is
        bit-identical to the signal ``evaluate`` gives on that bar; NaN before
        ``required_bars``. About 1 us per bar instead of ~10 us per Signal.
        """
        state = self.new_state()
        required = self.config.required_bars
        scores: list[float] = []
        confidences: list[float] = []
        for close in closes:
            state.update(float(close))
            if state.bars < required:
                scores.append(math.nan)
                confidences.append(math.nan)
                continue
            _, _, _, score, confidence = self._measure(state)
            scores.append(score)
            confidences.append(confidence)
        return scores, confidences

    def signal_series(self, symbol: str, bars: Mapping[str, Mapping[str, Any]]) -> EmaSignalSeries:
        """Fast path for backtests: this agent's signal on every bar of ``symbol`` at once.

        ``bars`` maps venue to that venue's arrays (``close`` at least), the
        venue a ``venue=None`` market-view query picks first; the agent reads its
        configured venue's closes, as :meth:`evaluate` does. The series' scores,
        confidences and per-bar :class:`Signal` are bit-identical to ``evaluate``
        (see :mod:`.series`); this is the engine's ``SeriesAgent`` protocol.
        """
        venue = self.config.venue
        columns = bars.get(venue) if venue is not None else next(iter(bars.values()), None)
        closes: list[float] = []
        if columns is not None:
            raw = columns["close"]
            closes = raw.tolist() if hasattr(raw, "tolist") else [float(c) for c in raw]
        return EmaSignalSeries(self, symbol, closes)

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        state = self.state_for(symbol, market)
        if state is None or state.bars < self.config.required_bars:
            return None
        return self.signal_of(symbol, state, market.now)

    def signal_of(self, symbol: str, state: EmaCrossState, ts: datetime) -> Signal:
        """The signal a state stands for: the one place a Signal is built, for both paths."""
        cfg = self.config
        spread, volatility, z, score, confidence = self._measure(state)
        relation = "above" if spread > 0 else ("below" if spread < 0 else "level with")
        view = "bullish" if spread > 0 else ("bearish" if spread < 0 else "neutral")
        cross = {1: "; crossed up on this bar", -1: "; crossed down on this bar"}.get(
            state.crossed, ""
        )
        features = {
            "close": state.close,
            "ema_fast": state.fast,
            "ema_slow": state.slow,
            "spread": spread,
            "volatility": volatility,
            "z": z,
            "crossed": float(state.crossed),
        }
        if state.bars_since_cross >= 0:
            features["bars_since_cross"] = float(state.bars_since_cross)
        # Built without re-validation: every value is finite and in range by construction
        # (tanh in [-1, 1], confidence clipped), and this runs on every bar of a backtest.
        return Signal.model_construct(
            agent=self.name,
            symbol=symbol,
            ts=ts,
            score=score,
            confidence=confidence,
            rationale=(
                f"EMA({cfg.fast}) {state.fast:.8g} is {relation} EMA({cfg.slow}) "
                f"{state.slow:.8g} by {spread:.4%}, {z:+.2f}x the per-bar volatility "
                f"{volatility:.4%}: {view}{cross}"
            ),
            features=features,
            model_version=None,
        )
