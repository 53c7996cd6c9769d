"""Whole-series signals of the EMA crossover, for the engine's backtest fast path.

The engine asks an agent for its signal on every bar of a backtest at once
(``signal_series``; the protocol is ``crypto_bot_core.engine.columnar.SeriesAgent``).
Scores and confidences come from one tight loop over the closes; the full
:class:`Signal` (rationale, features) is built only for the bars the engine
asks about, from an :class:`EmaCrossState` folded forward to that bar, by the
very method ``evaluate`` uses. Both are bit-identical to ``evaluate`` on the
same bars; the tests compare every bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_bot_core.builtins.technical_agents.indicators import EmaCrossState
from crypto_bot_sdk import Signal

if TYPE_CHECKING:
    from crypto_bot_core.builtins.technical_agents.ema_crossover import EmaCrossoverAgent

Z_LIMIT = 1e6  # a flat market has zero volatility; keep z finite


def ema_scores(
    closes: Sequence[float],
    *,
    fast_alpha: float,
    slow_alpha: float,
    required: int,
    scale: float,
) -> tuple[list[float], list[float]]:
    """Score and confidence after each close; NaN before ``required`` bars.

    The same floating-point operations, in the same order, as
    :meth:`EmaCrossState.update` followed by ``EmaCrossoverAgent._measure``, with
    locals instead of attributes (about three times faster in CPython). The
    conditional expressions keep ``min``/``max``'s tie and NaN behaviour.
    """
    scores: list[float] = []
    confidences: list[float] = []
    score_out = scores.append
    confidence_out = confidences.append
    log, sqrt, tanh, copysign, nan = math.log, math.sqrt, math.tanh, math.copysign, math.nan
    limit, low = Z_LIMIT, -Z_LIMIT
    fast = slow = variance = previous = 0.0
    for count, close in enumerate(closes, start=1):
        if count == 1:
            fast = slow = close
        else:
            ret = log(close / previous)
            variance = ret * ret if count == 2 else variance + slow_alpha * (ret * ret - variance)
            fast = fast + fast_alpha * (close - fast)
            slow = slow + slow_alpha * (close - slow)
        previous = close
        if count < required:
            score_out(nan)
            confidence_out(nan)
            continue
        spread = (fast - slow) / slow
        volatility = sqrt(variance)
        if volatility > 0.0:
            ratio = spread / volatility
            capped = ratio if ratio < limit else limit
            z = capped if capped > low else low
        else:
            z = 0.0 if spread == 0.0 else copysign(limit, spread)
        score_out(tanh(z / scale))
        share = abs(z) / scale
        confidence_out(share if share < 1.0 else 1.0)
    return scores, confidences


def advance(state: EmaCrossState, closes: Sequence[float], start: int, stop: int) -> None:
    """``state.update(close)`` for ``closes[start:stop]``, with locals instead of attributes.

    Every operation of :meth:`EmaCrossState.update`, in the same order, crossing
    bookkeeping included; the tests compare the states field by field.
    """
    fast_alpha, slow_alpha, log = state.fast_alpha, state.slow_alpha, math.log
    bars, previous, fast, slow = state.bars, state.close, state.fast, state.slow
    variance, last_side = state.variance, state.side
    crossed, since = state.crossed, state.bars_since_cross
    for index in range(start, stop):
        close = closes[index]
        if bars == 0:
            fast = slow = close
        else:
            ret = log(close / previous)
            variance = ret * ret if bars == 1 else variance + slow_alpha * (ret * ret - variance)
            fast = fast + fast_alpha * (close - fast)
            slow = slow + slow_alpha * (close - slow)
        previous = close
        bars += 1
        side = (fast > slow) - (fast < slow)
        crossed = 0
        if side != 0 and last_side not in (0, side):
            crossed = side
            since = 0
        elif since >= 0:
            since += 1
        if side != 0:
            last_side = side
    state.bars, state.close, state.fast, state.slow = bars, previous, fast, slow
    state.variance, state.side = variance, last_side
    state.crossed, state.bars_since_cross = crossed, since


class EmaSignalSeries:
    """The EMA crossover's signals over one series of closes (see the module doc)."""

    def __init__(self, agent: EmaCrossoverAgent, symbol: str, closes: list[float]) -> None:
        cfg = agent.config
        self._agent = agent
        self._symbol = symbol
        self._closes = closes
        self._required = cfg.required_bars
        state = agent.new_state()
        self.scores, self.confidences = ema_scores(
            closes,
            fast_alpha=state.fast_alpha,
            slow_alpha=state.slow_alpha,
            required=self._required,
            scale=cfg.score_scale,
        )
        self._state = state
        self._folded = 0

    def _state_at(self, index: int) -> EmaCrossState:
        """The indicator state after close ``index``: folded forward from the last one asked."""
        if index + 1 < self._folded:
            self._state = self._agent.new_state()
            self._folded = 0
        if self._folded <= index:
            advance(self._state, self._closes, self._folded, index + 1)
            self._folded = index + 1
        return self._state

    def signal(self, index: int, ts: datetime) -> Signal | None:
        """What ``evaluate`` returns on bar ``index`` of the series, at time ``ts``."""
        if not 0 <= index < len(self._closes):
            raise IndexError(f"bar {index} is outside the series of {len(self._closes)} closes")
        state = self._state_at(index)
        if state.bars < self._required:
            return None
        return self._agent.signal_of(self._symbol, state, ts)
