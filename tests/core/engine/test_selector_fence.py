"""The policy selector in the engine: asked every decision tick through its fence, its choice in
the decision records, its failures replaced by the registry's mapping, its rewards per window.

The engine is the real one (synthetic market, paper venue, in-memory ledger) with two policies:
``trend`` (the registry's choice for every symbol) and ``contra`` (the momentum agent's signal
turned round), so which policy traded each order shows in the ledger.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fence_parts import Momentum, market, memory_records, run, venue

from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.selection import FencedSelector, selection_of
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    MarketView,
    PluginConfig,
    PolicyChoice,
    PolicySelector,
    RecordType,
    Signal,
)

SYMBOLS = ("BTC/USDT", "ETH/USDT")


class Contrarian(Momentum):
    """The momentum agent's signal turned round: a policy that trades the other way."""

    name = "contrarian"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        signal = await super().evaluate(symbol, market)
        if signal is None:
            return None
        return signal.model_copy(update={"agent": self.name, "score": -signal.score})


class Scripted(PolicySelector[PluginConfig]):
    """Answers ``answer(call number, symbol, policies)``; records every call and reward."""

    name = "scripted"

    def __init__(self, answer: Callable[[int, str, Sequence[str]], Any]) -> None:
        super().__init__(PluginConfig())
        self.answer = answer
        self.calls: list[tuple[str, datetime, tuple[str, ...]]] = []
        self.rewards: list[tuple[str, str, float, datetime]] = []

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        self.calls.append((symbol, market.now, tuple(policies)))
        result: PolicyChoice = self.answer(len(self.calls), symbol, policies)
        return result

    def reward(
        self, symbol: str, venue: str | None, policy: str, reward: float, ts: datetime
    ) -> None:
        self.rewards.append((symbol, policy, reward, ts))


def engine_with(selector: PolicySelector[Any] | None, *, budget: float | None = 1.0) -> Engine:
    fenced = None
    if selector is not None:
        fence = Fence("select-pack", "select-pack-dist")
        fenced = FencedSelector(selector, instance="meta", fence=fence, budget=budget)
    return Engine(
        run_id="selector-test",
        data_sources=[market(symbols=SYMBOLS, bars=80)],
        agents={"momentum": Momentum(PluginConfig()), "contrarian": Contrarian(PluginConfig())},
        exchanges={"sim": venue()},
        policies=PolicyRegistry.from_mapping(
            {
                "policies": {
                    "trend": {"agents": [{"agent": "momentum"}]},
                    "contra": {"agents": [{"agent": "contrarian"}]},
                },
                "default": "trend",
            }
        ),
        risk=RiskPipeline(),
        ledger=MemoryAuditLog(),
        sizing=SizingConfig(notional_per_symbol=Decimal(1000)),
        selector=fenced,
    )


def records(engine: Engine, kind: RecordType) -> list[dict[str, Any]]:
    return [payload for t, payload in memory_records(engine) if t is kind]


def selections(engine: Engine) -> list[dict[str, Any]]:
    return [p for p in records(engine, RecordType.DECISION) if p["outcome"] == "policy selected"]


def decision_ticks(engine: Engine) -> int:
    """Every symbol of every tick was decided on (no kill switch in these runs)."""
    return len(engine.equity_curve) * len(SYMBOLS)


def test_the_selector_replaces_the_mapping_and_is_asked_every_decision_tick() -> None:
    selector = Scripted(lambda n, symbol, policies: PolicyChoice("contra", confidence=0.8))
    engine = engine_with(selector)
    asyncio.run(run(engine))

    assert len(selector.calls) == decision_ticks(engine) == 160
    assert len({(symbol, ts) for symbol, ts, _ in selector.calls}) == 160  # once per tick
    # the registry's choice is offered first, then the rest of the registry
    assert {offered for _, _, offered in selector.calls} == {("trend", "contra")}
    intents = records(engine, RecordType.ORDER_INTENT)
    assert intents
    assert {p["policy"] for p in intents} == {"contra"}
    assert all(set(p["signals"]) == {"contrarian"} for p in intents)
    # one selection record per symbol: the choice never changed
    chosen = selections(engine)
    assert sorted(p["symbol"] for p in chosen) == sorted(SYMBOLS)
    for payload in chosen:
        assert payload["policy"] == "contra"
        assert payload["evidence"] == {
            "selector": "meta",
            "confidence": "0.8",
            "fallback": "false",
            "registry_policy": "trend",
        }
    assert not records(engine, RecordType.ALERT)
    assert selection_of(engine, "BTC/USDT") == {
        "selector": "meta",
        "policy": "contra",
        "confidence": "0.8",
        "fallback": "false",
    }


def test_without_a_selector_the_mapping_decides_and_writes_no_selection_records() -> None:
    engine = engine_with(None)
    asyncio.run(run(engine))
    assert {p["policy"] for p in records(engine, RecordType.ORDER_INTENT)} == {"trend"}
    assert selections(engine) == []
    assert selection_of(engine, "BTC/USDT") is None


def _raises(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
    raise KeyError("model weights")


def _unknown(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
    return PolicyChoice("momentum-v2")


def _not_a_choice(n: int, symbol: str, policies: Sequence[str]) -> Any:
    return "contra"


def _nan_confidence(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
    choice = PolicyChoice("contra")
    object.__setattr__(choice, "confidence", math.nan)  # past the constructor's check
    return choice


@pytest.mark.parametrize(
    ("answer", "failure", "detail"),
    [
        (_raises, "raised", "plugin select-pack (distribution select-pack-dist)"),
        (_unknown, "policy", "select chose 'momentum-v2'"),
        (_not_a_choice, "answer", "select returned str ('contra')"),
        (_nan_confidence, "answer", "confidence nan"),
    ],
)
def test_a_failing_selector_is_replaced_by_the_mapping_and_recorded_once(
    answer: Callable[[int, str, Sequence[str]], Any], failure: str, detail: str
) -> None:
    selector = Scripted(answer)
    engine = engine_with(selector)
    asyncio.run(run(engine))

    guard = engine.selector
    assert isinstance(guard, FencedSelector)
    assert len(selector.calls) == guard.calls == guard.fallbacks == decision_ticks(engine)
    intents = records(engine, RecordType.ORDER_INTENT)
    assert intents
    assert {p["policy"] for p in intents} == {"trend"}  # the registry's mapping traded
    (alert,) = records(engine, RecordType.ALERT)
    assert alert["source"] == "meta"
    assert alert["event"] == "selector_fallback"
    assert alert["severity"] == "high"
    assert alert["figures"] == {"failure": failure}
    assert "the registry's mapping decides" in alert["title"]
    assert detail in alert["detail"]
    assert {p["evidence"]["fallback"] for p in selections(engine)} == {"true"}
    assert selector.rewards == []  # the mapping's choices are not the selector's to learn from
    stop = records(engine, RecordType.SYSTEM_STOP)[-1]
    assert stop["reason"] == "completed"


def test_a_selector_over_its_budget_is_not_followed() -> None:
    def slow(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
        if n == 7:
            time.sleep(0.02)  # one slow answer: a sync call cannot be cut off, only ignored
        return PolicyChoice("contra")

    selector = Scripted(slow)
    engine = engine_with(selector, budget=0.01)
    asyncio.run(run(engine))

    guard = engine.selector
    assert isinstance(guard, FencedSelector)
    assert guard.fallbacks == 1
    (alert,) = records(engine, RecordType.ALERT)
    assert alert["figures"] == {"failure": "late"}
    assert "over its 0.01 s budget" in alert["detail"]
    # the late tick traded the registry's choice, the next one the selector's again
    trail = [(p["symbol"], p["policy"], p["evidence"]["fallback"]) for p in selections(engine)]
    late_symbol = selector.calls[6][0]
    assert [t for t in trail if t[0] == late_symbol] == [
        (late_symbol, "contra", "false"),
        (late_symbol, "trend", "true"),
        (late_symbol, "contra", "false"),
    ]


def test_intermittent_failures_are_recorded_once_per_kind() -> None:
    def flaky(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
        if n % 10 == 0:
            raise RuntimeError("flaky")
        if n % 10 == 5:
            return PolicyChoice("nope")
        return PolicyChoice("contra")

    selector = Scripted(flaky)
    engine = engine_with(selector)
    asyncio.run(run(engine))
    alerts = records(engine, RecordType.ALERT)
    assert sorted(a["figures"]["failure"] for a in alerts) == ["policy", "raised"]
    guard = engine.selector
    assert isinstance(guard, FencedSelector)
    assert guard.fallbacks == 2 * (decision_ticks(engine) // 10)


def test_rewards_follow_each_window_of_a_symbol() -> None:
    def alternate(n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
        return PolicyChoice(policies[(n + 1) // 2 % 2])  # both symbols switch every tick

    selector = Scripted(alternate)
    engine = engine_with(selector)
    asyncio.run(run(engine))

    # every decision tick but each symbol's first closes the window of the previous choice
    assert len(selector.rewards) == decision_ticks(engine) - len(SYMBOLS)
    assert all(math.isfinite(reward) for _, _, reward, _ in selector.rewards)
    chosen: dict[str, list[tuple[datetime, str]]] = {}
    for n, (symbol, ts, offered) in enumerate(selector.calls, start=1):
        chosen.setdefault(symbol, []).append((ts, offered[(n + 1) // 2 % 2]))
    for symbol, policy, _reward, ts in selector.rewards:
        times = [t for t, _ in chosen[symbol]]
        # the reward arrives at the symbol's next decision tick, for the choice before it
        assert chosen[symbol][times.index(ts) - 1][1] == policy
    assert any(reward != 0 for _, _, reward, _ in selector.rewards)
    # the choice changed every tick, and so every tick has its selection record
    assert len(selections(engine)) == decision_ticks(engine)


def test_the_rewards_of_a_symbol_add_up_to_its_pnl_over_the_equity() -> None:
    selector = Scripted(lambda n, symbol, policies: PolicyChoice("contra"))
    engine = engine_with(selector)
    asyncio.run(run(engine))
    initial = sum((a.initial for a in engine.portfolio.accounts.values()), Decimal(0))
    total = sum(reward for _, _, reward, _ in selector.rewards)
    last_equity = engine.equity_curve[-1][1]
    # each window's P&L is divided by the equity when it opened; the equity stays within a
    # few percent of the start here, so the sum is close to the whole P&L over the start
    assert total == pytest.approx(float((last_equity - initial) / initial), abs=5e-4)


def test_a_selector_that_does_not_reward_is_not_asked_to() -> None:
    class Plain(PolicySelector[PluginConfig]):
        name = "plain"

        def select(
            self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
        ) -> PolicyChoice:
            return PolicyChoice("contra")

    engine = engine_with(Plain(PluginConfig()))
    asyncio.run(run(engine))
    assert {p["policy"] for p in records(engine, RecordType.ORDER_INTENT)} == {"contra"}


class Starting(Scripted):
    """A selector that loads its model in ``start``; ``select`` before it would be a bug."""

    def __init__(self, fail: bool) -> None:
        super().__init__(self._choose)
        self.fail = fail
        self.started = 0

    def _choose(self, n: int, symbol: str, policies: Sequence[str]) -> PolicyChoice:
        assert self.started == 1, "select before start"
        return PolicyChoice("contra")

    async def start(self) -> None:
        await asyncio.sleep(0)
        self.started += 1
        if self.fail:
            raise OSError("model file missing")


def test_a_selector_is_started_once_before_its_first_choice() -> None:
    selector = Starting(fail=False)
    engine = engine_with(selector)
    asyncio.run(run(engine))
    assert selector.started == 1
    assert len(selector.calls) == decision_ticks(engine)
    assert not records(engine, RecordType.ALERT)


def test_a_selector_that_cannot_start_is_never_asked() -> None:
    selector = Starting(fail=True)
    engine = engine_with(selector)
    asyncio.run(run(engine))
    assert selector.started == 1
    assert selector.calls == []
    (alert,) = records(engine, RecordType.ALERT)
    assert alert["figures"] == {"failure": "start"}
    assert "model file missing" in alert["detail"]
    assert {p["policy"] for p in records(engine, RecordType.ORDER_INTENT)} == {"trend"}
