"""Portfolio oversight each tick: every configured ``oversight`` component reviews the book.

Risk rules judge one intent at a time and are pure; some duties need the whole
book and a memory instead (the built-in risk monitor and arbitrage guard, any
third-party watcher). Each tick the engine builds one
:class:`~crypto_bot_sdk.OversightContext` and awaits every component's
``review`` through its plugin's fence with the oversight budget. What comes
back is checked before it is used:

- alerts are raised (:func:`~crypto_bot_core.engine.observers.publish_alert`):
  a ``system.alert`` record, the ``cryptobot_alert`` hook, and through the ledger
  the notifiers;
- each :class:`~crypto_bot_sdk.PairedIntents` is traded all or none: every leg
  through the risk rules, and if one is refused none is sent (a ``decision``
  record says why, with the pair's evidence); if a rule shrinks a leg every leg
  is cut to the smallest approved quantity. The orders carry the evidence.

A component that raises, overruns its budget or answers something unsound
(another type, a time after the tick, a leg on a venue or instrument the engine
does not trade, an intent id used before) is skipped for that tick and recorded
once per component and kind of failure; trading goes on.

The same tick gives the notifiers' deliveries a turn of the event loop (see
:class:`~crypto_bot_core.engine.observers.AlertFanout`): the kernel's one call
into this module is :meth:`Oversight.tick`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.engine.observers import AlertFanout, publish_alert
from crypto_bot_core.host.fence import Fence, PluginTimeoutError
from crypto_bot_core.risk.arbitrage import ARBITRAGE_POLICY
from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    Component,
    CryptoBotError,
    InstrumentKind,
    OrderIntent,
    OversightContext,
    OversightOutcome,
    PairedIntents,
    RecordType,
    RiskContext,
)
from crypto_bot_sdk import Oversight as OversightComponent

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk
    from crypto_bot_core.engine.risk import PipelineResult

REVIEW_BUDGET = 5.0
"""Seconds one component's ``review`` may take per tick (and its ``start``)."""


@dataclass
class Watcher:
    """One configured oversight component: its instance name, itself and its plugin's fence."""

    name: str
    component: OversightComponent[Any]
    fence: Fence


@dataclass
class Oversight:
    """The oversight components and the notifier fan-out of one run (see the module doc)."""

    watchers: Sequence[Watcher] = ()
    budget: float | None = REVIEW_BUDGET
    notifiers: AlertFanout | None = None
    pairs_sent: int = 0
    alerts_raised: int = 0
    _started: bool = field(default=False, init=False)
    _broken: set[str] = field(default_factory=set, init=False)
    """Components whose ``start`` failed: never asked to review."""
    _reported: set[tuple[str, str]] = field(default_factory=set, init=False)
    _intent_ids: set[str] = field(default_factory=set, init=False)
    _fees: Mapping[str, Decimal] | None = field(default=None, init=False)

    async def tick(self, engine: Desk, ts: datetime) -> None:
        if not self._started:
            await self._start(engine, ts)
        if self.watchers and not engine.killed:
            context = self._context(engine, ts)
            for watcher in self.watchers:
                if watcher.name not in self._broken:
                    await self._review(engine, watcher, context, ts)
        if self.notifiers is not None:
            await self.notifiers.pump()

    async def close(self) -> None:
        """Close every component and notifier (deliveries in flight get their budget)."""
        for watcher in self.watchers:
            if watcher.name not in self._broken:
                try:
                    await watcher.fence.call_async(watcher.component.close, budget=self.budget)
                except CryptoBotError:
                    continue  # closing is best effort; the run's records are complete
        if self.notifiers is not None:
            await self.notifiers.close()

    async def _start(self, engine: Desk, ts: datetime) -> None:
        self._started = True
        for watcher in self.watchers:
            if type(watcher.component).start is Component.start:
                continue
            try:
                await watcher.fence.call_async(watcher.component.start, budget=self.budget)
            except CryptoBotError as exc:
                self._broken.add(watcher.name)
                self._failed(engine, watcher, "start", f"start failed: {exc}", ts)

    def _context(self, engine: Desk, ts: datetime) -> OversightContext:
        if self._fees is None:
            self._fees = {venue: fees.taker for venue, fees in engine.router.fees.items()}
        return build(
            OversightContext,
            ts=ts,
            portfolio=engine.portfolio.snapshot(ts),
            market=engine.market,
            open_orders=tuple(engine.orders.open_orders()),
            fees=self._fees,
        )

    async def _review(
        self, engine: Desk, watcher: Watcher, context: OversightContext, ts: datetime
    ) -> None:
        try:
            outcome = await watcher.fence.call_async(
                watcher.component.review, context, budget=self.budget
            )
        except CryptoBotError as exc:  # a PluginError from the fence, or an SDK error
            kind = "timeout" if isinstance(exc, PluginTimeoutError) else "raised"
            self._failed(engine, watcher, kind, str(exc), ts)
            return
        problem = self._unsound(engine, outcome, ts)
        if problem is not None:
            self._failed(engine, watcher, "answer", problem, ts)
            return
        for alert in outcome.alerts:
            self.alerts_raised += 1
            publish_alert(engine.ledger, engine.observers, alert, event="oversight_alert")
        for pair in outcome.pairs:
            if engine.killed:
                return  # a leg tripped the kill switch: no new orders
            await self._trade(engine, watcher, pair, ts)

    def _unsound(self, engine: Desk, outcome: object, ts: datetime) -> str | None:
        """What is wrong with a review's answer, or None when it may be used."""
        if not isinstance(outcome, OversightOutcome):
            return f"review returned {type(outcome).__name__} ({outcome!r:.80}), not an outcome"
        for alert in outcome.alerts:
            if alert.ts > ts:
                return f"alert {alert.title!r} is dated {alert.ts.isoformat()}, after the tick"
        for pair in outcome.pairs:
            for leg in pair.legs:
                if (leg.venue or "", leg.symbol) not in engine.instruments:
                    return (
                        f"leg {leg.intent_id!r} trades {leg.symbol} on {leg.venue!r}, which "
                        "no configured exchange lists"
                    )
                if leg.ts > ts:
                    return f"leg {leg.intent_id!r} is dated {leg.ts.isoformat()}, after the tick"
                if leg.intent_id in self._intent_ids:
                    return f"leg intent id {leg.intent_id!r} was used before; give each its own"
        return None

    async def _trade(
        self, engine: Desk, watcher: Watcher, pair: PairedIntents, ts: datetime
    ) -> None:
        """Every leg through the risk rules, then all legs (cut to the smallest) or none."""
        snapshot = engine.portfolio.snapshot(ts)
        open_orders = tuple(engine.orders.open_orders())
        results: list[PipelineResult] = []
        for leg in pair.legs:
            context = build(
                RiskContext,
                ts=ts,
                portfolio=snapshot,
                market=engine.market,
                open_orders=open_orders,
                reference_price=leg.price or engine.market.last_price(leg.symbol, leg.venue),
            )
            results.append(engine.risk.evaluate(leg, context))
        verdicts = [v.model_dump(mode="json") for result in results for v in result.verdicts]
        evidence = dict(pair.evidence)
        arbitrage = all(leg.policy == ARBITRAGE_POLICY for leg in pair.legs)
        for leg in pair.legs:
            self._intent_ids.add(leg.intent_id)
        if any(result.trip_kill_switch for result in results):
            await engine.kill(f"risk rule tripped the kill switch at {ts.isoformat()}")
            return
        if any(result.intent is None for result in results):
            refusal: dict[str, Any] = {
                "symbol": pair.legs[0].symbol,
                "outcome": "arbitrage refused" if arbitrage else "pair refused",
                "oversight": watcher.name,
                "intent_ids": [leg.intent_id for leg in pair.legs],
                "evidence": evidence,
                "risk_verdicts": verdicts,
            }
            if "edge_bps" in evidence:
                refusal["edge_bps"] = evidence["edge_bps"]
            engine.ledger.append(RecordType.DECISION, refusal, ts=ts)
            return
        quantity = min(result.intent.quantity for result in results if result.intent)
        legs = [leg if leg.quantity == quantity else leg.resized(quantity) for leg in pair.legs]
        decision: dict[str, Any] = {
            "oversight": watcher.name,
            "evidence": evidence,
            "risk_verdicts": verdicts,
        }
        if arbitrage:
            decision["arbitrage"] = evidence  # the shape the arbitrage guard always wrote
        journal = engine.journal
        journal.dirty = True
        journal.verdicts.extend(v for result in results for v in result.verdicts)
        for leg in legs:
            journal.intents.append(leg)
            journal.orders.append(await _send(engine, leg, ts, decision))
        self.pairs_sent += 1

    def _failed(self, engine: Desk, watcher: Watcher, kind: str, detail: str, ts: datetime) -> None:
        """Record a component's failure once per kind; its review is skipped this tick."""
        if (watcher.name, kind) in self._reported:
            return
        self._reported.add((watcher.name, kind))
        titles = {
            "raised": "oversight component failed; skipped this tick",
            "timeout": "oversight component over its time budget; skipped this tick",
            "answer": "oversight component answered something unsound; ignored this tick",
            "start": "oversight component did not start; it is not asked to review",
        }
        publish_alert(
            engine.ledger,
            engine.observers,
            Alert(
                ts=ts,
                severity=AlertSeverity.HIGH,
                source=watcher.name,
                title=titles[kind],
                detail=detail,
                figures={"failure": kind},
            ),
            event="oversight_failed",
        )


async def _send(engine: Desk, leg: OrderIntent, ts: datetime, decision: dict[str, Any]) -> Any:
    assert leg.venue is not None  # PairedIntents refuses a leg without its venue
    instrument = engine.instruments[(leg.venue, leg.symbol)]
    engine.stats.orders += 1
    return await engine.orders.submit(
        leg,
        venue=leg.venue,
        quantity=leg.quantity,
        ts=ts,
        decision=decision,
        reduce_only=leg.reduce_only and instrument.kind is InstrumentKind.PERPETUAL,
    )
