"""What `cryptobot config validate` says about a wrong key: where it is, what is allowed
there, and the nearest allowed key - also inside named entries (a policy under
``policies.definitions``), not only at fixed paths; and a file that is not UTF-8.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto_bot_core.config.loader import load_config, parse_config
from crypto_bot_core.support.yaml_errors import ConfigFileError


def _refusal(text: str) -> str:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text, source="bot.yaml")
    return str(caught.value)


def test_a_misspelt_key_lists_the_allowed_ones_and_the_nearest() -> None:
    assert _refusal("mode: paper\nrun:\n  sed: 42\n") == (
        "bot.yaml:3:3: run.sed: unknown key (allowed here: duration, end, run_dir, seed, "
        "start); did you mean 'seed'?"
    )


def test_a_misspelt_key_inside_a_named_policy_lists_the_policys_keys() -> None:
    text = (
        "mode: paper\npolicies:\n  definitions:\n    trend:\n"
        "      agents: [{agent: ema}]\n      min_confidnce: 0.2\n"
    )
    assert _refusal(text) == (
        "bot.yaml:6:7: policies.definitions.trend.min_confidnce: unknown key (allowed here: "
        "agents, min_confidence); did you mean 'min_confidence'?"
    )


def test_a_key_nobody_would_confuse_gets_the_list_without_a_guess() -> None:
    text = (
        "mode: paper\npolicies:\n  definitions:\n    trend:\n"
        "      agents: [{agent: ema}]\n      colour: red\n"
    )
    assert _refusal(text) == (
        "bot.yaml:6:7: policies.definitions.trend.colour: unknown key "
        "(allowed here: agents, min_confidence)"
    )


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"mode: paper\nrun: {seed: \xff}\n")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: <file>: not UTF-8 text: 'utf-8' codec can't decode byte 0xff in position "
        "24: invalid start byte"
    )


def test_a_loaded_config_names_its_source() -> None:
    assert parse_config("mode: paper\n", source="bot.yaml").source == "bot.yaml"
