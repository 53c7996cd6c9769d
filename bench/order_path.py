"""The order path, part by part: microseconds per order, and the bytes a backtest keeps per order.

    .venv/bin/python bench/order_path.py [--bars 100000] [--ledger sqlite|memory]
        [--anchors /work/shared/anchors] [--data-dir DIR] [--no-memory] [--repeat 3]

The workload is the performance anchor's (see ``bench/engine.py``): EMA(10)/EMA(20)
crossover, 1 unit a trade, fills at the signal bar's close, the five standard risk rules,
the paper exchange and (by default) the SQLite ledger, run in process over the anchor's
first ``--bars`` bars (100,000 bars make 4,552 orders). Printed:

* **order path, real** - the CPU of the whole run, and the time spent deciding the bars
  that made an order (``decide_on``: combine, sizing, risk, routing, the order manager's
  submit with the venue call and the fill booking), divided by the orders. Only that one
  function is timed, so the figure is what an order costs, give or take a timer.
* **order path, by part** - a second run with every part wrapped in a timer (the wrappers
  add about 0.2 us each, a few us an order in all): each row is the part's inclusive time
  per order; indented rows are inside the row above them.
* **memory** - two more runs under ``tracemalloc``, one with the order manager as the
  engine built it, one with ``keep_closed`` off (open orders only, as a backtest's engine
  should set it): the bytes the run still holds when it ends (after a full collection)
  beyond what the engine held when it started, per order, and what of it each long-lived
  map holds (measured by emptying the maps one after another and collecting; objects two
  maps share count for the last one emptied).

``--repeat`` runs the real measurement that many times and keeps the fastest. Times are
CPU time of the process; the machine is shared, so they still vary by about 10 % with
its load, printed with each figure. Compare figures taken in one session, alternating the
versions.

Before and after the work on issue 12's order path (simulated-venue capabilities, risk
verdicts without validation, direct ledger payloads, backtests forgetting closed orders),
measured in one session on the shared 2-CPU machine (load ~1.8), 100,000 anchor bars,
4,552 orders, SQLite ledger; *before* is the working tree with this work's files as of
b7dadac, *after* the same tree with them as committed here:

==============================================  ========  ========
us per order (CPU)                                before     after
==============================================  ========  ========
order path, real (decide_on, best of 3)          291       264
order path, instrumented                         301       287
risk pipeline (5 rules, fenced, checked)          65        53
  max_order_notional                              14.2      12.9
  max_position                                    11.2       8.2
  max_gross_exposure                               9.6       6.8
  max_drawdown                                    10.3       7.5
  price_band                                       3.8       1.8
routing                                            8.2       8.7
order manager submit                             166       161
  ledger appends (3 records; SQLite batches)      71        72
  venue submit (fenced; fills at close)           35.3      34.7
  fill booking: order manager (2 of the appends)  54.8      53.0
==============================================  ========  ========

(The order manager's own work, measured apart with a null ledger, went from ~45 to ~36 us
an order: requests and orders by the models' makers, the intent's request and the fill
record as plain dicts instead of ``model_dump``, acknowledged-and-filled in one copy.)
The whole 100,000-bar run: 2.97-3.01 s CPU before, 2.86-2.96 s after. What is left of an
order's ~265 us is mostly outside these files: the ledger (~72), ``decisions.py`` (signals
~18, combine ~7, sizing ~11, snapshot ~7, and ~35 of its own, a third of it the verdicts'
``model_dump``, which :func:`crypto_bot_core.engine.risk.verdict_json` replaces).

==============================================  ========  ========  ==============
bytes held per order at the end of the run        before     after   after, open
                                                                     orders only
==============================================  ========  ========  ==============
everything the run holds                          9,097     8,302     5,464
OrderManager.orders                               1,463     2,907         0
the venue's working orders and fills by order     2,241         0         0
Engine.arrival (kernel; not yet pruned)             126       126       195
==============================================  ========  ========  ==============

(With the venue's orders gone, ``OrderManager.orders`` is the last holder of each
request, so it counts them.) The 1,000,000-bar file backtest in process: peak RSS 446 MB
before, 409 MB after, 283 MB with open orders only; run CPU 36.2 s, 34.2 s, 31.8 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import ANCHORS, anchor_bars, build, file_config, new_ledger

from crypto_bot_core.engine import decisions
from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.host import Host
from crypto_bot_sdk import ExchangeAdapter

TOTAL = "order path (decide_on)"
CLOCK = time.process_time
"""The timers' clock: CPU time of this process, so a busy shared machine (other processes
taking turns on its cores) does not inflate the figures as wall time would."""


class Timers:
    """Inclusive CPU time and calls per label, for wrapped functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.order: list[str] = []

    def _note(self, label: str) -> None:
        if label not in self.order:
            self.order.append(label)

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._note(label)
        seconds, calls, clock = self.seconds, self.calls, CLOCK

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += clock() - began
                calls[label] += 1

        return timed

    def wrap_async(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._note(label)
        seconds, calls, clock = self.seconds, self.calls, CLOCK

        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = clock()
            try:
                return await fn(*args, **kwargs)
            finally:
                seconds[label] += clock() - began
                calls[label] += 1

        return timed


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} CPUs"


def _patch(obj: Any, name: str, wrapper: Callable[..., Any]) -> None:
    setattr(obj, name, wrapper)


def instrument(engine: Engine, timers: Timers, *, parts: bool) -> Callable[[], None]:
    """Wrap the order path's parts in timers; returns a function undoing the module patches.

    Instances (the engine's portfolio, pipeline, router, order manager, venue, ledger and
    rules) are patched after ``start()`` built them; module functions of
    :mod:`~crypto_bot_core.engine.decisions` are looked up at call time, so patching the
    module reaches them.
    """
    saved = {
        name: getattr(decisions, name)
        for name in ("decide_on", "_signals_from_scores", "combine", "intent_for", "build")
    }
    decisions.decide_on = timers.wrap_async(TOTAL, saved["decide_on"])  # type: ignore[assignment]
    if parts:
        decisions._signals_from_scores = timers.wrap(  # type: ignore[assignment]
            "signals from precomputed scores (before decide_on)", saved["_signals_from_scores"]
        )
        decisions.combine = timers.wrap("  combine (policy blend)", saved["combine"])
        decisions.intent_for = timers.wrap("  sizing (intent_for)", saved["intent_for"])
        portfolio = engine.portfolio
        _patch(
            portfolio,
            "snapshot",
            timers.wrap("  risk context: portfolio snapshot", portfolio.snapshot),
        )
        orders = engine.orders
        _patch(
            orders, "open_orders", timers.wrap("  risk context: open orders", orders.open_orders)
        )
        risk = engine.risk
        _patch(
            risk,
            "evaluate",
            timers.wrap("  risk pipeline (5 rules, fenced, checked)", risk.evaluate),
        )
        for instance, rule in risk.rules:
            _patch(rule, "check", timers.wrap(f"    rule {instance}", rule.check))
        _patch(engine.router, "route", timers.wrap("  routing", engine.router.route))
        _patch(orders, "submit", timers.wrap_async("  order manager submit", orders.submit))
        ledger = engine.ledger
        _patch(
            ledger,
            "append",
            timers.wrap("    ledger appends (intent, fill, status)", ledger.append),
        )
        for venue in engine.exchanges.values():
            # The synchronous submit the order manager calls: the SDK's (API 1.1) where the
            # venue implements it, else the engine's older private ``place_order``.
            sync = type(venue).submit_order_sync is not ExchangeAdapter.submit_order_sync
            name = "submit_order_sync" if sync else "place_order"
            if hasattr(venue, name):
                _patch(
                    venue,
                    name,
                    timers.wrap("    venue submit (fenced; fills at close)", getattr(venue, name)),
                )
        _patch(
            orders, "book_fill", timers.wrap("    fill booking: order manager", orders.book_fill)
        )
        _patch(
            portfolio,
            "apply_fill",
            timers.wrap("    fill booking: portfolio", portfolio.apply_fill),
        )

    def undo() -> None:
        for name, value in saved.items():
            setattr(decisions, name, value)

    return undo


async def _run(engine: Engine, timers: Timers, *, parts: bool) -> tuple[float, float]:
    await engine.start()
    undo = instrument(engine, timers, parts=parts)
    try:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        await engine.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        undo()
    await engine.close()
    close = getattr(engine.ledger, "close", None)
    if callable(close):
        close()
    return wall, cpu


def one_run(
    text: str, host: Host, ledger_on: bool, *, parts: bool
) -> tuple[Engine, Timers, float, float]:
    ledger, _ = new_ledger(ledger_on)
    engine = build(text, host, ledger, "bench-order-path")
    timers = Timers()
    wall, cpu = asyncio.run(_run(engine, timers, parts=parts))
    return engine, timers, wall, cpu


def real_section(text: str, host: Host, ledger_on: bool, repeat: int) -> None:
    best: tuple[float, float, float, Engine] | None = None
    for _ in range(repeat):
        engine, timers, wall, cpu = one_run(text, host, ledger_on, parts=False)
        per_order = timers.seconds[TOTAL] / max(engine.stats.orders, 1) * 1e6
        if best is None or per_order < best[0]:
            best = (per_order, wall, cpu, engine)
        del engine
        gc.collect()
    assert best is not None
    per_order, wall, cpu, engine = best
    s = engine.stats
    print(f"order path, real ({load()}), best of {repeat}:")
    print(
        f"  run: {s.bars:,} bars, {s.orders:,} orders, {s.fills:,} fills in {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU: {s.bars / cpu:,.0f} bars/s CPU"
    )
    print(
        f"  {TOTAL}: {per_order:,.1f} us per order "
        f"({per_order * s.orders / 1e6 / cpu:.0%} of the run's CPU)"
    )
    rest = (cpu - per_order * s.orders / 1e6) / s.bars * 1e6
    print(f"  everything else: {rest:,.2f} us per bar")


def parts_section(text: str, host: Host, ledger_on: bool) -> None:
    engine, timers, _, _ = one_run(text, host, ledger_on, parts=True)
    orders = max(engine.stats.orders, 1)
    print(
        f"order path, by part, instrumented ({load()}), us per order (calls per order in brackets):"
    )
    for label in [TOTAL, *timers.order[1:]]:
        seconds = timers.seconds.get(label, 0.0)
        calls = timers.calls.get(label, 0)
        if not calls:
            continue
        print(f"  {label:<52} {seconds / orders * 1e6:>8.1f}   [{calls / orders:.2f}]")


def memory_section(text: str, host: Host, ledger_on: bool, *, open_only: bool) -> None:
    """Bytes held at the end of a run beyond the started engine's, per order, by map.

    ``open_only`` sets the order manager's ``keep_closed`` to False after ``start()``, as
    a backtest's engine should (once ``Engine.start`` does so itself, it changes nothing).
    """
    ledger, _ = new_ledger(ledger_on)
    engine = build(text, host, ledger, "bench-order-path-memory")

    async def run() -> tuple[int, int, list[tuple[str, int]]]:
        await engine.start()
        if open_only and hasattr(engine.orders, "keep_closed"):
            engine.orders.keep_closed = False
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        await engine.run()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        shares: list[tuple[str, int]] = []
        previous = tracemalloc.get_traced_memory()[0]
        venues = list(engine.exchanges.values())

        def drop(label: str, clear: Callable[[], None]) -> None:
            nonlocal previous
            clear()
            gc.collect()
            now = tracemalloc.get_traced_memory()[0]
            shares.append((label, previous - now))
            previous = now

        drop("Engine.arrival (decision price per intent)", engine.arrival.clear)
        drop("OrderManager.orders (every order)", engine.orders.orders.clear)
        drop("OrderManager.seen_fills (fill ids)", engine.orders.seen_fills.clear)
        for venue in venues:
            working = getattr(venue, "_orders", None)
            if isinstance(working, dict):
                drop(f"{venue.venue}: working orders", working.clear)
            settlement = getattr(venue, "_settlement", None)
            if settlement is not None:
                drop(f"{venue.venue}: fills by order", settlement.by_order.clear)
                drop(f"{venue.venue}: fill log", settlement.fills.clear)
        drop("Engine.trades (trade rows, kept for the summary)", engine.trades.clear)

        def forget_curve() -> None:
            engine.equity_curve = EquityCurve()

        drop("Engine.equity_curve (one point a bar)", forget_curve)
        tracemalloc.stop()
        return held, engine.stats.orders, shares

    held, orders, shares = asyncio.run(run())
    orders = max(orders, 1)
    how = "order manager: open orders only" if open_only else "order manager as the engine built it"
    print(
        f"memory, tracemalloc, {how} ({load()}): held at the end of the run beyond the "
        f"started engine: {held / 1e6:,.1f} MB, {held / orders:,.0f} bytes per order; of it:"
    )
    for label, size in shares:
        print(f"  {label:<52} {size / orders:>8,.0f} bytes per order")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--ledger", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--anchors", type=Path, default=ANCHORS)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-parts", action="store_true")
    args = parser.parse_args()
    if not (args.anchors / "make_bars.py").exists():
        sys.exit(f"no anchor scripts in {args.anchors}: this bench needs the anchor's bars")
    folder = args.data_dir or Path(f"/tmp/cryptobot-anchor-bars-{args.bars}")
    csv = anchor_bars(args.anchors, args.bars, folder)
    text = file_config(csv, "signal_close")
    host = Host(environ={}).load()
    ledger_on = args.ledger == "sqlite"
    print(f"order path bench: {args.bars:,} anchor bars, ledger {args.ledger}")
    real_section(text, host, ledger_on, args.repeat)
    if not args.no_parts:
        parts_section(text, host, ledger_on)
    if not args.no_memory:
        memory_section(text, host, ledger_on, open_only=False)
        memory_section(text, host, ledger_on, open_only=True)


if __name__ == "__main__":
    main()
