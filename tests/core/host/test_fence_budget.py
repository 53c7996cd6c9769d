"""The fence's time budgets: coroutines and stream steps are cancelled, sync calls reported."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from crypto_bot_core.config.budgets import PluginBudgets
from crypto_bot_core.host.fence import (
    DEFAULT_BUDGETS,
    Fence,
    Overrun,
    PluginTimeoutError,
)
from crypto_bot_sdk import AgentUnavailableError, PluginError


async def _never() -> int:
    await asyncio.Event().wait()
    raise AssertionError("the event is never set")


async def _answer(value: int) -> int:
    return value


def test_a_hanging_coroutine_is_cancelled_at_its_budget_and_named() -> None:
    cancelled: list[bool] = []

    async def hangs() -> int:
        try:
            return await _never()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    fence = Fence("acme", "acme-dist")
    with pytest.raises(PluginTimeoutError) as caught:
        asyncio.run(fence.call_async(hangs, budget=0.01))
    error = caught.value
    assert isinstance(error, PluginError)
    assert (error.plugin, error.distribution, error.budget) == ("acme", "acme-dist", 0.01)
    assert error.where.endswith("hangs")
    assert str(error).startswith("plugin acme (distribution acme-dist): ")
    assert "did not finish within its 0.01 s budget; it was cancelled" in str(error)
    assert cancelled == [True]


def test_an_answer_within_budget_passes_and_contract_errors_pass_through() -> None:
    fence = Fence("acme")
    assert asyncio.run(fence.call_async(_answer, 7, budget=5.0)) == 7

    async def unavailable() -> None:
        raise AgentUnavailableError("service down")

    with pytest.raises(AgentUnavailableError):
        asyncio.run(fence.call_async(unavailable, budget=5.0))


def test_the_plugins_own_timeout_is_a_failure_not_a_budget_overrun() -> None:
    async def own_timeout() -> None:
        raise TimeoutError("upstream HTTP read timed out")

    with pytest.raises(PluginError) as caught:
        asyncio.run(Fence("acme").call_async(own_timeout, budget=5.0))
    assert not isinstance(caught.value, PluginTimeoutError)
    assert "own_timeout raised TimeoutError: upstream HTTP read timed out" in str(caught.value)


def test_without_a_budget_no_timer_is_armed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_timer(delay: float | None) -> object:
        raise AssertionError(f"a timer ({delay} s) was armed for an unbudgeted call")

    monkeypatch.setattr(asyncio, "timeout", no_timer)
    fence = Fence("acme")
    assert asyncio.run(fence.call_async(_answer, 3)) == 3

    async def one() -> AsyncIterator[int]:
        yield 1

    async def collect() -> list[int]:
        return [item async for item in fence.iterate(one())]

    assert asyncio.run(collect()) == [1]


def test_with_budget_makes_a_fence_of_the_same_plugin_whose_calls_default_to_it() -> None:
    host_fence = Fence("acme", "acme-dist")
    agent_fence = host_fence.with_budget(0.01)
    assert (agent_fence.plugin, agent_fence.distribution, agent_fence.budget) == (
        "acme",
        "acme-dist",
        0.01,
    )
    assert host_fence.budget is None
    with pytest.raises(PluginTimeoutError):
        asyncio.run(agent_fence.call_async(_never))
    # an explicit budget wins over the fence's own
    assert asyncio.run(agent_fence.call_async(_answer, 1, budget=5.0)) == 1


def test_a_sync_call_over_budget_still_returns_and_is_reported() -> None:
    seen: list[Overrun] = []
    fence = Fence("acme")
    # A budget no call can meet makes the overrun deterministic without sleeping.
    assert fence.call(sum, [1, 2], budget=1e-12, on_overrun=seen.append) == 3
    (overrun,) = seen
    assert (overrun.plugin, overrun.where, overrun.budget) == ("acme", "sum", 1e-12)
    assert overrun.elapsed > overrun.budget
    assert "a synchronous call cannot be interrupted" in str(overrun)
    assert fence.overruns == 1
    assert fence.call(sum, [1, 2], budget=60.0, on_overrun=seen.append) == 3
    assert len(seen) == 1
    assert fence.overruns == 1


def test_a_sync_overrun_without_a_handler_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crypto_bot_core.host.fence"):
        Fence("acme").call(sum, [1], budget=1e-12)
    assert "plugin acme: sum took" in caplog.text


def test_a_sync_call_still_names_the_plugin_on_failure() -> None:
    empty: dict[str, int] = {}
    with pytest.raises(PluginError, match=r"plugin acme: .*raised KeyError"):
        Fence("acme").call(lambda: empty["x"], budget=1.0)


def test_iterate_bounds_the_wait_for_each_item_not_the_whole_stream() -> None:
    async def slow_then_silent() -> AsyncIterator[int]:
        for number in range(3):
            await asyncio.sleep(0)  # a real stream yields to the loop between items
            yield number
        await asyncio.Event().wait()  # the feed goes silent

    async def collect() -> list[int]:
        seen: list[int] = []
        async for item in Fence("feeds").iterate(slow_then_silent(), "feed", budget_per_item=0.01):
            seen.append(item)
        return seen

    with pytest.raises(PluginTimeoutError, match=r"feed gave no item within its 0\.01 s budget"):
        asyncio.run(collect())

    async def first_three() -> list[int]:
        taken: list[int] = []
        stream = Fence("feeds").iterate(slow_then_silent(), budget_per_item=5.0)
        async for item in stream:
            taken.append(item)
            if len(taken) == 3:
                break
        await stream.aclose()
        return taken

    assert asyncio.run(first_three()) == [0, 1, 2]


def test_plugin_budgets_defaults_validation_and_the_shared_table() -> None:
    budgets = PluginBudgets()
    assert budgets.model_dump() == dict(DEFAULT_BUDGETS)
    assert (budgets.agent, budgets.selector, budgets.risk_rule, budgets.exchange) == (
        1.0,
        0.05,
        0.5,
        10.0,
    )
    assert (budgets.data_source, budgets.reporter, budgets.notifier, budgets.observer) == (
        60.0,
        60.0,
        5.0,
        0.5,
    )
    assert budgets.loop == 30.0
    with pytest.raises(ValueError, match="greater than 0"):
        PluginBudgets(agent=0)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        PluginBudgets.model_validate({"agents": 2.0})
    with pytest.raises(ValueError, match="loop budget 5 s must exceed the agent and exchange"):
        PluginBudgets(loop=5.0)
    with pytest.raises(ValueError, match="frozen"):
        budgets.agent = 2.0  # type: ignore[misc]


def test_one_timer_serves_a_run_of_calls_and_still_cuts_off_the_one_that_hangs() -> None:
    fence = Fence("acme", budget=0.02)

    async def scenario() -> list[int]:
        answers = [await fence.call_async(_answer, n) for n in range(50)]
        with pytest.raises(PluginTimeoutError):
            await fence.call_async(_never)
        answers.append(await fence.call_async(_answer, 99))  # the fence works on afterwards
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0  # our cancellations were all taken back
        return answers

    assert asyncio.run(scenario()) == [*range(50), 99]
    # a later event loop (another asyncio.run) gets a timer of its own
    with pytest.raises(PluginTimeoutError):
        asyncio.run(fence.call_async(_never))


def test_concurrent_calls_on_one_fence_each_get_their_budget() -> None:
    fence = Fence("acme", budget=0.02)

    async def scenario() -> tuple[int | BaseException, ...]:
        return await asyncio.gather(
            fence.call_async(_never),
            fence.call_async(_never),
            fence.call_async(_answer, 5),
            return_exceptions=True,
        )

    first, second, third = asyncio.run(scenario())
    assert isinstance(first, PluginTimeoutError)
    assert isinstance(second, PluginTimeoutError)
    assert third == 5


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    fence = Fence("acme", budget=30.0)

    async def scenario() -> None:
        call = asyncio.ensure_future(fence.call_async(_never))
        await asyncio.sleep(0)  # let the call start waiting
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(scenario())


def test_a_plugin_that_swallows_the_cancellation_keeps_its_answer() -> None:
    fence = Fence("acme", budget=0.01)

    async def stubborn() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "late answer"  # a plugin should not do this; the fence copes
        return "never"

    async def scenario() -> tuple[str, int]:
        answer = await fence.call_async(stubborn)
        task = asyncio.current_task()
        assert task is not None
        return answer, task.cancelling()

    assert asyncio.run(scenario()) == ("late answer", 0)


def test_next_item_steps_a_ready_item_without_a_timer_and_times_one_that_waits() -> None:
    """An item ready at once comes back without arming the budget's timer; one that has
    to wait resumes where it stopped and is still cut off at its budget."""
    import asyncio

    from crypto_bot_core.host.fence import Fence, PluginTimeoutError

    gate = asyncio.Event()

    async def stream() -> AsyncIterator[int]:
        yield 1  # ready at once
        await asyncio.sleep(0)  # waits one turn, then goes on
        yield 2
        await gate.wait()  # never set: the budget must cut it off
        yield 3

    async def run() -> tuple[list[int], bool, str]:
        fence = Fence("feed")
        items = stream()
        got = [await fence.next_item(items, "stream()", budget=0.05)]
        armed_before = fence._watchdog is not None
        got.append(await fence.next_item(items, "stream()", budget=0.05))
        try:
            await fence.next_item(items, "stream()", budget=0.05)
        except PluginTimeoutError as exc:
            return got, armed_before, str(exc)
        return got, armed_before, ""

    got, armed_before, message = asyncio.run(run())
    assert got == [1, 2]
    assert armed_before is False  # the first, ready item never armed a timer
    assert "stream() gave no item within its 0.05 s budget" in message
