"""Settings of the rule-based agents: indicator periods and thresholds, checked for sense."""

from __future__ import annotations

from pydantic import Field, model_validator

from crypto_bot_sdk import PluginConfig


class TechnicalAgentConfig(PluginConfig):
    """What every technical agent shares: which venue's bars it reads."""

    venue: str | None = Field(
        default=None,
        min_length=1,
        description="Venue whose bars the agent reads; left out, the first venue with bars "
        "for the symbol (what a single-venue setup wants).",
    )


class EmaCrossoverConfig(TechnicalAgentConfig):
    """Trend following on two exponential moving averages of the close."""

    fast: int = Field(default=10, ge=1, le=10_000, description="Span of the fast EMA, in bars.")
    slow: int = Field(default=20, ge=2, le=10_000, description="Span of the slow EMA, in bars.")
    score_scale: float = Field(
        default=2.0,
        gt=0,
        le=100,
        description="EMA spread, in units of per-bar volatility, at which the score reaches "
        "tanh(1) = 0.76 and the confidence 1.",
    )
    min_bars: int | None = Field(
        default=None,
        ge=1,
        description="Bars to see before the first signal; left out, the slow span.",
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaCrossoverConfig:
        if self.fast >= self.slow:
            raise ValueError(
                f"fast span {self.fast} must be shorter than slow span {self.slow}; "
                "swap them or lower 'fast'"
            )
        return self

    @property
    def required_bars(self) -> int:
        return self.min_bars if self.min_bars is not None else self.slow


class RsiMeanReversionConfig(TechnicalAgentConfig):
    """Mean reversion on Wilder's relative strength index."""

    period: int = Field(default=14, ge=2, le=1_000, description="RSI period, in bars.")
    oversold: float = Field(
        default=30.0, gt=0, lt=100, description="RSI below this is oversold: a buy signal."
    )
    overbought: float = Field(
        default=70.0, gt=0, lt=100, description="RSI above this is overbought: a sell signal."
    )

    @model_validator(mode="after")
    def _band_ordered(self) -> RsiMeanReversionConfig:
        if self.oversold >= self.overbought:
            raise ValueError(
                f"oversold threshold {self.oversold} must be below overbought threshold "
                f"{self.overbought} (e.g. 30 and 70)"
            )
        return self


class MomentumBreakoutConfig(TechnicalAgentConfig):
    """Breakouts of the N-bar high/low channel, confirmed by volume."""

    lookback: int = Field(
        default=20, ge=2, le=5_000, description="Bars that set the channel high and low."
    )
    volume_confirmation: float = Field(
        default=1.5,
        gt=0,
        le=100,
        description="Volume, as a multiple of the channel's mean volume, that makes a breakout "
        "fully confident.",
    )
