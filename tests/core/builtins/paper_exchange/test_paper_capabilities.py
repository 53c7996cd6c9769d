"""The SDK's simulated-venue capabilities (API 1.1) on the paper exchange: the SDK names are
the venue's methods (the API 1.0 names stay as aliases), synchronous matching is
``on_market_event``, and a venue told to forget closed orders keeps only what is open."""

from __future__ import annotations

import asyncio

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    ExchangeAdapter,
    Manifest,
    OrderNotFoundError,
    OrderStatus,
    promised_methods,
)

from .helpers import D, bar, flat_bar, order, run, venue
from .test_paper_venues import MANIFEST


def test_every_declared_simulated_capability_is_the_venues_own_method() -> None:
    manifest = Manifest.from_path(MANIFEST)
    assert manifest.api_version == "1.1.0"
    simulated = {
        "sync_submit",
        "sync_matching",
        "fills_by_order",
        "adopt_symbols",
        "state_snapshot",
        "settle_funding",
        "forget_closed",
    }
    assert simulated <= set(manifest.capabilities)
    for capability in simulated:
        for method in promised_methods(capability):
            assert method in vars(PaperExchange), (capability, method)
            assert CAPABILITY_METHODS[capability][0] is PaperExchange.kind


def test_the_api_1_0_names_remain() -> None:
    assert PaperExchange.fills_for_order is PaperExchange.fills_of_order
    assert PaperExchange.process_event is PaperExchange.match_event
    assert PaperExchange.snapshot is PaperExchange.snapshot_state
    assert PaperExchange.restore is PaperExchange.restore_state
    assert PaperExchange.apply_funding is PaperExchange.settle_funding
    assert PaperExchange.match_event is not ExchangeAdapter.match_event


def test_match_event_gives_what_on_market_event_gives() -> None:
    events = [flat_bar(0, 100), bar(1, 100, 102, 97, 101), bar(2, 101, 104, 100, 103)]
    requests = [order("buy", 1, coid="m"), order("buy", 1, price=98, coid="l")]

    def drive(sync: bool) -> list[object]:
        ex = venue()
        seen: list[object] = []
        for index, event in enumerate(events):
            fills = ex.match_event(event) if sync else run(ex.on_market_event(event))
            seen.append([f.model_dump() for f in fills])
            if index == 0:
                for request in requests:
                    ex.submit_order_sync(request)
        seen.append(ex.snapshot_state())
        return seen

    assert drive(sync=True) == drive(sync=False)


def test_adopt_instruments_returns_the_adopted_ones_only() -> None:
    ex = venue()
    ex.match_event(flat_bar(0, 100, symbol="ETH/USDT"))
    run(ex.load_instruments())  # derives ETH/USDT, seen in the data
    adopted = ex.adopt_instruments(["SOL/USDT:USDT", "SOL/USDT:USDT"])
    assert [i.symbol for i in adopted] == ["SOL/USDT:USDT"]
    assert [i.symbol for i in ex.adopt_symbols([])] == ["ETH/USDT", "SOL/USDT:USDT"]
    listed = venue(derive_instruments=None).adopt_instruments(["BTC/USDT"])
    assert listed == []  # not listed and nothing derived: not tradable here


def test_a_flat_account_pays_no_funding_before_any_price() -> None:
    ex = venue()
    ex.adopt_instruments(["BTC/USDT:USDT"])
    assert ex.settle_funding("BTC/USDT:USDT", D("0.0001")) == 0


# --- forgetting closed orders --------------------------------------------------------


def _forgetting() -> PaperExchange:
    ex = venue(fill_at="signal_close")
    ex.forget_closed_orders()
    ex.match_event(flat_bar(0, 100))
    return ex


def test_fills_made_at_submission_are_there_until_the_next_submit_or_event() -> None:
    ex = _forgetting()
    placed = ex.submit_order_sync(order("buy", 1, coid="now"))
    assert placed.status is OrderStatus.FILLED
    [fill] = ex.fills_of_order("now")  # the engine asks right after the submit
    assert run(ex.fetch_order("now", "BTC/USDT")).status is OrderStatus.FILLED
    ex.match_event(flat_bar(1, 101))
    assert ex.fills_of_order("now") == ()
    with pytest.raises(OrderNotFoundError):
        run(ex.fetch_order("now", "BTC/USDT"))
    assert run(ex.fetch_fills()) == [fill]  # the fill log is kept


def test_open_orders_stay_and_closed_ones_go() -> None:
    ex = _forgetting()
    ex.submit_order_sync(order("buy", 1, price=95, coid="rest"))
    ex.submit_order_sync(order("buy", 1, price=90, coid="cancel"))
    ex.submit_order_sync(order("buy", 1, coid="market"))
    run(ex.cancel_order("cancel", "BTC/USDT"))
    [filled] = ex.match_event(bar(1, 100, 100, 94, 96))  # reaches the resting limit
    assert filled.client_order_id == "rest"
    assert ex.fills_of_order("rest") == (filled,)  # fills of an event are returned with it
    ex.match_event(flat_bar(2, 96))
    assert ex._orders == {}
    assert ex._settlement.by_order == {}
    ex.submit_order_sync(order("buy", 1, price=80, coid="open"))
    ex.match_event(flat_bar(3, 96))
    assert list(ex._orders) == ["open"]
    assert [o.client_order_id for o in run(ex.fetch_open_orders())] == ["open"]


def test_forgetting_changes_no_fill_and_no_balance() -> None:
    def session(forget: bool) -> tuple[list[object], object]:
        ex = venue(fill_at="signal_close", taker_fee="0.0004", maker_fee="0.0002")
        if forget:
            ex.forget_closed_orders()
        fills: list[object] = []
        for minute in range(40):
            price = 100 + (minute % 7) - (minute % 3)
            event = bar(minute, price, price + 2, price - 2, price)
            fills += [f.model_dump() for f in ex.match_event(event)]
            coid = f"o{minute}"
            ex.submit_order_sync(order("buy" if minute % 2 == 0 else "sell", 1, coid=coid))
            fills += [f.model_dump() for f in ex.fills_of_order(coid)]  # as the engine asks
            ex.submit_order_sync(order("buy", 1, price=price - 1, coid=f"l{minute}"))
        balances = asyncio.run(_balances(ex))
        return fills, balances

    assert session(forget=True) == session(forget=False)


async def _balances(ex: PaperExchange) -> object:
    return [b.model_dump() for b in await ex.fetch_balances()]
