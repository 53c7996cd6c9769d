"""The five plugin contracts: DataSource, Agent, ExchangeAdapter, RiskRule, Reporter.

Each is an abstract base class. Abstract methods are *required*; the others
are *optional* and tied to a capability a manifest can declare (see
:data:`CAPABILITY_METHODS`): a plugin that declares ``fill_stream`` must
override :meth:`ExchangeAdapter.fill_stream`, and the host checks that before
it runs the plugin. Every component declares a frozen pydantic config model;
the host validates the user's YAML against it and names the offending key.

Components never ask which mode (backtest, paper, live) they run in: the clock
and the exchange adapter are injected, so a strategy that backtests is the one
that trades (DESIGN rule 3).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import ConfigDict, Field, PlainValidator
from pydantic import ValidationError as PydanticValidationError

from crypto_bot_sdk._base import FrozenModel, NonNegativeMoney, UtcDatetime
from crypto_bot_sdk._decisions import (
    LedgerRecord,
    ReportArtefact,
    ReportPeriod,
    RiskVerdict,
    Signal,
)
from crypto_bot_sdk._errors import ConfigError, CryptoBotError
from crypto_bot_sdk._market import Instrument, MarketEvent, OrderBook
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk._orders import Fill, Order, OrderIntent, OrderRequest
from crypto_bot_sdk._portfolio import Balance, PortfolioSnapshot, Position

COMPONENT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class NotSupportedError(CryptoBotError, NotImplementedError):
    """An optional contract method was called on a component that does not offer it."""


class PluginKind(StrEnum):
    DATASOURCE = "datasource"
    AGENT = "agent"
    EXCHANGE = "exchange"
    RISKRULE = "riskrule"
    REPORTER = "reporter"


class PluginConfig(FrozenModel):
    """Base of every component's config model: frozen, unknown keys rejected.

    Subclass it and add fields; document environment-variable fallbacks in the
    field descriptions. Secrets belong in ``pydantic.SecretStr`` fields so they
    never appear in logs, reprs or the ledger.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


ConfigT = TypeVar("ConfigT", bound=PluginConfig)


def _error_key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


class Component(ABC, Generic[ConfigT]):
    """What every contract shares: a kind, a name, a config model and a start/close life.

    ``name`` identifies the component inside its plugin; the host addresses it
    as ``<plugin>`` when the plugin offers one component of a kind, or
    ``<plugin>:<name>`` otherwise.
    """

    kind: ClassVar[PluginKind]
    name: ClassVar[str]
    config_model: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None = None, *, key: str = "config") -> Self:
        """Validate ``raw`` against :attr:`config_model` and build the component.

        A validation failure becomes one :class:`ConfigError` whose key is the
        dotted path below ``key`` of the first bad field, so the operator can
        find it in the YAML file.
        """
        try:
            config = cls.config_model.model_validate(dict(raw or {}))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            sub = _error_key(tuple(first["loc"]))
            problems = "; ".join(
                f"{_error_key(tuple(err['loc'])) or '<root>'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(
                f"invalid settings for {cls.kind.value} {cls.name!r}: {problems}",
                key=f"{key}.{sub}" if sub else key,
            ) from exc
        return cls(config)  # type: ignore[arg-type]

    async def start(self) -> None:  # optional hook, empty by design
        """Optional: open connections, warm caches. Called once before the first use."""

    async def close(self) -> None:  # optional hook, empty by design
        """Optional: release connections. Called once at shutdown, also after errors."""


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


class Agent(Component[ConfigT]):
    """Turns market state into a :class:`Signal` for one symbol."""

    kind = PluginKind.AGENT

    warmup_bars: ClassVar[int] = 0
    """Bars of history the agent needs before its signals mean anything."""

    @abstractmethod
    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        """Required: a signal for ``symbol`` at ``market.now``, or ``None`` for no opinion.

        Raise :class:`AgentUnavailableError` when a service the agent needs is
        slow or down; the engine then trades on the other agents.
        """


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fee rates as fractions of notional (0.0004 = 4 bps); negative maker means a rebate."""

    maker: Decimal
    taker: Decimal


class ExchangeAdapter(Component[ConfigT]):
    """One venue: instruments, balances, orders and fills.

    ``submit_order`` must be idempotent by client order id: sending the same
    request twice (a resend after a timeout) returns the one order, never two.
    Simulated venues (the paper exchange) also receive market events through
    :meth:`on_market_event` and return the fills they cause; real venues ignore it.
    """

    kind = PluginKind.EXCHANGE

    @property
    @abstractmethod
    def venue(self) -> str:
        """Required: the venue's name as it appears in instruments, orders and the ledger."""

    @abstractmethod
    async def load_instruments(self) -> Sequence[Instrument]:
        """Required: tradable instruments with tick, lot and minimum-notional rules."""

    @abstractmethod
    async def submit_order(self, request: OrderRequest) -> Order:
        """Required: place an order, idempotent by ``request.client_order_id``.

        Raises :class:`InvalidOrderError`, :class:`InsufficientFundsError`,
        :class:`DuplicateOrderError` (same id, different parameters) and the
        other :class:`ExchangeError` subclasses.
        """

    @abstractmethod
    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        """Required: cancel an open order and return its final state."""

    @abstractmethod
    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        """Required: the order's current state; :class:`OrderNotFoundError` if unknown."""

    @abstractmethod
    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        """Required: orders not yet in a terminal state."""

    @abstractmethod
    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        """Required: own fills, oldest first; used to recover fills missed while disconnected."""

    @abstractmethod
    async def fetch_balances(self) -> Sequence[Balance]:
        """Required: balances per asset on this venue."""

    async def fetch_positions(self) -> Sequence[Position]:
        """Optional (capability ``positions``): open derivative positions."""
        raise NotSupportedError(f"exchange {self.venue!r} reports no positions")

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        """Optional (capability ``order_book``): a depth snapshot."""
        raise NotSupportedError(f"exchange {self.venue!r} offers no order book")

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        """Optional (capability ``fees``): maker and taker rates for ``symbol``."""
        raise NotSupportedError(f"exchange {self.venue!r} publishes no fee schedule")

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Optional (capability ``leverage``): set the leverage for a derivative market."""
        raise NotSupportedError(f"exchange {self.venue!r} has no leverage setting")

    def fill_stream(self) -> AsyncIterator[Fill]:
        """Optional (capability ``fill_stream``): own fills pushed as they happen."""
        raise NotSupportedError(f"exchange {self.venue!r} has no fill stream; poll fetch_fills")

    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        """Optional (capability ``simulated``): match resting orders against a market event."""
        return ()


def _check_market_view(value: object) -> MarketView:
    # Checked on the type, not the instance: a view that has seen no event raises on
    # ``now``, and Python 3.11's runtime protocol check would evaluate that property.
    missing = [
        name
        for name in ("now", "instruments", "bars", "last_price", "order_book", "metrics")
        if not hasattr(type(value), name)
    ]
    if missing:
        raise ValueError(
            f"{type(value).__name__} is not a MarketView: it lacks {', '.join(missing)}"
        )
    return value  # type: ignore[return-value]


class RiskContext(FrozenModel):
    """What a risk rule may look at: the portfolio and a read-only market view, at ``ts``."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    ts: UtcDatetime
    portfolio: PortfolioSnapshot
    market: Annotated[MarketView, PlainValidator(_check_market_view)]
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
}

CAPABILITY_METHODS: dict[str, tuple[PluginKind, str]] = {
    "history": (PluginKind.DATASOURCE, "history"),
    "positions": (PluginKind.EXCHANGE, "fetch_positions"),
    "order_book": (PluginKind.EXCHANGE, "fetch_order_book"),
    "fees": (PluginKind.EXCHANGE, "fetch_fees"),
    "leverage": (PluginKind.EXCHANGE, "set_leverage"),
    "fill_stream": (PluginKind.EXCHANGE, "fill_stream"),
    "simulated": (PluginKind.EXCHANGE, "on_market_event"),
}
"""Capabilities that promise an optional method: declaring one obliges the component of
that kind to override the method. Other capabilities (``order.limit``, ``partial_fills``,
``reduce_only``, ``post_only``, ``deterministic``...) select conformance checks."""
