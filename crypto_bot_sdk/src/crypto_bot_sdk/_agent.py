"""The Agent contract: market state in, a :class:`Signal` for one symbol out.

Besides the required :meth:`Agent.evaluate`, an agent may offer two optional
capabilities (API 1.1.0), each declared in its manifest's ``capabilities``:

``precompute``
    score a whole block of one symbol's bars at once (:meth:`Agent.precompute`).
    A backtest then computes indicators once over the series instead of once
    per bar, and a live engine feeds one-bar blocks through the same code; the
    engine builds a full :class:`Signal` only where a decision needs one
    (:meth:`Agent.signal_from_score`).
``explain``
    per-feature contributions of one decision (:meth:`Agent.explain`), for the
    audit trail and the explanation reports.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from crypto_bot_sdk._blocks import BarBlock, ScoreBlock
from crypto_bot_sdk._component import Component, ConfigT, NotSupportedError, PluginKind
from crypto_bot_sdk._decisions import Signal
from crypto_bot_sdk._market_view import MarketView


class Agent(Component[ConfigT]):
    """Turns market state into a :class:`Signal` for one symbol."""

    kind = PluginKind.AGENT

    warmup_bars: ClassVar[int] = 0
    """Bars of history the agent needs before its signals mean anything."""

    @abstractmethod
    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        """Required: a signal for ``symbol`` at ``market.now``, or ``None`` for no opinion.

        Raise :class:`AgentUnavailableError` when a service the agent needs is
        slow or down; the engine then trades on the other agents.
        """

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock | None:
        """Optional (capability ``precompute``): the score and confidence at every bar of ``block``.

        The engine calls it with *consecutive* blocks of ``symbol``'s bars: one
        bar long in live trading, tens of thousands in a backtest. The agent
        carries its indicator state (EMAs, windows) from one block to the next,
        per symbol, so splitting a series into blocks anywhere gives the same
        scores as one block. Entry ``i`` of the result is exactly what
        :meth:`evaluate` would return on a market view whose last bar is bar
        ``i`` (NaN score where it would return ``None``). The conformance kit
        checks this over several block sizes.

        The engine offers the blocks of a symbol's venues in the order their bars
        arrived and keeps the first venue the agent answers for; return ``None`` for
        a block of a venue the agent does not read (one pinned to another venue).
        """
        raise NotSupportedError(f"agent {self.name!r} does not precompute scores")

    def signal_from_score(
        self, symbol: str, ts: datetime, score: float, confidence: float
    ) -> Signal:
        """Optional: the full signal behind one precomputed score, built only when a decision
        uses it.

        The default gives a signal with the score, the confidence and a plain
        rationale; override it to add the features and rationale that
        :meth:`evaluate` would give.
        """
        return Signal(
            agent=self.name,
            symbol=symbol,
            ts=ts,
            score=score,
            confidence=confidence,
            rationale=f"{self.name}: precomputed score",
        )

    def explain(self, symbol: str, market: MarketView, signal: Signal) -> Mapping[str, float]:
        """Optional (capability ``explain``): how much each feature contributed to ``signal``.

        ``signal`` is one this agent gave for ``symbol`` on ``market``; the
        result maps feature names to finite contributions in score units
        (SHAP-style: they sum to the score minus the agent's baseline).
        """
        raise NotSupportedError(f"agent {self.name!r} offers no explanations")
