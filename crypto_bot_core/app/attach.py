"""Serving the API beside a running engine (``cryptobot run --serve HOST:PORT``).

The engine keeps its own thread and event loop; uvicorn runs the app in a
second thread. The service reaches the engine only through
:class:`InProcessEngineControl`, which hands work to the engine's loop, and
the engine yields between ticks so that work (a status read, the kill switch)
is taken within one tick. This is what a Kubernetes probe talks to.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crypto_bot_sdk import ConfigError

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine
    from crypto_bot_core.host import Host
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
    """The API, its metrics and its control, bound to one engine for one run."""

    engine: Engine
    address: tuple[str, int]
    ledger_url: str
    host: Host
    control: InProcessEngineControl = field(init=False)
    _server: Any = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def attach(self) -> None:
        """Before ``engine.start()``: telemetry on, ticks yield, the app built and served."""
        import uvicorn

        from crypto_bot_core.ledger import open_ledger
        from crypto_bot_core.observability import EngineMetrics
        from crypto_bot_core.service import ServiceSettings, create_app
        from crypto_bot_core.service.control import InProcessEngineControl

        metrics = EngineMetrics()
        self.engine.metrics = metrics
        self.engine.ledger = _TimedLedger(self.engine.ledger, metrics)
        self.engine.yield_every_tick = True
        self.control = InProcessEngineControl(self.engine)
        app = create_app(
            ServiceSettings.from_env(ledger_url=self.ledger_url),
            host=self.host,
            ledger=open_ledger(self.ledger_url),
            control=self.control,
            engine_metrics=metrics,
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
