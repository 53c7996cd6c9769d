"""Snapshot and restore of a paper venue, so paper trading survives a restart.

The snapshot is plain JSON data (decimals and times as strings): the wallet,
positions and leverage, every order (terminal ones too, so a resend after the
restart is still recognised as a duplicate), every fill, the id counters, the
venue clock and the last event per symbol (the reference prices). Liquidity
already taken from the event in progress is not kept: a restart happens
between events.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter

from crypto_bot_core.builtins.paper_exchange.working import WorkingOrder
from crypto_bot_sdk import (
    ConfigError,
    Fill,
    MarketEvent,
    MetricPoint,
    OrderRequest,
    OrderStatus,
)

if TYPE_CHECKING:
    from crypto_bot_core.builtins.paper_exchange.accounts import Account
    from crypto_bot_core.builtins.paper_exchange.markets import MarketRegistry
    from crypto_bot_core.builtins.paper_exchange.settlement import Settlement


class VenueInternals(Protocol):
    """The parts of a paper venue its snapshot holds. A protocol, so this module needs
    nothing of the exchange's (which imports it): the exchange satisfies it structurally."""

    @property
    def venue(self) -> str: ...

    _clock: datetime
    _order_seq: int
    _settlement: Settlement
    _account: Account
    _markets: MarketRegistry
    _orders: dict[str, WorkingOrder]
    _resting: dict[str, list[WorkingOrder]]
    _last: dict[str, Any]
    _views: dict[str, Any]

FORMAT = 1
_EVENT: TypeAdapter[MarketEvent] = TypeAdapter(MarketEvent)


def _order_dump(order: WorkingOrder) -> dict[str, Any]:
    return {
        "request": order.request.model_dump(mode="json"),
        "seq": order.seq,
        "exchange_order_id": order.exchange_order_id,
        "created_at": order.created_at.isoformat(),
        "active_from": order.active_from.isoformat(),
        "status": order.status.value,
        "updated_at": None if order.updated_at is None else order.updated_at.isoformat(),
        "filled": str(order.filled),
        "notional": str(order.notional),
        "fees": str(order.fees),
        "reason": order.reason,
        "triggered": order.triggered,
        "arrived": order.arrived,
        "reserved": str(order.reserved),
        "reserve_asset": order.reserve_asset,
    }


def _order_load(raw: dict[str, Any]) -> WorkingOrder:
    updated = raw["updated_at"]
    return WorkingOrder(
        request=OrderRequest.model_validate(raw["request"]),
        seq=raw["seq"],
        exchange_order_id=raw["exchange_order_id"],
        created_at=datetime.fromisoformat(raw["created_at"]),
        active_from=datetime.fromisoformat(raw["active_from"]),
        status=OrderStatus(raw["status"]),
        updated_at=None if updated is None else datetime.fromisoformat(updated),
        filled=Decimal(raw["filled"]),
        notional=Decimal(raw["notional"]),
        fees=Decimal(raw["fees"]),
        reason=raw["reason"],
        triggered=raw["triggered"],
        arrived=raw["arrived"],
        reserved=Decimal(raw["reserved"]),
        reserve_asset=raw["reserve_asset"],
    )


def dump_state(venue: VenueInternals) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "venue": venue.venue,
        "clock": venue._clock.isoformat(),
        "order_seq": venue._order_seq,
        "fill_seq": venue._settlement.fill_seq,
        "account": venue._account.snapshot(),
        "derived_instruments": venue._markets.derived_symbols(),
        "orders": [_order_dump(o) for o in sorted(venue._orders.values(), key=lambda o: o.seq)],
        "fills": [f.model_dump(mode="json") for f in venue._settlement.fills],
        "last_events": {s: e.model_dump(mode="json") for s, e in sorted(venue._last.items())},
    }


def load_state(venue: VenueInternals, data: dict[str, Any]) -> None:
    """Replace ``venue``'s state with ``data``; refuse a snapshot of another venue or format."""
    _check_compatible(venue, data)
    for symbol in data["derived_instruments"]:
        if venue._markets.get(symbol) is None:
            venue._markets.derive(symbol)
    markets = {}
    for symbol in data["account"]["positions"]:
        market = venue._markets.get(symbol)
        if market is None:
            raise ConfigError(
                f"snapshot holds a position in {symbol}, which this venue's config does not "
                "list; restore with the config the snapshot was taken under"
            )
        markets[symbol] = market
    venue._account.restore(data["account"], markets)
    venue._clock = datetime.fromisoformat(data["clock"])
    venue._order_seq = data["order_seq"]
    venue._settlement.fill_seq = data["fill_seq"]
    venue._last = {}
    for symbol, raw in data["last_events"].items():
        event = _EVENT.validate_python(raw)
        if isinstance(event, MetricPoint):
            raise ConfigError(f"snapshot's last event for {symbol} is a metric, not a price")
        venue._last[symbol] = event
    venue._views = {}
    for raw in data["orders"]:
        order = _order_load(raw)
        venue._orders[order.request.client_order_id] = order
        if order.is_open:
            venue._resting.setdefault(order.request.symbol, []).append(order)
            venue._account.reserved[order.reserve_asset] += order.reserved
    for raw in data["fills"]:
        fill = Fill.model_validate(raw)
        venue._settlement.fills.append(fill)
        venue._settlement.by_order.setdefault(fill.client_order_id, []).append(fill)


def _check_compatible(venue: VenueInternals, data: dict[str, Any]) -> None:
    if data.get("format") != FORMAT:
        raise ConfigError(
            f"paper exchange snapshot format {data.get('format')!r} is not {FORMAT}; "
            "it was written by another release"
        )
    if data.get("venue") != venue.venue:
        raise ConfigError(
            f"snapshot belongs to venue {data.get('venue')!r}, not {venue.venue!r}; "
            "restore it into an adapter built from that venue's config"
        )
    if venue._orders or venue._settlement.fills:
        raise ConfigError(f"venue {venue.venue!r} already traded; restore into a fresh adapter")
