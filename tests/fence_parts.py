"""Parts for the engine tests: real built-in market and venue, agents that misbehave, a ledger scan.

The engine is built from the synthetic market, the paper exchange and an in-memory
or SQLite ledger, so what the tests see is what a run does, minus the config file.
One module for the engine's own tests (``tests/core/engine``: the kernel, the fences)
and the service's liveness tests, which run the same engine: it stands at the top of
``tests/`` (on ``sys.path`` through ``tests/conftest.py``) so both folders import it
by the same name, ``fence_parts``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import AuditLog, MemoryAuditLog
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.ledger import Ledger, LedgerSettings, open_ledger
from crypto_bot_sdk import Agent, DataSource, MarketView, PluginConfig, RecordType, Signal


class Momentum(Agent[PluginConfig]):
    """Long when the last close is above the one 5 bars back: trades often, on any data."""

    name = "momentum"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        bars = market.bars(symbol, limit=6)
        if len(bars) < 6:
            return None
        score = 1.0 if bars[-1].close > bars[0].close else -1.0
        return Signal(agent=self.name, symbol=symbol, ts=market.now, score=score, confidence=1.0)


class Hanging(Agent[PluginConfig]):
    """An agent whose service never answers: ``evaluate`` awaits an event nobody sets."""

    name = "hanging"

    def __init__(self, config: PluginConfig) -> None:
        super().__init__(config)
        self.calls = 0
        self.cancelled = 0

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        self.calls += 1
        never = asyncio.Event()
        try:
            await never.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("the event is never set")


class Returns(Agent[PluginConfig]):
    """Returns whatever ``make(symbol, market)`` builds: the way to hand the engine garbage."""

    name = "returns"

    def __init__(self, make: Any) -> None:
        super().__init__(PluginConfig())
        self.make = make
        self.calls = 0

    async def evaluate(self, symbol: str, market: MarketView) -> Any:
        self.calls += 1
        return self.make(symbol, market)


def market(*, bars: int = 80, seed: int = 3, symbols: Sequence[str] = ("BTC/USDT",)) -> Any:
    return SyntheticMarket.from_config(
        {"symbols": list(symbols), "venues": ["sim"], "bars": bars, "seed": seed}
    )


def venue() -> PaperExchange:
    return PaperExchange(PaperExchangeConfig(venue="sim", balances={"USDT": Decimal(100_000)}))


def build_engine(
    agents: Mapping[str, Agent[Any]],
    *,
    sources: Sequence[DataSource[Any]] | None = None,
    fences: Mapping[str, Fence] | None = None,
    risk: RiskPipeline | None = None,
    ledger: AuditLog | None = None,
    run_id: str = "fence-test",
) -> Engine:
    """One policy blending every agent equally, on one venue ``sim``."""
    members = [{"agent": name} for name in agents]
    return Engine(
        run_id=run_id,
        data_sources=sources if sources is not None else [market()],
        agents=dict(agents),
        exchanges={"sim": venue()},
        policies=PolicyRegistry.from_mapping(
            {"policies": {"blend": {"agents": members}}, "default": "blend"}
        ),
        risk=risk if risk is not None else RiskPipeline(),
        ledger=ledger if ledger is not None else MemoryAuditLog(),
        sizing=SizingConfig(notional_per_symbol=Decimal(1000)),
        agent_fences=dict(fences or {}),
    )


async def run(engine: Engine) -> None:
    await engine.start()
    try:
        await engine.run()
    finally:
        await engine.close()


def sqlite_ledger(path: Path, *, busy_timeout_s: float | None = None) -> Ledger:
    """A SQLite ledger in ``path``; ``busy_timeout_s`` shortens how long an append waits
    for another writer's lock (the settings' default when None), for tests that hold it."""
    url = f"sqlite:///{(path / 'ledger.sqlite').as_posix()}"
    if busy_timeout_s is None:
        return open_ledger(url, settings=LedgerSettings(url=url))
    return open_ledger(url, settings=LedgerSettings(url=url, busy_timeout_s=busy_timeout_s))


def flush(engine: Engine) -> None:
    """Commit what a backtest's batching ledger still buffers, so the store holds it all."""
    pending = getattr(engine.ledger, "flush", None)
    if callable(pending):
        pending()


def memory_records(engine: Engine) -> list[tuple[RecordType, dict[str, Any]]]:
    log = engine.ledger
    assert isinstance(log, MemoryAuditLog)
    return [(kind, payload) for kind, payload, _ts in log.records]


def numbers(value: object) -> Iterator[float]:
    """Every float anywhere inside a record payload (nested dicts and lists)."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from numbers(item)


def texts(value: object) -> Iterator[str]:
    """Every string anywhere inside a record payload."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)


def finite_everywhere(payload: object) -> bool:
    return all(math.isfinite(number) for number in numbers(payload)) and not any(
        text.lower() in {"nan", "inf", "-inf", "infinity", "-infinity"} for text in texts(payload)
    )
