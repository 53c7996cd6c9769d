"""Return histories: simple returns of several symbols on the timestamps they share.

VaR speaks of a horizon (one day); bars come at their own interval. Returns
are kept per bar, with the bar length, and the models scale them to the
horizon by the square root of time (``sqrt(horizon / bar)``), the convention
of the Basel market-risk rules. Returns are *simple* (``close_t / close_t-1 -
1``) because a position's P&L is linear in them: ``exposure x return``.

Only timestamps every symbol has are used, and a return is taken only between
consecutive bars (no gap between them), so a missing bar never turns into a
two-bar return that looks like a jump.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_bot_sdk import Bar, MarketView, RiskError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_TIMEFRAME = re.compile(r"^(?P<count>[1-9]\d*)(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DAY_SECONDS = 86_400.0


def refit_boundary(now: datetime, every_seconds: float) -> datetime:
    """The last multiple of ``every_seconds`` since the epoch at or before ``now``."""
    stamp = now.timestamp()
    return datetime.fromtimestamp(stamp - stamp % every_seconds, tz=now.tzinfo)


def interval_seconds(text: str) -> float:
    """``"5m"`` -> 300.0; months are refused because their length varies."""
    match = _TIMEFRAME.match(text)
    if match is None:
        raise ValueError(
            f"interval {text!r} is not a count and a unit s, m, h, d or w (e.g. '5m', '1d')"
        )
    return float(int(match["count"]) * _UNIT_SECONDS[match["unit"]])


@dataclass(frozen=True)
class ReturnHistory:
    """Aligned simple returns: one row per shared bar, one column per symbol."""

    symbols: tuple[str, ...]
    returns: NDArray[np.float64]
    bar_seconds: float
    end: datetime | None = None

    @property
    def observations(self) -> int:
        return int(self.returns.shape[0])

    def horizon_scale(self, horizon_seconds: float) -> float:
        """The square-root-of-time factor that turns one-bar returns into horizon returns."""
        return float((horizon_seconds / self.bar_seconds) ** 0.5)

    def select(self, symbols: Sequence[str]) -> ReturnHistory:
        """The columns of ``symbols``, in that order."""
        missing = [s for s in symbols if s not in self.symbols]
        if missing:
            raise RiskError(
                f"no return history for {missing}; the history covers {list(self.symbols)}"
            )
        index = [self.symbols.index(s) for s in symbols]
        return ReturnHistory(tuple(symbols), self.returns[:, index], self.bar_seconds, self.end)


def returns_from_closes(
    closes: Mapping[str, Sequence[tuple[datetime, float]]],
    bar_seconds: float,
    *,
    symbols: Sequence[str] | None = None,
) -> ReturnHistory:
    """Align ``closes`` (per symbol, time ordered) on shared timestamps and take returns."""
    import numpy as np

    wanted = tuple(symbols) if symbols is not None else tuple(closes)
    missing = [s for s in wanted if not closes.get(s)]
    if missing:
        raise RiskError(f"no prices for {missing}: cannot estimate their returns")
    series = {s: dict(closes[s]) for s in wanted}
    shared = sorted(set.intersection(*(set(v) for v in series.values()))) if wanted else []
    if len(shared) < 2:
        raise RiskError(
            f"the price histories of {list(wanted)} share {len(shared)} timestamp(s); "
            "returns need at least two consecutive ones"
        )
    prices = np.array([[series[s][ts] for s in wanted] for ts in shared], dtype=np.float64)
    stamps = np.array([ts.timestamp() for ts in shared], dtype=np.float64)
    consecutive = np.isclose(np.diff(stamps), bar_seconds)
    returns = prices[1:] / prices[:-1] - 1.0
    return ReturnHistory(wanted, returns[consecutive], bar_seconds, shared[-1])


def returns_from_bars(
    bars: Iterable[Bar], *, symbols: Sequence[str] | None = None, limit: int | None = None
) -> ReturnHistory:
    """Returns from bars of any venues: per symbol, the first venue seen supplies its closes."""
    venue_of: dict[str, str] = {}
    closes: dict[str, list[tuple[datetime, float]]] = {}
    timeframes: set[str] = set()
    for bar in bars:
        venue = venue_of.setdefault(bar.symbol, bar.venue)
        if venue != bar.venue or (symbols is not None and bar.symbol not in symbols):
            continue
        closes.setdefault(bar.symbol, []).append((bar.ts, float(bar.close)))
        timeframes.add(bar.timeframe)
    if len(timeframes) > 1:
        raise RiskError(f"bars of several timeframes {sorted(timeframes)}; use one")
    if not timeframes:
        raise RiskError("no bars to estimate returns from")
    if limit is not None:
        closes = {s: c[-(limit + 1) :] for s, c in closes.items()}
    return returns_from_closes(closes, interval_seconds(timeframes.pop()), symbols=symbols)


def returns_from_market(
    market: MarketView,
    symbols: Sequence[str],
    *,
    lookback: int,
    until: datetime | None = None,
) -> ReturnHistory:
    """The last ``lookback`` returns of ``symbols`` as the market view has them.

    With ``until``, only bars opened at or before it count: a model refitted
    once a day reads the same window all day long.
    """
    closes: dict[str, list[tuple[datetime, float]]] = {}
    timeframes: set[str] = set()
    for symbol in symbols:
        if until is None:
            bars = market.bars(symbol, limit=lookback + 1)
        else:
            bars = [bar for bar in market.bars(symbol) if bar.ts <= until][-(lookback + 1) :]
        closes[symbol] = [(bar.ts, float(bar.close)) for bar in bars]
        timeframes.update(bar.timeframe for bar in bars)
    if len(timeframes) > 1:
        raise RiskError(f"bars of several timeframes {sorted(timeframes)} in the market view")
    if not timeframes:
        raise RiskError(f"the market view has no bars of {list(symbols)}")
    return returns_from_closes(closes, interval_seconds(timeframes.pop()), symbols=symbols)
