"""The kill switch: stop trading, cancel everything, flatten everything, say so in the ledger.

It is reachable from a risk rule (the drawdown limit), from code and from the
CLI. Each step is recorded; a venue that fails to cancel or flatten does not
stop the others, and the final record lists what could not be done so an
operator can finish it by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crypto_bot_sdk import (
    ExchangeError,
    InstrumentKind,
    OrderIntent,
    OrderStatus,
    OrderType,
    RecordType,
    Side,
    TimeInForce,
)

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk


async def flatten_everything(engine: Desk, reason: str) -> list[str]:
    """Cancel open orders and close positions on every venue; return the problems met."""
    ts = engine.now()
    problems: list[str] = []
    engine.ledger.append(RecordType.KILL_SWITCH, {"run_id": engine.run_id, "reason": reason}, ts=ts)
    for order in list(engine.orders.open_orders()):
        try:
            await engine.orders.cancel(order.client_order_id, ts)
        except ExchangeError as exc:
            problems.append(f"cancel {order.client_order_id} on {order.venue}: {exc}")
    for (venue, symbol), book in sorted(engine.portfolio.books.items()):
        if book.quantity == 0:
            continue
        side = Side.SELL if book.quantity > 0 else Side.BUY
        intent = OrderIntent.model_construct(
            intent_id=f"{engine.run_id[:12]}-kill-{venue}-{symbol}",
            symbol=symbol,
            venue=venue,
            side=side,
            order_type=OrderType.MARKET,
            quantity=abs(book.quantity),
            price=None,
            stop_price=None,
            time_in_force=TimeInForce.GTC,
            reduce_only=True,
            post_only=False,
            ts=ts,
            policy="kill-switch",
            reason=reason,
        )
        order = await engine.orders.submit(
            intent,
            venue=venue,
            quantity=abs(book.quantity),
            ts=ts,
            decision={"kill_switch": True},
            # Reduce-only exists for derivatives; a spot sale of what is held is the same thing.
            reduce_only=book.kind is InstrumentKind.PERPETUAL,
        )
        if order.status is OrderStatus.REJECTED:
            problems.append(f"flatten {symbol} on {venue}: {order.reason}")
    engine.ledger.append(
        RecordType.SYSTEM_STOP,
        {"run_id": engine.run_id, "reason": f"kill switch: {reason}", "problems": problems},
        ts=ts,
    )
    return problems
