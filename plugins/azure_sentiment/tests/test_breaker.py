"""The circuit breaker on a fake monotonic clock."""

from __future__ import annotations

from cryptobot_azure_sentiment import BreakerState, CircuitBreaker

from .support import FakeClock


def test_opens_on_failure_then_half_opens_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(cooldown=30, max_cooldown=100, clock=clock)
    assert breaker.allow()
    breaker.failure("HTTP 503")
    assert (breaker.state, breaker.allow(), breaker.retry_in()) == (BreakerState.OPEN, False, 30)
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(), "only one trial call while half-open"
    breaker.success()
    assert (breaker.state, breaker.allow(), breaker.last_error) == (BreakerState.CLOSED, True, "")


def test_failed_trials_double_the_cooldown_up_to_the_cap() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(cooldown=30, max_cooldown=100, clock=clock)
    breaker.failure("down")
    waits = []
    for _ in range(4):
        waits.append(breaker.retry_in())
        clock.now += breaker.retry_in()
        assert breaker.allow()
        breaker.failure("still down")
    assert waits == [30, 60, 100, 100]
    assert breaker.failures == 5
    clock.now += 100
    assert breaker.allow()
    breaker.success()
    breaker.failure("again")
    assert breaker.retry_in() == 30, "a success resets the cooldown"
