"""The one wrapper through which the host and the engine call plugin code.

A bug in a plugin (a ``KeyError`` in an agent, a ``TypeError`` in a reporter)
must not surface as an anonymous traceback deep inside the engine, nor be
mistaken for an engine bug. The fence turns such a failure into a
:class:`PluginError` that names the plugin and its distribution, chained to the
original exception. Errors of our own hierarchy (:class:`CryptoBotError`:
``ExchangeError``, ``AgentUnavailableError``, ``ConfigError``...) are part of
the contracts and pass through unchanged, so callers can still catch the
precise subclass (retry after ``RateLimitedError``, drop an unavailable agent).

A call can carry a time budget, because a plugin that hangs is as harmful as
one that raises: a coroutine (or one step of a stream) that overruns it is
cancelled and becomes a :class:`PluginTimeoutError`; a synchronous call cannot
be interrupted from inside the thread it runs on, so it runs to its end and its
overrun is reported (:class:`Overrun`) for the caller to record. Without a
budget the fence adds no timer and no task: the hot path pays one ``try``.
With one, a fence keeps a single timer for all its calls (:class:`_Watchdog`)
instead of arming ``asyncio.timeout`` on each: on a backtest's hot path (one
stream step per event, one agent call per bar) that is the difference between
a few tenths of a microsecond and several microseconds per call.

The fence does not copy arguments: the engine passes frozen SDK models and
read-only views (``MarketView``, ``RiskContext``), which is what keeps a plugin
from corrupting engine state; copying here would only cost time on the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
)
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar, cast

from crypto_bot_sdk import CryptoBotError, DataSourceError, PluginError

R = TypeVar("R")
T = TypeVar("T")

PASSTHROUGH: tuple[type[BaseException], ...] = (CryptoBotError, StopIteration, StopAsyncIteration)
"""Exceptions that are contract behaviour or control flow, never a plugin fault."""

DEFAULT_BUDGETS: Mapping[str, float] = MappingProxyType(
    {
        "agent": 1.0,
        "selector": 0.05,
        "risk_rule": 0.5,
        "exchange": 10.0,
        "data_source": 60.0,
        "reporter": 60.0,
        "notifier": 5.0,
        "observer": 0.5,
        "oversight": 5.0,
        "loop": 30.0,
    }
)
"""Seconds per plugin kind (``data_source``: per item; ``loop``: the engine's liveness).

The one place the defaults live: the config's ``budgets:`` section
(:class:`~crypto_bot_core.config.budgets.PluginBudgets`) and the engine's
constructor defaults both read them, so a run without the section and an
engine built by hand in a test behave alike."""

logger = logging.getLogger(__name__)


# --- errors the fence raises (PluginError subclasses until the SDK adopts them) -----


class PluginTimeoutError(PluginError):
    """A plugin call (or one step of its stream) did not finish within its time budget.

    ``budget`` is the budget in seconds, ``where`` the call that overran.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        distribution: str | None = None,
        budget: float,
        where: str,
    ) -> None:
        self.budget = budget
        self.where = where
        super().__init__(message, plugin=plugin, distribution=distribution)


class PluginResultError(PluginError):
    """A plugin returned a value the engine refuses: a wrong type, NaN, out of range.

    The message names the plugin and the bad value; nothing of it reaches the
    engine's state or the ledger.
    """


class DataSourceFailedError(PluginError, DataSourceError):
    """A data source's stream failed (raised, hung, or emitted a bad event).

    ``source`` is the configured instance name. Raised by the engine to end the
    session cleanly (``data_source_failure: stop``); the CLI turns it into a
    one-line error and a non-zero exit code instead of a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        plugin: str | None = None,
        distribution: str | None = None,
    ) -> None:
        self.source = source
        super().__init__(message, plugin=plugin, distribution=distribution)


@dataclass(frozen=True, slots=True)
class Overrun:
    """A synchronous plugin call that took longer than its budget (it was not interrupted)."""

    plugin: str
    where: str
    elapsed: float
    budget: float

    def __str__(self) -> str:
        return (
            f"plugin {self.plugin}: {self.where} took {self.elapsed:.3f} s, over its "
            f"{self.budget:.3f} s budget (a synchronous call cannot be interrupted; it ran "
            "to its end)"
        )


def _label(where: object) -> str:
    return getattr(where, "__qualname__", None) or (str(where) if where else "plugin code")


def _log_overrun(overrun: Overrun) -> None:
    logger.warning("%s", overrun)


class _Watchdog:
    """The time budgets of one fence's awaited calls, kept with one timer re-armed lazily.

    ``asyncio.timeout`` schedules and cancels a timer handle per call. A fence's
    calls almost always come one at a time, so one pending timer can serve them
    all: each call notes its task and start time; when the timer fires it
    cancels the task only if the call then running has overrun its budget,
    and otherwise re-arms itself for that call's deadline (or for none, between
    calls). A call that finds the watchdog busy (a concurrent call on the same
    fence, another thread) reports so and is timed with ``asyncio.timeout``.
    """

    __slots__ = ("_due", "_handle", "_limit", "_loop", "_owner", "_started", "_task", "expired")

    def __init__(self) -> None:
        self._owner = threading.Lock()
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._started = 0.0
        self._limit = 0.0
        self.expired = False

    def begin(self, limit: float) -> asyncio.Task[Any] | None:
        """Watch the current task for ``limit`` seconds; None if busy (use a timeout)."""
        if not self._owner.acquire(blocking=False):
            return None
        task = asyncio.current_task()
        if task is None:
            self._owner.release()
            return None
        loop = self._loop
        if loop is None or task.get_loop() is not loop:
            loop = self._loop = task.get_loop()
            self._handle = None  # a timer of a previous event loop never fires here
        now = loop.time()
        self._task, self._started, self._limit, self.expired = task, now, limit, False
        due = now + limit
        if self._handle is None or self._due > due:
            if self._handle is not None:
                self._handle.cancel()
            self._due = due
            self._handle = loop.call_at(due, self._fire, loop)
        return task

    def end(self) -> bool:
        """Stop watching; True if the call overran and its task was cancelled for it."""
        expired = self.expired
        self._task = None
        self.expired = False
        self._owner.release()
        return expired

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            return  # armed on an event loop this fence no longer serves
        self._handle = None
        task = self._task
        if task is None:
            return  # between calls: the next call arms the timer again
        due = self._started + self._limit
        if loop.time() >= due:
            self.expired = True
            task.cancel()
        else:
            self._due = due
            self._handle = loop.call_at(due, self._fire, loop)


class _Resumed:
    """An awaitable that carries on a plugin's coroutine already stepped once by hand.

    ``first`` is what its first step yielded to the event loop (the future it waits
    on); awaiting this hands that on and then relays every later step, result and
    exception (cancellation included) exactly as a plain ``await`` of the coroutine
    would have.
    """

    __slots__ = ("_first", "_step")

    def __init__(self, step: Any, first: Any) -> None:
        self._step = step
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        step = self._step
        value = self._first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                step.close()
                raise
            except BaseException as exc:  # a cancellation or a thrown error goes on in
                try:
                    value = step.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    value = step.send(sent)
                except StopIteration as done:
                    return done.value


class Fence:
    """Calls into one plugin; every failure becomes a :class:`PluginError` naming it.

    ``budget`` is the default time budget of calls through this fence. The
    host's fence of a plugin has none (one plugin may provide an agent and an
    exchange, whose budgets differ); :meth:`with_budget` makes the per-kind
    fence the engine is given (``agent_fences``).
    """

    __slots__ = ("_watchdog", "budget", "distribution", "overruns", "plugin")

    def __init__(
        self, plugin: str, distribution: str | None = None, *, budget: float | None = None
    ) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.budget = budget
        self.overruns = 0
        """Synchronous calls through this fence that overran their budget."""
        self._watchdog: _Watchdog | None = None

    def with_budget(self, budget: float | None) -> Fence:
        """A fence naming the same plugin whose calls default to ``budget`` seconds."""
        return Fence(self.plugin, self.distribution, budget=budget)

    def error(self, exc: BaseException, where: object = None) -> PluginError:
        """The typed error for ``exc`` raised by this plugin in ``where`` (a callable or text)."""
        return PluginError(
            f"{_label(where)} raised {type(exc).__name__}: {exc}",
            plugin=self.plugin,
            distribution=self.distribution,
        )

    def timed_out(
        self, where: object, budget: float, what: str = "did not finish"
    ) -> PluginTimeoutError:
        """The typed error for a call to ``where`` that overran ``budget`` seconds."""
        label = _label(where)
        return PluginTimeoutError(
            f"{label} {what} within its {budget:g} s budget; it was cancelled",
            plugin=self.plugin,
            distribution=self.distribution,
            budget=budget,
            where=label,
        )

    def call(
        self,
        fn: Callable[..., R],
        /,
        *args: Any,
        budget: float | None = None,
        on_overrun: Callable[[Overrun], object] | None = None,
        **kwargs: Any,
    ) -> R:
        """``fn(*args, **kwargs)``, fenced; with a budget (or the fence's), timed.

        A synchronous call cannot be pre-empted: one that overruns its budget
        still returns its result. The overrun is counted in :attr:`overruns`
        and handed to ``on_overrun`` (by default, logged as a warning), so the
        caller decides what it means (a risk rule's verdict still applies, and
        the decision record says it was late).
        """
        limit = self.budget if budget is None else budget
        try:
            if limit is None:
                return fn(*args, **kwargs)
            started = time.perf_counter()
            result = fn(*args, **kwargs)
        except PASSTHROUGH:
            raise
        except Exception as exc:
            raise self.error(exc, fn) from exc
        elapsed = time.perf_counter() - started
        if elapsed > limit:
            self.overruns += 1
            (on_overrun or _log_overrun)(Overrun(self.plugin, _label(fn), elapsed, limit))
        return result

    async def call_async(
        self,
        fn: Callable[..., Awaitable[R]],
        /,
        *args: Any,
        budget: float | None = None,
        **kwargs: Any,
    ) -> R:
        """``await fn(*args, **kwargs)``, fenced; past its budget, cancelled.

        ``budget`` (seconds) defaults to the fence's own; with none, no timer is
        armed. An overrun cancels the plugin's coroutine and raises
        :class:`PluginTimeoutError`; a plugin that swallows the cancellation
        cannot be stopped this way (nothing in one event loop can).
        """
        limit = self.budget if budget is None else budget
        try:
            if limit is None:
                return await fn(*args, **kwargs)
            return await self._within(limit, fn(*args, **kwargs), fn)
        except PASSTHROUGH:
            raise
        except Exception as exc:
            raise self.error(exc, fn) from exc

    async def _within(
        self, limit: float, work: Awaitable[R], where: object, what: str = "did not finish"
    ) -> R:
        """``await work``, cancelled past ``limit`` seconds with :class:`PluginTimeoutError`."""
        watchdog = self._watchdog
        if watchdog is None:
            watchdog = self._watchdog = _Watchdog()
        task = watchdog.begin(limit)
        if task is None:  # the fence is already watching a call: time this one alone
            timer = asyncio.timeout(limit)
            try:
                async with timer:
                    return await work
            except TimeoutError as exc:
                if timer.expired():
                    raise self.timed_out(where, limit, what) from exc
                raise
        try:
            result = await work
        except BaseException as exc:
            if watchdog.end():  # the watchdog cancelled it: whatever came out, it overran
                task.uncancel()
                if isinstance(exc, asyncio.CancelledError):
                    raise self.timed_out(where, limit, what) from None
                if isinstance(exc, Exception):
                    raise self.timed_out(where, limit, what) from exc
            raise
        if watchdog.end():
            task.uncancel()  # cancelled, but the plugin swallowed it and answered anyway
        return result

    async def next_item(
        self, iterator: AsyncIterator[T], where: object = None, *, budget: float | None = None
    ) -> T:
        """One fenced step of a plugin's stream: its next item, or ``StopAsyncIteration``.

        ``budget`` (default: the fence's) bounds the wait for this item. The
        merge of the data sources steps each stream with this, so a stream costs
        one call per item rather than a second generator around the plugin's.
        """
        limit = self.budget if budget is None else budget
        try:
            if limit is None:
                return await anext(iterator)
            # Most items of an in-process source (a file, a simulation) are ready at once:
            # step the plugin's coroutine by hand first, and arm the budget's timer only
            # when it has to wait (it then resumes exactly where it stopped).
            step: Any = anext(iterator)
            if not hasattr(step, "send"):  # an awaitable that is no coroutine: await it whole
                return await self._within(limit, step, where or iterator, "gave no item")
            try:
                waiting_on = step.send(None)
            except StopIteration as ready:
                return cast(T, ready.value)
            return await self._within(
                limit, _Resumed(step, waiting_on), where or iterator, "gave no item"
            )
        except PASSTHROUGH:
            raise
        except Exception as exc:
            raise self.error(exc, where or iterator) from exc

    async def iterate(
        self,
        source: AsyncIterator[T],
        where: object = None,
        *,
        budget_per_item: float | None = None,
    ) -> AsyncGenerator[T, None]:
        """Re-yield ``source`` (a plugin's stream), fencing every step of the iteration.

        ``budget_per_item`` (default: the fence's budget) bounds the wait for
        each item, not the whole stream: a live feed runs for days, but one that
        goes silent for longer than the budget is taken as failed.
        """
        limit = self.budget if budget_per_item is None else budget_per_item
        iterator = aiter(source)
        label = where or source
        try:
            while True:
                try:
                    item = await self.next_item(iterator, label, budget=limit)
                except StopAsyncIteration:
                    return
                yield item
        finally:
            await self.close_stream(iterator, budget=limit)

    async def close_stream(self, iterator: object, *, budget: float | None = None) -> None:
        """Close a plugin's stream (``aclose``), fenced: a consumer that stops early must not
        leave the stream (and the connection or file behind it) open until garbage collection."""
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await self.call_async(aclose, budget=budget)

    def __repr__(self) -> str:
        budget = "" if self.budget is None else f", budget={self.budget!r}"
        return f"Fence(plugin={self.plugin!r}, distribution={self.distribution!r}{budget})"
