"""The backtest fast path: the same run as the event path, without touching quiet bars.

When every data source is columnar, every agent a policy uses scores whole
series, sizing is discrete and the run is a backtest on simulated venues,
the kernel precomputes the signals (:mod:`.signal_plan`) and walks the
timeline in two kinds of steps:

* a **full tick** - a bar where a decision may trade, where orders rest on a
  venue, or after the kill switch: the tick's bars are built exactly as the
  stream would emit them, fed to every venue (``on_market_event``), marked,
  and the decision pipeline of the event path (:func:`~.decisions.decide_on`:
  sizing, risk rules, router, order manager, venue, ledger) runs with the
  agents' signals for that bar;
* a **quiet span** - the bars between full ticks, where nothing can trade:
  only what the event path would leave behind is done - statistics, marks,
  the equity curve (exact decimals, same operations as the portfolio) and the
  peak equity - without building a single bar object.

Orders, fills, ledger records and the summary are identical to the event
path's on the same data (``tests/core/engine/test_fast_path.py`` compares
them). Anything the fast path cannot vouch for sends the run down the event
path, and :attr:`Engine.path_notes` says why.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crypto_bot_core.engine.columnar import Columns, NotColumnar, SeriesAgent, load_columns
from crypto_bot_core.engine.columnar_view import ColumnarMarketView
from crypto_bot_core.engine.decisions import decide_on
from crypto_bot_core.engine.equity_spans import SpanEquity
from crypto_bot_core.engine.policy import FixedPolicySelector, PolicySpec
from crypto_bot_core.engine.signal_plan import NO_SIGNAL, SymbolPlan, plan_columns
from crypto_bot_core.engine.sizing import SizingMode
from crypto_bot_sdk import Instrument, Signal

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine

MARKET_WINDOW = 512
"""Bars per market a view keeps; the event path's ``InMemoryMarketView`` uses the same."""
PROGRESS_EVERY = 65536
"""Quiet bars between progress callbacks."""


def blockers(engine: Engine) -> list[str]:
    """Why this run cannot take the fast path (empty: it can, if its data is columnar)."""
    reasons = []
    if engine.mode != "backtest":
        reasons.append(f"mode {engine.mode}: only backtests take the fast path")
    if engine.state_store is not None or engine.kill_requested is not None:
        reasons.append("durable venues or kill requests are polled per tick")
    if engine.oversight is not None:
        reasons.append("the risk monitor and arbitrage guard look at every tick")
    if engine.decide_after is not None or engine.venue_marks or engine.killed:
        reasons.append("a resumed or killed run continues on the event path")
    if engine.fill_sync.venues:
        reasons.append(f"venues {engine.fill_sync.venues} are not simulated")
    if not isinstance(engine.selector, FixedPolicySelector):
        reasons.append("the policy selector may change per bar")
    if engine.sizing.mode is not SizingMode.DISCRETE:
        reasons.append(f"sizing mode {engine.sizing.mode.value} retargets on every bar")
    used = {m.agent for spec in engine.policies.policies.values() for m in spec.agents}
    for name in sorted(used):
        if not isinstance(engine.agents[name], SeriesAgent):
            reasons.append(f"agent {name!r} offers no series scoring")
    return reasons


class ColumnarRun:
    """One backtest over columns (see the module doc)."""

    def __init__(self, engine: Engine, columns: Columns, plans: list[SymbolPlan]) -> None:
        self.engine = engine
        self.columns = columns
        self.plans = plans
        self.view = ColumnarMarketView(columns, engine.market.instruments(), window=MARKET_WINDOW)
        self.equity = SpanEquity(engine.portfolio, columns)
        self.events_per_tick = len(columns.markets)
        self.full_ticks = 0

    def _held(self, symbol: str) -> int:
        quantity = self.engine.portfolio.net_quantity(symbol)
        return (quantity > 0) - (quantity < 0)

    def _next_full(self, index: int) -> int:
        """The next tick that needs the whole pipeline, or the end of the timeline."""
        engine = self.engine
        if engine.killed or engine.orders.any_open():
            return index
        end = len(self.columns)
        for plan in self.plans:
            found = plan.next_candidate(self._held(plan.symbol), index)
            if 0 <= found < end:
                end = found
        return end

    def _quiet(self, first: int, stop: int) -> None:
        if stop <= first:
            return
        engine = self.engine
        count = stop - first
        engine.stats.events += count * self.events_per_tick
        engine.stats.bars += count * self.events_per_tick
        engine.stats.signals += sum(p.signals_between(first, stop) for p in self.plans)
        last = self.columns.ts(stop - 1)
        engine.clock.advance(last)
        self.equity.span(first, stop, engine.equity_curve)
        if engine.on_progress is not None:
            engine.on_progress(last)

    async def _full(self, index: int) -> None:
        self.full_ticks += 1
        engine = self.engine
        columns = self.columns
        ts = columns.ts(index)
        engine.clock.advance(ts)
        self.view.move(index, ts)
        for market in columns.markets:
            bar = self.view.bar(market, index)
            engine.stats.events += 1
            engine.stats.bars += 1
            engine.portfolio.mark(bar.venue, bar.symbol, bar.close)
            await engine._match(bar)
        for plan in self.plans:
            if engine.killed:
                break
            if plan.target[index] == NO_SIGNAL:
                continue  # no signal: the event path's decision stops at the blend
            if plan.may_trade(self._held(plan.symbol), index):
                signals = self._signals(plan, index, ts)
                await decide_on(engine, plan.symbol, ts, plan.policy, signals)
            else:
                engine.stats.signals += 1  # counted, then sizing finds nothing to do
        engine.equity_curve.append((ts, engine.portfolio.update_peak()))
        if engine.on_progress is not None:
            engine.on_progress(ts)

    @staticmethod
    def _signals(plan: SymbolPlan, index: int, ts: datetime) -> dict[str, Signal]:
        signals = {}
        for name, series in plan.series.items():
            signal = series.signal(index, ts)
            if signal is not None:
                signals[name] = signal
        return signals

    async def run(self) -> None:
        engine = self.engine
        engine.market = self.view
        end = len(self.columns)
        index = 0
        last_full = -1
        clock = time.perf_counter
        quiet = full_time = 0.0
        while index < end:
            if engine.killed and not engine.orders.any_open():
                break  # settled after the kill switch
            started = clock()
            full = self._next_full(index)
            while index < full:
                stop = min(full, index + PROGRESS_EVERY)
                self._quiet(index, stop)
                index = stop
            between = clock()
            quiet += between - started
            if full >= end:
                break
            await self._full(full)
            full_time += clock() - between
            last_full = full
            index = full + 1
        await self._finish(index, last_full)
        engine.path_timings.update(
            quiet_s=quiet, quiet_ticks=index - self.full_ticks, full_s=full_time
        )
        engine.path_timings["full_ticks"] = self.full_ticks

    async def _finish(self, processed: int, last_full: int) -> None:
        """Leave venues, marks and the view as the event path leaves them."""
        last = processed - 1
        if last < 0:
            return
        self.view.move(last, self.columns.ts(last))
        if last != last_full:
            # Venues saw no bar of the last quiet span; none had an order resting, so
            # the last bar is all they would remember of it (price and clock).
            for market in self.columns.markets:
                await self.engine._match(self.view.bar(market, last))


def _fenced(engine: Engine) -> Callable[..., Any]:
    def call(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        fence = engine.agent_fences.get(name)
        try:
            return fn(*args) if fence is None else fence.call(fn, *args)
        except Exception as exc:
            raise NotColumnar(f"agent {name!r} could not score the series: {exc}") from exc

    return call


async def run_columnar(engine: Engine, start: datetime | None, end: datetime | None) -> bool:
    """Run the backtest on the fast path if it can; False (and ``path_notes``) if not."""
    reasons = blockers(engine)
    if reasons:
        engine.path_notes = reasons
        return False
    assert isinstance(engine.selector, FixedPolicySelector)
    started = time.perf_counter()
    try:
        columns = await load_columns(engine.data_sources, start, end)
        symbols = list(columns.by_symbol())
        policies: dict[str, tuple[str, PolicySpec]] = {}
        instruments: dict[str, Instrument | None] = {}
        for symbol in symbols:
            name = engine.selector.select(symbol, engine.market)
            policies[symbol] = (name, engine.policies.policies[name])
            venues = sorted(v for v, s in engine.instruments if s == symbol)
            instruments[symbol] = engine.instruments[(venues[0], symbol)] if venues else None
        agents = {
            name: agent for name, agent in engine.agents.items() if isinstance(agent, SeriesAgent)
        }
        plans = plan_columns(
            columns,
            policies=policies,
            agents=agents,
            sizing=engine.sizing,
            instruments=instruments,
            call=_fenced(engine),
        )
    except NotColumnar as exc:
        engine.path_notes = [str(exc)]
        return False
    engine.path = "columnar"
    engine.path_timings = {"plan_s": time.perf_counter() - started}
    # The columns and series live for the whole run: keep the collector off them.
    gc.freeze()
    await ColumnarRun(engine, columns, plans).run()
    return True
