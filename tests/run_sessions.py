"""A small paper session for the run-folder tests (tests/core/app): config text and types.

Kept here, under a name of its own, so test modules import it without going
through ``conftest`` (several test folders have one).
"""

from __future__ import annotations

from collections.abc import Callable

from crypto_bot_core.config import LoadedConfig

SESSION = """
mode: paper
run: {{run_dir: "{run_dir}"}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT, ETH/USDT], venues: [alpha], timeframe: 5m,
             bars: {bars}, seed: 11}}
agents:
  - {{name: fast, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, taker_fee: "0.0005",
              balances: {{USDT: "50000"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
{ledger}
"""

Session = Callable[..., LoadedConfig]
Invoke = Callable[..., tuple[int, str, str]]
