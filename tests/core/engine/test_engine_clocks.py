"""The engine's clocks: a backtest's time is its events' time and never runs backwards;
paper and live runs read the wall clock, whatever the events say.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crypto_bot_core.engine.clock import SimulatedClock, WallClock

T0 = datetime(2024, 1, 1, 9, 30, tzinfo=UTC)


def test_simulated_time_is_the_time_of_the_event_being_processed() -> None:
    clock = SimulatedClock()
    with pytest.raises(LookupError, match="has not seen an event yet"):
        clock.now()
    clock.advance(T0)
    clock.advance(T0)  # a second event of the same tick
    assert clock.now() == T0
    clock.advance(T0 + timedelta(minutes=1))
    assert clock.now() == T0 + timedelta(minutes=1)
    assert SimulatedClock(start=T0).now() == T0


def test_simulated_time_refuses_to_go_backwards_naming_both_times() -> None:
    clock = SimulatedClock(start=T0)
    with pytest.raises(ValueError, match="in time order") as caught:
        clock.advance(T0 - timedelta(seconds=1))
    assert str(caught.value) == (
        "event at 2024-01-01T09:29:59+00:00 arrived after 2024-01-01T09:30:00+00:00; "
        "data sources must emit events in time order"
    )
    assert clock.now() == T0  # the refused event did not move it


def test_the_wall_clock_ignores_event_times_and_reads_utc() -> None:
    clock = WallClock()
    before = datetime.now(UTC)
    clock.advance(datetime(2000, 1, 1, tzinfo=UTC))  # an old event does not move it
    now = clock.now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)
