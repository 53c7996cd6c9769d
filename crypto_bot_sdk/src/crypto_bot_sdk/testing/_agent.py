"""Conformance checks of the Agent contract: bounded, well-formed, reproducible signals
that leave the market view alone."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._contracts import Agent, Component
from crypto_bot_sdk._decisions import Signal
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk.testing._agent_capabilities import AgentCapabilityChecks
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    changed_keys,
    first_symbol,
    is_finite_number,
    market_fingerprint,
    missing_market_view,
    run_async,
    started,
)


def _require_signal(result: object, agent: Agent[Any], symbol: str, market: MarketView) -> Signal:
    if result is None:
        pytest.fail(
            f"{type(agent).__qualname__}.evaluate({symbol!r}) returned None, so no signal can be "
            f"checked; give 'market_view' enough history (warmup_bars={agent.warmup_bars}, the "
            f"view has {len(market.bars(symbol))} bars of {symbol})",
            pytrace=False,
        )
    assert isinstance(result, Signal), (
        f"evaluate returned a {type(result).__qualname__}, not a crypto_bot_sdk.Signal or None"
    )
    return result


class AgentConformance(AgentCapabilityChecks, ContractConformance):
    """Checks of an :class:`~crypto_bot_sdk.Agent`.

    Override ``manifest``, ``component_factory`` and ``market_view`` (a view
    with at least the agent's ``warmup_bars`` of history, on which it gives a
    signal); ``symbol`` defaults to the view's first instrument.

    The same instance evaluated twice on the same view must give the same
    signal, always: backtests and the audit trail depend on it. Agents that
    also give the same signal from a fresh instance (seeded, no wall clock, no
    remote service) declare the capability ``deterministic`` and are checked
    for that too.

    Agents declaring ``precompute`` are checked to score blocks of the view's
    bars, split several ways, exactly as ``evaluate`` scores them bar by bar;
    agents declaring ``explain`` to give finite contributions.
    """

    contract: ClassVar[type[Component[Any]]] = Agent

    @pytest.fixture
    def market_view(self) -> MarketView:
        """Override: a MarketView with enough history for the agent to give a signal."""
        missing_market_view(type(self).__name__)

    @pytest.fixture
    def symbol(self, market_view: MarketView) -> str:
        """Override: the symbol to evaluate; defaults to the view's first instrument."""
        return first_symbol(type(self).__name__, market_view)

    def _evaluate(
        self, factory: ComponentFactory, symbol: str, market: MarketView, times: int = 1
    ) -> list[Signal]:
        async def scenario() -> list[Signal]:
            async with started(factory, (Agent,)) as agent:
                return [
                    _require_signal(await agent.evaluate(symbol, market), agent, symbol, market)
                    for _ in range(times)
                ]

        return run_async(scenario)

    def test_signal_is_well_formed(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        (signal,) = self._evaluate(component_factory, symbol, market_view)
        assert signal.symbol == symbol, f"asked for {symbol!r}, got a signal for {signal.symbol!r}"
        assert signal.agent.strip(), "signal.agent is empty; name the agent that produced it"
        assert signal.ts <= market_view.now, (
            f"signal.ts {signal.ts.isoformat()} is after the view's now "
            f"{market_view.now.isoformat()}: an agent must not sign signals from the future"
        )
        Signal.model_validate(signal.model_dump())

    def test_score_and_confidence_bounded(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        (signal,) = self._evaluate(component_factory, symbol, market_view)
        score, confidence = signal.score, signal.confidence
        assert is_finite_number(score), f"score {score!r} is not a finite number"
        assert -1.0 <= score <= 1.0, f"score {score!r} is outside [-1, 1]"
        assert is_finite_number(confidence), f"confidence {confidence!r} is not a finite number"
        assert 0.0 <= confidence <= 1.0, f"confidence {confidence!r} is outside [0, 1]"
        bad = {key: value for key, value in signal.features.items() if not is_finite_number(value)}
        assert not bad, f"features must be finite numbers; got {bad}"

    def test_same_input_same_signal(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        first, second = self._evaluate(component_factory, symbol, market_view, times=2)
        assert first == second, (
            "evaluating the same view twice gave different signals: "
            f"score {first.score} then {second.score}, confidence {first.confidence} then "
            f"{second.confidence}; an agent's signal must depend only on its input"
        )

    @pytest.mark.requires_capability("deterministic")
    def test_fresh_instances_agree(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        (first,) = self._evaluate(component_factory, symbol, market_view)
        (second,) = self._evaluate(component_factory, symbol, market_view)
        assert first == second, (
            f"two fresh instances disagree on the same view (score {first.score} vs "
            f"{second.score}); the manifest declares 'deterministic'"
        )

    def test_market_view_not_mutated(
        self, component_factory: ComponentFactory, symbol: str, market_view: MarketView
    ) -> None:
        before = market_fingerprint(market_view, [symbol])
        self._evaluate(component_factory, symbol, market_view)
        changed = changed_keys(before, market_fingerprint(market_view, [symbol]))
        assert not changed, f"evaluate changed the market view it was lent: {changed}"
