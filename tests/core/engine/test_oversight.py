"""The risk monitor and the arbitrage guard inside a paper session."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from crypto_bot_core.app.runner import run_session
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

CONFIG = """
mode: paper
run: {{run_dir: {run_dir}}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: ["BTC/USDT:USDT"], venues: [alpha, beta], timeframe: 5m, bars: 400,
             seed: 4, venue_spread_bps: 25}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 5, slow: 15}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange, config: {{venue: alpha, data_venue: alpha,
     taker_fee: "0.0002", leverage: "3", balances: {{USDT: "100000"}}}}}}
  - {{name: beta, plugin: paper-exchange, config: {{venue: beta, data_venue: beta,
     taker_fee: "0.0002", leverage: "3", balances: {{USDT: "100000"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
risk_monitor: {{var_limit: "50", every: PT2H, lookback: 30, refit_every: 1h}}
arbitrage: {{threshold_bps: "5", max_pair_notional: "2000", max_symbol_notional: "20000"}}
"""


def test_monitor_alerts_once_and_arbitrage_sends_hedged_pairs(tmp_path: Path) -> None:
    loaded = parse_config(CONFIG.format(run_dir=tmp_path / "runs"), environ={})
    result = run_session(loaded, host=Host(environ={}).load(), run_id="ov")
    ledger = open_ledger(result.ledger_url)
    try:
        records = list(ledger.records())
    finally:
        ledger.close()

    alerts = [r.payload for r in records if r.type is RecordType.ALERT]
    var_alerts = [a for a in alerts if a.get("figures", {}).get("metric") == "var"]
    assert len(var_alerts) == 1  # one alert per crossing, not one per check
    assert var_alerts[0]["severity"] == "high"
    assert Decimal(var_alerts[0]["figures"]["value"]) > Decimal(50)

    legs = [
        r.payload for r in records if r.type is RecordType.ORDER_INTENT and "arbitrage" in r.payload
    ]
    assert legs
    assert len(legs) % 2 == 0
    for i in range(0, len(legs), 2):
        buy, sell = legs[i], legs[i + 1]
        assert buy["request"]["side"] == "buy"
        assert sell["request"]["side"] == "sell"
        assert buy["request"]["quantity"] == sell["request"]["quantity"]
        assert buy["arbitrage"]["buy_venue"] == buy["request"]["venue"]
        assert sell["arbitrage"]["sell_venue"] == sell["request"]["venue"]
        assert buy["request"]["venue"] != sell["request"]["venue"]
        assert Decimal(buy["arbitrage"]["edge_bps"]) >= Decimal(5)
    filled = {r.payload["client_order_id"] for r in records if r.type is RecordType.ORDER_FILLED}
    # both legs of every pair traded
    assert {leg["client_order_id"] for leg in legs} <= filled
