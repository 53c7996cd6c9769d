"""Choosing the policy per symbol: the configured selector behind its fence, the registry's
fixed mapping as its fallback, and the rewards the selector learns from.

A ``selector`` plugin (the SDK's :class:`~crypto_bot_sdk.PolicySelector`, e.g. a
meta-learner or the built-in ``fixed-selector``) configured under ``selector:`` is
called through its fence by :func:`choose_policy` every decision tick. The
registry's mapping (:class:`FixedPolicySelector`) decides when none is configured,
and whenever the configured one fails.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from crypto_bot_core.engine.observers import publish_alert
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    Component,
    CryptoBotError,
    MarketView,
    PluginConfig,
    PolicyChoice,
    RecordType,
)
from crypto_bot_sdk import PolicySelector as SdkPolicySelector

if TYPE_CHECKING:
    from crypto_bot_core.engine.observers import AlertLedger, Observers
    from crypto_bot_core.engine.portfolio import Portfolio



class SelectionDesk(Protocol):
    """What choosing a policy needs of the running engine (a part of
    :class:`~crypto_bot_core.engine.desk.Desk`, which imports this module)."""

    @property
    def selector(self) -> PolicySelector | None: ...
    @property
    def policies(self) -> PolicyRegistry: ...
    @property
    def market(self) -> MarketView: ...
    @property
    def ledger(self) -> AlertLedger: ...
    @property
    def observers(self) -> Observers | None: ...
    @property
    def portfolio(self) -> Portfolio: ...


PolicySelector: TypeAlias = SdkPolicySelector[Any]
"""The SDK's selector contract as the engine holds one (of any config): the engine-private
protocol of API 1.0 is gone, a selector is a ``selector`` plugin component."""


class FixedPolicySelector(SdkPolicySelector[PluginConfig]):
    """The rule-based fallback: the registry's per-symbol mapping, else its default.

    The engine's own selector, not a plugin: it decides when no ``selector:`` is
    configured, and whenever a configured one cannot (see :class:`FencedSelector`).
    The built-in ``fixed-selector`` plugin gives the same answers through the fence.
    """

    name = "registry"

    def __init__(self, registry: PolicyRegistry) -> None:
        super().__init__(PluginConfig())
        self.registry = registry

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        return PolicyChoice(self.registry.symbols.get(symbol, self.registry.default))


START_BUDGET = 30.0
"""Seconds a selector's ``start()`` may take (it runs once, before its first choice)."""

_FAILURES = {
    "raised": "policy selector failed",
    "late": "policy selector over its time budget",
    "answer": "policy selector answered nonsense",
    "policy": "policy selector chose a policy the registry does not have",
    "start": "policy selector did not start",
    "reward": "policy selector refused a reward",
}
"""Title of the one alert recorded per kind of failure (the registry's mapping decides)."""


@dataclass(slots=True)
class _Window:
    """A choice whose reward is not known yet: the symbol's P&L and the equity when made."""

    policy: str
    pnl: Decimal
    equity: Decimal


class FencedSelector(SdkPolicySelector[PluginConfig]):
    """The configured selector as the engine calls it: fenced, checked, with the fallback.

    Every decision tick :func:`choose_policy` asks it for the symbol's policy. The
    selector is offered the registry's policy names with the registry's own choice
    first (so a selector that knows nothing can return the first), called through its
    plugin's fence and timed against ``budget``. A call that raises, overruns, returns
    anything but a sound :class:`PolicyChoice` or names a policy outside the registry
    is not used: the registry's mapping decides that tick, and the failure is recorded
    once per kind (an alert). The session never ends for it.

    The choice is evidence: a ``decision`` record (outcome ``policy selected``) holds
    the symbol's policy, the confidence and the selector whenever that changes, so the
    fixed mapping writes one per symbol and a learning selector one per new answer.

    Rewards: the window of a choice runs from one decision tick of its symbol to the
    next. At the next one the selector's ``reward`` gets the symbol's P&L over the
    window (realised and unrealised, after fees and funding, over every venue) as a
    fraction of the equity when the window opened. Only selectors that override
    ``reward`` are asked, only for their own choices (not for a tick the mapping
    decided), and the last window of a run is never rewarded.
    """

    name = "fenced"

    def __init__(
        self,
        selector: PolicySelector,
        *,
        instance: str,
        fence: Fence,
        budget: float | None,
    ) -> None:
        super().__init__(PluginConfig())
        self.selector = selector
        self.instance = instance
        """The configured name (``selector.name`` in the config): what alerts name."""
        self.fence = fence
        self.budget = budget
        self.calls = 0
        self.fallbacks = 0
        self.ready = type(selector).start is Component.start
        """False until a selector with a ``start()`` of its own has been started."""
        self._broken = False
        self._learns = type(selector).reward is not SdkPolicySelector.reward
        self._reported: set[str] = set()
        self._offered: dict[str, tuple[str, ...]] = {}
        self._names: frozenset[str] = frozenset()
        self._last: dict[str, tuple[str, float, bool]] = {}
        self._windows: dict[str, _Window] = {}

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        """The selector's sound choice among ``policies``, else the first of them."""
        names = frozenset(policies)
        choice, _ = self._ask(symbol, venue, market, tuple(policies), names)
        return choice if choice is not None else PolicyChoice(policies[0])

    async def start(self) -> None:
        await self.fence.call_async(self.selector.start, budget=START_BUDGET)

    async def close(self) -> None:
        await self.fence.call_async(self.selector.close, budget=START_BUDGET)

    def _ask(
        self,
        symbol: str,
        venue: str | None,
        market: MarketView,
        offered: tuple[str, ...],
        names: frozenset[str],
    ) -> tuple[PolicyChoice | None, tuple[str, str] | None]:
        """(the choice, None) or (None, (failure kind, what was wrong))."""
        started = time.perf_counter()
        try:
            # Typed as what it may be: a plugin's answer is checked, not trusted.
            result: object = self.fence.call(self.selector.select, symbol, venue, market, offered)
        except CryptoBotError as exc:  # a PluginError from the fence, or an SDK error
            return None, ("raised", str(exc))
        elapsed = time.perf_counter() - started
        if self.budget is not None and elapsed > self.budget:
            return None, (
                "late",
                f"select took {elapsed:.3f} s for {symbol}, over its {self.budget:g} s budget "
                "(a synchronous call cannot be interrupted; its answer was not used)",
            )
        if not isinstance(result, PolicyChoice):
            return None, ("answer", f"select returned {type(result).__name__} ({result!r:.80})")
        policy, confidence = result.policy, result.confidence
        if (
            not isinstance(confidence, float | int)
            or isinstance(confidence, bool)
            or not 0.0 <= confidence <= 1.0  # False for NaN
        ):
            return None, ("answer", f"select gave confidence {confidence!r} for {symbol}")
        if not isinstance(policy, str) or policy not in names:
            return None, (
                "policy",
                f"select chose {policy!r} for {symbol}; the registry's policies are "
                f"{', '.join(sorted(names))}",
            )
        return result, None

    def choose(self, engine: SelectionDesk, symbol: str, ts: datetime) -> str:
        """The policy for ``symbol`` at ``ts``; ``""`` while the selector awaits its start."""
        if not self.ready:
            return ""
        offered = self._offered.get(symbol)
        if offered is None:
            offered = self._offer(engine.policies, symbol)
        pnl = _symbol_pnl(engine, symbol) if self._learns else None
        if pnl is not None and not self._broken:
            self._reward(engine, symbol, pnl, ts)
        self.calls += 1
        choice: PolicyChoice | None = None
        if not self._broken:
            choice, problem = self._ask(symbol, None, engine.market, offered, self._names)
            if problem is not None:
                self._failed(engine, *problem, ts=ts)
        fallback = choice is None
        if choice is None:
            self.fallbacks += 1
            choice = PolicyChoice(offered[0])
        last = self._last.get(symbol)
        if last is None or last != (choice.policy, choice.confidence, fallback):
            self._last[symbol] = (choice.policy, choice.confidence, fallback)
            engine.ledger.append(
                RecordType.DECISION,
                {
                    "symbol": symbol,
                    "outcome": "policy selected",
                    "policy": choice.policy,
                    "evidence": {
                        "selector": self.instance,
                        "confidence": repr(float(choice.confidence)),
                        "fallback": "true" if fallback else "false",
                        "registry_policy": offered[0],
                    },
                },
                ts=ts,
            )
        if pnl is not None and not fallback:  # only the selector's own choices are rewarded
            self._windows[symbol] = _Window(choice.policy, pnl, engine.portfolio.equity())
        return choice.policy

    def last_choice(self, symbol: str) -> tuple[str, float, bool] | None:
        """(policy, confidence, made by the fallback?) of the last choice for ``symbol``."""
        return self._last.get(symbol)

    def _offer(self, registry: PolicyRegistry, symbol: str) -> tuple[str, ...]:
        """The registry's names, its choice for ``symbol`` first (built once per symbol)."""
        first = registry.symbols.get(symbol, registry.default)
        offered = (first, *(name for name in registry.policies if name != first))
        self._offered[symbol] = offered
        self._names = frozenset(registry.policies)
        return offered

    def _reward(self, engine: SelectionDesk, symbol: str, pnl: Decimal, ts: datetime) -> None:
        window = self._windows.pop(symbol, None)
        if window is None:
            return
        gained = pnl - window.pnl
        reward = float(gained / window.equity) if window.equity > 0 else 0.0
        try:
            self.fence.call(self.selector.reward, symbol, None, window.policy, reward, ts)
        except CryptoBotError as exc:
            self._failed(engine, "reward", str(exc), ts=ts)

    def _failed(self, engine: SelectionDesk, kind: str, detail: str, *, ts: datetime) -> None:
        if kind == "start":
            self._broken = True
        if kind in self._reported:
            return
        self._reported.add(kind)
        publish_alert(
            engine.ledger,
            engine.observers,
            Alert(
                ts=ts,
                severity=AlertSeverity.WARNING if kind == "reward" else AlertSeverity.HIGH,
                source=self.instance,
                title=f"{_FAILURES[kind]}; the registry's mapping decides"
                if kind != "reward"
                else _FAILURES[kind],
                detail=detail,
                figures={"failure": kind},
            ),
            event="selector_fallback" if kind != "reward" else "selector_reward_failed",
        )

    async def begin(self, engine: SelectionDesk, ts: datetime) -> None:
        """Start the selector (once, fenced); one that fails to start is never asked."""
        if self.ready:
            return
        self.ready = True
        try:
            await self.start()
        except CryptoBotError as exc:
            self._failed(engine, "start", str(exc), ts=ts)


def _symbol_pnl(engine: SelectionDesk, symbol: str) -> Decimal:
    """The symbol's P&L over every venue so far: realised and marked, after fees and funding."""
    total = Decimal(0)
    for book in engine.portfolio.books.values():
        if book.symbol != symbol:
            continue
        total += book.realised - book.fees - book.funding
        if book.quantity != 0 and book.mark is not None:
            total += (book.mark - book.entry) * book.quantity * book.contract_size
    return total


_GUARDS: weakref.WeakKeyDictionary[PolicySelector, FencedSelector] = weakref.WeakKeyDictionary()
"""A selector handed to an engine in code, without :class:`FencedSelector`: fenced on first use."""


def _fenced(engine: SelectionDesk) -> FencedSelector | None:
    selector = engine.selector
    if selector is None or type(selector) is FixedPolicySelector:
        return None
    if isinstance(selector, FencedSelector):
        return selector
    guard = _GUARDS.get(selector)
    if guard is None:
        guard = _GUARDS[selector] = FencedSelector(
            selector, instance=selector.name, fence=Fence(selector.name), budget=None
        )
    return guard


def choose_policy(engine: SelectionDesk, symbol: str, ts: datetime) -> str:
    """The policy that trades ``symbol`` at ``ts`` (called by ``decide`` every decision tick).

    With no selector configured, the registry's mapping; otherwise the selector's fenced
    choice (see :class:`FencedSelector`). ``""`` when the selector must be started
    first: then :func:`start_selector` (awaited once) starts it and chooses.
    """
    guard = _fenced(engine)
    if guard is None:
        registry = engine.policies
        return registry.symbols.get(symbol, registry.default)
    return guard.choose(engine, symbol, ts)


def selection_of(engine: SelectionDesk, symbol: str) -> dict[str, str] | None:
    """The selector's last choice for ``symbol`` as decision evidence (``selector``,
    ``policy``, ``confidence``, ``fallback``), or None when no selector is configured:
    what a decision record can carry beside the signals it blended."""
    guard = _fenced(engine)
    last = guard.last_choice(symbol) if guard is not None else None
    if guard is None or last is None:
        return None
    policy, confidence, fallback = last
    return {
        "selector": guard.instance,
        "policy": policy,
        "confidence": repr(float(confidence)),
        "fallback": "true" if fallback else "false",
    }


async def start_selector(engine: SelectionDesk, symbol: str, ts: datetime) -> str:
    """Start the configured selector (once), then :func:`choose_policy`."""
    guard = _fenced(engine)
    if guard is not None:
        await guard.begin(engine, ts)
    return choose_policy(engine, symbol, ts)
