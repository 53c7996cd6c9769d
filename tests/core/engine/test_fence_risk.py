"""Risk rules behind the fence: a rule that fails rejects with its reason, never ends the session.

A rule stands between a signal and real money, so when it cannot give a sound
verdict the intent is rejected (no order no rule vouched for) and the decision
record says which rule failed and how. A rule is synchronous: one that overruns
its budget cannot be stopped, so its verdict applies and the record says it
was late.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fence_parts import Momentum, build_engine, memory_records, run

from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    InMemoryMarketView,
    OrderIntent,
    PluginConfig,
    PortfolioSnapshot,
    RecordType,
    RiskContext,
    RiskRule,
    RiskVerdict,
    VerdictAction,
)


class Raising(RiskRule[PluginConfig]):
    name = "raising"

    def __init__(self) -> None:
        super().__init__(PluginConfig())
        self.calls = 0

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        self.calls += 1
        raise ZeroDivisionError("var of an empty window")


class Answers(RiskRule[PluginConfig]):
    """Answers with whatever it was given: the way to hand the pipeline garbage."""

    name = "answers"

    def __init__(self, answer: Any) -> None:
        super().__init__(PluginConfig())
        self.answer = answer

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        answer: RiskVerdict = self.answer
        return answer


class Approve(RiskRule[PluginConfig]):
    name = "approve"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        return RiskVerdict.approve(self.name)


def _decisions(engine: Any) -> list[dict[str, Any]]:
    return [p for t, p in memory_records(engine) if t is RecordType.DECISION]


def test_a_raising_rule_rejects_every_intent_with_its_reason_and_the_session_ends_normally() -> (
    None
):
    rule = Raising()
    engine = build_engine(
        {"momentum": Momentum(PluginConfig())},
        risk=RiskPipeline(
            [("approve", Approve(PluginConfig())), ("var_limit", rule)],
            fences={"var_limit": Fence("risk-pack", "risk-pack-dist")},
        ),
    )
    asyncio.run(run(engine))

    assert rule.calls == engine.stats.intents > 0
    assert engine.stats.rejected == engine.stats.intents
    assert engine.stats.orders == engine.stats.fills == 0
    decisions = _decisions(engine)
    assert len(decisions) == engine.stats.intents
    for decision in decisions:
        assert decision["outcome"] == "rejected"
        approve, failed = decision["risk_verdicts"]
        assert approve["action"] == "approve"
        assert failed["rule"] == "var_limit"
        assert failed["action"] == "reject"
        assert failed["reason"] == (
            "rule var_limit failed: plugin risk-pack (distribution risk-pack-dist): "
            "Raising.check raised ZeroDivisionError: var of an empty window"
        )
        assert failed["figures"] == {"error": "PluginError"}
    stops = [p for t, p in memory_records(engine) if t is RecordType.SYSTEM_STOP]
    assert [s["reason"] for s in stops] == ["completed"]


def test_a_rule_answering_with_no_verdict_rejects_naming_what_it_returned() -> None:
    engine = build_engine(
        {"momentum": Momentum(PluginConfig())},
        risk=RiskPipeline([("sloppy", Answers({"action": "approve"}))]),
    )
    asyncio.run(run(engine))
    decisions = _decisions(engine)
    assert decisions
    assert engine.stats.orders == 0
    (verdict,) = decisions[0]["risk_verdicts"]
    assert verdict["action"] == "reject"
    assert verdict["reason"].startswith("rule sloppy failed: plugin sloppy: risk rule 'sloppy' ")
    assert "returned dict ({'action': 'approve'}), not a RiskVerdict" in verdict["reason"]


def test_a_resize_to_a_nan_quantity_is_a_rejection_not_an_order() -> None:
    unsound = RiskVerdict.model_construct(
        rule="sizer",
        action=VerdictAction.RESIZE,
        reason="halve",
        quantity=Decimal("NaN"),
        figures={},
    )
    engine = build_engine(
        {"momentum": Momentum(PluginConfig())},
        risk=RiskPipeline([("sizer", Answers(unsound))]),
    )
    asyncio.run(run(engine))
    assert engine.stats.orders == 0
    assert engine.stats.rejected == engine.stats.intents > 0
    (verdict,) = _decisions(engine)[0]["risk_verdicts"]
    assert (
        "resized to Decimal('NaN'); a resize needs a positive finite Decimal quantity"
        in (verdict["reason"])
    )


def test_a_rule_over_its_budget_still_decides_and_the_record_says_it_was_late() -> None:
    # A budget no call can meet: every check overruns it, deterministically.
    pipeline = RiskPipeline([("approve", Approve(PluginConfig()))], budget=1e-12)
    engine = build_engine({"momentum": Momentum(PluginConfig())}, risk=pipeline)
    asyncio.run(run(engine))
    assert engine.stats.orders == engine.stats.intents > 0  # the verdicts applied
    intents = [p for t, p in memory_records(engine) if t is RecordType.ORDER_INTENT]
    for payload in intents:
        (verdict,) = payload["risk_verdicts"]
        assert verdict["action"] == "approve"
        assert float(verdict["figures"]["elapsed_s"]) >= 0
        assert verdict["figures"]["budget_s"] == "1e-12"


def test_the_pipeline_reports_late_rules_and_keeps_an_on_time_verdict_untouched() -> None:
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    intent = OrderIntent(
        intent_id="i1", symbol="BTC/USDT", side="buy", order_type="market", quantity="1", ts=ts
    )
    context = RiskContext(
        ts=ts,
        portfolio=PortfolioSnapshot(ts=ts, equity="1000"),
        market=InMemoryMarketView([]),
    )
    late = RiskPipeline([("approve", Approve(PluginConfig()))], budget=1e-12).evaluate(
        intent, context
    )
    assert late.late == ("approve",)
    on_time = RiskPipeline([("approve", Approve(PluginConfig()))], budget=60.0).evaluate(
        intent, context
    )
    assert on_time.late == ()
    assert on_time.verdicts == (RiskVerdict.approve("approve"),)
