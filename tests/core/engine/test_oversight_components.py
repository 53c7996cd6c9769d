"""Oversight components in the engine: reviewed every tick through their fence, their alerts
recorded, their paired intents traded all or none, their failures recorded once.

The engine is the real one: the synthetic market on two venues ``a`` and ``b``, a paper
exchange on each, an in-memory ledger; the hedger below proposes a pair (buy on ``a``, sell on
``b``) on chosen reviews.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fence_parts import Momentum, memory_records, run

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.oversight import Oversight, Watcher
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    OrderIntent,
    OrderType,
    OversightContext,
    OversightOutcome,
    PairedIntents,
    PluginConfig,
    RecordType,
    RiskContext,
    RiskRule,
    RiskVerdict,
    Side,
)
from crypto_bot_sdk import Oversight as OversightComponent

SYMBOL = "BTC/USDT:USDT"


class Hedger(OversightComponent[PluginConfig]):
    """On the reviews listed in ``act_on``: one alert, and one pair (buy on a, sell on b)."""

    name = "hedger"

    def __init__(self, act_on: Sequence[int] = (30,), quantity: str = "0.5") -> None:
        super().__init__(PluginConfig())
        self.act_on = set(act_on)
        self.quantity = Decimal(quantity)
        self.reviews = 0

    async def review(self, context: OversightContext) -> OversightOutcome:
        self.reviews += 1
        if self.reviews not in self.act_on:
            return OversightOutcome()
        return OversightOutcome(alerts=(self.alert(context),), pairs=(self.pair(context),))

    def alert(self, context: OversightContext) -> Alert:
        return Alert(
            ts=context.ts,
            severity=AlertSeverity.HIGH,
            source=self.name,
            title="basis too wide; hedging",
            figures={"review": str(self.reviews)},
        )

    def leg(self, context: OversightContext, side: Side, venue: str) -> OrderIntent:
        return OrderIntent(
            intent_id=f"hedge-{self.reviews}-{side.value}",
            symbol=SYMBOL,
            side=side,
            order_type=OrderType.MARKET,
            quantity=self.quantity,
            venue=venue,
            ts=context.ts,
            policy="hedge",
        )

    def pair(self, context: OversightContext) -> PairedIntents:
        legs = (self.leg(context, Side.BUY, "a"), self.leg(context, Side.SELL, "b"))
        return PairedIntents(legs, {"basis_bps": "42", "review": str(self.reviews)})


class OnVenue(RiskRule[PluginConfig]):
    """Rejects, or halves, every intent on one venue."""

    name = "on_venue"

    def __init__(self, venue: str, action: str) -> None:
        super().__init__(PluginConfig())
        self.venue, self.action = venue, action

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        if intent.venue != self.venue:
            return RiskVerdict.approve(self.name)
        if self.action == "reject":
            return RiskVerdict.reject(self.name, f"no new risk on {self.venue}")
        return RiskVerdict.resize(self.name, intent.quantity / 2, "half on this venue")


def engine_with(
    *components: tuple[str, OversightComponent[Any]],
    rules: Sequence[RiskRule[Any]] = (),
    budget: float = 5.0,
) -> Engine:
    market = SyntheticMarket.from_config(
        {"symbols": [SYMBOL], "venues": ["a", "b"], "bars": 60, "seed": 5}
    )
    venues = {
        name: PaperExchange(
            PaperExchangeConfig(
                venue=name, data_venue=name, leverage=Decimal(3),
                balances={"USDT": Decimal(100_000)},
            )
        )
        for name in ("a", "b")
    }  # fmt: skip
    watchers = [Watcher(name, component, Fence("watch-pack")) for name, component in components]
    return Engine(
        run_id="oversight-test",
        data_sources=[market],
        agents={"momentum": Momentum(PluginConfig())},
        exchanges=venues,
        policies=PolicyRegistry.from_mapping(
            {"policies": {"trend": {"agents": [{"agent": "momentum"}]}}, "default": "trend"}
        ),
        risk=RiskPipeline([(rule.name, rule) for rule in rules]),
        ledger=MemoryAuditLog(),
        sizing=SizingConfig(notional_per_symbol=Decimal(1000)),
        oversight=Oversight(watchers=watchers, budget=budget),
    )


def records(engine: Engine, kind: RecordType) -> list[dict[str, Any]]:
    return [payload for t, payload in memory_records(engine) if t is kind]


def pair_orders(engine: Engine) -> list[dict[str, Any]]:
    return [p for p in records(engine, RecordType.ORDER_INTENT) if p.get("oversight")]


def test_alerts_are_recorded_and_pairs_become_orders_with_their_evidence() -> None:
    hedger = Hedger(act_on=(30, 40))
    engine = engine_with(("basis", hedger))
    asyncio.run(run(engine))

    assert hedger.reviews == len(engine.equity_curve)  # every tick
    alerts = records(engine, RecordType.ALERT)
    assert [(a["source"], a["event"], a["figures"]["review"]) for a in alerts] == [
        ("hedger", "oversight_alert", "30"),
        ("hedger", "oversight_alert", "40"),
    ]
    assert alerts[0]["severity"] == "high"
    orders = pair_orders(engine)
    assert [(o["intent_id"], o["request"]["venue"], o["request"]["side"]) for o in orders] == [
        ("hedge-30-buy", "a", "buy"),
        ("hedge-30-sell", "b", "sell"),
        ("hedge-40-buy", "a", "buy"),
        ("hedge-40-sell", "b", "sell"),
    ]
    for order in orders:
        assert order["oversight"] == "basis"
        assert order["evidence"]["basis_bps"] == "42"
        assert order["policy"] == "hedge"
        assert "arbitrage" not in order  # only arbitrage legs carry that key
        assert Decimal(order["request"]["quantity"]) == Decimal("0.5")
    filled = {p["client_order_id"] for p in records(engine, RecordType.ORDER_FILLED)}
    assert {o["client_order_id"] for o in orders} <= filled
    assert engine.oversight is not None
    assert engine.oversight.pairs_sent == 2


def test_a_refused_leg_sends_no_leg_and_the_refusal_is_a_decision() -> None:
    engine = engine_with(("basis", Hedger()), rules=[OnVenue("b", "reject")])
    asyncio.run(run(engine))

    assert pair_orders(engine) == []
    (refusal,) = [p for p in records(engine, RecordType.DECISION) if p["outcome"] == "pair refused"]
    assert refusal["oversight"] == "basis"
    assert refusal["intent_ids"] == ["hedge-30-buy", "hedge-30-sell"]
    assert refusal["evidence"] == {"basis_bps": "42", "review": "30"}
    assert [v["action"] for v in refusal["risk_verdicts"]] == ["approve", "reject"]


def test_a_resized_leg_cuts_every_leg_to_the_smallest_quantity() -> None:
    engine = engine_with(("basis", Hedger(quantity="0.5")), rules=[OnVenue("a", "resize")])
    asyncio.run(run(engine))

    orders = pair_orders(engine)
    assert len(orders) == 2
    assert {Decimal(o["request"]["quantity"]) for o in orders} == {Decimal("0.25")}
    assert {o["request"]["venue"] for o in orders} == {"a", "b"}


class Raising(Hedger):
    async def review(self, context: OversightContext) -> OversightOutcome:
        self.reviews += 1
        raise ZeroDivisionError("no spread")


class Hanging(Hedger):
    async def review(self, context: OversightContext) -> OversightOutcome:
        self.reviews += 1
        await asyncio.Event().wait()
        raise AssertionError("never set")


class Unsound(Hedger):
    """Answers, on its reviews, with something the engine must not use."""

    def __init__(self, how: str) -> None:
        super().__init__(act_on=(20, 21))
        self.how = how

    def alert(self, context: OversightContext) -> Alert:
        alert = super().alert(context)
        if self.how == "future":
            return alert.model_copy(update={"ts": context.ts + timedelta(hours=1)})
        return alert

    def leg(self, context: OversightContext, side: Side, venue: str) -> OrderIntent:
        leg = super().leg(context, side, venue)
        if self.how == "venue" and side is Side.SELL:
            return leg.model_copy(update={"venue": "zeta"})
        if self.how == "reused":
            return leg.model_copy(update={"intent_id": f"same-{side.value}"})
        return leg

    async def review(self, context: OversightContext) -> Any:
        if self.how == "type":
            self.reviews += 1
            return {"alerts": []} if self.reviews in self.act_on else OversightOutcome()
        return await super().review(context)


@pytest.mark.parametrize(
    ("component", "failure", "detail", "budget"),
    [
        (Raising(), "raised", "raised ZeroDivisionError: no spread", 5.0),
        (Hanging(), "timeout", "did not finish within its 0.01 s budget", 0.01),
        (Unsound("type"), "answer", "review returned dict", 5.0),
        (Unsound("future"), "answer", "after the tick", 5.0),
        (Unsound("venue"), "answer", "trades BTC/USDT:USDT on 'zeta'", 5.0),
    ],
)
def test_a_failing_component_is_skipped_and_recorded_once(
    component: Hedger, failure: str, detail: str, budget: float
) -> None:
    engine = engine_with(("watch", component), budget=budget)
    asyncio.run(run(engine))

    assert component.reviews == len(engine.equity_curve)  # still asked every tick
    (alert,) = records(engine, RecordType.ALERT)
    assert (alert["source"], alert["event"]) == ("watch", "oversight_failed")
    assert alert["figures"] == {"failure": failure}
    assert detail in alert["detail"]
    assert pair_orders(engine) == []
    assert records(engine, RecordType.ORDER_INTENT)  # the session traded on
    assert records(engine, RecordType.SYSTEM_STOP)[-1]["reason"] == "completed"


def test_an_intent_id_used_twice_is_refused_the_second_time() -> None:
    engine = engine_with(("watch", Unsound("reused")))
    asyncio.run(run(engine))

    assert [o["intent_id"] for o in pair_orders(engine)] == ["same-buy", "same-sell"]
    (alert,) = records(engine, RecordType.ALERT)[1:]  # after the first review's own alert
    assert "was used before" in alert["detail"]


class NoStart(Hedger):
    async def start(self) -> None:
        raise ConnectionError("feed down")


def test_a_component_that_cannot_start_is_never_asked() -> None:
    component = NoStart()
    engine = engine_with(("watch", component), ("basis", Hedger()))
    asyncio.run(run(engine))

    assert component.reviews == 0
    alerts = records(engine, RecordType.ALERT)
    assert [(a["source"], a["figures"].get("failure")) for a in alerts] == [
        ("watch", "start"),
        ("hedger", None),  # the other component works on
    ]
    assert len(pair_orders(engine)) == 2
