"""One decision: the symbol's policy asks its agents, sizing makes an intent, risk rules judge
it, the router picks a venue, and the order manager records and sends the order.

Every step that changes nothing still leaves evidence: a rejected or
unroutable intent is a decision record with the verdicts and the reason.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_bot_core.engine.policy import combine
from crypto_bot_core.engine.router import NoRouteError
from crypto_bot_core.engine.sizing import intent_for
from crypto_bot_core.support.trusted import build, replace
from crypto_bot_sdk import (
    AgentUnavailableError,
    Alert,
    AlertSeverity,
    InstrumentKind,
    PluginError,
    RecordType,
    RiskContext,
    Signal,
)

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine


async def _signals(engine: Engine, policy: str, symbol: str) -> dict[str, Signal]:
    spec = engine.policies.policies[policy]
    signals: dict[str, Signal] = {}
    for member in spec.agents:
        agent = engine.agents[member.agent]
        fence = engine.agent_fences.get(member.agent)
        started = time.perf_counter()
        try:
            if fence is None:
                signal = await agent.evaluate(symbol, engine.market)
            else:
                signal = await fence.call_async(agent.evaluate, symbol, engine.market)
        except AgentUnavailableError as exc:
            engine.stats.agent_fallbacks += 1
            engine.metrics.agent_fallback(member.agent)
            if member.agent not in engine.unavailable_agents:
                # Recorded once per outage, not every tick it lasts.
                engine.unavailable_agents.add(member.agent)
                engine.ledger.append(
                    RecordType.ALERT,
                    {
                        "source": member.agent,
                        "severity": "warning",
                        "title": "agent unavailable; dropped from aggregation",
                        "detail": str(exc),
                        "event": "agent_fallback",
                    },
                    ts=engine.now(),
                )
            continue
        except PluginError as exc:
            # A crashing agent is dropped from this tick like an unavailable one,
            # and the failure is recorded once per agent for the operator.
            engine.stats.agent_fallbacks += 1
            engine.metrics.agent_fallback(member.agent)
            if member.agent not in engine.failed_agents:
                engine.failed_agents.add(member.agent)
                engine.ledger.append(
                    RecordType.ALERT,
                    {
                        "source": member.agent,
                        "severity": "high",
                        "title": "agent failed",
                        "detail": str(exc),
                    },
                    ts=engine.now(),
                )
                if engine.observers is not None:
                    engine.observers.emit(
                        "cryptobot_alert",
                        alert=Alert(
                            ts=engine.now(),
                            severity=AlertSeverity.HIGH,
                            source=member.agent,
                            title="agent failed; dropped from aggregation",
                            detail=str(exc),
                        ),
                    )
            continue
        engine.metrics.agent_latency(member.agent, time.perf_counter() - started)
        if member.agent in engine.unavailable_agents:
            engine.unavailable_agents.discard(member.agent)
            engine.ledger.append(
                RecordType.ALERT,
                {
                    "source": member.agent,
                    "severity": "info",
                    "title": "agent available again",
                    "event": "agent_recovered",
                },
                ts=engine.now(),
            )
        if signal is not None:
            signals[member.agent] = signal
            if engine.observers is not None:
                engine.observers.emit("cryptobot_signal", signal=signal)
    return signals


async def decide(engine: Engine, symbol: str, ts: datetime) -> None:
    assert engine.selector is not None
    policy = engine.selector.select(symbol, engine.market)
    signals = await _signals(engine, policy, symbol)
    await decide_on(engine, symbol, ts, policy, signals)


async def decide_on(
    engine: Engine, symbol: str, ts: datetime, policy: str, signals: dict[str, Signal]
) -> None:
    """Everything after the agents: the one decision pipeline both kernel paths share."""
    combined = combine(policy, engine.policies.policies[policy], signals, symbol, ts)
    if combined is None:
        return
    engine.stats.signals += 1
    price = engine.market.last_price(symbol)
    venues = engine.venues_for(symbol)
    if price is None or not venues:
        return
    instrument = engine.instruments[(venues[0], symbol)]
    current = engine.portfolio.net_quantity(symbol)
    intent = intent_for(
        engine.sizing,
        combined,
        current=current,
        price=price,
        instrument=instrument,
        intent_id=f"{engine.run_id[:12]}-i{engine.stats.intents + 1:06d}",
        policy=policy,
    )
    if intent is None:
        return
    intent = replace(intent, venue=None)
    engine.stats.intents += 1
    context = build(
        RiskContext,
        ts=ts,
        portfolio=engine.portfolio.snapshot(ts),
        market=engine.market,
        open_orders=tuple(engine.orders.open_orders()),
        reference_price=price,
    )
    result = engine.risk.evaluate(intent, context)
    for verdict in result.verdicts:
        engine.metrics.verdict(verdict.rule, verdict.action.value)
    verdicts = [v.model_dump(mode="json") for v in result.verdicts]
    if result.trip_kill_switch:
        await engine.kill(f"risk rule tripped the kill switch at {ts.isoformat()}")
        return
    if result.intent is None:
        engine.stats.rejected += 1
        engine.ledger.append(
            RecordType.DECISION,
            {
                "intent_id": intent.intent_id,
                "symbol": symbol,
                "policy": policy,
                "signals": {k: s.model_dump(mode="json") for k, s in signals.items()},
                "risk_verdicts": verdicts,
                "outcome": "rejected",
            },
            ts=ts,
        )
        return
    positions = {venue: engine.portfolio.position_quantity(venue, symbol) for venue in venues}
    try:
        route = engine.router.route(result.intent, engine.market, positions)
    except NoRouteError as exc:
        engine.stats.rejected += 1
        engine.ledger.append(
            RecordType.DECISION,
            {
                "intent_id": intent.intent_id,
                "symbol": symbol,
                "outcome": "unroutable",
                "reason": str(exc),
            },
            ts=ts,
        )
        return
    decision = {
        "signals": {k: s.model_dump(mode="json") for k, s in signals.items()},
        "combined": combined.model_dump(mode="json"),
        "model_versions": {k: s.model_version for k, s in signals.items() if s.model_version},
        "risk_verdicts": verdicts,
        "routing": {
            "venue": route.venue,
            "reason": route.reason,
            "quotes": route.quotes_payload(),
        },
    }
    engine.stats.orders += 1
    engine.arrival[result.intent.intent_id] = price
    await engine.orders.submit(
        result.intent,
        venue=route.venue,
        quantity=route.quantity,
        ts=ts,
        decision=decision,
        # Reduce-only is a derivatives flag; on spot the router's venue choice does the job.
        reduce_only=result.intent.reduce_only and route.instrument.kind is InstrumentKind.PERPETUAL,
    )
