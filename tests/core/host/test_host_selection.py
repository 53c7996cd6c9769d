"""The two loading switches read from the environment."""

from __future__ import annotations

import pytest

from crypto_bot_core.host import Host, Selection
from crypto_bot_core.host.selection import selection_from_env
from crypto_bot_sdk import ConfigError


def test_defaults_load_everything() -> None:
    selection = selection_from_env({})
    assert selection == Selection(only=None, autoload=True)
    assert selection.disabled_reason("anything") is None


def test_plugin_list_is_split_on_commas_and_trimmed() -> None:
    selection = selection_from_env({"CRYPTOBOT_PLUGINS": " a, b ,,c "})
    assert selection.only == frozenset({"a", "b", "c"})
    assert selection.disabled_reason("b") is None
    assert selection.disabled_reason("d") == "not named in CRYPTOBOT_PLUGINS=a,b,c"


def test_empty_plugin_list_loads_none() -> None:
    selection = selection_from_env({"CRYPTOBOT_PLUGINS": ""})
    assert selection.only == frozenset()
    assert selection.disabled_reason("a") == "not named in CRYPTOBOT_PLUGINS=<empty>"


@pytest.mark.parametrize(("value", "autoload"), [("1", False), ("TRUE", False), ("0", True)])
def test_autoload_switch_values(value: str, autoload: bool) -> None:
    assert selection_from_env({"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": value}).autoload is autoload


def test_bad_switch_value_names_the_variable_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "maybe"})
    assert caught.value.key == "CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD"
    assert "'maybe' is not a switch value; use 1 (on) or 0 (off)" in str(caught.value)


def test_load_twice_is_refused() -> None:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    with pytest.raises(RuntimeError, match="already called"):
        host.load()
