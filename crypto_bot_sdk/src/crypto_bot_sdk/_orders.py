"""Orders: what a strategy wants (intent), what is sent (request), what the venue holds (order).

The client order id is chosen before anything is sent, so a resend after a
timeout finds the order instead of duplicating it (DESIGN rule 8). An order's
status moves only along the lifecycle below; :meth:`Order.transition` refuses
anything else, which is how the engine notices a confused exchange or a bug
before it reaches the ledger.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk._base import (
    FrozenModel,
    NonNegativeMoney,
    PositiveMoney,
    UtcDatetime,
)
from crypto_bot_sdk._errors import IllegalTransitionError, OrderError
from crypto_bot_sdk._market import Side, parse_symbol

CLIENT_ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:/-]{1,36}$")
"""The characters and length every major venue accepts (Binance's rule is the strictest)."""


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT = "take_profit"
    TAKE_PROFIT_LIMIT = "take_profit_limit"

    @property
    def needs_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (
            OrderType.STOP,
            OrderType.STOP_LIMIT,
            OrderType.TAKE_PROFIT,
            OrderType.TAKE_PROFIT_LIMIT,
        )


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # good-till-crossing: the exchange-side form of post-only


class _OrderShape(FrozenModel):
    """Fields and checks shared by intents and requests."""

    symbol: str
    side: Side
    order_type: OrderType = OrderType.MARKET
    quantity: PositiveMoney
    price: PositiveMoney | None = None
    stop_price: PositiveMoney | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    post_only: bool = False

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        parse_symbol(value)
        return value

    @model_validator(mode="after")
    def _prices_fit_type(self) -> _OrderShape:
        kind = self.order_type.value
        if self.order_type.needs_price and self.price is None:
            raise ValueError(f"a {kind} order needs a limit price; set 'price'")
        if not self.order_type.needs_price and self.price is not None:
            raise ValueError(
                f"a {kind} order takes no limit price (got {self.price}); "
                "use order_type 'limit' or 'stop_limit' to set one"
            )
        if self.order_type.needs_stop_price and self.stop_price is None:
            raise ValueError(f"a {kind} order needs a trigger price; set 'stop_price'")
        if not self.order_type.needs_stop_price and self.stop_price is not None:
            raise ValueError(
                f"a {kind} order takes no stop_price (got {self.stop_price}); "
                "use order_type 'stop' or 'stop_limit'"
            )
        if self.post_only:
            if self.order_type is not OrderType.LIMIT:
                raise ValueError(f"post_only needs a limit order, not {kind}")
            if self.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                raise ValueError(
                    f"post_only cannot combine with time_in_force {self.time_in_force.value}: "
                    "a post-only order rests on the book; use GTC or GTX"
                )
        return self


class OrderIntent(_OrderShape):
    """What sizing wants to trade, before risk rules and routing.

    ``venue`` may be left empty for the execution router to choose.
    """

    intent_id: str = Field(min_length=1)
    venue: str | None = None
    ts: UtcDatetime
    policy: str = ""
    reason: str = ""

    def resized(self, quantity: Decimal) -> OrderIntent:
        """A copy with a new size, as a risk rule's resize verdict produces."""
        return self.model_copy(update={"quantity": quantity})


class OrderRequest(_OrderShape):
    """An order ready for one venue, carrying the client order id chosen before sending."""

    client_order_id: str
    venue: str = Field(min_length=1)
    intent_id: str | None = None

    @field_validator("client_order_id")
    @classmethod
    def _check_client_order_id(cls, value: str) -> str:
        if not CLIENT_ORDER_ID_PATTERN.match(value):
            raise ValueError(
                f"client_order_id {value!r} must be 1-36 characters of letters, digits and "
                "'._:/-' (the set every supported venue accepts)"
            )
        return value

    def same_order_as(self, other: OrderRequest) -> bool:
        """True if ``other`` asks for exactly this order: a resend, not a conflicting reuse."""
        return self.model_dump(exclude={"intent_id"}) == other.model_dump(exclude={"intent_id"})


class OrderStatus(StrEnum):
    CREATED = "created"  # built locally, recorded, not yet sent
    SUBMITTED = "submitted"  # sent; the venue has not answered yet
    ACKNOWLEDGED = "acknowledged"  # resting on the venue
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.CREATED: frozenset({_S.SUBMITTED, _S.REJECTED}),
    # A venue may answer a submit with any of these at once (a market order fills in the ack).
    _S.SUBMITTED: frozenset(
        {_S.ACKNOWLEDGED, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELLED, _S.EXPIRED,
         _S.PENDING_CANCEL}
    ),
    # ACKNOWLEDGED -> ACKNOWLEDGED is an amendment (price or size changed while resting).
    _S.ACKNOWLEDGED: frozenset(
        {_S.ACKNOWLEDGED, _S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED,
         _S.EXPIRED}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED, _S.EXPIRED}
    ),
    # A fill can race a cancel request; the venue's answer wins.
    _S.PENDING_CANCEL: frozenset(
        {_S.PENDING_CANCEL, _S.CANCELLED, _S.PARTIALLY_FILLED, _S.FILLED, _S.EXPIRED}
    ),
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""The order lifecycle: for each status, the statuses it may move to."""


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class Fill(FrozenModel):
    """One execution of (part of) an order."""

    fill_id: str = Field(min_length=1)
    client_order_id: str
    exchange_order_id: str | None = None
    symbol: str
    venue: str = Field(min_length=1)
    side: Side
    quantity: PositiveMoney
    price: PositiveMoney
    fee: NonNegativeMoney = Decimal(0)
    fee_currency: str = ""
    liquidity: Liquidity = Liquidity.TAKER
    ts: UtcDatetime

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


class Order(FrozenModel):
    """An order as the venue holds it: the request plus its lifecycle state.

    Instances are immutable; :meth:`transition` and :meth:`apply_fill` return a
    new ``Order`` and raise :class:`IllegalTransitionError` on anything the
    lifecycle forbids.
    """

    request: OrderRequest
    status: OrderStatus = OrderStatus.CREATED
    exchange_order_id: str | None = None
    filled_quantity: NonNegativeMoney = Decimal(0)
    average_fill_price: PositiveMoney | None = None
    fees: NonNegativeMoney = Decimal(0)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    reason: str = ""
    kind: Literal["order"] = "order"

    @model_validator(mode="after")
    def _fill_consistent(self) -> Order:
        if self.filled_quantity > self.request.quantity:
            raise ValueError(
                f"order {self.client_order_id}: filled {self.filled_quantity} exceeds "
                f"quantity {self.request.quantity}"
            )
        if self.status is OrderStatus.FILLED and self.filled_quantity != self.request.quantity:
            raise ValueError(
                f"order {self.client_order_id} is 'filled' with only {self.filled_quantity} "
                f"of {self.request.quantity} executed"
            )
        if self.filled_quantity > 0 and self.average_fill_price is None:
            raise ValueError(f"order {self.client_order_id} has fills but no average price")
        return self

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def venue(self) -> str:
        return self.request.venue

    @property
    def remaining_quantity(self) -> Decimal:
        return self.request.quantity - self.filled_quantity

    def can_transition(self, status: OrderStatus) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    def transition(
        self,
        status: OrderStatus,
        *,
        ts: UtcDatetime,
        reason: str | None = None,
        exchange_order_id: str | None = None,
    ) -> Order:
        """Move to ``status``; refuse a move the lifecycle does not allow."""
        update: dict[str, object] = {}
        if reason is not None:
            update["reason"] = reason
        if exchange_order_id is not None:
            update["exchange_order_id"] = exchange_order_id
        return self._moved(status, ts, update)

    def _moved(self, status: OrderStatus, ts: UtcDatetime, update: dict[str, object]) -> Order:
        if not self.can_transition(status):
            allowed = ", ".join(sorted(s.value for s in ORDER_TRANSITIONS[self.status])) or "none"
            raise IllegalTransitionError(
                f"order {self.client_order_id}: cannot go from {self.status.value} to "
                f"{status.value} (allowed from {self.status.value}: {allowed})"
            )
        return self.model_validate(
            {**self.model_dump(), **update, "status": status, "updated_at": ts}
        )

    def apply_fill(self, fill: Fill) -> Order:
        """Account for one fill: update quantities, average price and fees, and the status."""
        if fill.client_order_id != self.client_order_id:
            raise OrderError(
                f"fill {fill.fill_id} belongs to order {fill.client_order_id}, "
                f"not {self.client_order_id}"
            )
        if fill.side is not self.request.side or fill.symbol != self.symbol:
            raise OrderError(
                f"fill {fill.fill_id} ({fill.side.value} {fill.symbol}) does not match order "
                f"{self.client_order_id} ({self.request.side.value} {self.symbol})"
            )
        new_filled = self.filled_quantity + fill.quantity
        if new_filled > self.request.quantity:
            raise OrderError(
                f"fill {fill.fill_id} of {fill.quantity} would overfill order "
                f"{self.client_order_id} ({self.filled_quantity} of {self.request.quantity} "
                "already filled)"
            )
        status = (
            OrderStatus.FILLED
            if new_filled == self.request.quantity
            else OrderStatus.PARTIALLY_FILLED
        )
        previous_value = (self.average_fill_price or Decimal(0)) * self.filled_quantity
        update: dict[str, object] = {
            "filled_quantity": new_filled,
            "average_fill_price": (previous_value + fill.quantity * fill.price) / new_filled,
            "fees": self.fees + fill.fee,
        }
        if fill.exchange_order_id is not None:
            update["exchange_order_id"] = fill.exchange_order_id
        return self._moved(status, fill.ts, update)
