"""Telemetry of the engine: Prometheus metrics (``metrics``).

Nothing here imports ``prometheus_client`` at import time: :class:`EngineMetrics`
loads it when built (the ``service`` extra), and :class:`NullMetrics` has the
same methods and does nothing, for runs without telemetry.
"""

from crypto_bot_core.observability.metrics import EngineMetrics, MetricsSink, NullMetrics

__all__ = ["EngineMetrics", "MetricsSink", "NullMetrics"]
