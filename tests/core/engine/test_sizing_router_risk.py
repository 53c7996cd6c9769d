from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.router import ExecutionRouter, NoRouteError
from crypto_bot_core.engine.sizing import SizingConfig, SizingMode, intent_for
from crypto_bot_sdk import (
    Bar,
    FeeSchedule,
    InMemoryMarketView,
    Instrument,
    OrderIntent,
    PluginConfig,
    PluginContractError,
    PortfolioSnapshot,
    RiskContext,
    RiskRule,
    RiskVerdict,
    Side,
    Signal,
    VerdictAction,
)

TS = datetime(2024, 1, 1, tzinfo=UTC)


def inst(venue: str) -> Instrument:
    return Instrument(
        symbol="BTC/USDT", venue=venue, kind="spot", tick_size="0.01", lot_size="0.001"
    )


def perp(venue: str) -> Instrument:
    return Instrument(
        symbol="BTC/USDT:USDT", venue=venue, kind="perpetual", tick_size="0.01", lot_size="0.001"
    )


def sig(score: float, confidence: float = 1.0) -> Signal:
    return Signal(agent="a", symbol="BTC/USDT", ts=TS, score=score, confidence=confidence)


def test_discrete_sizing_trades_only_on_state_change() -> None:
    cfg = SizingConfig(notional_per_symbol=D("1000"))
    i = inst("x")
    first = intent_for(
        cfg, sig(0.5), current=D(0), price=D("300"), instrument=i, intent_id="1", policy="p"
    )
    assert first is not None
    assert first.side is Side.BUY
    assert first.quantity == D("3.333")
    assert not first.reduce_only
    assert (
        intent_for(
            cfg,
            sig(0.9),
            current=D("3.333"),
            price=D("310"),
            instrument=i,
            intent_id="2",
            policy="p",
        )
        is None
    )
    # Spot cannot go short: a bearish signal only exits the long.
    exit_ = intent_for(
        cfg, sig(-0.2), current=D("3.333"), price=D("300"), instrument=i, intent_id="3", policy="p"
    )
    assert exit_ is not None
    assert exit_.side is Side.SELL
    assert exit_.quantity == D("3.333")
    assert exit_.reduce_only
    # A perpetual flips from long to short in one order.
    flip = intent_for(
        cfg,
        sig(-0.2),
        current=D("3.333"),
        price=D("300"),
        instrument=perp("x"),
        intent_id="4",
        policy="p",
    )
    assert flip is not None
    assert flip.side is Side.SELL
    assert flip.quantity == D("6.666")
    assert not flip.reduce_only


def test_long_only_exits_instead_of_shorting() -> None:
    cfg = SizingConfig(notional_per_symbol=D("1000"), long_only=True)
    exit_ = intent_for(
        cfg,
        sig(-0.7),
        current=D("2"),
        price=D("300"),
        instrument=inst("x"),
        intent_id="1",
        policy="p",
    )
    assert exit_ is not None
    assert exit_.side is Side.SELL
    assert exit_.quantity == D("2")
    assert exit_.reduce_only
    assert (
        intent_for(
            cfg,
            sig(-0.7),
            current=D(0),
            price=D("300"),
            instrument=inst("x"),
            intent_id="2",
            policy="p",
        )
        is None
    )


def test_proportional_sizing_respects_band() -> None:
    cfg = SizingConfig(
        mode=SizingMode.PROPORTIONAL, notional_per_symbol=D("1000"), rebalance_band=D("0.25")
    )
    first = intent_for(
        cfg,
        sig(0.5, 0.8),
        current=D(0),
        price=D("100"),
        instrument=inst("x"),
        intent_id="1",
        policy="p",
    )
    assert first is not None
    assert first.quantity == D("4.000")
    assert (
        intent_for(
            cfg,
            sig(0.6, 0.8),
            current=D("4"),
            price=D("100"),
            instrument=inst("x"),
            intent_id="2",
            policy="p",
        )
        is None
    )


def market(prices: dict[str, str]) -> InMemoryMarketView:
    view = InMemoryMarketView([inst(v) for v in prices])
    for venue, px in prices.items():
        view.update(
            Bar(
                symbol="BTC/USDT",
                venue=venue,
                ts=TS,
                open=px,
                high=px,
                low=px,
                close=px,
                volume="1",
            )
        )
    return view


def intent(side: str, qty: str = "1", reduce_only: bool = False) -> OrderIntent:
    return OrderIntent(
        intent_id="i", symbol="BTC/USDT", side=side, quantity=qty, ts=TS, reduce_only=reduce_only
    )


def test_router_picks_best_price_after_fees_and_explains() -> None:
    router = ExecutionRouter(
        {("a", "BTC/USDT"): inst("a"), ("b", "BTC/USDT"): inst("b")},
        {"a": FeeSchedule(D("0"), D("0.001")), "b": FeeSchedule(D("0"), D("0.0001"))},
    )
    view = market({"a": "100.00", "b": "100.05"})
    buy = router.route(intent("buy"), view, {})
    # a: 100.1 after fees, b: 100.060005 -> b is cheaper despite the higher quote
    assert buy.venue == "b"
    assert "b 100.060005" in buy.reason
    assert "a 100.1" in buy.reason
    assert buy.quotes_payload()["a"]["effective_price"] == "100.10000"
    sell = router.route(intent("sell"), view, {})
    assert sell.venue == "b"  # 100.05*(1-0.0001)=100.039995 > 100*(1-0.001)=99.9


def test_router_sends_reduce_only_where_the_position_is() -> None:
    router = ExecutionRouter({("a", "BTC/USDT"): inst("a"), ("b", "BTC/USDT"): inst("b")}, {})
    view = market({"a": "100", "b": "90"})
    route = router.route(intent("sell", "5", reduce_only=True), view, {"a": D("2"), "b": D("0")})
    assert route.venue == "a"
    assert route.quantity == D("2")
    with pytest.raises(NoRouteError, match="no venue holds a position"):
        router.route(intent("buy", "1", reduce_only=True), view, {"a": D("2")})


class _Cap(RiskRule[PluginConfig]):
    name = "cap"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        if intent.quantity > 2:
            return RiskVerdict.resize(self.name, D("2"), "too big", limit=2)
        return RiskVerdict.approve(self.name)


class _Grow(RiskRule[PluginConfig]):
    name = "grow"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        return RiskVerdict.resize(self.name, intent.quantity + 1, "bigger")


class _Trip(RiskRule[PluginConfig]):
    name = "trip"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        return RiskVerdict.reject(self.name, "drawdown 30% >= 20%", kill_switch="trip")


def ctx() -> RiskContext:
    return RiskContext(
        ts=TS, portfolio=PortfolioSnapshot(ts=TS, equity="1000"), market=market({"a": "1"})
    )


def test_pipeline_resizes_then_passes_on_and_keeps_every_verdict() -> None:
    pipe = RiskPipeline([("cap", _Cap(PluginConfig())), ("cap2", _Cap(PluginConfig()))])
    result = pipe.evaluate(intent("buy", "5"), ctx())
    assert result.intent is not None
    assert result.intent.quantity == D("2")
    assert [v.action for v in result.verdicts] == [VerdictAction.RESIZE, VerdictAction.APPROVE]


def test_pipeline_refuses_a_resize_that_grows_the_order() -> None:
    with pytest.raises(PluginContractError, match="must make the order smaller"):
        RiskPipeline([("grow", _Grow(PluginConfig()))]).evaluate(intent("buy", "1"), ctx())


def test_pipeline_reports_kill_switch_trip() -> None:
    result = RiskPipeline(
        [("trip", _Trip(PluginConfig())), ("cap", _Cap(PluginConfig()))]
    ).evaluate(intent("buy"), ctx())
    assert result.intent is None
    assert result.trip_kill_switch
    assert result.rejected_by is not None
    assert result.rejected_by.rule == "trip"
    assert len(result.verdicts) == 1
