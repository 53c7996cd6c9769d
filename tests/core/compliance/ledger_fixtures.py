"""Ledger records shaped like the engine's, for the compliance reporters' tests.

``routed_order`` writes what ``OrderManager.submit`` writes for a routed order
(``order.intent`` with the decision merged in, ``routing`` with every venue's
quote); ``fill`` writes ``Fill.model_dump(mode="json")`` as ``book_fill`` does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_sdk import Fill, LedgerRecord, Liquidity, RecordType, ReportPeriod, Side

DAY = datetime(2024, 6, 1, tzinfo=UTC)
PERIOD = ReportPeriod(start=DAY, end=DAY + timedelta(days=1))
SCHEMAS = Path(__file__).resolve().parents[3].parent / "shared" / "schemas" / "iso20022"
DRIVER = SCHEMAS / "esma-mifir" / "mifir-file-driver.xsd"


def schemas_or_skip() -> Path:
    """The shared ISO 20022 schemas (licensed for internal validation, never copied here)."""
    if not DRIVER.is_file():
        pytest.skip(f"the ISO 20022 schemas are not at {SCHEMAS} (they live beside the clone)")
    return SCHEMAS


class Chain:
    """Hash-linked records, enough like the ledger's for readers that do not verify."""

    def __init__(self, start: int = 100) -> None:
        self.records: list[LedgerRecord] = []
        self.start = start

    def add(self, kind: RecordType, payload: dict[str, Any], ts: datetime) -> LedgerRecord:
        prev = self.records[-1].hash if self.records else "0" * 64
        body = json.dumps([len(self.records), ts.isoformat(), kind.value, payload, prev])
        record = LedgerRecord(
            sequence=self.start + len(self.records),
            ts=ts,
            type=kind,
            payload=payload,
            prev_hash=prev,
            hash=hashlib.sha256(body.encode()).hexdigest(),
        )
        self.records.append(record)
        return record

    def routed_order(
        self,
        coid: str,
        *,
        symbol: str,
        side: Side,
        venue: str | None,
        ts: datetime,
        quotes: dict[str, dict[str, str]] | None = None,
        policy: str = "trend",
        reason: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "client_order_id": coid,
            "intent_id": f"i-{coid}",
            "policy": policy,
            "reason": reason,
            "request": {
                "client_order_id": coid,
                "intent_id": f"i-{coid}",
                "symbol": symbol,
                "side": side.value,
                "venue": venue or "x",
            },
            "combined": {"agent": f"policy:{policy}", "symbol": symbol, "ts": ts.isoformat()},
        }
        if quotes is not None:
            payload["routing"] = {
                "venue": venue,
                "reason": f"best {side.value} price after taker fees: {venue}",
                "quotes": quotes,
            }
        payload.update(extra or {})
        self.add(RecordType.ORDER_INTENT, payload, ts)

    def fill(
        self,
        fill_id: str,
        coid: str,
        *,
        symbol: str,
        venue: str,
        side: Side,
        qty: str,
        price: str,
        ts: datetime,
        fee: str = "0",
        liquidity: Liquidity = Liquidity.TAKER,
    ) -> Fill:
        fill = Fill(
            fill_id=fill_id,
            client_order_id=coid,
            exchange_order_id=f"x-{coid}",
            symbol=symbol,
            venue=venue,
            side=side,
            quantity=D(qty),
            price=D(price),
            fee=D(fee),
            fee_currency=symbol.split("/")[1].split(":", maxsplit=1)[0],
            liquidity=liquidity,
            ts=ts,
        )
        self.add(RecordType.FILL, fill.model_dump(mode="json"), ts)
        return fill


def quote(price: str, fee: str, effective: str, mid: str | None = None) -> dict[str, str]:
    data = {"price": price, "taker_fee": fee, "effective_price": effective}
    if mid is not None:
        data["mid"] = mid
    return data


NINE = DAY + timedelta(hours=9)


def trading_day() -> list[LedgerRecord]:
    """Five orders on a day, each figure chosen so the reports can be checked by hand.

    A  buy  BTC/USDT on beta, best quote after fees; fills 0.5 @ 100.05 (taker) and
       0.5 @ 100.09 (maker); arrival = beta's last price 100.02.
    B  sell ETH/USDT on alpha although beta quoted better after fees (reduce-only);
       fill 0.24 @ 2000; arrival = alpha's recorded mid 2002.
    C  the kill switch's sell of BTC/USDT on beta, no routing quotes; 0.2 @ 99.65.
    E  buy BTC/USDT:USDT on gamma, the only venue quoting; 1 @ 101; arrival 100.
    L  a fill after the period (ignored), and a fill the day before (ignored).
    """
    chain = Chain()
    chain.routed_order(
        "A",
        symbol="BTC/USDT",
        side=Side.BUY,
        venue="beta",
        ts=NINE,
        quotes={
            "alpha": quote("100.00", "0.001", "100.10000"),
            "beta": quote("100.02", "0.0005", "100.07001"),
            "gamma": quote("99.98", "0.002", "100.17996"),
        },
        reason="trend up",
    )
    chain.routed_order(
        "B",
        symbol="ETH/USDT",
        side=Side.SELL,
        venue="alpha",
        ts=NINE,
        quotes={
            "alpha": quote("2000", "0.001", "1998.000", mid="2002"),
            "beta": quote("2003", "0.0005", "2001.9985"),
        },
        policy="reversion",
    )
    chain.fill(
        "old",
        "Z",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.BUY,
        qty="1",
        price="90",
        ts=DAY - timedelta(seconds=1),
    )
    chain.fill(
        "a1",
        "A",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.BUY,
        qty="0.5",
        price="100.05",
        fee="0.05",
        ts=NINE + timedelta(seconds=1),
    )
    chain.fill(
        "b1",
        "B",
        symbol="ETH/USDT",
        venue="alpha",
        side=Side.SELL,
        qty="0.24",
        price="2000",
        fee="0.48",
        ts=NINE + timedelta(seconds=1),
    )
    chain.fill(
        "a2",
        "A",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.BUY,
        qty="0.5",
        price="100.09",
        fee="0.01",
        liquidity=Liquidity.MAKER,
        ts=NINE + timedelta(seconds=2),
    )
    kill_at = NINE + timedelta(hours=1)
    chain.routed_order(
        "C",
        symbol="BTC/USDT",
        side=Side.SELL,
        venue="beta",
        ts=kill_at,
        policy="kill-switch",
        reason="operator stop",
        extra={"kill_switch": True},
    )
    chain.fill(
        "c1",
        "C",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.SELL,
        qty="0.2",
        price="99.65",
        ts=kill_at + timedelta(seconds=1),
    )
    chain.routed_order(
        "E",
        symbol="BTC/USDT:USDT",
        side=Side.BUY,
        venue="gamma",
        ts=kill_at,
        quotes={"gamma": quote("100", "0.0005", "100.05")},
    )
    chain.fill(
        "e1",
        "E",
        symbol="BTC/USDT:USDT",
        venue="gamma",
        side=Side.BUY,
        qty="1",
        price="101",
        ts=kill_at + timedelta(seconds=2),
    )
    chain.fill(
        "late",
        "A",
        symbol="BTC/USDT",
        venue="beta",
        side=Side.BUY,
        qty="1",
        price="100",
        ts=PERIOD.end,
    )
    return chain.records
