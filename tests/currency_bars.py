"""Minute bars for the multi-currency tests: one CSV per market, a slow sine per series.

Shared by the quote-currency, currency-resume and currency-summary tests, so the
markets they trade are written one way.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def write_bars(path: Path, closes: list[float]) -> Path:
    """OHLCV minute bars from ``closes``: each opens at the previous close."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        previous = closes[0]
        for i, close in enumerate(closes):
            low, high = min(previous, close) * 0.999, max(previous, close) * 1.001
            writer.writerow([START_MS + i * 60_000, previous, high, low, close, 50])
            previous = close
    return path


def wave(start: float, amplitude: float, phase: float = 0.0, n: int = 160) -> list[float]:
    """A slow sine: several EMA crossovers each way, prices always positive."""
    return [round(start * (1 + amplitude * math.sin(i / 12 + phase)), 6) for i in range(n)]
