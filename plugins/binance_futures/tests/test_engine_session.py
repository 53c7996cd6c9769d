"""Done-when: a config naming ``binance-futures`` routes a paper session's orders to Binance
(here the fake), and the ledger shows them.

The engine, the host and the config loader come from ``crypto-bot-core``: a
test-only dependency. The plugin package itself never imports the core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fake_binance import API_KEY, API_SECRET, Certificates, FakeBinanceServer

core = pytest.importorskip("crypto_bot_core", reason="the end-to-end session needs the core")


def write_config(
    tmp_path: Path, fake: FakeBinanceServer, certificates: Certificates,
    credential_files: tuple[Path, Path],
) -> Path:  # fmt: skip
    exchange = {
        "api_key_file": str(credential_files[0]),
        "api_secret_file": str(credential_files[1]),
        "symbols": ["BTC/USDT:USDT"],
        "resolve": fake.resolve,
        "ca_file": str(certificates.ca_file),
        "poll_interval_s": 2.0,
        "retry_backoff_s": 0.01,
    }
    config = {
        "mode": "paper",
        "run": {"seed": 7, "run_dir": str(tmp_path / "runs")},
        "data_sources": [{
            "name": "market", "plugin": "synthetic-market",
            "config": {"symbols": ["BTC/USDT:USDT"], "venues": ["binance-futures"],
                       "timeframe": "1m", "bars": 120, "seed": 7},
        }],
        "agents": [{"name": "ema", "plugin": "technical-agents:ema_crossover",
                    "config": {"fast": 3, "slow": 12}}],
        "exchanges": [{"name": "binance", "plugin": "binance-futures", "config": exchange}],
        "sizing": {"mode": "discrete", "notional_per_symbol": "1000", "entry_threshold": 0.05},
        "risk_rules": [{"plugin": "standard-risk:max_order_notional",
                        "config": {"limit": "5000"}}],
    }  # fmt: skip
    path = tmp_path / "session.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def test_paper_session_routes_orders_to_binance_and_records_them(
    tmp_path: Path, fake: FakeBinanceServer, certificates: Certificates,
    credential_files: tuple[Path, Path],
) -> None:  # fmt: skip
    from crypto_bot_core.app.runner import run_session
    from crypto_bot_core.config import load_config
    from crypto_bot_core.host import Host
    from crypto_bot_core.ledger import open_ledger

    host = Host(only=["binance-futures", "synthetic-market", "technical-agents",
                      "standard-risk"]).load()  # fmt: skip
    record = next(r for r in host.records if r.name == "binance-futures")
    assert record.status == "loaded", record.reason
    loaded = load_config(write_config(tmp_path, fake, certificates, credential_files))
    result = run_session(loaded, host=host, run_id="paper-binance-e2e")

    venue_orders = fake.call(lambda: list(fake.state.venue.orders.values()))
    assert len(venue_orders) >= 2, "the session placed orders at the fake Binance"
    assert {o.symbol for o in venue_orders} == {"BTCUSDT"}
    venue_trades = fake.call(lambda: list(fake.state.venue.trades))

    ledger = open_ledger(result.ledger_url)
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_type.setdefault(str(rec.type.value), []).append(dict(rec.payload))
    intents = by_type["order.intent"]
    assert {i["request"]["venue"] for i in intents} == {"binance-futures"}
    sent_ids = {i["client_order_id"] for i in intents}
    assert sent_ids == {o.client_order_id for o in venue_orders}, (
        "every order the ledger recorded reached Binance under its client order id, and no other"
    )
    fills = by_type["fill"]
    assert {f["fill_id"] for f in fills} == {f"BTCUSDT:{t.id}" for t in venue_trades}
    assert {f["venue"] for f in fills} == {"binance-futures"}
    assert len(by_type["order.filled"]) == len(venue_orders)
    assert result.summary is not None

    ledger_bytes = Path(result.ledger_url.removeprefix("sqlite:///")).read_bytes()
    run_folder = b"".join(p.read_bytes() for p in result.run_dir.rglob("*") if p.is_file())
    for secret in (API_KEY, API_SECRET):
        assert secret.encode() not in ledger_bytes
        assert secret.encode() not in run_folder
