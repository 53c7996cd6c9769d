"""Serving the API beside a running engine (``cryptobot run --serve HOST:PORT``).

The engine keeps its own thread and event loop; uvicorn runs the app in a
second thread. The service reaches the engine only through
:class:`InProcessEngineControl`, which hands work to the engine's loop, and
the engine yields between ticks so that work (a status read, the kill switch)
is taken within one tick. This is what a Kubernetes probe talks to.

The service is made before the engine: its metrics, its timed ledger and the
yielding between ticks are options of :func:`~crypto_bot_core.app.assembly.assemble`
(see :class:`AttachedService`), and :meth:`AttachedService.attach` then only
reads the built engine. Nothing of the engine is set after it is built.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crypto_bot_sdk import ConfigError

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine
    from crypto_bot_core.engine.orders import AuditLog
    from crypto_bot_core.host import Host
    from crypto_bot_core.observability import EngineMetrics
    from crypto_bot_core.service.control import InProcessEngineControl


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT`` for loopback) -> (host, port)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"serve address {text!r} needs a port: write HOST:PORT, e.g. 0.0.0.0:8080 or :8080",
            key="--serve",
        )
    return host or "127.0.0.1", int(port)


class _TimedLedger:
    """The engine's ledger with every append timed into ``ledger_append_seconds``."""

    def __init__(self, ledger: Any, metrics: Any) -> None:
        self._ledger = ledger
        self.append = metrics.timed_append(ledger.append)
        if hasattr(ledger, "append_many"):
            self.append_many = metrics.timed_append(ledger.append_many)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


@dataclass
class AttachedService:
    """The API, its metrics and its control for one run; made before the engine is built.

    The order is: make the service (its :class:`EngineMetrics` exist from then on),
    :func:`~crypto_bot_core.app.assembly.assemble` with :meth:`timed_ledger` and
    ``metrics``, then :meth:`attach` the built engine before ``engine.start()``.
    """

    address: tuple[str, int]
    host: Host
    metrics: EngineMetrics = field(init=False)
    control: InProcessEngineControl = field(init=False)
    _server: Any = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # Imported here: prometheus_client is the ``service`` extra, and only a served
        # run imports this module at all.
        from crypto_bot_core.observability import EngineMetrics

        self.metrics = EngineMetrics()

    def timed_ledger(self, ledger: AuditLog) -> AuditLog:
        """``ledger`` with every append timed into ``ledger_append_seconds``: for assemble."""
        return _TimedLedger(ledger, self.metrics)

    def attach(self, engine: Engine, ledger_url: str, *, loop_budget_s: float = 30.0) -> None:
        """Before ``engine.start()``: the control bound to ``engine``, the app built and served.

        ``engine`` must have been assembled with this service's ``metrics``,
        :meth:`timed_ledger` and ``yield_every_tick=True``; it is only read here.
        ``loop_budget_s`` (the config's ``budgets.loop``) is how long the loop may go
        without finishing a tick before ``/healthz`` fails.
        """
        import uvicorn

        from crypto_bot_core.ledger import open_ledger
        from crypto_bot_core.service import ServiceSettings, create_app
        from crypto_bot_core.service.control import InProcessEngineControl

        self.control = InProcessEngineControl(engine, loop_budget_s=loop_budget_s)
        app = create_app(
            ServiceSettings.from_env(ledger_url=ledger_url),
            host=self.host,
            ledger=open_ledger(ledger_url),
            control=self.control,
            engine_metrics=self.metrics,
        )
        host, port = self.address
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="cryptobot-api", daemon=True)
        self._thread.start()

    def running(self) -> None:
        """On the engine's loop, once it started."""
        self.control.mark_running(asyncio.get_running_loop())

    def stopped(self) -> None:
        self.control.mark_stopped()

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
