"""The plugin contracts, gathered: each kind's abstract class and the capability table.

DataSource, RiskRule and Reporter live here; Agent (:mod:`._agent`),
ExchangeAdapter (:mod:`._exchange`), PolicySelector (:mod:`._selector`),
Oversight (:mod:`._oversight`) and Notifier (:mod:`._notifier`) in modules of
their own. Each is an abstract base class. Abstract methods are *required*;
the others are *optional* and tied to a capability a manifest can declare
(see :data:`CAPABILITY_METHODS`): a plugin that declares ``fill_stream`` must
override :meth:`ExchangeAdapter.fill_stream`, and the host checks that before
it runs the plugin. Every component declares a frozen pydantic config model;
the host validates the user's YAML against it and names the offending key.

Components never ask which mode (backtest, paper, live) they run in: the clock
and the exchange adapter are injected, so a strategy that backtests is the one
that trades (DESIGN rule 3).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, PlainValidator

from crypto_bot_sdk._agent import Agent
from crypto_bot_sdk._base import FrozenModel, NonNegativeMoney, UtcDatetime
from crypto_bot_sdk._component import (
    COMPONENT_NAME_PATTERN,
    Component,
    ConfigT,
    NotSupportedError,
    PluginConfig,
    PluginKind,
)
from crypto_bot_sdk._decisions import LedgerRecord, ReportArtefact, ReportPeriod, RiskVerdict
from crypto_bot_sdk._exchange import ExchangeAdapter, FeeSchedule
from crypto_bot_sdk._market import Instrument, MarketEvent
from crypto_bot_sdk._market_view import MarketView, check_market_view
from crypto_bot_sdk._notifier import Notifier
from crypto_bot_sdk._orders import Order, OrderIntent
from crypto_bot_sdk._oversight import Oversight
from crypto_bot_sdk._portfolio import PortfolioSnapshot
from crypto_bot_sdk._selector import PolicySelector

__all__ = [
    "CAPABILITY_EXTRA_METHODS",
    "CAPABILITY_METHODS",
    "COMPONENT_NAME_PATTERN",
    "CONTRACTS",
    "Agent",
    "Component",
    "ConfigT",
    "DataSource",
    "ExchangeAdapter",
    "FeeSchedule",
    "NotSupportedError",
    "Notifier",
    "Oversight",
    "PluginConfig",
    "PluginKind",
    "PolicySelector",
    "Reporter",
    "RiskContext",
    "RiskRule",
    "promised_methods",
]


class DataSource(Component[ConfigT]):
    """Emits market events (bars, trades, books, metric points) in time order."""

    kind = PluginKind.DATASOURCE

    @abstractmethod
    def instruments(self) -> Sequence[Instrument]:
        """Required: the instruments this source emits events for."""

    @abstractmethod
    def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        """Required: events with non-decreasing ``ts`` and no duplicates, from ``start`` until
        ``end`` (exclusive). A replay or synthetic source ends; a live one runs until closed."""

    async def history(
        self, symbol: str, start: datetime, end: datetime
    ) -> Sequence[MarketEvent]:
        """Optional (capability ``history``): stored events of one symbol in ``[start, end)``."""
        raise NotSupportedError(f"data source {self.name!r} offers no history")


class RiskContext(FrozenModel):
    """What a risk rule may look at: the portfolio and a read-only market view, at ``ts``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    ts: UtcDatetime
    portfolio: PortfolioSnapshot
    market: Annotated[MarketView, PlainValidator(check_market_view)]
    open_orders: tuple[Order, ...] = ()
    reference_price: NonNegativeMoney | None = Field(
        default=None, description="The price the intent is expected to execute near."
    )


class RiskRule(Component[ConfigT]):
    """A pure check of an order intent: approve, resize or reject, always explained.

    Pure means: the same intent and context give the same verdict, and the rule
    changes nothing outside itself. State a rule needs (a kill-switch latch) is
    read from the context, not kept between calls.
    """

    kind = PluginKind.RISKRULE

    @abstractmethod
    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        """Required: the verdict for ``intent``; ``verdict.rule`` names this rule."""


class Reporter(Component[ConfigT]):
    """Turns ledger records over a period into an artefact (bytes, media type, file name).

    Rendering must be deterministic: the same records and period give the same
    bytes, so a report can be re-created and checked years later.
    """

    kind = PluginKind.REPORTER

    formats: ClassVar[tuple[str, ...]] = ("json",)

    @abstractmethod
    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        """Required: the report for ``period`` in format ``fmt`` (one of :attr:`formats`)."""


CONTRACTS: dict[PluginKind, type[Component[Any]]] = {
    PluginKind.DATASOURCE: DataSource,
    PluginKind.AGENT: Agent,
    PluginKind.EXCHANGE: ExchangeAdapter,
    PluginKind.RISKRULE: RiskRule,
    PluginKind.REPORTER: Reporter,
    PluginKind.SELECTOR: PolicySelector,
    PluginKind.OVERSIGHT: Oversight,
    PluginKind.NOTIFIER: Notifier,
}
"""The abstract class of every kind: a component of kind ``k`` subclasses ``CONTRACTS[k]``."""

CAPABILITY_METHODS: dict[str, tuple[PluginKind, str]] = {
    "history": (PluginKind.DATASOURCE, "history"),
    "positions": (PluginKind.EXCHANGE, "fetch_positions"),
    "order_book": (PluginKind.EXCHANGE, "fetch_order_book"),
    "fees": (PluginKind.EXCHANGE, "fetch_fees"),
    "leverage": (PluginKind.EXCHANGE, "set_leverage"),
    "fill_stream": (PluginKind.EXCHANGE, "fill_stream"),
    "simulated": (PluginKind.EXCHANGE, "on_market_event"),
    # Added in API 1.1.0:
    "precompute": (PluginKind.AGENT, "precompute"),
    "explain": (PluginKind.AGENT, "explain"),
    "sync_submit": (PluginKind.EXCHANGE, "submit_order_sync"),
    "fills_by_order": (PluginKind.EXCHANGE, "fills_of_order"),
    "adopt_symbols": (PluginKind.EXCHANGE, "adopt_instruments"),
    "state_snapshot": (PluginKind.EXCHANGE, "snapshot_state"),
    "settle_funding": (PluginKind.EXCHANGE, "settle_funding"),
    "sync_matching": (PluginKind.EXCHANGE, "match_event"),
    "forget_closed": (PluginKind.EXCHANGE, "forget_closed_orders"),
}
"""Capabilities that promise an optional method: declaring one obliges the component of
that kind to override the method. Other capabilities (``order.limit``, ``partial_fills``,
``reduce_only``, ``post_only``, ``deterministic``...) select conformance checks."""

CAPABILITY_EXTRA_METHODS: dict[str, tuple[str, ...]] = {
    "state_snapshot": ("restore_state",),
}
"""Further methods a capability of :data:`CAPABILITY_METHODS` promises besides its main one
(a snapshot is useless without its restore). Added in API 1.1.0."""


def promised_methods(capability: str) -> tuple[str, ...]:
    """Every method declaring ``capability`` obliges a component to override (none if unknown)."""
    entry = CAPABILITY_METHODS.get(capability)
    if entry is None:
        return ()
    return (entry[1], *CAPABILITY_EXTRA_METHODS.get(capability, ()))
