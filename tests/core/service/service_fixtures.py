"""A service over a real SQLite ledger holding a hand-checked trading day: the helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from compliance.ledger_fixtures import trading_day
from fastapi import FastAPI

from crypto_bot_core.host import Host
from crypto_bot_core.ledger import Ledger, LedgerSettings, RetentionRule, open_ledger
from crypto_bot_core.observability import EngineMetrics
from crypto_bot_core.service import ServiceSettings, create_app, mint_token

SECRET = "test-secret-" + "x" * 40
CONFIG = """
mode: paper
exchanges:
  - plugin: paper-exchange
    config: {venue: beta}
reporters:
  - plugin: standard-reporters:daily_trades
  - plugin: standard-reporters:best_execution
  - plugin: standard-reporters:execution_venues
  - plugin: standard-reporters:mifir_transactions
    config:
      executing_entity_lei: 506700GE1G29325QX363
      competent_authority: FR
      exclude_spot: true
      instruments:
        BTC/USDT:USDT:
          price_currency: USD
          description:
            full_name: Bitcoin perpetual
            cfi: FFICSX
            underlying: {index: BTC/USD}
"""
HELD = "customer-held"


def token(*scopes: str, subject: str = "alice", lifetime: timedelta = timedelta(hours=1)) -> str:
    return mint_token(
        SECRET,
        subject=subject,
        scopes=scopes,
        issuer="cryptobot",
        audience="cryptobot-service",
        lifetime=lifetime,
    )


def bearer(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*scopes)}"}


def filled_ledger(path: Path) -> Ledger:
    """The trading day appended through the real ledger API, and a subject on legal hold."""
    url = f"sqlite:///{path.as_posix()}"
    rule = RetentionRule(name="litigation", until="2100-01-01T00:00:00Z", subjects=(HELD,))
    ledger = open_ledger(url, settings=LedgerSettings(url=url, retention=(rule,)))
    for record in trading_day():
        ledger.append(record.type, record.payload, ts=record.ts)
    ledger.subjects.put("customer-42", {"name": "Ada"})
    ref = ledger.subjects.put(HELD, {"name": "Bob"})
    ledger.append("system.alert", {"subject_ref": ref, "title": "kyc"})
    return ledger


def build_app(tmp_path: Path, host: Host, **settings: Any) -> tuple[FastAPI, Ledger, EngineMetrics]:
    config = tmp_path / "bot.yaml"
    config.write_text(CONFIG)
    ledger = filled_ledger(tmp_path / "ledger.sqlite")
    metrics = EngineMetrics()
    service = ServiceSettings(jwt_secret=SECRET, config_path=config, **settings)
    return create_app(service, host=host, ledger=ledger, engine_metrics=metrics), ledger, metrics
