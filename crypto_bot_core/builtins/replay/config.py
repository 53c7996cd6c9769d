"""Settings of the replay data source: which files hold which market, in which layout.

Files use ccxt's column names so data fetched with ccxt (``fetch_ohlcv``,
``fetch_trades``) can be saved and replayed without renaming anything.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk import NonNegativeMoney, PluginConfig, PositiveMoney, parse_symbol

_VENUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
_TIMEFRAME = re.compile(r"^(?P<count>[1-9]\d*)(?P<unit>[smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_SUFFIX_FORMAT = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
GapMode = Literal["refuse", "skip", "carry-forward"]
GAP_MODES: tuple[GapMode, ...] = ("refuse", "skip", "carry-forward")


def timeframe_ms(timeframe: str) -> int:
    """``"5m"`` -> 300000. Months are refused: their length varies, so gaps can't be told."""
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValueError(
            f"timeframe {timeframe!r} is not a fixed bar interval; write a count and a unit "
            "s, m, h, d or w (e.g. '1m', '1h', '1d')"
        )
    return int(match["count"]) * _UNIT_MS[match["unit"]]


def timeframe_of(interval_ms: int) -> str | None:
    """``1800000`` -> ``"30m"``: the interval in its largest whole unit; None below a second
    or not a whole number of seconds (no timeframe spells it)."""
    if interval_ms <= 0:
        return None
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_MS[unit]
        if interval_ms % size == 0:
            return f"{interval_ms // size}{unit}"
    return None


class ReplayFile(PluginConfig):
    """One CSV or Parquet file of one market's OHLCV bars or public trades."""

    path: Path = Field(description="The file; a relative path is taken from the working directory.")
    symbol: str = Field(description="ccxt unified symbol of the market the file holds.")
    venue: str = Field(pattern=_VENUE_PATTERN, description="Venue the data was recorded on.")
    kind: Literal["ohlcv", "trades"] = Field(
        default="ohlcv",
        description="'ohlcv': timestamp, open, high, low, close, volume. 'trades': timestamp, "
        "id, side, price, amount (and optionally symbol).",
    )
    timeframe: str | None = Field(
        default=None, description="Bar interval of an OHLCV file ('1m', '1h'...); required there."
    )
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="File format; left out, it follows the suffix (.csv, .parquet)."
    )
    tick_size: PositiveMoney | None = Field(
        default=None,
        description="Price increment of the market; left out, the finest one in the data.",
    )
    lot_size: PositiveMoney | None = Field(
        default=None,
        description="Quantity increment; left out, the finest one in the data's volumes/amounts.",
    )
    min_notional: NonNegativeMoney = Field(
        default=Decimal(0), description="Smallest order value of the market, in its quote currency."
    )

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        parse_symbol(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ReplayFile:
        if self.kind == "ohlcv":
            if self.timeframe is None:
                raise ValueError(
                    f"{self.path}: an OHLCV file needs 'timeframe' (e.g. '1m') to detect gaps"
                )
            timeframe_ms(self.timeframe)
        elif self.timeframe is not None:
            raise ValueError(f"{self.path}: a trades file takes no timeframe; remove it")
        if self.format is None and self.path.suffix.lower() not in _SUFFIX_FORMAT:
            raise ValueError(
                f"{self.path}: cannot tell the format from the suffix {self.path.suffix!r}; "
                "set format: csv or format: parquet"
            )
        return self

    @property
    def file_format(self) -> str:
        return self.format or _SUFFIX_FORMAT[self.path.suffix.lower()]

    @property
    def series_key(self) -> tuple[str, str, str, str]:
        """Files with equal keys are consecutive parts of one series (e.g. one file a month)."""
        return (self.symbol, self.venue, self.kind, self.timeframe or "")


class ReplayConfig(PluginConfig):
    """The files to replay; events of all of them are merged into one time-ordered stream."""

    files: tuple[ReplayFile, ...] = Field(min_length=1, description="Files to replay.")
    gaps: GapMode | None = Field(
        default=None,
        description="Missing OHLCV bars (an exchange outage): 'refuse' the file (the default), "
        "'skip' them (replay the bars there are) or 'carry-forward' (a flat bar at the last "
        "close, volume 0, in every missing slot).",
    )
    allow_gaps: bool = Field(
        default=False,
        description="The older spelling of gaps: skip; true is gaps: skip.",
    )

    @property
    def gap_mode(self) -> GapMode:
        """What to do about missing bars: ``gaps``, else ``skip`` with ``allow_gaps``."""
        if self.gaps is not None:
            return self.gaps
        return "skip" if self.allow_gaps else "refuse"

    @model_validator(mode="after")
    def _distinct_paths(self) -> ReplayConfig:
        if self.allow_gaps and self.gaps not in (None, "skip"):
            raise ValueError(
                f"allow_gaps: true says gaps: skip, but gaps is {self.gaps!r}; keep only gaps"
            )
        seen: set[Path] = set()
        for item in self.files:
            if item.path in seen:
                raise ValueError(f"file {item.path} is listed twice; list each file once")
            seen.add(item.path)
        return self
