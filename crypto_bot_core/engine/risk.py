"""The risk-rule pipeline: every intent passes every rule, in order, before it is routed.

A resize hands the smaller intent to the next rule; a reject stops the
pipeline. Every verdict is kept, so the decision record in the ledger shows
which rule changed what and why. A verdict whose figures say
``kill_switch=trip`` (the drawdown rule's way of saying "stop everything")
trips the engine's kill switch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto_bot_sdk import (
    OrderIntent,
    PluginContractError,
    RiskContext,
    RiskRule,
    RiskVerdict,
    VerdictAction,
)

KILL_SWITCH_FIGURE = "kill_switch"


@dataclass(frozen=True)
class PipelineResult:
    intent: OrderIntent | None
    verdicts: tuple[RiskVerdict, ...]
    trip_kill_switch: bool = False

    @property
    def rejected_by(self) -> RiskVerdict | None:
        for verdict in self.verdicts:
            if verdict.action is VerdictAction.REJECT:
                return verdict
        return None


Fence = Callable[[str, Callable[[], RiskVerdict]], RiskVerdict]


def _unfenced(_name: str, call: Callable[[], RiskVerdict]) -> RiskVerdict:
    return call()


@dataclass
class RiskPipeline:
    """Ordered rules, called through the host's fence so a faulty rule names itself."""

    rules: Sequence[tuple[str, RiskRule[Any]]] = ()
    fence: Fence = field(default=_unfenced)

    def evaluate(self, intent: OrderIntent, context: RiskContext) -> PipelineResult:
        verdicts: list[RiskVerdict] = []
        current = intent
        trip = False
        for instance, rule in self.rules:
            candidate = current
            verdict = self.fence(instance, lambda r=rule, i=candidate: r.check(i, context))  # type: ignore[misc]
            if not isinstance(verdict, RiskVerdict):
                raise PluginContractError(
                    f"risk rule {instance!r} returned {type(verdict).__name__}, not RiskVerdict",
                    plugin=instance,
                )
            verdicts.append(verdict)
            if verdict.figures.get(KILL_SWITCH_FIGURE) == "trip":
                trip = True
            if verdict.action is VerdictAction.REJECT:
                return PipelineResult(None, tuple(verdicts), trip)
            if verdict.action is VerdictAction.RESIZE:
                assert verdict.quantity is not None  # guaranteed by RiskVerdict's validator
                if verdict.quantity >= current.quantity:
                    raise PluginContractError(
                        f"risk rule {instance!r} resized {current.quantity} to "
                        f"{verdict.quantity}; a resize must make the order smaller",
                        plugin=instance,
                    )
                current = current.resized(verdict.quantity)
        return PipelineResult(current, tuple(verdicts), trip)
