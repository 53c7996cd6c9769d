"""One decision: the symbol's policy asks its agents, sizing makes an intent, risk rules judge
it, the router picks a venue, and the order manager records and sends the order.

Every step that changes nothing still leaves evidence: a rejected or
unroutable intent is a decision record with the verdicts and the reason.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_bot_core.engine.policy import PolicySpec, blend, combine
from crypto_bot_core.engine.router import NoRouteError
from crypto_bot_core.engine.sizing import intent_for, no_trade_due
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
    from crypto_bot_core.engine.desk import Desk as Engine


async def _signals(engine: Engine, policy: str, symbol: str) -> dict[str, Signal]:
    """Ask the policy's agents, each through its fence, with its time budget.

    An agent that is unavailable or overruns its budget (the fence's ``budget``;
    ``with_budget`` gives the agent fences theirs) is dropped from this tick and
    recorded once per outage, with a record when it answers again. One that
    crashes or returns something unsound (not a Signal, NaN, out of range; see
    :func:`~crypto_bot_core.engine.checks.check_signal`) is dropped and recorded
    once: nothing it returned reaches sizing or the ledger.
    """
    # Local imports: this function is the only part of the module the fence work owns.
    from crypto_bot_core.engine.checks import check_signal
    from crypto_bot_core.host.fence import Fence, PluginTimeoutError

    spec = engine.policies.policies[policy]
    signals: dict[str, Signal] = {}
    for member in spec.agents:
        agent = engine.agents[member.agent]
        # An agent handed over without the host's fence is still fenced: never a raw
        # traceback out of the engine, and the error names the agent instance.
        fence = engine.agent_fences.get(member.agent) or Fence(member.agent)
        started = time.perf_counter()
        try:
            signal = await fence.call_async(agent.evaluate, symbol, engine.market)
            if signal is not None:
                signal = check_signal(signal, agent=member.agent, symbol=symbol)
        except (AgentUnavailableError, PluginTimeoutError) as exc:
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
                        "title": "agent unavailable; dropped from aggregation"
                        if isinstance(exc, AgentUnavailableError)
                        else "agent over its time budget; dropped from aggregation",
                        "detail": str(exc),
                        "event": "agent_fallback",
                    },
                    ts=engine.now(),
                )
            continue
        except PluginError as exc:
            # A crashing agent, or one that returned an unsound signal, is dropped from
            # this tick like an unavailable one; the failure is recorded once per agent.
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
                        "event": "agent_failed",
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
    """Decide on ``symbol`` at ``ts``: its policy, its agents' view, and an order if one is due.

    When every agent of the policy precomputed its scores, the blend is computed from the
    floats alone and, when sizing says no order is due (the position already matches the
    target's side), nothing else is built: no signal, no intent, no record. That is most
    bars of a backtest. Otherwise the full signals are made and the pipeline runs.
    """
    assert engine.selector is not None
    policy = engine.selector.select(symbol, engine.market)
    spec = engine.policies.policies[policy]
    precomputed = engine.precomputed
    if precomputed.active:
        scored = _precomputed_scores(engine, spec, symbol)
        if scored is not None:
            blended = blend(spec, scored)
            if blended is None:
                return
            price = engine.market.last_price(symbol)
            venues = engine.venues_for(symbol)
            if price is not None and venues:
                instrument = engine.instruments[(venues[0], symbol)]
                current = engine.portfolio.net_quantity(symbol)
                if no_trade_due(engine.sizing, blended[0], current, price, instrument):
                    engine.stats.signals += 1
                    return
            signals = _signals_from_scores(engine, symbol, ts, scored)
            await decide_on(engine, symbol, ts, policy, signals)
            return
    signals = await _signals(engine, policy, symbol)
    await decide_on(engine, symbol, ts, policy, signals)


def _precomputed_scores(
    engine: Engine, spec: PolicySpec, symbol: str
) -> dict[str, tuple[float, float] | None] | None:
    """Each member's (score, confidence) at the last bar (None: no opinion), or None when a
    member does not precompute ``symbol`` (then every member is asked ``evaluate``)."""
    scored: dict[str, tuple[float, float] | None] = {}
    for member in spec.agents:
        track = engine.precomputed.track(member.agent, symbol)
        if track is None:
            return None
        scored[member.agent] = track.current()
    return scored


def _signals_from_scores(
    engine: Engine, symbol: str, ts: datetime, scored: dict[str, tuple[float, float] | None]
) -> dict[str, Signal]:
    """The full signals behind precomputed scores, built only for a decision that needs them."""
    signals: dict[str, Signal] = {}
    for name, pair in scored.items():
        if pair is None:
            continue
        agent = engine.agents[name]
        fence = engine.agent_fences.get(name)
        try:
            if fence is None:
                signal = agent.signal_from_score(symbol, ts, pair[0], pair[1])
            else:
                signal = fence.call(agent.signal_from_score, symbol, ts, pair[0], pair[1])
        except PluginError as exc:
            _agent_failed(engine, name, exc)
            continue
        if (
            not isinstance(signal, Signal)
            or signal.symbol != symbol
            or signal.score != pair[0]
            or signal.confidence != pair[1]
        ):
            _agent_failed(
                engine,
                name,
                PluginError(
                    f"signal_from_score gave {signal!r}, not the precomputed score "
                    f"{pair[0]!r} (confidence {pair[1]!r}) for {symbol}",
                    plugin=name,
                ),
            )
            continue
        signals[name] = signal
        if engine.observers is not None:
            engine.observers.emit("cryptobot_signal", signal=signal)
    return signals


def _agent_failed(engine: Engine, name: str, exc: PluginError) -> None:
    """A failing agent drops out of this decision; the failure is recorded once per agent."""
    engine.stats.agent_fallbacks += 1
    engine.metrics.agent_fallback(name)
    if name in engine.failed_agents:
        return
    engine.failed_agents.add(name)
    engine.ledger.append(
        RecordType.ALERT,
        {"source": name, "severity": "high", "title": "agent failed", "detail": str(exc)},
        ts=engine.now(),
    )


async def decide_on(
    engine: Engine, symbol: str, ts: datetime, policy: str, signals: dict[str, Signal]
) -> None:
    """Everything after the agents: sizing, risk, routing and the order."""
    combined = combine(policy, engine.policies.policies[policy], signals, symbol, ts)
    if combined is None:
        return
    engine.stats.signals += 1
    journal = engine.journal
    journal.dirty = True
    journal.signals.append(combined)
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
    journal.intents.append(intent)
    context = build(
        RiskContext,
        ts=ts,
        portfolio=engine.portfolio.snapshot(ts),
        market=engine.market,
        open_orders=tuple(engine.orders.open_orders()),
        reference_price=price,
    )
    result = engine.risk.evaluate(intent, context)
    journal.verdicts.extend(result.verdicts)
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
    order = await engine.orders.submit(
        result.intent,
        venue=route.venue,
        quantity=route.quantity,
        ts=ts,
        decision=decision,
        # Reduce-only is a derivatives flag; on spot the router's venue choice does the job.
        reduce_only=result.intent.reduce_only and route.instrument.kind is InstrumentKind.PERPETUAL,
    )
    journal.orders.append(order)
