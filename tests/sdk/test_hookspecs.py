"""Hook specifications: all in one module, typed, documented with the API version that
added them, and callable through pluggy with implementations taking fewer arguments."""

from __future__ import annotations

import inspect
import re
from typing import Any, get_type_hints

import pluggy
import pytest

from crypto_bot_sdk import (
    API_VERSION,
    PROJECT_NAME,
    Agent,
    MarketView,
    PluginConfig,
    Signal,
    hookimpl,
    parse_api_version,
)
from crypto_bot_sdk import hookspecs as specs_module

HOOKS = {
    name: func
    for name, func in vars(specs_module).items()
    if callable(func) and hasattr(func, f"{PROJECT_NAME}_spec")
}
ADDED_IN = re.compile(r"Added in API (\d+\.\d+\.\d+)\.")


def test_the_hook_set_is_pinned() -> None:
    assert sorted(HOOKS) == [
        "cryptobot_alert",
        "cryptobot_components",
        "cryptobot_engine_started",
        "cryptobot_engine_stopped",
        "cryptobot_fill",
        "cryptobot_ledger_record",
        "cryptobot_order_update",
        "cryptobot_signal",
    ]


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented_with_the_version_that_added_it(name: str) -> None:
    doc = inspect.getdoc(HOOKS[name]) or ""
    match = ADDED_IN.search(doc)
    assert match, f"{name}'s docstring lacks 'Added in API X.Y.Z.'"
    assert parse_api_version(match[1]) <= parse_api_version(API_VERSION), (
        f"{name} claims to be added in API {match[1]}, after this SDK's {API_VERSION}"
    )
    first_line = doc.splitlines()[0]
    assert len(first_line) > 20, f"{name}'s docstring does not say what the hook is for"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_fully_typed(name: str) -> None:
    func = HOOKS[name]
    signature = inspect.signature(func)
    hints = get_type_hints(func, globalns=_type_namespace())
    for parameter in signature.parameters:
        assert parameter in hints, f"{name}({parameter}) has no type"
    assert "return" in hints, f"{name} has no return type"


def _type_namespace() -> dict[str, Any]:
    import crypto_bot_sdk

    return {**vars(specs_module), **{n: getattr(crypto_bot_sdk, n) for n in crypto_bot_sdk.__all__}}


class _Observer:
    """A plugin that implements a hook with fewer arguments than the spec offers."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def cryptobot_engine_started(self, run_id: str) -> None:
        self.seen.append(run_id)


def _manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(specs_module)
    return manager


def test_an_implementation_may_take_fewer_arguments() -> None:
    manager = _manager()
    observer = _Observer()
    manager.register(observer)
    manager.hook.cryptobot_engine_started(run_id="run-7", mode="paper")
    assert observer.seen == ["run-7"]


def test_an_implementation_asking_for_an_unknown_argument_is_refused() -> None:
    class Confused:
        @hookimpl
        def cryptobot_fill(self, fill: object, account: str) -> None:
            raise AssertionError("never called")

    with pytest.raises(pluggy.PluginValidationError, match="account"):
        _manager().register(Confused())


class _Flat(Agent[PluginConfig]):
    name = "flat"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return None


class _Quiet(_Flat):
    name = "quiet"


def test_components_hook_collects_every_plugin_answer() -> None:
    class One:
        @hookimpl
        def cryptobot_components(self) -> list[type[Agent[PluginConfig]]]:
            return [_Flat]

    class Two:
        @hookimpl
        def cryptobot_components(self) -> list[type[Agent[PluginConfig]]]:
            return [_Quiet]

    manager = _manager()
    manager.register(One())
    manager.register(Two())
    answers = manager.hook.cryptobot_components()
    assert sorted(cls.name for answer in answers for cls in answer) == ["flat", "quiet"]
