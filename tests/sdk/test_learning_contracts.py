"""The contracts added in API 1.1: selector, oversight and notifier, and the models they
trade in; validation that names the bad value, defaults that say what is not offered."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from crypto_bot_sdk import (
    CONTRACTS,
    Alert,
    AlertSeverity,
    InMemoryMarketView,
    MarketView,
    Notifier,
    Oversight,
    OversightContext,
    OversightOutcome,
    PairedIntents,
    PluginConfig,
    PluginKind,
    PolicyChoice,
    PolicySelector,
    PortfolioSnapshot,
    Side,
)
from crypto_bot_sdk.testing import FIXED_NOW, StaticRiskContext, make_intent


def test_the_new_kinds_have_their_contracts() -> None:
    assert CONTRACTS[PluginKind.SELECTOR] is PolicySelector
    assert CONTRACTS[PluginKind.OVERSIGHT] is Oversight
    assert CONTRACTS[PluginKind.NOTIFIER] is Notifier
    assert [k.value for k in PluginKind][-3:] == ["selector", "oversight", "notifier"]
    assert PolicySelector.__abstractmethods__ == frozenset({"select"})
    assert Oversight.__abstractmethods__ == frozenset({"review"})
    assert Notifier.__abstractmethods__ == frozenset({"notify"})


# --- PolicyChoice -----------------------------------------------------------------------


def test_policy_choice_defaults_to_full_confidence_and_is_frozen() -> None:
    choice = PolicyChoice("trend")
    assert (choice.policy, choice.confidence) == ("trend", 1.0)
    assert PolicyChoice("trend", 0) == PolicyChoice("trend", 0.0)
    with pytest.raises(AttributeError):
        choice.policy = "other"  # type: ignore[misc]
    assert not hasattr(choice, "__dict__")  # slotted: cheap on the decision path


@pytest.mark.parametrize(
    ("policy", "confidence", "message"),
    [
        ("", 1.0, "must name a policy, got ''"),
        ("   ", 1.0, "must name a policy"),
        ("trend", math.nan, "finite number in [0, 1], got nan (policy 'trend')"),
        ("trend", math.inf, "got inf"),
        ("trend", 1.5, "got 1.5"),
        ("trend", -0.1, "got -0.1"),
        ("trend", True, "got True"),
        ("trend", "0.5", "got '0.5'"),
    ],
)
def test_policy_choice_refuses_what_is_not_a_choice(
    policy: str, confidence: Any, message: str
) -> None:
    with pytest.raises(ValueError, match="PolicyChoice") as caught:
        PolicyChoice(policy, confidence)
    assert message in str(caught.value)


class Fixed(PolicySelector[PluginConfig]):
    name = "fixed"

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        return PolicyChoice(policies[0])


def test_selector_reward_is_an_optional_no_op() -> None:
    selector = Fixed.from_config()
    view = InMemoryMarketView(now=FIXED_NOW)
    assert selector.select("BTC/USDT", None, view, ("a", "b")) == PolicyChoice("a")
    assert selector.reward("BTC/USDT", None, "a", 1.5, FIXED_NOW) is None  # type: ignore[func-returns-value]
    assert selector.select("BTC/USDT", None, view, ("b",)).policy == "b"


# --- PairedIntents and OversightOutcome ------------------------------------------------


def _legs() -> tuple[Any, Any]:
    buy = make_intent("BTC/USDT", Side.BUY, "0.1", venue="a", intent_id="arb-buy")
    sell = make_intent("BTC/USDT", Side.SELL, "0.1", venue="b", intent_id="arb-sell")
    return buy, sell


def test_paired_intents_keep_legs_and_freeze_evidence() -> None:
    evidence = {"edge_bps": "12.5"}
    pair = PairedIntents(list(_legs()), evidence)  # type: ignore[arg-type]
    assert isinstance(pair.legs, tuple)
    assert [leg.venue for leg in pair.legs] == ["a", "b"]
    evidence["edge_bps"] = "999"  # the caller's dict is copied
    assert pair.evidence == {"edge_bps": "12.5"}
    with pytest.raises(TypeError):
        pair.evidence["edge_bps"] = "1"  # type: ignore[index]
    assert PairedIntents(_legs()).evidence == {}


def test_paired_intents_refuse_incomplete_pairs() -> None:
    buy, sell = _legs()
    with pytest.raises(ValueError, match="at least two legs, got 1"):
        PairedIntents((buy,))
    routed = sell.model_copy(update={"venue": None})
    with pytest.raises(ValueError, match="leg 'arb-sell' \\(sell BTC/USDT\\) names no venue"):
        PairedIntents((buy, routed))
    twin = sell.model_copy(update={"intent_id": "arb-buy"})
    with pytest.raises(ValueError, match="two legs share intent_id 'arb-buy'"):
        PairedIntents((buy, twin))
    with pytest.raises(TypeError, match="a leg must be an OrderIntent, not dict"):
        PairedIntents((buy, {"venue": "b"}))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="evidence maps strings to strings"):
        PairedIntents((buy, sell), {"edge_bps": Decimal(12)})  # type: ignore[dict-item]


def test_oversight_outcome_is_false_when_empty_and_checks_its_items() -> None:
    assert not OversightOutcome()
    alert = Alert(ts=FIXED_NOW, severity=AlertSeverity.HIGH, source="monitor", title="VaR")
    outcome = OversightOutcome(alerts=[alert], pairs=[PairedIntents(_legs())])  # type: ignore[arg-type]
    assert outcome
    assert isinstance(outcome.alerts, tuple)
    assert isinstance(outcome.pairs, tuple)
    with pytest.raises(TypeError, match=r"alerts must be crypto_bot_sdk\.Alert, not str"):
        OversightOutcome(alerts=("VaR high",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pairs must be PairedIntents, not tuple"):
        OversightOutcome(pairs=(_legs(),))  # type: ignore[arg-type]


# --- OversightContext ---------------------------------------------------------------------


def test_oversight_context_validates_market_and_fees() -> None:
    context = StaticRiskContext().with_equity("5000").build_oversight(fees={"a": "0.001"})
    assert context.fees == {"a": Decimal("0.001")}
    assert context.taker_fee("a", Decimal("0.002")) == Decimal("0.001")
    assert context.taker_fee("b", Decimal("0.002")) == Decimal("0.002")
    assert context.portfolio.equity == Decimal(5000)
    portfolio = PortfolioSnapshot(ts=FIXED_NOW, equity=Decimal(1))
    with pytest.raises(ValidationError, match="dict is not a MarketView: it lacks now"):
        OversightContext(ts=FIXED_NOW, portfolio=portfolio, market={})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="fees"):
        OversightContext(
            ts=FIXED_NOW,
            portfolio=portfolio,
            market=InMemoryMarketView(now=FIXED_NOW),
            fees={"a": "NaN"},  # type: ignore[dict-item]
        )
    with pytest.raises(ValidationError, match="time zone"):
        OversightContext(
            ts=FIXED_NOW.replace(tzinfo=None),
            portfolio=portfolio,
            market=InMemoryMarketView(now=FIXED_NOW),
        )


class Watch(Oversight[PluginConfig]):
    name = "watch"

    async def review(self, context: OversightContext) -> OversightOutcome:
        if context.portfolio.drawdown > Decimal("0.1"):
            alert = Alert(ts=context.ts, severity=AlertSeverity.HIGH, source=self.name,
                          title="drawdown")
            return OversightOutcome(alerts=(alert,))
        return OversightOutcome()


def test_an_oversight_component_reviews_a_context() -> None:
    watch = Watch.from_config()
    calm = StaticRiskContext().with_equity("100", peak_equity="100").build_oversight()
    hurt = StaticRiskContext(ts=FIXED_NOW + timedelta(hours=1)).with_equity(
        "80", peak_equity="100"
    ).build_oversight()
    assert not asyncio.run(watch.review(calm))
    (alert,) = asyncio.run(watch.review(hurt)).alerts
    assert (alert.source, alert.ts) == ("watch", hurt.ts)


class Collect(Notifier[PluginConfig]):
    name = "collect"

    def __init__(self, config: PluginConfig) -> None:
        super().__init__(config)
        self.seen: list[str] = []

    async def notify(self, alert: Alert) -> None:
        self.seen.append(alert.title)


def test_a_notifier_takes_alerts_and_has_the_component_life() -> None:
    notifier = Collect.from_config()

    async def scenario() -> None:
        await notifier.start()
        await notifier.notify(
            Alert(ts=FIXED_NOW, severity=AlertSeverity.INFO, source="t", title="hello")
        )
        await notifier.close()

    asyncio.run(scenario())
    assert notifier.seen == ["hello"]
    assert notifier.kind is PluginKind.NOTIFIER
