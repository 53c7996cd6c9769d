"""``liquidity_guard``: orders whose expected slippage from the book exceeds the limit are
resized or refused.

Expected slippage is what walking the visible book would cost against its
mid (``crypto_bot_core.risk.liquidity``). The intent's venue's book is used;
an unrouted intent (no venue yet) is checked against every venue that has a
book of the symbol and the *worst* one counts, since the router chooses on
price, not on depth. A limit order stops at its price: what does not fill at
once rests and pays no slippage, and an order that does not cross at all
passes. An order larger than the book can take, or whose average price drifts
beyond the limit, is cut to the largest size within it (``action: resize``)
or refused (``action: reject``). Reduce-only orders are checked too: closing
through a thin book costs the same.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine.config import LiquidityGuardConfig
from crypto_bot_core.builtins.risk_engine.valuation import instrument_for, qty
from crypto_bot_core.risk.liquidity import Slippage, max_quantity_within, slippage
from crypto_bot_sdk import OrderBook, OrderIntent, OrderType, RiskContext, RiskRule, RiskVerdict

_PLACES = Decimal("0.01")


def _bps(value: Decimal | None) -> str:
    return "n/a" if value is None else format(value.quantize(_PLACES), "f")


class LiquidityGuard(RiskRule[LiquidityGuardConfig]):
    """Caps expected slippage; resizes to what the book can take within it, or refuses."""

    name = "liquidity_guard"
    config_model = LiquidityGuardConfig

    def _books(self, intent: OrderIntent, context: RiskContext) -> list[OrderBook]:
        market = context.market
        if intent.venue is not None:
            book = market.order_book(intent.symbol, intent.venue)
            return [book] if book is not None else []
        venues = sorted({i.venue for i in market.instruments() if i.symbol == intent.symbol})
        return [b for v in venues if (b := market.order_book(intent.symbol, v)) is not None]

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        books = self._books(intent, context)
        where = intent.venue or "any venue"
        if not books:
            reason = f"no order book of {intent.symbol} on {where} to estimate slippage from"
            if cfg.missing_book == "approve":
                return RiskVerdict.approve(self.name, f"{reason}; allowed by configuration")
            return RiskVerdict.reject(self.name, reason)
        limit_price = intent.price if intent.order_type is OrderType.LIMIT else None
        estimates = [
            (book, slippage(book, intent.side, intent.quantity, limit_price)) for book in books
        ]
        book, worst = max(estimates, key=lambda e: _rank(e[1], intent.order_type))
        market_order = limit_price is None
        figures = {
            "slippage_bps": _bps(worst.bps),
            "limit_bps": format(cfg.max_slippage_bps, "f"),
            "venue": book.venue,
            "reference": format(worst.reference, "f") if worst.reference is not None else "none",
            "reference_kind": worst.reference_kind,
            "fillable_now": format(worst.walk.filled, "f"),
        }
        if worst.walk.filled == 0 and not market_order:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"limit {intent.price} does not cross the {book.venue} book: it rests, "
                "no slippage",
                figures=figures,
            )
        thin = market_order and not worst.complete
        within = worst.bps is not None and worst.bps <= cfg.max_slippage_bps and not thin
        state = (
            f"expected slippage of {qty(intent.quantity)} {intent.symbol} on {book.venue} is "
            f"{_bps(worst.bps)} bps against the {worst.reference_kind}"
        )
        if thin:
            state = (
                f"the {book.venue} book of {intent.symbol} takes only {qty(worst.walk.filled)} "
                f"of {qty(intent.quantity)} at once"
            )
        if within:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"{state}, within {cfg.max_slippage_bps} bps",
                figures=figures,
            )
        over = f"{state}; the limit is {cfg.max_slippage_bps} bps"
        allowed = min(
            max_quantity_within(b, intent.side, cfg.max_slippage_bps, limit_price) for b in books
        )
        instrument = instrument_for(context, intent.symbol, intent.venue or book.venue)
        if instrument is not None:
            allowed = instrument.round_quantity(allowed)
        figures["max_quantity_within_limit"] = format(allowed, "f")
        too_small = allowed <= 0 or (
            instrument is not None
            and worst.reference is not None
            and allowed * worst.reference * instrument.contract_size < instrument.min_notional
        )
        if cfg.action == "reject" or too_small or allowed >= intent.quantity:
            why = "" if cfg.action == "reject" else "; no size on the lot grid fits"
            return RiskVerdict.reject(self.name, f"{over}{why}", **figures)
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{over}; resized to {qty(allowed)}, the most the book takes within it",
            **figures,
            resized_quantity=format(allowed, "f"),
        )


def _rank(estimate: Slippage, order_type: OrderType) -> tuple[int, Decimal]:
    """Order estimates worst first: an incomplete market fill, then the largest slippage."""
    thin = order_type is not OrderType.LIMIT and not estimate.complete
    return (1 if thin else 0, estimate.bps if estimate.bps is not None else Decimal(0))
