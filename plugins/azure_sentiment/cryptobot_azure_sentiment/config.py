"""Settings of the sentiment agent and the news source.

Environment-variable fallbacks (read when the setting is left out of the YAML
file, so secrets stay out of config files):

* ``AZURE_LANGUAGE_ENDPOINT``: the Language resource's endpoint
  (``https://<resource>.cognitiveservices.azure.com``);
* ``AZURE_LANGUAGE_KEY``: its key, or ``AZURE_LANGUAGE_KEY_FILE``: the path of a
  file holding the key (a mounted secret).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from crypto_bot_sdk import PluginConfig, parse_symbol

MAX_BATCH = 10
"""Documents per sentiment request the Language service accepts (synchronous API)."""

_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")

# Names news uses for well-known assets, besides the ticker itself.
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "BTC": ("Bitcoin",),
    "ETH": ("Ethereum", "Ether"),
    "SOL": ("Solana",),
    "XRP": ("Ripple",),
    "ADA": ("Cardano",),
    "DOGE": ("Dogecoin",),
    "BNB": ("Binance Coin",),
    "AVAX": ("Avalanche",),
    "DOT": ("Polkadot",),
    "LINK": ("Chainlink",),
    "LTC": ("Litecoin",),
}


def _read_secret_file(variable: str) -> SecretStr | None:
    path = os.environ.get(variable)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"{variable}={path!r} cannot be read ({exc.strerror}); point it at the file "
            "holding the key, or unset it"
        ) from exc
    if not text:
        raise ValueError(f"{variable}={path!r} is empty; it must hold the key")
    return SecretStr(text)


def _check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


class FeedSettings(PluginConfig):
    """Where headlines come from and which symbol a headline is about."""

    feeds: tuple[str, ...] = Field(
        min_length=1,
        description="RSS/Atom feed URLs, or JSON-lines URLs (one {'id', 'title', 'summary', "
        "'published'} object per line; recognised by a '.jsonl'/'.ndjson' path or a JSON "
        "content type).",
    )
    keywords: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Words that tie a headline to a symbol ('BTC/USDT': ['Bitcoin', 'BTC']); "
        "default: the base currency's ticker and its common name.",
    )
    feed_refresh: float = Field(
        default=300.0, ge=0, description="Seconds before the feeds are fetched again."
    )
    feed_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a feed.")

    @field_validator("feeds")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_url(url) for url in value)

    @field_validator("keywords")
    @classmethod
    def _symbols(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for symbol, words in value.items():
            parse_symbol(symbol)
            if not words or not all(word.strip() for word in words):
                raise ValueError(f"keywords[{symbol!r}] must list at least one non-empty word")
        return value

    def words_for(self, symbol: str) -> tuple[str, ...]:
        if symbol in self.keywords:
            return self.keywords[symbol]
        base = parse_symbol(symbol)[0]
        return (base, *KNOWN_NAMES.get(base, ()))


class SentimentAgentConfig(FeedSettings):
    """The Azure AI Language sentiment agent."""

    endpoint: str = Field(
        description="Language resource endpoint. Env fallback: AZURE_LANGUAGE_ENDPOINT."
    )
    api_key: SecretStr = Field(
        description="Language resource key. Env fallback: AZURE_LANGUAGE_KEY or "
        "AZURE_LANGUAGE_KEY_FILE (a file holding the key)."
    )
    api_version: str = Field(
        default="2023-04-01", description="Language API version the client speaks."
    )
    language: str = Field(default="en", min_length=2, description="ISO 639-1 of the headlines.")
    model_version: str = Field(default="latest", description="Service model version.")
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of CAs to trust for the endpoint (a TLS-inspecting proxy); "
        "default: the system's.",
    )
    lookback_hours: float = Field(
        default=24.0, gt=0, description="Headlines older than this (before market.now) are ignored."
    )
    half_life_hours: float = Field(
        default=6.0, gt=0, description="A headline's weight halves every this many hours of age."
    )
    max_headlines: int = Field(
        default=20, ge=1, le=200, description="Newest headlines per symbol that are scored."
    )
    volume_scale: float = Field(
        default=5.0, gt=0, description="Headlines at which volume gives ~63% of full confidence."
    )
    batch_size: int = Field(
        default=MAX_BATCH, ge=1, le=MAX_BATCH, description="Documents per service request."
    )
    latency_budget: float = Field(
        default=2.0, gt=0, description="Seconds one evaluation may spend waiting for the service."
    )
    cooldown: float = Field(
        default=30.0,
        ge=0,
        description="Seconds the agent leaves the service alone after a failure.",
    )
    max_cooldown: float = Field(
        default=600.0, ge=0, description="Cap of the cooldown, which doubles per failed retry."
    )
    cache_size: int = Field(default=10_000, ge=1, description="Headline scores kept in memory.")

    @model_validator(mode="before")
    @classmethod
    def _env_fallbacks(cls, data: Any) -> Any:
        """Settings left out of the file come from the environment (see the module doc)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "endpoint" not in data and os.environ.get("AZURE_LANGUAGE_ENDPOINT"):
            data["endpoint"] = os.environ["AZURE_LANGUAGE_ENDPOINT"]
        if "api_key" not in data:
            key = os.environ.get("AZURE_LANGUAGE_KEY") or _read_secret_file(
                "AZURE_LANGUAGE_KEY_FILE"
            )
            if key is not None:
                data["api_key"] = key
        return data

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _check_url(value)

    @model_validator(mode="after")
    def _consistent(self) -> SentimentAgentConfig:
        if self.max_cooldown < self.cooldown:
            raise ValueError(f"max_cooldown {self.max_cooldown} is below cooldown {self.cooldown}")
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise ValueError(f"ca_bundle {str(self.ca_bundle)!r} is not a file")
        return self


class NewsSourceConfig(FeedSettings):
    """The ``news`` data source: how many headlines mention each symbol, per time bucket."""

    symbols: tuple[str, ...] = Field(min_length=1, description="Symbols to count mentions of.")
    bucket_minutes: int = Field(
        default=60, ge=1, le=1440, description="Width of a counting bucket, in minutes."
    )
    live: bool = Field(
        default=True,
        description="After the history up to now, keep emitting each bucket as it closes.",
    )
    source: str = Field(default="news", min_length=1, description="The points' 'source'.")

    @field_validator("symbols")
    @classmethod
    def _parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            parse_symbol(symbol)
        if len(set(value)) != len(value):
            raise ValueError(f"symbols must be unique; got {list(value)}")
        return value
