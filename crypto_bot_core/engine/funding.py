"""Perpetual funding: a data source's funding rates charged to the book and the venue.

A ``MetricPoint`` named ``funding_rate`` (``symbol`` the perpetual, label
``venue``) settles one funding interval: longs pay ``quantity x mark x rate``
to shorts (a negative rate reverses it). The engine charges its own portfolio,
lets a simulated venue settle the same amount on its account (capability
``settle_funding``), and writes one ``funding`` ledger record per venue and
symbol that held a position. A
restarted run knows which settlements the ledger already has and never charges
one twice, while a restored venue that lost one settles it again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from crypto_bot_core.engine.fills import overrides
from crypto_bot_sdk import InstrumentKind, MetricPoint, RecordType

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk

FUNDING_METRIC = "funding_rate"


def funding_key(venue: str, symbol: str, ts: datetime) -> tuple[str, str, str]:
    return venue, symbol, ts.isoformat()


def settle(engine: Desk, point: MetricPoint) -> bool:
    """Charge one funding rate; True if a simulated venue's state changed."""
    if point.name != FUNDING_METRIC or point.symbol is None:
        return False
    venue_label = point.labels.get("venue")
    rate = Decimal(repr(point.value))
    changed = False
    for venue, adapter in engine.exchanges.items():
        if venue_label is not None and venue != venue_label:
            continue
        instrument = engine.instruments.get((venue, point.symbol))
        if instrument is None or instrument.kind is not InstrumentKind.PERPETUAL:
            continue
        seen_until = engine.venue_marks.get(venue)
        if overrides(adapter, "settle_funding") and (seen_until is None or point.ts > seen_until):
            adapter.settle_funding(point.symbol, rate, point.ts)
            changed = True
        key = funding_key(venue, point.symbol, point.ts)
        if key in engine.funded:
            continue  # a resumed run: the ledger already holds this settlement
        if engine.decide_after is not None and point.ts <= engine.decide_after:
            # A resumed run replays ticks the run already processed: whatever was due then
            # is in the ledger, and today's book did not exist then (nothing for the past).
            continue
        book = engine.portfolio.books.get((venue, point.symbol))
        # The venue's last price, as the venue itself marks funding (a fill earlier in the
        # tick may have left the book's own mark at the fill price).
        mark = engine.market.last_price(point.symbol, venue) or (book.mark if book else None)
        if book is None or book.quantity == 0 or mark is None:
            continue
        payment = engine.portfolio.apply_funding(venue, point.symbol, rate, mark)
        engine.funded.add(key)
        engine.ledger.append(
            RecordType.FUNDING,
            {
                "venue": venue,
                "symbol": point.symbol,
                "rate": str(rate),
                "mark": str(mark),
                "quantity": str(book.quantity),
                "payment": str(payment),
                "funding_ts": point.ts.isoformat(),
            },
            ts=point.ts,
        )
    return changed
