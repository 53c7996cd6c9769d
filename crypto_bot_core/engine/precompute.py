"""Agents' precomputed scores, consumed bar by bar by the one loop.

An agent that declares the ``precompute`` capability computes its scores over
consecutive blocks of one market's bars at once (as backtesting.py computes
indicators in ``init()``), carrying its indicator state from block to block.
The kernel reads ahead a block of events in a backtest (one timestamp at a
time in paper and live runs, where the future has not happened yet), hands
each precomputing agent the block's bars per market, and then walks the block
tick by tick; at each tick a decision reads the agent's score for the bar just
taken instead of asking for a :class:`Signal`. A full signal is built only
where a decision needs one (a target that changed), through the agent's
``signal_from_score``.

Scores depend only on bars up to their own (the capability's contract, which
the conformance kit checks against ``evaluate``), so reading ahead changes
nothing the agent sees. An agent whose precompute fails, or whose answer is
not one finite-or-NaN score per bar, is put back on ``evaluate`` for the
rest of the run and the failure recorded.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import Agent, Bar, BarBlock, CryptoBotError, ScoreBlock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class Track:
    """One agent's scores for one market (venue, symbol) over the current block."""

    agent: str
    symbol: str
    venue: str
    scores: Sequence[float] = ()
    confidences: Sequence[float] = ()
    position: int = 0
    """Bars of this market taken in the current block: the score of the last one is at
    ``position - 1``."""

    def current(self) -> tuple[float, float] | None:
        """(score, confidence) at the last bar taken; None before the first or for no opinion."""
        index = self.position - 1
        if index < 0 or index >= len(self.scores):
            return None
        score = self.scores[index]
        if math.isnan(score):  # no opinion on this bar
            return None
        return score, self.confidences[index]


def offers_precompute(agent: Agent[Any]) -> bool:
    """Whether the agent overrides the optional ``precompute`` method itself."""
    return getattr(type(agent), "precompute", None) is not getattr(Agent, "precompute", None)


@dataclass
class Precomputed:
    """The precomputing agents' tracks, fed a block at a time and advanced bar by bar."""

    agents: Mapping[str, Agent[Any]]
    fences: Mapping[str, Fence] = field(default_factory=dict)
    on_failure: Callable[[str, str], None] | None = None
    """Called with (agent, reason) when an agent is put back on ``evaluate``."""
    on_latency: Callable[[str, float], None] | None = None
    """Called with (agent, seconds) after each precompute call: the agent's latency metric."""
    _by_market: dict[tuple[str, str], list[Track]] = field(default_factory=dict, init=False)
    _by_agent: dict[tuple[str, str], Track] = field(default_factory=dict, init=False)
    _disabled: set[str] = field(default_factory=set, init=False)
    _names: list[str] = field(default_factory=list, init=False)
    plans: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    """The decisions' per (symbol, policy) quiet-bar gates; dropped whenever tracks change."""

    def __post_init__(self) -> None:
        self._names = sorted(n for n, a in self.agents.items() if offers_precompute(a))

    @property
    def active(self) -> bool:
        return bool(self._names)

    def feed(self, bars: Iterable[Bar]) -> None:
        """Precompute every active agent's scores over the next block of ``bars``."""
        markets: dict[tuple[str, str], list[Bar]] = {}
        for bar in bars:
            key = (bar.venue, bar.symbol)
            found = markets.get(key)
            if found is None:
                markets[key] = [bar]
            else:
                found.append(bar)
        columns = {key: _Columns(market) for key, market in markets.items()}
        for tracks in self._by_market.values():
            for track in tracks:
                track.position = 0
                track.scores = ()
                track.confidences = ()
        for name in list(self._names):
            self._feed_agent(name, columns)

    def _feed_agent(self, name: str, columns: dict[tuple[str, str], _Columns]) -> None:
        """One agent's scores over the block's markets; a failure puts it back on evaluate."""
        agent = self.agents[name]
        fence = self.fences.get(name) or Fence(name)
        for (venue, symbol), col in columns.items():
            chosen = self._by_agent.get((name, symbol))
            if chosen is not None and chosen.venue != venue:
                continue  # the agent reads another venue of this symbol
            block = col.block(venue, symbol)
            started = time.perf_counter()
            try:
                result = fence.call(agent.precompute, symbol, block)
            except CryptoBotError as exc:  # a crash (named by the fence) or NotSupported
                self._disable(name, f"precompute failed: {exc}")
                return
            if self.on_latency is not None:
                self.on_latency(name, time.perf_counter() - started)
            if result is None:
                continue  # not a market this agent reads
            problem = _check(result, len(block.close))
            if problem:
                self._disable(name, problem)
                return
            if chosen is None:
                chosen = Track(agent=name, symbol=symbol, venue=venue)
                self._by_agent[(name, symbol)] = chosen
                self._by_market.setdefault((venue, symbol), []).append(chosen)
                self.plans.clear()
            chosen.scores = result.scores
            chosen.confidences = result.confidences

    def _disable(self, name: str, reason: str) -> None:
        self._names.remove(name)
        self.plans.clear()
        self._disabled.add(name)
        for key in [k for k in self._by_agent if k[0] == name]:
            track = self._by_agent.pop(key)
            self._by_market[(track.venue, track.symbol)].remove(track)
        if self.on_failure is not None:
            self.on_failure(name, reason)

    def tracks_of(self, venue: str, symbol: str) -> list[Track] | None:
        """The tracks a bar of (venue, symbol) advances (None when no agent reads it)."""
        return self._by_market.get((venue, symbol))

    def track(self, agent: str, symbol: str) -> Track | None:
        """The agent's track for ``symbol``, if it precomputes it (else: ask ``evaluate``)."""
        return self._by_agent.get((agent, symbol))


def _check(result: object, bars: int) -> str:
    """Why a precompute answer cannot be used ('' if it can): checked once per block."""
    if not isinstance(result, ScoreBlock):
        return f"precompute returned {type(result).__name__}, not a ScoreBlock"
    if len(result.scores) != bars or len(result.confidences) != bars:
        return (
            f"precompute returned {len(result.scores)} scores and "
            f"{len(result.confidences)} confidences for {bars} bars"
        )
    for score, confidence in zip(result.scores, result.confidences, strict=True):
        if math.isnan(score):
            continue
        if not (-1.0 <= score <= 1.0) or not (0.0 <= confidence <= 1.0):
            return f"precompute returned score {score!r} with confidence {confidence!r}"
    return ""


class _Columns:
    """One market's bars of a block, as the float columns a ``BarBlock`` carries (built only
    for the agents that ask: a list comprehension per column, not a call per bar)."""

    __slots__ = ("bars", "built")

    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.built: BarBlock | None = None

    def block(self, venue: str, symbol: str) -> BarBlock:
        if self.built is None:
            bars = self.bars
            self.built = _trusted_block(
                venue=venue,
                symbol=symbol,
                ts_ms=array("q", [(b.ts - _EPOCH) // _MS for b in bars]),
                open_=array("d", [float(b.open) for b in bars]),
                high=array("d", [float(b.high) for b in bars]),
                low=array("d", [float(b.low) for b in bars]),
                close=array("d", [float(b.close) for b in bars]),
                volume=array("d", [float(b.volume) for b in bars]),
            )
        return self.built


_new_block = object.__new__
_set = object.__setattr__


def _trusted_block(
    *,
    venue: str,
    symbol: str,
    ts_ms: array[int],
    open_: array[float],
    high: array[float],
    low: array[float],
    close: array[float],
    volume: array[float],
) -> BarBlock:
    """A ``BarBlock`` of columns the engine built itself (right types, one length), without
    the checks its constructor makes of a plugin's: a block a tick, in a step-driven run."""
    block: BarBlock = _new_block(BarBlock)
    _set(block, "symbol", symbol)
    _set(block, "venue", venue)
    _set(block, "ts_ms", ts_ms)
    _set(block, "open", open_)
    _set(block, "high", high)
    _set(block, "low", low)
    _set(block, "close", close)
    _set(block, "volume", volume)
    return block
