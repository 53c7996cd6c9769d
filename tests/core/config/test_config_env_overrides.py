"""``CRYPTOBOT__SECTION__KEY=value`` overrides: paths, list entries, YAML values, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_core.config import ConfigFileError, apply_env_overrides, parse_config

BASE = """\
mode: backtest
run:
  seed: 1
exchanges:
  - name: paper
    plugin: paper-exchange
    config:
      taker_fee: 0.001
  - plugin: other-exchange
"""


def test_nested_value_by_index_is_parsed_as_yaml() -> None:
    loaded = parse_config(
        BASE,
        environ={
            "CRYPTOBOT__EXCHANGES__0__CONFIG__TAKER_FEE": "0.0004",
            "CRYPTOBOT__RUN__SEED": "99",
            "CRYPTOBOT__MODE": "paper",
            "OTHER_VARIABLE": "ignored",
        },
    )
    config = loaded.config
    assert config.exchanges[0].config == {"taker_fee": 0.0004}
    assert Decimal(repr(config.exchanges[0].config["taker_fee"])) == Decimal("0.0004")
    assert config.run.seed == 99
    assert config.mode.value == "paper"
    assert loaded.origin.overrides == {
        ("exchanges", 0, "config", "taker_fee"): "CRYPTOBOT__EXCHANGES__0__CONFIG__TAKER_FEE",
        ("run", "seed"): "CRYPTOBOT__RUN__SEED",
        ("mode",): "CRYPTOBOT__MODE",
    }


def test_list_entry_by_instance_name_and_default_name() -> None:
    config = parse_config(
        BASE,
        environ={
            "CRYPTOBOT__EXCHANGES__PAPER__CONFIG__MAKER_FEE": "-0.0001",
            "CRYPTOBOT__EXCHANGES__OTHER-EXCHANGE__CONFIG__SANDBOX": "true",
        },
    ).config
    assert config.exchanges[0].config == {"taker_fee": 0.001, "maker_fee": -0.0001}
    assert config.exchanges[1].config == {"sandbox": True}


def test_missing_sections_are_created_and_values_may_be_lists() -> None:
    config = parse_config(
        "",
        environ={
            "CRYPTOBOT__LEDGER__URL": "sqlite:///tmp/ledger.sqlite",
            "CRYPTOBOT__POLICIES__SYMBOL_POLICIES": "{BTC/USDT: trend}",
        },
    ).config
    assert config.ledger.url == "sqlite:///tmp/ledger.sqlite"
    assert config.policies.symbol_policies == {"BTC/USDT": "trend"}


def test_value_errors_point_at_the_variable() -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(BASE, source="bot.yaml", environ={"CRYPTOBOT__RUN__SEED": "many"})
    (problem,) = caught.value.problems
    assert problem.env_var == "CRYPTOBOT__RUN__SEED"
    assert str(caught.value).startswith(
        "environment variable CRYPTOBOT__RUN__SEED: run.seed: Input should be a valid integer"
    )


def test_unknown_key_set_by_the_environment_is_reported_with_the_variable() -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(BASE, environ={"CRYPTOBOT__RUN__SEEDS": "3"})
    (problem,) = caught.value.problems
    assert (problem.key, problem.env_var) == ("run.seeds", "CRYPTOBOT__RUN__SEEDS")
    assert "did you mean 'seed'?" in problem.message


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("CRYPTOBOT__EXCHANGES__5__CONFIG__FEE", "index 5 is out of range: exchanges has 2"),
        ("CRYPTOBOT__EXCHANGES__KRAKEN__CONFIG", "exchanges has no entry named 'kraken' (names: "),
        ("CRYPTOBOT__RUN__SEED__VALUE", "run.seed is 1, not a mapping or list"),
        ("CRYPTOBOT__RUN____SEED", "empty path segment"),
    ],
)
def test_bad_paths_are_refused_naming_the_variable(variable: str, message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(BASE, environ={variable: "1"})
    (problem,) = caught.value.problems
    assert problem.env_var == variable
    assert message in problem.message
    assert str(caught.value).startswith(f"environment variable {variable}: ")


def test_unparseable_yaml_value_is_refused() -> None:
    with pytest.raises(ConfigFileError, match="value is not valid YAML"):
        apply_env_overrides({}, {"CRYPTOBOT__RUN__SEED": "[1, 2"})


def test_overrides_never_change_the_parsed_document() -> None:
    data = {"run": {"seed": 1}}
    result, applied = apply_env_overrides(data, {"CRYPTOBOT__RUN__SEED": "2"})
    assert data == {"run": {"seed": 1}}
    assert result == {"run": {"seed": 2}}
    assert applied == {("run", "seed"): "CRYPTOBOT__RUN__SEED"}
