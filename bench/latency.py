"""Tick-to-order latency of a paper session: the one measurement of the bench and of CI.

``bench/engine.py`` prints p50/p99 of it; ``tests/core/engine/test_latency_budget.py``
runs a short session through the same code and holds it to the specification's budget
(market data received -> order submitted < 2 s at p95). One module, so the figure the
bench prints and the figure CI checks cannot drift apart.

What is measured: from the moment the data source hands a timestamp's first event to
the engine (the "tick") to the moment the order decided on it reaches the paper venue's
submit (``place_order``), for every order of the session. With the SQLite ledger on, that
span includes committing the intent (fsync included), which the order path does before
it submits. The source is wrapped through ``assemble(..., wrap_sources=...)``, so the
engine is built whole and never changed afterwards.

Optionally the source is *paced*: each new timestamp arrives ``gap_s`` after the previous
one, as on a live feed, instead of all at once as from a file. A paced run shows whether
the engine decides on a tick when it arrives, or only once the next tick has arrived
(the tick-to-order latency then grows with the gap).

This file is imported by path (``bench/`` is not a package); it depends only on the
core and the SDK.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import AuditLog, MemoryAuditLog
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import DataSource, Instrument, MarketEvent, Order, OrderRequest, PluginConfig

SYMBOL = "BTC/USDT"
VENUE = "paper"
NOTIONAL = 10_000
CASH = 10_000_000
"""Enough that a million bars of fees (~45,000 taker fills of 10,000) stay far from the
drawdown limit: a run must trade to the end, not stop at the kill switch."""
TAKER_FEE = "0.0004"

STRATEGY = """
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 10, slow: 20}}}}
exchanges:
  - name: {venue}
    plugin: paper-exchange
    config: {{venue: {venue}, fill_at: {fill_at}, taker_fee: "{fee}", balances: {{USDT: "{cash}"}}}}
sizing: {{mode: discrete, {sizing}, long_only: true}}
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "{order_limit}"}}}}
  - {{plugin: "standard-risk:max_position", config: {{max_notional: "{position_limit}"}}}}
  - {{plugin: "standard-risk:max_gross_exposure", config: {{max_leverage: "1"}}}}
  - {{plugin: "standard-risk:max_drawdown", config: {{max_drawdown: "0.5"}}}}
  - {{plugin: "standard-risk:price_band", config: {{max_deviation_bps: "500"}}}}
"""
"""The bench's one strategy, EMA(10)/EMA(20) long only through a paper venue and the five
standard risk rules; :func:`strategy_config` fills in what differs between its sessions."""

SYNTHETIC_SOURCE = """
mode: {mode}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [{symbol}], venues: [{venue}], timeframe: 1m, bars: {bars}, seed: 7}}"""


def strategy_config(
    *, venue: str, fill_at: str, sizing: str, order_limit: str, position_limit: str
) -> str:
    """The YAML of :data:`STRATEGY` (``sizing`` is the sizing mapping's size entry).

    One template for the synthetic session here and the anchor's file session of
    ``bench/engine.py``, so the two benches time the same agent, venue and rules and
    differ only in the venue, the size of a trade and the limits that size calls for.
    """
    return STRATEGY.format(
        venue=venue,
        fill_at=fill_at,
        fee=TAKER_FEE,
        cash=CASH,
        sizing=sizing,
        order_limit=order_limit,
        position_limit=position_limit,
    )


def synthetic_config(bars: int, *, mode: str, fill_at: str = "signal_close") -> str:
    """The bench's synthetic session for ``bars`` bars in ``mode``: one symbol on seeded
    one-minute bars, 10,000 USDT a position, order and position limits above that."""
    source = SYNTHETIC_SOURCE.format(mode=mode, symbol=SYMBOL, venue=VENUE, bars=bars)
    return source + strategy_config(
        venue=VENUE,
        fill_at=fill_at,
        sizing=f'notional_per_symbol: "{NOTIONAL}"',
        order_limit="25000",
        position_limit="30000",
    )


class Stamped(DataSource[PluginConfig]):
    """Passes a source's events through, noting when each timestamp first reached the engine.

    With ``gap_s`` > 0 each new timestamp is held back that long after the previous one
    was handed over, as a live feed delivers ticks; the stamp is taken after the wait,
    when the tick "arrives".
    """

    name = "stamped"

    def __init__(self, inner: DataSource[Any], gap_s: float = 0.0) -> None:
        super().__init__(PluginConfig())
        self.inner = inner
        self.gap_s = gap_s
        self.entered: dict[datetime, int] = {}

    def instruments(self) -> Sequence[Instrument]:
        return self.inner.instruments()

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        clock = time.perf_counter_ns
        entered = self.entered
        async for event in self.inner.stream(start, end):
            if event.ts not in entered:
                if self.gap_s > 0 and entered:
                    await asyncio.sleep(self.gap_s)
                entered[event.ts] = clock()
            yield event


@dataclass
class LatencyRun:
    """Tick-to-order samples of one paper session, in microseconds, and what it did."""

    samples: list[float]
    bars: int
    orders: int
    fills: int

    def percentile(self, q: float) -> float:
        return percentile(self.samples, q)

    def line(self, label: str) -> str:
        """One printed line: p50, p95, p99 and the mean over every order."""
        if not self.samples:
            return f"  {label:<34} no order was placed in {self.bars:,} bars"
        return (
            f"  {label:<34} p50 {self.percentile(0.5):9.1f} us   "
            f"p95 {self.percentile(0.95):9.1f} us   p99 {self.percentile(0.99):9.1f} us   "
            f"mean {statistics.fmean(self.samples):9.1f} us over {len(self.samples):,} orders"
        )


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q < 1) of non-empty ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def paper_latency(
    bars: int,
    host: Host,
    *,
    ledger_on: bool,
    fill_at: str = "signal_close",
    gap_s: float = 0.0,
    folder: Path | None = None,
) -> LatencyRun:
    """Run a paper session of ``bars`` synthetic bars and time every order from its tick.

    ``ledger_on`` opens the hash-linked SQLite ledger in ``folder`` (a new temporary
    folder when None); off, records go to memory. ``gap_s`` paces the source (see the
    module doc).
    """
    folder = folder or Path(tempfile.mkdtemp(prefix="bench-latency-"))
    ledger: AuditLog = (
        open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}") if ledger_on else MemoryAuditLog()
    )
    stamped: list[Stamped] = []

    def wrap(source: DataSource[Any]) -> DataSource[Any]:
        wrapper = Stamped(source, gap_s)
        stamped.append(wrapper)
        return wrapper

    loaded = parse_config(synthetic_config(bars, mode="paper", fill_at=fill_at), environ={})
    engine = assemble(
        loaded,
        host,
        ledger=ledger,
        run_id="bench-latency",
        run_dir=folder,
        wrap_sources=wrap,
    ).engine
    (source,) = stamped
    samples: list[float] = []
    venue = engine.exchanges[VENUE]
    place: Callable[[OrderRequest], Order] = venue.place_order  # type: ignore[attr-defined]

    def stamped_place(request: OrderRequest) -> Order:
        arrived = time.perf_counter_ns()
        samples.append((arrived - source.entered[engine.clock.now()]) / 1000)
        return place(request)

    # The venue (a component, not the engine) is instrumented: the order manager looks
    # ``place_order`` up on the instance at each submit.
    venue.place_order = stamped_place  # type: ignore[attr-defined]
    asyncio.run(_session(engine))
    close = getattr(ledger, "close", None)
    if callable(close):
        close()
    return LatencyRun(samples, engine.stats.bars, engine.stats.orders, engine.stats.fills)


async def _session(engine: Engine) -> None:
    await engine.start()
    try:
        await engine.run()
    finally:
        await engine.close()
