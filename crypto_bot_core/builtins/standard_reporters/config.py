"""Settings of the standard reporters."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from crypto_bot_sdk import PluginConfig, parse_symbol


class DailyTradesConfig(PluginConfig):
    """How the daily trade report names its files."""

    filename_prefix: str = Field(
        default="daily-trades",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Start of the file name; the period and the format's suffix follow.",
    )


_CLASS_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


def _prefix(default: str) -> Any:
    return Field(
        default=default,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Start of the file name; the period and the format's suffix follow.",
    )


class InstrumentClassConfig(PluginConfig):
    """The instrument class of each symbol, where the one derived from the symbol is not right."""

    instrument_classes: dict[str, str] = Field(
        default_factory=dict,
        description="Symbol -> class name (lower case, e.g. crypto_spot). Without an entry a "
        "symbol's class is the instrument kind the engine recorded, else derived from the "
        "ccxt symbol: BASE/QUOTE is crypto_spot, BASE/QUOTE:SETTLE crypto_perpetual.",
    )

    @field_validator("instrument_classes")
    @classmethod
    def _classes(cls, value: dict[str, str]) -> dict[str, str]:
        for symbol, name in value.items():
            try:
                parse_symbol(symbol)
            except ValueError as exc:
                raise ValueError(f"instrument_classes: {exc}") from None
            if not re.match(_CLASS_PATTERN, name):
                raise ValueError(
                    f"instrument_classes[{symbol!r}] is {name!r}; a class name is lower-case "
                    "letters, digits and '_' starting with a letter, e.g. crypto_perpetual"
                )
        return value


class BestExecutionConfig(InstrumentClassConfig):
    """How the per-order best-execution record names its files and classes instruments."""

    filename_prefix: str = _prefix("best-execution")


class VenueSummaryConfig(InstrumentClassConfig):
    """The periodic venue summary: how many venues per class, and the file names."""

    filename_prefix: str = _prefix("execution-venues")
    top_venues: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Venues listed per instrument class, by traded notional (RTS 28 used five).",
    )
