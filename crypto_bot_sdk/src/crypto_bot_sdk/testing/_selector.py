"""Conformance checks of the PolicySelector contract: a cheap, synchronous choice that is
always one of the policies offered, and rewards that never break it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import pytest

from crypto_bot_sdk._component import Component
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk._selector import PolicyChoice, PolicySelector
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    changed_keys,
    first_symbol,
    market_fingerprint,
    missing_market_view,
    run_async,
    started,
)

T = TypeVar("T")

REWARDS = (1.0, -0.5, 0.25, 0.0, -2.0, 3.5)
"""Finite rewards of either sign fed to every policy in turn."""


@dataclass(frozen=True)
class _Question:
    """What every check asks a selector: a policy for ``symbol`` (on ``venue``) given
    ``market``, among ``policies``; built from the class's fixtures by ``kit_question``."""

    symbol: str
    venue: str | None
    market: MarketView
    policies: tuple[str, ...]

    def choice(
        self, selector: PolicySelector[Any], policies: Sequence[str] | None = None
    ) -> PolicyChoice:
        """The selector's checked choice among ``policies`` (by default all offered)."""
        offered = self.policies if policies is None else tuple(policies)
        result = selector.select(self.symbol, self.venue, self.market, offered)
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
        assert result.policy in offered, (
            f"select chose {result.policy!r}, which is not among the policies offered "
            f"{list(offered)}; choose one of those passed in, never from an earlier call"
        )
        return result

    def feed_rewards(self, selector: PolicySelector[Any]) -> None:
        """Every reward of :data:`REWARDS`, to each offered policy in turn."""
        ts = self.market.now
        for step, reward in enumerate(REWARDS):
            policy = self.policies[step % len(self.policies)]
            returned: object = getattr(selector, "reward")(  # noqa: B009 - checks an untyped result
                self.symbol, self.venue, policy, reward, ts + timedelta(minutes=step)
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
        missing_market_view(type(self).__name__)

    @pytest.fixture
    def symbol(self, market_view: MarketView) -> str:
        """Override: the symbol to choose a policy for; defaults to the view's first instrument."""
        return first_symbol(type(self).__name__, market_view)

    @pytest.fixture
    def venue(self) -> str | None:
        """Override: the venue passed to ``select``; ``None`` (not tied to one) by default."""
        return None

    @pytest.fixture
    def policies(self) -> Sequence[str]:
        """Override: the policy names offered, as the policy registry lists them."""
        return ("trend", "mean_reversion", "flat")

    @pytest.fixture
    def kit_question(
        self, symbol: str, venue: str | None, market_view: MarketView, policies: Sequence[str]
    ) -> _Question:
        """The kit's own: the fixtures above as the one question every check asks (do not
        override)."""
        return _Question(symbol, venue, market_view, tuple(policies))

    @staticmethod
    def _run(factory: ComponentFactory, scenario: Callable[[PolicySelector[Any]], T]) -> T:
        """``scenario`` on one fresh, started selector (select and reward are synchronous)."""

        async def main() -> T:
            async with started(factory, (PolicySelector,)) as selector:
                return scenario(selector)

        return run_async(main)

    def test_choice_is_one_of_the_policies(
        self, component_factory: ComponentFactory, kit_question: _Question
    ) -> None:
        # Every policy left out once: a selector must not fall back on an earlier answer.
        policies = kit_question.policies
        offered = [
            policies,
            tuple(reversed(policies)),
            *(tuple(q for q in policies if q != p) for p in policies if len(policies) > 1),
        ]

        def scenario(selector: PolicySelector[Any]) -> list[PolicyChoice]:
            return [kit_question.choice(selector, p) for p in offered]

        for choice in self._run(component_factory, scenario):
            PolicyChoice(choice.policy, choice.confidence)  # re-validates confidence

    def test_single_policy_is_chosen(
        self, component_factory: ComponentFactory, kit_question: _Question
    ) -> None:
        policies = kit_question.policies

        def scenario(selector: PolicySelector[Any]) -> list[str]:
            return [kit_question.choice(selector, (p,)).policy for p in policies]

        chosen = self._run(component_factory, scenario)
        assert chosen == list(policies), (
            f"offered one policy at a time {list(policies)}, the selector chose {chosen}"
        )

    def test_rewards_accepted_and_choices_stay_valid(
        self, component_factory: ComponentFactory, kit_question: _Question
    ) -> None:
        def scenario(selector: PolicySelector[Any]) -> PolicyChoice:
            kit_question.choice(selector)
            kit_question.feed_rewards(selector)
            return kit_question.choice(selector)

        self._run(component_factory, scenario)

    def test_market_view_not_mutated(
        self, component_factory: ComponentFactory, kit_question: _Question
    ) -> None:
        market, symbols = kit_question.market, [kit_question.symbol]
        before = market_fingerprint(market, symbols)

        def scenario(selector: PolicySelector[Any]) -> None:
            kit_question.choice(selector)
            kit_question.feed_rewards(selector)
            kit_question.choice(selector)

        self._run(component_factory, scenario)
        changed = changed_keys(before, market_fingerprint(market, symbols))
        assert not changed, f"the selector changed the market view it was lent: {changed}"

    @pytest.mark.requires_capability("deterministic")
    def test_fresh_instances_agree(
        self, component_factory: ComponentFactory, kit_question: _Question
    ) -> None:
        def scenario(selector: PolicySelector[Any]) -> tuple[PolicyChoice, PolicyChoice]:
            first = kit_question.choice(selector)
            kit_question.feed_rewards(selector)
            return first, kit_question.choice(selector)

        one = self._run(component_factory, scenario)
        two = self._run(component_factory, scenario)
        assert one == two, (
            f"two fresh selectors fed the same rewards chose differently: {one} vs {two}; the "
            "manifest declares 'deterministic' (seed any exploration)"
        )
