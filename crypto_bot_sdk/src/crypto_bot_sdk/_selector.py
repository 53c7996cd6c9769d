"""The PolicySelector contract (kind ``selector``, API 1.1.0): which policy trades a symbol now.

The engine asks the selector every decision tick, for every symbol, so
:meth:`PolicySelector.select` is synchronous and must be cheap (the target
is tens of microseconds): a learned selector (a contextual bandit, a
meta-learner) keeps its model in memory and does its learning in
:meth:`PolicySelector.reward`, which the engine calls when the outcome of an
earlier choice is known. The registry's fixed per-symbol mapping is the
rule-based selector every deployment falls back on.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from crypto_bot_sdk._component import Component, ConfigT, PluginKind
from crypto_bot_sdk._market_view import MarketView


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """A selector's answer: the policy to trade with, and how sure the selector is of it.

    ``confidence`` (0 to 1) is evidence for the ledger and for blending, not a
    size: sizing and risk rules stay in charge of how much is traded.
    """

    policy: str
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.policy, str) or not self.policy.strip():
            raise ValueError(f"PolicyChoice.policy must name a policy, got {self.policy!r}")
        confidence = self.confidence
        if (
            isinstance(confidence, bool)
            or not isinstance(confidence, int | float)
            or not (0.0 <= confidence <= 1.0)  # False for NaN as well
            or not math.isfinite(confidence)
        ):
            raise ValueError(
                f"PolicyChoice.confidence must be a finite number in [0, 1], got {confidence!r} "
                f"(policy {self.policy!r})"
            )


class PolicySelector(Component[ConfigT]):
    """Picks, per symbol and venue, which of the registry's policies trades now."""

    kind = PluginKind.SELECTOR

    @abstractmethod
    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        """Required: one of ``policies`` (the registry's, never empty) for ``symbol`` now.

        ``venue`` is ``None`` when the decision is not tied to one venue (the
        router picks it later). Synchronous and cheap: it runs every decision
        tick. A choice outside ``policies`` is refused by the engine, which
        then uses the fallback selector.
        """

    def reward(
        self, symbol: str, venue: str | None, policy: str, reward: float, ts: datetime
    ) -> None:
        """Optional: the realised reward of an earlier choice of ``policy`` (a finite number,
        higher is better, e.g. the P&L of the position it opened in portfolio currency per
        unit of risk), known at ``ts``. The default ignores it: a fixed selector learns nothing.
        """
        return None
