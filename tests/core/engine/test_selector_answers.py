"""A policy selector's answers, asked directly (outside a session): the registry's fixed
mapping, and a plugin's choice checked before use - a choice outside the policies
offered, a raising selector or a nonsense answer fall back to the first policy offered.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.selection import FencedSelector, FixedPolicySelector
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import InMemoryMarketView, MarketView, PluginConfig, PolicyChoice
from crypto_bot_sdk import PolicySelector as SdkPolicySelector

REGISTRY = PolicyRegistry.from_mapping(
    {
        "policies": {
            "trend": {"agents": [{"agent": "ema"}]},
            "revert": {"agents": [{"agent": "rsi"}]},
        },
        "symbols": {"ETH/USDT": "revert"},
        "default": "trend",
    }
)
MARKET = InMemoryMarketView()


class Scripted(SdkPolicySelector[PluginConfig]):
    """Answers whatever ``answer`` is (or raises it)."""

    name = "scripted"

    def __init__(self, answer: object) -> None:
        super().__init__(PluginConfig())
        self.answer = answer

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[return-value]


def _fenced(answer: object) -> FencedSelector:
    return FencedSelector(Scripted(answer), instance="picker", fence=Fence("acme"), budget=None)


def test_the_fixed_selector_follows_the_registry_mapping_then_its_default() -> None:
    fixed = FixedPolicySelector(REGISTRY)
    offered = ["trend", "revert"]
    assert fixed.select("ETH/USDT", None, MARKET, offered) == PolicyChoice("revert")
    assert fixed.select("BTC/USDT", "alpha", MARKET, offered) == PolicyChoice("trend")


def test_a_sound_choice_among_the_policies_offered_is_used() -> None:
    selector = _fenced(PolicyChoice("revert", 0.7))
    choice = selector.select("BTC/USDT", None, MARKET, ["trend", "revert"])
    assert choice == PolicyChoice("revert", 0.7)


@pytest.mark.parametrize(
    "answer",
    [
        PolicyChoice("carry"),  # not a policy the registry has
        RuntimeError("model file missing"),  # the selector crashed
        "revert",  # a bare string, not a PolicyChoice
    ],
)
def test_an_unusable_answer_falls_back_to_the_first_policy_offered(answer: object) -> None:
    assert _fenced(answer).select("BTC/USDT", None, MARKET, ["trend", "revert"]) == PolicyChoice(
        "trend"
    )
