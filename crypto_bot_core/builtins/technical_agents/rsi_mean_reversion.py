"""RSI mean reversion: buy what is oversold, sell what is overbought.

Score: below ``oversold`` it is ``(oversold - rsi) / oversold`` (up to +1 at
RSI 0); above ``overbought`` it is ``-(rsi - overbought) / (100 - overbought)``
(down to -1 at RSI 100); inside the band it is 0. Confidence is
``maturity * (0.5 + 0.5 * |score|)`` outside the band and
``maturity * 0.5 * (1 - |rsi - mid| / half_width)`` inside it (sure there is
no edge near the middle, unsure near a threshold), where ``maturity =
min(1, changes / (3 * period))``: Wilder's smoothing needs about three
periods to forget its seed.
"""

from __future__ import annotations

import math
from array import array
from datetime import datetime
from typing import ClassVar

from crypto_bot_core.builtins.technical_agents.config import RsiMeanReversionConfig
from crypto_bot_core.builtins.technical_agents.indicators import RsiState, rsi_of
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent, Runs, index_of
from crypto_bot_sdk import Bar, BarBlock, MarketView, ScoreBlock, Signal


class RsiMeanReversionAgent(IncrementalAgent[RsiMeanReversionConfig, RsiState]):
    """Mean reversion on Wilder's RSI; see the module doc for the formulas."""

    name = "rsi_mean_reversion"
    config_model = RsiMeanReversionConfig
    warmup_bars: ClassVar[int] = 15  # period + 1 closes with the default period of 14

    def __init__(self, config: RsiMeanReversionConfig) -> None:
        super().__init__(config)
        self._runs: Runs[RsiState, _Kept] = Runs(config.venue, self.new_state)
        # Constants of the formulas, worked out once instead of on every bar: the same
        # operations on the same settings, so the same floats.
        self._band_mid = (config.oversold + config.overbought) / 2.0
        self._band_half_width = (config.overbought - config.oversold) / 2.0
        self._mature_after = 3.0 * config.period

    def new_state(self) -> RsiState:
        return RsiState(self.config.period)

    def fold(self, state: RsiState, bar: Bar) -> None:
        state.update(float(bar.close))

    def judge(self, rsi: float, changes: int) -> tuple[float, float, float]:
        """(maturity, score, confidence) at an RSI after ``changes`` changes of the close.

        The one place the score formulas live, for :meth:`evaluate` and :meth:`precompute`
        alike: both paths give bit-identical numbers because they run this very code.
        """
        cfg = self.config
        maturity = min(1.0, changes / self._mature_after)
        if rsi < cfg.oversold:
            score = (cfg.oversold - rsi) / cfg.oversold
            return maturity, score, maturity * (0.5 + 0.5 * score)
        if rsi > cfg.overbought:
            score = -(rsi - cfg.overbought) / (100.0 - cfg.overbought)
            return maturity, score, maturity * (0.5 - 0.5 * score)
        distance = abs(rsi - self._band_mid) / self._band_half_width
        return maturity, 0.0, maturity * 0.5 * (1.0 - distance)

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        state = self.state_for(symbol, market)
        if state is None or not state.ready:
            return None
        return self.signal_of(symbol, state, market.now)

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock | None:
        """The score and confidence after each bar of ``block`` (capability ``precompute``).

        Folds the block's closes into the symbol's carried :class:`RsiState` with the same
        ``update`` and :meth:`judge` as :meth:`evaluate`, so every value is bit-identical to
        the signal ``evaluate`` gives on that bar; NaN until ``period`` changes are seen.
        Each bar's averages and change count are kept for the last block (three numbers a
        bar, no state copies), so :meth:`signal_from_score` can rebuild its full signal. A
        block of another venue than the one read is not this agent's market (None).
        """
        run = self._runs.begin(symbol, block)
        if run is None:
            return None
        state = run.state
        update = state.update
        judge = self.judge
        period = self.config.period
        size = len(block.close)
        zeros = bytes(8 * size)
        scores = array("d", [math.nan]) * size
        confidences = array("d", [math.nan]) * size
        gains = array("d", zeros)
        losses = array("d", zeros)
        counts = array("q", zeros)
        for i, close in enumerate(block.close):
            update(close)
            gain = gains[i] = state.avg_gain
            loss = losses[i] = state.avg_loss
            changes = counts[i] = state.changes
            if changes >= period:  # RsiState.ready
                _, scores[i], confidences[i] = judge(rsi_of(gain, loss), changes)
        run.kept = _Kept(block.ts_ms, block.close, gains, losses, counts)
        return ScoreBlock(scores, confidences)

    def signal_from_score(
        self, symbol: str, ts: datetime, score: float, confidence: float
    ) -> Signal:
        """The signal :meth:`evaluate` gives at ``ts``, rebuilt from the last precomputed block."""
        kept = self._runs.kept(symbol)
        state = kept.state_at(ts, self.new_state()) if kept is not None else None
        if state is None or not state.ready:
            return super().signal_from_score(symbol, ts, score, confidence)
        return self.signal_of(symbol, state, ts)

    def signal_of(self, symbol: str, state: RsiState, ts: datetime) -> Signal:
        """The signal a ready state stands for: the one place a Signal is built, for both paths."""
        cfg = self.config
        rsi = state.rsi
        maturity, score, confidence = self.judge(rsi, state.changes)
        label = f"RSI({cfg.period}) {rsi:.2f}"
        if rsi < cfg.oversold:
            rationale = (
                f"{label} is {cfg.oversold - rsi:.2f} below the oversold threshold "
                f"{cfg.oversold:g}: expect a rebound, buy"
            )
        elif rsi > cfg.overbought:
            rationale = (
                f"{label} is {rsi - cfg.overbought:.2f} above the overbought threshold "
                f"{cfg.overbought:g}: expect a pullback, sell"
            )
        else:
            rationale = (
                f"{label} is inside the neutral band [{cfg.oversold:g}, {cfg.overbought:g}]: "
                "no mean-reversion edge"
            )
        # Built without re-validation: score and confidence are in range by construction,
        # and this runs on every bar of a backtest driven through evaluate.
        return Signal.model_construct(
            agent=self.name,
            symbol=symbol,
            ts=ts,
            score=score,
            confidence=confidence,
            rationale=f"{rationale} (smoothing {maturity:.0%} mature)",
            features={
                "rsi": rsi,
                "avg_gain": state.avg_gain,
                "avg_loss": state.avg_loss,
                "close": state.close if state.close is not None else 0.0,
                "maturity": maturity,
            },
            model_version=None,
        )


class _Kept:
    """What a signal of the last precomputed block is made of, per bar: the close, Wilder's
    averages and the change count (the RSI and maturity follow from them)."""

    __slots__ = ("avg_gain", "avg_loss", "changes", "close", "ts_ms")

    def __init__(
        self,
        ts_ms: array[int],
        close: array[float],
        avg_gain: array[float],
        avg_loss: array[float],
        changes: array[int],
    ) -> None:
        self.ts_ms = ts_ms
        self.close = close
        self.avg_gain = avg_gain
        self.avg_loss = avg_loss
        self.changes = changes

    def state_at(self, ts: datetime, blank: RsiState) -> RsiState | None:
        """The state after the bar opened at ``ts`` (as far as a signal reads it); None if
        that bar is not in this block."""
        i = index_of(self.ts_ms, ts)
        if i is None:
            return None
        blank.close = self.close[i]
        blank.avg_gain = self.avg_gain[i]
        blank.avg_loss = self.avg_loss[i]
        blank.changes = self.changes[i]
        return blank
