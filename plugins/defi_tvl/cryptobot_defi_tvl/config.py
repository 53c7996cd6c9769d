"""Settings of the DeFi TVL source: which series, where to fetch them, and how patiently.

Environment-variable fallbacks (read when the setting is left out of the YAML
file, so secrets stay out of config files):

* ``DEFILLAMA_BASE_URL``: the free API's base URL (default ``https://api.llama.fi``);
* ``DEFILLAMA_API_KEY``: a DefiLlama Pro key, or ``DEFILLAMA_API_KEY_FILE``: the path
  of a file holding it (a mounted secret). With a key, requests go to
  ``{pro_base_url}/{key}/api/...`` instead of the free API.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from crypto_bot_sdk import PluginConfig, parse_symbol

FREE_BASE_URL = "https://api.llama.fi"
PRO_BASE_URL = "https://pro-api.llama.fi"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# DefiLlama spells chains with capitals and spaces ("Ethereum", "zkSync Era", "OP Mainnet").
_CHAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def _env_api_key() -> SecretStr | None:
    """The key from ``DEFILLAMA_API_KEY``, else from the file ``DEFILLAMA_API_KEY_FILE`` names."""
    if value := os.environ.get("DEFILLAMA_API_KEY"):
        return SecretStr(value.strip())
    if path := os.environ.get("DEFILLAMA_API_KEY_FILE"):
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"DEFILLAMA_API_KEY_FILE={path!r} cannot be read ({exc.strerror}); "
                "point it at the file holding the DefiLlama Pro key, or unset it"
            ) from exc
        if not text:
            raise ValueError(f"DEFILLAMA_API_KEY_FILE={path!r} is empty; it must hold the key")
        return SecretStr(text)
    return None


class DefiTvlConfig(PluginConfig):
    """TVL of DeFi protocols and chains from the DefiLlama API."""

    protocols: tuple[str, ...] = Field(
        default=(),
        description="Protocol slugs as in DefiLlama URLs ('aave', 'uniswap', 'lido').",
    )
    chains: tuple[str, ...] = Field(
        default=(),
        description="Chain names as DefiLlama spells them ('Ethereum', 'Arbitrum', 'BSC').",
    )
    protocol_chains: tuple[str, ...] = Field(
        default=(),
        description="Chains for which each protocol's TVL on that chain is also emitted "
        "(metric 'defi.protocol.chain_tvl'); empty for none.",
    )
    symbols: dict[str, str] = Field(
        default_factory=dict,
        description="Trading symbol a protocol slug or chain name is about ('aave': "
        "'AAVE/USDT', 'Ethereum': 'ETH/USDT'); its metric points carry that symbol so "
        "agents find them with market.metrics(name, symbol=...).",
    )
    base_url: str = Field(
        default=FREE_BASE_URL,
        description="Free API base URL. Env fallback: DEFILLAMA_BASE_URL.",
    )
    pro_base_url: str = Field(
        default=PRO_BASE_URL, description="Pro API base URL, used only with an api_key."
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="DefiLlama Pro key. Env fallback: DEFILLAMA_API_KEY or "
        "DEFILLAMA_API_KEY_FILE (a file holding the key).",
    )
    live: bool = Field(
        default=True,
        description="After the history up to now, keep polling the current TVL every "
        "poll_interval until the stream's end (or forever without one).",
    )
    poll_interval: float = Field(
        default=300.0, gt=0, description="Seconds between two polls of the current TVL."
    )
    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a response.")
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait to connect.")
    max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries of a request after a timeout, connection error, 429 or 5xx.",
    )
    backoff: float = Field(
        default=0.5,
        ge=0,
        description="Seconds before the first retry; doubles per retry (a Retry-After "
        "header from the server wins).",
    )
    backoff_max: float = Field(default=30.0, ge=0, description="Longest wait between retries.")
    source: str = Field(
        default="defillama", min_length=1, description="The 'source' of every metric point."
    )

    @model_validator(mode="before")
    @classmethod
    def _env_fallbacks(cls, data: Any) -> Any:
        """Settings left out of the file come from the environment (see the module doc)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "base_url" not in data and "DEFILLAMA_BASE_URL" in os.environ:
            data["base_url"] = os.environ["DEFILLAMA_BASE_URL"]
        if "api_key" not in data:
            data["api_key"] = _env_api_key()
        return data

    @field_validator("protocols")
    @classmethod
    def _slugs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for slug in value:
            if not _SLUG.match(slug):
                raise ValueError(
                    f"protocol {slug!r} is not a DefiLlama slug: lower case letters, digits, "
                    "'.', '_' and '-' as in https://defillama.com/protocol/<slug>"
                )
        return _unique(value, "protocols")

    @field_validator("chains", "protocol_chains")
    @classmethod
    def _chains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for chain in value:
            if not _CHAIN.match(chain):
                raise ValueError(
                    f"chain {chain!r} is not a DefiLlama chain name (e.g. 'Ethereum', 'BSC')"
                )
        return _unique(value, "chains")

    @field_validator("base_url", "pro_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. 'https://api.llama.fi')")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> DefiTvlConfig:
        if not self.protocols and not self.chains:
            raise ValueError(
                "nothing to fetch: list at least one protocol slug in 'protocols' or one "
                "chain in 'chains'"
            )
        if self.protocol_chains and not self.protocols:
            raise ValueError("'protocol_chains' needs at least one entry in 'protocols'")
        stray = sorted(set(self.symbols) - {*self.protocols, *self.chains})
        if stray:
            raise ValueError(
                f"symbols names {stray}, which are neither in 'protocols' nor in 'chains'"
            )
        for name, symbol in self.symbols.items():
            try:
                parse_symbol(symbol)
            except ValueError as exc:
                raise ValueError(f"symbols[{name!r}]: {exc}") from exc
        if self.backoff_max < self.backoff:
            raise ValueError(
                f"backoff_max {self.backoff_max} is below backoff {self.backoff}; raise it"
            )
        return self

    @property
    def api_base(self) -> str:
        """Where requests go: the free API, or the Pro API with the key in the path."""
        if self.api_key is None:
            return self.base_url
        return f"{self.pro_base_url}/{self.api_key.get_secret_value()}/api"


def _unique(value: tuple[str, ...], key: str) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError(f"{key} must be unique; got {list(value)}")
    return value
