"""One decision: the symbol's policy asks its agents, sizing makes an intent, risk rules judge
it, the router picks a venue, and the order manager records and sends the order.

Every step that changes nothing still leaves evidence: a rejected or
unroutable intent is a decision record with the verdicts and the reason.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_bot_core.engine.checks import check_signal
from crypto_bot_core.engine.policy import PolicySpec, combine
from crypto_bot_core.engine.risk import verdict_json
from crypto_bot_core.engine.router import NoRouteError
from crypto_bot_core.engine.selection import choose_policy, selection_of, start_selector
from crypto_bot_core.engine.sizing import SizingMode, full_position, intent_for
from crypto_bot_core.host.fence import Fence, PluginTimeoutError
from crypto_bot_core.support.trusted import build, replace
from crypto_bot_sdk import (
    AgentUnavailableError,
    Alert,
    AlertSeverity,
    InstrumentKind,
    OrderStatus,
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
            _agent_failed(engine, member.agent, exc)
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


def settle_quietly(engine: Engine, symbol: str, ts: datetime) -> str | None:
    """The cheap part of a decision, run on every bar without a coroutine: None when it is
    settled here (no opinion, or no order due), else the policy :func:`decide` must run.

    The policy comes from the configured selector's fenced choice, else the registry's
    mapping (``selection.py``); ``""`` means the selector must first be started (awaited
    in :func:`decide`). When every agent of the policy precomputed its scores, the blend
    is computed from the floats alone and, when sizing says no order is due (the position
    already matches the target's side), nothing else is built: no signal, no intent, no
    record. That is most bars of a backtest.
    """
    policy = choose_policy(engine, symbol, ts)
    if not policy:
        return policy
    return settle_quietly_with(engine, symbol, policy)


async def decide(engine: Engine, symbol: str, ts: datetime, policy: str | None = None) -> None:
    """Decide on ``symbol`` at ``ts``: its policy, its agents' view, and an order if one is due.

    ``policy`` is what :func:`settle_quietly` answered for this tick (the kernel runs that
    first, synchronously); without it the quiet part runs here.
    """
    if policy is None:
        policy = settle_quietly(engine, symbol, ts)
        if policy is None:
            return
    if not policy:
        policy = await start_selector(engine, symbol, ts)
        if settle_quietly_with(engine, symbol, policy) is None:
            return
    gate = engine.precomputed.plans.get((symbol, policy)) if engine.precomputed.active else None
    if isinstance(gate, _Gate):
        scored = _precomputed_scores(engine, gate.spec, symbol)
        assert scored is not None  # the gate exists only while every member has a track
        signals = _signals_from_scores(engine, symbol, ts, scored)
    else:
        signals = await _signals(engine, policy, symbol)
    await decide_on(engine, symbol, ts, policy, signals)


def settle_quietly_with(engine: Engine, symbol: str, policy: str) -> str | None:
    """:func:`settle_quietly` for a policy already chosen (the selector's first tick)."""
    precomputed = engine.precomputed
    if precomputed.active:
        gate = precomputed.plans.get((symbol, policy))
        if gate is None:
            gate = precomputed.plans[(symbol, policy)] = _gate_for(engine, symbol, policy)
        if isinstance(gate, _Gate):
            verdict = gate.quiet(engine)
            if verdict is _NO_OPINION:
                return None
            if verdict is _QUIET:
                engine.stats.signals += 1
                return None
    return policy


_NO_OPINION = object()
"""The blend has no opinion (no member scored, or too little confidence): nothing to do."""
_QUIET = object()
"""The blend's target keeps the held side: no order is due."""
_DUE = object()
"""An order may be due: the full decision runs."""


class _Gate:
    """The quiet-bar test of one symbol under one policy, with everything it needs resolved
    once: the members' tracks and weights, the instrument, the sizing rule's constants.

    It repeats :func:`~crypto_bot_core.engine.policy.blend`'s float operations in the same
    order and the rule by which :func:`~crypto_bot_core.engine.sizing.intent_for` makes no
    discrete intent (the target keeps the held side, and a full position is not zero
    lots), so its answer is the one the full pipeline would reach; it only saves building
    what would be thrown away.
    """

    __slots__ = (
        "clamp_short",
        "fixed_full_nonzero",
        "instrument",
        "members",
        "min_confidence",
        "sizing",
        "spec",
        "symbol",
        "threshold",
        "total_weight",
    )

    def __init__(self, engine: Engine, symbol: str, spec: PolicySpec) -> None:
        self.symbol = symbol
        self.spec = spec
        self.members = tuple(
            (member.weight, engine.precomputed.track(member.agent, symbol))
            for member in spec.agents
        )
        total = 0.0
        for member in spec.agents:
            total += member.weight
        self.total_weight = total
        self.min_confidence = spec.min_confidence
        venues = engine.venues_for(symbol)
        self.instrument = engine.instruments[(venues[0], symbol)]
        sizing = self.sizing = engine.sizing
        self.clamp_short = sizing.long_only or self.instrument.kind is InstrumentKind.SPOT
        self.threshold = sizing.entry_threshold
        self.fixed_full_nonzero: bool | None = None
        if sizing.quantity_per_symbol is not None:
            full = self.instrument.round_quantity(sizing.quantity_per_symbol)
            self.fixed_full_nonzero = full != 0

    def quiet(self, engine: Engine) -> object:
        numerator = 0.0
        weight_conf = 0.0
        for weight, track in self.members:
            index = track.position - 1  # type: ignore[union-attr]
            scores = track.scores  # type: ignore[union-attr]
            if index < 0 or index >= len(scores):
                continue
            score = scores[index]
            if score != score:  # noqa: PLR0124 - NaN: no opinion on this bar
                continue
            wc = weight * track.confidences[index]  # type: ignore[union-attr]
            numerator += wc * score
            weight_conf += wc
        if weight_conf == 0.0 or weight_conf / self.total_weight < self.min_confidence:
            return _NO_OPINION
        if self.sizing.mode is not SizingMode.DISCRETE:
            return _DUE
        score = max(-1.0, min(1.0, numerator / weight_conf))
        if self.clamp_short and score < 0:
            score = 0.0
        side = 0 if abs(score) <= self.threshold else (1 if score > 0 else -1)
        held = engine.portfolio.side_of(self.symbol)
        if side != held:
            return _DUE
        if side == 0:
            return _QUIET
        if self.fixed_full_nonzero is not None:
            return _QUIET if self.fixed_full_nonzero else _DUE
        price = engine.market.last_price(self.symbol)
        rate = engine.portfolio.rate_for(self.instrument)
        if price is None or full_position(self.sizing, price, self.instrument, rate) == 0:
            return _DUE
        return _QUIET


def _gate_for(engine: Engine, symbol: str, policy: str) -> _Gate | bool:
    """The symbol's gate under ``policy``, or False when the full path must run every bar (a
    member that does not precompute the symbol, or no venue lists it)."""
    spec = engine.policies.policies[policy]
    if not engine.venues_for(symbol):
        return False
    for member in spec.agents:
        if engine.precomputed.track(member.agent, symbol) is None:
            return False
    return _Gate(engine, symbol, spec)


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
        fence = engine.agent_fences.get(name) or Fence(name)
        try:
            signal = check_signal(
                fence.call(agent.signal_from_score, symbol, ts, pair[0], pair[1]),
                agent=name,
                symbol=symbol,
            )
            if (signal.score, signal.confidence) != pair:
                raise PluginError(
                    f"signal_from_score gave score {signal.score!r} (confidence "
                    f"{signal.confidence!r}), not the precomputed {pair[0]!r} ({pair[1]!r})",
                    plugin=name,
                )
        except PluginError as exc:
            _agent_failed(engine, name, exc)
            continue
        signals[name] = signal
        if engine.observers is not None:
            engine.observers.emit("cryptobot_signal", signal=signal)
    return signals


def _agent_failed(engine: Engine, name: str, exc: PluginError) -> None:
    """A crashing agent, or one that returned an unsound signal, is dropped from this tick
    like an unavailable one; the failure is recorded once per agent (ledger and hook)."""
    engine.stats.agent_fallbacks += 1
    engine.metrics.agent_fallback(name)
    if name in engine.failed_agents:
        return
    engine.failed_agents.add(name)
    engine.ledger.append(
        RecordType.ALERT,
        {
            "source": name,
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
                source=name,
                title="agent failed; dropped from aggregation",
                detail=str(exc),
            ),
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
        rate=engine.portfolio.rate_for(instrument),
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
    verdicts = [verdict_json(v) for v in result.verdicts]
    if result.trip_kill_switch:
        await engine.kill(f"risk rule tripped the kill switch at {ts.isoformat()}")
        return
    if result.intent is None:
        engine.stats.rejected += 1
        rule = result.rejected_by
        if rule is not None:
            engine.stats.reject(f"risk rule {rule.rule}", rule.reason)
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
        engine.stats.reject("no route", str(exc))
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
    selection = selection_of(engine, symbol)
    if selection is not None:
        decision["selection"] = selection  # which selector chose the policy, how sure it was
    engine.stats.orders += 1
    if engine.telemetry:
        engine.arrival[result.intent.intent_id] = price  # slippage is measured from it
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
    if order.status is OrderStatus.REJECTED:
        engine.stats.reject(f"venue {route.venue} refused the order", order.reason)
