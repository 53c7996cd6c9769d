"""EMA crossover: long while the fast EMA is above the slow one, short while below.

Score: ``tanh(z / score_scale)`` where ``z = ((fast - slow) / slow) / volatility``
is the EMA spread in units of the per-bar volatility, so the same spread
counts for more in a quiet market than in a wild one. Confidence:
``min(1, |z| / score_scale)``: a spread that is small against the noise is
the whipsaw a crossover system fears, and earns little confidence.
"""

from __future__ import annotations

import math
from array import array
from datetime import datetime
from typing import ClassVar

from crypto_bot_core.builtins.technical_agents.config import EmaCrossoverConfig
from crypto_bot_core.builtins.technical_agents.indicators import EmaCrossState, ema_alpha
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent, Runs, index_of
from crypto_bot_sdk import Bar, BarBlock, MarketView, ScoreBlock, Signal

_Z_LIMIT = 1e6  # a flat market has zero volatility; keep z finite


class EmaCrossoverAgent(IncrementalAgent[EmaCrossoverConfig, EmaCrossState]):
    """Trend following on EMA(fast) against EMA(slow) of the close; see the module doc."""

    name = "ema_crossover"
    config_model = EmaCrossoverConfig
    warmup_bars: ClassVar[int] = 20  # the default slow span; see config.required_bars

    def __init__(self, config: EmaCrossoverConfig) -> None:
        super().__init__(config)
        self._runs: Runs[EmaCrossState, _Kept] = Runs(config.venue, self.new_state)

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

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock | None:
        """The score and confidence after each bar of ``block`` (capability ``precompute``).

        Runs the same fold and formula as :meth:`evaluate`, carrying the state from block to
        block, so each value is bit-identical to the signal ``evaluate`` gives on that bar;
        NaN before ``required_bars``. The bars' indicator values are kept for the last block,
        so :meth:`signal_from_score` can give the full signal of any of its bars. A block of
        another venue than the one read is not this agent's market (None; see ``Runs``).
        """
        run = self._runs.begin(symbol, block)
        if run is None:
            return None
        state = run.state
        required = self.config.required_bars
        measure = self._measure
        nan = math.nan
        size = len(block.close)
        scores = array("d", bytes(8 * size))
        confidences = array("d", bytes(8 * size))
        kept = run.kept
        if kept is None or len(kept.close) != size:
            kept = run.kept = _Kept(block.ts_ms, size)
        else:
            kept.ts_ms = block.ts_ms  # same size as the last block: its arrays are reused
        update = state.update
        for i, close in enumerate(block.close):
            update(close)
            kept.keep(i, state)
            if state.bars < required:
                scores[i] = nan
                confidences[i] = nan
                continue
            _, _, _, scores[i], confidences[i] = measure(state)
        return ScoreBlock(scores, confidences)

    def signal_from_score(
        self, symbol: str, ts: datetime, score: float, confidence: float
    ) -> Signal:
        """The signal :meth:`evaluate` gives at ``ts``, rebuilt from the last precomputed block."""
        kept = self._runs.kept(symbol)
        state = kept.state_at(ts, self.new_state()) if kept is not None else None
        if state is None:
            return super().signal_from_score(symbol, ts, score, confidence)
        return self.signal_of(symbol, state, ts)

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


class _Kept:
    """The indicator values after each bar of the last precomputed block: what a signal's
    features and rationale are made of, kept so a decision can have them without a refold."""

    __slots__ = ("bars", "close", "crossed", "fast", "since", "slow", "ts_ms", "variance")

    def __init__(self, ts_ms: array[int], size: int) -> None:
        self.ts_ms = ts_ms
        zeros = bytes(8 * size)
        self.close = array("d", zeros)
        self.fast = array("d", zeros)
        self.slow = array("d", zeros)
        self.variance = array("d", zeros)
        self.bars = array("q", zeros)
        self.crossed = array("q", zeros)
        self.since = array("q", zeros)

    def keep(self, i: int, state: EmaCrossState) -> None:
        self.close[i] = state.close
        self.fast[i] = state.fast
        self.slow[i] = state.slow
        self.variance[i] = state.variance
        self.bars[i] = state.bars
        self.crossed[i] = state.crossed
        self.since[i] = state.bars_since_cross

    def state_at(self, ts: datetime, blank: EmaCrossState) -> EmaCrossState | None:
        """The state after the bar opened at ``ts``; None if it is not in this block."""
        i = index_of(self.ts_ms, ts)
        if i is None:
            return None
        blank.close = self.close[i]
        blank.fast = self.fast[i]
        blank.slow = self.slow[i]
        blank.variance = self.variance[i]
        blank.bars = self.bars[i]
        blank.crossed = self.crossed[i]
        blank.bars_since_cross = self.since[i]
        return blank
