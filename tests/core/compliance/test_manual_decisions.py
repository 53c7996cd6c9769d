"""A kill a person orders is a manual decision: in the ledger, best execution and MiFIR.

A paper engine holds a position; the kill switch is pulled through the
service's control (``POST /shutdown`` hands it the token's subject) by
``alice``. The kill record and its flattening orders name her; the
best-execution report calls those orders manual and says who decided; the
MiFIR report names her person identification in fields 57 (decision) and 59
(execution) for them, while the run's own orders stay algorithmic. A kill a
risk rule trips stays the algorithm's.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from compliance.ledger_fixtures import DRIVER, Chain
from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.builtins.standard_reporters import (
    BestExecutionReporter,
    MifirTransactionReporter,
    isin_check_digit,
)
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.service import InProcessEngineControl
from crypto_bot_sdk import CryptoBotError, LedgerRecord, RecordType, ReportPeriod, Side

DAY = datetime(2024, 1, 1, tzinfo=UTC)
PERIOD = ReportPeriod(start=DAY, end=DAY + timedelta(days=1))
KILL_AT = DAY + timedelta(hours=7)
CONFIG = """
mode: paper
run: {{run_dir: "{run_dir}"}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT], venues: [alpha], timeframe: 5m, bars: 120, seed: 11}}
agents:
  - {{name: fast, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, taker_fee: "0.0005",
              balances: {{USDT: "50000"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
"""
ETN_BODY = "XS0CRYPTBTC"
MIFIR: dict[str, Any] = {
    "executing_entity_lei": "506700GE1G29325QX363",
    "competent_authority": "FR",
    "venues": {"alpha": {"mic": "XOFF", "counterparty_lei": "7LTWFZYICNSX8D621K86"}},
    "instruments": {
        "BTC/USDT": {"isin": ETN_BODY + str(isin_check_digit(ETN_BODY)), "price_currency": "USD"}
    },
}
ALICE = {"country_of_branch": "FR", "id": "FR19800101ALICEDOE##", "scheme": "CONCAT"}
NS = {"a": "urn:iso:std:iso:20022:tech:xsd:auth.016.001.01"}


def _xpath(node: Any, expression: str) -> list[Any]:
    found = node.xpath(expression, namespaces=NS)
    assert isinstance(found, list)
    return found


def _killed_by_a_person(tmp_path: Path) -> list[LedgerRecord]:
    """A paper run, killed through the service's control by ``alice``; its records."""
    loaded = parse_config(CONFIG.format(run_dir=tmp_path.as_posix()), environ={})
    assembled = assemble(loaded, Host(environ={}).load(), ledger_factory=open_ledger)
    engine = assembled.engine
    control = InProcessEngineControl(engine)

    async def scenario() -> None:
        await engine.start()
        control.mark_running()
        await engine.run(None, KILL_AT)
        assert any(b.quantity != 0 for b in engine.portfolio.books.values()), "nothing held"
        assert await control.kill("desk closes", requested_by="alice") == []
        await engine.run(KILL_AT, None)  # the flattening orders fill on the next bars
        control.mark_stopped()
        await engine.close()

    try:
        asyncio.run(scenario())
    finally:
        engine.ledger.close()  # type: ignore[attr-defined]
    ledger = open_ledger(assembled.ledger_url)
    try:
        return list(ledger.records())
    finally:
        ledger.close()


def _kill_orders(records: list[LedgerRecord]) -> set[str]:
    return {
        r.payload["client_order_id"]
        for r in records
        if r.type is RecordType.ORDER_INTENT and r.payload.get("kill_switch")
    }


def _filled(records: list[LedgerRecord]) -> set[str]:
    return {r.payload["client_order_id"] for r in records if r.type is RecordType.FILL}


def test_a_kill_ordered_by_a_person_is_reported_as_manual(tmp_path: Path) -> None:
    records = _killed_by_a_person(tmp_path)
    kill = next(r for r in records if r.type is RecordType.KILL_SWITCH)
    assert (kill.payload["origin"], kill.payload["decided_by"]) == ("manual", "alice")
    killing = _kill_orders(records)
    assert killing
    assert killing <= _filled(records)
    trading = _filled(records) - killing
    assert trading, "the run's own orders are needed for contrast"
    for record in records:
        if record.type is RecordType.ORDER_INTENT and record.payload.get("kill_switch"):
            assert (record.payload["origin"], record.payload["decided_by"]) == ("manual", "alice")

    best = BestExecutionReporter.from_config({}).render(records, PERIOD, "json")
    rows = {row["order_id"]: row for row in json.loads(best.content)["orders"]}
    for coid in killing:
        assert rows[coid]["decision_type"] == "manual"
        assert rows[coid]["decision_reason"].endswith("(decided by alice)")
    for coid in trading:
        assert rows[coid]["decision_type"] == "algorithmic"

    with pytest.raises(CryptoBotError, match=r"decided by|by 'alice'.*decision_persons\['alice'\]"):
        MifirTransactionReporter.from_config(MIFIR).render(records, PERIOD, "xml")
    reporter = MifirTransactionReporter.from_config({**MIFIR, "decision_persons": {"alice": ALICE}})
    root = etree.fromstring(reporter.render(records, PERIOD, "xml").content)
    fills = {
        r.payload["fill_id"]: r.payload["client_order_id"]
        for r in records
        if r.type is RecordType.FILL
    }
    transactions = _xpath(root, "//a:Tx/a:New")
    assert len(transactions) == len(fills)
    manual = 0
    for tx in transactions:
        decision = _xpath(tx, "a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id/text()")
        execution = _xpath(tx, "a:ExctgPrsn/a:Prsn/a:Othr/a:Id/text()")
        algorithm = _xpath(tx, "a:ExctgPrsn/a:Algo/text()")
        if decision:
            manual += 1
            assert (decision, execution, algorithm) == ([ALICE["id"]], [ALICE["id"]], [])
        else:
            assert _xpath(tx, "a:InvstmtDcsnPrsn/a:Algo/text()") == ["CRYPTOBOT"]
            assert (execution, algorithm) == ([], ["CRYPTOBOTROUTER"])
    assert manual == sum(1 for coid in fills.values() if coid in killing)
    if DRIVER.is_file():  # the ESMA schemas live beside the clone, when they are there
        schema = etree.XMLSchema(etree.parse(str(DRIVER)))
        assert schema.validate(root), schema.error_log


def test_a_kill_a_risk_rule_trips_stays_algorithmic() -> None:
    chain = Chain()
    ts = datetime(2024, 6, 1, 9, tzinfo=UTC)
    chain.routed_order(
        "K",
        symbol="BTC/USDT",
        side=Side.SELL,
        venue="alpha",
        ts=ts,
        policy="kill-switch",
        reason="drawdown limit",
        extra={"kill_switch": True, "origin": "algorithmic", "decided_by": None},
    )
    chain.fill(
        "k1", "K", symbol="BTC/USDT", venue="alpha", side=Side.SELL, qty="1", price="100", ts=ts
    )
    period = ReportPeriod(start=ts.replace(hour=0), end=ts.replace(hour=0) + timedelta(days=1))
    best = json.loads(
        BestExecutionReporter.from_config({}).render(chain.records, period, "json").content
    )
    assert best["orders"][0]["decision_type"] == "algorithmic"
    assert best["orders"][0]["decision_reason"] == "kill switch: drawdown limit"
    root = etree.fromstring(
        MifirTransactionReporter.from_config(MIFIR).render(chain.records, period, "xml").content
    )
    assert _xpath(root, "//a:InvstmtDcsnPrsn/a:Algo/text()") == ["CRYPTOBOT"]
    assert _xpath(root, "//a:ExctgPrsn/a:Algo/text()") == ["CRYPTOBOTROUTER"]
    # a manual order whose decider is not listed falls back to manual_decision_person
    chain.routed_order(
        "M",
        symbol="BTC/USDT",
        side=Side.BUY,
        venue="alpha",
        ts=ts,
        extra={"kill_switch": True, "origin": "manual", "decided_by": "bob"},
    )
    chain.fill(
        "m1", "M", symbol="BTC/USDT", venue="alpha", side=Side.BUY, qty="1", price="100", ts=ts
    )
    with pytest.raises(CryptoBotError, match=r"manually by 'bob'"):
        MifirTransactionReporter.from_config(MIFIR).render(chain.records, period, "xml")
    reporter = MifirTransactionReporter.from_config({**MIFIR, "manual_decision_person": ALICE})
    root = etree.fromstring(reporter.render(chain.records, period, "xml").content)
    assert _xpath(root, "//a:InvstmtDcsnPrsn/a:Prsn/a:Othr/a:Id/text()") == [ALICE["id"]]
