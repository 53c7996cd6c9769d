"""The fence names the plugin behind a failure and lets contract errors through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from host_components import Provides, QuietAgent, manifest

from crypto_bot_core.host import Fence, Host
from crypto_bot_sdk import (
    AgentUnavailableError,
    PluginError,
    RateLimitedError,
    hookimpl,
)


def _explode(value: int) -> int:
    return {1: 10}[value]


def test_call_returns_the_plugin_result() -> None:
    assert Fence("acme", "acme-plugins").call(_explode, 1) == 10


def test_call_turns_a_bug_into_a_plugin_error_naming_plugin_and_distribution() -> None:
    with pytest.raises(PluginError) as caught:
        Fence("acme", "acme-plugins").call(_explode, 2)
    error = caught.value
    assert str(error) == "plugin acme (distribution acme-plugins): _explode raised KeyError: 2"
    assert error.plugin == "acme"
    assert error.distribution == "acme-plugins"
    assert isinstance(error.__cause__, KeyError)


def test_contract_errors_pass_through_unchanged() -> None:
    def limited() -> None:
        raise RateLimitedError("slow down", venue="acme", retry_after=2.0)

    with pytest.raises(RateLimitedError) as caught:
        Fence("acme").call(limited)
    assert caught.value.retry_after == 2.0


def test_call_async_fences_coroutines() -> None:
    async def unavailable() -> None:
        raise AgentUnavailableError("service down")

    async def broken() -> None:
        raise ZeroDivisionError("division by zero")

    fence = Fence("acme")
    with pytest.raises(AgentUnavailableError):
        asyncio.run(fence.call_async(unavailable))
    with pytest.raises(PluginError, match=r"broken raised ZeroDivisionError: division by zero"):
        asyncio.run(fence.call_async(broken))


def test_iterate_fences_every_step_of_a_stream() -> None:
    async def stream() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("corrupt row 3")

    async def collect() -> list[int]:
        seen: list[int] = []
        async for item in Fence("acme").iterate(stream(), "stream()"):
            seen.append(item)
        return seen

    expected = r"plugin acme: stream\(\) raised ValueError: corrupt row 3"
    with pytest.raises(PluginError, match=expected):
        asyncio.run(collect())

    async def finite() -> AsyncIterator[int]:
        yield 7

    async def collect_finite() -> list[int]:
        return [item async for item in Fence("acme").iterate(finite())]

    assert asyncio.run(collect_finite()) == [7]


def test_host_hands_out_the_fence_of_the_providing_plugin() -> None:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    host.register_plugin(Provides(QuietAgent), manifest("acme"), distribution="acme-plugins")
    agent = QuietAgent.from_config({})
    fence = host.fence_for(agent)
    assert (fence.plugin, fence.distribution) == ("acme", "acme-plugins")
    assert host.fence("acme") is fence
    with pytest.raises(KeyError, match="plugin 'other' is not loaded"):
        host.fence("other")


def test_notify_calls_every_observer_and_collects_failures() -> None:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    seen: list[tuple[str, str]] = []

    class Recorder(Provides):
        @hookimpl
        def cryptobot_engine_started(self, run_id: str) -> None:  # fewer args than the spec
            seen.append(("recorder", run_id))

    class Faulty(Provides):
        @hookimpl
        def cryptobot_engine_started(self, run_id: str, mode: str) -> None:
            raise RuntimeError(f"cannot start for {mode}")

    host.register_plugin(Recorder(QuietAgent), manifest("recorder"))
    host.register_plugin(Faulty(QuietAgent), manifest("faulty"), distribution="faulty-dist")
    errors = host.notify("cryptobot_engine_started", run_id="run-1", mode="backtest")
    assert seen == [("recorder", "run-1")]
    assert [str(e) for e in errors] == [
        "plugin faulty (distribution faulty-dist): "
        "test_notify_calls_every_observer_and_collects_failures.<locals>.Faulty."
        "cryptobot_engine_started raised RuntimeError: cannot start for backtest"
    ]
    with pytest.raises(ValueError, match="not an observation hook"):
        host.notify("cryptobot_components")


def test_iterate_closes_the_plugin_stream_when_the_consumer_stops_early() -> None:
    closed: list[bool] = []

    async def endless() -> AsyncIterator[int]:
        try:
            number = 0
            while True:
                number += 1
                yield number
        finally:
            closed.append(True)

    async def first_two() -> list[int]:
        taken: list[int] = []
        stream = Fence("acme").iterate(endless())
        async for item in stream:
            taken.append(item)
            if len(taken) == 2:
                break
        await stream.aclose()
        return taken

    assert asyncio.run(first_two()) == [1, 2]
    assert closed == [True]


def test_notify_requires_every_argument_of_the_spec() -> None:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    with pytest.raises(TypeError, match=r"cryptobot_engine_started needs the arguments \['mode'\]"):
        host.notify("cryptobot_engine_started", run_id="run-1")
