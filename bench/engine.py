"""Engine throughput and tick-to-order latency; prints figures, asserts nothing.

    .venv/bin/python bench/engine.py [--bars 1000000] [--fill-at signal_close|next_open]
                                     [--event-bars 20000] [--latency-bars 20000]

The strategy is the one of docs/engine.md's comparison table: one symbol,
EMA(10)/EMA(20) crossover, long only (long while the fast EMA is above the
slow one, flat otherwise), 10,000 USDT a position, on seeded synthetic
one-minute bars. Printed:

* **pipeline** - bars per second of a backtest through the whole engine:
  agent, policy, sizing, the five standard risk rules, router, order manager
  (lifecycle, client ids), paper exchange, portfolio, equity curve, with the
  hash-linked SQLite ledger in a temporary folder on and off. Timed: ``run()``
  and ``close()`` (which commits the last ledger batch); not timed: generating
  the synthetic market and opening the ledger. Which kernel path ran is printed;
  ``--event-bars`` also times the per-event path on a shorter run for comparison.
* **latency** - tick-to-order on the event path in paper mode (what paper and
  live trading run): from the moment the data source yields a bar to the
  moment the order reaches the paper venue's submit, p50/p99 over every
  order, with the ledger off and on (on: the intent is committed to SQLite,
  fsync included, before the submit, as the order path requires).
* **bare loop** - the same strategy on the same closes in a plain loop
  (bar -> on_bar -> broker, no framework) and the engine's overhead ratio.

The machine is shared: the load average and CPU time are printed with the
figures, and wall-clock rates are only comparable at similar load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import DataSource, Instrument, MarketEvent, Order, OrderRequest, PluginConfig

SYMBOL = "BTC/USDT"
NOTIONAL = 10_000
CASH = 10_000_000
"""Enough that a million bars of fees (~45,000 taker fills of 10,000) stay far from the
drawdown limit: the run must trade to the end, not stop at the kill switch."""
TAKER_FEE = 0.0004
CONFIG = """
mode: {mode}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [{symbol}], venues: [paper], timeframe: 1m, bars: {bars}, seed: 7}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 10, slow: 20}}}}
exchanges:
  - name: paper
    plugin: paper-exchange
    config: {{venue: paper, fill_at: {fill_at}, taker_fee: "{fee}", balances: {{USDT: "{cash}"}}}}
sizing: {{mode: discrete, notional_per_symbol: "{notional}", long_only: true}}
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "25000"}}}}
  - {{plugin: "standard-risk:max_position", config: {{max_notional: "30000"}}}}
  - {{plugin: "standard-risk:max_gross_exposure", config: {{max_leverage: "1"}}}}
  - {{plugin: "standard-risk:max_drawdown", config: {{max_drawdown: "0.5"}}}}
  - {{plugin: "standard-risk:price_band", config: {{max_deviation_bps: "500"}}}}
"""


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def build(bars: int, fill_at: str, mode: str, ledger: Any, host: Host) -> Engine:
    text = CONFIG.format(
        mode=mode,
        symbol=SYMBOL,
        bars=bars,
        fill_at=fill_at,
        fee=TAKER_FEE,
        notional=NOTIONAL,
        cash=CASH,
    )
    loaded = parse_config(text, source="<bench>", environ={})
    run_dir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    return assemble(loaded, host, ledger=ledger, run_id=f"bench-{mode}", run_dir=run_dir).engine


@dataclass
class Timed:
    engine: Engine
    wall: float
    cpu: float

    @property
    def bars(self) -> int:
        return self.engine.stats.bars


async def _timed(engine: Engine) -> Timed:
    await engine.start()  # generates the synthetic market: data preparation, not timed
    wall, cpu = time.perf_counter(), time.process_time()
    await engine.run()
    await engine.close()
    return Timed(engine, time.perf_counter() - wall, time.process_time() - cpu)


def pipeline(bars: int, fill_at: str, ledger_on: bool, host: Host, fast: bool = True) -> Timed:
    folder = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}") if ledger_on else MemoryAuditLog()
    engine = build(bars, fill_at, "backtest", ledger, host)
    engine.fast_path = fast
    timed = asyncio.run(_timed(engine))
    if ledger_on:
        engine.ledger.close()  # type: ignore[attr-defined]
        check = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
        try:
            report = check.verify(require_signatures=False)
            print(f"    ledger: {len(check):,} records, chain verified: {report.ok}")
        finally:
            check.close()
    return timed


def show(label: str, timed: Timed) -> None:
    e = timed.engine
    print(
        f"  {label:<28} {timed.bars / timed.wall:>11,.0f} bars/s wall "
        f"({timed.bars / timed.cpu:,.0f}/s CPU)  {timed.bars:,} bars in {timed.wall:.2f} s, "
        f"{e.stats.orders:,} orders, {e.stats.fills:,} fills, path {e.path}"
    )
    if e.killed:
        print(f"    (the kill switch stopped this run early: {e.stats.bars:,} bars)")
    t = e.path_timings
    if t:
        rest = timed.wall - t["plan_s"] - t["quiet_s"] - t["full_s"]
        per_bar = t["plan_s"] / e.stats.bars * 1e6
        print(
            f"    where: signals {t['plan_s']:.2f} s ({per_bar:.2f} us/bar)"
            f", quiet bars {t['quiet_s']:.2f} s "
            f"({t['quiet_s'] / max(1, t['quiet_ticks']) * 1e6:.2f} us/bar)"
            f", decision ticks {t['full_s']:.2f} s "
            f"({t['full_s'] / max(1, t['full_ticks']) * 1e6:.0f} us/tick x {t['full_ticks']:,.0f})"
            f", close and last ledger batch {rest:.2f} s"
        )


class Stamped(DataSource[PluginConfig]):
    """Passes a source's events through, noting when each timestamp first entered the engine."""

    name = "stamped"

    def __init__(self, inner: DataSource[Any]) -> None:
        super().__init__(PluginConfig())
        self.inner = inner
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
        async for event in self.inner.stream(start, end):
            self.entered.setdefault(event.ts, clock())
            yield event


def latency(bars: int, fill_at: str, ledger_on: bool, host: Host) -> list[float]:
    """Microseconds from a bar entering the engine to its order reaching the venue."""
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}") if ledger_on else MemoryAuditLog()
    engine = build(bars, fill_at, "paper", ledger, host)
    source = Stamped(engine.data_sources[0])
    engine.data_sources = [source]
    venue = engine.exchanges["paper"]
    place: Callable[[OrderRequest], Order] = venue.place_order  # type: ignore[attr-defined]
    samples: list[float] = []

    def stamped_place(request: OrderRequest) -> Order:
        arrived = time.perf_counter_ns()
        samples.append((arrived - source.entered[engine.clock.now()]) / 1000)
        return place(request)

    venue.place_order = stamped_place  # type: ignore[attr-defined]
    asyncio.run(_timed(engine))
    close = getattr(engine.ledger, "close", None)
    if callable(close):
        close()
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Broker:
    """The bare loop's broker: market orders filled at the bar's close, taker fee."""

    def __init__(self, cash: float) -> None:
        self.cash = cash
        self.position = 0.0
        self.fills = 0

    def order(self, quantity: float, price: float) -> None:
        self.cash -= quantity * price + abs(quantity) * price * TAKER_FEE
        self.position += quantity
        self.fills += 1


class BareStrategy:
    """EMA(10)/EMA(20) long-only crossover, the same formulas as the engine's agent."""

    def __init__(self, broker: Broker, fast: int = 10, slow: int = 20) -> None:
        self.broker = broker
        self.fa, self.sa = 2.0 / (fast + 1), 2.0 / (slow + 1)
        self.required = slow
        self.fast = self.slow = 0.0
        self.count = 0

    def on_bar(self, bar: tuple[int, float, float, float, float, float]) -> None:
        close = bar[4]
        self.count += 1
        if self.count == 1:
            self.fast = self.slow = close
        else:
            self.fast += self.fa * (close - self.fast)
            self.slow += self.sa * (close - self.slow)
        if self.count < self.required:
            return
        want_long = self.fast > self.slow
        broker = self.broker
        if want_long and broker.position == 0.0:
            broker.order(round(NOTIONAL / close, 8), close)
        elif not want_long and broker.position > 0.0:
            broker.order(-broker.position, close)


def bare_loop(bars: int) -> tuple[float, int]:
    from crypto_bot_core.builtins.synthetic_market import SyntheticMarket

    source = SyntheticMarket.from_config(
        {"symbols": [SYMBOL], "venues": ["paper"], "timeframe": "1m", "bars": bars, "seed": 7}
    )
    a = source.arrays(SYMBOL, "paper")
    rows = list(
        zip(
            a["ts"].tolist(),
            a["open"].tolist(),
            a["high"].tolist(),
            a["low"].tolist(),
            a["close"].tolist(),
            a["volume"].tolist(),
            strict=True,
        )
    )
    broker = Broker(float(CASH))
    strategy = BareStrategy(broker)
    started = time.perf_counter()
    on_bar = strategy.on_bar
    for bar in rows:
        on_bar(bar)
    return len(rows) / (time.perf_counter() - started), broker.fills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--fill-at", choices=("signal_close", "next_open"), default="signal_close")
    parser.add_argument("--event-bars", type=int, default=20_000, help="0 skips the event path")
    parser.add_argument("--latency-bars", type=int, default=20_000, help="0 skips latency")
    args = parser.parse_args()
    host = Host(environ={}).load()
    print(f"engine bench: {SYMBOL}, EMA(10)/EMA(20) long-only, fills at {args.fill_at}")
    print(f"  before: {load()}")

    print(f"pipeline, backtest, {args.bars:,} one-minute bars:")
    runs = {}
    for ledger_on in (True, False):
        label = "ledger on (SQLite)" if ledger_on else "ledger off"
        runs[ledger_on] = pipeline(args.bars, args.fill_at, ledger_on, host)
        show(label, runs[ledger_on])
    if runs[True].engine.path_notes:
        print(f"  (event path because: {'; '.join(runs[True].engine.path_notes)})")
    if args.event_bars:
        for ledger_on in (True, False):
            label = f"event path, ledger {'on' if ledger_on else 'off'}"
            show(label, pipeline(args.event_bars, args.fill_at, ledger_on, host, fast=False))

    if args.latency_bars:
        print(f"tick-to-order latency, paper mode (event path), {args.latency_bars:,} bars:")
        for ledger_on in (False, True):
            samples = latency(args.latency_bars, args.fill_at, ledger_on, host)
            label = "ledger on (SQLite, durable)" if ledger_on else "ledger off"
            print(
                f"  {label:<28} p50 {percentile(samples, 0.5):8.1f} us   "
                f"p99 {percentile(samples, 0.99):8.1f} us   "
                f"mean {statistics.fmean(samples):8.1f} us over {len(samples):,} orders"
            )

    rate, fills = bare_loop(args.bars)
    engine_rate = runs[True].bars / runs[True].wall
    print(f"bare loop (bar -> on_bar -> broker), {args.bars:,} bars:")
    print(f"  {rate:,.0f} bars/s, {fills:,} fills (engine: {runs[True].engine.stats.fills:,})")
    print(f"  overhead ratio, engine with ledger on: {rate / engine_rate:.1f}x")
    print(f"  after: {load()}")
    final = runs[True].engine.summary()
    print(
        f"  run: pnl {final.pnl.quantize(Decimal('0.01'))} USDT, "
        f"{final.trades:,} trades, max drawdown {final.max_drawdown:.2%}"
    )


if __name__ == "__main__":
    main()
