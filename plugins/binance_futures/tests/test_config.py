"""Settings: credentials from the environment or files only, never printed or dumped."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from crypto_bot_sdk import ConfigError
from cryptobot_binance_futures.config import BinanceFuturesConfig, read_credentials
from cryptobot_binance_futures.exchange import BinanceFuturesExchange

KEY = "k3y-from-somewhere-0123456789"
SECRET = "s3cret-from-somewhere-9876543210"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BINANCE_FUTURES_API_KEY", "BINANCE_FUTURES_API_SECRET",
                 "BINANCE_FUTURES_API_KEY_FILE", "BINANCE_FUTURES_API_SECRET_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_credentials_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", KEY)
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", SECRET)
    key, secret = read_credentials(BinanceFuturesConfig())
    assert (key.get_secret_value(), secret.get_secret_value()) == (KEY, SECRET)
    assert str(key) == "**********"
    assert KEY not in repr((key, secret))


def test_credentials_from_file_variables_and_named_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "key").write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("MY_SECRET", SECRET)
    key, secret = read_credentials(BinanceFuturesConfig(api_secret_env="MY_SECRET"))
    assert (key.get_secret_value(), secret.get_secret_value()) == (KEY, SECRET)


def test_configured_files_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", "from-env")
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", "from-env")
    (tmp_path / "k").write_text(KEY, encoding="utf-8")
    (tmp_path / "s").write_text(SECRET, encoding="utf-8")
    config = BinanceFuturesConfig(api_key_file=tmp_path / "k", api_secret_file=tmp_path / "s")
    key, secret = read_credentials(config)
    assert (key.get_secret_value(), secret.get_secret_value()) == (KEY, SECRET)


def test_missing_credentials_say_where_to_put_them() -> None:
    with pytest.raises(ConfigError) as caught:
        read_credentials(BinanceFuturesConfig())
    assert caught.value.key == "api_key_file"
    assert "set the environment variable BINANCE_FUTURES_API_KEY" in str(caught.value)
    assert "BINANCE_FUTURES_API_KEY_FILE" in str(caught.value)


def test_unreadable_or_empty_secret_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the API key from .*missing"):
        read_credentials(BinanceFuturesConfig(api_key_file=tmp_path / "missing"))
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"the API key file .*empty is empty"):
        read_credentials(BinanceFuturesConfig(api_key_file=tmp_path / "empty"))


def test_secrets_cannot_be_written_into_the_config() -> None:
    with pytest.raises(ConfigError) as caught:
        BinanceFuturesExchange.from_config({"api_key": KEY, "api_secret": SECRET})
    assert caught.value.key is not None
    assert caught.value.key.startswith("config.api_")
    assert "Extra inputs are not permitted" in str(caught.value)


def test_config_dump_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", KEY)
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", SECRET)
    config = BinanceFuturesConfig(symbols=("BTC/USDT:USDT",))
    dumped = config.model_dump_json() + repr(config)
    assert KEY not in dumped
    assert SECRET not in dumped
    assert config.model_dump()["api_key_env"] == "BINANCE_FUTURES_API_KEY"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"symbols": ["BTC/USDT"]},
         "is spot; USDⓈ-M futures are perpetuals: write 'BTC/USDT:USDT'"),
        ({"symbols": ["btc-usdt"]}, "is not a ccxt unified symbol"),
        ({"symbols": ["BTC/USDT:USDT", "BTC/USDT:USDT"]}, "symbols repeat an entry"),
        ({"resolve": {"fapi.binance.com": "127.0.0.1"}}, "is not HOST:PORT"),
        ({"recv_window_ms": 90000}, "less than or equal to 60000"),
        ({"leverage": 0}, "greater than or equal to 1"),
        ({"margin_mode": "portfolio"}, "'cross' or 'isolated'"),
        ({"api_key_env": "BAD NAME"}, "String should match pattern"),
    ],
)
def test_bad_settings_are_refused_with_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BinanceFuturesExchange.from_config(raw, key="exchanges[0].config")
    assert message in str(caught.value)
    assert str(caught.value.key).startswith("exchanges[0].config.")


def test_defaults_are_live_binance_with_rate_limits_on() -> None:
    config = BinanceFuturesConfig()
    assert (config.venue, config.testnet, config.recv_window_ms) == ("binance-futures", False, 5000)
    with pytest.raises(ValidationError):
        BinanceFuturesConfig(timeout_s=0)
