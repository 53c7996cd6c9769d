"""Wallet balances, order reservations, perpetual positions and their margin.

Spot trades move base and quote balances. Perpetual trades move a signed
position whose initial margin (notional at entry / leverage) is held out of
the settlement currency; realised P&L, fees and funding change the wallet.
``free = wallet - reserved (open orders) - margin (positions)`` per asset, and
the venue never lets a fill push it below zero: a fill the account cannot pay
for is cut to what it can (see :meth:`Account.cap_quantity`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from crypto_bot_core.builtins.paper_exchange.markets import Market
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import Balance, Position, Side

_ZERO = Decimal(0)
_GRID = Decimal("1e-12")
"""Reservations and margins are held on this fixed-point grid, so the per-asset sums of
many holds and releases stay exact and return to exactly zero when nothing is held."""


@dataclass(slots=True)
class PositionState:
    """A perpetual position: signed quantity, entry, and what it has earned and paid."""

    quantity: Decimal = _ZERO
    entry: Decimal | None = None
    realised: Decimal = _ZERO
    fees: Decimal = _ZERO
    funding: Decimal = _ZERO
    margin: Decimal = _ZERO

    def closable_by(self, side: Side) -> Decimal:
        """How much an order on ``side`` can take off this position before it flips."""
        if self.quantity > 0 and side is Side.SELL:
            return self.quantity
        if self.quantity < 0 and side is Side.BUY:
            return -self.quantity
        return _ZERO


def plain(value: Decimal) -> str:
    """``value`` for a message: no exponent, no trailing zeros of the holding grid."""
    return format(value.normalize(), "f") if value else "0"


class Account:
    """The one account this venue holds for the engine."""

    def __init__(self, balances: dict[str, Decimal], leverage: Decimal) -> None:
        self.cash: defaultdict[str, Decimal] = defaultdict(Decimal, balances)
        self.reserved: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.margin: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.positions: dict[str, PositionState] = {}
        self.default_leverage = leverage
        self.leverage: dict[str, Decimal] = {}

    # --- funds ----------------------------------------------------------------

    def free(self, asset: str) -> Decimal:
        # .get, not [], so that asking about an asset does not make it appear in balances
        return (
            self.cash.get(asset, _ZERO)
            - self.reserved.get(asset, _ZERO)
            - self.margin.get(asset, _ZERO)
        )

    def leverage_of(self, symbol: str) -> Decimal:
        return self.leverage.get(symbol, self.default_leverage)

    def position(self, symbol: str) -> PositionState:
        state = self.positions.get(symbol)
        if state is None:
            state = self.positions[symbol] = PositionState()
        return state

    def reserve(self, order: WorkingOrder, asset: str, amount: Decimal) -> None:
        amount = amount.quantize(_GRID, rounding=ROUND_CEILING)
        order.reserve_asset = asset
        order.reserved = amount
        self.reserved[asset] += amount

    def release(self, order: WorkingOrder, fraction_of: Decimal | None = None) -> None:
        """Give back the reservation held for ``fraction_of`` of the order's remaining size.

        ``None`` (or the whole remaining size) gives back everything the order holds.
        """
        if not order.reserved:
            return
        if fraction_of is None or fraction_of >= order.remaining:
            amount = order.reserved
        else:
            amount = (order.reserved * fraction_of / order.remaining).quantize(
                _GRID, rounding=ROUND_FLOOR
            )
        order.reserved -= amount
        self.reserved[order.reserve_asset] -= amount

    def reservation(
        self,
        market: Market,
        order: WorkingOrder,
        price: Decimal | None,
        open_same_side: Decimal,
        fee_rate: Decimal,
    ) -> tuple[str, Decimal]:
        """The asset and amount an order must set aside while open.

        Spot buys hold quote (cost plus the worst-case fee), spot sells hold the
        base they sell. Perpetuals hold initial margin for the part that opens
        or grows a position (closing needs none) plus the fee; reduce-only
        orders hold nothing. Without a price (a market order before any data)
        nothing is held and the fill-time check alone protects the wallet.
        """
        req = order.request
        size = req.quantity * market.contract_size
        if not market.is_perpetual:
            if req.side is Side.SELL:
                return market.base, size
            return market.quote, _ZERO if price is None else size * price * (1 + fee_rate)
        if req.reduce_only or price is None:
            return market.settle, _ZERO
        closable = max(_ZERO, self.position(market.symbol).closable_by(req.side) - open_same_side)
        opening = max(_ZERO, req.quantity - closable) * market.contract_size
        margin = opening * price / self.leverage_of(market.symbol)
        return market.settle, margin + size * price * fee_rate

    def cap_quantity(
        self,
        market: Market,
        order: WorkingOrder,
        quantity: Decimal,
        price: Decimal,
        fee_rate: Decimal,
    ) -> tuple[Decimal, bool]:
        """The part of a proposed fill the account can carry, and whether the order is done.

        A fill of ``q`` gives back ``q / remaining`` of the order's reservation
        and costs ``q * per_unit``; while ``q * (per_unit - held_per_unit) <= free``
        the order goes on. Past that (the price moved against a market order)
        the order cannot complete: it fills what free funds plus its *whole*
        reservation pay for and the venue expires the rest (``True``). Reduce-only
        orders never take more than the position they reduce.
        """
        req = order.request
        reserved = order.reserved
        held = reserved / order.remaining if reserved else _ZERO
        size = market.contract_size
        if not market.is_perpetual:
            if req.side is Side.SELL:
                per_unit, asset = size, market.base
            else:
                per_unit, asset = price * size * (1 + fee_rate), market.quote
            return self._fit(
                market, self.free(asset), reserved, held=held, per_unit=per_unit, wanted=quantity
            )
        pos = self.position(market.symbol)
        closing = min(quantity, pos.closable_by(req.side))
        if req.reduce_only:
            return closing, closing < quantity
        opening = quantity - closing
        if opening == 0:
            return quantity, False
        leverage = self.leverage_of(market.symbol)
        entry = pos.entry or price
        freed = closing * size * entry / leverage
        pnl = (price - entry) * closing * size * (1 if pos.quantity > 0 else -1)
        budget = self.free(market.settle) + freed + pnl - closing * price * size * fee_rate
        per_unit = price * size * (1 / leverage + fee_rate)
        opened, done = self._fit(
            market,
            budget + held * closing,
            reserved - held * closing,
            held=held,
            per_unit=per_unit,
            wanted=opening,
        )
        return closing + opened, done

    @staticmethod
    def _fit(
        market: Market,
        free: Decimal,
        reserved: Decimal,
        *,
        held: Decimal,
        per_unit: Decimal,
        wanted: Decimal,
    ) -> tuple[Decimal, bool]:
        if wanted * (per_unit - held) <= free:
            return wanted, False
        return min(wanted, market.floor_lot((free + reserved) / per_unit)), True

    # --- settlement -----------------------------------------------------------

    def settle(
        self, market: Market, side: Side, quantity: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        """Book one fill: move balances (spot) or the position and its margin (perpetual)."""
        size = quantity * market.contract_size
        if not market.is_perpetual:
            if side is Side.BUY:
                self.cash[market.quote] -= size * price + fee
                self.cash[market.base] += size
            else:
                self.cash[market.base] -= size
                self.cash[market.quote] += size * price - fee
            return
        pos = self.position(market.symbol)
        held = pos.quantity
        signed = quantity if side is Side.BUY else -quantity
        new = held + signed
        realised = _ZERO
        if held == 0 or (held > 0) == (signed > 0):
            previous = abs(held) * (pos.entry or price)
            pos.entry = price if held == 0 else (previous + quantity * price) / abs(new)
        else:
            entry = pos.entry or price
            closed = min(quantity, abs(held))
            realised = (price - entry) * closed * market.contract_size * (1 if held > 0 else -1)
            if new == 0:
                pos.entry = None
            elif (new > 0) != (held > 0):
                pos.entry = price
        pos.quantity = new
        pos.realised += realised
        pos.fees += fee
        self.cash[market.settle] += realised - fee
        self._remargin(market, pos)

    def _remargin(self, market: Market, pos: PositionState) -> None:
        margin = (
            abs(pos.quantity)
            * (pos.entry or _ZERO)
            * market.contract_size
            / self.leverage_of(market.symbol)
        ).quantize(_GRID, rounding=ROUND_CEILING)
        self.margin[market.settle] += margin - pos.margin
        pos.margin = margin

    def set_leverage(self, market: Market, leverage: Decimal) -> bool:
        """Change a market's leverage; False (and nothing changed) if margin would not fit."""
        previous = self.leverage.get(market.symbol)
        self.leverage[market.symbol] = leverage
        pos = self.positions.get(market.symbol)
        if pos is None:
            return True
        old_margin = pos.margin
        self._remargin(market, pos)
        if self.free(market.settle) >= 0 or pos.margin <= old_margin:
            return True
        if previous is None:
            del self.leverage[market.symbol]
        else:
            self.leverage[market.symbol] = previous
        self._remargin(market, pos)
        return False

    def apply_funding(self, market: Market, rate: Decimal, mark: Decimal) -> Decimal:
        """Charge one funding payment; positive means the account paid it."""
        pos = self.positions.get(market.symbol)
        if pos is None or pos.quantity == 0:
            return _ZERO
        payment = pos.quantity * mark * market.contract_size * rate
        pos.funding += payment
        self.cash[market.settle] -= payment
        return payment

    # --- views ----------------------------------------------------------------

    def balances(self, venue: str) -> list[Balance]:
        """Every asset the account has held, zero balances included (as venues list them)."""
        assets = sorted(set(self.cash) | set(self.reserved) | set(self.margin))
        result = []
        for asset in assets:
            used = self.reserved.get(asset, _ZERO) + self.margin.get(asset, _ZERO) or _ZERO
            cash = self.cash.get(asset, _ZERO)
            result.append(
                Balance.model_construct(asset=asset, venue=venue, free=cash - used, used=used)
            )
        return result

    def position_view(self, market: Market, venue: str, mark: Decimal | None) -> Position:
        pos = self.positions.get(market.symbol) or PositionState()
        return Position.model_construct(
            symbol=market.symbol,
            venue=venue,
            quantity=pos.quantity,
            average_entry_price=pos.entry,
            mark_price=mark,
            realised_pnl=pos.realised,
            fees_paid=pos.fees,
            funding_paid=pos.funding,
            contract_size=market.contract_size,
        )

    # --- persistence ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "cash": {k: str(v) for k, v in sorted(self.cash.items())},
            "leverage": {k: str(v) for k, v in sorted(self.leverage.items())},
            "positions": {
                symbol: {
                    "quantity": str(p.quantity),
                    "entry": None if p.entry is None else str(p.entry),
                    "realised": str(p.realised),
                    "fees": str(p.fees),
                    "funding": str(p.funding),
                }
                for symbol, p in sorted(self.positions.items())
            },
        }

    def restore(self, data: dict[str, Any], markets: dict[str, Market]) -> None:
        """Load wallet, leverage and positions; margin is recomputed, reservations come
        back with their orders."""
        self.cash = defaultdict(Decimal, {k: Decimal(v) for k, v in data["cash"].items()})
        self.leverage = {k: Decimal(v) for k, v in data["leverage"].items()}
        self.reserved = defaultdict(Decimal)
        self.margin = defaultdict(Decimal)
        self.positions = {}
        for symbol, raw in data["positions"].items():
            pos = PositionState(
                quantity=Decimal(raw["quantity"]),
                entry=None if raw["entry"] is None else Decimal(raw["entry"]),
                realised=Decimal(raw["realised"]),
                fees=Decimal(raw["fees"]),
                funding=Decimal(raw["funding"]),
            )
            self.positions[symbol] = pos
            self._remargin(markets[symbol], pos)
