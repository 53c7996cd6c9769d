"""Typed ledger payloads: what the engine writes reads back as typed values, and a payload
that does not fit is refused naming the record, its type and the bad field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_sdk import (
    PAYLOAD_MODELS,
    DecisionPayload,
    Fill,
    FillPayload,
    FundingPayload,
    LedgerError,
    LedgerRecord,
    ModelApprovedPayload,
    ModelPromotedPayload,
    ModelRegisteredPayload,
    ModelRolledBackPayload,
    ModelSignedPayload,
    OrderIntentPayload,
    OrderRequest,
    OrderStatus,
    OrderUpdatePayload,
    RecordType,
    RiskVerdict,
    Side,
    Signal,
    VerdictAction,
    payload_of,
)
from crypto_bot_sdk.testing import FIXED_NOW, LedgerChain, sample_trading_records

D = Decimal
SIGNAL = Signal(agent="ema", symbol="BTC/USDT", ts=FIXED_NOW, score=0.4, confidence=0.8,
                features={"gap": 0.01}, model_version="ema-3")
VERDICTS = [
    RiskVerdict.approve("exposure").model_dump(mode="json"),
    RiskVerdict.resize("notional", D("0.5"), "above the cap", cap="1000").model_dump(mode="json"),
]
REQUEST = OrderRequest(
    client_order_id="run-000001", venue="paper", symbol="BTC/USDT", side=Side.BUY,
    quantity=D("0.5"), intent_id="run-i000001",
)


def record(record_type: RecordType, payload: dict[str, Any]) -> LedgerRecord:
    return LedgerChain(start_sequence=41).append(record_type, payload, FIXED_NOW)


def test_an_engine_order_intent_reads_back_typed() -> None:
    payload = {
        "client_order_id": "run-000001",
        "intent_id": "run-i000001",
        "policy": "trend",
        "reason": "",
        "request": REQUEST.model_dump(mode="json"),
        "signals": {"ema": SIGNAL.model_dump(mode="json")},
        "combined": SIGNAL.model_copy(update={"agent": "trend"}).model_dump(mode="json"),
        "model_versions": {"ema": "ema-3"},
        "risk_verdicts": VERDICTS,
        "routing": {
            "venue": "paper",
            "reason": "cheapest effective price",
            "quotes": {"paper": {"price": "100.5", "taker_fee": "0.0004",
                                 "effective_price": "100.5402"}},
        },
    }
    typed = payload_of(record(RecordType.ORDER_INTENT, payload))
    assert isinstance(typed, OrderIntentPayload)
    assert typed.request == REQUEST
    assert typed.signals["ema"] == SIGNAL
    assert typed.risk_verdicts[1].action is VerdictAction.RESIZE
    assert typed.risk_verdicts[1].quantity == D("0.5")
    assert typed.routing is not None
    assert typed.routing.quotes["paper"].effective_price == D("100.5402")
    assert typed.arbitrage is None


def test_an_arbitrage_leg_and_a_newer_engines_keys_are_kept() -> None:
    payload = {
        "client_order_id": "run-000002",
        "intent_id": "arb-BTCUSDT-20240101T000000-buy",
        "policy": "arbitrage",
        "reason": "spread",
        "request": REQUEST.model_dump(mode="json"),
        "arbitrage": {"spread_bps": "40", "fees_bps": "20", "edge_bps": "20",
                      "buy_venue": "a", "sell_venue": "b"},
        "risk_verdicts": VERDICTS[:1],
        "origin": "algorithmic",
    }
    typed = payload_of(record(RecordType.ORDER_INTENT, payload), OrderIntentPayload)
    assert typed.arbitrage == payload["arbitrage"]
    assert typed.signals == {}
    assert typed.model_extra == {"origin": "algorithmic"}


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        (
            {"intent_id": "i1", "symbol": "BTC/USDT", "policy": "trend",
             "signals": {"ema": SIGNAL.model_dump(mode="json")}, "risk_verdicts": VERDICTS,
             "outcome": "rejected"},
            "rejected",
        ),
        (
            {"intent_id": "i2", "symbol": "BTC/USDT", "outcome": "unroutable",
             "reason": "no venue lists BTC/USDT"},
            "unroutable",
        ),
        (
            {"symbol": "BTC/USDT", "outcome": "arbitrage refused", "edge_bps": "12.5",
             "risk_verdicts": VERDICTS},
            "arbitrage refused",
        ),
    ],
)
def test_every_decision_the_engine_writes_reads_back(
    payload: dict[str, Any], outcome: str
) -> None:
    typed = payload_of(record(RecordType.DECISION, payload), DecisionPayload)
    assert typed.outcome == outcome
    assert typed.symbol == "BTC/USDT"
    if "edge_bps" in payload:
        assert typed.edge_bps == D("12.5")
    if "signals" in payload:
        assert typed.signals["ema"].score == 0.4


def test_fills_are_fills_with_their_intent() -> None:
    fill = Fill(fill_id="f1", client_order_id="c1", symbol="BTC/USDT", venue="paper",
                side=Side.SELL, quantity=D("0.5"), price=D("101.25"), fee=D("0.02"),
                ts=FIXED_NOW)
    typed = payload_of(record(RecordType.FILL, {**fill.model_dump(mode="json")}), FillPayload)
    assert isinstance(typed, Fill)
    assert typed.notional == D("50.625")
    assert typed.intent_id is None
    linked = payload_of(
        record(RecordType.FILL, {**fill.model_dump(mode="json"), "intent_id": "i9"})
    )
    assert isinstance(linked, FillPayload)
    assert linked.intent_id == "i9"


def test_funding_and_order_updates() -> None:
    funding = payload_of(
        record(
            RecordType.FUNDING,
            {"venue": "paper", "symbol": "BTC/USDT:USDT", "rate": "1E-4", "mark": "100.5",
             "quantity": "-2", "payment": "-0.0201",
             "funding_ts": (FIXED_NOW + timedelta(hours=8)).isoformat()},
        ),
        FundingPayload,
    )
    assert funding.rate == D("0.0001")
    assert funding.payment == D("-0.0201")
    assert funding.funding_ts == FIXED_NOW + timedelta(hours=8)
    update = payload_of(
        record(
            RecordType.ORDER_REJECTED,
            {"client_order_id": "c1", "exchange_order_id": None, "venue": "paper",
             "symbol": "BTC/USDT", "status": "rejected", "filled_quantity": "0",
             "average_fill_price": None, "reason": "insufficient funds",
             "error": "InsufficientFundsError"},
        ),
        OrderUpdatePayload,
    )
    assert update.status is OrderStatus.REJECTED
    assert update.error == "InsufficientFundsError"


def test_model_governance_payloads() -> None:
    digest = "ab" * 32
    cases: list[tuple[RecordType, dict[str, Any], type]] = [
        (RecordType.MODEL_REGISTERED,
         {"model": "meta", "version": "7", "sha256": digest, "metrics": {"sharpe": 1.4}},
         ModelRegisteredPayload),
        (RecordType.MODEL_SIGNED,
         {"model": "meta", "version": "7", "sha256": digest, "key_id": "k1",
          "signature": "c2ln"}, ModelSignedPayload),
        (RecordType.MODEL_APPROVED,
         {"model": "meta", "version": "7", "subject_ref": "sr_" + "0" * 64},
         ModelApprovedPayload),
        (RecordType.MODEL_PROMOTED,
         {"model": "meta", "version": "7", "stage": "production", "previous_version": "6"},
         ModelPromotedPayload),
        (RecordType.MODEL_ROLLED_BACK,
         {"model": "meta", "version": "6", "stage": "production", "from_version": "7",
          "reason": "drawdown"}, ModelRolledBackPayload),
    ]
    for record_type, payload, model in cases:
        typed = payload_of(record(record_type, payload))
        assert type(typed) is model
        assert PAYLOAD_MODELS[record_type] is model
    with pytest.raises(LedgerError, match="sha256: String should match pattern"):
        payload_of(record(RecordType.MODEL_SIGNED, {**cases[1][1], "sha256": "nope"}))
    with pytest.raises(LedgerError, match="subject_ref"):
        payload_of(record(RecordType.MODEL_APPROVED, {**cases[2][1], "subject_ref": "Alice"}))


def test_a_payload_that_does_not_fit_names_record_type_and_field() -> None:
    bad = record(RecordType.FUNDING, {"venue": "paper", "symbol": "BTC/USDT:USDT",
                                      "rate": "x", "mark": "100", "quantity": "1",
                                      "payment": "0.01", "funding_ts": FIXED_NOW.isoformat()})
    with pytest.raises(LedgerError) as caught:
        payload_of(bad)
    message = str(caught.value)
    assert message.startswith("ledger record 41 (funding) payload does not fit FundingPayload: ")
    assert "rate: " in message


def test_asking_for_the_wrong_model_or_an_untyped_record_is_refused() -> None:
    fill = sample_trading_records(orders=1)[3]
    assert fill.type is RecordType.FILL
    with pytest.raises(LedgerError, match=r"\(fill\) carries a FillPayload, not a FundingPayload"):
        payload_of(fill, FundingPayload)
    start = record(RecordType.SYSTEM_START, {"run_id": "r1"})
    with pytest.raises(LedgerError, match=r"ledger record 41 \(system.start\) has no typed"):
        payload_of(start)


def test_the_kits_sample_session_reads_back_record_by_record() -> None:
    records = sample_trading_records(orders=4)
    typed = [payload_of(r) for r in records]
    intents = [p for p in typed if isinstance(p, OrderIntentPayload)]
    assert len(intents) == 4
    assert all(p.request.intent_id == p.intent_id for p in intents)
    finals = [p for p in typed if isinstance(p, OrderUpdatePayload) and p.fill_id]
    assert [p.status for p in finals] == [OrderStatus.FILLED] * 4
    fills = {p.fill_id: p for p in typed if isinstance(p, FillPayload)}
    assert all(fills[p.fill_id].client_order_id == p.client_order_id for p in finals)


def test_optional_fields_the_reports_read_are_typed_and_default_when_absent() -> None:
    """``mid``, the routing time and instrument kind, ``kill_switch``, ``risk_flags``, a
    decision's annotations and an update's ``intent_id``: typed when written, neutral when
    an older engine did not write them."""
    intent = {
        "client_order_id": "run-000001",
        "intent_id": "run-i000001",
        "request": REQUEST.model_dump(mode="json"),
        "kill_switch": True,
        "risk_flags": {"var_99": "1834.20"},
        "routing": {
            "venue": "paper",
            "ts": "2024-01-01T00:00:01Z",
            "instrument_kind": "perpetual",
            "quotes": {"paper": {"price": "100.5", "taker_fee": "0.0004",
                                 "effective_price": "100.5402", "mid": "100.45"}},
        },
    }
    typed = payload_of(record(RecordType.ORDER_INTENT, intent), OrderIntentPayload)
    assert typed.kill_switch is True
    assert typed.risk_flags == {"var_99": "1834.20"}
    assert typed.routing is not None
    assert typed.routing.ts is not None
    assert typed.routing.ts.isoformat() == "2024-01-01T00:00:01+00:00"
    assert typed.routing.instrument_kind == "perpetual"
    assert typed.routing.quotes["paper"].mid == D("100.45")
    assert typed.model_extra == {}
    older = {key: intent[key] for key in ("client_order_id", "intent_id", "request")}
    older["routing"] = {"venue": "paper", "quotes": {"paper": {
        "price": "100.5", "taker_fee": "0.0004", "effective_price": "100.5402"}}}
    bare = payload_of(record(RecordType.ORDER_INTENT, older), OrderIntentPayload)
    assert (bare.kill_switch, bare.risk_flags) == (False, {})
    assert bare.routing is not None
    assert (bare.routing.ts, bare.routing.instrument_kind) == (None, None)
    assert bare.routing.quotes["paper"].mid is None

    decision = payload_of(
        record(RecordType.DECISION, {"intent_id": "i1", "symbol": "BTC/USDT",
                                     "outcome": "rejected", "client_order_id": "c1",
                                     "model_versions": {"ppo": "ppo-7"},
                                     "risk_flags": {"gross": "52000"}}),
        DecisionPayload,
    )
    assert decision.client_order_id == "c1"
    assert (decision.model_versions, decision.risk_flags) == ({"ppo": "ppo-7"}, {"gross": "52000"})
    plain = payload_of(record(RecordType.DECISION, {"symbol": "BTC/USDT", "outcome": "unroutable"}),
                       DecisionPayload)
    assert (plain.client_order_id, plain.model_versions, plain.risk_flags) == (None, {}, {})

    update = {"client_order_id": "c1", "venue": "paper", "symbol": "BTC/USDT",
              "status": "submitted", "filled_quantity": "0"}
    flat = payload_of(record(RecordType.ORDER_SUBMITTED, update), OrderUpdatePayload)
    assert flat.intent_id is None
    linked = payload_of(record(RecordType.ORDER_SUBMITTED, {**update, "intent_id": "i1"}),
                        OrderUpdatePayload)
    assert linked.intent_id == "i1"


@pytest.mark.parametrize(
    ("record_type", "payload", "field"),
    [
        (RecordType.ORDER_INTENT,
         {"client_order_id": "run-000001", "intent_id": "i1",
          "request": REQUEST.model_dump(mode="json"), "kill_switch": "maybe"},
         "kill_switch"),
        (RecordType.ORDER_INTENT,
         {"client_order_id": "run-000001", "intent_id": "i1",
          "request": REQUEST.model_dump(mode="json"),
          "routing": {"venue": "paper", "quotes": {"paper": {
              "price": "1", "taker_fee": "0", "effective_price": "1", "mid": "-1"}}}},
         "routing.quotes.paper.mid"),
        (RecordType.ORDER_INTENT,
         {"client_order_id": "run-000001", "intent_id": "i1",
          "request": REQUEST.model_dump(mode="json"),
          "routing": {"venue": "paper", "ts": "2024-01-01T00:00:01"}},
         "routing.ts"),
        (RecordType.DECISION,
         {"symbol": "BTC/USDT", "outcome": "rejected", "model_versions": ["ppo-7"]},
         "model_versions"),
        (RecordType.ORDER_FILLED,
         {"client_order_id": "c1", "venue": "paper", "symbol": "BTC/USDT", "status": "filled",
          "filled_quantity": "1", "average_fill_price": "1", "intent_id": 7},
         "intent_id"),
    ],
)
def test_an_ill_typed_optional_field_is_refused_by_name(
    record_type: RecordType, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(LedgerError, match=rf"ledger record 41 \({record_type.value}\) payload "
                       rf"does not fit \w+: {field}: "):
        payload_of(record(record_type, payload))
