"""Conformance checks of the PolicySelector contract: a cheap, synchronous choice that is
always one of the policies offered, and rewards that never break it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import pytest

from crypto_bot_sdk._component import Component
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk._selector import PolicyChoice, PolicySelector
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    market_fingerprint,
    missing_fixture,
    run_async,
    started,
)

T = TypeVar("T")

REWARDS = (1.0, -0.5, 0.25, 0.0, -2.0, 3.5)
"""Finite rewards of either sign fed to every policy in turn."""


def _choice(
    selector: PolicySelector[Any],
    symbol: str,
    venue: str | None,
    market: MarketView,
    policies: Sequence[str],
) -> PolicyChoice:
    result = selector.select(symbol, venue, market, tuple(policies))
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "never awaited" warning for the coroutine we refuse
        pytest.fail(
            "select returned an awaitable: it runs every decision tick and must be a plain "
            "(synchronous) method returning a PolicyChoice",
            pytrace=False,
        )
    assert isinstance(result, PolicyChoice), (
        f"select returned a {type(result).__qualname__}, not a crypto_bot_sdk.PolicyChoice"
    )
    assert result.policy in policies, (
        f"select chose {result.policy!r}, which is not among the policies offered "
        f"{list(policies)}; choose one of those passed in, never from an earlier call"
    )
    return result


def _feed_rewards(
    selector: PolicySelector[Any],
    symbol: str,
    venue: str | None,
    market: MarketView,
    policies: Sequence[str],
) -> None:
    ts = market.now
    for step, reward in enumerate(REWARDS):
        policy = policies[step % len(policies)]
        returned: object = getattr(selector, "reward")(  # noqa: B009 - checks an untyped result
            symbol, venue, policy, reward, ts + timedelta(minutes=step)
        )
        assert returned is None, f"reward returned {returned!r}; it returns nothing"


class PolicySelectorConformance(ContractConformance):
    """Checks of a :class:`~crypto_bot_sdk.PolicySelector` (kind ``selector``).

    Override ``manifest``, ``component_factory`` and ``market_view`` (a view
    the selector can read its context from); ``symbol`` defaults to the
    view's first instrument, ``venue`` to ``None`` (a decision not tied to a
    venue) and ``policies`` to three names; give your registry's names if the
    selector only knows those. Selectors declaring ``deterministic`` are also
    checked to choose alike from fresh instances fed the same rewards.
    """

    contract: ClassVar[type[Component[Any]]] = PolicySelector

    @pytest.fixture
    def market_view(self) -> MarketView:
        """Override: a MarketView with the history the selector reads its context from."""
        missing_fixture(
            type(self).__name__,
            "market_view",
            "e.g. crypto_bot_sdk.testing.market_view_from(bar_series('BTC/USDT', count=300))",
        )

    @pytest.fixture
    def symbol(self, market_view: MarketView) -> str:
        """Override: the symbol to choose a policy for; defaults to the view's first instrument."""
        instruments = market_view.instruments()
        if not instruments:
            missing_fixture(type(self).__name__, "symbol", "the view lists no instruments")
        return instruments[0].symbol

    @pytest.fixture
    def venue(self) -> str | None:
        """Override: the venue passed to ``select``; ``None`` (not tied to one) by default."""
        return None

    @pytest.fixture
    def policies(self) -> Sequence[str]:
        """Override: the policy names offered, as the policy registry lists them."""
        return ("trend", "mean_reversion", "flat")

    @staticmethod
    def _run(factory: ComponentFactory, scenario: Callable[[PolicySelector[Any]], T]) -> T:
        """``scenario`` on one fresh, started selector (select and reward are synchronous)."""

        async def main() -> T:
            async with started(factory, (PolicySelector,)) as selector:
                return scenario(selector)

        return run_async(main)

    def test_choice_is_one_of_the_policies(
        self,
        component_factory: ComponentFactory,
        symbol: str,
        venue: str | None,
        market_view: MarketView,
        policies: Sequence[str],
    ) -> None:
        # Every policy left out once: a selector must not fall back on an earlier answer.
        offered = [
            tuple(policies),
            tuple(reversed(policies)),
            *(tuple(q for q in policies if q != p) for p in policies if len(policies) > 1),
        ]

        def scenario(selector: PolicySelector[Any]) -> list[PolicyChoice]:
            return [_choice(selector, symbol, venue, market_view, p) for p in offered]

        for choice in self._run(component_factory, scenario):
            PolicyChoice(choice.policy, choice.confidence)  # re-validates confidence

    def test_single_policy_is_chosen(
        self,
        component_factory: ComponentFactory,
        symbol: str,
        venue: str | None,
        market_view: MarketView,
        policies: Sequence[str],
    ) -> None:
        def scenario(selector: PolicySelector[Any]) -> list[str]:
            return [_choice(selector, symbol, venue, market_view, (p,)).policy for p in policies]

        chosen = self._run(component_factory, scenario)
        assert chosen == list(policies), (
            f"offered one policy at a time {list(policies)}, the selector chose {chosen}"
        )

    def test_rewards_accepted_and_choices_stay_valid(
        self,
        component_factory: ComponentFactory,
        symbol: str,
        venue: str | None,
        market_view: MarketView,
        policies: Sequence[str],
    ) -> None:
        def scenario(selector: PolicySelector[Any]) -> PolicyChoice:
            _choice(selector, symbol, venue, market_view, policies)
            _feed_rewards(selector, symbol, venue, market_view, policies)
            return _choice(selector, symbol, venue, market_view, policies)

        self._run(component_factory, scenario)

    def test_market_view_not_mutated(
        self,
        component_factory: ComponentFactory,
        symbol: str,
        venue: str | None,
        market_view: MarketView,
        policies: Sequence[str],
    ) -> None:
        before = market_fingerprint(market_view, [symbol])

        def scenario(selector: PolicySelector[Any]) -> None:
            _choice(selector, symbol, venue, market_view, policies)
            _feed_rewards(selector, symbol, venue, market_view, policies)
            _choice(selector, symbol, venue, market_view, policies)

        self._run(component_factory, scenario)
        after = market_fingerprint(market_view, [symbol])
        changed = sorted(key for key in before if before[key] != after[key])
        assert not changed, f"the selector changed the market view it was lent: {changed}"

    @pytest.mark.requires_capability("deterministic")
    def test_fresh_instances_agree(
        self,
        component_factory: ComponentFactory,
        symbol: str,
        venue: str | None,
        market_view: MarketView,
        policies: Sequence[str],
    ) -> None:
        def scenario(selector: PolicySelector[Any]) -> tuple[PolicyChoice, PolicyChoice]:
            first = _choice(selector, symbol, venue, market_view, policies)
            _feed_rewards(selector, symbol, venue, market_view, policies)
            return first, _choice(selector, symbol, venue, market_view, policies)

        one = self._run(component_factory, scenario)
        two = self._run(component_factory, scenario)
        assert one == two, (
            f"two fresh selectors fed the same rewards chose differently: {one} vs {two}; the "
            "manifest declares 'deterministic' (seed any exploration)"
        )
