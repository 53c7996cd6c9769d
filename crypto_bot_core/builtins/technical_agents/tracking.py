"""Incremental indicator state per symbol, kept in step with whatever market view is passed in.

An agent evaluated on every bar must not recompute its indicators over the
whole history each time (a million bars would take hours). It keeps one
state per symbol, remembers the last bar it folded in (open time and close)
and, on the next call, folds in only the bars after it. When the view's
history does not continue that state - another backtest, a view that was
reset, a gap longer than the view keeps - it starts again from the history
the view has. Folding bar by bar from the first bar gives bit-identical
results either way, which the tests check.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from crypto_bot_core.builtins.technical_agents.config import TechnicalAgentConfig
from crypto_bot_sdk import Agent, Bar, MarketView

S = TypeVar("S")
C = TypeVar("C", bound=TechnicalAgentConfig)


@dataclass(slots=True)
class Tracked(Generic[S]):
    state: S
    last_ts: datetime
    last_close: Decimal


def _resume_at(history: Sequence[Bar], tracked: Tracked[Any]) -> int | None:
    """Index of the first bar after the tracked one, or None when history doesn't continue it."""
    for index in range(len(history) - 1, -1, -1):
        bar = history[index]
        if bar.ts == tracked.last_ts:
            return index + 1 if bar.close == tracked.last_close else None
        if bar.ts < tracked.last_ts:
            return None
    return None


class IncrementalAgent(Agent[C], Generic[C, S]):
    """An agent whose indicators are a fold over the symbol's closed bars, oldest first."""

    def __init__(self, config: C) -> None:
        super().__init__(config)
        self._tracked: dict[str, Tracked[S]] = {}

    @abstractmethod
    def new_state(self) -> S:
        """The indicator state before any bar."""

    @abstractmethod
    def fold(self, state: S, bar: Bar) -> None:
        """Update ``state`` in place with the next closed bar."""

    def state_for(self, symbol: str, market: MarketView) -> S | None:
        """The indicator state after the view's latest bar of ``symbol``; None without bars."""
        venue = self.config.venue
        recent = market.bars(symbol, venue, 2)
        if not recent:
            return None
        last = recent[-1]
        tracked = self._tracked.get(symbol)
        if tracked is not None:
            if last.ts == tracked.last_ts and last.close == tracked.last_close:
                return tracked.state
            before = recent[0]
            if (
                len(recent) == 2
                and before.ts == tracked.last_ts
                and before.close == tracked.last_close
            ):
                self.fold(tracked.state, last)  # the common case: exactly one new bar
                tracked.last_ts, tracked.last_close = last.ts, last.close
                return tracked.state
        history = market.bars(symbol, venue)
        resume = None if tracked is None else _resume_at(history, tracked)
        if tracked is None or resume is None:
            tracked = Tracked(self.new_state(), last.ts, last.close)
            self._tracked[symbol] = tracked
            resume = 0
        for bar in history[resume:]:
            self.fold(tracked.state, bar)
        tracked.last_ts, tracked.last_close = last.ts, last.close
        return tracked.state

    def forget(self, symbol: str | None = None) -> None:
        """Drop the state of ``symbol`` (or all): the next evaluation rebuilds it from history."""
        if symbol is None:
            self._tracked.clear()
        else:
            self._tracked.pop(symbol, None)
