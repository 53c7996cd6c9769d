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

from typing import ClassVar

from crypto_bot_core.builtins.technical_agents.config import RsiMeanReversionConfig
from crypto_bot_core.builtins.technical_agents.indicators import RsiState
from crypto_bot_core.builtins.technical_agents.tracking import IncrementalAgent
from crypto_bot_sdk import Bar, MarketView, Signal


class RsiMeanReversionAgent(IncrementalAgent[RsiMeanReversionConfig, RsiState]):
    """Mean reversion on Wilder's RSI; see the module doc for the formulas."""

    name = "rsi_mean_reversion"
    config_model = RsiMeanReversionConfig
    warmup_bars: ClassVar[int] = 15  # period + 1 closes with the default period of 14

    def new_state(self) -> RsiState:
        return RsiState(self.config.period)

    def fold(self, state: RsiState, bar: Bar) -> None:
        state.update(float(bar.close))

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        state = self.state_for(symbol, market)
        if state is None or not state.ready:
            return None
        cfg = self.config
        rsi = state.rsi
        maturity = min(1.0, state.changes / (3.0 * cfg.period))
        label = f"RSI({cfg.period}) {rsi:.2f}"
        if rsi < cfg.oversold:
            score = (cfg.oversold - rsi) / cfg.oversold
            confidence = maturity * (0.5 + 0.5 * score)
            rationale = (
                f"{label} is {cfg.oversold - rsi:.2f} below the oversold threshold "
                f"{cfg.oversold:g}: expect a rebound, buy"
            )
        elif rsi > cfg.overbought:
            score = -(rsi - cfg.overbought) / (100.0 - cfg.overbought)
            confidence = maturity * (0.5 - 0.5 * score)
            rationale = (
                f"{label} is {rsi - cfg.overbought:.2f} above the overbought threshold "
                f"{cfg.overbought:g}: expect a pullback, sell"
            )
        else:
            mid = (cfg.oversold + cfg.overbought) / 2.0
            half_width = (cfg.overbought - cfg.oversold) / 2.0
            score = 0.0
            confidence = maturity * 0.5 * (1.0 - abs(rsi - mid) / half_width)
            rationale = (
                f"{label} is inside the neutral band [{cfg.oversold:g}, {cfg.overbought:g}]: "
                "no mean-reversion edge"
            )
        return Signal.model_construct(
            agent=self.name,
            symbol=symbol,
            ts=market.now,
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
