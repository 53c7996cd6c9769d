"""Whole-series signals of the EMA crossover, for the engine's backtest fast path.

The engine asks an agent for its signal on every bar of a backtest at once
(``signal_series``; the protocol is ``crypto_bot_core.engine.columnar.SeriesAgent``).
Scores and confidences come from one pass over the closes; the full
:class:`Signal` (rationale, features) is built only for the bars the engine
asks about, from an :class:`EmaCrossState` folded forward to that bar, by the
very method ``evaluate`` uses. Both are bit-identical to ``evaluate`` on the
same bars; the tests compare every bar.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from datetime import datetime
from operator import truediv
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
) -> tuple[array[float], array[float]]:
    """Score and confidence after each close; NaN before ``required`` bars.

    The same floating-point operations, in the same order, as
    :meth:`EmaCrossState.update` followed by ``EmaCrossoverAgent._measure``;
    only the sequential part (the two EMAs and the variance) runs as a Python
    loop. Log returns and ``tanh`` go through ``math`` (mapped in C), the rest
    is numpy on whole columns, whose ``+ - * /`` and ``sqrt`` are the same
    correctly rounded IEEE operations; comparisons replace ``min``/``max`` with
    their tie and NaN behaviour.
    """
    import numpy as np

    count = len(closes)
    nan = math.nan
    if count == 0:
        return array("d"), array("d")
    values = list(closes)
    returns = list(map(math.log, map(truediv, values[1:], values[:-1])))
    fast = slow = values[0]
    fasts, slows, variances = [fast], [slow], [0.0]
    if count > 1:  # the second close seeds the variance with its squared return
        variance = returns[0] * returns[0]
        fast = fast + fast_alpha * (values[1] - fast)
        slow = slow + slow_alpha * (values[1] - slow)
        fasts.append(fast)
        slows.append(slow)
        variances.append(variance)
    keep_fast, keep_slow, keep_variance = fasts.append, slows.append, variances.append
    for close, ret in zip(values[2:], returns[1:], strict=True):
        variance = variance + slow_alpha * (ret * ret - variance)
        fast = fast + fast_alpha * (close - fast)
        slow = slow + slow_alpha * (close - slow)
        keep_fast(fast)
        keep_slow(slow)
        keep_variance(variance)
    f, sl = np.asarray(fasts), np.asarray(slows)
    spread = (f - sl) / sl
    volatility = np.sqrt(np.asarray(variances))
    moving = volatility > 0.0
    ratio = spread / np.where(moving, volatility, 1.0)
    capped = np.where(ratio < Z_LIMIT, ratio, Z_LIMIT)
    clipped = np.where(capped > -Z_LIMIT, capped, -Z_LIMIT)
    flat = np.where(spread == 0.0, 0.0, np.copysign(Z_LIMIT, spread))
    z = np.where(moving, clipped, flat)
    scores = array("d", map(math.tanh, (z / scale).tolist()))
    share = np.abs(z) / scale
    confidences = array("d", np.where(share < 1.0, share, 1.0).tobytes())
    warming = min(count, max(0, required - 1))
    scores[:warming] = array("d", [nan]) * warming
    confidences[:warming] = array("d", [nan]) * warming
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
