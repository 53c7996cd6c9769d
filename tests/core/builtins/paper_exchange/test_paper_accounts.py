"""Balances, reservations, perpetual positions, margin, leverage, funding, reduce-only."""

from __future__ import annotations

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderStatus,
    Position,
)

from .helpers import PERP, D, balances, bar, flat_bar, order, run, venue


def _position(ex: PaperExchange) -> Position:
    return ex.position(PERP)


# --- spot ------------------------------------------------------------------------------


def test_resting_spot_buy_reserves_cost_and_worst_fee_until_cancelled() -> None:
    ex = venue(maker_fee="0.001", taker_fee="0.002")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 2, price=50, coid="r"))
    assert balances(ex) == {"USDT": (D("99899.8"), D("100.2"))}  # 2 * 50 * 1.002
    run(ex.cancel_order("r", "BTC/USDT"))
    assert balances(ex) == {"USDT": (D(100000), D(0))}


def test_resting_spot_sell_reserves_the_base_it_sells() -> None:
    ex = venue(balances={"BTC": "3"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("sell", 2, price=120))
    assert balances(ex)["BTC"] == (D(1), D(2))
    with pytest.raises(InsufficientFundsError, match=r"needs 2 BTC but only 1 is free"):
        ex.place_order(order("sell", 2, price=130))


def test_spot_buy_beyond_the_wallet_is_refused_and_leaves_no_order() -> None:
    ex = venue(balances={"USDT": "1000"}, taker_fee="0.001")
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(InsufficientFundsError, match=r"needs 1001 USDT but only 1000 is free"):
        ex.place_order(order("buy", 10, price=100, coid="big"))
    assert run(ex.fetch_open_orders()) == []
    assert ex.place_order(order("buy", 9, price=100, coid="big")).status is OrderStatus.ACKNOWLEDGED


def test_spot_fills_move_base_and_quote_exactly() -> None:
    ex = venue(maker_fee="0.001", taker_fee="0.002")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 3))
    ex.process_event(flat_bar(1, 100))  # 300 + 0.6 fee
    ex.place_order(order("sell", 1, price=110))
    ex.process_event(bar(2, 105, 110, 104, 108))  # rests at 105, maker at 110: 110 - 0.11
    assert {b.asset: b.total for b in run(ex.fetch_balances())} == {
        "BTC": D(2),
        "USDT": D(100000) - D("300.6") + D("109.89"),
    }


def test_market_buy_that_gaps_beyond_the_wallet_fills_what_it_can_then_expires() -> None:
    ex = venue(balances={"USDT": "1000"})
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", "9.9", coid="gap"))  # 990 at the last close
    [fill] = ex.process_event(flat_bar(1, 125))
    final = run(ex.fetch_order("gap", "BTC/USDT"))
    assert fill.quantity == D(8)  # 1000 / 125
    assert final.status is OrderStatus.EXPIRED
    assert "insufficient USDT" in final.reason
    assert balances(ex) == {"BTC": (D(8), D(0)), "USDT": (D(0), D(0))}


def test_a_price_rise_within_free_funds_lets_a_partly_filled_buy_go_on() -> None:
    ex = venue(balances={"USDT": "1000"}, max_participation="0.1")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 9, coid="steps"))  # holds 900 of 1000
    first = ex.process_event(flat_bar(1, 105, volume=30))  # 3 at 105 costs 15 more than held
    second = ex.process_event(flat_bar(2, 110, volume=60))
    assert [(f.quantity, f.price) for f in first + second] == [(D(3), D(105)), (D(6), D(110))]
    assert run(ex.fetch_order("steps", "BTC/USDT")).status is OrderStatus.FILLED
    assert balances(ex)["USDT"] == (D(1000) - 315 - 660, D(0))


def test_holds_return_to_exactly_zero_after_partial_fills_and_a_cancel() -> None:
    ex = venue(max_participation="0.1", taker_fee="0.0007", maker_fee="0.0003")
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 7, price="100.37", coid="odd"))
    ex.process_event(bar(1, 100, 101, 99, 100, volume=30))  # 3 taken at 100
    ex.process_event(bar(2, "100.5", 101, 99, 100, volume=30))  # 3 more at 100.37 as maker
    assert balances(ex)["USDT"][1] > 0
    run(ex.cancel_order("odd", "BTC/USDT"))
    free, used = balances(ex)["USDT"]
    assert used == 0
    assert free == D(100000) - 300 - D("0.21") - 3 * D("100.37") * D("1.0003")


# --- perpetuals --------------------------------------------------------------------------


def test_perpetual_position_average_entry_and_margin() -> None:
    ex = venue(leverage="10")
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(2, 110, symbol=PERP))
    pos = _position(ex)
    assert (pos.quantity, pos.average_entry_price, pos.mark_price) == (D(2), D(105), D(110))
    assert pos.unrealised_pnl == D(10)
    assert balances(ex)["USDT"] == (D(100000) - D(21), D(21))  # margin 2 * 105 / 10


def test_perpetual_realises_pnl_on_reduce_and_flip() -> None:
    ex = venue(taker_fee="0.001", leverage="5")
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))  # fee 0.1
    ex.place_order(order("sell", "0.4", symbol=PERP))
    ex.process_event(flat_bar(2, 110, symbol=PERP))  # +4, fee 0.044
    ex.place_order(order("sell", 1, symbol=PERP))
    ex.process_event(flat_bar(3, 120, symbol=PERP))  # +12 on 0.6, flips to -0.4 @ 120; fee 0.12
    pos = _position(ex)
    assert (pos.quantity, pos.average_entry_price) == (D("-0.4"), D(120))
    assert pos.realised_pnl == D(16)
    assert pos.fees_paid == D("0.264")
    wallet = D(100000) + 16 - D("0.264")
    assert balances(ex)["USDT"] == (wallet - D("9.6"), D("9.6"))  # 0.4 * 120 / 5


def test_closing_a_position_needs_no_new_margin() -> None:
    ex = venue(balances={"USDT": "100"}, leverage="1")
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))
    assert balances(ex)["USDT"] == (D(0), D(100))
    ex.place_order(order("sell", 1, symbol=PERP, coid="close"))
    [fill] = ex.process_event(flat_bar(2, 90, symbol=PERP))
    assert fill.quantity == D(1)
    assert _position(ex).quantity == 0
    assert balances(ex)["USDT"] == (D(90), D(0))


def test_perpetual_market_order_gapping_past_the_margin_fills_what_fits() -> None:
    ex = venue(balances={"USDT": "100"})
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", "0.99", symbol=PERP, coid="gap"))  # 99 of margin held
    [fill] = ex.process_event(flat_bar(1, 125, symbol=PERP))
    assert fill.quantity == D("0.8")  # 100 / 125 at leverage 1
    final = run(ex.fetch_order("gap", PERP))
    assert final.status is OrderStatus.EXPIRED
    assert "insufficient USDT" in final.reason
    assert balances(ex)["USDT"] == (D(0), D(100))


def test_margin_beyond_the_wallet_is_refused() -> None:
    ex = venue(balances={"USDT": "1000"}, leverage="2")
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    with pytest.raises(InsufficientFundsError, match="needs 1250 USDT"):
        ex.place_order(order("buy", 25, symbol=PERP))
    run(ex.set_leverage(PERP, 5))
    assert ex.place_order(order("buy", 25, symbol=PERP)).status is OrderStatus.ACKNOWLEDGED
    assert balances(ex)["USDT"] == (D(500), D(500))


def test_set_leverage_refuses_nonsense_and_spot() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(InvalidOrderError, match=r"outside 1\.\.125"):
        run(ex.set_leverage(PERP, 0))
    with pytest.raises(InvalidOrderError, match="spot"):
        run(ex.set_leverage("BTC/USDT", 3))


def test_raising_margin_by_lowering_leverage_must_fit_the_wallet() -> None:
    ex = venue(balances={"USDT": "100"}, leverage="10")
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 5, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))  # margin 50
    with pytest.raises(InsufficientFundsError):
        run(ex.set_leverage(PERP, 2))  # would need 250
    assert balances(ex)["USDT"] == (D(50), D(50))
    run(ex.set_leverage(PERP, 5))
    assert balances(ex)["USDT"] == (D(0), D(100))


def test_funding_charges_longs_and_pays_shorts_at_the_mark() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 2, symbol=PERP))
    ex.process_event(flat_bar(1, 110, symbol=PERP))
    paid = ex.apply_funding(PERP, D("0.0001"))
    assert paid == D("0.022")  # 2 * 110 * 0.0001
    assert _position(ex).funding_paid == D("0.022")
    ex.place_order(order("sell", 4, symbol=PERP))
    ex.process_event(flat_bar(2, 110, symbol=PERP))
    assert ex.apply_funding(PERP, D("0.0001")) == D("-0.022")
    assert _position(ex).funding_paid == 0
    assert {b.asset: b.total for b in run(ex.fetch_balances())}["USDT"] == D(100000) + 0


def test_fetch_positions_lists_open_positions_only() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    assert run(ex.fetch_positions()) == []
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))
    [pos] = run(ex.fetch_positions())
    assert (pos.symbol, pos.venue, pos.quantity) == (PERP, "paper", D(1))
    ex.place_order(order("sell", 1, symbol=PERP))
    ex.process_event(flat_bar(2, 105, symbol=PERP))
    assert run(ex.fetch_positions()) == []
    assert ex.position(PERP).realised_pnl == D(5)


# --- reduce-only ---------------------------------------------------------------------------


def test_reduce_only_is_refused_when_it_would_open_increase_or_flip() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    with pytest.raises(InvalidOrderError, match="would open or increase"):
        ex.place_order(order("sell", 1, symbol=PERP, reduce_only=True))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))
    with pytest.raises(InvalidOrderError, match="would open or increase"):
        ex.place_order(order("buy", 1, symbol=PERP, reduce_only=True))
    with pytest.raises(InvalidOrderError, match=r"would flip .* send at most 1"):
        ex.place_order(order("sell", 2, symbol=PERP, reduce_only=True))
    ex.place_order(order("sell", "0.6", symbol=PERP, reduce_only=True, price=120))
    with pytest.raises(InvalidOrderError, match=r"0\.6 already being reduced"):
        ex.place_order(order("sell", "0.5", symbol=PERP, reduce_only=True))


def test_reduce_only_on_spot_is_refused() -> None:
    ex = venue(balances={"BTC": "1"})
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(InvalidOrderError, match="perpetual"):
        ex.place_order(order("sell", 1, reduce_only=True))


def test_reduce_only_expires_once_the_position_is_gone() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 1, symbol=PERP))
    ex.process_event(flat_bar(1, 100, symbol=PERP))
    ex.place_order(order("sell", 1, symbol=PERP, price=120, reduce_only=True, coid="tp"))
    ex.place_order(order("sell", 1, symbol=PERP))
    ex.process_event(flat_bar(2, 105, symbol=PERP))  # the plain sell closes the position
    assert ex.process_event(flat_bar(3, 121, symbol=PERP)) == ()
    final = run(ex.fetch_order("tp", PERP))
    assert final.status is OrderStatus.EXPIRED
    assert "reduce-only" in final.reason
    assert _position(ex).quantity == 0
