"""A run's results: performance figures and the files of its run folder.

Figures are computed from the equity curve (one point per processed
timestamp) and the booked fills: P&L, ROI per venue, Sharpe and Sortino
(annualised from the curve's own spacing), maximum drawdown, trades, fees and
hit rate (the share of position-reducing fills that realised a profit).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_sdk import Fill

SECONDS_PER_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class TradeRow:
    fill: Fill
    realised_pnl: Decimal


@dataclass(frozen=True)
class VenueResult:
    venue: str
    initial: Decimal
    final: Decimal
    fees: Decimal
    trades: int

    @property
    def roi(self) -> float:
        return float((self.final - self.initial) / self.initial) if self.initial else 0.0


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    mode: str
    start: datetime | None
    end: datetime | None
    initial_equity: Decimal
    final_equity: Decimal
    pnl: Decimal
    roi: float
    sharpe: float
    sortino: float
    max_drawdown: float
    trades: int
    fees: Decimal
    hit_rate: float
    venues: tuple[VenueResult, ...]
    events: int

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "initial_equity": str(self.initial_equity),
            "final_equity": str(self.final_equity),
            "pnl": str(self.pnl),
            "roi": self.roi,
            "sharpe": self.sharpe,
            "sortino": self.sortino,
            "max_drawdown": self.max_drawdown,
            "trades": self.trades,
            "fees": str(self.fees),
            "hit_rate": self.hit_rate,
            "events": self.events,
            "venues": [
                {
                    "venue": v.venue,
                    "initial": str(v.initial),
                    "final": str(v.final),
                    "roi": v.roi,
                    "fees": str(v.fees),
                    "trades": v.trades,
                }
                for v in self.venues
            ],
        }


def _ratios(curve: Sequence[tuple[datetime, Decimal]]) -> tuple[float, float, float]:
    """(Sharpe, Sortino, max drawdown) of an equity curve; zeros when too short."""
    if len(curve) < 3:
        return 0.0, 0.0, 0.0
    equities = curve.values() if isinstance(curve, EquityCurve) else [v for _, v in curve]
    values = [float(v) for v in equities]
    returns = [b / a - 1.0 for a, b in itertools.pairwise(values) if a > 0]
    spacing = (curve[-1][0] - curve[0][0]).total_seconds() / (len(curve) - 1)
    periods = SECONDS_PER_YEAR / spacing if spacing > 0 else 0.0
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / max(1, len(returns) - 1)
    downside = [min(0.0, r) ** 2 for r in returns]
    down_dev = math.sqrt(sum(downside) / len(returns))
    sharpe = mean / math.sqrt(var) * math.sqrt(periods) if var > 0 else 0.0
    sortino = mean / down_dev * math.sqrt(periods) if down_dev > 0 else 0.0
    peak = values[0]
    max_dd = 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            max_dd = max(max_dd, (peak - value) / peak)
    return sharpe, sortino, max_dd


def summarise(
    *,
    run_id: str,
    mode: str,
    curve: Sequence[tuple[datetime, Decimal]],
    trades: Sequence[TradeRow],
    venues: Sequence[VenueResult],
    events: int,
) -> RunSummary:
    initial = sum((v.initial for v in venues), Decimal(0))
    final = sum((v.final for v in venues), Decimal(0))
    sharpe, sortino, max_dd = _ratios(curve)
    closing = [t for t in trades if t.realised_pnl != 0]
    wins = sum(1 for t in closing if t.realised_pnl > 0)
    return RunSummary(
        run_id=run_id,
        mode=mode,
        start=curve[0][0] if curve else None,
        end=curve[-1][0] if curve else None,
        initial_equity=initial,
        final_equity=final,
        pnl=final - initial,
        roi=float((final - initial) / initial) if initial else 0.0,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_dd,
        trades=len(trades),
        fees=sum((t.fill.fee for t in trades), Decimal(0)),
        hit_rate=wins / len(closing) if closing else 0.0,
        venues=tuple(venues),
        events=events,
    )


TRADE_COLUMNS = (
    "fill_id",
    "client_order_id",
    "timestamp",
    "venue",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
    "fee_currency",
    "liquidity",
    "realised_pnl",
)
