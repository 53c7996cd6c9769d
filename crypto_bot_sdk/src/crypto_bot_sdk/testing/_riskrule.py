"""Conformance checks of the RiskRule contract: pure, explained, named verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._contracts import Component, RiskContext, RiskRule
from crypto_bot_sdk._decisions import RiskVerdict, VerdictAction
from crypto_bot_sdk._orders import OrderIntent
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    changed_keys,
    lent_state,
    missing_fixture,
    run_async,
    started,
)


def _verdicts(
    factory: ComponentFactory, intents: Sequence[OrderIntent], context: RiskContext
) -> tuple[str, list[RiskVerdict]]:
    """The rule's name and its verdict on each intent, from one fresh, started instance."""

    async def scenario() -> tuple[str, list[RiskVerdict]]:
        async with started(factory, (RiskRule,)) as rule:
            verdicts = []
            for intent in intents:
                verdict = rule.check(intent, context)
                assert isinstance(verdict, RiskVerdict), (
                    f"check({intent.intent_id!r}) returned a {type(verdict).__qualname__}, "
                    "not a crypto_bot_sdk.RiskVerdict"
                )
                verdicts.append(verdict)
            return rule.name, verdicts

    return run_async(scenario)


class RiskRuleConformance(ContractConformance):
    """Checks of a :class:`~crypto_bot_sdk.RiskRule`.

    Override ``manifest``, ``component_factory``, ``intents`` (several, at least
    one of which the rule rejects or resizes in ``risk_context``, so the
    explanation checks have something to look at) and ``risk_context``
    (``StaticRiskContext().with_...().build()`` is the quick way).
    """

    contract: ClassVar[type[Component[Any]]] = RiskRule

    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        """Override: order intents to check, including ones the rule refuses or resizes."""
        missing_fixture(
            type(self).__name__,
            "intents",
            "a list of OrderIntents, some of which the rule rejects or resizes; "
            "crypto_bot_sdk.testing.make_intent builds them",
        )

    @pytest.fixture
    def risk_context(self) -> RiskContext:
        """Override: the portfolio and market the rule sees."""
        missing_fixture(
            type(self).__name__,
            "risk_context",
            "e.g. crypto_bot_sdk.testing.StaticRiskContext().with_equity('10000').build()",
        )

    @pytest.fixture
    def kit_verdicts(
        self,
        component_factory: ComponentFactory,
        intents: Sequence[OrderIntent],
        risk_context: RiskContext,
    ) -> tuple[str, list[RiskVerdict]]:
        """The kit's own: the rule's name and its verdict on each intent (do not override)."""
        if not intents:
            missing_fixture(type(self).__name__, "intents", "it returned no intents")
        return _verdicts(component_factory, intents, risk_context)

    def test_verdicts_name_the_rule(self, kit_verdicts: tuple[str, list[RiskVerdict]]) -> None:
        name, verdicts = kit_verdicts
        wrong = sorted({v.rule for v in verdicts if v.rule != name})
        assert not wrong, f"verdicts name rule(s) {wrong}, but the component's name is {name!r}"

    def test_some_intent_refused_or_resized(
        self, kit_verdicts: tuple[str, list[RiskVerdict]], intents: Sequence[OrderIntent]
    ) -> None:
        _, verdicts = kit_verdicts
        assert any(v.action is not VerdictAction.APPROVE for v in verdicts), (
            f"the rule approved all {len(intents)} intents, so its explanations cannot be "
            "checked; add to the 'intents' fixture one it rejects or resizes in 'risk_context'"
        )

    def test_every_refusal_explained(
        self, kit_verdicts: tuple[str, list[RiskVerdict]], intents: Sequence[OrderIntent]
    ) -> None:
        name, verdicts = kit_verdicts
        for intent, verdict in zip(intents, verdicts, strict=True):
            if verdict.action is VerdictAction.APPROVE:
                continue
            assert verdict.reason.strip(), (
                f"{verdict.action.value} of {intent.intent_id!r} gives no reason"
            )
            assert verdict.rule == name, (
                f"{verdict.action.value} of {intent.intent_id!r} names rule {verdict.rule!r}, "
                f"not {name!r}"
            )
            RiskVerdict.model_validate(verdict.model_dump())

    def test_resize_shrinks_the_order(
        self, kit_verdicts: tuple[str, list[RiskVerdict]], intents: Sequence[OrderIntent]
    ) -> None:
        _, verdicts = kit_verdicts
        for intent, verdict in zip(intents, verdicts, strict=True):
            if verdict.action is VerdictAction.RESIZE:
                shrinks = verdict.quantity is not None and 0 < verdict.quantity < intent.quantity
                assert shrinks, (
                    f"resize of {intent.intent_id!r} to {verdict.quantity} does not shrink "
                    f"its quantity {intent.quantity}; a resize only ever makes an order smaller"
                )

    def test_same_verdicts_in_any_order(
        self,
        component_factory: ComponentFactory,
        intents: Sequence[OrderIntent],
        risk_context: RiskContext,
        kit_verdicts: tuple[str, list[RiskVerdict]],
    ) -> None:
        _, first = kit_verdicts
        again = _verdicts(component_factory, [*intents, *reversed(intents)], risk_context)[1]
        forward, backward = again[: len(intents)], list(reversed(again[len(intents) :]))
        for index, intent in enumerate(intents):
            assert first[index] == forward[index] == backward[index], (
                f"verdict on {intent.intent_id!r} changed between calls "
                f"({first[index].action.value}, {forward[index].action.value}, "
                f"{backward[index].action.value}): a rule must be pure, keeping no state "
                "between checks"
            )

    def test_inputs_unchanged(
        self,
        component_factory: ComponentFactory,
        intents: Sequence[OrderIntent],
        risk_context: RiskContext,
    ) -> None:
        intents_before = [intent.model_dump() for intent in intents]
        symbols = [intent.symbol for intent in intents]
        state_before = lent_state(risk_context, symbols)
        _verdicts(component_factory, intents, risk_context)
        assert [intent.model_dump() for intent in intents] == intents_before, (
            "check changed the intents it was given"
        )
        changed = changed_keys(state_before, lent_state(risk_context, symbols))
        assert not changed, f"check changed the risk context it was given: {changed}"
