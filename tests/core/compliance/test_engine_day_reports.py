"""Reports from a synthetic trading day run by the engine, read back from its SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from compliance.ledger_fixtures import DRIVER, schemas_or_skip
from crypto_bot_core.app.runner import run_session
from crypto_bot_core.builtins.standard_reporters import (
    BestExecutionReporter,
    DailyTradesReporter,
    MifirTransactionReporter,
    VenueSummaryReporter,
)
from crypto_bot_core.config import default_config_text, parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType, ReportPeriod

DAY = ReportPeriod(
    start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=1)
)
SYMBOLS = "[BTC/USDT, ETH/USDT, BTC/USDT:USDT, ETH/USDT:USDT]"


@pytest.fixture(scope="module")
def day_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LedgerRecord]]:
    """One day of 5-minute bars (288) on 3 venues, spot and perpetuals, default strategy."""
    runs = tmp_path_factory.mktemp("runs")
    text = (
        default_config_text()
        .replace(
            "symbols: [BTC/USDT, ETH/USDT, SOL/USDT, XRP/USDT, ADA/USDT]", f"symbols: {SYMBOLS}"
        )
        .replace("bars: 2016", "bars: 288")
        .replace("run_dir: runs", f"run_dir: {runs.as_posix()}")
    )
    assert SYMBOLS in text
    result = run_session(parse_config(text, environ={}), host=Host(environ={}).load(), run_id="day")
    ledger = open_ledger(result.ledger_url)
    try:
        assert ledger.verify().ok
        yield list(ledger.records())
    finally:
        ledger.close()


def _fills(records: list[LedgerRecord]) -> list[dict[str, Any]]:
    return [r.payload for r in records if r.type is RecordType.FILL]


def test_daily_trade_report_lists_every_fill_of_the_day(day_records: list[LedgerRecord]) -> None:
    fills = _fills(day_records)
    assert len(fills) >= 10
    artefact = DailyTradesReporter.from_config({}).render(day_records, DAY, "csv")
    rows = list(csv.DictReader(io.StringIO(artefact.content.decode())))
    assert sorted(r["trade_id"] for r in rows) == sorted(f["fill_id"] for f in fills)
    by_id = {f["fill_id"]: f for f in fills}
    exposures = 0
    for row in rows:
        fill = by_id[row["trade_id"]]
        assert (row["symbol"], row["exchange"], row["price"]) == (
            fill["symbol"],
            fill["venue"],
            fill["price"],
        )
        flags = json.loads(row["risk_flags"])
        # the engine records every rule's verdict with the order, figures included
        assert {"max_drawdown.drawdown", "max_drawdown.equity"} <= set(flags)
        exposures += "max_gross_exposure.gross_after" in flags
    assert exposures > 0  # orders that add risk carry the gross exposure after them
    assert artefact.filename == "daily-trades_2024-01-01.csv"


def test_best_execution_has_every_order_with_its_quotes(day_records: list[LedgerRecord]) -> None:
    fills = _fills(day_records)
    document = json.loads(
        BestExecutionReporter.from_config({}).render(day_records, DAY, "json").content
    )
    orders = document["orders"]
    assert {o["order_id"] for o in orders} == {f["client_order_id"] for f in fills}
    assert sum(len(o["fills"]) for o in orders) == len(fills)
    for order in orders:
        assert order["decision_type"] == "algorithmic"
        # routed by price after fees among the three venues: the two others' quotes are kept
        assert sorted(order["venue_quotes"]) == sorted(
            {"alpha", "beta", "gamma"} - {order["venue"]}
        )
        assert order["arrival_basis"] == "last"
        arrival = Decimal(order["arrival_price"])
        average = Decimal(order["average_price"])
        sign = 1 if order["side"] == "buy" else -1
        expected = sign * (average - arrival) / arrival * 10_000
        assert abs(Decimal(order["slippage_bps"]) - expected) <= Decimal("0.005")
        assert order["decision_ts"] <= order["routing_ts"] < order["first_fill_ts"]
    classes = {o["instrument_class"] for o in orders}
    assert classes == {"crypto_spot", "crypto_perpetual"}

    summary = json.loads(
        VenueSummaryReporter.from_config({}).render(day_records, DAY, "json").content
    )
    for section in summary["classes"]:
        venues = section["venues"]
        assert sum(v["orders"] for v in venues) == section["orders"]
        assert sum(Decimal(v["notional"]) for v in venues) == Decimal(section["notional"])
        shares = sum((Decimal(v["volume_pct"]) for v in venues), Decimal(0))
        assert abs(shares - 100) <= Decimal("0.02")


def test_mifir_report_of_the_day_validates(day_records: list[LedgerRecord], tmp_path: Path) -> None:
    schemas_or_skip()
    reporter = MifirTransactionReporter.from_config(
        {
            "executing_entity_lei": "506700GE1G29325QX363",
            "competent_authority": "IE",
            "exclude_spot": True,
            "schema_path": str(DRIVER),
            "instruments": {
                f"{base}/USDT:USDT": {
                    "price_currency": "USD",
                    "description": {
                        "full_name": f"{base}/USDT perpetual swap",
                        "cfi": "FFICSX",
                        "underlying": {"index": f"{base}/USD"},
                    },
                }
                for base in ("BTC", "ETH")
            },
        }
    )
    artefact = reporter.render(day_records, DAY, "xml")
    root = etree.fromstring(artefact.content)
    assert etree.XMLSchema(etree.parse(str(DRIVER))).validate(root)
    ns = {"a": "urn:iso:std:iso:20022:tech:xsd:auth.016.001.01"}
    perpetual_fills = [f for f in _fills(day_records) if ":" in f["symbol"]]
    news = root.xpath("//a:New", namespaces=ns)
    assert isinstance(news, list)
    assert len(news) == len(perpetual_fills) > 0
    assert artefact == reporter.render(list(reversed(day_records)), DAY, "xml")
