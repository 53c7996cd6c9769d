"""Conformance checks of the ExchangeAdapter contract: orders, idempotency, cancels,
fills and the errors a caller relies on to react correctly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._contracts import Component, ExchangeAdapter
from crypto_bot_sdk._errors import DuplicateOrderError, InvalidOrderError, OrderNotFoundError
from crypto_bot_sdk._market import Instrument, InstrumentKind
from crypto_bot_sdk._orders import OrderRequest, OrderStatus, OrderType
from crypto_bot_sdk._portfolio import Balance
from crypto_bot_sdk.testing._exchange_optional import ExchangeCapabilityChecks
from crypto_bot_sdk.testing._exchange_simulated import SimulatedVenueChecks
from crypto_bot_sdk.testing._exchange_support import (
    DriveMarket,
    PartialFillScenario,
    assert_fills_explain,
    expect_error,
    fills_of,
    new_client_order_id,
    no_market_activity,
    on_exchange,
    open_order_ids,
    request_for,
)
from crypto_bot_sdk.testing._support import ComponentFactory, ContractConformance, missing_fixture

_WAITING = (OrderStatus.SUBMITTED, OrderStatus.ACKNOWLEDGED)

Adapter = ExchangeAdapter[Any]


class ExchangeAdapterConformance(
    ExchangeCapabilityChecks, SimulatedVenueChecks, ContractConformance
):
    """Checks of an :class:`~crypto_bot_sdk.ExchangeAdapter`.

    Override ``manifest``, ``component_factory``, ``instrument`` (as
    ``load_instruments`` returns it), ``order_quantity`` (a valid size the
    account can afford) and ``resting_limit_price`` (a BUY limit price that
    rests without filling). A simulated venue overrides ``drive_market`` to
    feed it market events; one that declares ``partial_fills`` overrides
    ``partial_fill_scenario``; one that declares ``order.stop`` or
    ``order.stop_limit`` overrides ``resting_stop_price``. Limit and market
    orders are checked always; everything else by capability.
    """

    contract: ClassVar[type[Component[Any]]] = ExchangeAdapter

    @pytest.fixture
    def instrument(self) -> Instrument:
        """Override: the instrument the checks trade, as ``load_instruments`` returns it."""
        missing_fixture(type(self).__name__, "instrument", "the Instrument to trade")

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        """Override: a quantity on the lot grid, above the minimum notional, affordable."""
        missing_fixture(type(self).__name__, "order_quantity", "a valid Decimal order size")

    @pytest.fixture
    def resting_limit_price(self) -> Decimal:
        """Override: a BUY limit price on the tick grid that rests without filling."""
        missing_fixture(
            type(self).__name__, "resting_limit_price", "a Decimal BUY price below the market"
        )

    @pytest.fixture
    def drive_market(self) -> DriveMarket:
        """Override: ``async (adapter, instrument)`` making marketable orders fill."""
        return no_market_activity

    @pytest.fixture
    def partial_fill_scenario(self) -> PartialFillScenario | None:
        """Override (capability ``partial_fills``): leave an order partly filled, return its id."""
        return None

    @pytest.fixture
    def resting_stop_price(self) -> Decimal | None:
        """Override (``order.stop``/``order.stop_limit``): a BUY trigger above the market."""
        return None

    # --- instruments and balances ------------------------------------------------

    def test_instruments_loaded(
        self, component_factory: ComponentFactory, instrument: Instrument
    ) -> None:
        async def scenario(adapter: Adapter) -> tuple[str, Sequence[Instrument]]:
            return adapter.venue, tuple(await adapter.load_instruments())

        venue, instruments = on_exchange(component_factory, scenario)
        assert instruments, "load_instruments() returned no instruments"
        for inst in instruments:
            assert isinstance(inst, Instrument), f"load_instruments() returned {inst!r}"
            assert inst.venue == venue, f"{inst.symbol} has venue {inst.venue!r}, not {venue!r}"
        by_symbol = {inst.symbol: inst for inst in instruments}
        assert len(by_symbol) == len(instruments), "load_instruments() repeats a symbol"
        loaded = by_symbol.get(instrument.symbol)
        assert loaded is not None, f"the 'instrument' fixture {instrument.symbol} is not loaded"
        assert (loaded.tick_size, loaded.lot_size, loaded.venue) == (
            instrument.tick_size, instrument.lot_size, instrument.venue,
        ), f"the 'instrument' fixture differs from the loaded one: {loaded!r}"

    def test_balances_returned(self, component_factory: ComponentFactory) -> None:
        async def scenario(adapter: Adapter) -> tuple[str, Sequence[Balance]]:
            return adapter.venue, tuple(await adapter.fetch_balances())

        venue, balances = on_exchange(component_factory, scenario)
        assert balances, "fetch_balances() returned nothing; the account needs funds to trade"
        for balance in balances:
            assert isinstance(balance, Balance), f"fetch_balances() returned {balance!r}"
            assert balance.venue == venue, (
                f"balance of {balance.asset} names venue {balance.venue!r}, not {venue!r}"
            )
        assets = [b.asset for b in balances]
        assert len(set(assets)) == len(assets), f"fetch_balances() repeats an asset: {assets}"

    # --- resting orders, idempotency, cancels --------------------------------------

    def test_resting_limit_order_rests(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="rest", price=resting_limit_price)

        async def scenario(adapter: Adapter) -> None:
            order = await adapter.submit_order(request)
            assert order.client_order_id == request.client_order_id
            assert order.request.same_order_as(request), (
                f"the returned order's request {order.request!r} differs from the one sent"
            )
            assert order.status in _WAITING, f"a resting limit order came back {order.status}"
            await drive_market(adapter, instrument)
            fetched = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            rests = fetched.status in _WAITING and fetched.filled_quantity == 0
            assert rests, (
                f"a BUY limit at {resting_limit_price} should rest, but is {fetched.status} with "
                f"{fetched.filled_quantity} filled; lower 'resting_limit_price'"
            )
            assert request.client_order_id in await open_order_ids(adapter, instrument.symbol)
            assert request.client_order_id in await open_order_ids(adapter, None), (
                "fetch_open_orders() without a symbol misses the resting order"
            )

        on_exchange(component_factory, scenario)

    def test_submit_is_idempotent_by_client_order_id(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="idem", price=resting_limit_price)

        async def scenario(adapter: Adapter) -> None:
            open_before = len(await open_order_ids(adapter, instrument.symbol))
            first = await adapter.submit_order(request)
            second = await adapter.submit_order(request)
            assert second.client_order_id == first.client_order_id
            assert second.exchange_order_id == first.exchange_order_id, (
                f"a resend created another order: exchange ids {first.exchange_order_id!r} and "
                f"{second.exchange_order_id!r}"
            )
            ids = await open_order_ids(adapter, instrument.symbol)
            once = ids.count(request.client_order_id) == 1 and len(ids) == open_before + 1
            assert once, (
                f"after sending {request.client_order_id} twice the open orders are {ids}; "
                "submit_order must return the existing order for a known client order id"
            )
            assert not await fills_of(adapter, request.client_order_id, instrument.symbol)

        on_exchange(component_factory, scenario)

    def test_resend_after_fill_does_not_trade_again(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="refill", order_type=OrderType.MARKET)

        async def scenario(adapter: Adapter) -> None:
            await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            before = await fills_of(adapter, request.client_order_id, instrument.symbol)
            resent = await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            after = await fills_of(adapter, request.client_order_id, instrument.symbol)
            assert resent.client_order_id == request.client_order_id
            assert order.status is OrderStatus.FILLED, f"the market order is {order.status}"
            assert [f.fill_id for f in after] == [f.fill_id for f in before], (
                f"resending a filled order traded again: fills {[f.fill_id for f in before]} "
                f"became {[f.fill_id for f in after]}"
            )
            assert_fills_explain(order, after)

        on_exchange(component_factory, scenario)

    def test_reused_id_with_other_parameters_refused(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="dup", price=resting_limit_price)
        conflicting = request.model_copy(update={"quantity": order_quantity * 2})

        async def scenario(adapter: Adapter) -> None:
            await adapter.submit_order(request)
            await expect_error(
                adapter.submit_order(conflicting),
                DuplicateOrderError,
                f"reusing client order id {request.client_order_id} with another quantity",
            )
            order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            assert order.request.quantity == order_quantity, (
                f"the refused resend changed the order's quantity to {order.request.quantity}"
            )
            ids = await open_order_ids(adapter, instrument.symbol)
            assert ids.count(request.client_order_id) == 1, f"open orders are {ids}"

        on_exchange(component_factory, scenario)

    def test_cancel_resting_order(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="cancel", price=resting_limit_price)

        async def scenario(adapter: Adapter) -> None:
            await adapter.submit_order(request)
            cancelled = await adapter.cancel_order(request.client_order_id, instrument.symbol)
            assert cancelled.status is OrderStatus.CANCELLED, f"cancel returned {cancelled.status}"
            fetched = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            assert fetched.status is OrderStatus.CANCELLED, (
                f"fetch_order after cancel says {fetched.status}"
            )
            assert fetched.filled_quantity == 0
            still_open = await open_order_ids(adapter, instrument.symbol)
            assert request.client_order_id not in still_open, (
                "a cancelled order is still listed by fetch_open_orders()"
            )

        on_exchange(component_factory, scenario)

    # --- the SDK errors callers rely on ---------------------------------------------

    def test_unknown_order_not_found(
        self, component_factory: ComponentFactory, instrument: Instrument
    ) -> None:
        unknown = new_client_order_id("unknown")

        async def scenario(adapter: Adapter) -> None:
            await expect_error(
                adapter.fetch_order(unknown, instrument.symbol),
                OrderNotFoundError,
                f"fetch_order of unknown id {unknown}",
            )
            await expect_error(
                adapter.cancel_order(unknown, instrument.symbol),
                OrderNotFoundError,
                f"cancel_order of unknown id {unknown}",
            )

        on_exchange(component_factory, scenario)

    def test_quantity_off_lot_grid_refused(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        quantity = order_quantity + instrument.lot_size / 2
        request = request_for(instrument, quantity, tag="lot", price=resting_limit_price)
        what = f"quantity {quantity} off the lot grid {instrument.lot_size}"
        self._refused(component_factory, request, what)

    def test_price_off_tick_grid_refused(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        price = resting_limit_price + instrument.tick_size / 2
        request = request_for(instrument, order_quantity, tag="tick", price=price)
        what = f"price {price} off the tick grid {instrument.tick_size}"
        self._refused(component_factory, request, what)

    def test_unknown_symbol_refused(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
    ) -> None:
        symbol = f"NOSUCHCOIN/{instrument.quote}"
        if instrument.kind is InstrumentKind.PERPETUAL:
            symbol = f"{symbol}:{instrument.settle}"
        request = request_for(instrument, order_quantity, tag="sym", price=resting_limit_price)
        request = request.model_copy(update={"symbol": symbol})
        self._refused(component_factory, request, f"an order for unknown symbol {symbol}")

    def _refused(self, factory: ComponentFactory, request: OrderRequest, what: str) -> None:
        async def scenario(adapter: Adapter) -> None:
            await expect_error(adapter.submit_order(request), InvalidOrderError, what)
            assert request.client_order_id not in await open_order_ids(adapter, None), (
                f"the refused order {request.client_order_id} is listed as open"
            )

        on_exchange(factory, scenario)

    # --- fills -------------------------------------------------------------------

    def test_market_order_fills_after_drive_market(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(instrument, order_quantity, tag="mkt", order_type=OrderType.MARKET)

        async def scenario(adapter: Adapter) -> None:
            await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            filled = order.status is OrderStatus.FILLED and order.filled_quantity == order_quantity
            assert filled, (
                f"a market order of {order_quantity} is {order.status} with "
                f"{order.filled_quantity} filled after drive_market; make 'drive_market' trade"
            )
            fills = await fills_of(adapter, request.client_order_id, instrument.symbol)
            assert fills, "fetch_fills() has no fill for the filled market order"
            assert_fills_explain(order, fills)
            assert request.client_order_id not in await open_order_ids(adapter, None)
            every = [f.fill_id for f in await adapter.fetch_fills()]
            assert {f.fill_id for f in fills} <= set(every), (
                "fetch_fills() without a symbol misses the order's fills"
            )
            later = max(f.ts for f in fills) + timedelta(seconds=1)
            since = {f.fill_id for f in await adapter.fetch_fills(instrument.symbol, since=later)}
            assert not since & {f.fill_id for f in fills}, (
                f"fetch_fills(since={later.isoformat()}) returned fills from before that time"
            )

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("partial_fills")
    def test_partial_fill_reported(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        partial_fill_scenario: PartialFillScenario | None,
    ) -> None:
        if partial_fill_scenario is None:
            missing_fixture(
                type(self).__name__,
                "partial_fill_scenario",
                "the manifest declares 'partial_fills': return an async callable "
                "(adapter, instrument) -> client order id of a partially filled order",
            )
        scenario_fn = partial_fill_scenario

        async def scenario(adapter: Adapter) -> None:
            coid = await scenario_fn(adapter, instrument)
            order = await adapter.fetch_order(coid, instrument.symbol)
            assert order.status is OrderStatus.PARTIALLY_FILLED, f"order {coid} is {order.status}"
            assert 0 < order.filled_quantity < order.request.quantity, (
                f"order {coid} reports {order.filled_quantity} of {order.request.quantity} filled"
            )
            assert_fills_explain(order, await fills_of(adapter, coid, instrument.symbol))
            assert coid in await open_order_ids(adapter, instrument.symbol), (
                "a partially filled order must still be listed as open"
            )
            cancelled = await adapter.cancel_order(coid, instrument.symbol)
            assert cancelled.status is OrderStatus.CANCELLED
            assert cancelled.filled_quantity == order.filled_quantity, (
                "cancelling a partially filled order lost its filled quantity"
            )

        on_exchange(component_factory, scenario)
