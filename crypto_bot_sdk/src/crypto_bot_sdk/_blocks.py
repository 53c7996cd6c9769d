"""Columns of bars and of scores: what the ``precompute`` agent capability trades in.

An agent that declares ``precompute`` scores a whole block of one symbol's
bars at once instead of being asked bar by bar (see
:meth:`~crypto_bot_sdk.Agent.precompute`). The blocks are plain
``array.array`` columns: compact, zero-copy to numpy (``numpy.frombuffer``)
for the plugins that use it, and no numpy dependency for the SDK or for
plugins that do not.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_bot_sdk._market import Bar

_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _epoch_ms(bar: Bar) -> int:
    return (bar.ts - _EPOCH) // _MS  # exact integer arithmetic, no float rounding


def as_doubles(values: Any, *, what: str) -> array[float]:
    """``values`` as ``array('d')``: a buffer of float64 (numpy array, memoryview) is copied
    in one step, anything else element by element."""
    if isinstance(values, array):
        if values.typecode == "d":
            return values
        return array("d", values)
    try:
        view = memoryview(values)
    except TypeError:
        try:
            return array("d", values)
        except TypeError as exc:
            raise TypeError(f"{what} must be float numbers, got {type(values).__name__}") from exc
    with view:
        if view.format == "d" and view.ndim == 1 and view.c_contiguous:
            out = array("d")
            out.frombytes(view.cast("B"))
            return out
        return array("d", view.tolist())


@dataclass(frozen=True, slots=True)
class BarBlock:
    """Consecutive bars of one symbol on one venue, oldest first, as columns.

    ``ts_ms`` holds each bar's open time in epoch milliseconds (``Bar.ts``);
    the float columns are the bars' decimals as float64, for analytics only
    (money that reaches an order always comes from the decimals). Blocks
    handed to one agent for one symbol follow each other without gaps or
    overlaps: the first bar of a block is the bar after the last of the
    previous block.
    """

    symbol: str
    venue: str
    ts_ms: array[int]
    open: array[float]
    high: array[float]
    low: array[float]
    close: array[float]
    volume: array[float]

    def __post_init__(self) -> None:
        # O(1) checks only: a block may hold a million bars in a backtest.
        if not isinstance(self.ts_ms, array) or self.ts_ms.typecode != "q":
            raise TypeError("BarBlock.ts_ms must be array('q') of epoch milliseconds")
        size = len(self.ts_ms)
        for name in _PRICE_COLUMNS:
            column = getattr(self, name)
            if not isinstance(column, array) or column.typecode != "d":
                raise TypeError(f"BarBlock.{name} must be array('d'), not {type(column).__name__}")
            if len(column) != size:
                raise ValueError(
                    f"BarBlock of {self.symbol}@{self.venue}: {name} has {len(column)} values "
                    f"but ts_ms has {size}; every column needs one value per bar"
                )

    def __len__(self) -> int:
        return len(self.ts_ms)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarBlock:
        """A block of ``bars`` (one symbol and venue, oldest first); refuses mixed markets."""
        if not bars:
            raise ValueError("a BarBlock needs at least one bar to know its symbol and venue")
        symbol, venue = bars[0].symbol, bars[0].venue
        strangers = {(b.symbol, b.venue) for b in bars} - {(symbol, venue)}
        if strangers:
            raise ValueError(
                f"a BarBlock holds one market; got {symbol}@{venue} and "
                f"{', '.join(f'{s}@{v}' for s, v in sorted(strangers))}"
            )
        return cls(
            symbol=symbol,
            venue=venue,
            ts_ms=array("q", (_epoch_ms(b) for b in bars)),
            open=array("d", (float(b.open) for b in bars)),
            high=array("d", (float(b.high) for b in bars)),
            low=array("d", (float(b.low) for b in bars)),
            close=array("d", (float(b.close) for b in bars)),
            volume=array("d", (float(b.volume) for b in bars)),
        )

    def slice(self, start: int, stop: int) -> BarBlock:
        """Bars ``start`` to ``stop`` (exclusive) as a block of their own."""
        return BarBlock(
            symbol=self.symbol,
            venue=self.venue,
            ts_ms=self.ts_ms[start:stop],
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
        )


@dataclass(frozen=True, slots=True)
class ScoreBlock:
    """An agent's score and confidence at every bar of a :class:`BarBlock`, in its order.

    ``scores[i]`` is the score ``evaluate`` would give at bar ``i`` (in
    ``[-1, 1]``), or NaN where it would give no signal; ``confidences[i]``
    is the matching confidence in ``[0, 1]`` (ignored where the score is
    NaN). Build it from numpy arrays with :meth:`of`, which copies a float64
    buffer in one step.
    """

    scores: array[float]
    confidences: array[float]

    def __post_init__(self) -> None:
        for name in ("scores", "confidences"):
            column = getattr(self, name)
            if not isinstance(column, array) or column.typecode != "d":
                raise TypeError(
                    f"ScoreBlock.{name} must be array('d'); use ScoreBlock.of(...) to convert "
                    f"a {type(column).__name__}"
                )
        if len(self.scores) != len(self.confidences):
            raise ValueError(
                f"ScoreBlock has {len(self.scores)} scores but {len(self.confidences)} "
                "confidences; give one of each per bar"
            )

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def of(
        cls, scores: Iterable[float] | Any, confidences: Iterable[float] | Any
    ) -> ScoreBlock:
        """A block from any float sequences or float64 buffers (numpy arrays included)."""
        return cls(
            as_doubles(scores, what="scores"), as_doubles(confidences, what="confidences")
        )
