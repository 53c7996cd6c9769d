"""The daily trade report: rows, links to decisions, exact bytes, parse-back, errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from crypto_bot_core.builtins.standard_reporters import COLUMNS, DailyTradesReporter
from crypto_bot_sdk import (
    ConfigError,
    Fill,
    LedgerError,
    LedgerRecord,
    Order,
    OrderRequest,
    OrderStatus,
    RecordType,
    ReportPeriod,
    RiskVerdict,
    Side,
)

DAY = datetime(2024, 6, 1, tzinfo=UTC)
PERIOD = ReportPeriod(start=DAY, end=DAY + timedelta(days=1))
PPO = "sha256:" + "9f2c" * 16


class Chain:
    """Hash-linked records, enough like the ledger's for a reader that does not verify."""

    def __init__(self) -> None:
        self.records: list[LedgerRecord] = []

    def add(self, kind: RecordType, payload: dict[str, Any], ts: datetime) -> None:
        prev = self.records[-1].hash if self.records else "0" * 64
        body = json.dumps(
            [len(self.records), ts.isoformat(), kind.value, payload, prev], sort_keys=True
        )
        self.records.append(
            LedgerRecord(
                sequence=len(self.records) + 100,
                ts=ts,
                type=kind,
                payload=payload,
                prev_hash=prev,
                hash=hashlib.sha256(body.encode()).hexdigest(),
            )
        )


def _fill(
    fill_id: str,
    coid: str,
    ts: datetime,
    *,
    side: Side,
    qty: str,
    price: str,
    fee: str,
    venue: str = "binance",
) -> Fill:
    return Fill(
        fill_id=fill_id,
        client_order_id=coid,
        exchange_order_id=f"x-{coid}",
        symbol="BTC/USDT",
        venue=venue,
        side=side,
        quantity=D(qty),
        price=D(price),
        fee=D(fee),
        fee_currency="USDT",
        ts=ts,
    )


def _order(coid: str, intent_id: str, side: Side, qty: str, ts: datetime) -> Order:
    request = OrderRequest(
        client_order_id=coid,
        venue="binance",
        symbol="BTC/USDT",
        side=side,
        quantity=D(qty),
        intent_id=intent_id,
    )
    return Order(request=request, created_at=ts, updated_at=ts).transition(
        OrderStatus.SUBMITTED, ts=ts
    )


RESIZE = RiskVerdict.resize(
    "max_order_notional", D("0.15"), "too big", notional="12000", limit="9000"
)
DRAWDOWN = RiskVerdict(
    rule="max_drawdown",
    action="approve",
    reason="fine",
    figures={"drawdown": "0.05", "limit": "0.2"},
)


# Order A (yesterday's decision, two partial fills today), order B (decision by intent id
# only, fill carries no link but its order record does), order C (yesterday's fill).
def _trade(fill_id: str, coid: str, ts: datetime, side: Side, amounts: str) -> Fill:
    """``amounts`` is 'quantity price fee [venue]'."""
    qty, price, fee, *venue = amounts.split()
    return _fill(
        fill_id,
        coid,
        ts,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
        venue=venue[0] if venue else "binance",
    )


NINE = DAY + timedelta(hours=9)
FILL_A1 = _trade(
    "f-a1", "run-A", NINE + timedelta(microseconds=250_000), Side.BUY, "0.10 60000.5 2.40002"
)
FILL_A2 = _trade("f-a2", "run-A", NINE + timedelta(seconds=1), Side.BUY, "0.05 60001 1.2000200")
FILL_B = _trade("f-b", "run-B", NINE + timedelta(seconds=1), Side.SELL, "0.5 61000 0 bybit")
FILL_C = _trade("f-c", "run-C", DAY - timedelta(minutes=1), Side.SELL, "1 59000 23.6")
FILL_LATE = _trade("f-late", "run-A", PERIOD.end, Side.BUY, "0.01 60000 0.24")


def _records() -> list[LedgerRecord]:
    chain = Chain()
    yesterday = DAY - timedelta(hours=2)
    chain.add(
        RecordType.ORDER_INTENT,
        {
            "client_order_id": "run-A",
            "intent_id": "i-A",
            "policy": "trend",
            "request": _order("run-A", "i-A", Side.BUY, "0.15", yesterday).request.model_dump(
                mode="json"
            ),
            "model_versions": {"rl-ppo": PPO, "ema": None},
            "risk_verdicts": [RESIZE.model_dump(mode="json"), DRAWDOWN.model_dump(mode="json")],
            "risk_flags": {"var_99": "1834.20", "stressed": True},
        },
        yesterday,
    )
    chain.add(
        RecordType.ORDER_SUBMITTED,
        _order("run-B", "i-B", Side.SELL, "0.5", DAY).model_dump(mode="json"),
        DAY,
    )
    chain.add(
        RecordType.DECISION,
        {
            "intent_id": "i-B",
            "model_versions": {"sentiment": "prompt-v3"},
            "risk_flags": {"gross_exposure": 52000},
        },
        DAY,
    )
    chain.add(RecordType.FILL, FILL_C.model_dump(mode="json"), FILL_C.ts)
    chain.add(RecordType.FILL, FILL_A1.model_dump(mode="json"), FILL_A1.ts)
    chain.add(RecordType.FILL, FILL_B.model_dump(mode="json"), FILL_B.ts)
    chain.add(RecordType.FILL, {**FILL_A2.model_dump(mode="json"), "intent_id": "i-A"}, FILL_A2.ts)
    chain.add(RecordType.FILL, FILL_LATE.model_dump(mode="json"), FILL_LATE.ts)
    # A decision after the period may not change it.
    chain.add(
        RecordType.DECISION,
        {"client_order_id": "run-A", "model_versions": {"x": "late"}},
        PERIOD.end,
    )
    return chain.records


A_VERSIONS = {"rl-ppo": PPO}
A_FLAGS = {
    "max_order_notional.notional": "12000",
    "max_order_notional.limit": "9000",
    "max_order_notional.action": "resize",
    "max_drawdown.drawdown": "0.05",
    "max_drawdown.limit": "0.2",
    "var_99": "1834.20",
    "stressed": "true",
}
B_VERSIONS = {"sentiment": "prompt-v3"}
B_FLAGS = {"gross_exposure": "52000"}


def _expected_rows() -> list[dict[str, Any]]:
    def row(fill: Fill, versions: dict[str, str], flags: dict[str, str]) -> dict[str, Any]:
        return {
            "trade_id": fill.fill_id,
            "timestamp": fill.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "symbol": fill.symbol,
            "exchange": fill.venue,
            "side": fill.side.value,
            "quantity": str(fill.quantity),
            "price": str(fill.price),
            "fees": str(fill.fee),
            "fee_currency": fill.fee_currency,
            "model_versions": versions,
            "risk_flags": flags,
        }

    # Time order; at equal times binance before bybit.
    return [
        row(FILL_A1, A_VERSIONS, A_FLAGS),
        row(FILL_A2, A_VERSIONS, A_FLAGS),
        row(FILL_B, B_VERSIONS, B_FLAGS),
    ]


def test_json_report_lists_the_periods_fills_with_their_decisions() -> None:
    artefact = DailyTradesReporter.from_config({}).render(_records(), PERIOD, "json")
    document = json.loads(artefact.content)
    assert document == {
        "report": "daily_trades",
        "period": {"start": "2024-06-01T00:00:00.000000Z", "end": "2024-06-02T00:00:00.000000Z"},
        "trade_count": 3,
        "columns": list(COLUMNS),
        "trades": _expected_rows(),
    }
    expected = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert artefact.content == expected.encode()
    assert (artefact.filename, artefact.media_type) == (
        "daily-trades_2024-06-01.json",
        "application/json",
    )


def test_csv_report_bytes() -> None:
    artefact = DailyTradesReporter.from_config({}).render(_records(), PERIOD, "csv")
    lines = [",".join(COLUMNS)]
    for row in _expected_rows():
        cells = [row[c] for c in COLUMNS[:-2]]
        for key in ("model_versions", "risk_flags"):
            packed = json.dumps(row[key], sort_keys=True, separators=(",", ":"))
            cells.append('"' + packed.replace('"', '""') + '"')
        lines.append(",".join(cells))
    assert artefact.content.decode() == "\n".join(lines) + "\n"
    assert artefact.content.count(b"\r") == 0
    assert artefact.content.splitlines()[1] == (
        b"f-a1,2024-06-01T09:00:00.250000Z,BTC/USDT,binance,buy,0.10,60000.5,2.40002,USDT,"
        + b'"{""rl-ppo"":""'
        + PPO.encode()
        + b'""}",'
        + b'"{""max_drawdown.drawdown"":""0.05"",""max_drawdown.limit"":""0.2"",'
        + b'""max_order_notional.action"":""resize"",""max_order_notional.limit"":""9000"",'
        + b'""max_order_notional.notional"":""12000"",""stressed"":""true"",'
        + b'""var_99"":""1834.20""}"'
    )
    assert artefact.filename == "daily-trades_2024-06-01.csv"


def test_csv_parses_back_to_the_json_trades() -> None:
    reporter = DailyTradesReporter.from_config({})
    records = _records()
    from_csv = [
        {
            **row,
            "model_versions": json.loads(row["model_versions"]),
            "risk_flags": json.loads(row["risk_flags"]),
        }
        for row in csv.DictReader(
            io.StringIO(reporter.render(records, PERIOD, "csv").content.decode())
        )
    ]
    assert from_csv == json.loads(reporter.render(records, PERIOD, "json").content)["trades"]
    assert D(from_csv[0]["quantity"]) * D(from_csv[0]["price"]) == D("6000.050")


def test_bytes_do_not_depend_on_record_order() -> None:
    reporter = DailyTradesReporter.from_config({})
    records = _records()
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)
    for fmt in reporter.formats:
        assert (
            reporter.render(shuffled, PERIOD, fmt).content
            == reporter.render(records, PERIOD, fmt).content
        )


def test_an_empty_period_still_renders_headers() -> None:
    reporter = DailyTradesReporter.from_config({"filename_prefix": "desk1"})
    quiet = ReportPeriod(start=DAY + timedelta(days=3), end=DAY + timedelta(days=3, hours=6))
    csv_artefact = reporter.render(_records(), quiet, "csv")
    assert csv_artefact.content == (",".join(COLUMNS) + "\n").encode()
    assert csv_artefact.filename == "desk1_20240604T000000Z_20240604T060000Z.csv"
    assert json.loads(reporter.render(_records(), quiet, "json").content)["trades"] == []


def test_unknown_format_and_bad_payloads_are_refused() -> None:
    reporter = DailyTradesReporter.from_config({})
    with pytest.raises(ConfigError, match=r"no format 'xlsx'; choose one of csv, json"):
        reporter.render(_records(), PERIOD, "xlsx")
    chain = Chain()
    chain.add(RecordType.FILL, {**FILL_A1.model_dump(mode="json"), "price": "-1"}, FILL_A1.ts)
    with pytest.raises(LedgerError, match=r"ledger record 100 \(fill\) is not a Fill: price: "):
        reporter.render(chain.records, PERIOD, "csv")
    chain = Chain()
    chain.add(RecordType.FILL, FILL_A1.model_dump(mode="json"), FILL_A1.ts)
    chain.add(RecordType.FILL, FILL_A1.model_dump(mode="json"), FILL_A1.ts)
    with pytest.raises(
        LedgerError,
        match=r"fill 'f-a1' appears twice in the period \(ledger "
        r"records 100 and 101\)",
    ):
        reporter.render(chain.records, PERIOD, "json")
    chain = Chain()
    chain.add(RecordType.DECISION, {"client_order_id": "x", "model_versions": ["v1"]}, DAY)
    with pytest.raises(LedgerError, match=r"'model_versions' must be an object"):
        reporter.render(chain.records, PERIOD, "json")


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"filename_prefix: String should match pattern"):
        DailyTradesReporter.from_config({"filename_prefix": "../etc"})
