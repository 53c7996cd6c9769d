"""Prometheus metrics of one engine: what an operator watches while it trades.

:class:`EngineMetrics` owns a private ``CollectorRegistry`` -- one per engine,
never the process-global one -- so two engines (or two tests) in one process
do not collide, and the service exposes exactly the engine it is attached to.
The kernel calls one method per event; each method keeps the labelled child
it creates, so a hot path pays a dict lookup and an increment, not a label
resolution.

Metric names (all prefixed ``cryptobot_``):

========================================  =========  ===============================
``agent_latency_seconds{agent}``          histogram  one agent evaluation
``agent_fallback_total{agent}``           counter    agent unavailable or failed
``orders_total{venue,status}``            counter    order status changes
``open_orders``                           gauge      orders not yet terminal
``fills_total{venue,symbol,liquidity}``   counter    fills booked
``fill_slippage_bps{venue}``              histogram  fill vs arrival, + = worse
``equity``, ``pnl``, ``drawdown``         gauge      the portfolio, in quote currency
``risk_verdicts_total{rule,action}``      counter    approve / resize / reject
``kill_switch_total``                     counter    kill switch pulls
``ledger_append_seconds``                 histogram  one ledger append
========================================  =========  ===============================
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

Number = float | int | Decimal

LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
SLIPPAGE_BUCKETS = (
    -50.0,
    -20.0,
    -10.0,
    -5.0,
    -2.0,
    -1.0,
    0.0,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
)
APPEND_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)


class MetricsSink(Protocol):
    """What the kernel calls; :class:`EngineMetrics` and :class:`NullMetrics` implement it."""

    def agent_latency(self, agent: str, seconds: float) -> None: ...
    def agent_fallback(self, agent: str) -> None: ...
    def order_status(self, venue: str, status: str) -> None: ...
    def open_orders(self, count: int) -> None: ...
    def fill(
        self, venue: str, symbol: str, liquidity: str, slippage_bps: Number | None = None
    ) -> None: ...
    def pnl(
        self, equity: Number, *, pnl: Number | None = None, drawdown: Number | None = None
    ) -> None: ...
    def verdict(self, rule: str, action: str) -> None: ...
    def kill_switch(self) -> None: ...
    def ledger_append(self, seconds: float) -> None: ...


class NullMetrics:
    """Every method of :class:`MetricsSink`, doing nothing: the engine without telemetry."""

    def agent_latency(self, agent: str, seconds: float) -> None:
        return None

    def agent_fallback(self, agent: str) -> None:
        return None

    def order_status(self, venue: str, status: str) -> None:
        return None

    def open_orders(self, count: int) -> None:
        return None

    def fill(
        self, venue: str, symbol: str, liquidity: str, slippage_bps: Number | None = None
    ) -> None:
        return None

    def pnl(
        self, equity: Number, *, pnl: Number | None = None, drawdown: Number | None = None
    ) -> None:
        return None

    def verdict(self, rule: str, action: str) -> None:
        return None

    def kill_switch(self) -> None:
        return None

    def ledger_append(self, seconds: float) -> None:
        return None


def _value(value: Any) -> str:
    """A label value as text: an enum member by its value (``OrderStatus.FILLED`` -> ``filled``)."""
    return str(getattr(value, "value", value))


class EngineMetrics:
    """The engine's Prometheus metrics in their own registry (see the module doc)."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, prefix: str = "cryptobot"
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry

        def name(metric: str) -> str:
            return f"{prefix}_{metric}"

        self._agent_latency = Histogram(
            name("agent_latency_seconds"),
            "Time an agent took to evaluate one symbol.",
            ["agent"],
            registry=reg,
            buckets=LATENCY_BUCKETS,
        )
        self._agent_fallback = Counter(
            name("agent_fallback"),
            "Agent evaluations that fell back (unavailable or failed).",
            ["agent"],
            registry=reg,
        )
        self._orders = Counter(
            name("orders"),
            "Order status changes, by venue and new status.",
            ["venue", "status"],
            registry=reg,
        )
        self._open_orders = Gauge(name("open_orders"), "Orders not yet terminal.", registry=reg)
        self._fills = Counter(
            name("fills"), "Fills booked.", ["venue", "symbol", "liquidity"], registry=reg
        )
        self._slippage = Histogram(
            name("fill_slippage_bps"),
            "Fill price against the arrival price in basis points; positive is worse.",
            ["venue"],
            registry=reg,
            buckets=SLIPPAGE_BUCKETS,
        )
        self._equity = Gauge(
            name("equity"), "Portfolio equity in the quote currency.", registry=reg
        )
        self._pnl = Gauge(name("pnl"), "Profit and loss since the start of the run.", registry=reg)
        self._drawdown = Gauge(
            name("drawdown"), "Drawdown from the equity peak, as a fraction.", registry=reg
        )
        self._verdicts = Counter(
            name("risk_verdicts"),
            "Risk rule verdicts, by rule and action.",
            ["rule", "action"],
            registry=reg,
        )
        self._kills = Counter(name("kill_switch"), "Kill switch pulls.", registry=reg)
        self._append = Histogram(
            name("ledger_append_seconds"),
            "Time one ledger append took.",
            registry=reg,
            buckets=APPEND_BUCKETS,
        )
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def agent_latency(self, agent: str, seconds: float) -> None:
        self._child(self._agent_latency, agent).observe(seconds)

    def agent_fallback(self, agent: str) -> None:
        self._child(self._agent_fallback, agent).inc()

    def order_status(self, venue: str, status: str) -> None:
        self._child(self._orders, venue, _value(status)).inc()

    def open_orders(self, count: int) -> None:
        self._open_orders.set(count)

    def fill(
        self, venue: str, symbol: str, liquidity: str, slippage_bps: Number | None = None
    ) -> None:
        self._child(self._fills, venue, symbol, _value(liquidity)).inc()
        if slippage_bps is not None:
            self._child(self._slippage, venue).observe(float(slippage_bps))

    def pnl(
        self, equity: Number, *, pnl: Number | None = None, drawdown: Number | None = None
    ) -> None:
        self._equity.set(float(equity))
        if pnl is not None:
            self._pnl.set(float(pnl))
        if drawdown is not None:
            self._drawdown.set(float(drawdown))

    def verdict(self, rule: str, action: str) -> None:
        self._child(self._verdicts, rule, _value(action)).inc()

    def kill_switch(self) -> None:
        self._kills.inc()

    def ledger_append(self, seconds: float) -> None:
        self._append.observe(seconds)

    def timed_append(self, append: Callable[..., Any]) -> Callable[..., Any]:
        """``append`` wrapped so each call is observed as ``ledger_append_seconds``."""
        import time

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return append(*args, **kwargs)
            finally:
                self.ledger_append(time.perf_counter() - started)

        return timed

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (what ``/metrics`` serves)."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
