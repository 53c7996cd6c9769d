"""Exchange checks of the simulated-venue capabilities (API 1.1): synchronous submit, one
order's fills, adopted instruments, state snapshots, perpetual funding, synchronous
matching and forgetting closed orders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_sdk._errors import OrderNotFoundError
from crypto_bot_sdk._exchange import ExchangeAdapter
from crypto_bot_sdk._market import Instrument, MarketEvent
from crypto_bot_sdk._orders import Fill, Order, OrderType
from crypto_bot_sdk.testing._exchange_support import (
    DriveMarket,
    expect_error,
    fills_of,
    on_exchange,
    open_order_ids,
    request_for,
)
from crypto_bot_sdk.testing._support import ComponentFactory

Adapter = ExchangeAdapter[Any]


async def _book(adapter: Adapter, symbol: str) -> dict[str, Any]:
    """What a restored venue must give back: open orders and balances, as plain data."""
    orders = sorted(await adapter.fetch_open_orders(symbol), key=lambda o: o.client_order_id)
    balances = sorted(await adapter.fetch_balances(), key=lambda b: b.asset)
    return {
        "orders": [o.model_dump(mode="json") for o in orders],
        "balances": [b.model_dump(mode="json") for b in balances],
    }


def _as_data(fills: Sequence[Fill]) -> list[dict[str, Any]]:
    return [fill.model_dump(mode="json") for fill in fills]


async def _recorded_drive(
    adapter: Adapter, instrument: Instrument, drive_market: DriveMarket
) -> list[tuple[MarketEvent, list[dict[str, Any]]]]:
    """Run ``drive_market`` on ``adapter``, recording each event it offers to
    ``on_market_event`` and the fills the venue returned for it."""
    offered: list[tuple[MarketEvent, list[dict[str, Any]]]] = []
    awaited = adapter.on_market_event

    async def recording(event: MarketEvent) -> Sequence[Fill]:
        fills = await awaited(event)
        offered.append((event, _as_data(fills)))
        return fills

    adapter.on_market_event = recording  # type: ignore[method-assign]
    try:
        await drive_market(adapter, instrument)
    finally:
        del adapter.on_market_event  # the class's own method again
    return offered


class SimulatedVenueChecks:
    """Mixed into :class:`ExchangeAdapterConformance`; uses its fixtures."""

    @pytest.mark.requires_capability("sync_submit")
    def test_sync_submit_is_submit(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="sync", price=resting_limit_price)

        async def scenario(adapter: Adapter) -> None:
            placed = adapter.submit_order_sync(request)
            assert isinstance(placed, Order), f"submit_order_sync returned {placed!r}"
            assert placed.request.same_order_as(request), "the venue changed the order's terms"
            again = await adapter.submit_order(request)
            assert again.client_order_id == placed.client_order_id
            assert again.exchange_order_id == placed.exchange_order_id, (
                "submit_order after submit_order_sync of the same request made a second order "
                f"({placed.exchange_order_id} then {again.exchange_order_id}); both paths must "
                "share one idempotent order book"
            )
            ids = await open_order_ids(adapter, instrument.symbol)
            assert ids.count(request.client_order_id) == 1, f"open orders: {ids}"

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("fills_by_order")
    def test_fills_of_order_match_fetch_fills(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(
            instrument, order_quantity, tag="byorder", order_type=OrderType.MARKET
        )

        async def scenario(adapter: Adapter) -> None:
            assert list(adapter.fills_of_order(request.client_order_id)) == [], (
                "fills_of_order of an order never placed must be empty"
            )
            await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            listed = list(adapter.fills_of_order(request.client_order_id))
            fetched = await fills_of(adapter, request.client_order_id, instrument.symbol)
            assert fetched, "the market order did not fill after drive_market"
            assert [f.fill_id for f in listed] == [f.fill_id for f in fetched], (
                f"fills_of_order gives {[f.fill_id for f in listed]}, fetch_fills "
                f"{[f.fill_id for f in fetched]}; both list the order's fills, oldest first"
            )

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("adopt_symbols")
    def test_adopted_instruments_are_listed(
        self, component_factory: ComponentFactory, instrument: Instrument
    ) -> None:
        async def scenario(adapter: Adapter) -> None:
            adopted = adapter.adopt_instruments([instrument.symbol])
            assert [i.symbol for i in adopted] == [instrument.symbol], (
                f"adopt_instruments([{instrument.symbol!r}]) returned "
                f"{[i.symbol for i in adopted]}"
            )
            assert all(i.venue == adapter.venue for i in adopted), "adopted on another venue"
            listed = {i.symbol for i in await adapter.load_instruments()}
            assert instrument.symbol in listed, "load_instruments does not list the adopted symbol"

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("state_snapshot")
    def test_state_survives_snapshot_and_restore(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        resting = request_for(instrument, order_quantity, tag="keep", price=resting_limit_price)
        taken = request_for(instrument, order_quantity, tag="take", order_type=OrderType.MARKET)

        async def before(adapter: Adapter) -> tuple[str, dict[str, Any]]:
            await adapter.submit_order(resting)
            await adapter.submit_order(taken)
            await drive_market(adapter, instrument)
            saved = json.dumps(adapter.snapshot_state(), sort_keys=True)  # JSON-able, as stored
            return saved, await _book(adapter, instrument.symbol)

        saved, expected = on_exchange(component_factory, before)

        async def after(adapter: Adapter) -> dict[str, Any]:
            adapter.restore_state(json.loads(saved))
            return await _book(adapter, instrument.symbol)

        restored = on_exchange(component_factory, after)
        assert restored == expected, (
            "a fresh adapter restored from snapshot_state() differs from the one saved: "
            f"open orders {[o['request']['client_order_id'] for o in restored['orders']]} vs "
            f"{[o['request']['client_order_id'] for o in expected['orders']]}, balances "
            f"{restored['balances']} vs {expected['balances']}"
        )

    @pytest.mark.requires_capability("settle_funding")
    def test_flat_account_pays_no_funding(
        self, component_factory: ComponentFactory, instrument: Instrument
    ) -> None:
        async def scenario(adapter: Adapter) -> Decimal:
            return adapter.settle_funding(instrument.symbol, Decimal("0.0001"))

        paid = on_exchange(component_factory, scenario)
        assert isinstance(paid, Decimal), f"settle_funding returned {paid!r}, not a Decimal"
        assert paid == 0, f"an account without a position paid {paid} of funding"

    @pytest.mark.requires_capability("sync_matching")
    def test_match_event_is_on_market_event(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        resting = request_for(instrument, order_quantity, tag="syncrest", price=resting_limit_price)
        taken = request_for(
            instrument, order_quantity, tag="synctake", order_type=OrderType.MARKET
        )

        async def awaited(adapter: Adapter) -> list[tuple[MarketEvent, list[dict[str, Any]]]]:
            await adapter.submit_order(resting)
            await adapter.submit_order(taken)
            return await _recorded_drive(adapter, instrument, drive_market)

        offered = on_exchange(component_factory, awaited)
        assert offered, "drive_market offered no event to on_market_event; nothing to compare"
        assert any(fills for _, fills in offered), (
            "no event offered by drive_market filled the market order; make 'drive_market' trade"
        )

        async def matched(adapter: Adapter) -> list[list[dict[str, Any]]]:
            await adapter.submit_order(resting)
            await adapter.submit_order(taken)
            return [_as_data(adapter.match_event(event)) for event, _ in offered]

        synchronous = on_exchange(component_factory, matched)
        for index, ((event, expected), got) in enumerate(zip(offered, synchronous, strict=True)):
            assert got == expected, (
                f"event {index} ({event.kind} at {event.ts.isoformat()}): match_event gave "
                f"fills {got}, on_market_event of a fresh adapter after the same orders gave "
                f"{expected}; both must return the same fills, in order"
            )

    @pytest.mark.requires_capability("forget_closed")
    def test_closed_orders_are_forgotten(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        resting = request_for(instrument, order_quantity, tag="fgrest", price=resting_limit_price)
        taken = request_for(
            instrument, order_quantity, tag="forgettake", order_type=OrderType.MARKET
        )
        later = request_for(instrument, order_quantity, tag="fgnext", price=resting_limit_price)

        async def scenario(adapter: Adapter) -> None:
            adapter.forget_closed_orders()
            await adapter.submit_order(resting)
            await adapter.submit_order(taken)
            await drive_market(adapter, instrument)
            fills = await fills_of(adapter, taken.client_order_id, instrument.symbol)
            assert fills, "the market order did not fill after drive_market"
            # A closed order may be kept until the next submit or event (so its fills can
            # still be asked for); after one it is gone.
            await adapter.submit_order(later)
            await expect_error(
                adapter.fetch_order(taken.client_order_id, instrument.symbol),
                OrderNotFoundError,
                "after forget_closed_orders, fetch_order of a filled order (one submit later)",
            )
            kept = await fills_of(adapter, taken.client_order_id, instrument.symbol)
            assert [f.fill_id for f in kept] == [f.fill_id for f in fills], (
                "forget_closed_orders must leave fetch_fills alone: the filled order's fills "
                f"were {[f.fill_id for f in fills]}, now {[f.fill_id for f in kept]}"
            )
            for request in (resting, later):
                order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
                assert order.status.is_open, (
                    f"open order {request.client_order_id} is {order.status} after "
                    "forget_closed_orders; open orders must be unaffected"
                )
            ids = await open_order_ids(adapter, instrument.symbol)
            assert sorted(ids) == sorted([resting.client_order_id, later.client_order_id]), (
                f"open orders after forget_closed_orders: {ids}"
            )

        on_exchange(component_factory, scenario)
