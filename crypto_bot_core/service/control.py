"""The service's handle on a running engine: the kill switch, the status, the venues' health.

The service depends on the small :class:`EngineControl` protocol, not on the
engine, so it runs the same beside an engine in the same process
(:class:`InProcessEngineControl`) or with none at all (then ``/shutdown``
answers 409 "no engine attached" instead of pretending).

The engine lives on its own asyncio loop; the service (uvicorn) on another
thread's. Everything that touches the engine's adapters or orders -- the kill
switch, exchange probes -- is handed to the engine's loop with
``run_coroutine_threadsafe`` and awaited from the service's, so it runs
between two of the engine's awaits, never concurrently with a tick's code on
another thread. The status is read without marshalling: it only copies
fields (under the GIL) and must answer even while the engine is busy.

Liveness is read the same way: the engine stamps ``last_step_monotonic`` at
the end of every tick, and a running engine whose stamp is older than the loop
budget is stuck (a plugin that blocks the loop, a hung await without a budget),
which a restart cures and waiting does not. Waiting for a live feed's next
event is not being stuck: the merge says when it waits
(``GuardedSources.waiting_since``) and the data sources' per-item budget bounds
that wait. Readiness asks each venue for its balances and adds what the
engine's own last call to it met.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from crypto_bot_core.host.fence import DEFAULT_BUDGETS
from crypto_bot_core.service.models import EngineStatus, OrderView, PositionView

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine

T = TypeVar("T")
State = Literal["starting", "running", "stopped"]


class EngineNotRunningError(RuntimeError):
    """The engine is attached but not (or no longer) running."""


class EngineBusyError(RuntimeError):
    """The engine's loop did not take a request in time."""


class EngineControl(Protocol):
    """What the service needs of an engine."""

    def status(self) -> EngineStatus: ...

    async def kill(self, reason: str, *, requested_by: str) -> list[str]:
        """Cancel every open order, flatten every position, record why and who decided
        (``requested_by``: a person, so the kill is a manual decision); return the problems."""
        ...

    async def check_exchanges(self, within_s: float) -> dict[str, str | None]:
        """Venue -> ``None`` when reachable, else what failed."""
        ...

    def liveness(self) -> str | None:
        """``None`` while the engine's loop advances (or it is not running); else why not."""
        ...


class InProcessEngineControl:
    """:class:`EngineControl` for an :class:`~crypto_bot_core.engine.kernel.Engine` in this process.

    The runner marks the life of the engine: :meth:`mark_running` once
    ``engine.start()`` is done (on the engine's loop), :meth:`mark_stopped`
    when ``engine.run()`` returns or fails.
    """

    def __init__(self, engine: Engine, *, loop_budget_s: float = DEFAULT_BUDGETS["loop"]) -> None:
        self.engine = engine
        self.loop_budget_s = loop_budget_s
        """Seconds the engine may go without completing a tick (``budgets.loop``)."""
        self._running_since = 0.0
        self._state: State = "starting"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._kill_lock: asyncio.Lock | None = None
        self.kill_timeout_s = 60.0

    # --- life, told by the runner --------------------------------------------------
    def mark_running(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._running_since = time.monotonic()
        self._state = "running"

    def mark_stopped(self) -> None:
        self._state = "stopped"

    @property
    def state(self) -> State:
        return self._state

    # --- EngineControl -------------------------------------------------------------
    def status(self) -> EngineStatus:
        engine = self.engine
        started = self._state != "starting"
        orders = list(engine.orders.open_orders()) if started else []
        books = list(engine.portfolio.books.items()) if started else []
        positions = [
            PositionView(venue=venue, symbol=symbol, quantity=format(book.quantity, "f"))
            for (venue, symbol), book in sorted(books)
            if book.quantity != 0
        ]
        return EngineStatus(
            run_id=engine.run_id,
            mode=engine.mode,
            state=self._state,
            killed=engine.killed,
            equity=format(engine.portfolio.equity(), "f") if started else None,
            open_orders=[
                OrderView(
                    client_order_id=o.client_order_id,
                    venue=o.venue,
                    symbol=o.symbol,
                    side=o.request.side.value,
                    status=o.status.value,
                    quantity=format(o.request.quantity, "f"),
                    filled_quantity=format(o.filled_quantity, "f"),
                )
                for o in orders
            ],
            positions=positions,
            flat=not orders and not positions,
        )

    async def kill(self, reason: str, *, requested_by: str) -> list[str]:
        if self._state != "running":
            raise EngineNotRunningError(f"the engine of run {self.engine.run_id} is {self._state}")
        text = f"{reason} (requested by {requested_by} through the service)"
        return await self._on_engine_loop(self._kill(text, requested_by), self.kill_timeout_s)

    async def check_exchanges(self, within_s: float) -> dict[str, str | None]:
        if self._state != "running":
            return {venue: f"the engine is {self._state}" for venue in self.engine.exchanges}
        probed = await self._on_engine_loop(
            probe_exchanges(self.engine.exchanges, within_s), within_s + 1.0
        )
        # A venue can answer a balance probe and still fail the engine's order calls (an
        # order endpoint down, an adapter bug on one path): those count until they pass.
        failed = dict(getattr(self.engine.orders, "venue_problems", {}))
        now = time.monotonic()
        for venue, (at, problem) in failed.items():
            if venue in probed and probed[venue] is None:
                probed[venue] = f"the engine's last call failed {now - at:.0f} s ago: {problem}"
        return probed

    def liveness(self) -> str | None:
        if self._state != "running":
            return None  # starting (connecting, reconciling) or done: not a stuck loop
        now = time.monotonic()
        idle = now - max(self.engine.last_step_monotonic, self._running_since)
        if idle <= self.loop_budget_s:
            return None
        # Between two ticks a live engine waits for its feed: that wait is bounded by the
        # data sources' per-item budget (past it the source fails), so it is not a hang.
        sources = self.engine.data_sources
        waiting = getattr(sources, "waiting_since", None)
        if waiting is not None:
            per_item = getattr(sources, "budget_per_item", None)
            allowance = (math.inf if per_item is None else per_item) + self.loop_budget_s
            if now - waiting <= allowance:
                return None
        return (
            f"the engine of run {self.engine.run_id} has not completed a tick for {idle:.1f} s "
            f"(loop budget {self.loop_budget_s:g} s): its loop is blocked or waiting on "
            "something that does not answer; restart it (cryptobot run --resume RUN continues "
            "the run from its ledger)"
        )

    # --- helpers -------------------------------------------------------------------
    async def _kill(self, reason: str, requested_by: str) -> list[str]:
        if self._kill_lock is None:
            self._kill_lock = asyncio.Lock()
        async with self._kill_lock:
            # The token's subject decided: the kill record, its orders and the reports
            # (best execution, MiFIR fields 57 and 59) name a person, not the algorithm.
            result = await self.engine.kill(reason, decided_by=requested_by)
            return [str(p) for p in result]

    async def _on_engine_loop(self, work: Coroutine[Any, Any, T], within_s: float) -> T:
        """Run ``work`` on the engine's loop and wait for it from this one."""
        loop = self._loop
        assert loop is not None
        if threading.get_ident() == self._thread:
            return await work
        future = asyncio.run_coroutine_threadsafe(work, loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), within_s)
        except TimeoutError:
            raise EngineBusyError(
                f"the engine did not take the request within {within_s:.0f} s (it is inside a "
                "long tick, or its loop never yields); the request stays queued and runs when "
                "the engine next yields"
            ) from None


async def probe_exchanges(exchanges: Mapping[str, Any], within_s: float) -> dict[str, str | None]:
    """Ask each venue for its balances (an authenticated round trip); ``None`` means reachable."""

    async def probe(adapter: Any) -> str | None:
        try:
            await asyncio.wait_for(adapter.fetch_balances(), within_s)
        except TimeoutError:
            return f"no answer within {within_s:.1f} s"
        except Exception as exc:  # a probe reports any failure, it does not raise
            return f"{type(exc).__name__}: {exc}"
        return None

    venues = sorted(exchanges)
    results = await asyncio.gather(*(probe(exchanges[v]) for v in venues))
    return dict(zip(venues, results, strict=True))
