"""Every standard reporter reads the ledger through typed payloads.

A record with a missing or ill-typed field fails the report with one
``LedgerError`` naming the record's sequence number, its type and every bad
field (never a ``KeyError``, a ``TypeError`` or a silently wrong report), and
only a report that reads that field fails. A record written by an older engine,
without the optional fields, still renders; a newer engine's extra keys change
nothing. Where a record fits the SDK's payload model too, the reporters read
the same values from it as ``payload_of`` does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from pydantic import ValidationError

from crypto_bot_core.builtins.standard_reporters import (
    BestExecutionReporter,
    DailyTradesReporter,
    MifirTransactionReporter,
    VenueSummaryReporter,
    isin_check_digit,
)
from crypto_bot_core.builtins.standard_reporters.payloads import (
    LINKING,
    Annotations,
    OrderLinks,
    RoutedIntent,
    read,
)
from crypto_bot_sdk import (
    DecisionPayload,
    Fill,
    LedgerError,
    LedgerRecord,
    Order,
    OrderIntentPayload,
    OrderRequest,
    OrderUpdatePayload,
    RecordType,
    Reporter,
    ReportPeriod,
    RiskVerdict,
    Side,
    Signal,
    payload_of,
)
from crypto_bot_sdk.testing import LedgerChain, sample_trading_records

DAY = datetime(2024, 6, 1, tzinfo=UTC)
PERIOD = ReportPeriod(start=DAY, end=DAY + timedelta(days=1))
NINE = DAY + timedelta(hours=9)
FIRM = "506700GE1G29325QX363"
ETN = "XS0CRYPTBTC" + str(isin_check_digit("XS0CRYPTBTC"))
MIFIR = {
    "executing_entity_lei": FIRM,
    "competent_authority": "FR",
    "instruments": {"BTC/USDT": {"isin": ETN, "price_currency": "USD"}},
}
REPORTERS: dict[str, tuple[Callable[[], Reporter[Any]], str]] = {
    "daily_trades": (lambda: DailyTradesReporter.from_config({}), "json"),
    "best_execution": (lambda: BestExecutionReporter.from_config({}), "json"),
    "execution_venues": (lambda: VenueSummaryReporter.from_config({}), "json"),
    "mifir_transactions": (lambda: MifirTransactionReporter.from_config(MIFIR), "xml"),
}
ALL = tuple(REPORTERS)
DAILY = ("daily_trades",)
ROUTING = ("best_execution", "execution_venues", "mifir_transactions")

REQUEST = OrderRequest(
    client_order_id="A",
    venue="beta",
    symbol="BTC/USDT",
    side=Side.BUY,
    quantity=D("1"),
    intent_id="i-A",
)
COMBINED = Signal(
    agent="policy:trend",
    symbol="BTC/USDT",
    ts=NINE - timedelta(seconds=5),
    score=0.5,
    confidence=0.9,
    model_version="ppo-7",
)
RESIZE = RiskVerdict.resize("max_notional", D("1"), "above the cap", notional="120", cap="100")


def render(name: str, records: tuple[LedgerRecord, ...]) -> bytes:
    factory, fmt = REPORTERS[name]
    return factory().render(records, PERIOD, fmt).content


def intent_payload() -> dict[str, Any]:
    """An ``order.intent`` as today's engine writes it for a routed order."""
    return {
        "client_order_id": "A",
        "intent_id": "i-A",
        "policy": "trend",
        "reason": "trend up",
        "request": REQUEST.model_dump(mode="json"),
        "signals": {"ppo": COMBINED.model_dump(mode="json")},
        "combined": COMBINED.model_dump(mode="json"),
        "model_versions": {"ppo": "ppo-7"},
        "risk_verdicts": [RESIZE.model_dump(mode="json")],
        "routing": {
            "venue": "beta",
            "reason": "best buy price after taker fees: beta",
            "quotes": {
                "alpha": {"price": "100.2", "taker_fee": "0.001", "effective_price": "100.3002"},
                "beta": {"price": "100", "taker_fee": "0.001", "effective_price": "100.1"},
            },
        },
    }


def decision_payload() -> dict[str, Any]:
    """A refusal as today's engine writes it (another intent, so it annotates no fill)."""
    return {
        "intent_id": "i-Z",
        "symbol": "BTC/USDT",
        "policy": "trend",
        "risk_verdicts": [RiskVerdict.reject("max_notional", "too big").model_dump(mode="json")],
        "outcome": "rejected",
    }


def update_payload() -> dict[str, Any]:
    """``order.submitted`` as today's engine writes it: flat, no intent id."""
    return {
        "client_order_id": "A",
        "exchange_order_id": None,
        "venue": "beta",
        "symbol": "BTC/USDT",
        "status": "submitted",
        "filled_quantity": "0",
        "average_fill_price": None,
        "reason": "",
    }


def fill_payload(**changes: Any) -> dict[str, Any]:
    fill = Fill(
        fill_id="a1",
        client_order_id="A",
        exchange_order_id="x-A",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.BUY,
        quantity=D("1"),
        price=D("100.05"),
        fee=D("0.1"),
        fee_currency="USDT",
        ts=NINE + timedelta(seconds=1),
    )
    return {**fill.model_dump(mode="json"), **changes}


def ledger(payloads: dict[RecordType, dict[str, Any]] | None = None) -> tuple[LedgerRecord, ...]:
    """Records 100 (order.intent), 101 (decision), 102 (order.submitted) and 103 (fill)."""
    given = payloads or {}
    chain = LedgerChain(start_sequence=100)
    for kind, default in (
        (RecordType.ORDER_INTENT, intent_payload),
        (RecordType.DECISION, decision_payload),
        (RecordType.ORDER_SUBMITTED, update_payload),
        (RecordType.FILL, fill_payload),
    ):
        chain.append(kind, given.get(kind, default()), NINE)
    return chain.records


DROP = object()


def changed(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``payload`` with the dotted ``path`` set to ``value`` (or dropped)."""
    data = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    index: Any = int(last) if isinstance(node, list) else last
    if value is DROP:
        del node[index]
    else:
        node[index] = value
    return data


DEFAULTS = {
    RecordType.ORDER_INTENT: intent_payload,
    RecordType.DECISION: decision_payload,
    RecordType.ORDER_SUBMITTED: update_payload,
    RecordType.FILL: fill_payload,
}


@dataclass(frozen=True)
class Bad:
    """One field made bad, the message after ``ledger record N (type)``, who reads it."""

    kind: RecordType
    path: str
    value: Any
    message: str
    readers: tuple[str, ...]


INTENT, FILL, UPDATE, DECISION = (
    RecordType.ORDER_INTENT,
    RecordType.FILL,
    RecordType.ORDER_SUBMITTED,
    RecordType.DECISION,
)
BAD_RECORDS = [
    Bad(FILL, "price", DROP, " is not a Fill: price: Field required", ALL),
    Bad(FILL, "quantity", "abc", " is not a Fill: quantity is 'abc', not a decimal number", ALL),
    Bad(
        FILL, "ts", "yesterday", " is not a Fill: ts is 'yesterday', not an ISO 8601 timestamp", ALL
    ),
    Bad(FILL, "side", "long", " is not a Fill: side: Input should be 'buy' or 'sell'", ALL),
    Bad(INTENT, "client_order_id", 7, ": client_order_id: Input should be a valid string", ALL),
    Bad(UPDATE, "request", "A", ": 'request' must be an object, not text", ALL),
    Bad(DECISION, "intent_id", ["i-Z"], ": intent_id: Input should be a valid string", ALL),
    Bad(
        DECISION,
        "model_versions",
        {"ppo": {"sha": "x"}},
        ": model_versions.ppo: must be text, a number or true/false, not an object",
        DAILY,
    ),
    Bad(INTENT, "risk_flags", ["var"], ": 'risk_flags' must be an object, not a list", DAILY),
    Bad(INTENT, "risk_verdicts.0.action", DROP, ": risk_verdicts.0.action: Field required", DAILY),
    Bad(
        INTENT,
        "routing.quotes.beta.mid",
        "-1",
        ": routing.quotes.beta.mid: Input should be greater than 0",
        ROUTING,
    ),
    Bad(
        INTENT,
        "routing.quotes.beta.price",
        DROP,
        ": routing.quotes.beta.price: Field required",
        ROUTING,
    ),
    Bad(
        INTENT,
        "routing.quotes.beta.taker_fee",
        "NaN",
        ": routing.quotes.beta.taker_fee: Input should be a finite number",
        ROUTING,
    ),
    Bad(
        INTENT,
        "routing.quotes.alpha.taker_fee",
        "abc",
        ": routing.quotes.alpha.taker_fee is 'abc', not a decimal number",
        ROUTING,
    ),
    Bad(
        INTENT,
        "risk_verdicts.0.figures",
        ["120"],
        ": 'risk_verdicts.0.figures' must be an object, not a list",
        DAILY,
    ),
    Bad(INTENT, "routing.ts", "soon", ": routing.ts is 'soon', not an ISO 8601 timestamp", ROUTING),
    Bad(INTENT, "routing", ["beta"], ": 'routing' must be an object, not a list", ROUTING),
    Bad(INTENT, "combined", "now", ": 'combined' must be an object, not text", ROUTING),
    Bad(INTENT, "kill_switch", "maybe", ": kill_switch is 'maybe', not true or false", ROUTING),
    Bad(INTENT, "origin", "robot", ": origin: Input should be 'algorithmic' or 'manual'", ROUTING),
    Bad(INTENT, "policy", 3, ": policy: Input should be a valid string", ROUTING),
]
SEQUENCE = {
    RecordType.ORDER_INTENT: 100,
    RecordType.DECISION: 101,
    RecordType.ORDER_SUBMITTED: 102,
    RecordType.FILL: 103,
}


def test_the_good_ledger_renders_everywhere() -> None:
    for name in REPORTERS:
        assert render(name, ledger())


@pytest.mark.parametrize("bad", BAD_RECORDS, ids=[f"{b.kind.value}-{b.path}" for b in BAD_RECORDS])
@pytest.mark.parametrize("reporter", list(REPORTERS))
def test_a_bad_field_fails_the_reports_that_read_it_naming_the_record(
    reporter: str, bad: Bad
) -> None:
    records = ledger({bad.kind: changed(DEFAULTS[bad.kind](), bad.path, bad.value)})
    if reporter not in bad.readers:
        assert render(reporter, records) == render(reporter, ledger())
        return
    with pytest.raises(LedgerError) as caught:
        render(reporter, records)
    assert type(caught.value) is LedgerError
    assert (
        str(caught.value) == f"ledger record {SEQUENCE[bad.kind]} ({bad.kind.value}){bad.message}"
    )
    assert isinstance(caught.value.__cause__, ValidationError)


def test_one_error_names_every_bad_field_of_the_record() -> None:
    bad = changed(changed(intent_payload(), "routing.quotes.alpha.price", "x"), "origin", "bot")
    bad["routing"]["ts"] = "2024-06-01T09:00:00"
    with pytest.raises(LedgerError) as caught:
        render("best_execution", ledger({RecordType.ORDER_INTENT: bad}))
    assert str(caught.value) == (
        "ledger record 100 (order.intent): origin: Input should be 'algorithmic' or 'manual'; "
        "routing.quotes.alpha.price is 'x', not a decimal number; "
        "routing.ts: timestamp 2024-06-01T09:00:00 has no time zone; pass an aware datetime "
        "(for example datetime(..., tzinfo=UTC))"
    )


# --- records written by older engines, and by newer ones ------------------------------


def test_daily_trades_reads_an_older_engines_order_dump_and_bare_decision() -> None:
    """``order.submitted`` as an ``Order`` dump, a decision with annotations only, a fill
    with nothing but ``Fill``'s required fields, and null or non-text map values."""
    chain = LedgerChain(start_sequence=100)
    order = Order(request=REQUEST, created_at=NINE, updated_at=NINE)
    chain.append(RecordType.ORDER_SUBMITTED, order.model_dump(mode="json"), NINE)
    chain.append(
        RecordType.DECISION,
        {
            "intent_id": "i-A",
            "model_versions": {"ppo": "ppo-7", "ema": None},
            "risk_flags": {"var_99": 1834.2, "stressed": True, "gross": 52000, "note": None},
            "risk_verdicts": None,
        },
        NINE,
    )
    bare = {
        key: value
        for key, value in fill_payload().items()
        if key not in {"exchange_order_id", "fee", "fee_currency", "liquidity"}
    }
    chain.append(RecordType.FILL, bare, NINE)
    [row] = json.loads(render("daily_trades", chain.records))["trades"]
    assert row["model_versions"] == {"ppo": "ppo-7"}
    assert row["risk_flags"] == {"var_99": "1834.2", "stressed": "true", "gross": "52000"}
    assert (row["fees"], row["fee_currency"]) == ("0", "")
    [order_row] = json.loads(render("best_execution", chain.records))["orders"]
    assert order_row["liquidity"] == "taker"
    assert order_row["decision_type"] is None  # no order.intent: no routing context


def test_best_execution_reads_an_older_engines_intent() -> None:
    """No ``combined``, ``kill_switch``, ``origin``, routing time or instrument kind, and
    quotes with a price only: the record's times, an algorithmic decision, the last price."""
    older = {
        "client_order_id": "A",
        "intent_id": "i-A",
        "policy": "trend",
        "ts": (NINE - timedelta(minutes=1)).isoformat(),
        "routing": {
            "venue": "beta",
            "quotes": {"alpha": {"price": "100"}, "beta": {"price": "101"}},
        },
    }
    chain = LedgerChain(start_sequence=100)
    chain.append(RecordType.ORDER_INTENT, older, NINE)
    chain.append(RecordType.FILL, fill_payload(price="101.5"), NINE)
    [row] = json.loads(render("best_execution", chain.records))["orders"]
    assert row["decision_ts"] == "2024-06-01T08:59:00.000000Z"
    assert row["routing_ts"] == "2024-06-01T09:00:00.000000Z"
    assert (row["decision_type"], row["decision_reason"]) == ("algorithmic", "policy trend")
    assert (row["arrival_price"], row["arrival_basis"]) == ("101", "last")
    assert row["slippage_bps"] == "49.50"
    assert (row["best_quoted_venue"], row["routed_to_best"]) == ("alpha", False)
    assert row["routing_reason"] == ""
    assert row["instrument_class"] == "crypto_spot"
    assert row["venue_quotes"] == {"alpha": {"price": "100", "effective_price": "100"}}
    xml = render("mifir_transactions", chain.records)
    assert xml.count(b"<TxId>") == 1
    assert b"<Algo>CRYPTOBOT</Algo>" in xml


def test_a_newer_engines_extra_keys_change_no_report() -> None:
    intent = intent_payload()
    intent["evidence_v9"] = {"anything": [1, 2]}
    intent["routing"]["latency_ms"] = 3
    intent["routing"]["quotes"]["beta"]["depth"] = "12"
    intent["request"]["new_flag"] = True
    newer = ledger(
        {
            RecordType.ORDER_INTENT: intent,
            RecordType.DECISION: {**decision_payload(), "score": 0.2},
            RecordType.ORDER_SUBMITTED: {**update_payload(), "venue_latency_ms": 4},
            RecordType.FILL: fill_payload(venue_trade_id="t-77"),
        }
    )
    for name in REPORTERS:
        assert render(name, newer) == render(name, ledger())


def test_records_about_no_order_are_not_read_for_links() -> None:
    """A ``system.*`` record's keys are not the order contract: they neither fail a report
    nor link an order to an intent."""
    chain = LedgerChain(start_sequence=100)
    chain.append(
        RecordType.DECISION,
        {
            "intent_id": "i-Q",
            "symbol": "BTC/USDT",
            "outcome": "rejected",
            "model_versions": {"ppo": "ppo-7"},
        },
        NINE,
    )
    chain.append(RecordType.ALERT, {"client_order_id": "A", "intent_id": "i-Q"}, NINE)
    chain.append(RecordType.SYSTEM_START, {"request": "cli", "client_order_id": 5}, NINE)
    chain.append(RecordType.FILL, fill_payload(), NINE)
    [row] = json.loads(render("daily_trades", chain.records))["trades"]
    assert row["model_versions"] == {}
    for name in REPORTERS:
        assert render(name, chain.records)


# --- the same values as the SDK's payload_of, where a record fits its model -------------


def test_views_read_what_payload_of_reads_from_an_engine_intent() -> None:
    payload = intent_payload()
    payload["routing"]["ts"] = NINE.isoformat()
    payload["routing"]["instrument_kind"] = "spot"
    payload["routing"]["quotes"]["beta"]["mid"] = "99.99"
    payload["kill_switch"] = True
    payload["risk_flags"] = {"var_99": "1834.20"}
    record = LedgerChain(start_sequence=7).append(RecordType.ORDER_INTENT, payload, NINE)
    sdk = payload_of(record, OrderIntentPayload)
    routed = read(record, RoutedIntent)
    annotated = read(record, Annotations)
    assert (routed.order_id, routed.intent) == (sdk.client_order_id, sdk.intent_id)
    assert (routed.policy, routed.reason, routed.kill_switch) == (
        sdk.policy,
        sdk.reason,
        sdk.kill_switch,
    )
    assert sdk.combined is not None
    assert routed.combined is not None
    assert routed.combined.ts == sdk.combined.ts
    assert sdk.routing is not None
    assert routed.routing is not None
    assert routed.routing.venue == sdk.routing.venue
    assert routed.routing.ts == sdk.routing.ts == NINE
    assert routed.routing.instrument_kind == sdk.routing.instrument_kind == "spot"
    assert routed.routing.quotes is not None
    for venue, quote in sdk.routing.quotes.items():
        view = routed.routing.quotes[venue]
        assert (view.price, view.effective_price, view.taker_fee, view.mid) == (
            quote.price,
            quote.effective_price,
            quote.taker_fee,
            quote.mid,
        )
    assert annotated.versions == sdk.model_versions
    assert annotated.flags == sdk.risk_flags
    assert annotated.verdicts == sdk.risk_verdicts


def test_views_read_what_payload_of_reads_from_decisions_and_updates() -> None:
    chain = LedgerChain(start_sequence=0)
    annotated_decision = {
        **decision_payload(),
        "client_order_id": "Z",
        "model_versions": {"ppo": "ppo-7"},
        "risk_flags": {"gross": "52000"},
    }
    decision = chain.append(RecordType.DECISION, annotated_decision, NINE)
    sdk = payload_of(decision, DecisionPayload)
    view = read(decision, Annotations)
    assert (view.order_id, view.intent) == (sdk.client_order_id, sdk.intent_id)
    assert (view.versions, view.flags, view.verdicts) == (
        sdk.model_versions,
        sdk.risk_flags,
        sdk.risk_verdicts,
    )
    linked = chain.append(
        RecordType.ORDER_ACKNOWLEDGED, {**update_payload(), "intent_id": "i-A"}, NINE
    )
    update = payload_of(linked, OrderUpdatePayload)
    links = read(linked, OrderLinks)
    assert (links.order_id, links.intent) == (update.client_order_id, update.intent_id)
    for record in sample_trading_records(orders=3):
        if record.type not in LINKING:
            continue
        typed = payload_of(record)
        links = read(record, OrderLinks)
        assert links.order_id == getattr(typed, "client_order_id", None)
        assert links.intent == getattr(typed, "intent_id", None)


def test_fills_are_the_sdks_fill_payload() -> None:
    records = ledger({RecordType.FILL: fill_payload(intent_id="i-A", liquidity="maker")})
    [row] = json.loads(render("best_execution", records))["orders"]
    assert row["liquidity"] == "maker"
    with pytest.raises(LedgerError, match=r"ledger record 103 \(fill\) is not a Fill: intent_id"):
        render("daily_trades", ledger({RecordType.FILL: fill_payload(intent_id=5)}))
