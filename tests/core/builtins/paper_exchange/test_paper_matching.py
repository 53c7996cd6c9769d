"""Matching on bars and trades: prices, fees, slippage, partial fills, triggers, TIF, latency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import InvalidOrderError, Liquidity, OrderStatus, OrderType

from .helpers import D, at, bar, flat_bar, order, run, trade, venue


def _status(exchange: PaperExchange, coid: str) -> OrderStatus:
    return run(exchange.fetch_order(coid, "BTC/USDT")).status


# --- market orders -------------------------------------------------------------------


def test_market_order_fills_at_next_open_with_exact_taker_fee() -> None:
    ex = venue(maker_fee="0.001", taker_fee="0.002")
    ex.process_event(bar(0, 100, 101, 99, 100))
    placed = ex.place_order(order("buy", 2, coid="m1"))
    assert placed.status is OrderStatus.ACKNOWLEDGED
    assert placed.created_at == at(1)  # the venue's time is the signal bar's close

    fills = ex.process_event(bar(1, 102, 103, 101, 102))

    assert [(f.quantity, f.price, f.fee, f.liquidity, f.ts) for f in fills] == [
        (D(2), D(102), D("0.408"), Liquidity.TAKER, at(1))
    ]
    assert fills[0].fee_currency == "USDT"
    assert fills[0].fill_id == "paper-fill-1"
    assert fills[0].exchange_order_id == "paper-1"
    final = run(ex.fetch_order("m1", "BTC/USDT"))
    assert (final.status, final.filled_quantity, final.average_fill_price, final.fees) == (
        OrderStatus.FILLED, D(2), D(102), D("0.408"),
    )
    held = {b.asset: b.total for b in run(ex.fetch_balances())}
    assert held == {"BTC": D(2), "USDT": D("99795.592")}


def test_signal_close_fills_at_submission_at_the_signal_bars_close() -> None:
    ex = venue(fill_at="signal_close", taker_fee="0.001")
    ex.process_event(bar(0, 100, 101, 99, "100.5"))

    placed = ex.place_order(order("buy", 1, coid="c1"))

    assert (placed.status, placed.average_fill_price) == (OrderStatus.FILLED, D("100.5"))
    [fill] = ex.fills_for_order("c1")
    assert (fill.price, fill.fee, fill.ts) == (D("100.5"), D("0.1005"), at(1))
    assert ex.process_event(bar(1, 110, 111, 109, 110)) == ()


def test_signal_close_before_any_data_waits_for_the_next_event() -> None:
    ex = venue(fill_at="signal_close", instruments=[
        {"symbol": "BTC/USDT", "tick_size": "0.01", "lot_size": "0.001"}
    ])
    ex.place_order(order("buy", 1, coid="early"))
    [fill] = ex.process_event(bar(0, 100, 101, 99, 100))
    assert fill.price == D(100)


# --- limit orders ----------------------------------------------------------------


def test_resting_limit_fills_at_its_price_as_maker_when_the_low_trades_through() -> None:
    ex = venue(maker_fee="0.001", taker_fee="0.002")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=98, coid="l1"))

    assert ex.process_event(bar(1, 100, 101, 99, 100)) == ()
    assert _status(ex, "l1") is OrderStatus.ACKNOWLEDGED
    [fill] = ex.process_event(bar(2, 99, 99, "97.5", 98))

    assert (fill.price, fill.liquidity, fill.fee) == (D(98), Liquidity.MAKER, D("0.098"))


def test_limit_touching_the_low_fills() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=99, coid="touch"))
    [fill] = ex.process_event(bar(1, 100, 100, 99, 100))
    assert fill.price == D(99)


def test_marketable_limit_takes_at_the_open_capped_at_its_limit() -> None:
    ex = venue(slippage_bps="100", taker_fee="0.002")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=101, coid="t1"))

    [fill] = ex.process_event(bar(1, "100.5", 102, 100, 101))

    # 100.5 * 1.01 = 101.505 would cross the limit: the limit caps it.
    assert (fill.price, fill.liquidity, fill.fee) == (D(101), Liquidity.TAKER, D("0.202"))


def test_gap_through_a_resting_limit_fills_at_the_limit_as_maker() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=98, coid="gap"))
    assert ex.process_event(bar(1, 100, 101, 99, 100)) == ()  # arrived, not marketable: rests
    [fill] = ex.process_event(bar(2, 95, 96, 94, 95))  # opens below the resting bid
    assert (fill.price, fill.liquidity) == (D(98), Liquidity.MAKER)


def test_limit_marketable_at_arrival_takes_at_the_open() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=98))
    [fill] = ex.process_event(bar(1, 95, 96, 94, 95))
    assert (fill.price, fill.liquidity) == (D(95), Liquidity.TAKER)


# --- slippage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "exponent", "expected"),
    [
        ("10", "1", "100.1"),  # 0.1 * 10/1000 = 0.001
        ("100", "1", "101"),  # 0.1 * 100/1000 = 0.01
        ("10", "0.5", "101"),  # 0.1 * sqrt(0.01) = 0.01
        ("40", "0.5", "102"),  # 0.1 * sqrt(0.04) = 0.02
    ],
)
def test_slippage_grows_with_size_against_bar_volume(
    quantity: str, exponent: str, expected: str
) -> None:
    ex = venue(impact_coefficient="0.1", impact_exponent=exponent)
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", quantity))
    [fill] = ex.process_event(flat_bar(1, 100, volume=1000))
    assert fill.price == D(expected)


def test_sell_slippage_moves_the_price_down_and_adds_the_fixed_part() -> None:
    ex = venue(slippage_bps="5", impact_coefficient="0.1", impact_exponent="1",
               balances={"BTC": "100", "USDT": "0"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("sell", 100))
    [fill] = ex.process_event(flat_bar(1, 100, volume=1000))
    # 5 bps + 0.1 * 100/1000 = 0.0105 -> 100 * (1 - 0.0105)
    assert fill.price == D("98.95")


def test_taker_prices_round_to_the_tick_against_the_taker() -> None:
    ex = venue(
        slippage_bps="3",
        instruments=[{"symbol": "BTC/USDT", "tick_size": "0.1", "lot_size": "0.001"}],
        balances={"USDT": "100000", "BTC": "1"},
    )
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, coid="b"))
    ex.place_order(order("sell", 1, coid="s"))
    buy, sell = ex.process_event(flat_bar(1, 100))
    assert (buy.price, sell.price) == (D("100.1"), D("99.9"))  # 100.03 up, 99.97 down


# --- partial fills ------------------------------------------------------------------


def test_participation_cap_spreads_a_market_order_over_several_bars() -> None:
    ex = venue(max_participation="0.1")
    ex.process_event(flat_bar(0, 100, volume=50))
    ex.place_order(order("buy", 12, coid="big"))

    first = ex.process_event(flat_bar(1, 101, volume=50))
    assert [(f.quantity, f.price) for f in first] == [(D(5), D(101))]
    assert _status(ex, "big") is OrderStatus.PARTIALLY_FILLED
    second = ex.process_event(flat_bar(2, 102, volume=50))
    third = ex.process_event(flat_bar(3, 103, volume=50))

    assert [(f.quantity, f.price) for f in second + third] == [(D(5), D(102)), (D(2), D(103))]
    final = run(ex.fetch_order("big", "BTC/USDT"))
    assert final.status is OrderStatus.FILLED
    assert final.average_fill_price == (5 * D(101) + 5 * D(102) + 2 * D(103)) / 12


def test_orders_in_one_bar_share_its_liquidity_oldest_first() -> None:
    ex = venue(max_participation="0.1")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 5, coid="first"))
    ex.place_order(order("buy", 5, coid="second"))
    fills = ex.process_event(flat_bar(1, 100, volume=60))
    assert [(f.client_order_id, f.quantity) for f in fills] == [("first", D(5)), ("second", D(1))]


def test_zero_volume_bar_fills_nothing_under_a_participation_cap() -> None:
    ex = venue(max_participation="0.5")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1))
    assert ex.process_event(flat_bar(1, 100, volume=0)) == ()
    assert len(ex.process_event(flat_bar(2, 100, volume=10))) == 1


# --- stops and take-profits ---------------------------------------------------------


def test_buy_stop_triggers_when_the_high_reaches_it_and_fills_at_the_stop() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, stop=105, coid="st"))
    assert ex.process_event(bar(1, 100, 104, 99, 103)) == ()
    assert _status(ex, "st") is OrderStatus.ACKNOWLEDGED
    [fill] = ex.process_event(bar(2, 103, 106, 102, 105))
    assert (fill.price, fill.liquidity) == (D(105), Liquidity.TAKER)


def test_stop_gapped_through_fills_at_the_open() -> None:
    ex = venue(balances={"USDT": "100000", "BTC": "2"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, stop=105))
    ex.place_order(order("sell", 1, stop=95))
    assert [f.price for f in ex.process_event(bar(1, 107, 108, 106, 107))] == [D(107)]
    assert [f.price for f in ex.process_event(bar(2, 93, 94, 92, 93))] == [D(93)]


def test_sell_stop_triggers_on_the_low() -> None:
    ex = venue(balances={"BTC": "1"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("sell", 1, stop=95))
    [fill] = ex.process_event(bar(1, 99, 99, 94, 96))
    assert fill.price == D(95)


def test_stop_limit_fills_at_the_trigger_within_its_limit() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, stop=105, price="105.5"))
    [fill] = ex.process_event(bar(1, 103, 106, 102, 105))
    assert (fill.price, fill.liquidity) == (D(105), Liquidity.TAKER)


def test_stop_limit_gapped_past_its_limit_rests_and_later_fills_as_maker() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, stop=105, price="105.5", coid="sl"))
    # Opens at 107, beyond the limit: triggered, but not marketable, so it rests. The same
    # bar's low (105) is not used: after a trigger the order rests from the next event.
    assert ex.process_event(bar(1, 107, 108, 105, 106)) == ()
    assert _status(ex, "sl") is OrderStatus.ACKNOWLEDGED
    [fill] = ex.process_event(bar(2, 106, 107, 105, 106))
    assert (fill.price, fill.liquidity) == (D("105.5"), Liquidity.MAKER)


@pytest.mark.parametrize(
    ("side", "stop", "bar_args", "expected"),
    [
        ("sell", 110, (108, 111, 107, 110), D(110)),  # sell take-profit triggers on the high
        ("buy", 95, (97, 98, 94, 95), D(95)),  # buy take-profit triggers on the low
    ],
)
def test_take_profit_triggers_in_the_favourable_direction(
    side: str, stop: int, bar_args: tuple[int, int, int, int], expected: Decimal
) -> None:
    ex = venue(balances={"USDT": "100000", "BTC": "1"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order(side, 1, stop=stop, order_type=OrderType.TAKE_PROFIT))
    # Moving away from the trigger does nothing.
    away = (103, 104, 102, 103) if side == "buy" else (97, 98, 96, 97)
    assert ex.process_event(bar(1, *away)) == ()
    [fill] = ex.process_event(bar(2, *bar_args))
    assert fill.price == expected


# --- time in force and post-only ----------------------------------------------------


def test_ioc_keeps_what_filled_at_arrival_and_expires_the_rest() -> None:
    ex = venue(max_participation="0.1")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 8, tif="IOC", coid="ioc"))
    [fill] = ex.process_event(flat_bar(1, 100, volume=50))
    final = run(ex.fetch_order("ioc", "BTC/USDT"))
    assert fill.quantity == D(5)
    assert (final.status, final.filled_quantity) == (OrderStatus.EXPIRED, D(5))
    assert "IOC" in final.reason
    assert ex.process_event(flat_bar(2, 100, volume=50)) == ()


def test_fok_fills_entirely_or_not_at_all() -> None:
    ex = venue(max_participation="0.1")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 8, tif="FOK", coid="too-big"))
    ex.place_order(order("buy", 4, tif="FOK", coid="fits"))
    fills = ex.process_event(flat_bar(1, 100, volume=50))
    assert [(f.client_order_id, f.quantity) for f in fills] == [("fits", D(4))]
    assert _status(ex, "too-big") is OrderStatus.EXPIRED
    assert _status(ex, "fits") is OrderStatus.FILLED


def test_ioc_limit_not_marketable_at_arrival_never_rests() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=90, tif="IOC", coid="ioc-limit"))
    assert ex.process_event(bar(1, 100, 100, 89, 95)) == ()  # the low later reaches 89
    assert _status(ex, "ioc-limit") is OrderStatus.EXPIRED


def test_post_only_crossing_the_market_is_refused_at_submission() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(InvalidOrderError, match=r"post-only .* would take liquidity"):
        ex.place_order(order("buy", 1, price=100, post_only=True))
    assert run(ex.fetch_open_orders()) == []


def test_post_only_that_would_take_on_arrival_expires() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=99, post_only=True, coid="po"))
    assert ex.process_event(bar(1, "98.5", 99, 98, 99)) == ()  # opened below the bid
    final = run(ex.fetch_order("po", "BTC/USDT"))
    assert final.status is OrderStatus.EXPIRED
    assert "post-only" in final.reason


def test_post_only_rests_and_fills_as_maker() -> None:
    ex = venue(maker_fee="0.0001", taker_fee="0.001")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=99, tif="GTX"))
    [fill] = ex.process_event(bar(1, 100, 100, 98, 99))
    assert (fill.price, fill.liquidity, fill.fee) == (D(99), Liquidity.MAKER, D("0.0099"))


# --- latency ------------------------------------------------------------------------


def test_latency_on_bars_skips_the_bar_the_order_arrives_inside() -> None:
    ex = venue(latency_ms=30_000)
    ex.process_event(flat_bar(0, 100))
    placed = ex.place_order(order("buy", 1))
    assert placed.created_at == at(1)
    assert ex.process_event(flat_bar(1, 101)) == ()  # opens at 00:01, order arrives 00:01:30
    [fill] = ex.process_event(flat_bar(2, 102))
    assert (fill.price, fill.ts) == (D(102), at(2))


def test_latency_on_trades_delays_activation_by_exactly_the_latency() -> None:
    ex = venue(latency_ms=500)
    ex.process_event(trade(0.2, 100, 5))
    ex.place_order(order("buy", 1))  # at 0.2 s: active from 0.7 s
    assert ex.process_event(trade(0.5, 101, 5)) == ()
    assert [f.price for f in ex.process_event(trade(0.7, 102, 5))] == [D(102)]


# --- trades --------------------------------------------------------------------------


def test_trades_fill_resting_limits_at_the_limit_within_the_traded_amount() -> None:
    ex = venue(max_participation="0.5")
    ex.process_event(trade(0, 100, 1))
    ex.place_order(order("buy", 3, price=99, coid="tl"))
    assert ex.process_event(trade(1, "99.5", 10)) == ()
    fills = ex.process_event(trade(2, 99, 4)) + ex.process_event(trade(3, "98.5", 4))
    assert [(f.quantity, f.price, f.liquidity) for f in fills] == [
        (D(2), D(99), Liquidity.MAKER),
        (D(1), D(99), Liquidity.MAKER),
    ]


def test_events_of_other_symbols_leave_resting_orders_alone() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=90))
    assert ex.process_event(flat_bar(1, 50, symbol="ETH/USDT")) == ()
    assert len(run(ex.fetch_open_orders("BTC/USDT"))) == 1
    assert run(ex.fetch_open_orders("ETH/USDT")) == []
