"""The narrow view of a running engine that its helpers get, and the journal of one step.

Decisions, funding, the kill switch, oversight and resuming each need part of
the engine's state - the ledger, the book, the order manager, the market - but
none of them needs the loop, and none may replace a part. They are typed
against :class:`Desk`, a protocol the :class:`~crypto_bot_core.engine.kernel.Engine`
satisfies, so they never import the kernel (no import cycle) and a reader sees
in one place everything a helper can touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from crypto_bot_sdk import (
    Agent,
    ExchangeAdapter,
    Fill,
    Instrument,
    MarketView,
    Order,
    OrderIntent,
    RiskVerdict,
    Signal,
)

if TYPE_CHECKING:
    from crypto_bot_core.engine.observers import Observers
    from crypto_bot_core.engine.orders import AuditLog, OrderManager
    from crypto_bot_core.engine.policy import PolicyRegistry
    from crypto_bot_core.engine.portfolio import Portfolio
    from crypto_bot_core.engine.precompute import Precomputed
    from crypto_bot_core.engine.risk import RiskPipeline
    from crypto_bot_core.engine.router import ExecutionRouter
    from crypto_bot_core.engine.selection import PolicySelector
    from crypto_bot_core.engine.sizing import SizingConfig
    from crypto_bot_core.host.fence import Fence
    from crypto_bot_core.observability.metrics import MetricsSink


@dataclass(slots=True)
class StepJournal:
    """What the current step did, collected where it happens (decisions, the order manager's
    callers, fill booking). ``dirty`` stays False on the many ticks where nothing is due, so
    a quiet step allocates nothing."""

    dirty: bool = False
    signals: list[Signal] = field(default_factory=list)
    intents: list[OrderIntent] = field(default_factory=list)
    verdicts: list[RiskVerdict] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def clear(self) -> None:
        self.dirty = False
        self.signals.clear()
        self.intents.clear()
        self.verdicts.clear()
        self.orders.clear()
        self.fills.clear()


class Desk(Protocol):
    """What the engine's helpers may use of a running engine (see the module doc)."""

    run_id: str
    mode: str
    killed: bool
    decide_after: datetime | None

    @property
    def ledger(self) -> AuditLog: ...
    @property
    def agents(self) -> Mapping[str, Agent[Any]]: ...
    @property
    def agent_fences(self) -> Mapping[str, Fence]: ...
    @property
    def exchanges(self) -> Mapping[str, ExchangeAdapter[Any]]: ...
    @property
    def instruments(self) -> dict[tuple[str, str], Instrument]: ...
    @property
    def policies(self) -> PolicyRegistry: ...
    @property
    def selector(self) -> PolicySelector | None: ...
    @property
    def sizing(self) -> SizingConfig: ...
    @property
    def risk(self) -> RiskPipeline: ...
    @property
    def router(self) -> ExecutionRouter: ...
    @property
    def orders(self) -> OrderManager: ...
    @property
    def portfolio(self) -> Portfolio: ...
    @property
    def market(self) -> MarketView: ...
    @property
    def metrics(self) -> MetricsSink: ...
    @property
    def observers(self) -> Observers | None: ...
    @property
    def stats(self) -> Any: ...
    @property
    def journal(self) -> StepJournal: ...
    @property
    def precomputed(self) -> Precomputed: ...
    @property
    def arrival(self) -> dict[str, Decimal]: ...
    @property
    def telemetry(self) -> bool:
        """Whether the run serves metrics (slippage is measured only then)."""
        ...
    @property
    def failed_agents(self) -> set[str]: ...
    @property
    def unavailable_agents(self) -> set[str]: ...
    @property
    def funded(self) -> set[tuple[str, str, str]]: ...
    @property
    def venue_marks(self) -> dict[str, datetime | None]: ...
    @property
    def trades(self) -> list[Any]: ...

    def now(self) -> datetime: ...

    def venues_for(self, symbol: str) -> list[str]: ...

    def book(self, fill: Fill) -> None:
        """Book a fill once: ledger, order lifecycle, portfolio, trade list (the one place)."""
        ...

    async def kill(
        self, reason: str, *, decided_by: str | None = None, at: datetime | None = None
    ) -> list[str]: ...
