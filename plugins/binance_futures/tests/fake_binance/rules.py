"""Parameter checks of a new order, with the codes and messages Binance answers with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .models import ZERO, FakeAccount, FakeOrder, SymbolSpec, bad_request

if TYPE_CHECKING:
    from .venue import FakeVenue

CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
PLAIN_TYPES = ("LIMIT", "MARKET")
CONDITIONAL_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX")


@dataclass(frozen=True)
class CheckedOrder:
    side: str
    type: str
    qty: Decimal
    price: Decimal
    trigger: Decimal
    time_in_force: str
    reduce_only: bool
    client_id: str | None


def _missing(name: str) -> Exception:
    return bad_request(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _decimal(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _missing(name) from None
    if not value.is_finite():
        raise _missing(name)
    return value


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_order_params(
    spec: SymbolSpec, params: dict[str, str], *, conditional: bool
) -> CheckedOrder:
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise bad_request(-1117, "Invalid side.")
    kind = params.get("type", "")
    if kind not in PLAIN_TYPES + CONDITIONAL_TYPES:
        raise bad_request(-1116, "Invalid orderType.")
    if conditional and kind not in CONDITIONAL_TYPES:
        raise bad_request(-1116, "Invalid orderType.")
    info = spec.exchange_info()
    qty = _decimal(params, "quantity")
    if qty is None:
        raise _missing("quantity")
    if qty <= 0:
        raise bad_request(-4003, "Quantity less than or equal to zero.")
    if _decimals(qty) > info["quantityPrecision"]:
        raise bad_request(-1111, "Precision is over the maximum defined for this asset.")
    market = kind.endswith("MARKET")
    max_qty = spec.market_max_qty if market else spec.max_qty
    if qty % spec.step != 0 or qty < spec.min_qty or qty > max_qty:
        raise bad_request(-1013, f"Filter failure: {'MARKET_LOT_SIZE' if market else 'LOT_SIZE'}")
    price, trigger = _prices(spec, info, params, market=market, conditional=conditional)
    tif = params.get("timeInForce") or ("" if kind == "LIMIT" else "GTC")
    if tif == "":
        raise _missing("timeInForce")
    if tif not in TIME_IN_FORCE:
        raise bad_request(-1115, "Invalid timeInForce.")
    client_id = params.get("clientAlgoId" if conditional else "newClientOrderId")
    if client_id is not None and not CLIENT_ID.match(client_id):
        name = "clientAlgoId" if conditional else "newClientOrderId"
        raise bad_request(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
        )
    return CheckedOrder(
        side=side, type=kind, qty=qty, price=price or ZERO, trigger=trigger,
        time_in_force=tif, reduce_only=params.get("reduceOnly", "false").lower() == "true",
        client_id=client_id,
    )  # fmt: skip


def _prices(
    spec: SymbolSpec, info: dict[str, Any], params: dict[str, str], *, market: bool,
    conditional: bool,
) -> tuple[Decimal | None, Decimal]:  # fmt: skip
    price = _decimal(params, "price")
    if market and price not in (None, ZERO):
        raise bad_request(-1106, "Parameter 'price' sent when not required.")
    if not market:
        if price is None:
            raise _missing("price")
        _check_price(spec, info, price)
    trigger = ZERO
    if conditional:
        found = _decimal(params, "triggerPrice")
        if found is None:
            raise _missing("triggerPrice")
        _check_price(spec, info, found)
        trigger = found
    return price, trigger


def _check_price(spec: SymbolSpec, info: dict[str, Any], price: Decimal) -> None:
    if price <= 0:
        raise bad_request(-4001, "Price less than 0.")
    precision = info["pricePrecision"]
    assert isinstance(precision, int)
    if _decimals(price) > precision:
        raise bad_request(-1111, "Precision is over the maximum defined for this asset.")
    if price % spec.tick != 0:
        raise bad_request(-4014, "Price not increased by tick size.")


def margin_needed(
    venue: FakeVenue, account: FakeAccount, spec: SymbolSpec, order: FakeOrder, price: Decimal
) -> Decimal:
    """Initial margin the order adds: only the part that grows the position counts."""
    position = venue.position(account, spec.id).amount
    signed = order.qty if order.side == "BUY" else -order.qty
    reducing = ZERO
    if position != 0 and (position > 0) != (signed > 0):
        reducing = min(abs(position), order.qty)
    growing = order.qty - reducing
    return growing * price / venue.leverage(account, spec.id)
