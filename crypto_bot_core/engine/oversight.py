"""Portfolio oversight each tick: the risk monitor's alerts and the arbitrage guard's pairs.

Risk rules judge one intent at a time and are pure; two things need the whole
book and a memory instead. The monitor compares VaR, expected shortfall and
stress losses with their limits on a schedule and raises a high-severity alert
(ledger record and ``cryptobot_alert`` hook) when one is crossed, once per
crossing. The arbitrage guard looks for cross-venue spreads beyond fees and
sends a hedged pair (buy where cheap, sell where dear) when both legs pass the
risk rules; either both legs go or neither does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crypto_bot_sdk import InstrumentKind, OrderIntent, RecordType, RiskContext

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk
    from crypto_bot_core.risk.arbitrage import ArbitrageDetector
    from crypto_bot_core.risk.monitor import Notifier, RiskMonitor


@dataclass
class Oversight:
    monitor: RiskMonitor | None = None
    monitor_every: timedelta = timedelta(hours=1)
    arbitrage: ArbitrageDetector | None = None
    notifier: Notifier | None = None
    pairs_sent: int = 0
    alerts_raised: int = 0
    _last_check: datetime | None = field(default=None, init=False)

    async def tick(self, engine: Desk, ts: datetime) -> None:
        if engine.killed:
            return
        if self.monitor is not None and (
            self._last_check is None or ts - self._last_check >= self.monitor_every
        ):
            self._last_check = ts
            alerts = self.monitor.check(
                engine.portfolio.snapshot(ts),
                engine.market,
                ledger=engine.ledger,
                notifier=self.notifier,
            )
            self.alerts_raised += len(alerts)
        if self.arbitrage is not None:
            await self._arbitrage(engine, ts)

    async def _arbitrage(self, engine: Desk, ts: datetime) -> None:
        assert self.arbitrage is not None
        snapshot = engine.portfolio.snapshot(ts)
        fees = {venue: schedule.taker for venue, schedule in engine.router.fees.items()}
        for pair in self.arbitrage.detect(engine.market, snapshot, fees=fees):
            legs = []
            for leg in (pair.buy, pair.sell):
                context = RiskContext.model_construct(
                    ts=ts,
                    portfolio=snapshot,
                    market=engine.market,
                    open_orders=tuple(engine.orders.open_orders()),
                    reference_price=leg.price,
                )
                legs.append(engine.risk.evaluate(leg, context))
            buy, sell = legs
            if buy.intent is None or sell.intent is None:
                engine.ledger.append(
                    RecordType.DECISION,
                    {
                        "symbol": pair.symbol,
                        "outcome": "arbitrage refused",
                        "edge_bps": str(pair.edge_bps),
                        "risk_verdicts": [
                            v.model_dump(mode="json") for r in legs for v in r.verdicts
                        ],
                    },
                    ts=ts,
                )
                continue
            hedged = pair.resized(min(buy.intent.quantity, sell.intent.quantity))
            decision: dict[str, Any] = {
                "arbitrage": {
                    "spread_bps": str(pair.spread_bps),
                    "fees_bps": str(pair.fees_bps),
                    "edge_bps": str(pair.edge_bps),
                    "buy_venue": hedged.buy.venue,
                    "sell_venue": hedged.sell.venue,
                },
                "risk_verdicts": [v.model_dump(mode="json") for r in legs for v in r.verdicts],
            }
            for leg in (hedged.buy, hedged.sell):
                await self._send(engine, leg, ts, decision)
            self.pairs_sent += 1

    @staticmethod
    async def _send(
        engine: Desk, leg: OrderIntent, ts: datetime, decision: dict[str, Any]
    ) -> None:
        assert leg.venue is not None  # the detector fixes each leg's venue
        instrument = engine.instruments[(leg.venue, leg.symbol)]
        engine.stats.orders += 1
        await engine.orders.submit(
            leg,
            venue=leg.venue,
            quantity=leg.quantity,
            ts=ts,
            decision=decision,
            reduce_only=leg.reduce_only and instrument.kind is InstrumentKind.PERPETUAL,
        )
