"""Real-looking 30-minute OHLCV files with missing rows, as exchanges' archives have them."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
HALF_HOUR = 1_800_000
OUTAGES = ((40, 3), (95, 1), (150, 8))
"""(first missing bar index, how many): a short outage, one lost bar, a long one."""


def write_gapped_bars(
    path: Path, bars: int = 240, outages: Iterable[tuple[int, int]] = OUTAGES, seed: int = 7
) -> list[int]:
    """A seeded random walk of ``bars`` 30-minute candles with ``outages`` cut out; returns
    the timestamps written (open times in ms, ccxt layout, two-decimal prices)."""
    rng = random.Random(seed)
    missing = {start + i for start, count in outages for i in range(count)}
    price = 42_000.0
    written: list[int] = []
    lines = ["timestamp,open,high,low,close,volume"]
    for index in range(bars):
        step = rng.gauss(0.0, 0.004) + (0.003 if (index // 60) % 2 == 0 else -0.003)
        close = round(price * (1 + step), 2)
        high = round(max(price, close) * (1 + abs(rng.gauss(0, 0.001))), 2)
        low = round(min(price, close) * (1 - abs(rng.gauss(0, 0.001))), 2)
        if index not in missing:
            stamp = T0 + index * HALF_HOUR
            written.append(stamp)
            volume = round(rng.uniform(5, 50), 4)
            lines.append(f"{stamp},{price:.2f},{high:.2f},{low:.2f},{close:.2f},{volume}")
        price = close
    path.write_text("\n".join(lines) + "\n")
    return written
