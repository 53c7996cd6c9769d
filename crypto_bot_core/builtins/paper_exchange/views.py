"""What one market event offers this venue: prices after the venue offset, and liquidity.

Bars and trades become a :class:`Tape` (open/high/low/close and a volume; a
trade is a one-price bar); order books become a :class:`Depth` whose levels
remember how much this account already took from them during the event, so
two orders never consume the same liquidity twice.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from crypto_bot_sdk import Bar, BookLevel, OrderBook, Trade

_ZERO = Decimal(0)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class PriceAdjust:
    """Maps a data-stream price to this venue's price: ``p * (1 + bps/10000) + offset``."""

    __slots__ = ("identity", "multiplier", "offset")

    def __init__(self, bps: Decimal, offset: Decimal) -> None:
        self.multiplier = 1 + bps / 10000
        self.offset = offset
        self.identity = bps == 0 and offset == 0

    def __call__(self, price: Decimal) -> Decimal:
        if self.identity:
            return price
        adjusted = price * self.multiplier + self.offset
        if adjusted <= 0:
            raise ValueError(
                f"venue price offset turns stream price {price} into {adjusted}; "
                "reduce price_offset or price_offset_bps"
            )
        return adjusted


@dataclass(slots=True)
class Pool:
    """Volume this account may still take from one event (``None``: unlimited)."""

    left: Decimal | None


@dataclass(slots=True)
class Tape:
    """A bar or a trade at venue prices."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    pool: Pool

    def at_close(self, ts: datetime) -> Tape:
        """A one-price tape at the close, sharing this tape's liquidity (``signal_close``)."""
        c = self.close
        return Tape(ts=ts, open=c, high=c, low=c, close=c, volume=self.volume, pool=self.pool)


@dataclass(slots=True)
class Depth:
    """An order book at venue prices; each level is ``[price, amount still available]``."""

    ts: datetime
    bids: list[list[Decimal]] = field(default_factory=list)
    asks: list[list[Decimal]] = field(default_factory=list)

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


View = Tape | Depth


def tape_of(event: Bar | Trade, adjust: PriceAdjust, participation: Decimal | None) -> Tape:
    if isinstance(event, Bar):
        volume = event.volume
        o, h, lo, c = event.open, event.high, event.low, event.close
    else:
        volume = event.amount
        o = h = lo = c = event.price
    if not adjust.identity:
        o, h, lo, c = adjust(o), adjust(h), adjust(lo), adjust(c)
    left = None if participation is None else volume * participation
    return Tape(ts=event.ts, open=o, high=h, low=lo, close=c, volume=volume, pool=Pool(left))


def depth_of(book: OrderBook, adjust: PriceAdjust, participation: Decimal | None) -> Depth:
    share = Decimal(1) if participation is None else participation
    return Depth(
        ts=book.ts,
        bids=[[adjust(level.price), level.amount * share] for level in book.bids],
        asks=[[adjust(level.price), level.amount * share] for level in book.asks],
    )


def view_of(
    event: Bar | Trade | OrderBook, adjust: PriceAdjust, participation: Decimal | None
) -> View:
    if isinstance(event, OrderBook):
        return depth_of(event, adjust, participation)
    return tape_of(event, adjust, participation)


def mark_of(event: Bar | Trade | OrderBook, adjust: PriceAdjust) -> Decimal | None:
    """The venue's mark price after ``event``: last close, last trade, or book mid."""
    if isinstance(event, Bar):
        return adjust(event.close)
    if isinstance(event, Trade):
        return adjust(event.price)
    mid = event.mid
    return None if mid is None else adjust(mid)


_FIXED: dict[str, timedelta] = {}


def bar_end(bar: Bar) -> datetime:
    """When a bar's contents became known: its open time plus its timeframe."""
    step = _FIXED.get(bar.timeframe)
    if step is not None:
        return bar.ts + step
    count, unit = int(bar.timeframe[:-1]), bar.timeframe[-1]
    if unit == "M":
        month = bar.ts.month - 1 + count
        year, month = bar.ts.year + month // 12, month % 12 + 1
        day = min(bar.ts.day, calendar.monthrange(year, month)[1])
        return bar.ts.replace(year=year, month=month, day=day)
    step = _FIXED[bar.timeframe] = timedelta(seconds=count * _UNITS[unit])
    return bar.ts + step


def book_at_venue(book: OrderBook, adjust: PriceAdjust, venue: str, depth: int) -> OrderBook:
    """A stream book re-priced for this venue, cut to ``depth`` levels a side."""
    return OrderBook(
        symbol=book.symbol,
        venue=venue,
        ts=book.ts,
        bids=tuple(BookLevel(price=adjust(lv.price), amount=lv.amount) for lv in book.bids[:depth]),
        asks=tuple(BookLevel(price=adjust(lv.price), amount=lv.amount) for lv in book.asks[:depth]),
    )
