"""Settings of the standard reporters."""

from __future__ import annotations

from pydantic import Field

from crypto_bot_sdk import PluginConfig


class DailyTradesConfig(PluginConfig):
    """How the daily trade report names its files."""

    filename_prefix: str = Field(
        default="daily-trades",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Start of the file name; the period and the format's suffix follow.",
    )
