"""The checks an order passes before the venue accepts it, and the funds it sets aside.

A refused order raises and leaves no trace (a corrected resend with the same
client order id is then accepted), exactly as a real venue's error response.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crypto_bot_core.builtins.paper_exchange.accounts import Account, plain
from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.markets import Market, MarketRegistry
from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import InsufficientFundsError, InvalidOrderError

_ZERO = Decimal(0)


def check_submission(
    config: PaperExchangeConfig,
    registry: MarketRegistry,
    account: Account,
    market: Market,
    order: WorkingOrder,
    *,
    reference: Decimal | None,
    resting: Sequence[WorkingOrder],
) -> tuple[str, Decimal]:
    """Validate ``order`` and return the (asset, amount) it must reserve.

    ``reference`` is the venue price the order would meet now (best ask for a
    buy, best bid for a sell, else the last close or trade), ``None`` before
    any data. ``resting`` are the open orders on the same symbol; only perpetuals look at
    them (a position being closed by several orders), so spot submission stays O(1).
    """
    req = order.request
    venue = config.venue
    if req.reduce_only and not market.is_perpetual:
        raise InvalidOrderError(
            f"order {req.client_order_id}: reduce_only applies to perpetual positions, and "
            f"{req.symbol} is spot; sell the asset with a plain order",
            venue=venue,
        )
    registry.check_precision(market, req)
    price = req.price or req.stop_price or reference
    registry.check_min_notional(market, req, price)
    if (
        order.post_only
        and reference is not None
        and req.price is not None
        and (reference <= req.price if order.is_buy else reference >= req.price)
    ):
        raise InvalidOrderError(
            f"post-only order {req.client_order_id} at {req.price} would take liquidity "
            f"(the {'ask' if order.is_buy else 'bid'} is {reference}); move the price away "
            "from the market or drop post_only",
            venue=venue,
        )
    open_same_side = (
        [o for o in resting if o.request.side is req.side] if market.is_perpetual else []
    )
    if req.reduce_only:
        position = account.position(req.symbol)
        pending = sum((o.remaining for o in open_same_side if o.request.reduce_only), _ZERO)
        closable = position.closable_by(req.side) - pending
        if req.quantity > closable:
            what = "open or increase" if position.closable_by(req.side) == 0 else "flip"
            held = position.quantity
            raise InvalidOrderError(
                f"reduce-only {req.side.value} {req.quantity} {req.symbol} would {what} the "
                f"position ({held}, with {pending} already being reduced by open reduce-only "
                f"orders); send at most {max(closable, _ZERO)}",
                venue=venue,
            )
    closing_elsewhere = sum((o.remaining for o in open_same_side), _ZERO)
    rate = max(config.maker_fee, config.taker_fee)
    asset, amount = account.reservation(market, order, price, closing_elsewhere, rate)
    free = account.free(asset)
    if amount > free:
        raise InsufficientFundsError(
            f"order {req.client_order_id} ({req.side.value} {req.quantity} {req.symbol}) needs "
            f"{plain(amount)} {asset} but only {plain(free)} is free; reduce the size or add funds",
            venue=venue,
        )
    return asset, amount
