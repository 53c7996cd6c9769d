"""Best-execution records and the venue summary, against figures worked out by hand."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from compliance.ledger_fixtures import NINE, PERIOD, Chain, trading_day
from crypto_bot_core.builtins.standard_reporters import (
    BestExecutionReporter,
    VenueSummaryReporter,
)
from crypto_bot_core.builtins.standard_reporters.best_execution import COLUMNS
from crypto_bot_sdk import ConfigError, LedgerError, RecordType, Side


def _orders(**config: Any) -> dict[str, dict[str, Any]]:
    artefact = BestExecutionReporter.from_config(config).render(trading_day(), PERIOD, "json")
    document = json.loads(artefact.content)
    assert document["order_count"] == len(document["orders"])
    return {row["order_id"]: row for row in document["orders"]}


def test_one_record_per_order_with_fills_in_the_period_in_time_order() -> None:
    artefact = BestExecutionReporter.from_config({}).render(trading_day(), PERIOD, "json")
    ids = [row["order_id"] for row in json.loads(artefact.content)["orders"]]
    # B and A fill at the same second: the venue (alpha < beta) orders them.
    assert ids == ["B", "A", "C", "E"]
    assert artefact.filename == "best-execution_2024-06-01.json"
    assert artefact.media_type == "application/json"


def test_routed_order_with_two_fills_is_worked_out_by_hand() -> None:
    a = _orders()["A"]
    # notional 0.5 x 100.05 + 0.5 x 100.09 = 50.025 + 50.045 = 100.070 over 1.0 -> 100.07
    assert (a["quantity"], a["notional"], a["average_price"]) == ("1.0", "100.070", "100.07")
    assert a["fees"] == {"USDT": "0.06"}
    assert a["liquidity"] == "mixed"
    # arrival: beta's last price 100.02; (100.07 - 100.02) / 100.02 = 4.9990 bps
    assert (a["arrival_price"], a["arrival_basis"], a["slippage_bps"]) == ("100.02", "last", "5.00")
    # per fill: 0.03 / 100.02 = 2.9994 bps and 0.07 / 100.02 = 6.9986 bps
    assert [(f["fill_id"], f["slippage_bps"], f["liquidity"]) for f in a["fills"]] == [
        ("a1", "3.00", "taker"),
        ("a2", "7.00", "maker"),
    ]
    assert [f["ts"] for f in a["fills"]] == [
        "2024-06-01T09:00:01.000000Z",
        "2024-06-01T09:00:02.000000Z",
    ]
    assert (a["decision_ts"], a["routing_ts"]) == ("2024-06-01T09:00:00.000000Z",) * 2
    assert (a["first_fill_ts"], a["last_fill_ts"]) == (
        "2024-06-01T09:00:01.000000Z",
        "2024-06-01T09:00:02.000000Z",
    )
    assert (a["decision_type"], a["decision_reason"]) == ("algorithmic", "policy trend: trend up")
    # best buy after fees: beta 100.07001 < alpha 100.10000 < gamma 100.17996
    assert (a["best_quoted_venue"], a["routed_to_best"]) == ("beta", True)
    assert a["venue_quotes"] == {
        "alpha": {"price": "100.00", "taker_fee": "0.001", "effective_price": "100.10000"},
        "gamma": {"price": "99.98", "taker_fee": "0.002", "effective_price": "100.17996"},
    }
    assert a["instrument_class"] == "crypto_spot"


def test_sell_away_from_the_best_quote_uses_the_recorded_mid() -> None:
    b = _orders()["B"]
    # arrival = alpha's mid 2002; a sell at 2000: (2002 - 2000) / 2002 = 9.99 bps worse
    assert (b["arrival_price"], b["arrival_basis"], b["slippage_bps"]) == ("2002", "mid", "9.99")
    # best sell after fees is beta (2001.9985 > 1998.000): the order went elsewhere
    assert (b["best_quoted_venue"], b["routed_to_best"]) == ("beta", False)
    assert (b["average_price"], b["notional"]) == ("2000", "480.00")
    assert b["decision_reason"] == "policy reversion"


def test_kill_switch_order_has_no_benchmark_and_says_so() -> None:
    c = _orders()["C"]
    assert c["decision_reason"] == "kill switch: operator stop"
    assert c["decision_type"] == "algorithmic"
    assert [c[k] for k in ("arrival_price", "slippage_bps", "best_quoted_venue")] == [None] * 3
    assert c["routed_to_best"] is None
    assert c["venue_quotes"] == {}


def test_manual_origin_is_reported() -> None:
    chain = Chain()
    chain.routed_order(
        "M",
        symbol="BTC/USDT",
        side=Side.SELL,
        venue="beta",
        ts=NINE,
        extra={"origin": "manual", "kill_switch": True},
        reason="operator alice",
    )
    chain.fill(
        "m1", "M", symbol="BTC/USDT", venue="beta", side=Side.SELL, qty="1", price="10", ts=NINE
    )
    document = json.loads(
        BestExecutionReporter.from_config({}).render(chain.records, PERIOD, "json").content
    )
    assert document["orders"][0]["decision_type"] == "manual"


def test_instrument_class_comes_from_the_symbol_or_the_settings() -> None:
    assert _orders()["E"]["instrument_class"] == "crypto_perpetual"
    assert _orders()["E"]["slippage_bps"] == "100.00"  # (101 - 100) / 100
    overridden = _orders(instrument_classes={"BTC/USDT:USDT": "crypto_derivative"})
    assert overridden["E"]["instrument_class"] == "crypto_derivative"


def test_csv_and_json_hold_the_same_records() -> None:
    reporter = BestExecutionReporter.from_config({})
    rows = list(
        csv.DictReader(io.StringIO(reporter.render(trading_day(), PERIOD, "csv").content.decode()))
    )
    orders = _orders()
    assert [r["order_id"] for r in rows] == ["B", "A", "C", "E"]
    assert list(rows[0]) == list(COLUMNS)
    for row in rows:
        expected = orders[row["order_id"]]
        assert json.loads(row["fills"]) == expected["fills"]
        assert json.loads(row["venue_quotes"]) == expected["venue_quotes"]
        assert row["slippage_bps"] == (expected["slippage_bps"] or "")
        assert (
            row["routed_to_best"]
            == {True: "true", False: "false", None: ""}[expected["routed_to_best"]]
        )


def test_venue_summary_is_worked_out_by_hand() -> None:
    artefact = VenueSummaryReporter.from_config({}).render(trading_day(), PERIOD, "json")
    document = json.loads(artefact.content)
    assert artefact.filename == "execution-venues_2024-06-01.json"
    perpetual, spot = document["classes"]
    assert (perpetual["instrument_class"], perpetual["quote_currency"]) == (
        "crypto_perpetual",
        "USDT",
    )
    assert perpetual["venues"] == [
        {
            "rank": 1,
            "venue": "gamma",
            "notional": "101",
            "volume_pct": "100.00",
            "orders": 1,
            "orders_pct": "100.00",
            "fills": 1,
            "passive_pct": "0.00",
            "aggressive_pct": "100.00",
            "average_slippage_bps": "100.00",
            "routed_to_best_pct": "100.00",
        }
    ]
    # spot: beta 100.070 + 19.930 = 120.000, alpha 480.00; total 600.000
    assert (spot["notional"], spot["orders"], spot["venue_count"]) == ("600.000", 3, 2)
    alpha, beta = spot["venues"]
    assert alpha == {
        "rank": 1,
        "venue": "alpha",
        "notional": "480.00",
        "volume_pct": "80.00",
        "orders": 1,
        "orders_pct": "33.33",
        "fills": 1,
        "passive_pct": "0.00",
        "aggressive_pct": "100.00",
        "average_slippage_bps": "9.99",
        "routed_to_best_pct": "0.00",
    }
    # beta: one maker fill of three; slippage weighted by notional over A's two fills:
    # (2.9994 x 50.025 + 6.9986 x 50.045) / 100.070 = 4.9994; C had no quotes, so it
    # counts neither for slippage nor for routed-to-best.
    assert beta == {
        "rank": 2,
        "venue": "beta",
        "notional": "120.000",
        "volume_pct": "20.00",
        "orders": 2,
        "orders_pct": "66.67",
        "fills": 3,
        "passive_pct": "33.33",
        "aggressive_pct": "66.67",
        "average_slippage_bps": "5.00",
        "routed_to_best_pct": "100.00",
    }


def test_venue_summary_lists_the_top_venues_only() -> None:
    reporter = VenueSummaryReporter.from_config({"top_venues": 1})
    document = json.loads(reporter.render(trading_day(), PERIOD, "json").content)
    spot = document["classes"][1]
    assert [v["venue"] for v in spot["venues"]] == ["alpha"]
    assert spot["venue_count"] == 2
    rows = list(
        csv.DictReader(io.StringIO(reporter.render(trading_day(), PERIOD, "csv").content.decode()))
    )
    assert [(r["instrument_class"], r["venue"], r["volume_pct"]) for r in rows] == [
        ("crypto_perpetual", "gamma", "100.00"),
        ("crypto_spot", "alpha", "80.00"),
    ]


def test_bad_settings_and_records_are_refused_with_the_culprit() -> None:
    with pytest.raises(ConfigError, match=r"instrument_classes\['BTC/USDT'\] is 'Spot!'"):
        BestExecutionReporter.from_config({"instrument_classes": {"BTC/USDT": "Spot!"}})
    with pytest.raises(ConfigError, match="top_venues"):
        VenueSummaryReporter.from_config({"top_venues": 0})
    with pytest.raises(ConfigError, match="has no format 'xml'; choose one of csv, json"):
        BestExecutionReporter.from_config({}).render(trading_day(), PERIOD, "xml")
    chain = Chain()
    chain.routed_order(
        "A",
        symbol="BTC/USDT",
        side=Side.BUY,
        venue="beta",
        ts=NINE,
        quotes={"beta": {"price": "abc"}},
    )
    chain.fill(
        "a1", "A", symbol="BTC/USDT", venue="beta", side=Side.BUY, qty="1", price="1", ts=NINE
    )
    with pytest.raises(
        LedgerError,
        match=r"ledger record 100 \(order.intent\): "
        r"routing.quotes.beta.price is 'abc', not a decimal number",
    ):
        BestExecutionReporter.from_config({}).render(chain.records, PERIOD, "json")
    chain = Chain()
    chain.add(RecordType.FILL, {"fill_id": "x"}, NINE)
    with pytest.raises(LedgerError, match=r"ledger record 100 \(fill\) is not a Fill"):
        VenueSummaryReporter.from_config({}).render(chain.records, PERIOD, "json")
