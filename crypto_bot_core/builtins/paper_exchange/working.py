"""The venue's mutable record of one order, turned into an immutable SDK ``Order`` on demand.

Matching touches an order on every event it is eligible for; rebuilding a
validated pydantic ``Order`` each time would dominate a backtest's run time,
so the venue keeps this slotted record and builds the ``Order`` (with
``model_construct``, the record being trusted) only when someone asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crypto_bot_core.builtins.paper_exchange.trusted import build
from crypto_bot_sdk import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP, OrderType.TAKE_PROFIT})
_TRIGGERED = frozenset(
    {OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT}
)


@dataclass(slots=True)
class WorkingOrder:
    """One order as the venue holds it between events."""

    request: OrderRequest
    seq: int
    exchange_order_id: str
    created_at: datetime
    active_from: datetime
    status: OrderStatus = OrderStatus.ACKNOWLEDGED
    updated_at: datetime | None = None
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    reason: str = ""
    triggered: bool = False
    arrived: bool = False
    reserved: Decimal = Decimal(0)
    reserve_asset: str = ""
    is_buy: bool = field(init=False)
    post_only: bool = field(init=False)

    def __post_init__(self) -> None:
        req = self.request
        self.is_buy = req.side is Side.BUY
        self.post_only = req.post_only or req.time_in_force is TimeInForce.GTX

    @property
    def remaining(self) -> Decimal:
        return self.request.quantity - self.filled

    @property
    def is_market_like(self) -> bool:
        """Fills at whatever the market offers (market, or a stop once triggered)."""
        return self.request.order_type in _MARKET_LIKE

    @property
    def needs_trigger(self) -> bool:
        return self.request.order_type in _TRIGGERED and not self.triggered

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def to_order(self) -> Order:
        """The SDK view of this record; trusted, so built without re-validation."""
        average = self.notional / self.filled if self.filled else None
        return build(
            Order,
            {
                "request": self.request,
                "status": self.status,
                "exchange_order_id": self.exchange_order_id,
                "filled_quantity": self.filled,
                "average_fill_price": average,
                "fees": self.fees,
                "created_at": self.created_at,
                "updated_at": self.updated_at or self.created_at,
                "reason": self.reason,
                "kind": "order",
            },
        )
