"""Clocks injected into the engine: simulated time for backtests, wall-clock for paper and live.

Agents and rules never read the system time themselves; they get ``now`` from
the market view, which the engine drives from this clock. That is what makes a
backtest replay exactly what live trading would have done on the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, ts: datetime) -> None:
        """Tell the clock an event stamped ``ts`` is being processed."""
        ...


class SimulatedClock:
    """Time is the timestamp of the event being processed; it never goes backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start

    def now(self) -> datetime:
        if self._now is None:
            raise LookupError("the simulated clock has not seen an event yet")
        return self._now

    def advance(self, ts: datetime) -> None:
        if self._now is not None and ts < self._now:
            raise ValueError(
                f"event at {ts.isoformat()} arrived after {self._now.isoformat()}; "
                "data sources must emit events in time order"
            )
        self._now = ts


class WallClock:
    """Real UTC time; events only mark progress."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, ts: datetime) -> None:
        return None
