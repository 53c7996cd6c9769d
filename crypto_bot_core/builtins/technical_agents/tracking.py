"""Incremental indicator state per symbol, kept in step with whatever market view is passed in.

An agent evaluated on every bar must not recompute its indicators over the
whole history each time (a million bars would take hours). It keeps one
state per symbol, remembers the last bar it folded in (open time and close)
and, on the next call, folds in only the bars after it. When the view's
history does not continue that state - another backtest, a view that was
reset, a gap longer than the view keeps - it starts again from the history
the view has. Folding bar by bar from the first bar gives bit-identical
results either way, which the tests check.

The ``precompute`` capability (SDK API 1.1) folds the same states over blocks
of a symbol's bars instead; :class:`Runs` keeps what every agent needs for it
in one place: one run per symbol carried from block to block, the venue the
run reads, and what each agent kept of the last block for ``signal_from_score``.
"""

from __future__ import annotations

from abc import abstractmethod
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from crypto_bot_core.builtins.technical_agents.config import TechnicalAgentConfig
from crypto_bot_sdk import Agent, Bar, BarBlock, MarketView

S = TypeVar("S")
C = TypeVar("C", bound=TechnicalAgentConfig)
R = TypeVar("R")
K = TypeVar("K")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


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


@dataclass(slots=True)
class Run(Generic[R, K]):
    """One symbol's precompute run: the state carried from block to block and what the agent
    kept of the last block (its bars' indicator values, for ``signal_from_score``)."""

    state: R
    venue: str
    last_ms: int
    """Open time (epoch ms) of the last bar folded in: the next block must start after it."""
    kept: K | None = field(default=None)


class Runs(Generic[R, K]):
    """The precompute runs of one agent, per symbol.

    The engine offers the blocks of a symbol's venues and keeps the first venue the
    agent answers for; a run therefore reads one venue: the configured one, or (with
    ``venue`` left out) the venue of the first block it saw, as ``market.bars(symbol)``
    reads the first venue with bars. A block that does not follow the run's last bar
    (another backtest through the same instance) starts a fresh run, as
    :meth:`IncrementalAgent.state_for` restarts on a view that does not continue its state.
    """

    __slots__ = ("_new_state", "_pinned", "_runs")

    def __init__(self, pinned: str | None, new_state: Callable[[], R]) -> None:
        self._pinned = pinned
        self._new_state = new_state
        self._runs: dict[str, Run[R, K]] = {}

    def begin(self, symbol: str, block: BarBlock) -> Run[R, K] | None:
        """The run ``block`` continues (advanced to its last bar); None for a venue not read.

        The caller folds the block into ``run.state`` and sets ``run.kept``.
        """
        venue = block.venue
        if self._pinned is not None and venue != self._pinned:
            return None
        run = self._runs.get(symbol)
        if run is not None and run.venue != venue:
            return None  # another venue of a symbol this agent already reads elsewhere
        if not len(block.ts_ms):  # nothing to fold: a throwaway, the last block stays kept
            return Run(self._new_state(), venue, -1)
        if run is None or block.ts_ms[0] <= run.last_ms:
            run = self._runs[symbol] = Run(self._new_state(), venue, -1)
        run.last_ms = block.ts_ms[-1]
        return run

    def kept(self, symbol: str) -> K | None:
        """What the agent kept of the last block of ``symbol`` (None before any)."""
        run = self._runs.get(symbol)
        return run.kept if run is not None else None


def index_of(ts_ms: array[int], ts: datetime) -> int | None:
    """Index of the bar opened at ``ts`` in a block's ``ts_ms`` column; None if not there."""
    wanted = (ts - _EPOCH) // _MS
    i = bisect_left(ts_ms, wanted)
    if i >= len(ts_ms) or ts_ms[i] != wanted:
        return None
    return i
