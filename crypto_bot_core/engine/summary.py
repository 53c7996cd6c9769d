"""A run's results: performance figures and the files of its run folder.

Figures are computed once, at the end, from the equity curve (one point per
processed timestamp) and the booked fills: P&L, ROI per venue, Sharpe and
Sortino (annualised from the curve's own spacing), maximum drawdown, fees,
and the two counts a trader reads differently and which are therefore named
apart: ``fills`` (executions booked) and ``round_trips``, with ``win_rate``.

A round trip is a position opened and then reduced or closed, matched first
in first out per venue and symbol: every fill that reduces a position closes
one round trip, whose P&L is the price difference against the lots it closes
*net of the fees* of both sides (the entry lots' fees pro rata). A strategy
that wins a few basis points gross and pays more in fees has a win rate near
zero here, as it would on a trader's blotter.

Every amount is in the portfolio's base currency. A fill in a market settling
in another currency (``BTC/EUR`` in a book valued in USD) has its fee and its
round trip's P&L converted at the rate the portfolio booked it at (its
``fill_rates``, recorded when the fill was booked, never re-derived later):
fees at each fill's own rate, a round trip's gross P&L at its closing fill's
rate, as the portfolio realises it. A single-currency run has no rates and its
figures are summed exactly as before.

A summary also says what a run left behind and what it could not do: the
orders still open and the positions still held when it ended, and the
decisions the risk rules, the router or the venues refused, with their most
frequent reasons (a run that "completes" while refusing most of what it
decided must not look like a quiet market).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_sdk import Fill

SECONDS_PER_YEAR = 365 * 24 * 3600
ZERO = Decimal(0)
TOP_REJECTIONS = 5
"""How many rejection reasons a summary lists (the most frequent first)."""


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
    fills: int
    round_trips: int = 0

    @property
    def roi(self) -> float:
        return float((self.final - self.initial) / self.initial) if self.initial else 0.0


@dataclass(frozen=True)
class RoundTrip:
    """One position opened and reduced or closed (FIFO), with its P&L net of both sides' fees."""

    venue: str
    symbol: str
    direction: int
    """+1 a long closed by a sell, -1 a short closed by a buy."""
    quantity: Decimal
    entry_price: Decimal
    """Quantity-weighted price of the entry lots it closed."""
    exit_price: Decimal
    opened: datetime
    closed: datetime
    gross_pnl: Decimal
    fees: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees


@dataclass(frozen=True)
class OpenOrder:
    """An order still working at a venue when the run ended."""

    client_order_id: str
    venue: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    filled: Decimal
    price: Decimal | None
    status: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "venue": self.venue,
            "symbol": self.symbol,
            "side": self.side,
            "order_type": self.order_type,
            "quantity": str(self.quantity),
            "filled": str(self.filled),
            "price": None if self.price is None else str(self.price),
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class OpenPosition:
    """A position still held when the run ended, valued at its last mark."""

    venue: str
    symbol: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal | None

    def to_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "quantity": str(self.quantity),
            "entry_price": str(self.entry_price),
            "mark_price": None if self.mark_price is None else str(self.mark_price),
        }


@dataclass(frozen=True)
class Rejection:
    """One reason decisions were refused, how often, and one message as it was given."""

    reason: str
    count: int
    example: str

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "count": self.count, "example": self.example}


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
    fills: int
    """Executions booked (one order may fill in several)."""
    round_trips: int
    """Positions opened and reduced or closed, FIFO per venue and symbol."""
    win_rate: float
    """Share of round trips whose P&L net of fees is positive."""
    fees: Decimal
    venues: tuple[VenueResult, ...]
    events: int
    decisions: int = 0
    """Intents the decisions made (each judged by the risk rules)."""
    rejected: int = 0
    """Of those, refused: by a risk rule, for want of a route, or by the venue."""
    rejections: tuple[Rejection, ...] = ()
    """The most frequent reasons, most frequent first (at most ``TOP_REJECTIONS``)."""
    open_orders: tuple[OpenOrder, ...] = ()
    open_positions: tuple[OpenPosition, ...] = ()

    @property
    def mostly_rejected(self) -> bool:
        """More than half of the decisions were refused: the run did not trade as configured."""
        return self.decisions > 0 and self.rejected * 2 > self.decisions

    @property
    def left_open(self) -> bool:
        return bool(self.open_orders or self.open_positions)

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
            "fills": self.fills,
            "round_trips": self.round_trips,
            "win_rate": self.win_rate,
            "fees": str(self.fees),
            "events": self.events,
            "decisions": self.decisions,
            "rejected": self.rejected,
            "mostly_rejected": self.mostly_rejected,
            "rejections": [r.to_json() for r in self.rejections],
            "open_orders": [o.to_json() for o in self.open_orders],
            "open_positions": [p.to_json() for p in self.open_positions],
            "venues": [
                {
                    "venue": v.venue,
                    "initial": str(v.initial),
                    "final": str(v.final),
                    "roi": v.roi,
                    "fees": str(v.fees),
                    "fills": v.fills,
                    "round_trips": v.round_trips,
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


@dataclass
class _Lot:
    """What is left of one opening fill: its quantity, price, fee per unit and time."""

    quantity: Decimal
    price: Decimal
    fee_per_unit: Decimal
    ts: datetime
    direction: int


@dataclass
class _Book:
    lots: deque[_Lot] = field(default_factory=deque)


def round_trips(
    fills: Sequence[Fill],
    contract_sizes: Mapping[tuple[str, str], Decimal] | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> list[RoundTrip]:
    """The round trips of ``fills`` (in booking order), FIFO per venue and symbol.

    Every fill that reduces a position closes one round trip against the oldest
    lots first; a fill that flips the position closes the old side and opens the
    rest. An entry lot's fee goes with it pro rata to the quantity closed.
    ``contract_sizes`` ((venue, symbol) -> size) scales perpetual contracts' P&L;
    1 where absent. Amounts are in each market's settlement currency, except for
    fills named in ``rates`` (fill id -> portfolio currency per unit, as booked):
    their fee at their own rate and the P&L they close at theirs, so every round
    trip is in the portfolio currency.
    """
    books: dict[tuple[str, str], _Book] = {}
    found: list[RoundTrip] = []
    sizes = contract_sizes or {}
    converted = rates or {}
    for fill in fills:
        key = (fill.venue, fill.symbol)
        book = books.get(key)
        if book is None:
            book = books[key] = _Book()
        direction = fill.side.sign
        rate = converted.get(fill.fill_id) if converted else None
        fee = fill.fee if rate is None else fill.fee * rate
        fee_per_unit = fee / fill.quantity if fill.quantity else ZERO
        size = sizes.get(key, Decimal(1))
        left = fill.quantity
        closed = ZERO
        gross = ZERO
        fees = ZERO
        entry_value = ZERO
        opened: datetime | None = None
        lots = book.lots
        while left > 0 and lots and lots[0].direction != direction:
            lot = lots[0]
            matched = min(left, lot.quantity)
            gross += (fill.price - lot.price) * matched * lot.direction * size
            fees += (lot.fee_per_unit + fee_per_unit) * matched
            entry_value += lot.price * matched
            opened = lot.ts if opened is None else opened
            closed += matched
            left -= matched
            lot.quantity -= matched
            if lot.quantity == 0:
                lots.popleft()
        if closed > 0 and opened is not None:
            if rate is not None:
                gross *= rate
            found.append(
                RoundTrip(
                    venue=fill.venue,
                    symbol=fill.symbol,
                    direction=-direction,
                    quantity=closed,
                    entry_price=entry_value / closed,
                    exit_price=fill.price,
                    opened=opened,
                    closed=fill.ts,
                    gross_pnl=gross,
                    fees=fees,
                )
            )
        if left > 0:
            lots.append(_Lot(left, fill.price, fee_per_unit, fill.ts, direction))
    return found


def top_rejections(
    counts: Mapping[str, int], examples: Mapping[str, str], limit: int = TOP_REJECTIONS
) -> tuple[Rejection, ...]:
    """The ``limit`` most frequent reasons, most frequent first (ties by name)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return tuple(Rejection(reason, count, examples.get(reason, "")) for reason, count in ranked)


def summarise(
    *,
    run_id: str,
    mode: str,
    curve: Sequence[tuple[datetime, Decimal]],
    trades: Sequence[TradeRow],
    venues: Sequence[VenueResult],
    events: int,
    contract_sizes: Mapping[tuple[str, str], Decimal] | None = None,
    decisions: int = 0,
    rejection_counts: Mapping[str, int] | None = None,
    rejection_examples: Mapping[str, str] | None = None,
    open_orders: Sequence[OpenOrder] = (),
    open_positions: Sequence[OpenPosition] = (),
    fill_rates: Mapping[str, Decimal] | None = None,
) -> RunSummary:
    """The run's figures; ``fill_rates`` (fill id -> rate, the portfolio's) converts the fees
    and P&L of fills not in the portfolio currency (see the module's note)."""
    initial = sum((v.initial for v in venues), ZERO)
    final = sum((v.final for v in venues), ZERO)
    sharpe, sortino, max_dd = _ratios(curve)
    trips = round_trips([t.fill for t in trades], contract_sizes, fill_rates)
    if fill_rates:
        fees = sum(
            (
                t.fill.fee if (r := fill_rates.get(t.fill.fill_id)) is None else t.fill.fee * r
                for t in trades
            ),
            ZERO,
        )
    else:
        fees = sum((t.fill.fee for t in trades), ZERO)
    wins = sum(1 for trip in trips if trip.net_pnl > 0)
    per_venue: dict[str, int] = {}
    for trip in trips:
        per_venue[trip.venue] = per_venue.get(trip.venue, 0) + 1
    counts = rejection_counts or {}
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
        fills=len(trades),
        round_trips=len(trips),
        win_rate=wins / len(trips) if trips else 0.0,
        fees=fees,
        venues=tuple(
            VenueResult(
                venue=v.venue,
                initial=v.initial,
                final=v.final,
                fees=v.fees,
                fills=v.fills,
                round_trips=per_venue.get(v.venue, 0),
            )
            for v in venues
        ),
        events=events,
        decisions=decisions,
        rejected=sum(counts.values()),
        rejections=top_rejections(counts, rejection_examples or {}),
        open_orders=tuple(open_orders),
        open_positions=tuple(open_positions),
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
