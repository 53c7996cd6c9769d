"""Settings of one Binance USDⓈ-M futures account.

The API key and secret are never settings themselves: the config names where
they live (an environment variable, or a file such as a mounted Kubernetes
secret), so neither a YAML file, the ``config.json`` of a run folder, nor the
ledger ever holds them. They are read once, at ``start()``, into
``SecretStr`` values that print as ``**********``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from crypto_bot_sdk import ConfigError, PluginConfig, parse_symbol

DEFAULT_KEY_ENV = "BINANCE_FUTURES_API_KEY"
DEFAULT_SECRET_ENV = "BINANCE_FUTURES_API_SECRET"
_VENUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_HOST_PORT = re.compile(r"^(?P<host>[0-9.]+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


class BinanceFuturesConfig(PluginConfig):
    """Where the credentials are, which markets, and how the client talks to Binance."""

    venue: str = Field(
        default="binance-futures",
        pattern=_VENUE_PATTERN,
        description="Venue name in instruments, orders, fills and the ledger.",
    )
    api_key_env: str = Field(
        default=DEFAULT_KEY_ENV,
        pattern=_ENV_NAME,
        description="Environment variable holding the API key. Its '_FILE' twin "
        "(BINANCE_FUTURES_API_KEY_FILE) may name a file holding it instead.",
    )
    api_secret_env: str = Field(
        default=DEFAULT_SECRET_ENV,
        pattern=_ENV_NAME,
        description="Environment variable holding the API secret (HMAC key); its '_FILE' twin "
        "may name a file holding it instead.",
    )
    api_key_file: Path | None = Field(
        default=None,
        description="File holding the API key (e.g. a mounted secret); wins over the variables.",
    )
    api_secret_file: Path | None = Field(
        default=None,
        description="File holding the API secret; wins over the variables.",
    )
    testnet: bool = Field(
        default=False,
        description="Trade on Binance's futures demo-trading environment (demo-fapi.binance.com) "
        "with its own demo API keys, instead of the live exchange.",
    )
    symbols: tuple[str, ...] = Field(
        default=(),
        description="ccxt perpetual symbols to trade ('BTC/USDT:USDT'); empty: every "
        "USDⓈ-M perpetual that is trading. Fills are polled for these symbols and for "
        "every symbol this adapter has ordered in.",
    )
    recv_window_ms: int = Field(
        default=5000,
        ge=1,
        le=60000,
        description="How long after its timestamp Binance accepts a signed request (recvWindow).",
    )
    adjust_for_time_difference: bool = Field(
        default=False,
        description="Measure the offset to Binance's clock at start and sign with it, instead of "
        "trusting the host clock (prefer NTP on the host).",
    )
    leverage: int | None = Field(
        default=None,
        ge=1,
        le=125,
        description="Set this leverage on every configured symbol at start; None leaves the "
        "account's setting.",
    )
    margin_mode: Literal["cross", "isolated"] | None = Field(
        default=None,
        description="Set this margin mode on every configured symbol at start; None leaves it.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="HTTP timeout per request.")
    max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries of idempotent calls (reads, cancels, lookups) after a rate limit, "
        "a timeout or a server error. Placing an order is never blindly resent: the adapter "
        "looks the client order id up first.",
    )
    max_retry_wait_s: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="Longest Retry-After the adapter waits out itself; a longer one is raised "
        "as RateLimitedError for the caller to schedule.",
    )
    retry_backoff_s: float = Field(
        default=0.5, gt=0, le=60, description="First retry delay; doubles each retry."
    )
    stream: bool = Field(
        default=True,
        description="Push fills over the user-data websocket; False polls REST only.",
    )
    poll_interval_s: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often the fill stream also reconciles over REST (recovering fills missed "
        "while the websocket was down), and the polling period when 'stream' is False.",
    )
    reconnect_max_s: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait between websocket reconnects."
    )
    fill_history_days: int = Field(
        default=7,
        ge=1,
        le=7,
        description="How far back the first fill query of a symbol reaches "
        "(Binance allows 7 days).",
    )
    resolve: dict[str, str] = Field(
        default_factory=dict,
        description="Connect to these addresses instead of resolving the host names, like curl's "
        "--resolve: {'fapi.binance.com': '10.0.0.5:443'}. TLS still checks the real host name; "
        "for a TLS-intercepting proxy or a local fake, add its CA with 'ca_file'.",
    )
    ca_file: Path | None = Field(
        default=None,
        description="Extra PEM CA certificate(s) to trust, on top of certifi's bundle.",
    )

    @field_validator("symbols")
    @classmethod
    def _perpetuals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            _base, _quote, settle = parse_symbol(symbol)
            if settle is None:
                raise ValueError(
                    f"symbol {symbol!r} is spot; USDⓈ-M futures are perpetuals: write "
                    f"'{symbol}:{symbol.split('/')[1]}'"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"symbols repeat an entry: {list(value)}")
        return value

    @field_validator("resolve")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for host, address in value.items():
            match = _HOST_PORT.match(address)
            if match is None or not 0 < int(match["port"]) < 65536:
                raise ValueError(
                    f"resolve[{host!r}] = {address!r} is not HOST:PORT (e.g. '127.0.0.1:8443')"
                )
        return value


def _read_secret(path: Path, what: str, key: str) -> SecretStr:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the {what} from {path}: {exc.strerror}; check the path and that the "
            "secret is mounted",
            key=key,
        ) from None
    if not value:
        raise ConfigError(f"the {what} file {path} is empty", key=key)
    return SecretStr(value)


def _credential(config_file: Path | None, env: str, what: str, key: str) -> SecretStr:
    if config_file is not None:
        return _read_secret(config_file, what, key)
    file_env = f"{env}_FILE"
    if os.environ.get(file_env):
        return _read_secret(Path(os.environ[file_env]), what, file_env)
    value = os.environ.get(env, "").strip()
    if value:
        return SecretStr(value)
    raise ConfigError(
        f"no {what} for Binance: set the environment variable {env} (or {file_env} to a file "
        f"holding it), or point '{key}' at a secret file",
        key=key,
    )


def read_credentials(config: BinanceFuturesConfig) -> tuple[SecretStr, SecretStr]:
    """The API key and secret, from the configured file or the environment."""
    return (
        _credential(config.api_key_file, config.api_key_env, "API key", "api_key_file"),
        _credential(config.api_secret_file, config.api_secret_env, "API secret", "api_secret_file"),
    )
