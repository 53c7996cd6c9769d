"""The event-driven kernel: one loop for backtest, paper and live, advanced by :meth:`Engine.step`.

Events from every data source are merged in time order and processed one
timestamp at a time; :meth:`Engine.step` processes one such batch and returns
what happened (a :class:`StepResult`), so a gymnasium environment, a live loop
and tests drive the same code :meth:`Engine.run` loops over:

1. the market view and the clock take the events;
2. simulated venues match resting orders against them and report fills,
   which are booked (ledger first, then portfolio);
3. for every symbol that got a bar, the symbol's policy asks its agents for
   signals, sizing turns the blend into an intent, the risk pipeline approves,
   resizes or rejects it, the router picks a venue and the order manager
   records and sends the order.

Nothing here knows the mode: the clock and the adapters are injected. The one
difference is reading ahead: a backtest reads a block of events before walking
it, so agents that precompute their scores do so once per block
(:mod:`.precompute`); paper and live runs take one timestamp at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from crypto_bot_core.engine import chaos
from crypto_bot_core.engine.batching import BatchingLog, BatchLedger, can_batch
from crypto_bot_core.engine.clock import Clock, SimulatedClock
from crypto_bot_core.engine.currencies import CurrencySettings
from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_core.engine.decisions import decide, settle_quietly
from crypto_bot_core.engine.desk import StepJournal
from crypto_bot_core.engine.durability import VenueStateStore
from crypto_bot_core.engine.fills import FillSync, is_simulated
from crypto_bot_core.engine.funding import FUNDING_METRIC
from crypto_bot_core.engine.funding import settle as settle_funding
from crypto_bot_core.engine.observers import Observers
from crypto_bot_core.engine.orders import AuditLog, OrderManager
from crypto_bot_core.engine.oversight import Oversight
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.portfolio import Portfolio
from crypto_bot_core.engine.precompute import Precomputed
from crypto_bot_core.engine.reconcile import LedgerState, ReconciliationReport
from crypto_bot_core.engine.resume import client_id_prefix, continue_run
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.router import ExecutionRouter
from crypto_bot_core.engine.selection import FixedPolicySelector, PolicySelector
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.engine.streams import merged
from crypto_bot_core.engine.summary import (
    OpenOrder,
    OpenPosition,
    RunSummary,
    TradeRow,
    VenueResult,
    summarise,
)
from crypto_bot_core.engine.ticks import read_ahead, ticks_as_they_arrive
from crypto_bot_core.engine.venues import adopt_symbols, matcher, open_venues
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.observability.metrics import MetricsSink, NullMetrics
from crypto_bot_sdk import (
    TERMINAL_STATUSES,
    Agent,
    Bar,
    Component,
    CryptoBotError,
    DataSource,
    ExchangeAdapter,
    FeeSchedule,
    Fill,
    InMemoryMarketView,
    Instrument,
    MarketEvent,
    MarketView,
    Order,
    OrderBook,
    OrderIntent,
    PluginError,
    RecordType,
    RiskVerdict,
    Signal,
    Trade,
)

MARKET_WINDOW = 512
"""Bars per market the view keeps: enough for any indicator warm-up the agents declare."""

START_BUDGET = 120.0
"""Seconds a component's start or close may take (connections, a model to load)."""

READ_AHEAD = 4096
"""Timestamps a backtest reads ahead: the block agents precompute their scores over."""


class StepResult(NamedTuple):
    """What one :meth:`Engine.step` did: the tick's decisions, orders and fills, and the equity
    after it. Empty tuples on the (many) ticks where nothing was due. A named tuple: one is
    made per tick, and it is the cheapest immutable record Python has."""

    ts: datetime
    events: int
    signals: tuple[Signal, ...]
    """The policies' combined signals that reached sizing on this tick."""
    intents: tuple[OrderIntent, ...]
    verdicts: tuple[RiskVerdict, ...]
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    equity: Decimal
    killed: bool


@dataclass
class EngineStats:
    events: int = 0
    bars: int = 0
    signals: int = 0
    intents: int = 0
    rejected: int = 0
    orders: int = 0
    fills: int = 0
    agent_fallbacks: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    """Refused decisions by reason (a risk rule, no route, a venue's refusal): the summary's
    top reasons. Counted only where a decision is refused, never on a quiet bar."""
    rejection_examples: dict[str, str] = field(default_factory=dict)
    """Per reason, the first message as it was given (figures included)."""

    def reject(self, reason: str, example: str) -> None:
        """Count one refused decision under ``reason``."""
        self.rejections[reason] = self.rejections.get(reason, 0) + 1
        self.rejection_examples.setdefault(reason, example)


@dataclass
class Engine:
    """Wires the parts of one run together; build it with :mod:`crypto_bot_core.app.assembly`."""

    run_id: str
    data_sources: Sequence[DataSource[Any]]
    agents: Mapping[str, Agent[Any]]
    exchanges: Mapping[str, ExchangeAdapter[Any]]
    policies: PolicyRegistry
    risk: RiskPipeline
    ledger: AuditLog
    sizing: SizingConfig = field(default_factory=SizingConfig)
    currencies: CurrencySettings = field(default_factory=CurrencySettings)
    """The ``portfolio`` section: the currency the book is valued in, and pegs."""
    clock: Clock = field(default_factory=SimulatedClock)
    selector: PolicySelector | None = None
    mode: str = "backtest"
    on_progress: Callable[[datetime], None] | None = None
    agent_fences: Mapping[str, Fence] = field(default_factory=dict)
    """Per agent instance: the host's fence, so a crashing agent is named and dropped."""
    state_store: VenueStateStore | None = None
    """Paper and live runs: where simulated venues' state is saved after every change."""
    kill_requested: Callable[[], str | None] | None = None
    """Polled every tick; a reason string trips the kill switch (``cryptobot kill``)."""
    metrics: MetricsSink = field(default_factory=NullMetrics)
    """Prometheus telemetry (``EngineMetrics``) when the run serves it; a no-op otherwise."""
    oversight: Oversight | None = None
    """The configured oversight components (the risk monitor, the arbitrage guard, third
    parties' reviews of the book) and the notifiers alerts go to (see :mod:`.oversight`)."""
    observers: Observers | None = None
    """Plugins' observation hooks (signals, order updates, fills, start and stop)."""
    yield_every_tick: bool = False
    """Give the event loop a turn between ticks, so a service in another thread can reach
    the engine (status, kill switch) while a paper run is busy."""
    plugins: tuple[Mapping[str, Any], ...] = ()
    """The plugin set the host loaded (name, distribution, versions, manifest digest): the
    start record names the code that made this session's decisions."""
    arrival: dict[str, Decimal] = field(init=False, default_factory=dict)
    """Intent id -> the market price when it was decided: slippage is measured from it."""
    market: MarketView = field(init=False)
    """What agents, rules and the router see; on the event path, ``feed``."""
    feed: InMemoryMarketView = field(init=False)
    """The event path's view, folded event by event."""
    portfolio: Portfolio = field(init=False)
    orders: OrderManager = field(init=False)
    router: ExecutionRouter = field(init=False)
    instruments: dict[tuple[str, str], Instrument] = field(init=False, default_factory=dict)
    stats: EngineStats = field(init=False, default_factory=EngineStats)
    killed: bool = field(init=False, default=False)
    exchange_budget: float | None = 10.0
    """Seconds one venue call may take (the config's ``budgets.exchange``)."""
    exchange_fences: Mapping[str, Fence] = field(default_factory=dict)
    """Per venue: the host's fence of its adapter, so a failing venue call names its plugin."""
    read_ahead: int | None = None
    tick_gap: float = 0.0
    """Paper and live: how long to wait for a further event of a timestamp before its tick is
    processed; 0 waits one turn of the event loop, which is all an in-process source needs
    (see ``_ticks_as_they_arrive``)."""
    """Timestamps read ahead per block; default: ``READ_AHEAD`` in a backtest, 1 otherwise."""
    equity_curve: EquityCurve = field(init=False, default_factory=EquityCurve)
    trades: list[TradeRow] = field(init=False, default_factory=list)
    failed_agents: set[str] = field(init=False, default_factory=set)
    unavailable_agents: set[str] = field(init=False, default_factory=set)
    fill_sync: FillSync = field(init=False)
    decide_after: datetime | None = field(init=False, default=None)
    venue_marks: dict[str, datetime | None] = field(init=False, default_factory=dict)
    reconciliation: ReconciliationReport | None = field(init=False, default=None)
    killed_at: datetime | None = field(init=False, default=None)
    """When the kill switch tripped (the kill record's time): what it records later is dated
    no earlier."""
    kill_left: tuple[str, ...] | None = field(init=False, default=None)
    """After a kill, what the venues' own state still showed of the run (empty: flat); None
    until it was checked (:func:`.kill.conclude_kill`)."""
    funded: set[tuple[str, str, str]] = field(init=False, default_factory=set)
    """Funding settlements booked (venue, symbol, time): none is charged twice."""
    precomputed: Precomputed = field(init=False)
    journal: StepJournal = field(init=False, default_factory=StepJournal)
    """What the current step did; :meth:`step` returns it as a :class:`StepResult`."""
    last_step_monotonic: float = field(init=False, default=0.0)
    """``time.monotonic()`` when the last step finished: liveness reads it."""
    _fed_until: datetime | None = field(init=False, default=None)
    """The last timestamp whose bars the precomputing agents have been given."""
    _real_venues: bool = field(init=False, default=False)
    _telemetry: bool = field(init=False, default=False)
    _matchers: list[tuple[str, Callable[[MarketEvent], Any], bool]] = field(
        init=False, default_factory=list
    )
    """Simulated venues' matching, called per event: (venue, function, awaitable?)."""
    _venues: dict[str, list[str]] = field(init=False, default_factory=dict)
    _venues_seen: int = field(init=False, default=-1)

    async def start(self, resume: LedgerState | None = None) -> None:
        """Start every component; with ``resume``, continue a run from its ledger and venues."""
        self.policies.check_agents(list(self.agents))
        if self.selector is None:
            self.selector = FixedPolicySelector(self.policies)
        for component, fence in self._components():
            # Through the plugin's fence: a component that fails to start is named (the
            # budget of a start, not of a call: a model may take a while to load).
            await fence.call_async(component.start, budget=START_BUDGET)
        self.portfolio = Portfolio()
        fees = await self._open_venues(resume)
        instruments = [i for s in self.data_sources for i in s.instruments()]
        self.feed = InMemoryMarketView(instruments, max_bars=MARKET_WINDOW)
        self.market = self.feed
        self.router = ExecutionRouter(self.instruments, fees)
        self.orders = OrderManager(
            self.ledger,
            self.exchanges,
            id_prefix=client_id_prefix(self.run_id),
            fill_sink=self.book,
            state_store=self.state_store,
            metrics=None if isinstance(self.metrics, NullMetrics) else self.metrics,
            on_status=self._order_update
            if self.observers is not None and self.observers.wants("cryptobot_order_update")
            else None,
            exchange_budget=self.exchange_budget,
            fences=self.exchange_fences,
            # A backtest is never resumed and its venues die with it: a closed order can
            # never be asked about again, so it is not kept (memory grows with open ones).
            keep_closed=not (
                self.mode == "backtest" and resume is None and self.state_store is None
            ),
        )
        self.fill_sync = FillSync(self.exchanges, calls=self.orders)
        self._real_venues = bool(self.fill_sync.venues)
        self._telemetry = not isinstance(self.metrics, NullMetrics)
        self._matchers = [
            (venue, *matcher(adapter))
            for venue, adapter in self.exchanges.items()
            if is_simulated(adapter)
        ]
        self.precomputed = Precomputed(
            self.agents,
            self.agent_fences,
            on_failure=self._precompute_failed,
            on_latency=self.metrics.agent_latency if self._telemetry else None,
        )
        if (
            self.mode == "backtest"
            and can_batch(self.ledger)
            and all(is_simulated(a) for a in self.exchanges.values())
        ):
            # No venue outside this process and no resume: see batching.py for why
            # a backtest may commit its records in batches.
            self.ledger = BatchingLog(cast(BatchLedger, self.ledger))
            self.orders.ledger = self.ledger
        start: dict[str, Any] = {
            "run_id": self.run_id,
            "mode": self.mode,
            "venues": sorted(self.exchanges),
            "agents": sorted(self.agents),
            "policies": sorted(self.policies.policies),
            "initial_cash": {v: str(a.initial) for v, a in self.portfolio.accounts.items()},
            "resumed": resume is not None,
            "plugins": [dict(plugin) for plugin in self.plugins],
        }
        if self.portfolio.multi:
            # ``initial_cash`` is in the portfolio currency only: a resumed run restores
            # every other currency it started with from this.
            start["initial_currencies"] = self.portfolio.starting_cash()
        self.ledger.append(RecordType.SYSTEM_START, start)
        if self.observers is not None:
            self.observers.emit("cryptobot_engine_started", run_id=self.run_id, mode=self.mode)
        if resume is not None:
            self.reconciliation = await continue_run(self, resume)
            if resume.killed:
                self.killed = True  # a killed run never trades again; it only settles
        self.fill_sync.start()

    async def _open_venues(self, resume: LedgerState | None) -> dict[str, FeeSchedule]:
        """Instruments, starting cash and fees of every venue (see :mod:`.venues`)."""
        forget = self.mode == "backtest" and resume is None and self.state_store is None
        adopt_symbols(self.exchanges, self.data_sources, forget_closed=forget)
        if resume is not None and self.state_store is not None:
            self.venue_marks = self.state_store.restore_all()
        return await open_venues(
            self.exchanges,
            self.portfolio,
            self.instruments,
            initial_cash=None if resume is None else resume.initial_cash,
            initial_currencies=None if resume is None else resume.initial_currencies,
            fences=self.exchange_fences,
            budget=self.exchange_budget,
            currencies=self.currencies,
            data_markets=[(i.venue, i.symbol) for s in self.data_sources for i in s.instruments()],
        )

    async def close(self, reason: str = "completed") -> None:
        if self.killed and reason == "completed":
            reason = "settled after the kill switch"
        if self.fill_sync.venues:
            for fill in await self.fill_sync.collect(force=True):
                self.book(fill)
        await self.fill_sync.stop()
        # Oversight components and notifiers close before the stop record, so it stays the
        # run's last: a backtest's pending batch is committed first (notifiers hear of
        # alerts from committed records), then deliveries in flight get their budget and
        # whatever they record lands before the stop. Then the selector.
        if isinstance(self.ledger, BatchingLog):
            self.ledger.flush()
        if self.oversight is not None:
            await self.oversight.close()
        selector_close = getattr(self.selector, "close", None)
        if selector_close is not None:
            with contextlib.suppress(CryptoBotError):
                await selector_close()
        self.ledger.append(
            RecordType.SYSTEM_STOP,
            {
                "run_id": self.run_id,
                "reason": reason,
                "equity": str(self.portfolio.equity()),
                "events": self.stats.events,
                "fills": self.stats.fills,
            },
        )
        if isinstance(self.ledger, BatchingLog):
            # A backtest's last batch is committed with the stop record: after close() the
            # ledger holds the whole run whoever closes the store, and when.
            self.ledger.flush()
        if self.observers is not None:
            self.observers.emit("cryptobot_engine_stopped", run_id=self.run_id, reason=reason)
        problems: list[str] = []
        for component, fence in reversed(self._components()):
            try:
                await fence.call_async(component.close, budget=START_BUDGET)
            except CryptoBotError as exc:
                # Closing is best effort: every other component still closes, and the
                # run's records are complete; the caller learns what did not close.
                problems.append(f"{fence.plugin}: {exc}")
        if problems:
            raise PluginError(
                "components failed to close: " + "; ".join(problems), plugin="engine"
            )

    def _components(self) -> list[tuple[Component[Any], Fence]]:
        """Data sources, agents and venues with the fence each is called through."""
        source_fences = getattr(self.data_sources, "fences", None)
        found: list[tuple[Component[Any], Fence]] = []
        for index, source in enumerate(self.data_sources):
            fence = source_fences[index] if source_fences is not None else None
            found.append((source, fence or Fence(getattr(source, "name", "data source"))))
        for name, agent in self.agents.items():
            found.append((agent, self.agent_fences.get(name) or Fence(name)))
        for venue, adapter in self.exchanges.items():
            found.append((adapter, self.exchange_fences.get(venue) or Fence(venue)))
        return found

    async def run(self, start: datetime | None = None, end: datetime | None = None) -> EngineStats:
        # What exists before the run (components, data, the growing equity curve and trade
        # lists) lives through it; frozen, the cyclic collector stops re-scanning those
        # references on every full collection, which cost a third of a backtest's time.
        # Objects the run creates are collected as usual - in a backtest less often: nearly
        # all of them die by reference counting, and a young-generation pass every 700
        # allocations cost ~9% of the run.
        gc.freeze()
        thresholds = gc.get_threshold()
        if self.mode == "backtest":
            gc.set_threshold(max(thresholds[0], 20_000), *thresholds[1:])
        try:
            return await self._run(start, end)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    async def _run(self, start: datetime | None, end: datetime | None) -> EngineStats:
        if self._settled():
            return self.stats
        async for block in self._blocks(start, end):
            if self.precomputed.active:
                self.precomputed.feed(e for batch in block for e in batch if isinstance(e, Bar))
                self._fed_until = block[-1][0].ts
            for batch in block:
                await self.step(batch)
                if self._settled():
                    return self.stats
        return self.stats

    def _blocks(
        self, start: datetime | None, end: datetime | None
    ) -> AsyncIterator[list[list[MarketEvent]]]:
        """The merged stream as blocks of timestamps (see :mod:`.ticks`)."""
        size = self.read_ahead or (READ_AHEAD if self.mode == "backtest" else 1)
        stream = merged(self.data_sources, start, end)
        if self.mode != "backtest" and size == 1:
            return ticks_as_they_arrive(stream, self.tick_gap)
        return read_ahead(stream, size)

    def _settled(self) -> bool:
        """After the kill switch, ticks only serve to fill the flattening orders."""
        return self.killed and not self.orders.any_open()

    async def step(self, events: Sequence[MarketEvent]) -> StepResult:  # noqa: PLR0912, PLR0915 - one function on purpose: a call per phase costs a coroutine a tick
        """Advance the engine by one tick: ``events`` all share one timestamp, later than the
        previous tick's.

        The events update the market view and the marks, simulated venues match them (their
        fills are booked), real venues' fills are collected, a kill request is honoured, and
        every symbol that got a bar is decided on; then oversight runs and the equity is
        recorded. Returns what the tick did. Agents that precompute are read at the bar just
        taken: a caller driving :meth:`step` itself (an RL environment) feeds them first with
        ``engine.precomputed.feed(bars)``, or leaves them to ``evaluate``.
        """
        if not events:
            raise ValueError("step() needs at least one event")
        ts = events[0].ts
        journal = self.journal
        if journal.dirty:
            journal.clear()
        if self.precomputed.active and (self._fed_until is None or ts > self._fed_until):
            # Driven one tick at a time (an RL environment, a test): the tick is its own
            # block, so precomputing agents still skip the per-bar signal.
            self.precomputed.feed(e for e in events if isinstance(e, Bar))
            self._fed_until = ts
        self.clock.advance(ts)
        updated: list[str] = []
        filled = False
        take = self._take
        matchers = self._matchers
        for event in events:
            if event.ts != ts:
                raise ValueError(
                    f"step() takes the events of one timestamp: {event.ts.isoformat()} "
                    f"after {ts.isoformat()}"
                )
            if take(event, updated):
                filled = True
            for venue, match, is_async in matchers:
                mark = self.venue_marks.get(venue)
                if mark is not None and ts <= mark:
                    continue  # a restored venue has seen this event already
                fills = await match(event) if is_async else match(event)
                if fills:
                    filled = True
                    chaos.point("fills_matched")
                    for fill in fills:
                        self.book(fill)
        if self.state_store is not None:
            self.state_store.tick = ts
            if filled:
                self.state_store.persist_all()
        if self._real_venues:
            for fill in await self.fill_sync.collect():
                self.book(fill)
        if self.kill_requested is not None and not self.killed:
            request = self.kill_requested()
            if request:
                from crypto_bot_core.engine.kill import read_kill_request

                reason, decided_by = read_kill_request(request)
                await self.kill(reason, decided_by=decided_by)
        if self.decide_after is None or ts > self.decide_after:
            # (A resumed run replays ticks it already decided for market state only.)
            for symbol in updated:
                if self.killed:
                    break  # the kill switch (before or during this tick): no new orders
                policy = settle_quietly(self, symbol, ts)
                if policy is not None:
                    await decide(self, symbol, ts, policy)
            if self.oversight is not None:
                await self.oversight.tick(self, ts)
        equity = self.portfolio.update_peak(ts)
        self.equity_curve.append((ts, equity))
        if self._telemetry:
            self._observe(equity)
        if self.yield_every_tick:
            await asyncio.sleep(0)
        if self.on_progress is not None:
            self.on_progress(ts)
        chaos.point("tick_done")
        self.last_step_monotonic = time.monotonic()
        if not journal.dirty:
            return StepResult(ts, len(events), (), (), (), (), (), equity, self.killed)
        return StepResult(
            ts,
            len(events),
            tuple(journal.signals),
            tuple(journal.intents),
            tuple(journal.verdicts),
            tuple(journal.orders),
            tuple(journal.fills),
            equity,
            self.killed,
        )

    def _take(self, event: MarketEvent, updated: list[str]) -> bool:
        """Fold one event into the market view and the marks; True if a venue's state changed
        (a funding settlement)."""
        self.stats.events += 1
        self.feed.update(event)
        if isinstance(event, Bar):
            self.stats.bars += 1
            self.portfolio.mark(event.venue, event.symbol, event.close)
            tracks = self.precomputed.tracks_of(event.venue, event.symbol)
            if tracks is not None:
                for track in tracks:
                    track.position += 1
            if event.symbol not in updated:
                updated.append(event.symbol)
        elif isinstance(event, Trade | OrderBook):
            price = event.price if isinstance(event, Trade) else event.mid
            if price is not None:
                self.portfolio.mark(event.venue, event.symbol, price)
        elif event.name == FUNDING_METRIC:
            return settle_funding(self, event)
        return False

    def book(self, fill: Fill) -> None:
        order = self.orders.book_fill(fill)
        if order is None:
            return
        instrument = self.instruments[(fill.venue, fill.symbol)]
        realised = self.portfolio.apply_fill(fill, instrument)
        self.trades.append(TradeRow(fill, realised))
        self.stats.fills += 1
        self.journal.fills.append(fill)
        self.journal.dirty = True
        if self.observers is not None:
            self.observers.emit("cryptobot_fill", fill=fill)
        if self._telemetry:
            intent_id = order.request.intent_id or ""
            arrival = self.arrival.get(intent_id)
            slippage = None
            if arrival:
                # Positive is worse than the price at decision time, for either side.
                slippage = (fill.price - arrival) / arrival * 10_000 * fill.side.sign
            self.metrics.fill(fill.venue, fill.symbol, fill.liquidity.value, slippage)
            if order.status in TERMINAL_STATUSES:
                self.arrival.pop(intent_id, None)  # its last fill: nothing more to measure

    @property
    def telemetry(self) -> bool:
        """Whether the run serves metrics (then slippage is measured per fill)."""
        return self._telemetry

    def _precompute_failed(self, agent: str, reason: str) -> None:
        """An agent's precompute failed or answered nonsense: it is asked ``evaluate`` from now
        on, and the operator learns why once."""
        self.ledger.append(
            RecordType.ALERT,
            {
                "source": agent,
                "severity": "warning",
                "title": "agent precompute refused; evaluating bar by bar",
                "detail": reason,
                "event": "precompute_fallback",
            },
            ts=self.clock.now() if self.stats.events else None,
        )

    def _order_update(self, order: Order) -> None:
        assert self.observers is not None
        self.observers.emit("cryptobot_order_update", order=order)

    def _observe(self, equity: Decimal) -> None:
        initial = sum((a.initial for a in self.portfolio.accounts.values()), Decimal(0))
        peak = self.portfolio.peak_equity
        drawdown = (peak - equity) / peak if peak > 0 else Decimal(0)
        self.metrics.pnl(equity, pnl=equity - initial, drawdown=drawdown)
        self.metrics.open_orders(len(self.orders.open_orders()))

    def venues_for(self, symbol: str) -> list[str]:
        """The venues listing ``symbol``, sorted (asked on every decision; instruments are
        loaded once, at start)."""
        if self._venues_seen != len(self.instruments):
            self._venues = {}
            self._venues_seen = len(self.instruments)
        venues = self._venues.get(symbol)
        if venues is None:
            venues = self._venues[symbol] = sorted(v for v, s in self.instruments if s == symbol)
        return venues

    def now(self) -> datetime:
        """The engine's time; before the first event of a resumed run, its last decision's."""
        try:
            return self.clock.now()
        except LookupError:
            if self.decide_after is not None:
                return self.decide_after
            raise

    async def kill(
        self, reason: str, *, decided_by: str | None = None, at: datetime | None = None
    ) -> list[str]:
        """The kill switch: cancel every open order, flatten every position, record why.

        ``decided_by`` is the person who ordered it (a service token's subject, the CLI
        user); None when the algorithm did (a risk rule). ``at`` is the earliest time the
        kill may be dated (a stopped run's last recorded moment). Returns what could not
        be done (an operator finishes those by hand).
        """
        from crypto_bot_core.engine.kill import flatten_everything, kill_time

        self.killed = True
        self.metrics.kill_switch()
        self.killed_at = kill_time(self, at)
        return await flatten_everything(self, reason, decided_by=decided_by, at=self.killed_at)

    def summary(self) -> RunSummary:
        """The run's figures, what it left open and what it refused; computed once, at the end."""
        self.portfolio.value_pending()
        late = self.portfolio.late_realised
        if late:
            # Fills a resumed run loaded before their currency had a rate: their P&L in the
            # portfolio currency is known now.
            self.trades[:] = [
                TradeRow(row.fill, late[row.fill.fill_id]) if row.fill.fill_id in late else row
                for row in self.trades
            ]
        venues = [
            VenueResult(
                venue=account.venue,
                initial=account.initial,
                final=self.portfolio.venue_equity(account.venue),
                fees=account.fees,
                fills=account.trades,
            )
            for account in self.portfolio.accounts.values()
        ]
        open_orders = [
            OpenOrder(
                client_order_id=o.client_order_id,
                venue=o.venue,
                symbol=o.symbol,
                side=o.request.side.value,
                order_type=o.request.order_type.value,
                quantity=o.request.quantity,
                filled=o.filled_quantity,
                price=o.request.price,
                status=o.status.value,
                created_at=o.created_at,
            )
            # (No order manager: the run failed before its venues opened.)
            for o in (self.orders.open_orders() if hasattr(self, "orders") else ())
        ]
        positions = [
            OpenPosition(
                venue=book.venue,
                symbol=book.symbol,
                quantity=book.quantity,
                entry_price=book.entry,
                mark_price=book.mark,
            )
            for book in self.portfolio.books.values()
            if book.quantity != 0
        ]
        return summarise(
            run_id=self.run_id,
            mode=self.mode,
            curve=self.equity_curve,
            trades=self.trades,
            venues=venues,
            events=self.stats.events,
            contract_sizes={key: i.contract_size for key, i in self.instruments.items()},
            decisions=self.stats.intents,
            rejection_counts=self.stats.rejections,
            rejection_examples=self.stats.rejection_examples,
            open_orders=open_orders,
            open_positions=positions,
            fill_rates=self.portfolio.fill_rates,
        )
