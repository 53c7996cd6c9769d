"""Domain models refuse bad values with messages that name them, keep money exact and
time in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from crypto_bot_sdk import (
    Balance,
    Bar,
    Fill,
    Instrument,
    InstrumentKind,
    MarketEvent,
    MetricPoint,
    OrderBook,
    OrderIntent,
    OrderRequest,
    OrderType,
    PortfolioSnapshot,
    Position,
    ReportPeriod,
    RiskVerdict,
    Side,
    Signal,
    TimeInForce,
    Trade,
    VerdictAction,
    parse_symbol,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def bar(**changes: Any) -> Bar:
    values: dict[str, Any] = {
        "symbol": "BTC/USDT", "venue": "binance", "ts": T0, "open": "100", "high": "110",
        "low": "95", "close": "105", "volume": "12.5",
    }
    return Bar.model_validate({**values, **changes})


def request(**changes: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "client_order_id": "c-1", "venue": "binance", "symbol": "BTC/USDT", "side": "buy",
        "order_type": "limit", "quantity": "0.5", "price": "100",
    }
    return OrderRequest.model_validate({**values, **changes})


# --- symbols and instruments -----------------------------------------------------------


def test_symbols_split_into_base_quote_settle() -> None:
    assert parse_symbol("BTC/USDT") == ("BTC", "USDT", None)
    assert parse_symbol("ETH/USDT:USDT") == ("ETH", "USDT", "USDT")


@pytest.mark.parametrize(
    "symbol", ["btcusdt", "btc/usdt", "BTC-USDT", "BTC/", "/USDT", "BTC/USDT:"]
)
def test_bad_symbol_is_named(symbol: str) -> None:
    with pytest.raises(ValidationError, match=f"symbol '{symbol}' is not a ccxt unified symbol"):
        Instrument(symbol=symbol, venue="x", kind=InstrumentKind.SPOT, tick_size=Decimal("0.01"),
                   lot_size=Decimal("0.001"))


def test_instrument_kind_must_match_symbol() -> None:
    with pytest.raises(ValidationError, match="perpetual 'BTC/USDT' needs a settlement currency: "
                       "write it as 'BTC/USDT:USDT'"):
        Instrument(symbol="BTC/USDT", venue="x", kind=InstrumentKind.PERPETUAL,
                   tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))
    with pytest.raises(ValidationError, match="spot instrument 'BTC/USDT:USDT' must not carry"):
        Instrument(symbol="BTC/USDT:USDT", venue="x", kind=InstrumentKind.SPOT,
                   tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))


def test_instrument_grids() -> None:
    inst = Instrument(symbol="ETH/USDT:USDT", venue="x", kind=InstrumentKind.PERPETUAL,
                      tick_size=Decimal("0.05"), lot_size=Decimal("0.01"))
    assert (inst.base, inst.quote, inst.settle) == ("ETH", "USDT", "USDT")
    assert inst.round_price(Decimal("100.025")) == Decimal("100.00")  # tie goes to even step
    assert inst.round_price(Decimal("100.075")) == Decimal("100.10")
    assert inst.round_quantity(Decimal("1.239")) == Decimal("1.23")  # sizing never rounds up
    assert inst.is_price_on_tick(Decimal("100.05"))
    assert not inst.is_price_on_tick(Decimal("100.07"))
    assert not inst.is_quantity_on_lot(Decimal("0.005"))


# --- market events -------------------------------------------------------------------------


def test_bar_with_inconsistent_ohlc_names_the_values() -> None:
    with pytest.raises(ValidationError, match=r"low 101 and high 110 must bracket open 100 and "
                       r"close 105"):
        bar(low="101")
    with pytest.raises(ValidationError, match="low 95 and high 104 must bracket"):
        bar(high="104")


def test_crossed_book_is_refused() -> None:
    levels = {"symbol": "BTC/USDT", "venue": "binance", "ts": T0}
    with pytest.raises(ValidationError, match=r"is crossed: best bid 101 >= best ask 100"):
        OrderBook.model_validate({**levels, "bids": [{"price": "101", "amount": "1"}],
                                  "asks": [{"price": "100", "amount": "1"}]})
    with pytest.raises(ValidationError, match="bids must be strictly descending"):
        OrderBook.model_validate({**levels, "bids": [{"price": "99", "amount": "1"},
                                                     {"price": "99.5", "amount": "1"}], "asks": []})
    book = OrderBook.model_validate({**levels, "bids": [{"price": "99", "amount": "2"}],
                                     "asks": [{"price": "101", "amount": "1"}]})
    assert (book.best_bid, book.best_ask, book.mid) == (Decimal(99), Decimal(101), Decimal(100))


def test_market_event_union_dispatches_on_kind() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(MarketEvent)
    trade = adapter.validate_python({"kind": "trade", "symbol": "BTC/USDT", "venue": "v",
                                     "ts": T0, "trade_id": "7", "price": "1", "amount": "2",
                                     "side": "sell"})
    assert isinstance(trade, Trade)
    metric = adapter.validate_json('{"kind": "metric", "name": "tvl.total", "ts": '
                                   '"2024-03-01T12:00:00Z", "value": 1.5e9, "source": "llama"}')
    assert isinstance(metric, MetricPoint)
    assert metric.value == 1.5e9
    with pytest.raises(ValidationError, match="metric value inf is not finite"):
        MetricPoint(name="tvl", ts=T0, value=float("inf"), source="llama")


# --- money and time ---------------------------------------------------------------------


def test_float_input_becomes_the_decimal_it_reads_as() -> None:
    made = bar(open=0.1, low=0.1, close=0.3, high=0.30000000000000004)
    assert made.open == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    assert made.close == Decimal("0.3")
    assert made.high == Decimal("0.30000000000000004")


@pytest.mark.parametrize("value", ["NaN", "Infinity", float("nan")])
def test_non_finite_money_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        bar(volume=value)


def test_non_positive_prices_are_refused() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        bar(open="0", low="0")
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        bar(volume="-1")


def test_naive_datetime_is_refused_and_aware_is_normalised_to_utc() -> None:
    with pytest.raises(ValidationError, match=r"timestamp 2024-03-01T12:00:00 has no time zone"):
        bar(ts=datetime(2024, 3, 1, 12, 0))
    plus_two = timezone(timedelta(hours=2))
    made = bar(ts=datetime(2024, 3, 1, 14, 0, tzinfo=plus_two))
    assert made.ts == T0
    assert made.ts.tzinfo is UTC


def test_decimals_serialise_to_json_as_strings() -> None:
    fill = Fill(fill_id="f1", client_order_id="c-1", symbol="BTC/USDT", venue="v",
                side=Side.BUY, quantity=Decimal("0.10"), price=Decimal("64000.5"),
                fee=Decimal("0.00000001"), ts=T0)
    text = fill.model_dump_json()
    assert '"quantity":"0.10"' in text
    assert '"price":"64000.5"' in text
    assert '"fee":"0.00000001"' in text  # never 1E-8
    assert Fill.model_validate_json(text) == fill
    assert fill.notional == Decimal("6400.050")


def test_models_are_frozen_and_refuse_unknown_fields() -> None:
    made = bar()
    with pytest.raises(ValidationError, match="frozen"):
        made.close = Decimal(1)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        bar(colour="green")


# --- orders -------------------------------------------------------------------------------


def test_limit_without_price_and_market_with_price_are_refused() -> None:
    with pytest.raises(ValidationError, match="a limit order needs a limit price; set 'price'"):
        request(price=None)
    with pytest.raises(ValidationError, match=r"a market order takes no limit price \(got 100\)"):
        request(order_type="market")
    with pytest.raises(ValidationError, match="a stop_limit order needs a trigger price"):
        request(order_type="stop_limit")
    with pytest.raises(ValidationError, match=r"a limit order takes no stop_price \(got 90\)"):
        request(stop_price="90")


def test_post_only_rules() -> None:
    with pytest.raises(ValidationError, match="post_only cannot combine with time_in_force IOC"):
        request(post_only=True, time_in_force="IOC")
    with pytest.raises(ValidationError, match="post_only needs a limit order, not market"):
        request(order_type="market", price=None, post_only=True)
    assert request(post_only=True, time_in_force="GTX").time_in_force is TimeInForce.GTX


@pytest.mark.parametrize("coid", ["", "x" * 37, "has space", "ümlaut"])
def test_client_order_id_charset(coid: str) -> None:
    with pytest.raises(ValidationError, match="must be 1-36 characters"):
        request(client_order_id=coid)


def test_resend_is_the_same_order_whatever_its_intent_id() -> None:
    sent = request(intent_id="i-1")
    assert sent.same_order_as(request(intent_id="i-2"))
    assert not sent.same_order_as(request(quantity="0.6"))


def test_intent_resized_keeps_everything_else() -> None:
    intent = OrderIntent(intent_id="i", symbol="BTC/USDT", side=Side.SELL, quantity=Decimal(2),
                         ts=T0, order_type=OrderType.MARKET)
    smaller = intent.resized(Decimal("0.5"))
    assert smaller.quantity == Decimal("0.5")
    assert smaller.model_dump(exclude={"quantity"}) == intent.model_dump(exclude={"quantity"})


# --- signals, verdicts, periods, holdings --------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("score", 1.5), ("score", -1.01),
                                              ("confidence", -0.1), ("confidence", 2.0)])
def test_signal_bounds(field: str, value: float) -> None:
    values: dict[str, Any] = {"agent": "a", "symbol": "BTC/USDT", "ts": T0, "score": 0.1,
                              "confidence": 0.5}
    with pytest.raises(ValidationError, match=field):
        Signal.model_validate({**values, field: value})


def test_signal_features_must_be_finite() -> None:
    with pytest.raises(ValidationError, match=r"finite numbers; got \{'rsi': nan\}"):
        Signal(agent="a", symbol="BTC/USDT", ts=T0, score=0, confidence=0,
               features={"rsi": float("nan")})


def test_verdicts_are_explained() -> None:
    with pytest.raises(ValidationError, match="rule 'var': a reject verdict must give a reason"):
        RiskVerdict(rule="var", action=VerdictAction.REJECT, reason="  ")
    with pytest.raises(ValidationError, match="a resize verdict must give the new quantity"):
        RiskVerdict(rule="var", action=VerdictAction.RESIZE, reason="too big")
    with pytest.raises(ValidationError, match="only a resize verdict carries a quantity"):
        RiskVerdict(rule="var", action=VerdictAction.APPROVE, quantity=Decimal(1))
    verdict = RiskVerdict.resize("var", Decimal("0.4"), "VaR above limit", var=Decimal("0.051"))
    assert verdict.figures == {"var": "0.051"}


def test_report_period_is_half_open_and_ordered() -> None:
    period = ReportPeriod(start=T0, end=T0 + timedelta(days=1))
    assert period.contains(T0)
    assert not period.contains(T0 + timedelta(days=1))
    with pytest.raises(ValidationError, match="must be after start"):
        ReportPeriod(start=T0, end=T0)


def test_holdings_arithmetic() -> None:
    assert Balance(asset="USDT", venue="v", free=Decimal(90), used=Decimal(10)).total == 100
    long = Position(symbol="BTC/USDT:USDT", venue="v", quantity=Decimal("0.5"),
                    average_entry_price=Decimal(60000), mark_price=Decimal(62000))
    short = Position(symbol="ETH/USDT:USDT", venue="v", quantity=Decimal(-2),
                     average_entry_price=Decimal(3000), mark_price=Decimal(3100))
    assert long.unrealised_pnl == Decimal(1000)
    assert short.unrealised_pnl == Decimal(-200)
    snapshot = PortfolioSnapshot(ts=T0, positions=(long, short), equity=Decimal(9000),
                                 peak_equity=Decimal(10000))
    assert snapshot.gross_exposure == Decimal(31000) + Decimal(6200)
    assert snapshot.drawdown == Decimal("0.1")
    assert snapshot.net_quantity("ETH/USDT:USDT") == Decimal(-2)
    with pytest.raises(ValidationError, match="needs an average entry price"):
        Position(symbol="BTC/USDT:USDT", venue="v", quantity=Decimal(1))
